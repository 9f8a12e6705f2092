# Shared bench set-up: a Release build, a private PostgreSQL, TLS material, a matd.
# Sourced by the bench scripts; everything lives under $BENCH_DIR and is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/matd-bench}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-55439}
MATD_PORT=${MATD_PORT:-8543}
mkdir -p "$BENCH_DIR" && chmod 755 "$BENCH_DIR"
# shellcheck source=../scripts/dev.sh
source <(sed -n '/^say()/,/^cmd_test()/p' "$ROOT/scripts/dev.sh" | sed '$d')

bench_setup() {
  for tool in wrk nginx; do
    command -v $tool >/dev/null || { apt-get install -y -q wrk nginx-light >/dev/null; break; }
  done
  build "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  pg_start "$BENCH_DIR/pg" "$PG_PORT"
  make_certs "$BENCH_DIR/tls"
  make_secret "$ROOT/build-release/matctl" "$BENCH_DIR/trust.secret"
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "DROP DATABASE IF EXISTS bench WITH (FORCE)" >/dev/null
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE bench" >/dev/null
  cat >"$BENCH_DIR/matd.conf" <<CONF
[server]
listen = 127.0.0.1:$MATD_PORT
tls_cert = $BENCH_DIR/tls/server.crt
tls_key = $BENCH_DIR/tls/server.key
max_connections = 20000
[limits]
rate_limit_per_minute = 0
[database]
dsn = host=127.0.0.1 port=$PG_PORT user=postgres dbname=bench
pool_size = 8
[trust]
name = Bench Trust
secret_file = $BENCH_DIR/trust.secret
[log]
level = warn
CONF
  MATCTL="$ROOT/build-release/matctl -c $BENCH_DIR/matd.conf"
  $MATCTL migrate 2>/dev/null
  ulimit -n "$(ulimit -Hn)"
  "$ROOT/build-release/matd" -c "$BENCH_DIR/matd.conf" 2>"$BENCH_DIR/matd.log" &
  MATD_PID=$!
  # Each step may fail (matd already stopped by the script): none may skip the others.
  trap 'kill $MATD_PID 2>/dev/null || true; wait $MATD_PID 2>/dev/null || true
        [ -z "${NGINX_PID:-}" ] || kill $NGINX_PID 2>/dev/null || true; pg_stop "$BENCH_DIR/pg"' EXIT
  wait_ready "$MATD_PORT"
}

# Waits (up to 10 s) until the matd on port $1 answers /readyz.
wait_ready() {
  for _ in $(seq 100); do
    curl -sf --cacert "$BENCH_DIR/tls/ca.crt" "https://localhost:$1/readyz" >/dev/null && return 0
    sleep 0.1
  done
}

# nginx over TLS (same certificate, same cipher choice) serving files from $1 on port $2.
nginx_start() {
  local root=$1 port=$2
  cat >"$BENCH_DIR/nginx.conf" <<NGX
worker_processes $(nproc);
pid $BENCH_DIR/nginx.pid;
error_log $BENCH_DIR/nginx-error.log;
events { worker_connections 20000; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $BENCH_DIR/tls/server.crt;
    ssl_certificate_key $BENCH_DIR/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    # matd's choice (server/tls.c): AES-128-GCM first for TLS 1.2 and 1.3, by the server.
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_conf_command Options PrioritizeChaCha;
    keepalive_requests 1000000;
    root $root;
    default_type application/json;
  }
}
NGX
  nginx -c "$BENCH_DIR/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  sleep 0.5
}

