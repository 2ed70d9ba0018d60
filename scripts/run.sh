#!/usr/bin/env bash
# Runs the whole system locally on 127.0.0.1: the upstream mirror (stand-in
# for downloads.openwrt.org), the edge under wrangler dev, one builder and a
# virtual GL.iNet GL-MT6000 router. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

EDGE_PORT=${EDGE_PORT:-8787}
MIRROR_PORT=${MIRROR_PORT:-8780}
ROUTER_PORT=${ROUTER_PORT:-8790}
STATE=${ASU_STATE:-$PWD/.state}
TOKEN_FILE="$STATE/builder-token"

build_all
mkdir -p "$STATE/logs"
[ -s "$TOKEN_FILE" ] || od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$TOKEN_FILE"
TOKEN=$(cat "$TOKEN_FILE")

pids=()
stop() {
  trap - INT TERM EXIT
  log "stopping"
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

start() { # name, command...: runs it in its own process group, logging to $STATE/logs/<name>.log
  local name=$1; shift
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
}

wait_for() { # url, name
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  log "$2 did not come up; see $STATE/logs/$2.log"; tail -n 30 "$STATE/logs/$2.log"; exit 1
}

log "generating the upstream mirror"
target/debug/upstream-mirror generate --fixtures ../shared/fixtures/upstream \
  --imagebuilder-bin target/debug/imagebuilder-standin --out "$STATE/mirror"
start mirror target/debug/upstream-mirror serve --root "$STATE/mirror" --listen "127.0.0.1:$MIRROR_PORT"
wait_for "http://127.0.0.1:$MIRROR_PORT/.versions.json" mirror

log "starting the edge (wrangler dev)"
start edge env WRANGLER_SEND_METRICS=false CI=true node_modules/.bin/wrangler dev \
  --ip 127.0.0.1 --port "$EDGE_PORT" --persist-to "$STATE/edge" --show-interactive-dev-session=false \
  --var "BUILDER_TOKEN:$TOKEN" --var "UPSTREAM_URL:http://127.0.0.1:$MIRROR_PORT"
wait_for "http://127.0.0.1:$EDGE_PORT/api/v1/stats" edge

log "starting a builder"
start builder env EDGE_URL="http://127.0.0.1:$EDGE_PORT" BUILDER_TOKEN="$TOKEN" \
  UPSTREAM_URL="http://127.0.0.1:$MIRROR_PORT" CACHE_DIR="$STATE/builder-cache" WORK_DIR="$STATE/builder-work" \
  BUILDER_NAME=local-1 target/debug/builder

log "starting the virtual router"
start router target/debug/virtual-router --board tests/standins/boards/glinet_gl-mt6000-23.05.4.json \
  --listen "127.0.0.1:$ROUTER_PORT" --server-url "http://127.0.0.1:$EDGE_PORT" --state-file "$STATE/router-state.json" \
  --www frontend/luci-app-asu-rs/htdocs
wait_for "http://127.0.0.1:$ROUTER_PORT/" router

cat <<MSG

  Everything runs. Open in a browser:

    http://127.0.0.1:$ROUTER_PORT/
        the virtual router's LuCI page (user root, empty password): its
        Attended Sysupgrade page upgrades it from 23.05.4 to 24.10.5
    http://127.0.0.1:$EDGE_PORT/
        the app without a router

  Logs: $STATE/logs/   Stop: Ctrl-C   Reset the router: delete $STATE/router-state.json

MSG
wait -n "${pids[@]}" || true
log "a component exited; see $STATE/logs/"
