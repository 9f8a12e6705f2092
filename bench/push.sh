#!/usr/bin/env bash
# Progress-push bench: rows/s for a 30,000-row push as JSON and as CSV over TLS, beside
# `psql \copy` of the same rows into the same table in the same run, and matd's peak RSS;
# and the same rows as a tracker's wide export (a row per pupil, a column per subject, a
# name and a date of birth dropped unread) read through an import profile, beside the
# plain CSV push.
# Prints a table (push time beside psql \copy, the throughput ratio, matd's peak RSS) with
# the load average, since the figures are only worth what the machine's quiet is.
# Usage: bench/push.sh [ROWS] [REPEATS]
source "$(dirname "$0")/lib.sh"
ROWS=${1:-30000}
REPEATS=${2:-5}
bench_setup
TOKEN=$($MATCTL token create --role admin --name bench 2>/dev/null)
P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"
$P -c "INSERT INTO schools (trust_id, urn, name, phase) VALUES (1, '100001', 'Bench Primary', 'primary') ON CONFLICT DO NOTHING"
make_push_bodies "$ROWS"
echo "# $(date -u +%FT%TZ) $(nproc) cores; $ROWS rows; best of $REPEATS"
ls -l "$BENCH_DIR"/push0.json "$BENCH_DIR"/push0.csv | awk '{printf "  %s %d bytes\n", $9, $5}'

push() { # push FILE CTYPE TERM -> seconds
  curl -s -o /dev/null -w '%{time_total} %{http_code}' --cacert "$BENCH_DIR/tls/ca.crt" -X PUT \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: $2" --data-binary @"$1" \
    "https://localhost:$MATD_PORT/v1/schools/100001/progress/2025-26/$3"
}

