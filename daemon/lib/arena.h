/* Region allocation: many small allocations that all end together (one request, one
 * priorities list) go in one arena and are released by one arena_free. Like h2o's
 * h2o_mem_pool_t: cheap to allocate, nothing to free one by one, bounded chunk growth.
 * Allocation cannot fail (xmalloc). Not thread-safe: an arena belongs to one owner. */
#ifndef MATD_ARENA_H
#define MATD_ARENA_H
#include <stdarg.h>
#include <stddef.h>

struct arena;

/* Returns an owned, empty arena (its first chunk is made on first use). */
struct arena *arena_new(void);
/* Frees every allocation and the arena; NULL is fine. */
void arena_free(struct arena *a);
/* Releases everything allocated so far but keeps the first chunk for reuse. */
void arena_reset(struct arena *a);
/* n zeroed bytes aligned for any type, alive until arena_free/arena_reset. */
void *arena_alloc(struct arena *a, size_t n);
/* Copies (NUL-terminated); arena_strdup(a, NULL) is NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes handed out since the last reset (for limits and metrics). */
size_t arena_used(const struct arena *a);

#endif
