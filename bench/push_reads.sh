#!/usr/bin/env bash
# Reads while schools push: the p99 latency of GET /v1/me (wrk --latency, TLS keep-alive)
# with no push running, then while 30,000-row CSV pushes run back to back (the per-token
# rate limit is off in the bench config): once with the push's COPY never pausing
# (push_busy_share_pct = 100, matd before pacing) and once paced (the default 15 %, or
# $SHARE). Two read loads: "saturating", CONNECTIONS connections as fast as they go (wrk
# alone fills both cores of this box, so anything else running takes its share of the
# readers' CPU), and "steady", 8 connections each waiting 2 ms between requests (at most
# 4,000 requests a second: a busy trust's pages, well under capacity). ROUNDS rounds of
# each, interleaved so that noise from anything else on the machine falls on all alike;
# the medians are compared. Goal: the p99 under pushes at most 1.5x the quiet p99. The
# config is changed live with SIGHUP.
# PG_NICE=n adds a fourth run to each round: paced, with the bench's PostgreSQL (postmaster
# and backends) at nice n, as a box shared by matd and PostgreSQL would be set up with
# systemd's CPUWeight= (nice 10 weighs about a tenth of nice 0, as CPUWeight=10 against
# matd's 100). Raising the priority back needs root.
# LOADS="steady" (or "saturating") runs one of the two read loads only.
# Usage: [SHARE=pct] [ROUNDS=n] [PG_NICE=n] [LOADS=...] bench/push_reads.sh [DURATION_S] [CONNECTIONS] [ROWS]
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
CONNS=${2:-64}
ROWS=${3:-30000}
bench_setup
READER=$($MATCTL token create --role ceo --name bench-reader 2>/dev/null)
PUSHER=$($MATCTL token create --role admin --name bench-pusher 2>/dev/null)
P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"
$P -c "INSERT INTO schools (trust_id, urn, name, phase) VALUES (1, '100001', 'Bench Primary', 'primary') ON CONFLICT DO NOTHING"
make_push_bodies "$ROWS"
ROUNDS=${ROUNDS:-3}
SHARE=${SHARE:-15}
echo "# $(date -u +%FT%TZ) $(nproc) cores; wrk -t2 -c$CONNS (saturating) or -c8 with 2 ms between requests (steady), ${DUR}s each, GET /v1/me; pushes of $ROWS CSV rows; $ROUNDS rounds"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
URL="https://localhost:$MATD_PORT/v1/me"
echo 0 >"$BENCH_DIR/reads_seq"

set_share() {
  sed -i '/^push_busy_share_pct/d' "$BENCH_DIR/matd.conf"
  sed -i "/^\[limits\]/a push_busy_share_pct = $1" "$BENCH_DIR/matd.conf"
  kill -HUP "$MATD_PID"
  sleep 0.5
}

# wrk prints latencies with a unit (us, ms, s): to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
  if (u == "us") x /= 1000; else if (u == "s") x *= 1000; printf "%.3f", x }'; }

# One wrk run under the read load $LOAD: prints "p99_ms req_per_s".
printf 'function delay() return 2 end\n' >"$BENCH_DIR/steady.lua"
read_run() {
  local args=(-t2 -c"$CONNS")
  [ "$LOAD" = steady ] && args=(-t2 -c8 -s "$BENCH_DIR/steady.lua")
  wrk --latency "${args[@]}" -d"${DUR}s" -H "Authorization: Bearer $READER" "$URL" >"$BENCH_DIR/reads_wrk"
  echo "$(to_ms "$(awk '$1=="99%" {print $2}' "$BENCH_DIR/reads_wrk")") $(awk '/Requests\/sec/ {print $2}' "$BENCH_DIR/reads_wrk")"
}

