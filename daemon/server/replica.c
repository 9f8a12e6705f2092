/* Read replicas: see replica.h. Every worker keeps its own view (its own pools, polls and
 * lag ring), so nothing here is shared between loops but the configuration, the token
 * table and the metrics, all written before workers start or atomic. */
#include "replica.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pool.h"
#include "log.h"
#include "lsn.h"

/* ---- configuration (written once before workers start) ---- */

static char *replica_dsns[REPLICA_MAX];
static int nreplicas;
static int max_lag_ms = 2000;
static long long max_lag_bytes;
static int stmt_primary_lsn, stmt_replay_lsn;

int replica_configure(const char *list, int lag_ms, int lag_bytes, char *err, size_t errlen)
{
    int n = lsn_split_dsn_list(list ? list : "", replica_dsns, REPLICA_MAX, err, errlen);
    if (n < 0)
        return -1;
    nreplicas = n;
    max_lag_ms = lag_ms;
    max_lag_bytes = lag_bytes;
    stmt_primary_lsn = db_stmt_register("replica_primary_lsn", "SELECT pg_current_wal_lsn()::text");
    stmt_replay_lsn = db_stmt_register(
        "replica_replay_lsn", "SELECT pg_last_wal_replay_lsn()::text, pg_is_in_recovery()");
    return 0;
}

int replica_count(void)
{
    return nreplicas;
}

/* ---- last write per token ---- */

#define TOKEN_SLOTS 4096
static _Atomic uint64_t token_lsn[TOKEN_SLOTS];

static size_t token_slot(long long token_id)
{
    uint64_t h = (uint64_t)token_id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 52) % TOKEN_SLOTS;
}

void replica_note_write(long long token_id, uint64_t lsn)
{
    _Atomic uint64_t *slot = &token_lsn[token_slot(token_id)];
    uint64_t cur = atomic_load_explicit(slot, memory_order_relaxed);
    while (cur < lsn && !atomic_compare_exchange_weak(slot, &cur, lsn)) {
    }
}

uint64_t replica_token_lsn(long long token_id)
{
    return atomic_load(&token_lsn[token_slot(token_id)]);
}

/* ---- metrics (process-wide) ---- */

static _Atomic unsigned long long reads_primary, reads_replica[REPLICA_MAX], retries;
/* The last view any worker took of each replica: a gauge, last writer wins. */
static _Atomic int seen_state[REPLICA_MAX];
static _Atomic long long seen_lag_ms[REPLICA_MAX], seen_lag_bytes[REPLICA_MAX];

void replica_count_read(int index)
{
    if (index < 0)
        atomic_fetch_add_explicit(&reads_primary, 1, memory_order_relaxed);
    else if (index < REPLICA_MAX)
        atomic_fetch_add_explicit(&reads_replica[index], 1, memory_order_relaxed);
}

void replica_count_retry(void)
{
    atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
}

static const char *state_name(enum replica_state s)
{
    switch (s) {
    case REPLICA_UNKNOWN:
        return "unknown";
    case REPLICA_OK:
        return "ok";
    case REPLICA_LAGGING:
        return "lagging";
    case REPLICA_DOWN:
        return "down";
    case REPLICA_NOT_STANDBY:
        return "not_standby";
    }
    return "unknown";
}

/* ---- one worker's replicas ---- */

struct replica {
    enum replica_state state;
    int index;
    struct replica_set *set;
    struct db_pool *pool;
    uint64_t replay; /* replayed position at the last good poll (0 = none) */
    long long lag_ms, lag_bytes;
    struct db_job *poll; /* in flight, or NULL */
    long long poll_sent_ms;
    char why[128]; /* of the last state change */
};

struct replica_set {
    struct event_base *base;
    struct db_pool *primary;
    struct event *timer;
    struct lsn_ring ring;  /* the primary's recent positions */
    struct db_job *sample; /* the primary's position being asked for, or NULL */
    int n, next;           /* replicas; where round robin starts next */
    struct replica r[REPLICA_MAX];
};

static long long mono_ms(void)
{
    return (long long)now_ms();
}

