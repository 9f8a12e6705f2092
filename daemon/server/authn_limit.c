/* The per-address budget of failed credential lookups (a GCRA bucket per address and kind,
 * charged only for failures), and the batches that check the credentials presented past it:
 * per worker and kind, a FIFO of waiting credentials, at most one query in flight and one
 * sent every AUTHN_BATCH_INTERVAL_MS, each answering up to AUTHN_BATCH_MAX of them. */
#include "authn_limit.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "db_pool.h"
#include "http_server.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "util.h"

/* ---- the budget ---- */

/* Rate-limit key of a client address: negative, so it never meets a token id, and seeded
 * per kind, so a flood of made-up cookies does not spend the budget of tokens. */
static long long address_key(enum authn_kind kind, const char *addr)
{
    uint64_t h =
        util_fnv1a(kind == AUTHN_KIND_TOKEN ? UTIL_FNV_OFFSET : 0x9e3779b97f4a7c15ull, addr);
    return -(long long)(h >> 2) - 1;
}

bool authn_budget_left(enum authn_kind kind, const char *addr, int *retry_after_s)
{
    int retry = 1;
    bool left = ratelimit_peek(address_key(kind, addr), AUTHN_FAILURES_PER_MINUTE,
                               AUTHN_FAILURES_BURST, &retry);
    if (!left && retry_after_s)
        *retry_after_s = retry < 1 ? 1 : retry;
    return left;
}

void authn_budget_charge(enum authn_kind kind, const char *addr)
{
    int retry;
    ratelimit_allow(address_key(kind, addr), AUTHN_FAILURES_PER_MINUTE, AUTHN_FAILURES_BURST,
                    &retry);
}

/* 429 for r's credential of kind, not valid and past its address's budget. */
static void reply_limited(struct req *r, enum authn_kind kind)
{
    int retry = 1;
    authn_budget_left(kind, r->client_addr, &retry);
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry);
    req_set_header(r, "Retry-After", ra);
    req_reply_problem(r, 429,
                      kind == AUTHN_KIND_TOKEN
                          ? "too many failed authentications from this address"
                          : "too many failed session lookups from this address",
                      NULL);
}

/* ---- the batches ---- */

static int stmt_batch[2];

void authn_limit_init(void)
{
    /* $2: a text array of hex SHA-256 digests; the answer is the live ones among them. */
    stmt_batch[AUTHN_KIND_TOKEN] = db_stmt_register(
        "authn_batch_tokens",
        "SELECT encode(token_hash, 'hex') FROM tokens WHERE trust_id = $1 "
        "AND token_hash = ANY (ARRAY(SELECT decode(h, 'hex') FROM unnest($2::text[]) h)) "
        "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())");
    stmt_batch[AUTHN_KIND_SESSION] = db_stmt_register(
        "authn_batch_sessions",
        "SELECT encode(s.session_hash, 'hex') FROM sessions s "
        "JOIN tokens t ON t.trust_id = s.trust_id AND t.id = s.token_id WHERE s.trust_id = $1 "
        "AND s.session_hash = ANY (ARRAY(SELECT decode(h, 'hex') FROM unnest($2::text[]) h)) "
        "AND s.ended_at IS NULL AND s.expires_at > now() AND t.revoked_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > now())");
}

struct batch_queue;

struct authn_wait {
    TAILQ_ENTRY(authn_wait) link;
    struct batch_queue *q;
    bool in_flight; /* on q->in_flight (else on q->waiting) */
    char hash[65];
    void (*done)(void *arg, enum authn_batch_result result);
    void *arg;
    struct req *r; /* authn_batch_check_request's (done NULL): r and what follows */
    void (*valid)(struct req *r);
};

TAILQ_HEAD(wait_list, authn_wait);

struct batch_queue {
    struct worker *w;
    enum authn_kind kind;
    struct wait_list waiting;   /* for the next batch, oldest first */
    struct wait_list in_flight; /* asked by job */
    struct db_job *job;         /* the batch in flight, or NULL */
    struct event *timer;        /* sends the next batch */
    uint64_t last_sent_ms;
};

struct authn_batches {
    struct batch_queue q[2];
};

static void batch_send(evutil_socket_t fd, short what, void *arg);

/* The next batch goes AUTHN_BATCH_INTERVAL_MS after the last was sent, and never from the
 * call that queued a credential or answered one (always from the timer, on a later turn of
 * the loop): a batch answered is never mixed with credentials queued by its own answers. */
static void batch_schedule(struct batch_queue *q)
{
    if (q->job || evtimer_pending(q->timer, NULL) || TAILQ_EMPTY(&q->waiting))
        return;
    uint64_t now = now_ms(), next = q->last_sent_ms + AUTHN_BATCH_INTERVAL_MS;
    uint64_t wait = next > now ? next - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(q->timer, &tv);
}

static void request_checked(struct req *r, enum authn_kind kind, void (*valid)(struct req *r),
                            enum authn_batch_result result)
{
    r->auth_wait = NULL;
    if (result == AUTHN_BATCH_VALID) {
        valid(r);
    } else if (result == AUTHN_BATCH_INVALID) {
        reply_limited(r, kind);
    } else {
        req_set_header(r, "Retry-After", "2");
        req_reply_problem(r, 503, "the database is unavailable; retry shortly", NULL);
    }
}

