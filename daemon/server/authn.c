/* Token lookup: SHA-256 of the bearer value, cached for AUTHN_CACHE_MS (one cache per
 * worker thread, no shared lock) so that a busy client costs no database round trip per
 * request; revocation in this process purges every worker's cache before its next lookup,
 * other instances within the TTL. A credential in use is looked up again in the background
 * once AUTHN_REFRESH_PCT of its entry's life has passed, while requests are still answered
 * from the entry: a busy client's requests never wait on the database (a push holding
 * PostgreSQL's CPU made those lookups, every 5 s per worker, the readers' worst tail). */
#include "authn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "authn_limit.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "conn.h"
#include "tls.h"
#include "util.h"

#define AUTHN_CACHE_MS 5000
#define AUTHN_REFRESH_PCT 60
#define CACHE_SLOTS 4096
#define REFUSED_TOKEN "the token is invalid, expired or revoked"
#define REFUSED_CERT "the client certificate is not registered to an active principal"

struct cache_entry {
    bool used;
    bool known_good; /* was valid once: exempt from the per-address lookup limit */
    bool denied;     /* a negative entry: this hash is no valid token */
    unsigned char hash[AUTH_HASH_LEN];
    bool refreshing; /* a background lookup is on its way (cleared when it lands) */
    struct principal p;
    uint64_t refresh_ms; /* a request after this starts the background lookup */
    uint64_t expires_ms; /* after this the entry answers nothing: a request waits */
};

/* One cache per worker thread: a request's lookup takes no lock shared with another
 * worker. A revocation (authn_forget_token, on whichever worker serves it) is published as
 * a generation number and a ring of the revoked token ids; each cache applies the ones it
 * has not seen before its next lookup, so no worker serves a revoked token after the
 * revocation's reply. */
#define REVOKED_RING 256

struct authn_cache {
    struct cache_entry slot[CACHE_SLOTS];
    unsigned long long seen; /* revocations applied */
    struct authn_cache *next;
};

static _Thread_local struct authn_cache *own_cache;
static struct authn_cache *all_caches; /* under revoke_lock; never freed (one per thread) */
static pthread_mutex_t revoke_lock = PTHREAD_MUTEX_INITIALIZER;
static long long revoked[REVOKED_RING]; /* under revoke_lock */
static atomic_ullong revoke_gen;

static void forget_in(struct authn_cache *c, long long token_id, bool all)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_entry *e = &c->slot[i];
        if (e->used && !e->denied && (all || e->p.token_id == token_id)) {
            principal_free(&e->p);
            e->used = false;
            e->known_good = false;
        }
    }
}

/* The calling thread's cache, with every revocation published so far applied. */
static struct authn_cache *my_cache(void)
{
    struct authn_cache *c = own_cache;
    if (!c) {
        c = xcalloc(1, sizeof *c);
        pthread_mutex_lock(&revoke_lock);
        c->seen = atomic_load(&revoke_gen);
        c->next = all_caches;
        all_caches = c;
        pthread_mutex_unlock(&revoke_lock);
        own_cache = c;
    }
    if (atomic_load_explicit(&revoke_gen, memory_order_acquire) != c->seen) {
        pthread_mutex_lock(&revoke_lock);
        unsigned long long gen = atomic_load(&revoke_gen);
        if (gen - c->seen > REVOKED_RING) /* too far behind to replay: start afresh */
            forget_in(c, 0, true);
        else
            for (unsigned long long g = c->seen; g < gen; g++)
                forget_in(c, revoked[g % REVOKED_RING], false);
        c->seen = gen;
        pthread_mutex_unlock(&revoke_lock);
    }
    return c;
}

/* A lookup answers after the revocations published since it started: the token was valid
 * in the database's snapshot, but one of them may name it. */
enum since { SINCE_NONE, SINCE_THIS, SINCE_UNKNOWN };

