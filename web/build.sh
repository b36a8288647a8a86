#!/usr/bin/env bash
# Builds the wizard into web/dist: a static folder any web server (or a plain directory
# opened through one) can serve. Needs the wasm32 target, wasm-bindgen-cli 0.2.130,
# binaryen's wasm-opt (binaryen@132; Debian's is too old) and terser, both from npm;
# scripts/web-tools.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${HAGEN_TOOLS:-$PWD/.tools}"
export PATH="$TOOLS/bin:$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# One module for the page and its key workers (which make RSA keys with it). The source
# paths that panic messages carry are shortened (they are kept in the wasm, one per file).
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$HOME/.cargo/registry/src=crates --remap-path-prefix=$PWD=hagen"
cargo build -p hagen-web --target wasm32-unknown-unknown --profile wasm-release --quiet
rm -rf web/dist && mkdir -p web/dist
out=target/wasm32-unknown-unknown/wasm-release
wasm-bindgen --target web --no-typescript --out-dir web/dist "$out/hagen-web.wasm"
for wasm in web/dist/hagen-web_bg.wasm; do
  # The module's own memory starts zeroed and nothing lives in its first 1 KB (the stack
  # grows down towards it from 1 MB): wasm-opt may count on both (3 KB gzip less).
  wasm-opt -Oz --zero-filled-memory --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    "$wasm" -o "$wasm"
done
cp web/index.html web/style.css web/dist/
# The JavaScript is minified (module scope, so exports and imports keep their names):
# about 3 KB gzip of the page's weight, most of it wasm-bindgen's glue.
for js in web/dist/hagen-web.js web/boot.js web/rsa-worker.js; do
  terser "$js" --module --compress --mangle -o "web/dist/$(basename "$js")"
done
echo "web/dist: $(du -sh web/dist | cut -f1); serve it with: python3 -m http.server -d web/dist 8080"
