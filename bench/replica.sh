#!/usr/bin/env bash
# Read replicas bench: read throughput of matd on the primary alone, then with a streaming
# replica (pg_basebackup -R of the bench cluster, on PG_PORT+1) taking the GET routes, on
# the same data in the same run: GET /v1/schools (one small query per request), cached
# GET /v1/priorities (a version check per request) and GET /v1/progress/summary (a cells
# query per request). Everything runs on this machine, so the replica competes with the
# primary and matd for the same cores: the figures show the cost and the share of reads
# moved, not a bigger box. Two matd run side by side (the second reads through the replica)
# and take turns, ROUNDS times (default 2), so that the machine's drift hits both alike.
# Usage: [ROUNDS=N] bench/replica.sh [DURATION_S] [SCHOOLS] [PUPILS] [TERMS]
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
SCHOOLS=${2:-60}
PUPILS=${3:-500}
TERMS=${4:-6}
ROUNDS=${ROUNDS:-2}
STANDBY_PORT=$((PG_PORT + 1))
bench_setup
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
bench_load_synthetic "$SCHOOLS" "$PUPILS" "$TERMS"
curl() { command curl -s --cacert "$BENCH_DIR/tls/ca.crt" "$@"; }

# The standby: a base backup of the bench cluster, started on its own port.
rm -rf "$BENCH_DIR/standby"
mkdir -p "$BENCH_DIR/standby"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$BENCH_DIR/standby"
chmod 700 "$BENCH_DIR/standby"
as_pg "$PG_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$BENCH_DIR/standby/data" \
  -R -X stream -c fast
as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DIR/standby/data" -l "$BENCH_DIR/standby/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $STANDBY_PORT -k $BENCH_DIR/standby -c fsync=off -c max_connections=400 -c shared_buffers=256MB" \
  start >/dev/null

# A second matd on MATD_PORT+1 reads through the replica; the first stays on the primary.
PORT_R=$((MATD_PORT + 1))
sed -e "s/^listen = .*/listen = 127.0.0.1:$PORT_R/" \
  -e "s/^pool_size = .*/&\nreplica_dsn = host=127.0.0.1 port=$STANDBY_PORT user=postgres dbname=bench/" \
  "$BENCH_DIR/matd.conf" >"$BENCH_DIR/matd-replica.conf"
"$ROOT/build-release/matd" -c "$BENCH_DIR/matd-replica.conf" 2>"$BENCH_DIR/matd-replica.log" &
MATD_R=$!
trap 'kill $MATD_PID $MATD_R 2>/dev/null; wait $MATD_PID $MATD_R 2>/dev/null; pg_stop "$BENCH_DIR/standby"; pg_stop "$BENCH_DIR/pg"' EXIT
for _ in $(seq 200); do # until the replica serves its reads
  curl -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "https://localhost:$PORT_R/v1/schools" |
    grep -qi '^matd-read-from: replica-1' && break
  sleep 0.1
done

Q="year=2025-26&term=summer"
run_reads() { # run_reads LABEL PORT: the three routes, 64 connections each
  local label=$1 port=$2 path
  curl -o /dev/null -H "Authorization: Bearer $TOKEN" "https://localhost:$port/v1/priorities?$Q" # the cache
  for path in "v1/schools" "v1/priorities?$Q" "v1/progress/summary?$Q"; do
    wrk_run "$label GET /${path%%\?*}" "https://localhost:$port/$path" -t2 -c64 -d"${DUR}s" \
      -H "Authorization: Bearer $TOKEN"
    echo "  load average $(cut -d' ' -f1-3 /proc/loadavg)"
  done
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; $(psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -tAc 'SELECT count(*) FROM progress') progress rows, $SCHOOLS schools; wrk -t2 -c64 -d${DUR}s; $ROUNDS rounds, alternating"
for round in $(seq "$ROUNDS"); do
  run_reads "primary only:" "$MATD_PORT"
  run_reads "with a replica:" "$PORT_R"
done
curl "https://localhost:$PORT_R/metrics" | grep -E '^matd_db_(reads_total|replica_)'
