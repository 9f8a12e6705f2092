#!/usr/bin/env bash
# Priorities bench: time to compute GET /v1/priorities cold and cached for a 60-school
# trust (30,000 pupils x 6 terms x 6 subjects) and a 2,000-school trust (~800,000 pupils,
# one term), with the database's share; then cached GET requests/s over TLS beside nginx
# serving the same bytes. Usage: bench/priorities.sh [DURATION_S]
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
bench_setup
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"

timed_get() { # prints seconds for one GET; headers to $BENCH_DIR/prio.headers
  curl -s -o "$BENCH_DIR/prio.json" -D "$BENCH_DIR/prio.headers" -w '%{time_total}' --cacert "$BENCH_DIR/tls/ca.crt" \
    -H "Authorization: Bearer $TOKEN" "https://localhost:$MATD_PORT/v1/priorities?year=2025-26&term=summer"
}

report() { # report LABEL
  local label=$1
  : >"$BENCH_DIR/matd.log.mark"
  local cold warm rows items timing sqlms
  rows=$($P -tAc "SELECT count(*) FROM progress")
  cold=$(timed_get)
  timing=$(tr -d '\r' <"$BENCH_DIR/prio.headers" | awk -F': ' 'tolower($1) == "server-timing" {print $2}')
  warm=$(timed_get)
  items=$(python3 -c "import json; print(len(json.load(open('$BENCH_DIR/prio.json'))['items']))")
  sqlms=$($P -tAc "EXPLAIN (ANALYZE, FORMAT JSON) SELECT coalesce(urn, ''), subject, grp, n, k, gd FROM progress_cells(1, '2025-26', 'summer', NULL) WHERE year_group IS NULL" |
          python3 -c "import json,sys; print(round(json.load(sys.stdin)[0]['Execution Time']))")
  printf '%-14s rows=%-9s items=%-6s cold=%6.3fs [%s; cells query alone %s ms]  cached=%6.4fs\n' \
    "$label" "$rows" "$items" "$cold" "$timing" "$sqlms" "$warm"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores"
bench_load_synthetic 60 500 6
report "60 schools"
cp "$BENCH_DIR/prio.json" "$BENCH_DIR/www-prio.json" 2>/dev/null || true
mkdir -p "$BENCH_DIR/www" && cp "$BENCH_DIR/prio.json" "$BENCH_DIR/www/priorities"
nginx_start "$BENCH_DIR/www" 8544
pg_pids() { # this bench's PostgreSQL: the postmaster and its backends
  local pm
  pm=$(head -1 "$BENCH_DIR/pg/data/postmaster.pid")
  echo "$pm $(pgrep -d' ' -P "$pm")"
}
# CPU per request: nginx's workers; matd with PostgreSQL (each cached read asks it for the
# data version), so that the database's share is counted where matd makes it.
SERVER_PIDS=$(pgrep -d' ' -P "$NGINX_PID") \
  wrk_run "nginx same bytes (anchor)" "https://localhost:8544/priorities" -t2 -c32 -d"${DUR}s"
anchor=$(cat "$BENCH_DIR/last_rps")
anchor_cpu=$(cat "$BENCH_DIR/last_cpu")
SERVER_PIDS="$MATD_PID $(pg_pids)" \
  wrk_run "matd cached GET /v1/priorities" "https://localhost:$MATD_PORT/v1/priorities?year=2025-26&term=summer" \
  -t2 -c32 -d"${DUR}s" -H "Authorization: Bearer $TOKEN"
awk -v a="$anchor" -v m="$(cat "$BENCH_DIR/last_rps")" -v ac="$anchor_cpu" -v mc="$(cat "$BENCH_DIR/last_cpu")" \
  'BEGIN { printf "ratio matd/nginx = %.2f   by CPU per request (matd + PostgreSQL) = %.2f\n", m / a, ac / mc }'
# The same list brotli-compressed (matd makes it once per data version, off the loop),
# beside nginx serving those very bytes as a static file.
curl -s -o "$BENCH_DIR/www/priorities.br" --cacert "$BENCH_DIR/tls/ca.crt" -H "Accept-Encoding: br" \
  -H "Authorization: Bearer $TOKEN" "https://localhost:$MATD_PORT/v1/priorities?year=2025-26&term=summer"
SERVER_PIDS=$(pgrep -d' ' -P "$NGINX_PID") \
  wrk_run "nginx same brotli bytes (anchor)" "https://localhost:8544/priorities.br" -t2 -c32 -d"${DUR}s"
anchor=$(cat "$BENCH_DIR/last_rps")
anchor_cpu=$(cat "$BENCH_DIR/last_cpu")
SERVER_PIDS="$MATD_PID $(pg_pids)" \
  wrk_run "matd cached, Accept-Encoding: br" "https://localhost:$MATD_PORT/v1/priorities?year=2025-26&term=summer" \
  -t2 -c32 -d"${DUR}s" -H "Authorization: Bearer $TOKEN" -H "Accept-Encoding: br"
awk -v a="$anchor" -v m="$(cat "$BENCH_DIR/last_rps")" -v n="$(stat -c %s "$BENCH_DIR/www/priorities.br")" \
  -v ac="$anchor_cpu" -v mc="$(cat "$BENCH_DIR/last_cpu")" \
  'BEGIN { printf "ratio matd/nginx (brotli, %d bytes) = %.2f   by CPU per request (matd + PostgreSQL) = %.2f\n", n, m / a, ac / mc }'
bench_load_synthetic 2000 400 1
report "2000 schools"
