#!/usr/bin/env bash
# Rota planner bench (Release build, no sanitizers, no database). With no arguments, these runs:
#  1. the longest repeat-free run for N = 6..60 against the SPEC targets, planner and greedy
#     baseline timed in the same run;
#  2. one plan of target + 3 terms per N (the run must survive planning past it);
#  3. target + 1 terms planned one call at a time, each given every earlier term as history
#     (as the scheduler drafts): the run reached and the time of all the calls;
#  4. plans after history, as `matctl rota plan` makes them (default options, recognition on):
#     a county trust's year after nine random past terms (searched), its next year given those
#     and the planner's own year (recognised: continued, the same terms as one plan of both),
#     a second year given only the first, and the planner's own year after nine hand-made terms
#     hosted as the hosting cycle has it (continued) (--history), with wall / CPU ms, N = 6..60;
#  5. 200 schools x 12 terms with the default soft constraints (under 10 s);
#  6. the soft constraints on a realistic trust, planner beside the greedy baseline: 24
#     schools for a year (3 terms), for the cycle (11) and 36 schools for two years (6);
#  7. the same in one table for fifteen sizes and horizons (--soft-all), again with travel
#     weighed as SPEC's example input does (1.0 per km, --travel 1), for fourteen sizes a
#     year long with groups of four (--soft-all --cases), and for the larger trusts (33 to 57
#     schools: where the planner's first year stays above greedy's, docs/rota.md).
# --portfolio (alone): on the --soft-all rows, what keeping greedy's plan where it is cheaper
#   over the terms asked for would cost the cycle's repeat-free run (docs/rota.md).
# With arguments, one run of rota_bench: [--from N] [--to N] [--seed S] [--budget-ms MS]
#   [--search-only] [--three-groups] [--horizon K] [--term-by-term] [--history] [--big N:T]
#   [--soft N:T] [--soft-all [--cases N:T,...] [--travel W]] [--dump] [--dump-no-history]
#   [--portfolio] [--store N] [--threads K]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ROTA_BENCH_BUILD:-$ROOT/build-rota-release}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMATD_LIB_ONLY=ON -DBUILD_TESTING=OFF \
  >/dev/null
cmake --build "$BUILD" --target rota_bench -j1 >/dev/null
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $# -gt 0 ]; then
  exec "$BUILD/rota_bench" "$@"
fi
rc=0
echo "## Repeat-free run for the target"
"$BUILD/rota_bench" || rc=1
echo; echo "## One plan of target + 3 terms"
"$BUILD/rota_bench" --horizon 3 || rc=1
echo; echo "## Term by term, target + 1 terms"
"$BUILD/rota_bench" --term-by-term || rc=1
echo; echo "## After history (matctl's options): nine random terms, then the planner's own year"
"$BUILD/rota_bench" --history || rc=1
echo; echo "## 200 schools x 12 terms"
"$BUILD/rota_bench" --big 200:12 || rc=1
for nt in 24:3 24:11 36:6; do
  echo; echo "## Soft constraints, planner and greedy: $nt"
  "$BUILD/rota_bench" --soft "$nt" || rc=1
done
echo; echo "## Soft constraints, planner and greedy, fifteen trusts"
"$BUILD/rota_bench" --soft-all || rc=1
echo; echo "## The same, travel weighed 1.0 per km (SPEC's example input)"
"$BUILD/rota_bench" --soft-all --travel 1 || rc=1
echo; echo "## Soft constraints, planner and greedy, a year of fourteen trusts with groups of four"
"$BUILD/rota_bench" --soft-all \
  --cases 13:3,16:3,19:3,20:3,22:3,23:3,25:3,26:3,28:3,29:3,31:3,32:3,35:3,40:3 || rc=1
echo; echo "## Soft constraints, planner and greedy, the larger trusts (a year, and two of 42 and 48)"
"$BUILD/rota_bench" --soft-all --cases 33:3,39:3,42:3,48:3,51:3,54:3,57:3,42:6,48:6 || rc=1
exit $rc
