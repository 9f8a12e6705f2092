#!/bin/sh
# Container start: make a self-signed certificate and a trust secret on first run if the
# operator mounted none, then run the command (matd migrates on start by itself).
set -eu
state=/var/lib/matd
if [ ! -f "${MATD_SERVER_TLS_CERT:-/etc/matd/tls/server.crt}" ]; then
  export MATD_SERVER_TLS_CERT="$state/server.crt" MATD_SERVER_TLS_KEY="$state/server.key"
  [ -f "$MATD_SERVER_TLS_CERT" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 825 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$MATD_SERVER_TLS_KEY" -out "$MATD_SERVER_TLS_CERT" 2>/dev/null
fi
if [ ! -f "${MATD_TRUST_SECRET_FILE:-/etc/matd/trust.secret}" ]; then
  export MATD_TRUST_SECRET_FILE="$state/trust.secret"
  [ -f "$MATD_TRUST_SECRET_FILE" ] || (umask 077 && openssl rand -hex 32 >"$MATD_TRUST_SECRET_FILE")
fi
exec "$@"
