/* Route table matching: method + path pattern ("/v1/schools/{urn}/sef/{year}") to a
 * route, with path parameters captured; unknown paths are 404 and known paths with
 * the wrong method are 405 with the Allow list. Pure. */
#ifndef MATD_ROUTER_H
#define MATD_ROUTER_H
#include <stddef.h>

enum http_method {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_POST = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_DELETE = 1 << 5,
    M_OPTIONS = 1 << 6,
};

#define ROUTER_MAX_PARAMS 6

struct route {
    int methods; /* one method per row; several rows may share a pattern */
    const char *pattern;
    const void *data; /* opaque for the caller: handler, limits, ... */
};

struct route_match {
    const struct route *route;
    int nparams;
    const char *names[ROUTER_MAX_PARAMS];
    char *values[ROUTER_MAX_PARAMS]; /* owned, percent-decoded */
    char allow[96];                  /* for 405 */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/* path: the request path without query string. HEAD matches GET rows. A method not served
 * at all (0) matches none: 405 with the path's Allow, or 404. */
enum route_result router_match(const struct route *routes, size_t nroutes, int method,
                               const char *path, struct route_match *out);
void route_match_free(struct route_match *m);
/* Value of a named parameter or NULL. */
const char *route_param(const struct route_match *m, const char *name);
const char *http_method_name(int method);
/* M_* for a method's name (case matters), 0 for one not served. */
int http_method_parse(const char *name);

#endif
