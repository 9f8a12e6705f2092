/* The bounded cache of rendered priorities views: every filtered or scoped answer of the
 * priorities routes (a filter of the query string, a school's or an executive head's view,
 * JSON or CSV) rendered and compressed once per data version, keyed by (year, term, data
 * version, normalised view), with caps on entries and bytes and least-recently-used
 * eviction. A newer data version of a (year, term) drops the older one's entries. */
#ifndef MATD_H_PRIORITIES_VIEWS_H
#define MATD_H_PRIORITIES_VIEWS_H
#include <stddef.h>

#include "rendered.h"

#define PRIO_VIEWS_MAX_ENTRIES 256
#define PRIO_VIEWS_MAX_BYTES (64u << 20)

/* A held reference to the cached view, or NULL. */
struct rendered *prio_views_get(const char *year, const char *term, long long version,
                                const char *key);
/* Caches x (adding its own reference) unless it is over the byte cap alone, and returns
 * the view to serve, held: x, or the equal entry another request cached first. */
struct rendered *prio_views_put(const char *year, const char *term, long long version,
                                const char *key, struct rendered *x);

#endif
