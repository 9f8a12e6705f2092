#!/usr/bin/env bash
# Web app bench: the first load of the briefing over TLS in Debian's Chromium, cold
# browser cache: bytes transferred and time to the rendered priority list (from the
# browser's performance timings), for the demo trust (12 schools) and a 60-school trust
# (30,000 pupils x 6 terms). The anchor, in the same run, is the sign-in page: the app's
# shell and assets alone. Aim (issue 15): under 150 KB and 300 ms. Usage: bench/webapp.sh [RUNS]
source "$(dirname "$0")/lib.sh"
export RUNS=${1:-7}
bench_setup
[ -d "$ROOT/web/node_modules/playwright-core" ] || (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
$MATCTL demo load >/dev/null 2>&1
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
run() { # run LABEL [HASH]
  LABEL=$1 BRIEFING_HASH=${2:-#/briefing} MATD_URL="https://localhost:$MATD_PORT" \
    MATD_CA="$BENCH_DIR/tls/ca.crt" MATD_TOKEN=$TOKEN NODE_PATH="$ROOT/web/node_modules" \
    node "$ROOT/bench/webapp.mjs"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(chromium --version 2>/dev/null)"
run "demo trust (12 schools)"
bench_load_synthetic 60 500 6
run "60 schools" "#/briefing?year=2025-26&term=summer"