static enum since revoked_since(unsigned long long gen, long long token_id)
{
    if (atomic_load_explicit(&revoke_gen, memory_order_acquire) == gen)
        return SINCE_NONE;
    enum since r = SINCE_NONE;
    pthread_mutex_lock(&revoke_lock);
    unsigned long long now = atomic_load(&revoke_gen);
    if (now - gen > REVOKED_RING)
        r = SINCE_UNKNOWN; /* too many to replay */
    for (unsigned long long g = gen; r == SINCE_NONE && g < now; g++)
        if (revoked[g % REVOKED_RING] == token_id)
            r = SINCE_THIS;
    pthread_mutex_unlock(&revoke_lock);
    return r;
}

static int stmt_by_hash, stmt_by_cert;

#define TOKEN_COLUMNS                                                                              \
    "id, role, name, array_to_string(urns, ',') urns, "                                            \
    "GREATEST(0, LEAST(EXTRACT(EPOCH FROM expires_at - now()) * 1000, 2147483647))::bigint "       \
    "ms_left"

#define TOKEN_LOOKUP(match)                                                                        \
    "WITH t AS (SELECT " TOKEN_COLUMNS ", last_used_at FROM tokens WHERE trust_id = $1 AND " match \
    " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())), "                    \
    "touch AS (UPDATE tokens SET last_used_at = now() WHERE trust_id = $1 "                        \
    " AND id = (SELECT id FROM t) AND (last_used_at IS NULL "                                      \
    " OR last_used_at < now() - interval '1 minute')) "                                            \
    "SELECT id, role, name, urns, ms_left FROM t"

void authn_init(void)
{
    /* Last use is recorded at most once a minute: concurrent lookups of one token (every
     * worker's, every instance's) would otherwise queue on its row lock. */
    stmt_by_hash =
        db_stmt_register("authn_by_hash", TOKEN_LOOKUP("token_hash = decode($2, 'hex')"));
    stmt_by_cert = db_stmt_register("authn_by_cert", TOKEN_LOOKUP("cert_subject = $2"));
}

static size_t slot_of(const unsigned char *hash)
{
    size_t h;
    memcpy(&h, hash, sizeof h);
    return h % CACHE_SLOTS;
}

enum cache_result { CACHE_MISS, CACHE_MISS_KNOWN_GOOD, CACHE_VALID, CACHE_DENIED };

/* An expired entry of a credential that was valid is kept (as known_good) until its slot
 * is reused: its next lookup is not charged to the client address. *refresh_due (may be
 * NULL: the caller cannot start one) is set, and the entry marked, when a valid entry is
 * old enough for its background lookup and none is on its way. */
static enum cache_result cache_get(const unsigned char *hash, struct principal *out,
                                   bool *refresh_due)
{
    enum cache_result hit = CACHE_MISS;
    struct cache_entry *e = &my_cache()->slot[slot_of(hash)];
    if (e->used && ct_equal(e->hash, hash, AUTH_HASH_LEN)) {
        uint64_t now = now_ms();
        if (e->expires_ms <= now)
            hit = e->known_good ? CACHE_MISS_KNOWN_GOOD : CACHE_MISS;
        else
            hit = e->denied ? CACHE_DENIED : CACHE_VALID;
        if (hit == CACHE_VALID) {
            principal_copy(out, &e->p);
            if (refresh_due && !e->refreshing && e->refresh_ms <= now) {
                e->refreshing = true;
                *refresh_due = true;
            }
        }
    }
    return hit;
}

/* p NULL records a negative entry: repeated bad tokens cost no database lookup. */
static void cache_put(const unsigned char *hash, const struct principal *p, uint64_t ttl_ms)
{
    struct cache_entry *e = &my_cache()->slot[slot_of(hash)];
    if (!p && e->used && e->known_good && !ct_equal(e->hash, hash, AUTH_HASH_LEN))
        return; /* A refusal never evicts a credential that was valid: a flood of made-up
                   tokens would otherwise push real clients back to the database and the
                   lookup limit. */
    if (e->used)
        principal_free(&e->p);
    e->used = true;
    e->refreshing = false;
    e->known_good = p != NULL;
    e->denied = p == NULL;
    memcpy(e->hash, hash, AUTH_HASH_LEN);
    if (p)
        principal_copy(&e->p, p);
    uint64_t now = now_ms();
    e->expires_ms = now + ttl_ms;
    e->refresh_ms = now + ttl_ms * AUTHN_REFRESH_PCT / 100;
}

