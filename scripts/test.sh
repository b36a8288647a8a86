#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine, then runs the
# formatting and lint gates, every test, the wasm32 build of the core, and the wizard
# built and driven in headless Chromium (web/tests/e2e.mjs).
# Usage: scripts/test.sh            (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need_apt=()
python3 -c 'import jsonschema' 2>/dev/null || need_apt+=(python3-jsonschema)
command -v clang >/dev/null || need_apt+=(clang)
# The real programs the bundle tests run (tests/real*.rs; shellcheck for tests/preflight.rs
# and for the collect script in tests/import.rs): only what is not installed yet.
real_tools=(haproxy keepalived nginx libnginx-mod-stream etcd-server etcd-client openssl
  iproute2 curl systemd python3-yaml util-linux unzip shellcheck)
for pkg in "${real_tools[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
    need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  step "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Installing haproxy, keepalived, nginx and etcd must not start them: a policy-rc.d
  # that denies every start, only for this install (unless one is there already).
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
  if [ -n "$added_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

step "rust toolchain: wasm32 target, rustfmt, clippy"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo doc (intra-doc links resolve)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "cargo test"
# The property tests draw the same cases on every CI run; scripts/fuzz.sh explores.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261122}"
cargo test --workspace

step "hagen-core builds for wasm32-unknown-unknown"
cargo build -p hagen-core --target wasm32-unknown-unknown --quiet

step "the wizard: tools (wasm-bindgen-cli, binaryen, playwright-core, chromium), build, browser test"
scripts/web-tools.sh
web/build.sh
node web/tests/e2e.mjs

step "all green"
