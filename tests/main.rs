//! hagen's library-level integration tests, in one binary.

mod check;
mod fuzz;
mod pki;
mod registry;
mod schema;
