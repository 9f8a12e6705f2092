#!/usr/bin/env bash
# matd developer entry point. Two commands matter (see README):
#   scripts/dev.sh demo   build, start a private PostgreSQL + matd on https://localhost:8443
#   scripts/dev.sh test   build with ASan+UBSan, start a throwaway PostgreSQL, run ctest
# Both install missing Debian packages (as root) and need nothing else.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEV="$ROOT/.dev"
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
APT_PACKAGES=(build-essential cmake pkg-config libevent-dev libpq-dev libjansson-dev libssl-dev
  libcmocka-dev libinih-dev libcsv-dev libsystemd-dev libxml2-dev libcurl4-openssl-dev
  zlib1g-dev libbrotli-dev libmimalloc-dev
  postgresql-15 postgresql-client-15
  python3 python3-yaml python3-jsonschema python3-seccomp curl openssl ca-certificates docker-compose
  clang libclang-rt-14-dev systemd prometheus
  nodejs chromium poppler-utils fonts-dejavu-core)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  # Install the server binaries without letting the package start a system cluster.
  mkdir -p /usr/sbin
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' RETURN
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

web_deps() { # the browser test's tools: npm (Debian ships it apart from nodejs) and the
  # packages web/package-lock.json pins (playwright-core drives Debian's chromium; axe-core)
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "npm is missing (apt-get install npm)" >&2; exit 1; }
    apt-get install -y -q --no-install-recommends npm >/dev/null
  fi
  local lock="$ROOT/web/node_modules/.package-lock.json"
  if [ ! -f "$lock" ] || [ "$ROOT/web/package-lock.json" -nt "$lock" ]; then
    say "installing the web app's test tools (npm ci in web/)"
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

