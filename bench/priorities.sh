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

# load SCHOOLS PUPILS_PER_SCHOOL TERMS: synthetic pupils with persistent ability, set-based.
load() {
  local schools=$1 per=$2 terms=$3
  $P -c "TRUNCATE progress, schools CASCADE" >/dev/null
  $P -c "INSERT INTO schools (trust_id, urn, name, phase, lat, lon)
         SELECT 1, lpad((200000 + s)::text, 6, '0'), 'School ' || s,
                CASE WHEN s % 5 = 0 THEN 'secondary' ELSE 'primary' END,
                51 + (s % 100) * 0.03, -2 + (s / 100) * 0.05 FROM generate_series(1, $schools) s" >/dev/null
  $P -c "INSERT INTO benchmarks (trust_id, year, subject, grp, expected)
         SELECT 1, '2025-26', subject, 'all', expected FROM national_benchmarks
          WHERE year = '2024-25' ON CONFLICT DO NOTHING;
         INSERT INTO benchmark_years VALUES (1, '2025-26') ON CONFLICT DO NOTHING" >/dev/null
  $P -c "SET synchronous_commit = off;
    INSERT INTO progress (trust_id, urn, year, term, pupil_key, year_group, subject, band,
                          disadvantaged, send, eal, looked_after, sex)
    SELECT 1, lpad((200000 + s)::text, 6, '0'), t.year, t.term,
           substr(sha256((s * 100000 + p)::text::bytea), 1, 16), (1 + p % 6)::text, sub,
           CASE WHEN z < -1.2 THEN 'below' WHEN z < -0.6 THEN 'towards'
                WHEN z < 0.7 THEN 'expected' ELSE 'greater_depth' END,
           p % 4 = 0, CASE WHEN p % 9 = 0 THEN 'support' WHEN p % 50 = 0 THEN 'ehcp' ELSE 'none' END,
           p % 6 = 0, p % 97 = 0, CASE WHEN p % 2 = 0 THEN 'f' ELSE 'm' END
      FROM generate_series(1, $schools) s, generate_series(1, $per) p,
           (SELECT * FROM (VALUES ('2024-25','autumn',1),('2024-25','spring',2),('2024-25','summer',3),
                                  ('2025-26','autumn',4),('2025-26','spring',5),('2025-26','summer',6)) v(year, term, i)
             WHERE i > 6 - $terms) t,
           unnest(ARRAY['reading','writing','maths','science','gps','english']) sub,
           LATERAL (SELECT ((hashint4(s * 7919 + p) % 1000) / 1000.0 * 1.6
                            + (hashint4(s * 31 + p * 17 + t.i * 7 + length(sub)) % 1000) / 1000.0 * 0.8) AS z) zz" >/dev/null
  $P -c "ANALYZE progress" >/dev/null
}

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
load 60 500 6
report "60 schools"
cp "$BENCH_DIR/prio.json" "$BENCH_DIR/www-prio.json" 2>/dev/null || true
mkdir -p "$BENCH_DIR/www" && cp "$BENCH_DIR/prio.json" "$BENCH_DIR/www/priorities"
nginx_start "$BENCH_DIR/www" 8544
wrk_run "nginx same bytes (anchor)" "https://localhost:8544/priorities" -t2 -c32 -d"${DUR}s"
anchor=$(cat "$BENCH_DIR/last_rps")
wrk_run "matd cached GET /v1/priorities" "https://localhost:$MATD_PORT/v1/priorities?year=2025-26&term=summer" \
  -t2 -c32 -d"${DUR}s" -H "Authorization: Bearer $TOKEN"
awk -v a="$anchor" -v m="$(cat "$BENCH_DIR/last_rps")" 'BEGIN { printf "ratio matd/nginx = %.2f\n", m / a }'
load 2000 400 1
report "2000 schools"