void authn_forget_token(long long token_id)
{
    pthread_mutex_lock(&revoke_lock);
    unsigned long long gen = atomic_load(&revoke_gen);
    revoked[gen % REVOKED_RING] = token_id;
    atomic_store_explicit(&revoke_gen, gen + 1, memory_order_release);
    pthread_mutex_unlock(&revoke_lock);
    my_cache(); /* this worker's own at once; the others before their next lookup */
}

struct authn_state {
    void (*next)(struct req *r);
    unsigned char hash[AUTH_HASH_LEN];
    bool by_cert;
    char subject[512];      /* the certificate's, when by_cert */
    unsigned long long gen; /* revocations published when the lookup started */
};

static void deny(struct req *r, const char *why)
{
    req_reply_problem(r, 401, why, NULL);
}

/* Fills p from a token row and caches it under hash; returns why it is refused, or NULL.
 * gen: the revocations published when the lookup was sent. */
static const char *row_principal(PGresult *res, const unsigned char *hash, struct principal *p,
                                 unsigned long long gen)
{
    p->token_id = atoll(db_val(res, 0, 0));
    if (role_parse(db_val(res, 0, 1), &p->role) != 0)
        return "the token has an unknown role";
    utf8_copy(p->name, sizeof p->name, db_val(res, 0, 2));
    char err[128];
    if (principal_set_urns(p, db_val(res, 0, 3), err, sizeof err) != 0) {
        log_error("msg=\"token with an unreadable school list\" token_id=%lld error=\"%s\"",
                  p->token_id, err);
        return "the token's school list is invalid; issue a new token";
    }
    const char *left = db_val(res, 0, 4);
    uint64_t ttl = AUTHN_CACHE_MS;
    if (left && (uint64_t)atoll(left) < ttl)
        ttl = (uint64_t)atoll(left);
    /* Revoked (and answered 204) while this lookup was on its way: refused, not cached for
     * the cache's lifetime. Past the ring: served this once, not cached. */
    enum since since = revoked_since(gen, p->token_id);
    if (since == SINCE_THIS)
        return REFUSED_TOKEN;
    if (since == SINCE_NONE)
        cache_put(hash, p, ttl);
    return NULL;
}

/* Applies a lookup's answer to the cache: fills p and caches it when the credential is
 * valid (NULL returned), else caches the refusal when no row came back and returns why. */
static const char *lookup_apply(PGresult *res, const unsigned char *hash, bool by_cert,
                                struct principal *p, unsigned long long gen)
{
    if (db_nrows(res) != 1) {
        cache_put(hash, NULL, AUTHN_CACHE_MS);
        return by_cert ? REFUSED_CERT : REFUSED_TOKEN;
    }
    return row_principal(res, hash, p, gen);
}

/* A job looking hash up (a bearer token's, or the certificate subject's when subject is
 * given) for trust; done(job, arg) follows. */
static struct db_job *lookup_job(long long trust, const unsigned char *hash, const char *subject,
                                 db_done_fn done, void *arg)
{
    char trust_s[24], hexhash[2 * AUTH_HASH_LEN + 1];
    snprintf(trust_s, sizeof trust_s, "%lld", trust);
    hex_encode(hash, AUTH_HASH_LEN, hexhash);
    const char *params[2] = {trust_s, subject ? subject : hexhash};
    struct db_job *job = db_job_new(done, arg);
    db_job_add(job, subject ? stmt_by_cert : stmt_by_hash, 2, params);
    return job;
}

static void on_lookup(struct req *r, struct db_job *job)
{
    struct authn_state *st = r->hstate;
    void (*next)(struct req *) = st->next;
    bool by_cert = st->by_cert;
    unsigned long long gen = st->gen;
    unsigned char hash[AUTH_HASH_LEN];
    memcpy(hash, st->hash, sizeof hash);
    free(st);
    r->hstate = NULL;
    r->hstate_free = NULL;
    if (req_reply_db_failure(r, job))
        return;
    const char *why = lookup_apply(db_job_result(job, 0), hash, by_cert, &r->principal, gen);
    if (why) {
        if (!by_cert) /* a made-up token; a certificate was checked by TLS: no guess */
            authn_budget_charge(AUTHN_KIND_TOKEN, r->client_addr);
        deny(r, why);
        return;
    }
    r->authenticated = true;
    next(r);
}