static void set_state(struct replica *rp, enum replica_state s, const char *why)
{
    if (rp->state != s) {
        if (s == REPLICA_OK)
            log_info("msg=\"replica serving reads\" replica=%d lag_ms=%lld lag_bytes=%lld",
                     rp->index + 1, rp->lag_ms, rp->lag_bytes);
        else if (s != REPLICA_UNKNOWN)
            log_warn("msg=\"replica skipped\" replica=%d state=%s reason=\"%s\"", rp->index + 1,
                     state_name(s), why);
        snprintf(rp->why, sizeof rp->why, "%s", why);
    }
    rp->state = s;
    if (s != REPLICA_OK && s != REPLICA_LAGGING)
        rp->replay = 0; /* after a restart it is known again only from a new poll */
    atomic_store(&seen_state[rp->index], (int)s);
    atomic_store(&seen_lag_ms[rp->index], rp->lag_ms);
    atomic_store(&seen_lag_bytes[rp->index], rp->lag_bytes);
}

static void on_sample(struct db_job *job, void *arg)
{
    struct replica_set *rs = arg;
    rs->sample = NULL;
    uint64_t lsn;
    if (db_job_status(job) == DB_OK && lsn_parse(db_val(db_job_result(job, 0), 0, 0), &lsn))
        lsn_ring_add(&rs->ring, mono_ms(), lsn);
}

static void on_poll(struct db_job *job, void *arg)
{
    struct replica *rp = arg;
    rp->poll = NULL;
    if (db_job_status(job) != DB_OK) {
        char why[128];
        snprintf(why, sizeof why, "poll failed: %s",
                 db_job_status(job) == DB_ERROR ? db_job_error(job) : "no connection");
        set_state(rp, REPLICA_DOWN, why);
        return;
    }
    PGresult *res = db_job_result(job, 0);
    const char *in_recovery = db_val(res, 0, 1);
    uint64_t replay;
    if (!in_recovery || strcmp(in_recovery, "t") != 0) {
        set_state(rp, REPLICA_NOT_STANDBY, "the server is not in recovery (not a standby)");
        return;
    }
    if (!lsn_parse(db_val(res, 0, 0), &replay)) {
        set_state(rp, REPLICA_DOWN, "the standby has replayed nothing yet");
        return;
    }
    struct replica_set *rs = rp->set;
    long long now = mono_ms();
    uint64_t primary = lsn_ring_latest(&rs->ring);
    rp->replay = replay;
    rp->lag_ms = lsn_ring_lag_ms(&rs->ring, now, replay);
    rp->lag_bytes = primary > replay ? (long long)(primary - replay) : 0;
    bool lagging = rp->lag_ms > max_lag_ms || (max_lag_bytes > 0 && rp->lag_bytes > max_lag_bytes);
    char why[128];
    snprintf(why, sizeof why, "lag %lld ms, %lld bytes (bounds %d ms, %lld bytes)", rp->lag_ms,
             rp->lag_bytes, max_lag_ms, max_lag_bytes);
    set_state(rp, lagging ? REPLICA_LAGGING : REPLICA_OK, why);
}

static struct db_job *submit_poll(struct db_pool *pool, int stmt, db_done_fn done, void *arg)
{
    struct db_job *job = db_job_new(done, arg);
    db_job_add(job, stmt, 0, NULL);
    /* The submitter keeps the job to cancel it; db_pool_submit frees it on refusal. */
    return db_pool_submit(pool, job) == 0 ? job : NULL;
}

static void poll_replica(struct replica *rp, long long now)
{
    if (rp->poll) {
        /* A poll unanswered for longer than the lag bound: the replica is as good as down
         * (a statement stuck on it would be stuck for the reads too). */
        long long stale = max_lag_ms > 1000 ? max_lag_ms : 1000;
        if (now - rp->poll_sent_ms > stale && rp->state != REPLICA_DOWN) {
            char why[96];
            snprintf(why, sizeof why, "no answer to a poll within %lld ms", stale);
            set_state(rp, REPLICA_DOWN, why);
        }
        return;
    }
    if (db_pool_up(rp->pool) == 0) {
        if (rp->state != REPLICA_UNKNOWN) /* before its first connection it stays unknown */
            set_state(rp, REPLICA_DOWN, "no connection");
        return;
    }
    rp->poll = submit_poll(rp->pool, stmt_replay_lsn, on_poll, rp);
    rp->poll_sent_ms = now;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct replica_set *rs = arg;
    long long now = mono_ms();
    if (!rs->sample)
        rs->sample = submit_poll(rs->primary, stmt_primary_lsn, on_sample, rs);
    for (int i = 0; i < rs->n; i++)
        poll_replica(&rs->r[i], now);
}

