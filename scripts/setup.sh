#!/usr/bin/env bash
# Installs what a fresh machine lacks for building, running and testing;
# skips whatever is already there. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

lock_version() { # version of a crate as pinned in Cargo.lock
  awk -v n="$1" '$0=="name = \""n"\"" {getline; gsub(/version = |"/,""); print; exit}' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v make >/dev/null || need_apt+=(make)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v xz >/dev/null || need_apt+=(xz-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

wb_version=$(lock_version wasm-bindgen)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  log "cargo install wasm-bindgen-cli $wb_version (a few minutes)"
  cargo install -q wasm-bindgen-cli --version "=$wb_version"
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $2}')" != "0.8.7" ]; then
  log "cargo install worker-build 0.8.7 (a few minutes)"
  cargo install -q worker-build --version =0.8.7 --locked
fi

if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ package.json -nt node_modules/.stamp ]; then
  log "npm ci (wrangler, binaryen)"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
  touch node_modules/.stamp
fi
log "tools ready"
