//! The TOP rules: the rules of a highly available control plane, checked against the
//! declared topology. (Every rule of every domain is listed by [`crate::registry`].)

pub mod topology;
