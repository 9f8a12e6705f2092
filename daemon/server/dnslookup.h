/* Asynchronous host name resolution for the database pool, in the manner of pgbouncer's
 * dnslookup.c: libevent's evdns reads the resolver configuration once at start-up, lookups
 * of one name are shared and their answers cached for a bounded time, and nothing here
 * ever waits on the network from an event loop. */
#ifndef MATD_DNSLOOKUP_H
#define MATD_DNSLOOKUP_H
#include <stdbool.h>

struct event_base;
struct dns_ctx;
struct dns_wait;

#define DNS_MAX_ADDRS 4    /* addresses kept per name */
#define DNS_CACHE_MS 30000 /* how long an answer is reused */
#define DNS_MAX_NAMES 16   /* names one context resolves */

/* The answer to one lookup: err is NULL and addrs holds naddrs numeric addresses, or err
 * says why not (naddrs is 0). Everything is borrowed for the duration of the call. */
typedef void (*dns_done_fn)(void *arg, const char *err, const char *const *addrs, int naddrs);

/* Reads $MATD_RESOLV_CONF (else /etc/resolv.conf) and the hosts file; call at start-up.
 * Lookups are driven by a timer on loop while any is in flight. */
struct dns_ctx *dns_ctx_new(struct event_base *loop);
/* Ends every lookup; waiters still registered are dropped without a call. */
void dns_ctx_free(struct dns_ctx *ctx);
/* Resolves name. When the answer is at hand (cached, the hosts file, an immediate error)
 * done runs before this returns and the result is NULL; otherwise done runs later from
 * the loop, and the returned handle may be cancelled (dns_cancel) until then. */
struct dns_wait *dns_lookup(struct dns_ctx *ctx, const char *name, dns_done_fn done, void *arg);
/* The caller no longer wants the answer: done is never called. Frees w. */
void dns_cancel(struct dns_wait *w);
/* Drops a cached answer, so that the next lookup asks again (a connection failed). */
void dns_forget(struct dns_ctx *ctx, const char *name);

#endif
