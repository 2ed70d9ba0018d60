#!/usr/bin/env bash
# Builds the edge worker into edge/build/ (what wrangler.toml's `main` names)
# with worker-build, using local wasm-bindgen, wasm-opt and esbuild (the
# defaults would be downloaded from GitHub, which is unreachable here).
# Skips the build when edge/build/index.js is newer than every input;
# FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# wrangler refuses to start when the assets folder is missing.
if [ ! -d frontend/dist ]; then
  mkdir -p frontend/dist
  printf '<!doctype html><title>asu</title><p>The frontend is not built yet.</p>\n' > frontend/dist/index.html
fi

out=edge/build/index.js
if [ "${FORCE:-0}" != 1 ] && [ -f "$out" ] && [ -f edge/build/index_bg.wasm ] \
   && [ -z "$(find edge/src edge/Cargo.toml protocol/src protocol/Cargo.toml Cargo.lock -newer "$out" -print -quit)" ]; then
  echo "[build-edge] up to date: $out"
  exit 0
fi

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$root/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/.bin/esbuild}"
for bin in "$WASM_BINDGEN_BIN" "$WASM_OPT_BIN" "$ESBUILD_BIN"; do
  [ -x "$bin" ] || { echo "[build-edge] missing $bin (run scripts/setup.sh)" >&2; exit 1; }
done
worker_build="$(command -v worker-build || echo "$HOME/.cargo/bin/worker-build")"

start=$(date +%s)
(cd edge && "$worker_build" --release)
echo "[build-edge] built $out in $(( $(date +%s) - start )) s; wasm $(stat -c %s edge/build/index_bg.wasm) bytes"
