#!/usr/bin/env bash
# HTTP front-end bench: matd GET /healthz and authenticated GET /v1/me over TLS keep-alive,
# beside nginx serving the same bytes over TLS on this machine in the same run; and matd's
# RSS with 1,000 open connections. Usage: bench/http.sh [DURATION_S] [CONNECTIONS]
# PERF=1 also samples matd with perf during each matd run and prints its top frames (self
# time); NGINX_PORT moves the anchor off 8544. The machine's load average is printed: the
# ratios only mean something on a quiet machine. Each run also prints the server's CPU time
# per request (nginx's workers, matd's process), which wrk's share of the cores moves less.
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
CONNS=${2:-64}
NGINX_PORT=${NGINX_PORT:-8544}
# wrk's 1,000 connections all come from 127.0.0.1: lift the per-address cap (256) for them.
export MATD_SERVER_MAX_CONNECTIONS_PER_ADDRESS=2000
bench_setup
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
mkdir -p "$BENCH_DIR/www"
printf '{"status":"ok"}' >"$BENCH_DIR/www/healthz"
nginx_start "$BENCH_DIR/www" "$NGINX_PORT"

# perf_top NAME: samples matd for most of the next wrk run, then prints its top frames.
perf_top() {
  [ "${PERF:-0}" = 1 ] || return 0
  (perf record -q -F 1999 -g -p "$MATD_PID" -o "$BENCH_DIR/perf-$1.data" -- sleep $((DUR - 1)) \
     >/dev/null 2>&1 &)
}
perf_print() {
  [ "${PERF:-0}" = 1 ] || return 0
  sleep 1.5
  echo "  top frames of matd (self time), $1:"
  perf report -i "$BENCH_DIR/perf-$1.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -15 | sed 's/^/    /' || true
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "wrk -t2 -c$CONNS -d${DUR}s, TLS keep-alive"
SERVER_PIDS=$(pgrep -d' ' -P "$NGINX_PID") \
  wrk_run "nginx static /healthz (anchor)" "https://localhost:$NGINX_PORT/healthz" -t2 -c"$CONNS" -d"${DUR}s"
anchor=$(cat "$BENCH_DIR/last_rps")
anchor_cpu=$(cat "$BENCH_DIR/last_cpu")
export SERVER_PIDS=$MATD_PID
perf_top healthz
wrk_run "matd GET /healthz" "https://localhost:$MATD_PORT/healthz" -t2 -c"$CONNS" -d"${DUR}s"
h=$(cat "$BENCH_DIR/last_rps")
h_cpu=$(cat "$BENCH_DIR/last_cpu")
perf_print healthz
perf_top me
wrk_run "matd GET /v1/me (bearer)" "https://localhost:$MATD_PORT/v1/me" -t2 -c"$CONNS" -d"${DUR}s" \
  -H "Authorization: Bearer $TOKEN"
m=$(cat "$BENCH_DIR/last_rps")
m_cpu=$(cat "$BENCH_DIR/last_cpu")
perf_print me
unset SERVER_PIDS
awk -v a="$anchor" -v h="$h" -v m="$m" 'BEGIN {
  printf "ratio healthz/nginx = %.2f   ratio me/nginx = %.2f\n", h / a, m / a }'
# The same ratios from CPU per request: the rate each would reach on cores of its own.
awk -v a="$anchor_cpu" -v h="$h_cpu" -v m="$m_cpu" 'BEGIN { if (h > 0 && m > 0)
  printf "by CPU per request: healthz/nginx = %.2f   me/nginx = %.2f\n", a / h, a / m }'
rss0=$(awk '/VmRSS/ {print $2}' /proc/$MATD_PID/status)
wrk -t2 -c1000 -d8s "https://localhost:$MATD_PORT/healthz" >/dev/null &
WRK=$!
sleep 5
rss=$(awk '/VmRSS/ {print $2}' /proc/$MATD_PID/status)
# (the per-address connection cap may refuse this probe itself while wrk holds its 1,000)
open=$(curl -s --cacert "$BENCH_DIR/tls/ca.crt" "https://localhost:$MATD_PORT/metrics" |
  awk '/^matd_open_connections/ {print $2}' || true)
wait $WRK || true
echo "matd RSS idle ${rss0} kB; with ${open:-?} open connections ${rss} kB"
