//! hagen's library-level integration tests, in one binary.

mod check;
mod etcd;
mod fuzz;
mod lint;
mod lint_fuzz;
mod pki;
mod real;
mod real_failover;
mod real_vrrp;
mod registry;
mod render;
mod schema;
