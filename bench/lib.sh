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
  make_secret "$ROOT/build-release/daemon/matctl" "$BENCH_DIR/trust.secret"
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
  MATCTL="$ROOT/build-release/daemon/matctl -c $BENCH_DIR/matd.conf"
  $MATCTL migrate 2>/dev/null
  ulimit -n "$(ulimit -Hn)"
  "$ROOT/build-release/daemon/matd" -c "$BENCH_DIR/matd.conf" 2>"$BENCH_DIR/matd.log" &
  MATD_PID=$!
  trap 'kill $MATD_PID 2>/dev/null; wait $MATD_PID 2>/dev/null; [ -n "${NGINX_PID:-}" ] && kill $NGINX_PID 2>/dev/null; pg_stop "$BENCH_DIR/pg"' EXIT
  for _ in $(seq 100); do
    curl -sf --cacert "$BENCH_DIR/tls/ca.crt" "https://localhost:$MATD_PORT/readyz" >/dev/null && break
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
wrk_run() {
  local name=$1 url=$2; shift 2
  local out
  out=$(wrk --latency "$@" "$url")
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  printf '%-34s %12s req/s   p99 %s\n' "$name" "$rps" "$p99"
  echo "$rps" >"$BENCH_DIR/last_rps"
}
