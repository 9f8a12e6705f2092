/* Segment-by-segment route matching with {name} captures. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Decodes %XX; returns NULL for a malformed escape or an encoded NUL or slash. */
static char *percent_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[j++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        int c = hi * 16 + lo;
        if (hi < 0 || lo < 0 || c == 0 || c == '/') {
            free(out);
            return NULL;
        }
        out[j++] = (char)c;
        i += 2;
    }
    out[j] = '\0';
    return out;
}

/* Matches one pattern; on success fills params. */
static int match_pattern(const char *pattern, const char *path, struct route_match *m)
{
    const char *p = pattern, *q = path;
    m->nparams = 0;
    while (*p && *q) {
        if (*p != '/' || *q != '/')
            return 0;
        p++, q++;
        const char *pend = strchr(p, '/');
        const char *qend = strchr(q, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t qlen = qend ? (size_t)(qend - q) : strlen(q);
        if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (qlen == 0 || m->nparams >= ROUTER_MAX_PARAMS)
                return 0;
            char *v = percent_decode(q, qlen);
            if (!v)
                return 0;
            m->names[m->nparams] = p + 1; /* points into pattern; length up to '}' */
            m->values[m->nparams] = v;
            m->nparams++;
        } else if (plen != qlen || memcmp(p, q, plen) != 0) {
            return 0;
        }
        p += plen;
        q += qlen;
    }
    return *p == '\0' && *q == '\0';
}

void route_match_free(struct route_match *m)
{
    for (int i = 0; i < m->nparams; i++)
        free(m->values[i]);
    m->nparams = 0;
}

const char *http_method_name(int method)
{
    switch (method) {
    case M_GET:
        return "GET";
    case M_HEAD:
        return "HEAD";
    case M_POST:
        return "POST";
    case M_PUT:
        return "PUT";
    case M_PATCH:
        return "PATCH";
    case M_DELETE:
        return "DELETE";
    case M_OPTIONS:
        return "OPTIONS";
    }
    return "?";
}

int http_method_parse(const char *name)
{
    static const int methods[] = {M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(name, http_method_name(methods[i])) == 0)
            return methods[i];
    return 0;
}

enum route_result router_match(const struct route *routes, size_t nroutes, int method,
                               const char *path, struct route_match *out)
{
    memset(out, 0, sizeof *out);
    int allowed = 0;
    int want = method == M_HEAD ? M_GET : method;
    for (size_t i = 0; i < nroutes; i++) {
        struct route_match m;
        memset(&m, 0, sizeof m);
        if (!match_pattern(routes[i].pattern, path, &m)) {
            route_match_free(&m);
            continue;
        }
        allowed |= routes[i].methods;
        if (routes[i].methods & want) {
            *out = m;
            out->route = &routes[i];
            return ROUTE_FOUND;
        }
        route_match_free(&m);
    }
    if (!allowed)
        return ROUTE_NOT_FOUND;
    if (allowed & M_GET)
        allowed |= M_HEAD;
    static const int order[] = {M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE};
    size_t len = 0;
    for (size_t i = 0; i < ARRAY_LEN(order); i++)
        if (allowed & order[i]) {
            const char *name = http_method_name(order[i]);
            size_t n = strlen(name);
            if (len + n + 3 >= sizeof out->allow)
                break;
            if (len) {
                memcpy(out->allow + len, ", ", 2);
                len += 2;
            }
            memcpy(out->allow + len, name, n);
            len += n;
        }
    out->allow[len] = '\0';
    return ROUTE_METHOD_NOT_ALLOWED;
}

const char *route_param(const struct route_match *m, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < m->nparams; i++)
        if (strncmp(m->names[i], name, n) == 0 && m->names[i][n] == '}')
            return m->values[i];
    return NULL;
}
