//! hagen's library-level integration tests, in one binary.

mod check;
mod fuzz;
mod real;
mod real_failover;
mod real_vrrp;
mod registry;
mod render;
mod schema;