# One wrk run while pushes run back to back (the two bodies alternate, so no push is an
# unchanged repeat); prints "p99_ms req_per_s pushes mean_s other_answers".
loaded_run() {
  rm -f "$BENCH_DIR/reads_stop" "$BENCH_DIR/reads_pushes"
  (
    while [ ! -e "$BENCH_DIR/reads_stop" ]; do
      i=$(cat "$BENCH_DIR/reads_seq"); echo $((i + 1)) >"$BENCH_DIR/reads_seq"
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --cacert "$BENCH_DIR/tls/ca.crt" -X PUT \
        -H "Authorization: Bearer $PUSHER" -H "Content-Type: text/csv" \
        --data-binary @"$BENCH_DIR/push$((i % 2)).csv" \
        "https://localhost:$MATD_PORT/v1/schools/100001/progress/2025-26/autumn" >>"$BENCH_DIR/reads_pushes"
    done
  ) &
  local pushes=$!
  sleep 1 # the first push under way
  local r
  r=$(read_run)
  touch "$BENCH_DIR/reads_stop"
  wait $pushes
  echo "$r $(grep -c '^201' "$BENCH_DIR/reads_pushes" || true)" \
    "$(awk '$1 == 201 {s += $2; n++} END {if (n) printf "%.3f", s / n; else print "-"}' "$BENCH_DIR/reads_pushes")" \
    "$(grep -vc '^201' "$BENCH_DIR/reads_pushes" || true)"
}

# The bench cluster's processes at nice $1 (backends forked later inherit the postmaster's).
pg_nice() {
  local pm
  pm=$(head -1 "$BENCH_DIR/pg/data/postmaster.pid")
  renice -n "$1" -p "$pm" $(pgrep -P "$pm") >/dev/null
}
PG_NICE=${PG_NICE:-}
printf '%-10s %-6s %-28s %10s %12s %8s %10s %6s\n' load round run "p99 ms" "req/s" pushes "mean s" other
for LOAD in saturating steady; do
  : >"$BENCH_DIR/reads_table_$LOAD"
done
LOADS=${LOADS:-saturating steady}
for round in $(seq "$ROUNDS"); do
  for LOAD in $LOADS; do
    q=$(read_run)
    printf '%-10s %-6s %-28s %10s %12s\n' "$LOAD" "$round" "no push" $q
    set_share 100
    u=$(loaded_run)
    printf '%-10s %-6s %-28s %10s %12s %8s %10s %6s\n' "$LOAD" "$round" "pushes, never pausing" $u
    set_share "$SHARE"
    l=$(loaded_run)
    printf '%-10s %-6s %-28s %10s %12s %8s %10s %6s\n' "$LOAD" "$round" "pushes, paced at $SHARE %" $l
    n="- -"
    if [ -n "$PG_NICE" ]; then
      pg_nice "$PG_NICE"
      n=$(loaded_run)
      pg_nice 0
      printf '%-10s %-6s %-28s %10s %12s %8s %10s %6s\n' "$LOAD" "$round" "paced, PostgreSQL nice $PG_NICE" $n
    fi
    echo "$(echo "$q" | cut -d' ' -f1) $(echo "$u" | cut -d' ' -f1) $(echo "$l" | cut -d' ' -f1) $(echo "$n" | cut -d' ' -f1)" >>"$BENCH_DIR/reads_table_$LOAD"
  done
done
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for LOAD in $LOADS; do
  t="$BENCH_DIR/reads_table_$LOAD"
  awk -v load="$LOAD" -v q="$(cut -d' ' -f1 "$t" | median)" -v u="$(cut -d' ' -f2 "$t" | median)" \
    -v l="$(cut -d' ' -f3 "$t" | median)" 'BEGIN {
    printf "%s: median p99 /v1/me %.2f ms quiet; under pushes %.2f ms never pausing (%.2fx), %.2f ms paced (%.2fx; goal <= 1.5x)\n",
      load, q, u, u / q, l, l / q }'
  [ -n "$PG_NICE" ] && awk -v load="$LOAD" -v q="$(cut -d' ' -f1 "$t" | median)" \
    -v n="$(cut -d' ' -f4 "$t" | median)" -v pn="$PG_NICE" 'BEGIN {
    printf "%s: paced with PostgreSQL at nice %s: %.2f ms (%.2fx; goal <= 1.5x)\n", load, pn, n, n / q }'
done
curl -s --cacert "$BENCH_DIR/tls/ca.crt" "https://localhost:$MATD_PORT/metrics" | grep '^matd_push_pauses_total' || true
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
