#!/bin/sh
# The architecture's rules, checked on the sources (docs/architecture.md):
#  - daemon/lib (libmat) is pure: no libevent, libpq or TLS headers, no sockets, no files,
#    no stderr/stdout; the programs install what it needs (daemon/platform).
#  - handlers reach HTTP and libpq only through the request layer (server/request.h).
# Usage: purity_check.sh DAEMON_DIR. Prints every offending line; exits 1 if any.
set -u
dir=${1:?usage: purity_check.sh DAEMON_DIR}
status=0

check() { # check FOLDER WHAT REGEX
    hits=$(grep -rnE --include='*.c' --include='*.h' "$3" "$dir/$1" 2>/dev/null)
    if [ -n "$hits" ]; then
        printf '%s\n' "$hits" | sed "s|^$dir/|daemon/|; s|\$|   <- $2|"
        status=1
    fi
}

[ -d "$dir/lib" ] || { echo "no $dir/lib" >&2; exit 2; }
check lib "libevent in the core" '#[[:space:]]*include[[:space:]]*[<"]event2?/'
check lib "libpq in the core" '#[[:space:]]*include[[:space:]]*[<"](libpq-fe|libpq/|postgres)'
check lib "TLS in the core" '#[[:space:]]*include[[:space:]]*[<"]openssl/(ssl|bio|tls1|x509)\.h'
check lib "sockets in the core" '#[[:space:]]*include[[:space:]]*[<"](sys/socket|netinet/|arpa/inet|netdb)\.?'
check lib "a file opened by the core" '(^|[^_a-z])(fopen|freopen|fdopen|opendir|open|openat)[[:space:]]*\('
check lib "stderr/stdout written by the core" '(^|[^_a-z])(stderr|stdout)([^_a-z]|$)|(^|[^_a-z])(printf|puts|perror|fputs|fwrite|write)[[:space:]]*\('
check handlers "libevent outside the request layer" '#[[:space:]]*include[[:space:]]*[<"]event2?/|(^|[^_a-z])(evhttp|evbuffer|bufferevent)_[a-z_]+[[:space:]]*\('
check handlers "libpq outside the request layer" '#[[:space:]]*include[[:space:]]*[<"]libpq|(^|[^_a-zA-Z])PQ[a-zA-Z]+[[:space:]]*\('

[ $status -eq 0 ] && echo "purity: daemon/lib is pure; handlers use the request layer"
exit $status