# wrk_run NAME URL [wrk args...] -> prints "NAME req/s p99"
# With SERVER_PIDS set (space-separated), also the server's CPU time (user + system, from
# /proc/PID/stat) per request: steadier than req/s on a box whose cores wrk shares.
wrk_run() {
  local name=$1 url=$2; shift 2
  local out c0 c1 cpu=""
  c0=$(cpu_ticks ${SERVER_PIDS:-})
  out=$(wrk --latency "$@" "$url")
  c1=$(cpu_ticks ${SERVER_PIDS:-})
  local rps p99 n
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  if [ -n "${SERVER_PIDS:-}" ] && [ "${n:-0}" -gt 0 ]; then
    cpu=$(awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" -v n="$n" \
      'BEGIN {printf "%.2f", c / t * 1e6 / n}')
  fi
  printf '%-34s %12s req/s   p99 %s%s\n' "$name" "$rps" "$p99" "${cpu:+   server CPU $cpu us/request}"
  echo "$rps" >"$BENCH_DIR/last_rps"
  echo "$cpu" >"$BENCH_DIR/last_cpu"
}

# cpu_ticks PID...: the processes' user + system time so far, in clock ticks.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $t
}

# bench_load_synthetic SCHOOLS PUPILS_PER_SCHOOL TERMS (priorities.sh, webapp.sh): synthetic pupils with persistent ability, set-based.
bench_load_synthetic() {
  local P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"
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

# The bodies of a ROWS-row push for school 100001 in $BENCH_DIR, two variants each (so that
# no push is an unchanged re-push): push{0,1}.json, push{0,1}.csv, the same records as a
# tracker's wide export wide{0,1}.csv, and variant 0 as COPY text (push.copy) for the anchor.
make_push_bodies() {
  local rows=$1
python3 - "$rows" "$BENCH_DIR" <<'PY'
import csv, json, sys
rows, d = int(sys.argv[1]), sys.argv[2]
L = "ABCDEFGHJKLMNPQRTUVWXYZ"
subjects = ["reading", "writing", "maths", "science", "gps", "english"]
def upn(tail):
    return L[sum(int(c) * (i + 2) for i, c in enumerate(tail)) % 23] + tail
for variant in (0, 1):
    recs = []
    pupils = rows // len(subjects)
    for p in range(pupils):
        ref = upn("8012000%02d%03d" % (p // 1000, p % 1000))
        for j, s in enumerate(subjects):
            recs.append({"pupil": ref, "year_group": str(1 + p % 6), "subject": s,
                         "band": ["below", "towards", "expected", "greater_depth"][(p + j + variant) % 4],
                         "score": None, "attendance_pct": 95.5, "disadvantaged": p % 4 == 0,
                         "send": "none", "eal": p % 6 == 0, "looked_after": False,
                         "sex": "f" if p % 2 else "m", "prior_attainment": "middle"})
    json.dump({"records": recs}, open("%s/push%d.json" % (d, variant), "w"))
    with open("%s/push%d.csv" % (d, variant), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        cols = list(recs[0])
        w.writerow(cols)
        for r in recs:
            w.writerow(["" if r[c] is None else str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in cols])
    # The same records as a tracker's wide export: its own headings and words.
    words = {"below": "Below", "towards": "Working Towards", "expected": "Expected+",
             "greater_depth": "Greater Depth"}
    with open("%s/wide%d.csv" % (d, variant), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Pupil ID", "Name", "DOB", "Year", "Gender", "Pupil Premium", "EAL",
                    "Attendance"] + [s.title() for s in subjects])
        for i in range(0, len(recs), len(subjects)):
            r = recs[i]
            w.writerow([r["pupil"], "Pupil %d" % i, "2016-01-01", "Y%s" % r["year_group"],
                        "Female" if r["sex"] == "f" else "Male",
                        "Yes" if r["disadvantaged"] else "No", "Yes" if r["eal"] else "No",
                        r["attendance_pct"]] + [words[recs[i + j]["band"]] for j in range(len(subjects))])
    if variant == 0:  # the same rows as COPY text for the anchor (keys precomputed as any)
        import hashlib
        with open("%s/push.copy" % d, "w") as f:
            for r in recs:
                key = hashlib.sha256(r["pupil"].encode()).hexdigest()[:32]
                f.write("1\t100001\t2025-26\tautumn\t\\\\x%s\t%s\t%s\t%s\t\\N\t95.50\t%s\tnone\t%s\tf\t%s\tmiddle\n" % (
                    key, r["year_group"], r["subject"], r["band"], "t" if r["disadvantaged"] else "f",
                    "t" if r["eal"] else "f", r["sex"]))
PY
}
