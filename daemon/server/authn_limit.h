/* The per-address budget of failed credential lookups, and how a credential is checked once
 * its address has spent it. A made-up bearer token or session cookie costs its client address
 * one lookup of the budget; a valid one costs nothing. Past the budget a credential is still
 * checked, never refused unseen, but together with every other one waiting on the worker: one
 * query per worker and kind every AUTHN_BATCH_INTERVAL_MS, however large the flood, so that
 * the flood costs the database a bounded amount and a valid credential presented from the
 * flooded address (a trust's proxy) still gets in. Failures past the budget are 429s with
 * Retry-After. */
#ifndef MATD_AUTHN_LIMIT_H
#define MATD_AUTHN_LIMIT_H
#include <stdbool.h>

struct worker;
struct req;

/* The budget: failed lookups per client address and kind (tokens and sessions apart). */
#define AUTHN_FAILURES_PER_MINUTE 1200
#define AUTHN_FAILURES_BURST 300
/* Past it: the most often one worker checks a kind's waiting credentials, and how many at
 * once (the rest wait for the next batch). */
#define AUTHN_BATCH_INTERVAL_MS 20
#define AUTHN_BATCH_MAX 256

enum authn_kind { AUTHN_KIND_TOKEN, AUTHN_KIND_SESSION };

/* Registers the batch statements; once, before workers start. */
void authn_limit_init(void);

/* Whether the client at addr has failures of kind left in its budget; when not,
 * *retry_after_s (may be NULL) says in how many seconds it will (at least 1). */
bool authn_budget_left(enum authn_kind kind, const char *addr, int *retry_after_s);
/* A credential of kind from addr was looked up and is not valid: charged to the budget. */
void authn_budget_charge(enum authn_kind kind, const char *addr);

enum authn_batch_result {
    AUTHN_BATCH_VALID,
    AUTHN_BATCH_INVALID,
    AUTHN_BATCH_UNKNOWN, /* the database did not answer */
};
struct authn_wait;
/* Checks the credential of kind whose SHA-256 is hash_hex (64 hex digits) in w's next batch:
 * done(arg, result) follows on w's loop, unless the wait is given to authn_batch_cancel
 * first. The wait is freed before done is called. Call only once the schema is ready. */
struct authn_wait *authn_batch_check(struct worker *w, enum authn_kind kind, const char *hash_hex,
                                     void (*done)(void *arg, enum authn_batch_result result),
                                     void *arg);
void authn_batch_cancel(struct authn_wait *wait);
/* The same for request r's credential: valid(r) follows when it is valid (r->hstate as it
 * was); otherwise r is answered, 429 with the budget's Retry-After when it is not valid, 503
 * when the database did not answer. The wait is r->auth_wait meanwhile (req_free cancels
 * it). */
void authn_batch_check_request(struct req *r, enum authn_kind kind, const char *hash_hex,
                               void (*valid)(struct req *r));

/* A worker's batches (w's loop and pool), and their end (before the pool is freed). */
struct authn_batches *authn_batches_new(struct worker *w);
void authn_batches_free(struct authn_batches *b);

#endif
