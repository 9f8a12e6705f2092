/* Reusable connections by address: each address keeps its nodes oldest first, and sits in
 * the level of its count (a list per count, in the order addresses reached it), so adding,
 * removing and finding the victim are O(1) but for one hash lookup on add. */
#include "reusable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REUSABLE_ADDR_LEN 64
/* Levels beyond this share the top one (a cap of a million would otherwise cost 16 MB). */
#define REUSABLE_MAX_LEVELS 4096
#define REUSABLE_MAX_BUCKETS (1u << 16)

struct reusable_addr {
    struct reusable_addr *chain;       /* the index bucket's */
    struct reusable_addr *prev, *next; /* its level's */
    struct reusable_node *oldest, *newest;
    int count;
    int level;
    char name[REUSABLE_ADDR_LEN];
};

struct level {
    struct reusable_addr *first, *last;
};

struct reusable {
    struct reusable_addr **index; /* by address */
    size_t mask;
    uint64_t seed;
    struct level *levels; /* levels[k]: the addresses queuing k (the last: at least k) */
    int nlevels;
    int top; /* the highest level with an address; 0 when nothing is queued */
    int count;
};

struct reusable *reusable_new(int max_per_addr, int expected, uint64_t seed)
{
    struct reusable *r = xcalloc(1, sizeof *r);
    size_t nbuckets = 16;
    while (nbuckets < (size_t)(expected > 0 ? expected : 0) && nbuckets < REUSABLE_MAX_BUCKETS)
        nbuckets *= 2;
    r->index = xcalloc(nbuckets, sizeof *r->index);
    r->mask = nbuckets - 1;
    r->seed = seed;
    r->nlevels = max_per_addr < 1                      ? 2
                 : max_per_addr >= REUSABLE_MAX_LEVELS ? REUSABLE_MAX_LEVELS
                                                       : max_per_addr + 1;
    r->levels = xcalloc((size_t)r->nlevels, sizeof *r->levels);
    return r;
}

void reusable_free(struct reusable *r)
{
    if (!r)
        return;
    for (size_t i = 0; i <= r->mask; i++)
        while (r->index[i]) {
            struct reusable_addr *a = r->index[i];
            r->index[i] = a->chain;
            for (struct reusable_node *n = a->oldest, *next; n; n = next) {
                next = n->next;
                n->prev = n->next = NULL;
                n->addr = NULL;
            }
            free(a);
        }
    free(r->index);
    free(r->levels);
    free(r);
}

static struct reusable_addr **find(struct reusable *r, const char *name)
{
    uint64_t h = r->seed ^ 1469598103934665603ull; /* FNV-1a, keyed */
    for (size_t i = 0; name[i] && i < REUSABLE_ADDR_LEN - 1; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    h ^= h >> 29;
    struct reusable_addr **a = &r->index[h & r->mask];
    while (*a && strncmp((*a)->name, name, REUSABLE_ADDR_LEN - 1) != 0)
        a = &(*a)->chain;
    return a;
}

static void level_unlink(struct reusable *r, struct reusable_addr *a)
{
    struct level *l = &r->levels[a->level];
    if (a->prev)
        a->prev->next = a->next;
    else
        l->first = a->next;
    if (a->next)
        a->next->prev = a->prev;
    else
        l->last = a->prev;
    a->prev = a->next = NULL;
}

/* Moves a to the level of its count (last in it), and keeps top: a count moves by one, so
 * when a's old level was the top and is left empty, the top is the level a moved down to
 * (or nothing, for an address that has left). */
static void relevel(struct reusable *r, struct reusable_addr *a)
{
    int to = a->count < r->nlevels ? a->count : r->nlevels - 1;
    if (to == a->level)
        return;
    int from = a->level;
    if (from > 0)
        level_unlink(r, a);
    a->level = to;
    if (to > 0) {
        struct level *l = &r->levels[to];
        a->prev = l->last;
        if (l->last)
            l->last->next = a;
        else
            l->first = a;
        l->last = a;
    }
    if (to > r->top)
        r->top = to;
    else if (from == r->top && !r->levels[from].first)
        r->top = to;
}

void reusable_add(struct reusable *r, struct reusable_node *n, const char *addr)
{
    struct reusable_addr **slot = find(r, addr);
    struct reusable_addr *a = *slot;
    if (!a) {
        a = xcalloc(1, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", addr);
        *slot = a;
    }
    n->addr = a;
    n->next = NULL;
    n->prev = a->newest;
    if (a->newest)
        a->newest->next = n;
    else
        a->oldest = n;
    a->newest = n;
    a->count++;
    r->count++;
    relevel(r, a);
}

void reusable_remove(struct reusable *r, struct reusable_node *n)
{
    struct reusable_addr *a = n->addr;
    if (!a)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        a->oldest = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        a->newest = n->prev;
    n->prev = n->next = NULL;
    n->addr = NULL;
    a->count--;
    r->count--;
    relevel(r, a);
    if (a->count == 0) {
        struct reusable_addr **slot = find(r, a->name);
        *slot = a->chain;
        free(a);
    }
}

bool reusable_queued(const struct reusable_node *n)
{
    return n->addr != NULL;
}

struct reusable_node *reusable_victim(const struct reusable *r)
{
    return r->top > 0 ? r->levels[r->top].first->oldest : NULL;
}

int reusable_count(const struct reusable *r)
{
    return r->count;
}

const char *reusable_busiest(const struct reusable *r, int *count)
{
    const struct reusable_addr *a = r->top > 0 ? r->levels[r->top].first : NULL;
    *count = a ? a->count : 0;
    return a ? a->name : "";
}
