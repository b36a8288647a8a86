#!/usr/bin/env bash
# Installs what building and testing the wizard needs, idempotently: the wasm32 target,
# clang (ring compiles C for wasm32), wasm-bindgen-cli 0.2.130 (must equal the
# wasm-bindgen crate), binaryen's wasm-opt, terser (minifies the page's
# JavaScript), playwright-core and axe-core (the browser test's accessibility checker)
# from npm (into .tools/), and Debian's chromium. Nothing downloads a prebuilt browser or
# toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${HAGEN_TOOLS:-$PWD/.tools}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
need=()
command -v clang >/dev/null || need+=(clang)
command -v chromium >/dev/null || need+=(chromium)
command -v unzip >/dev/null || need+=(unzip)
if ((${#need[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  # Not --locked: its lockfile pins a webpki-roots release the index no longer offers.
  cargo install wasm-bindgen-cli --version 0.2.130 --quiet
fi
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ] || [ ! -d "$TOOLS/node_modules/playwright-core" ] \
  || [ ! -f "$TOOLS/node_modules/axe-core/axe.min.js" ] || [ ! -x "$TOOLS/node_modules/.bin/terser" ]; then
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"private": true}' > "$TOOLS/package.json"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund --save-exact binaryen@132.0.0 playwright-core@1.65.1 axe-core@4.11.1 terser@5.51.4 >/dev/null)
fi
