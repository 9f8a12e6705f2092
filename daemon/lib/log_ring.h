/* A ring of whole log lines between one writing thread and one reading thread, without a
 * lock: the writer appends a line or, when it does not fit, drops it (never waits); the
 * reader takes what is there as at most two spans and releases them when written. */
#ifndef MATD_LOG_RING_H
#define MATD_LOG_RING_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct log_ring {
    char *buf;
    size_t cap;
    atomic_size_t head; /* bytes ever appended (the writer's) */
    atomic_size_t tail; /* bytes ever released (the reader's) */
};

/* What the reader may write: up to two spans (the second when the bytes wrap), whole lines. */
struct log_ring_spans {
    const char *p[2];
    size_t len[2];
    size_t total;
};

/* False when its memory cannot be had (the caller writes its lines another way). */
bool log_ring_init(struct log_ring *r, size_t cap);
void log_ring_free(struct log_ring *r);
/* The writer: appends the line whole, or returns false and appends nothing. */
bool log_ring_push(struct log_ring *r, const char *line, size_t len);
/* The reader: the bytes appended and not yet released. */
void log_ring_peek(struct log_ring *r, struct log_ring_spans *out);
/* The reader: gives back the first n bytes of what peek saw. */
void log_ring_release(struct log_ring *r, size_t n);

#endif