/* The lookup of r's credential (st, r's hstate from now on), answered in on_lookup. */
static void lookup_start(struct req *r, struct authn_state *st)
{
    metrics_add(METRIC_AUTH_CACHE_MISSES, 1);
    struct db_job *job =
        lookup_job(req_trust(r), st->hash, st->by_cert ? st->subject : NULL, NULL, NULL);
    st->gen = atomic_load(&revoke_gen);
    r->hstate = st;
    r->hstate_free = free;
    req_submit(r, job, on_lookup);
}

/* A token presented past its address's budget, found valid by the batch: looked up as any
 * other, for its principal. */
static void on_checked_valid(struct req *r)
{
    lookup_start(r, r->hstate);
}

/* ---- the background lookup of an entry in use ---- */

struct authn_refresh {
    unsigned long long gen; /* revocations published when the lookup started */
    unsigned char hash[AUTH_HASH_LEN];
    bool by_cert;
};

/* The entry is replaced by what the database says now: the principal with a new lifetime,
 * or a refusal (revoked, expired or removed on another instance). A failed lookup leaves
 * the entry to expire; the request after that waits for its own lookup as usual. Runs on
 * the worker that started it (its pool's loop), so on that worker's cache. */
static void on_refresh(struct db_job *job, void *arg)
{
    struct authn_refresh *rf = arg;
    if (db_job_status(job) == DB_OK) {
        struct principal p = {0};
        lookup_apply(db_job_result(job, 0), rf->hash, rf->by_cert, &p, rf->gen);
        principal_free(&p);
    }
    free(rf);
}

/* Starts the background lookup of hash (a bearer token's, or a certificate subject's when
 * subject is given) on db. */
static void refresh_start(struct db_pool *db, long long trust, const unsigned char *hash,
                          const char *subject)
{
    struct authn_refresh *rf = xcalloc(1, sizeof *rf);
    memcpy(rf->hash, hash, AUTH_HASH_LEN);
    rf->gen = atomic_load(&revoke_gen);
    rf->by_cert = subject != NULL;
    struct db_job *job = lookup_job(trust, hash, subject, on_refresh, rf);
    metrics_add(METRIC_AUTH_CACHE_REFRESHES, 1);
    if (db_pool_submit(db, job) != 0)
        free(rf); /* the pool is down or full: the entry expires as it would have */
}

/* ---- the gate's question: is this credential good, before its body is read? ---- */

struct authn_probe {
    struct worker *w;
    enum authn_kind kind;
    struct db_job *job;      /* the lookup in flight, or NULL */
    struct authn_wait *wait; /* or the batch check (past the address's budget), or NULL */
    unsigned long long gen;  /* revocations published when the lookup started */
    unsigned char hash[AUTH_HASH_LEN];
    char session[SESSION_ID_HEX + 1];
    char addr[64];
    bool known_good; /* a token that was valid: looked up whatever the budget */
    void (*done)(void *arg, enum authn_probe_result result);
    void *arg;
};

static void probe_end(struct authn_probe *pr, enum authn_probe_result result)
{
    pr->done(pr->arg, result);
    free(pr);
}

static void on_probe(struct db_job *job, void *arg)
{
    struct authn_probe *pr = arg;
    pr->job = NULL;
    enum authn_probe_result result = AUTHN_PROBE_UNDECIDED;
    if (db_job_status(job) == DB_OK && pr->kind == AUTHN_KIND_TOKEN) {
        struct principal p = {0};
        result = lookup_apply(db_job_result(job, 0), pr->hash, false, &p, pr->gen)
                     ? AUTHN_PROBE_REFUSED
                     : AUTHN_PROBE_VALID;
        principal_free(&p);
    } else if (db_job_status(job) == DB_OK) {
        result = db_nrows(db_job_result(job, 0)) == 1 ? AUTHN_PROBE_VALID : AUTHN_PROBE_REFUSED;
    }
    if (result == AUTHN_PROBE_REFUSED)
        authn_budget_charge(pr->kind, pr->addr);
    probe_end(pr, result);
}

