#!/usr/bin/env bash
# Two matd instances on one database against one: GET /v1/me (bearer) and cached
# GET /v1/priorities (60 schools by default) over TLS keep-alive. One instance takes
# wrk -t2 -c64; then two instances (ports MATD_PORT and MATD_PORT+1, each with its default
# workers) each take wrk -t1 -c32 at the same time, as a TCP balancer would split them, and
# the two rates are summed. On one machine both instances share its cores, so this measures
# what a second instance costs or gains here, not on a second host.
# The two set-ups take turns, ROUNDS times (default 2), so that the machine's drift hits
# both alike. Usage: [ROUNDS=N] bench/two_instances.sh [DURATION_S] [SCHOOLS] [PUPILS] [TERMS]
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
SCHOOLS=${2:-60}
PUPILS=${3:-500}
TERMS=${4:-6}
ROUNDS=${ROUNDS:-2}
PORT_B=$((MATD_PORT + 1))
bench_setup
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
bench_load_synthetic "$SCHOOLS" "$PUPILS" "$TERMS"
sed "s/^listen = .*/listen = 127.0.0.1:$PORT_B/" "$BENCH_DIR/matd.conf" >"$BENCH_DIR/matd-b.conf"
"$ROOT/build-release/matd" -c "$BENCH_DIR/matd-b.conf" 2>"$BENCH_DIR/matd-b.log" &
MATD_B=$!
trap 'kill $MATD_PID $MATD_B 2>/dev/null; wait $MATD_PID $MATD_B 2>/dev/null; pg_stop "$BENCH_DIR/pg"' EXIT
wait_ready "$PORT_B"
Q="v1/priorities?year=2025-26&term=summer"
for port in "$MATD_PORT" "$PORT_B"; do # each instance computes and caches the list once
  curl -s -o /dev/null --cacert "$BENCH_DIR/tls/ca.crt" -H "Authorization: Bearer $TOKEN" "https://localhost:$port/$Q"
done

rps_of() { awk '/Requests\/sec/ {print $2}'; }
pair() { # pair PATH: wrk -t1 -c32 on each instance at once; prints the sum
  local path=$1
  wrk -t1 -c32 -d"${DUR}s" -H "Authorization: Bearer $TOKEN" "https://localhost:$MATD_PORT/$path" >"$BENCH_DIR/wrk-a" &
  local a=$!
  wrk -t1 -c32 -d"${DUR}s" -H "Authorization: Bearer $TOKEN" "https://localhost:$PORT_B/$path" >"$BENCH_DIR/wrk-b"
  wait $a
  local ra rb
  ra=$(rps_of <"$BENCH_DIR/wrk-a")
  rb=$(rps_of <"$BENCH_DIR/wrk-b")
  awk -v a="$ra" -v b="$rb" -v p="${path%%\?*}" 'BEGIN {
    printf "%-34s %12.2f req/s   (%.2f + %.2f)\n", "two instances GET /" p, a + b, a, b }'
  echo "$ra $rb" | awk '{print $1 + $2}' >"$BENCH_DIR/last_rps"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; $(psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -tAc 'SELECT count(*) FROM progress') progress rows, $SCHOOLS schools; ${DUR}s each, 64 connections in all; $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  for path in "v1/me" "$Q"; do
    wrk_run "one instance GET /${path%%\?*}" "https://localhost:$MATD_PORT/$path" -t2 -c64 -d"${DUR}s" \
      -H "Authorization: Bearer $TOKEN"
    one=$(cat "$BENCH_DIR/last_rps")
    echo "  load average $(cut -d' ' -f1-3 /proc/loadavg)"
    pair "$path"
    two=$(cat "$BENCH_DIR/last_rps")
    echo "  load average $(cut -d' ' -f1-3 /proc/loadavg)"
    awk -v o="$one" -v t="$two" 'BEGIN { printf "  ratio two/one = %.2f\n", t / o }'
  done
done
