/* Authentication of a request: bearer token (or verified client certificate) to a
 * principal, through a short-lived in-process cache in front of the tokens table. */
#ifndef MATD_AUTHN_H
#define MATD_AUTHN_H
#include "request.h"

/* Registers the statements; call once before workers start. */
void authn_init(void);
/* Resolves r's credentials; calls next(r) with r->principal set, or answers 401 itself. */
void authn_authenticate(struct req *r, void (*next)(struct req *r));
/* What the cache knows of an Authorization header value, without a lookup: -1 refused
 * (malformed, or a token known to be invalid), 1 a valid token, 0 unknown. */
int authn_peek(const char *authorization);
/* The gate's question about a token on a request head, before its body is read. */
enum authn_probe_result {
    AUTHN_PROBE_REFUSED,   /* malformed, unknown, revoked or expired (cached as such) */
    AUTHN_PROBE_VALID,     /* cached as valid */
    AUTHN_PROBE_LIMITED,   /* not valid, from an address past its budget of failures: 429 */
    AUTHN_PROBE_UNDECIDED, /* no answer (database busy or down): the request layer decides */
    AUTHN_PROBE_PENDING,   /* a lookup was started: done(arg, result) follows */
};
/* Answers from the cache at once, or starts a lookup on w's pool (or, past the address's
 * budget of failed lookups, a batch check: authn_limit.h) and answers PENDING: done(arg,
 * result) follows unless *pending is given to authn_probe_cancel first. */
struct authn_probe;
struct worker;
enum authn_probe_result authn_probe(struct worker *w, const char *client_addr,
                                    const char *authorization,
                                    void (*done)(void *arg, enum authn_probe_result result),
                                    void *arg, struct authn_probe **pending);
/* The same for a web-app session cookie (the Cookie header's value): a lookup each time
 * (sessions send bodies rarely: the app's own small writes). */
enum authn_probe_result authn_probe_session(struct worker *w, const char *client_addr,
                                            const char *cookie,
                                            void (*done)(void *arg, enum authn_probe_result result),
                                            void *arg, struct authn_probe **pending);
void authn_probe_cancel(struct authn_probe *pending);
/* Drops cached entries of a revoked token (this process; others expire by TTL). */
void authn_forget_token(long long token_id);

#endif
