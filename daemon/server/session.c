/* Cookie sessions for the web app. The cookie carries 256 random bits; the table holds
 * their SHA-256, tied to the token that signed in, so revoking the token (or its expiry)
 * ends every session made from it on the next request. No cache: a session lookup is one
 * indexed statement, and sign-out takes effect at once on every instance. */
#include "session.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authn_limit.h"
#include "http_server.h"
#include "util.h"

#define CSRF_LABEL "matd csrf v1"

static int stmt_lookup;

void session_init(void)
{
    /* The token must still be live; last use is recorded at most once a minute. */
    stmt_lookup = db_stmt_register(
        "session_lookup",
        "WITH s AS (SELECT s.id AS sid, t.id, t.role, t.name, array_to_string(t.urns, ',') urns "
        " FROM sessions s JOIN tokens t ON t.trust_id = s.trust_id AND t.id = s.token_id "
        " WHERE s.trust_id = $1 AND s.session_hash = decode($2, 'hex') AND s.ended_at IS NULL "
        " AND s.expires_at > now() AND t.revoked_at IS NULL "
        " AND (t.expires_at IS NULL OR t.expires_at > now())), "
        "touch AS (UPDATE sessions SET last_used_at = now() WHERE trust_id = $1 "
        " AND id = (SELECT sid FROM s) AND (last_used_at IS NULL "
        " OR last_used_at < now() - interval '1 minute')) "
        "SELECT id, role, name, urns FROM s");
}

static bool is_hex_id(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool session_cookie(const struct req *r, char id[SESSION_ID_HEX + 1])
{
    return session_cookie_id(req_header(r, "Cookie"), id);
}

bool session_cookie_id(const char *h, char id[SESSION_ID_HEX + 1])
{
    const size_t nlen = strlen(SESSION_COOKIE);
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, SESSION_COOKIE, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t n = strcspn(v, "; ");
            if (n != SESSION_ID_HEX || !is_hex_id(v, n))
                return false;
            memcpy(id, v, n);
            id[n] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

bool session_applies(const struct req *r)
{
    return req_header(r, "Authorization") == NULL && req_header(r, "Cookie") != NULL &&
           strstr(req_header(r, "Cookie"), SESSION_COOKIE "=") != NULL;
}

int session_new_id(char id[SESSION_ID_HEX + 1])
{
    unsigned char raw[SESSION_ID_HEX / 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    hex_encode(raw, sizeof raw, id);
    return 0;
}

void session_hash_hex(const char *id, char out[65])
{
    sha256_hex(id, strlen(id), out);
}

void session_csrf(const char *id, char out[65])
{
    unsigned char mac[32];
    unsigned int len = sizeof mac;
    HMAC(EVP_sha256(), id, (int)strlen(id), (const unsigned char *)CSRF_LABEL, strlen(CSRF_LABEL),
         mac, &len);
    hex_encode(mac, sizeof mac, out);
}

void session_set_cookie(struct req *r, const char *id, long max_age)
{
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; Secure; SameSite=Strict",
             SESSION_COOKIE, max_age > 0 ? id : "", max_age > 0 ? max_age : 0);
    req_set_header(r, "Set-Cookie", v);
}

static bool is_unsafe(int method)
{
    return method != M_GET && method != M_HEAD && method != M_OPTIONS;
}

/* An unsafe request made with the cookie must come from our own pages: the Origin (when
 * the browser sends one) is this host, and the CSRF token derived from the session id is
 * in its header. SameSite=Strict already keeps the cookie off cross-site requests. */
static const char *csrf_refusal(const struct req *r, const char *id)
{
    if (!is_unsafe(r->method))
        return NULL;
    const char *origin = req_header(r, "Origin");
    const char *host = req_header(r, "Host");
    if (origin && (!host || strncmp(origin, "https://", 8) != 0 || strcmp(origin + 8, host) != 0))
        return "a write with a session cookie must come from this site's own pages";
    const char *sent = req_header(r, SESSION_CSRF_HEADER);
    char want[65];
    session_csrf(id, want);
    if (!sent || strlen(sent) != 64 || !ct_equal(sent, want, 64))
        return "a write with a session cookie needs the session's " SESSION_CSRF_HEADER " header";
    return NULL;
}

struct session_state {
    void (*next)(struct req *r);
    char id[SESSION_ID_HEX + 1];
};

static void on_lookup(struct req *r, struct db_job *job)
{
    struct session_state *st = r->hstate;
    void (*next)(struct req *) = st->next;
    char id[SESSION_ID_HEX + 1];
    memcpy(id, st->id, sizeof id);
    free(st);
    r->hstate = NULL;
    r->hstate_free = NULL;
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    struct principal *p = &r->principal;
    char err[128];
    if (db_nrows(res) != 1)
        authn_budget_charge(AUTHN_KIND_SESSION, r->client_addr);
    if (db_nrows(res) != 1 || role_parse(db_val(res, 0, 1), &p->role) != 0 ||
        principal_set_urns(p, db_val(res, 0, 3), err, sizeof err) != 0) {
        req_reply_problem(r, 401, "the session has ended or expired; sign in again", NULL);
        return;
    }
    p->token_id = atoll(db_val(res, 0, 0));
    utf8_copy(p->name, sizeof p->name, db_val(res, 0, 2));
    r->authenticated = true;
    const char *refusal = csrf_refusal(r, id);
    if (refusal) {
        req_reply_problem(r, 403, refusal, NULL);
        return;
    }
    next(r);
}

struct db_job *session_lookup_job(long long trust, const char *id, db_done_fn done, void *arg)
{
    char trust_s[24], hash[65];
    snprintf(trust_s, sizeof trust_s, "%lld", trust);
    session_hash_hex(id, hash);
    const char *params[2] = {trust_s, hash};
    struct db_job *job = db_job_new(done, arg);
    db_job_add(job, stmt_lookup, 2, params);
    return job;
}

static void lookup_start(struct req *r, struct session_state *st)
{
    char hash[65];
    session_hash_hex(st->id, hash);
    const char *params[2] = {req_trust_str(r), hash};
    r->hstate = st;
    r->hstate_free = free;
    req_submit_one(r, stmt_lookup, 2, params, on_lookup);
}

/* A cookie presented past its address's budget, found live by the batch (authn_limit.h). */
static void on_checked_valid(struct req *r)
{
    lookup_start(r, r->hstate);
}

void session_authenticate(struct req *r, void (*next)(struct req *r))
{
    struct session_state *st = xcalloc(1, sizeof *st);
    st->next = next;
    if (!session_cookie(r, st->id)) {
        free(st);
        req_reply_problem(r, 401, "the session cookie is malformed; sign in again", NULL);
        return;
    }
    /* Past the address's budget of failed lookups, checked with the others in a batch:
     * a flood of made-up cookies costs one query per batch, a live session still gets in. */
    if (!authn_budget_left(AUTHN_KIND_SESSION, r->client_addr, NULL) &&
        atomic_load(&r->w->server->schema_ready)) {
        char hash[65];
        session_hash_hex(st->id, hash);
        r->hstate = st;
        r->hstate_free = free;
        authn_batch_check_request(r, AUTHN_KIND_SESSION, hash, on_checked_valid);
        return;
    }
    lookup_start(r, st);
}
