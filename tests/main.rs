//! hagen's library-level integration tests, in one binary.

mod check;
mod fuzz;
mod lint;
mod lint_fuzz;
mod registry;
mod render;
mod schema;