/* Starts pr's lookup; false (pr freed, nothing called) when the pool cannot take it. */
static bool probe_lookup(struct authn_probe *pr)
{
    struct db_job *j;
    long long trust = pr->w->server->trust_id;
    if (pr->kind == AUTHN_KIND_TOKEN) {
        metrics_add(METRIC_AUTH_CACHE_MISSES, 1);
        pr->gen = atomic_load(&revoke_gen);
        j = lookup_job(trust, pr->hash, NULL, on_probe, pr);
    } else {
        j = session_lookup_job(trust, pr->session, on_probe, pr);
    }
    if (db_pool_submit(pr->w->db, j) != 0) {
        free(pr);
        return false;
    }
    pr->job = j;
    return true;
}

static void on_probe_checked(void *arg, enum authn_batch_result result)
{
    struct authn_probe *pr = arg;
    pr->wait = NULL;
    if (result == AUTHN_BATCH_VALID) {
        void (*done)(void *, enum authn_probe_result) = pr->done;
        void *done_arg = pr->arg;
        if (!probe_lookup(pr))
            done(done_arg, AUTHN_PROBE_UNDECIDED);
        return;
    }
    probe_end(pr, result == AUTHN_BATCH_INVALID ? AUTHN_PROBE_LIMITED : AUTHN_PROBE_UNDECIDED);
}

/* A credential the cache cannot answer: looked up, or checked in the worker's next batch
 * when its address has spent its budget of failed lookups (as authn_authenticate does). */
static enum authn_probe_result probe_start(struct authn_probe *pr, struct authn_probe **pending)
{
    if (!atomic_load(&g_server->schema_ready)) {
        free(pr);
        return AUTHN_PROBE_UNDECIDED;
    }
    if (!pr->known_good && !authn_budget_left(pr->kind, pr->addr, NULL)) {
        char hex[65];
        if (pr->kind == AUTHN_KIND_TOKEN)
            hex_encode(pr->hash, AUTH_HASH_LEN, hex);
        else
            session_hash_hex(pr->session, hex);
        pr->wait = authn_batch_check(pr->w, pr->kind, hex, on_probe_checked, pr);
    } else if (!probe_lookup(pr)) {
        return AUTHN_PROBE_UNDECIDED;
    }
    *pending = pr;
    return AUTHN_PROBE_PENDING;
}

static struct authn_probe *probe_new(struct worker *w, enum authn_kind kind,
                                     const char *client_addr,
                                     void (*done)(void *arg, enum authn_probe_result result),
                                     void *arg)
{
    struct authn_probe *pr = xcalloc(1, sizeof *pr);
    pr->w = w;
    pr->kind = kind;
    snprintf(pr->addr, sizeof pr->addr, "%s", client_addr);
    pr->done = done;
    pr->arg = arg;
    return pr;
}

enum authn_probe_result authn_probe(struct worker *w, const char *client_addr,
                                    const char *authorization,
                                    void (*done)(void *arg, enum authn_probe_result result),
                                    void *arg, struct authn_probe **pending)
{
    *pending = NULL;
    const char *token = auth_bearer(authorization);
    unsigned char hash[AUTH_HASH_LEN];
    if (!token || auth_token_hash(token, hash) != 0)
        return AUTHN_PROBE_REFUSED;
    struct principal p = {0};
    bool refresh_due = false;
    enum cache_result hit = cache_get(hash, &p, &refresh_due);
    principal_free(&p);
    if (refresh_due)
        refresh_start(w->db, w->server->trust_id, hash, NULL);
    if (hit == CACHE_VALID || hit == CACHE_DENIED)
        return hit == CACHE_VALID ? AUTHN_PROBE_VALID : AUTHN_PROBE_REFUSED;
    struct authn_probe *pr = probe_new(w, AUTHN_KIND_TOKEN, client_addr, done, arg);
    memcpy(pr->hash, hash, sizeof hash);
    pr->known_good = hit == CACHE_MISS_KNOWN_GOOD;
    return probe_start(pr, pending);
}

