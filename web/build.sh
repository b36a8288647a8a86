#!/usr/bin/env bash
# Builds the wizard into web/dist: a static folder any web server (or a plain directory
# opened through one) can serve. Needs the wasm32 target, wasm-bindgen-cli 0.2.130 and
# binaryen's wasm-opt from npm (binaryen@132; Debian's is too old); scripts/web-tools.sh
# installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${HAGEN_TOOLS:-$PWD/.tools}"
export PATH="$TOOLS/bin:$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The page, and the key worker's module (RSA only: web/rsa-worker).
cargo build -p hagen-web -p hagen-rsa-worker --target wasm32-unknown-unknown --profile wasm-release --quiet
rm -rf web/dist && mkdir -p web/dist
out=target/wasm32-unknown-unknown/wasm-release
wasm-bindgen --target web --no-typescript --out-dir web/dist "$out/hagen-web.wasm"
wasm-bindgen --target web --no-typescript --out-dir web/dist "$out/hagen_rsa_worker.wasm"
for wasm in web/dist/hagen-web_bg.wasm web/dist/hagen_rsa_worker_bg.wasm; do
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    "$wasm" -o "$wasm"
done
cp web/index.html web/style.css web/boot.js web/rsa-worker.js web/dist/
echo "web/dist: $(du -sh web/dist | cut -f1); serve it with: python3 -m http.server -d web/dist 8080"
