//! hagen's library-level integration tests, in one binary.

mod check;
mod etcd;
mod fuzz;
mod pki;
mod registry;
mod schema;
