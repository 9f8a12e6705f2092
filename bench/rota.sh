#!/usr/bin/env bash
# Rota planner bench: the longest repeat-free run for N = 6..60 against the SPEC targets,
# planner and greedy baseline timed in the same run (Release build, no sanitizers, no
# database). Usage: bench/rota.sh [--from N] [--to N] [--seed S] [--budget-ms MS]
#                                   [--search-only]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ROTA_BENCH_BUILD:-$ROOT/build-rota-release}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMATD_LIB_ONLY=ON -DBUILD_TESTING=OFF \
  >/dev/null
cmake --build "$BUILD" --target rota_bench -j2 >/dev/null
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -m)"
"$BUILD/rota_bench" "$@"
