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
/* Drops cached entries of a revoked token (this process; others expire by TTL). */
void authn_forget_token(long long token_id);

#endif
