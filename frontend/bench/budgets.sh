#!/usr/bin/env bash
# Measures the frontend's budgets and writes frontend/bench/RESULTS.md.
# Run by hand (not part of the test suite):
#
#   frontend/bench/budgets.sh [--no-build] [--runs N] [--port P]
#
# Budgets (issue 5):
#   download of the app (wasm + JS + CSS, gzip -9)      <= 250 KB
#   first render of the router-free page, localhost     <= 1000 ms
#   device search per keystroke, 23.05.4 overview       <= 50 ms
#   router package: installed files together            <  5 KB
# Also measured: each page built alone (Cargo features `router` / `finder`).
#
# Needs: node, /usr/bin/chromium, /usr/bin/chromedriver, the build tools of
# scripts/build-frontend.sh. Binds 127.0.0.1 only (default ports 48100, 48101).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$root/frontend/bench"
build=1
runs=5
port=48100
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --runs) runs="$2"; shift ;;
    --port) port="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
driver_port=$((port + 1))
export PATH="$HOME/.cargo/bin:$PATH"
cd "$root"

if [ "$build" = 1 ]; then
  bash scripts/build-frontend.sh >/dev/null
fi
dist="$root/frontend/dist"
gz() { gzip -9c "$1" | wc -c; }
raw() { wc -c <"$1"; }

# Each page alone: the same steps as scripts/build-frontend.sh, one feature.
split_dir="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$split_dir"
}
trap cleanup EXIT
split_target="$root/target/frontend-bench"
for page in router finder; do
  CARGO_TARGET_DIR="$split_target" cargo build -q -p frontend --release --target wasm32-unknown-unknown \
    --no-default-features --features "$page"
  wasm-bindgen --target web --out-name frontend --no-typescript --out-dir "$split_dir/$page" \
    "$split_target/wasm32-unknown-unknown/release/frontend.wasm"
  "$root/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$split_dir/$page/frontend_bg.opt.wasm" "$split_dir/$page/frontend_bg.wasm"
done

kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
css_gz=$(gz "$dist/app/style.css")
bundle_row() { # name wasm js
  local w_raw w_gz j_gz total
  w_raw=$(raw "$2"); w_gz=$(gz "$2"); j_gz=$(gz "$3"); total=$((w_gz + j_gz + css_gz))
  local verdict="within"; [ "$total" -le $((250 * 1024)) ] || verdict="OVER"
  printf '| %s | %s KB raw / %s KB gzip | %s KB | %s KB | **%s KB** | %s |\n' "$1" "$(kb "$w_raw")" "$(kb "$w_gz")" \
    "$(kb "$j_gz")" "$(kb "$css_gz")" "$(kb "$total")" "$verdict"
}
sizes="$(bundle_row "both pages (frontend/dist)" "$dist/app/frontend_bg.wasm" "$dist/app/frontend.js")
$(bundle_row "router page alone" "$split_dir/router/frontend_bg.opt.wasm" "$split_dir/router/frontend.js")
$(bundle_row "router-free page alone" "$split_dir/finder/frontend_bg.opt.wasm" "$split_dir/finder/frontend.js")"

# The router package: every file its Makefile installs.
pkg="$root/frontend/luci-app-asu-rs"
pkg_bytes=0
pkg_rows=""
for f in $(cd "$pkg" && find root htdocs -type f | sort); do
  n=$(raw "$pkg/$f"); pkg_bytes=$((pkg_bytes + n)); pkg_rows="$pkg_rows  - \`$f\`: $n bytes
"
done
pkg_verdict="within"; [ "$pkg_bytes" -lt 5120 ] || pkg_verdict="OVER"

# The browser: the page from the stand-in server, fixtures as metadata.
node "$bench/serve.mjs" --port "$port" --dist "$dist" >"$split_dir/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q listening "$split_dir/serve.log" && break; sleep 0.1; done
json="$(node "$bench/measure.mjs" "http://127.0.0.1:$port/" "$driver_port" "$runs")"
field() { node -e "const o = JSON.parse(process.argv[1]); const v = process.argv[2].split('.').reduce((a, k) => a[k], o); console.log(typeof v === 'object' ? JSON.stringify(v) : v)" "$json" "$1"; }
fr=$(field firstRenderMedianMs); dr=$(field devicesReadyMedianMs); sm=$(field search.maxMs); smed=$(field search.medianMs)
ok() { awk -v v="$1" -v b="$2" 'BEGIN { print (v <= b) ? "within" : "OVER" }'; }

cat >"$bench/RESULTS.md" <<EOF
# Frontend budgets

Measured by \`frontend/bench/budgets.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(/usr/bin/chromium --version 2>/dev/null | head -1)).
Page served by \`frontend/bench/serve.mjs\` (static \`frontend/dist\` plus the fixtures' metadata) on 127.0.0.1.

## Download (gzip -9, KB = 1024 bytes)

| bundle | wasm | JS | CSS | total | budget 250 KB |
|---|---|---|---|---|---|
$sizes

\`frontend/dist\` is what \`scripts/build-frontend.sh\` builds: both pages in one bundle. Each page
alone is \`cargo build -p frontend --no-default-features --features router\` (or \`finder\`) with the
same wasm-bindgen and wasm-opt steps; a router then downloads only the router page, the server's
own page only the router-free one.

## Router-free page in headless Chromium ($runs fresh browsers, no cache)

| measure | median | all runs | budget |
|---|---|---|---|
| first render (navigation start to \`asu-first-render\`) | **$fr ms** | $(field firstRender) | 1000 ms: $(ok "$fr" 1000) |
| device lists searchable (\`asu-devices-ready\`) | $dr ms | $(field devicesReady) | - |

## Device search per keystroke ($(field search.devices) devices, $(field search.keystrokes) keystrokes)

Input event to the result list showing the typed text, typing and deleting:
median **$smed ms**, slowest **$sm ms** (budget 50 ms: $(ok "$sm" 50)).
Slowest per query: $(field search.perQueryMaxMs)

## Router package

Installed files of \`frontend/luci-app-asu-rs\`: **$pkg_bytes bytes** (budget < 5120: $pkg_verdict)
$pkg_rows
EOF
cat "$bench/RESULTS.md"