/* Answers every credential of the batch in flight: valid when res has its digest (res NULL:
 * the database did not answer). */
static void batch_answer(struct batch_queue *q, PGresult *res)
{
    struct authn_wait *wt;
    /* One at a time off the list: an answer may cancel another wait of the same batch. */
    while ((wt = TAILQ_FIRST(&q->in_flight)) != NULL) {
        TAILQ_REMOVE(&q->in_flight, wt, link);
        enum authn_batch_result result = res ? AUTHN_BATCH_INVALID : AUTHN_BATCH_UNKNOWN;
        for (int i = 0; res && i < db_nrows(res); i++)
            if (strcmp(db_val(res, i, 0), wt->hash) == 0)
                result = AUTHN_BATCH_VALID;
        struct authn_wait answered = *wt;
        free(wt);
        if (answered.r)
            request_checked(answered.r, q->kind, answered.valid, result);
        else
            answered.done(answered.arg, result);
    }
    batch_schedule(q);
}

static void on_batch(struct db_job *job, void *arg)
{
    struct batch_queue *q = arg;
    q->job = NULL;
    batch_answer(q, db_job_status(job) == DB_OK ? db_job_result(job, 0) : NULL);
}

static void batch_send(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct batch_queue *q = arg;
    if (q->job || TAILQ_EMPTY(&q->waiting))
        return;
    struct strbuf digests;
    strbuf_init(&digests);
    strbuf_puts(&digests, "{");
    struct authn_wait *wt;
    for (int n = 0; n < AUTHN_BATCH_MAX && (wt = TAILQ_FIRST(&q->waiting)) != NULL; n++) {
        TAILQ_REMOVE(&q->waiting, wt, link);
        TAILQ_INSERT_TAIL(&q->in_flight, wt, link);
        wt->in_flight = true;
        strbuf_printf(&digests, "%s%s", n ? "," : "", wt->hash);
        metrics_add(METRIC_AUTH_BATCH_CHECKS, 1);
    }
    strbuf_puts(&digests, "}");
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", q->w->server->trust_id);
    const char *params[2] = {trust, digests.data};
    struct db_job *job = db_job_new(on_batch, q);
    db_job_add(job, stmt_batch[q->kind], 2, params);
    strbuf_free(&digests);
    q->last_sent_ms = now_ms();
    metrics_add(METRIC_AUTH_BATCH_QUERIES, 1);
    if (db_pool_submit(q->w->db, job) != 0) {
        metrics_add(METRIC_DB_JOBS_REJECTED, 1);
        batch_answer(q, NULL); /* the pool is down or full: no answer, as from the database */
        return;
    }
    q->job = job;
}

struct authn_wait *authn_batch_check(struct worker *w, enum authn_kind kind, const char *hash_hex,
                                     void (*done)(void *arg, enum authn_batch_result result),
                                     void *arg)
{
    struct batch_queue *q = &w->authn_batches->q[kind];
    struct authn_wait *wt = xcalloc(1, sizeof *wt);
    wt->q = q;
    snprintf(wt->hash, sizeof wt->hash, "%s", hash_hex);
    wt->done = done;
    wt->arg = arg;
    TAILQ_INSERT_TAIL(&q->waiting, wt, link);
    batch_schedule(q);
    return wt;
}

void authn_batch_check_request(struct req *r, enum authn_kind kind, const char *hash_hex,
                               void (*valid)(struct req *r))
{
    struct authn_wait *wt = authn_batch_check(r->w, kind, hash_hex, NULL, NULL);
    wt->r = r; /* answered from the timer, on a later turn: set before it can be */
    wt->valid = valid;
    r->auth_wait = wt;
}

void authn_batch_cancel(struct authn_wait *wt)
{
    if (!wt)
        return;
    TAILQ_REMOVE(wt->in_flight ? &wt->q->in_flight : &wt->q->waiting, wt, link);
    free(wt); /* a batch in flight answers the others */
}

struct authn_batches *authn_batches_new(struct worker *w)
{
    struct authn_batches *b = xcalloc(1, sizeof *b);
    for (int k = 0; k < 2; k++) {
        struct batch_queue *q = &b->q[k];
        q->w = w;
        q->kind = (enum authn_kind)k;
        TAILQ_INIT(&q->waiting);
        TAILQ_INIT(&q->in_flight);
        q->timer = evtimer_new(w->base, batch_send, q);
        if (!q->timer)
            fatal("evtimer_new failed (out of memory)");
    }
    return b;
}

void authn_batches_free(struct authn_batches *b)
{
    if (!b)
        return;
    for (int k = 0; k < 2; k++) {
        struct batch_queue *q = &b->q[k];
        if (q->job)
            db_job_cancel(q->job); /* its callback is not called */
        struct authn_wait *wt;
        while ((wt = TAILQ_FIRST(&q->waiting)) != NULL) {
            TAILQ_REMOVE(&q->waiting, wt, link);
            free(wt);
        }
        while ((wt = TAILQ_FIRST(&q->in_flight)) != NULL) {
            TAILQ_REMOVE(&q->in_flight, wt, link);
            free(wt);
        }
        event_free(q->timer);
    }
    free(b);
}
