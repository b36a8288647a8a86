//! hagen's library-level integration tests, in one binary.

mod bundle_props;
mod check;
mod day2;
mod day2_etcd;
mod day2_rotate;
mod etcd;
mod fuzz;
mod import;
mod layers;
mod lint;
mod lint_fuzz;
mod pki;
mod preflight;
mod real;
mod real_failover;
mod real_vrrp;
mod registry;
mod rehearse;
mod render;
mod schema;

/// The property tests' configuration: `cases` unless `PROPTEST_CASES` asks for more or
/// fewer (`scripts/fuzz.sh` runs thousands). The seed is proptest's: random, or fixed by
/// `PROPTEST_RNG_SEED` (`scripts/test.sh` fixes it so CI is reproducible).
fn fuzz_config(cases: u32) -> proptest::test_runner::Config {
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    proptest::test_runner::Config {
        cases: from_env.unwrap_or(cases),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
