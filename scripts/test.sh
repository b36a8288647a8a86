#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine, then runs the
# formatting and lint gates, every test, and the wasm32 build of the core.
# Usage: scripts/test.sh            (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need_apt=()
python3 -c 'import jsonschema' 2>/dev/null || need_apt+=(python3-jsonschema)
command -v clang >/dev/null || need_apt+=(clang)
# The PKI tests check certificates with openssl and run a real TLS etcd cluster.
command -v openssl >/dev/null || need_apt+=(openssl)
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v etcdctl >/dev/null || need_apt+=(etcd-client)
if ((${#need_apt[@]})); then
  step "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

step "rust toolchain: wasm32 target, rustfmt, clippy"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --workspace

step "hagen-core builds for wasm32-unknown-unknown"
cargo build -p hagen-core --target wasm32-unknown-unknown --quiet

step "all green"