struct replica_set *replica_set_new(struct event_base *base, struct db_pool *primary, int pool_size,
                                    int queue_max, int connect_timeout_ms)
{
    if (nreplicas == 0)
        return NULL;
    struct replica_set *rs = xcalloc(1, sizeof *rs);
    rs->base = base;
    rs->primary = primary;
    rs->n = nreplicas;
    lsn_ring_init(&rs->ring);
    for (int i = 0; i < rs->n; i++) {
        struct replica *rp = &rs->r[i];
        rp->index = i;
        rp->set = rs;
        rp->state = REPLICA_UNKNOWN;
        rp->pool =
            db_pool_new_replica(base, replica_dsns[i], pool_size, queue_max, connect_timeout_ms);
    }
    rs->timer = event_new(base, -1, EV_PERSIST, on_tick, rs);
    struct timeval tv = {0, REPLICA_POLL_MS * 1000};
    event_add(rs->timer, &tv);
    return rs;
}

void replica_set_free(struct replica_set *rs)
{
    if (!rs)
        return;
    event_free(rs->timer);
    if (rs->sample)
        db_job_cancel(rs->sample);
    for (int i = 0; i < rs->n; i++) {
        if (rs->r[i].poll)
            db_job_cancel(rs->r[i].poll);
        db_pool_free(rs->r[i].pool);
    }
    free(rs);
}

struct db_pool *replica_pick(struct replica_set *rs, uint64_t min_lsn, int *index)
{
    for (int k = 0; k < rs->n; k++) {
        int i = (rs->next + k) % rs->n;
        struct replica *rp = &rs->r[i];
        if (rp->state != REPLICA_OK || rp->replay < min_lsn || db_pool_up(rp->pool) == 0)
            continue;
        rs->next = (i + 1) % rs->n;
        *index = i;
        return rp->pool;
    }
    return NULL;
}

json_t *replica_set_json(const struct replica_set *rs)
{
    if (!rs)
        return NULL;
    json_t *a = json_array();
    for (int i = 0; i < rs->n; i++) {
        const struct replica *rp = &rs->r[i];
        json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:I, s:i}", "replica", i + 1, "state",
                                           state_name(rp->state), "lag_ms", (json_int_t)rp->lag_ms,
                                           "lag_bytes", (json_int_t)rp->lag_bytes, "connections",
                                           db_pool_up(rp->pool)));
    }
    return a;
}

void replica_metrics_render(struct strbuf *out)
{
    if (nreplicas == 0)
        return;
    strbuf_printf(out,
                  "# HELP matd_db_reads_total Read jobs (GET requests) by where they ran.\n"
                  "# TYPE matd_db_reads_total counter\n"
                  "matd_db_reads_total{served_by=\"primary\"} %llu\n",
                  atomic_load(&reads_primary));
    for (int i = 0; i < nreplicas; i++)
        strbuf_printf(out, "matd_db_reads_total{served_by=\"replica-%d\"} %llu\n", i + 1,
                      atomic_load(&reads_replica[i]));
    strbuf_printf(out,
                  "# HELP matd_db_replica_retries_total Reads retried on the primary after "
                  "their replica failed.\n"
                  "# TYPE matd_db_replica_retries_total counter\n"
                  "matd_db_replica_retries_total %llu\n"
                  "# HELP matd_db_replica_up Replica serving reads (1) or skipped (0); why is in "
                  "/readyz.\n"
                  "# TYPE matd_db_replica_up gauge\n",
                  atomic_load(&retries));
    for (int i = 0; i < nreplicas; i++)
        strbuf_printf(out, "matd_db_replica_up{replica=\"%d\"} %d\n", i + 1,
                      atomic_load(&seen_state[i]) == REPLICA_OK);
    strbuf_puts(out, "# HELP matd_db_replica_lag_seconds Replay lag behind the primary.\n"
                     "# TYPE matd_db_replica_lag_seconds gauge\n");
    for (int i = 0; i < nreplicas; i++)
        strbuf_printf(out, "matd_db_replica_lag_seconds{replica=\"%d\"} %.3f\n", i + 1,
                      (double)atomic_load(&seen_lag_ms[i]) / 1000.0);
    strbuf_puts(out, "# HELP matd_db_replica_lag_bytes WAL bytes not yet replayed.\n"
                     "# TYPE matd_db_replica_lag_bytes gauge\n");
    for (int i = 0; i < nreplicas; i++)
        strbuf_printf(out, "matd_db_replica_lag_bytes{replica=\"%d\"} %lld\n", i + 1,
                      atomic_load(&seen_lag_bytes[i]));
}
