/* Single writer, single reader: the writer alone moves head and the reader alone moves
 * tail, each publishing with release and reading the other's with acquire, so the bytes
 * between them are complete when seen. */
#include "log_ring.h"

#include <stdlib.h>
#include <string.h>

bool log_ring_init(struct log_ring *r, size_t cap)
{
    r->buf = malloc(cap); /* not xmalloc: out of memory logs, and its line would come here */
    r->cap = cap;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return r->buf != NULL;
}

void log_ring_free(struct log_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

bool log_ring_push(struct log_ring *r, const char *line, size_t len)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (len == 0 || len > r->cap - (head - tail))
        return false;
    size_t at = head % r->cap;
    size_t first = r->cap - at < len ? r->cap - at : len;
    memcpy(r->buf + at, line, first);
    memcpy(r->buf, line + first, len - first);
    atomic_store_explicit(&r->head, head + len, memory_order_release);
    return true;
}

void log_ring_peek(struct log_ring *r, struct log_ring_spans *out)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t n = head - tail, at = tail % r->cap;
    size_t first = r->cap - at < n ? r->cap - at : n;
    out->p[0] = r->buf + at;
    out->len[0] = first;
    out->p[1] = r->buf;
    out->len[1] = n - first;
    out->total = n;
}

void log_ring_release(struct log_ring *r, size_t n)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}
