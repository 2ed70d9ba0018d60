# Shared by run.sh and test.sh: builds every part the local stack needs.
# Sourced, not run.

build_all() {
  bash scripts/setup.sh
  log "building the frontend (wasm)"
  bash scripts/build-frontend.sh
  log "building the edge worker (wasm)"
  bash scripts/build-edge.sh
  log "building the builder and the stand-ins"
  cargo build -q -p builder -p standins --bins
}

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
