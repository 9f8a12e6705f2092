/* A bounded table of counts: rows in arrival order, found through an open-addressing index
 * of twice as many buckets (a flood's every request is one hash and, mostly, one compare). */
#include "tally.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tally {
    size_t max_keys, used;
    size_t nbuckets;        /* a power of two, at least 2 * max_keys */
    unsigned *bucket;       /* row index + 1, 0 = empty */
    struct tally_row *rows; /* max_keys, then the overflow row */
};

struct tally *tally_new(size_t max_keys)
{
    struct tally *t = xcalloc(1, sizeof *t);
    t->max_keys = max_keys ? max_keys : 1;
    t->nbuckets = 2;
    while (t->nbuckets < 2 * t->max_keys)
        t->nbuckets *= 2;
    t->bucket = xcalloc(t->nbuckets, sizeof *t->bucket);
    t->rows = xcalloc(t->max_keys + 1, sizeof *t->rows);
    snprintf(t->rows[t->max_keys].addr, sizeof t->rows[t->max_keys].addr, "*");
    return t;
}

void tally_free(struct tally *t)
{
    if (!t)
        return;
    free(t->bucket);
    free(t->rows);
    free(t);
}

static uint64_t key_hash(const char *addr, long long token_id, int status)
{
    uint64_t h = util_fnv1a(UTIL_FNV_OFFSET, addr); /* the address, then the numbers */
    h = (h ^ (uint64_t)token_id) * UTIL_FNV_PRIME;
    h = (h ^ (uint64_t)(unsigned)status) * UTIL_FNV_PRIME;
    return h ^ (h >> 29);
}

long tally_count(struct tally *t, const char *addr, long long token_id, int status)
{
    size_t mask = t->nbuckets - 1;
    for (size_t i = key_hash(addr, token_id, status) & mask;; i = (i + 1) & mask) {
        if (t->bucket[i] == 0) {
            if (t->used == t->max_keys) {
                t->rows[t->max_keys].count++;
                return 0;
            }
            struct tally_row *row = &t->rows[t->used];
            snprintf(row->addr, sizeof row->addr, "%s", addr);
            row->token_id = token_id;
            row->status = status;
            row->count = 1;
            t->bucket[i] = (unsigned)++t->used;
            return 1;
        }
        struct tally_row *row = &t->rows[t->bucket[i] - 1];
        if (row->status == status && row->token_id == token_id &&
            strncmp(row->addr, addr, sizeof row->addr - 1) == 0)
            return ++row->count;
    }
}

size_t tally_nrows(const struct tally *t)
{
    return t->used + (t->rows[t->max_keys].count > 0);
}

const struct tally_row *tally_row(const struct tally *t, size_t i)
{
    return i < t->used ? &t->rows[i] : &t->rows[t->max_keys];
}

void tally_reset(struct tally *t)
{
    memset(t->bucket, 0, t->nbuckets * sizeof *t->bucket);
    t->used = 0;
    t->rows[t->max_keys].count = 0;
}
