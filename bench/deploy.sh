#!/usr/bin/env bash
# Briefing and deployment bench: GET /v1/briefing and GET /v1/deployments, cold (the
# priorities recomputed: the data version bumped) and cached, for the priorities bench's
# 60-school trust (30,000 pupils x 6 terms x 6 subjects) with 100 experts.
# Usage: bench/deploy.sh
source "$(dirname "$0")/lib.sh"
source <(sed -n '/^load() {/,/^}/p' "$(dirname "$0")/priorities.sh")
bench_setup
TOKEN=$($MATCTL token create --role ceo --name bench 2>/dev/null)
P="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d bench"
load 60 500 6
$P -c "INSERT INTO experts (trust_id, id, role, name, home_urn, expertise, days_per_term)
       SELECT 1, 'x' || e, (ARRAY['sle','lle','nle','moderator','subject_lead','phase_lead','senco'])[1 + e % 7],
              'Expert ' || e, lpad((200000 + 1 + e % 60)::text, 6, '0'),
              json_build_object('subjects', (ARRAY['[\"writing\"]','[\"maths\",\"reading\"]','[\"science\"]',
                                                  '[\"gps\",\"writing\"]','[\"english\",\"maths\"]'])[1 + e % 5]::json,
                                'sef_areas', '[\"achievement\"]'::json, 'phases', '[]'::json,
                                'groups', (ARRAY['[]','[\"disadvantaged\"]','[\"send\",\"send_support\"]',
                                                 '[\"boys\",\"girls\",\"disadvantaged\"]'])[1 + e % 4]::json),
              2 + e % 6
         FROM generate_series(1, 100) e" >/dev/null

get() { # get PATH: seconds
  curl -s -o /dev/null -w '%{time_total}' --cacert "$BENCH_DIR/tls/ca.crt" \
    -H "Authorization: Bearer $TOKEN" "https://localhost:$MATD_PORT$1"
}
bump() { $P -c "UPDATE trust_data_versions SET version = version + 1" >/dev/null; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
items=$($P -tAc "SELECT count(*) FROM experts")
for path in "/v1/briefing?year=2025-26&term=summer" "/v1/deployments?year=2025-26&term=summer"; do
  bump
  cold=$(get "$path")
  warm="$(get "$path") $(get "$path") $(get "$path")"
  printf '%-42s experts=%s cold=%ss cached=%s s\n' "${path%%\?*}" "$items" "$cold" "$warm"
done