best() { sort -n | head -1; }
# Peak RSS of a push: the kernel's high-water mark (VmHWM) is reset to the current RSS before
# each push (writing 5 to clear_refs) and read after it.
hwm_reset() { echo 5 >"/proc/$MATD_PID/clear_refs"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$MATD_PID/status"; }
echo "matd RSS before the pushes: $(awk '/VmRSS/ {print $2}' /proc/$MATD_PID/status) kB"
anchor_copy() { # psql \copy of the same rows in one transaction -> seconds
  local s e
  s=$(date +%s.%N)
  $P >/dev/null <<SQL
BEGIN;
DELETE FROM progress WHERE urn = '100001' AND year = '2025-26' AND term = 'autumn';
\\copy progress (trust_id, urn, year, term, pupil_key, year_group, subject, band, score, attendance_pct, disadvantaged, send, eal, looked_after, sex, prior_attainment) FROM '$BENCH_DIR/push.copy'
COMMIT;
SQL
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
# Rounds interleave the three loads (matd JSON, matd CSV, psql \copy), all replacing the same
# school's autumn set (a load replaces the rows the one before it wrote, and a term's
# aggregate triggers cost the same for all three), in an order that turns each round, so
# that a busy neighbour or a fresh table slows each alike; each figure is the best of its
# REPEATS runs, and the peak RSS the highest of the kind's runs.
rm -f "$BENCH_DIR"/t_json.all "$BENCH_DIR"/t_csv.all "$BENCH_DIR"/t_copy.all "$BENCH_DIR"/hwm_*.all
orders=("json csv copy" "csv copy json" "copy json csv")
for i in $(seq "$REPEATS"); do
  for kind in ${orders[$((i % 3))]}; do
    if [ $kind = copy ]; then
      anchor_copy >>"$BENCH_DIR/t_copy.all"
      continue
    fi
    ctype=application/json; [ $kind = csv ] && ctype=text/csv
    hwm_reset
    out=$(push "$BENCH_DIR/push$((i % 2)).$kind" $ctype autumn)
    [ "${out#* }" = 201 ] || { echo "push failed: $out"; exit 1; }
    echo "${out% *}" >>"$BENCH_DIR/t_$kind.all"
    hwm_kb >>"$BENCH_DIR/hwm_$kind.all"
  done
done
for kind in json csv copy; do
  best <"$BENCH_DIR/t_$kind.all" >"$BENCH_DIR/t_$kind"
done
for kind in json csv; do
  sort -n "$BENCH_DIR/hwm_$kind.all" | tail -1 >"$BENCH_DIR/hwm_$kind"
  awk -v t="$(cat "$BENCH_DIR/t_$kind")" -v n="$ROWS" -v k="$kind" -v h="$(cat "$BENCH_DIR/hwm_$kind")" \
    'BEGIN { printf "matd PUT %-4s  %8.3f s  %9.0f rows/s  peak RSS %.1f MB\n", k, t, n / t, h / 1024 }'
done
t=$(cat "$BENCH_DIR/t_copy")
awk -v t="$t" -v n="$ROWS" 'BEGIN { printf "psql \\copy (anchor) %6.3f s  %9.0f rows/s\n", t, n / t }'
# The wide export through a profile (PUT once), replacing the same school's autumn set as the
# plain pushes did (another term would cost more in the aggregate triggers: its stuck-pupil
# lists read the terms before it).
curl -sf -o /dev/null --cacert "$BENCH_DIR/tls/ca.crt" -X PUT -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" "https://localhost:$MATD_PORT/v1/import-profiles/bench-wide" \
  --data-binary @- <<'JSON'
{"layout": "wide",
 "columns": {"Pupil ID": "pupil", "Year": "year_group", "Gender": "sex",
             "Pupil Premium": "disadvantaged", "EAL": "eal", "Attendance": "attendance_pct"},
 "subject_columns": {"Reading": {"subject": "reading"}, "Writing": {"subject": "writing"},
                     "Maths": {"subject": "maths"}, "Science": {"subject": "science"},
                     "Gps": {"subject": "gps"}, "English": {"subject": "english"}},
 "values": {"year_group": {"Y1": "1", "Y2": "2", "Y3": "3", "Y4": "4", "Y5": "5", "Y6": "6"},
            "sex": {"Female": "f", "Male": "m"},
            "band": {"Below": "below", "Working Towards": "towards", "Expected+": "expected",
                     "Greater Depth": "greater_depth"}},
 "drop": ["Name", "DOB"]}
JSON
ls -l "$BENCH_DIR"/wide0.csv | awk '{printf "  %s %d bytes (wide)\n", $9, $5}'
times=()
for i in $(seq "$REPEATS"); do
  out=$(push "$BENCH_DIR/wide$((i % 2)).csv" text/csv "autumn?profile=bench-wide")
  [ "${out#* }" = 201 ] || { echo "wide push failed: $out"; exit 1; }
  times+=("${out% *}")
done
t=$(printf '%s\n' "${times[@]}" | best)
awk -v t="$t" -v n="$ROWS" 'BEGIN { printf "matd PUT wide csv through a profile %8.3f s  %9.0f rows/s\n", t, n / t }'
awk -v w="$t" -v c="$(cat "$BENCH_DIR/t_csv")" 'BEGIN { printf "ratio wide+profile / plain csv = %.2f\n", w / c }'
rows=$($P -tAc "SELECT count(*) FROM progress WHERE term = 'autumn'")
[ "$rows" = "$ROWS" ] || { echo "the wide push stored $rows rows, not $ROWS"; exit 1; }
echo
echo "| push ($ROWS rows) | matd | psql \\copy | throughput ratio | goal | matd peak RSS | goal |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for kind in csv json; do
  goal=0.8; [ $kind = json ] && goal=0.7
  awk -v a="$(cat "$BENCH_DIR/t_copy")" -v m="$(cat "$BENCH_DIR/t_$kind")" -v k="$kind" -v g="$goal" -v h="$(cat "$BENCH_DIR/hwm_$kind")" \
    'BEGIN { printf "| %s | %.3f s | %.3f s | %.2f | >= %s | %.1f MB | < 64 MB |\n", k, m, a, a / m, g, h / 1024 }'
done
sleep 5
echo "matd RSS 5 s after the last push: $(awk '/VmRSS/ {print $2}' /proc/$MATD_PID/status) kB"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
