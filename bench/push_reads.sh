#!/usr/bin/env bash
# Reads while schools push: the p99 latency of GET /v1/me (wrk --latency, TLS keep-alive) with
# no push running, then while 30,000-row CSV pushes run back to back (the per-token rate
# limit is off in the bench config), in the same run. Goal: the p99 under pushes at most 1.5x
# the quiet p99. Also prints how many pushes completed during the loaded run.
# Usage: bench/push_reads.sh [DURATION_S] [CONNECTIONS] [ROWS]
source "$(dirname "$0")/lib.sh"
DUR=${1:-10}
CONNS=${2:-64}
ROWS=${3:-30000}
bench_setup
READER=$($MATCTL token create --role ceo --name bench-reader 2>/dev/null)
PUSHER=$($MATCTL token create --role admin --name bench-pusher 2>/dev/null)
P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"
$P -c "INSERT INTO schools (trust_id, urn, name, phase) VALUES (1, '100001', 'Bench Primary', 'primary') ON CONFLICT DO NOTHING"
python3 - "$ROWS" "$BENCH_DIR" <<'PY'
import sys
rows, d = int(sys.argv[1]), sys.argv[2]
L = "ABCDEFGHJKLMNPQRTUVWXYZ"
subjects = ["reading", "writing", "maths", "science", "gps", "english"]
def upn(tail):
    return L[sum(int(c) * (i + 2) for i, c in enumerate(tail)) % 23] + tail
bands = ["below", "towards", "expected", "greater_depth"]
for variant in (0, 1):  # two bodies, so that no push is an unchanged re-push
    with open("%s/reads_push%d.csv" % (d, variant), "w") as f:
        f.write("pupil,year_group,subject,band,attendance_pct,disadvantaged,send,eal,sex\n")
        for p in range(rows // len(subjects)):
            ref = upn("8012000%02d%03d" % (p // 1000, p % 1000))
            for j, s in enumerate(subjects):
                f.write("%s,%d,%s,%s,95.5,%s,none,%s,%s\n" % (
                    ref, 1 + p % 6, s, bands[(p + j + variant) % 4], str(p % 4 == 0).lower(),
                    str(p % 6 == 0).lower(), "f" if p % 2 else "m"))
PY
echo "# $(date -u +%FT%TZ) $(nproc) cores; wrk -t2 -c$CONNS -d${DUR}s GET /v1/me; pushes of $ROWS CSV rows"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
URL="https://localhost:$MATD_PORT/v1/me"
quiet=$(wrk --latency -t2 -c"$CONNS" -d"${DUR}s" -H "Authorization: Bearer $READER" "$URL" |
  tee "$BENCH_DIR/reads_wrk" | awk '$1=="99%" {print $2}')
printf '%-34s %12s req/s   p99 %s\n' "GET /v1/me, no push" "$(awk '/Requests\/sec/ {print $2}' "$BENCH_DIR/reads_wrk")" "$quiet"

# Pushes back to back until told to stop; each one's status is logged.
rm -f "$BENCH_DIR/reads_stop" "$BENCH_DIR/reads_pushes"
(
  i=0
  while [ ! -e "$BENCH_DIR/reads_stop" ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --cacert "$BENCH_DIR/tls/ca.crt" -X PUT \
      -H "Authorization: Bearer $PUSHER" -H "Content-Type: text/csv" \
      --data-binary @"$BENCH_DIR/reads_push$((i % 2)).csv" \
      "https://localhost:$MATD_PORT/v1/schools/100001/progress/2025-26/autumn" >>"$BENCH_DIR/reads_pushes"
    i=$((i + 1))
  done
) &
PUSHES=$!
sleep 1 # the first push under way
loaded=$(wrk --latency -t2 -c"$CONNS" -d"${DUR}s" -H "Authorization: Bearer $READER" "$URL" |
  tee "$BENCH_DIR/reads_wrk" | awk '$1=="99%" {print $2}')
loaded_rps=$(awk '/Requests\/sec/ {print $2}' "$BENCH_DIR/reads_wrk")
touch "$BENCH_DIR/reads_stop"
wait $PUSHES
n=$(grep -c '^201' "$BENCH_DIR/reads_pushes" || true)
other=$(grep -vc '^201' "$BENCH_DIR/reads_pushes" || true)
mean=$(awk '$1 == 201 {s += $2; n++} END {if (n) printf "%.3f", s / n; else print "-"}' "$BENCH_DIR/reads_pushes")
printf '%-34s %12s req/s   p99 %s\n' "GET /v1/me, CSV pushes running" "$loaded_rps" "$loaded"
echo "pushes completed: $n (mean $mean s each); other answers: $other"
# wrk prints latencies with a unit (us, ms, s): to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
  if (u == "us") x /= 1000; else if (u == "s") x *= 1000; printf "%.3f", x }'; }
q=$(to_ms "$quiet")
l=$(to_ms "$loaded")
awk -v q="$q" -v l="$l" 'BEGIN { printf "p99 /v1/me: %.2f ms quiet, %.2f ms under pushes: %.2fx (goal <= 1.5x)\n", q, l, l / q }'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
