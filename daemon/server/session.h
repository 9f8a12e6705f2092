/* Web app sessions (SPEC §8): a bearer token pasted once becomes an HttpOnly, Secure,
 * SameSite=Strict cookie naming a random session id; only its SHA-256 is stored, and the
 * session ends with its token. Writes made with the cookie carry a CSRF token. */
#ifndef MATD_SESSION_H
#define MATD_SESSION_H
#include <stdbool.h>

#include "request.h"

#define SESSION_COOKIE "__Host-matd_session"
#define SESSION_CSRF_HEADER "X-CSRF-Token"
#define SESSION_TTL_S (8 * 3600) /* a working day; never beyond the token's own expiry */
#define SESSION_ID_HEX 64        /* 256 random bits */

/* Registers the lookup statement; once, before workers start. */
void session_init(void);

/* Copies r's session cookie (SESSION_ID_HEX hex digits) into id; false when r has none or
 * it is malformed. */
bool session_cookie(const struct req *r, char id[SESSION_ID_HEX + 1]);
/* The same from a Cookie header's value (NULL is fine). */
bool session_cookie_id(const char *cookie_header, char id[SESSION_ID_HEX + 1]);
/* A job looking the session id up: one row (token id, role, name, urns) while it is live. */
struct db_job *session_lookup_job(long long trust, const char *id, db_done_fn done, void *arg);
/* True when r came with a session cookie and no Authorization header: authn hands it here. */
bool session_applies(const struct req *r);
/* Resolves r's session to its token's principal and calls next(r), or answers 401 (no
 * such live session) or 403 (an unsafe method without the session's CSRF token, or from
 * another origin). */
void session_authenticate(struct req *r, void (*next)(struct req *r));

/* A fresh session id (hex); -1 when the CSPRNG fails. */
int session_new_id(char id[SESSION_ID_HEX + 1]);
/* SHA-256 of the id, hex: what the sessions table stores. */
void session_hash_hex(const char *id, char out[65]);
/* The CSRF token of a session: HMAC-SHA256(id, label), hex. Derived, never stored. */
void session_csrf(const char *id, char out[65]);
/* The Set-Cookie value for id with max_age seconds (0 clears the cookie). */
void session_set_cookie(struct req *r, const char *id, long max_age);

#endif
