/* A worker's connections that are doing nothing useful yet (in the TLS handshake, or waiting
 * for the first byte of a request), grouped by client address, so that a worker at its
 * connection budget can close the oldest one of the address that holds the most of them to
 * take a newcomer: nginx's reusable connections, made fair between addresses. */
#ifndef MATD_REUSABLE_H
#define MATD_REUSABLE_H
#include <stdbool.h>
#include <stdint.h>

struct reusable_addr;

struct reusable_link {
    struct reusable_link *prev, *next;
};

/* Embedded in what is queued (a connection). Zeroed, it is not queued. */
struct reusable_node {
    struct reusable_link link;  /* first: among its address's, oldest first */
    struct reusable_addr *addr; /* NULL: not queued */
};

struct reusable;

/* Returns owned. max_per_addr: the most one address is expected to queue (the per-address
 * connection cap); addresses queuing more still work, ranked as tied at that many.
 * expected: about how many will be queued at most (sizes the address index). seed: keys the
 * address hash, so that clients cannot choose addresses that collide. */
struct reusable *reusable_new(int max_per_addr, int expected, uint64_t seed);
/* Frees r; any node still queued is left not queued. */
void reusable_free(struct reusable *r);
/* Queues n (not queued) as the newest of addr's; addr is copied (its first 63 bytes). */
void reusable_add(struct reusable *r, struct reusable_node *n, const char *addr);
/* Takes n out of the queue; nothing when it is not queued. */
void reusable_remove(struct reusable *r, struct reusable_node *n);
bool reusable_queued(const struct reusable_node *n);
/* The node to close first: the oldest of the address queuing the most (of addresses tied
 * for the most, the one that has been at that count longest, so ties take turns); NULL
 * when none is queued. It stays queued. */
struct reusable_node *reusable_victim(const struct reusable *r);
/* How many nodes are queued, all addresses. */
int reusable_count(const struct reusable *r);
/* The address of the next victim and how many nodes it queues ("" and 0 when none). */
const char *reusable_busiest(const struct reusable *r, int *count);

#endif
