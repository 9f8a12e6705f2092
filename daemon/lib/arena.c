/* Chunked bump allocator: chunks double from 4 KiB up to 1 MiB; a request larger than a
 * chunk gets a chunk of its own. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ARENA_FIRST_CHUNK 4096u
#define ARENA_MAX_CHUNK (1024u * 1024u)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct arena_chunk *head;
    size_t total; /* bytes handed out since the last reset */
};

struct arena *arena_new(void)
{
    return xcalloc(1, sizeof(struct arena));
}

static void free_chunks(struct arena_chunk *ch, const struct arena_chunk *keep)
{
    while (ch && ch != keep) {
        struct arena_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    free_chunks(a->head, NULL);
    free(a);
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *first = a->head;
    while (first && first->next)
        first = first->next;
    free_chunks(a->head, first);
    if (first) {
        first->used = 0;
        first->next = NULL;
    }
    a->head = first;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX - align)
        fatal("arena: allocation of %zu bytes", n);
    n = (n + align - 1) / align * align;
    struct arena_chunk *ch = a->head;
    if (!ch || ch->cap - ch->used < n) {
        size_t cap = ch ? ch->cap * 2 : ARENA_FIRST_CHUNK;
        if (cap > ARENA_MAX_CHUNK)
            cap = ARENA_MAX_CHUNK;
        if (cap < n)
            cap = n;
        struct arena_chunk *fresh = xmalloc(sizeof *fresh + cap);
        fresh->used = 0;
        fresh->cap = cap;
        if (ch && cap == n && ch->cap - ch->used >= ARENA_FIRST_CHUNK) {
            /* A large one-off: keep filling the current chunk afterwards. */
            fresh->next = ch->next;
            ch->next = fresh;
            fresh->used = n;
            a->total += n;
            memset(fresh->data, 0, n);
            return fresh->data;
        }
        fresh->next = ch;
        a->head = ch = fresh;
    }
    void *p = (char *)ch->data + ch->used;
    ch->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        fatal("arena_printf: bad format");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t arena_used(const struct arena *a)
{
    return a->total;
}
