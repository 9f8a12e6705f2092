/* The connection gate: what matd decides about a client before it buffers anything for it.
 * At accept, before any TLS state exists, a client address over its connection cap is
 * closed (and a trusted load balancer's PROXY header names the client). On each request
 * head (conn.c asks before reading a byte of the body), the route's body limit and the
 * presence of a valid credential are checked, so an unauthenticated or oversized body is
 * never buffered: the client gets 401/413 from matd. */
#ifndef MATD_GATE_H
#define MATD_GATE_H
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "http1.h"

struct worker;
struct authn_probe;

/* What the gate answered for a request it refused on its head (status 0: none). */
struct gate_verdict {
    int status;
    int method; /* M_* of the refused request, 0 if unknown */
    char detail[160];
    char path[256];
    char allow[96];  /* a 405's Allow, or empty */
    int retry_after; /* a 429's Retry-After in seconds, or 0 */
};

/* A head waiting for its token's lookup: resume(arg) is called when the answer is in, and
 * the head is then decided again (gate_decide uses the answer once). */
struct gate_hold {
    struct authn_probe *probe; /* the lookup in flight, or NULL */
    bool probed;
    int result; /* enum authn_probe_result */
    void (*resume)(void *arg);
    void *arg;
};

/* gate_decide: the head waits for a token lookup. */
#define GATE_HOLD (-1)

/* Accepts w's connections on the listening socket fd (w->listener): the per-address cap,
 * PROXY headers from trusted balancers, then conn_start. Returns -1 on failure. */
int gate_listen(struct worker *w, int fd);
/* Closes w's connections still waiting for their PROXY header (at exit). */
void gate_close_all(struct worker *w);
/* The connection of a client at addr (counted at accept) has ended. */
void gate_release_addr(const char *addr);
/* The verdict on head h from the client at addr over ssl: 0 to admit it (*limit is then its
 * body limit), GATE_HOLD while its token is looked up (hold), or a status with v filled in
 * (v's path and method are filled in either way). */
int gate_decide(struct worker *w, const char *addr, SSL *ssl, struct gate_hold *hold,
                const struct http1_head *h, struct gate_verdict *v, uint64_t *limit);
/* Drops a held head's lookup (its connection is going). */
void gate_hold_cancel(struct gate_hold *hold);

#endif
