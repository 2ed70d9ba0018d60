#!/usr/bin/env bash
# Builds the browser app into frontend/dist/, as two bundles so that each
# page downloads only its own code (the 250 KB gzip budget):
#   app/frontend.js + app/frontend_bg.wasm   the router page (LuCI imports this)
#   app/finder.js + app/finder_bg.wasm       the router-free page (index.html)
#   app/style.css, index.html
# Cargo decides what needs recompiling; wasm-bindgen and wasm-opt always run.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

want_bindgen="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if ! command -v wasm-bindgen >/dev/null; then
  echo "wasm-bindgen not found: cargo install wasm-bindgen-cli --version =$want_bindgen" >&2
  exit 1
fi
have_bindgen="$(wasm-bindgen --version | awk '{print $2}')"
if [ -n "$want_bindgen" ] && [ "$have_bindgen" != "$want_bindgen" ]; then
  echo "wasm-bindgen CLI is $have_bindgen but Cargo.lock has $want_bindgen" >&2
  exit 1
fi
wasm_opt="$root/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "node_modules missing: running npm ci" >&2
  npm ci --no-audit --no-fund
fi

out="$root/frontend/dist"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/app"

bundle() { # cargo feature, output name
  cargo build -p frontend --release --target wasm32-unknown-unknown --no-default-features --features "$1"
  wasm-bindgen --target web --out-name "$2" --no-typescript --out-dir "$tmp" \
    "$root/target/wasm32-unknown-unknown/release/frontend.wasm"
  # The features rustc enables by default for wasm32 must stay allowed.
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$out/app/$2_bg.wasm" "$tmp/$2_bg.wasm"
  cp "$tmp/$2.js" "$out/app/$2.js"
}
bundle router frontend
bundle finder finder
cp "$root/frontend/static/style.css" "$out/app/style.css"
cp "$root/frontend/static/index.html" "$out/index.html"

size() { printf '%-28s %8s bytes  %8s gzip\n' "$1" "$(wc -c <"$out/$1")" "$(gzip -9c "$out/$1" | wc -c)"; }
echo "frontend/dist:"
for f in index.html app/frontend.js app/frontend_bg.wasm app/finder.js app/finder_bg.wasm app/style.css; do size "$f"; done
