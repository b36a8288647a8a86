#!/usr/bin/env bash
# Runs the property tests (tests/fuzz.rs, tests/lint_fuzz.rs, tests/bundle_props.rs) far
# longer than CI does, with a fresh random seed each time. A failure prints the minimal
# input: add it to a `regressions` test next to the property, fix, repeat.
# Usage: scripts/fuzz.sh [CASES]     (default 20000 per property; bundle_props renders
# and lints a whole bundle per case, about 50 ms each, so 20000 take ~15 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
unset PROPTEST_RNG_SEED
export PROPTEST_CASES="${1:-20000}"
cargo test -p hagen-tests --test it -- fuzz:: lint_fuzz:: bundle_props::
