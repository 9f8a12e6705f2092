/* The "pattern" keyword of request-body schemas: a POSIX extended regular expression,
 * with a fast exact matcher for the anchored byte-class sequences our schemas use (UPNs,
 * URNs, years, subject names), which regexec would make the slowest step of a push. */
#ifndef MATD_SCHEMA_PATTERN_H
#define MATD_SCHEMA_PATTERN_H
#include <stdbool.h>
#include <stddef.h>

struct schema_pattern;

/* Compiles source (ERE). Returns owned, or NULL with regcomp's message in err. */
struct schema_pattern *schema_pattern_compile(const char *source, char *err, size_t errlen);
void schema_pattern_free(struct schema_pattern *pt);
/* True when s[0..len) matches (an embedded NUL never does). */
bool schema_pattern_match(const struct schema_pattern *pt, const char *s, size_t len);
/* True when matching takes the fast path rather than regexec. */
bool schema_pattern_is_fast(const struct schema_pattern *pt);
const char *schema_pattern_source(const struct schema_pattern *pt);

#endif