build() { # build DIR [cmake args...]; the compiler's output is shown only on failure
  local dir=$1; shift
  mkdir -p "$dir"
  if ! { cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" &&
         cmake --build "$dir" -j"$(nproc)"; } >"$dir/build.log" 2>&1; then
    cat "$dir/build.log" >&2
    echo "build failed (log: $dir/build.log)" >&2
    return 1
  fi
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to 'postgres'.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() { # pg_start DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=400 -c shared_buffers=256MB" start >/dev/null
}

pg_stop() { # pg_stop DIR
  [ -f "$1/data/postmaster.pid" ] && as_pg "$PG_BINDIR/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}

make_certs() { # make_certs DIR
  local d=$1
  [ -f "$d/server.crt" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=matd development CA" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 825 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
  # A client certificate for a school system (client-certificate authentication tests).
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=school-100001/O=matd dev" \
    -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.cnf"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 825 -extfile "$d/client.cnf" -out "$d/client.crt" 2>/dev/null
  chmod 600 "$d"/*.key
}

make_secret() { # make_secret MATCTL FILE: 32 random bytes, mode 600 (matd refuses less)
  [ -f "$2" ] || "$1" secret init "$2"
  chmod 600 "$2"
}

run_fuzzers() { # builds every libFuzzer target with clang and runs each on its seed corpus
  local dir="$ROOT/build-fuzz" secs=${MATD_FUZZ_SECONDS:-8} f name out
  say "fuzzing: every parser for ${secs} s on its seed corpus (clang, libFuzzer, ASan)"
  CC=clang build "$dir" -DMATD_FUZZ=ON -DMATD_SANITIZE=ON -DMATD_LIB_ONLY=ON -DBUILD_TESTING=OFF
  for f in "$dir"/tests/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=${f##*/fuzz_}
    out=$(mktemp -d)
    local dict=()
    [ -f "$ROOT/tests/fuzz/$name.dict" ] && dict=(-dict="$ROOT/tests/fuzz/$name.dict")
    # The corpus in the tree is the seed; what the run finds goes to a scratch folder.
    if ! (cd "$out" && "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=0 "${dict[@]}" "$out" "$ROOT/tests/fuzz/corpus/$name") >"$out/log" 2>&1; then
      tail -40 "$out/log" >&2
      echo "fuzz_$name found a crash (inputs in $out)" >&2
      return 1
    fi
    echo "fuzz_$name: $(grep -o 'Done [0-9]* runs' "$out/log" || echo ran)" >&2
    rm -rf "$out"
  done
}

cmd_test() {
  install_deps
  web_deps
  say "building (ASan + UBSan, warnings are errors)"
  build "$ROOT/build-asan" -DMATD_SANITIZE=ON
  local tmp
  tmp=$(mktemp -d /tmp/matd-test.XXXXXX)
  chmod 755 "$tmp"
  local port=$((20000 + RANDOM % 20000))
  trap "pg_stop '$tmp/pg'; rm -rf '$tmp'" EXIT
  say "starting throwaway PostgreSQL on 127.0.0.1:$port"
  pg_start "$tmp/pg" "$port"
  make_certs "$tmp/tls"
  make_secret "$ROOT/build-asan/matctl" "$tmp/trust.secret"
  export MATD_TEST_PGHOST=127.0.0.1 MATD_TEST_PGPORT=$port MATD_TEST_PGUSER=postgres
  export MATD_TEST_TLS="$tmp/tls" MATD_TEST_SECRET="$tmp/trust.secret" MATD_TEST_TMP="$tmp"
  export MATD_TEST_PG_BINDIR="$PG_BINDIR"
  [ "$(id -u)" -eq 0 ] && export MATD_TEST_PG_RUNAS=postgres
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  say "running tests"
  (cd "$ROOT/build-asan" && ctest --output-on-failure -j2 "$@")
  # A targeted run (ctest arguments given) skips these; the full run has them.
  if [ $# -eq 0 ]; then
    run_release_e2e
    run_fuzzers
  fi
}
run_release_e2e() { # the build that ships (Release, mimalloc) through the e2e tests that load it most
  local dir="$ROOT/build-release" t
  say "the release build (the one bench/ and the Dockerfile use) through the request path's e2e tests"
  build "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
  for t in foundation hostile progress operations priorities resilience packaging; do
    MATD_BIN="$dir/matd" MATCTL_BIN="$dir/matctl" MATD_SOURCE_DIR="$ROOT" \
      MATD_TEST_ALLOCATOR=mimalloc PYTHONPATH="$ROOT/tests/e2e" \
      python3 "$ROOT/tests/e2e/test_$t.py" >"$dir/e2e_$t.log" 2>&1 ||
      { tail -60 "$dir/e2e_$t.log" >&2; echo "release build: test_$t failed" >&2; return 1; }
    echo "release build: test_$t $(tail -1 "$dir/e2e_$t.log")" >&2
  done
}

cmd_demo() {
  install_deps
  say "building"
  build "$ROOT/build"
  mkdir -p "$DEV"
  chmod 755 "$DEV"
  local port=54329
  pg_start "$DEV/pg" "$port"
  trap "kill \${MATD_PID:-0} 2>/dev/null; wait \${MATD_PID:-0} 2>/dev/null; pg_stop '$DEV/pg'; echo; echo 'stopped matd and PostgreSQL'" EXIT
  trap "exit 0" INT TERM
  make_certs "$DEV/tls"
  make_secret "$ROOT/build/matctl" "$DEV/trust.secret"
  psql -h 127.0.0.1 -p $port -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='matd'" | grep -q 1 ||
    psql -h 127.0.0.1 -p $port -U postgres -qc "CREATE DATABASE matd" >/dev/null
  cat >"$DEV/matd.conf" <<CONF
[server]
listen = 127.0.0.1:8443
tls_cert = $DEV/tls/server.crt
tls_key = $DEV/tls/server.key
[database]
dsn = host=127.0.0.1 port=$port user=postgres dbname=matd
[trust]
name = Demo Learning Trust
secret_file = $DEV/trust.secret
[log]
level = info
CONF
  local ctl="$ROOT/build/matctl -c $DEV/matd.conf"
  say "applying migrations"
  $ctl migrate
  if $ctl demo load 2>"$DEV/demo.log"; then say "demo trust loaded"; else
    grep -q "already" "$DEV/demo.log" && say "demo trust already loaded" || cat "$DEV/demo.log" >&2; fi
  local token
  token=$($ctl token create --role admin --name "demo admin")
  "$ROOT/build/matd" -c "$DEV/matd.conf" &
  MATD_PID=$!
  for _ in $(seq 50); do curl -sf --cacert "$DEV/tls/ca.crt" https://localhost:8443/healthz >/dev/null && break; sleep 0.1; done
  cat <<MSG

matd is running on https://localhost:8443 (Ctrl-C stops matd and PostgreSQL)

Admin token (shown once): $token

  curl --cacert $DEV/tls/ca.crt -H "Authorization: Bearer $token" https://localhost:8443/v1/me
  curl --cacert $DEV/tls/ca.crt -H "Authorization: Bearer $token" https://localhost:8443/v1/schools
  curl --cacert $DEV/tls/ca.crt -H "Authorization: Bearer $token" 'https://localhost:8443/v1/priorities?year=2025-26&term=spring'

The web app: open https://localhost:8443/ and paste the admin token above to sign in.
(The certificate is from the development CA $DEV/tls/ca.crt: import it in the browser, or accept the warning.)

MSG
  wait "$MATD_PID"
}

case "${1:-}" in
  demo) shift; cmd_demo "$@" ;;
  test) shift; cmd_test "$@" ;;
  deps) install_deps ;;
  build) install_deps; build "$ROOT/build" ;;
  *) echo "usage: scripts/dev.sh demo|test|deps|build" >&2; exit 2 ;;
esac
