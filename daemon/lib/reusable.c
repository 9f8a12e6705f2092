/* Reusable connections by address: each address keeps its nodes oldest first, and sits in
 * the level of its count (a list per count, in the order addresses reached it), so adding,
 * removing and finding the victim are O(1) but for a hash lookup when an address comes or
 * goes. */
#include "reusable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REUSABLE_ADDR_LEN 64
/* Levels beyond this share the top one (a cap of a million would otherwise cost 16 MB). */
#define REUSABLE_MAX_LEVELS 4096
#define REUSABLE_MAX_BUCKETS (1u << 16)

/* A doubly linked list of links, first to last: an address's nodes, and a level's
 * addresses. */
struct chain {
    struct reusable_link *first, *last;
};

static void chain_append(struct chain *c, struct reusable_link *k)
{
    k->next = NULL;
    k->prev = c->last;
    if (c->last)
        c->last->next = k;
    else
        c->first = k;
    c->last = k;
}

static void chain_unlink(struct chain *c, struct reusable_link *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        c->first = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        c->last = k->prev;
    k->prev = k->next = NULL;
}

struct reusable_addr {
    struct reusable_link link;   /* first: among its level's addresses */
    struct reusable_addr *chain; /* the index bucket's */
    struct chain nodes;          /* oldest first */
    int count;
    int level;
    char name[REUSABLE_ADDR_LEN];
};

struct reusable {
    struct reusable_addr **index; /* by address */
    size_t mask;
    uint64_t seed;
    struct chain *levels; /* levels[k]: the addresses queuing k (the last: at least k) */
    int nlevels;
    int top; /* the highest level with an address; 0 when nothing is queued */
    int count;
};

/* The links are the first members of nodes and addresses. */
static struct reusable_node *node_of(struct reusable_link *k)
{
    return (struct reusable_node *)(void *)k;
}

static struct reusable_addr *addr_of(struct reusable_link *k)
{
    return (struct reusable_addr *)(void *)k;
}

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
            while (a->nodes.first) {
                struct reusable_node *n = node_of(a->nodes.first);
                chain_unlink(&a->nodes, &n->link);
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

/* Moves a to the level of its count (last in it), and keeps top: a count moves by one, so
 * when a's old level was the top and is left empty, the top is the level a moved down to
 * (or nothing, for an address that has left). */
static void relevel(struct reusable *r, struct reusable_addr *a)
{
    int to = a->count < r->nlevels ? a->count : r->nlevels - 1;
    int from = a->level;
    if (to == from)
        return;
    if (from > 0)
        chain_unlink(&r->levels[from], &a->link);
    if (to > 0)
        chain_append(&r->levels[to], &a->link);
    a->level = to;
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
    chain_append(&a->nodes, &n->link);
    a->count++;
    r->count++;
    relevel(r, a);
}

void reusable_remove(struct reusable *r, struct reusable_node *n)
{
    struct reusable_addr *a = n->addr;
    if (!a)
        return;
    chain_unlink(&a->nodes, &n->link);
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

static struct reusable_addr *busiest(const struct reusable *r)
{
    return r->top > 0 ? addr_of(r->levels[r->top].first) : NULL;
}

struct reusable_node *reusable_victim(const struct reusable *r)
{
    struct reusable_addr *a = busiest(r);
    return a ? node_of(a->nodes.first) : NULL;
}

int reusable_count(const struct reusable *r)
{
    return r->count;
}

const char *reusable_busiest(const struct reusable *r, int *count)
{
    const struct reusable_addr *a = busiest(r);
    *count = a ? a->count : 0;
    return a ? a->name : "";
}