enum authn_probe_result authn_probe_session(struct worker *w, const char *client_addr,
                                            const char *cookie,
                                            void (*done)(void *arg, enum authn_probe_result result),
                                            void *arg, struct authn_probe **pending)
{
    *pending = NULL;
    char id[SESSION_ID_HEX + 1];
    if (!session_cookie_id(cookie, id))
        return AUTHN_PROBE_REFUSED;
    struct authn_probe *pr = probe_new(w, AUTHN_KIND_SESSION, client_addr, done, arg);
    memcpy(pr->session, id, sizeof id);
    return probe_start(pr, pending);
}

void authn_probe_cancel(struct authn_probe *pr)
{
    if (pr->job)
        db_job_cancel(pr->job);
    authn_batch_cancel(pr->wait);
    free(pr);
}

int authn_peek(const char *authorization)
{
    const char *token = auth_bearer(authorization);
    unsigned char hash[AUTH_HASH_LEN];
    if (!token || auth_token_hash(token, hash) != 0)
        return -1;
    struct principal p = {0};
    enum cache_result hit = cache_get(hash, &p, NULL);
    if (hit == CACHE_VALID)
        principal_free(&p);
    return hit == CACHE_DENIED ? -1 : hit == CACHE_VALID ? 1 : 0;
}

/* The cache key of a certificate subject: SHA-256 of a prefix no token can have. */
static void cert_key(const char *subject, unsigned char out[AUTH_HASH_LEN])
{
    char hex[65];
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "cert-subject:%s", subject);
    sha256_hex(sb.data, sb.len, hex);
    strbuf_free(&sb);
    for (size_t i = 0; i < AUTH_HASH_LEN; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

void authn_authenticate(struct req *r, void (*next)(struct req *r))
{
    const char *header = req_header(r, "Authorization");
    /* The web app: no Authorization header, a session cookie (session.c). */
    if (session_applies(r)) {
        session_authenticate(r, next);
        return;
    }
    const char *token = auth_bearer(header);
    struct authn_state *st = xcalloc(1, sizeof *st);
    st->next = next;
    if (!token) {
        SSL *ssl = conn_ssl(r->conn);
        if (header || !ssl || tls_peer_subject(ssl, st->subject, sizeof st->subject) != 0) {
            free(st);
            deny(r, header ? "the Authorization header must be \"Bearer <token>\""
                           : "a bearer token is required");
            return;
        }
        st->by_cert = true;
        cert_key(st->subject, st->hash);
    } else if (auth_token_hash(token, st->hash) != 0) {
        free(st);
        deny(r, REFUSED_TOKEN);
        return;
    }
    bool refresh_due = false;
    enum cache_result hit = cache_get(st->hash, &r->principal, &refresh_due);
    if (refresh_due)
        refresh_start(r->w->db, req_trust(r), st->hash, st->by_cert ? st->subject : NULL);
    if (hit == CACHE_VALID || hit == CACHE_DENIED) {
        bool by_cert = st->by_cert;
        free(st);
        metrics_add(METRIC_AUTH_CACHE_HITS, 1);
        if (hit == CACHE_DENIED) {
            deny(r, by_cert ? REFUSED_CERT : REFUSED_TOKEN);
            return;
        }
        r->authenticated = true;
        next(r);
        return;
    }
    /* A token never seen valid, from an address that has spent its budget of failed
     * lookups, is checked in the worker's next batch (authn_limit.c): a flood of made-up
     * tokens costs the database one query per batch, not one per request, and a valid
     * token sharing the address (a trust's proxy) still gets in. A credential that was
     * valid (known_good) and a certificate (TLS verified it: no guess) are looked up as
     * usual. */
    if (hit != CACHE_MISS_KNOWN_GOOD && !st->by_cert &&
        !authn_budget_left(AUTHN_KIND_TOKEN, r->client_addr, NULL)) {
        if (!atomic_load(&g_server->schema_ready)) {
            free(st);
            req_set_header(r, "Retry-After", "2");
            req_reply_problem(r, 503, "the database schema is not ready yet; retry shortly", NULL);
            return;
        }
        char hex[2 * AUTH_HASH_LEN + 1];
        hex_encode(st->hash, AUTH_HASH_LEN, hex);
        r->hstate = st;
        r->hstate_free = free;
        authn_batch_check_request(r, AUTHN_KIND_TOKEN, hex, on_checked_valid);
        return;
    }
    lookup_start(r, st);
}
