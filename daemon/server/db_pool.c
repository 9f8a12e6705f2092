/* Asynchronous libpq pool. Each connection is a small state machine driven by socket
 * events on the worker's event_base; nothing here ever blocks the loop. */
#include "db_pool.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "dnslookup.h"
#include "log.h"
#include "lsn.h"
#include "metrics.h"
#include "migrate.h"
#include "pace.h"
#include "replica.h"
#include "util.h"

/* ---- statement registry (written at start-up, read-only afterwards) ---- */

struct db_stmt {
    char name[48];
    const char *sql;
};
static struct db_stmt stmts[DB_MAX_STMTS];
static int nstmts;
static pthread_mutex_t stmts_lock = PTHREAD_MUTEX_INITIALIZER;

int db_stmt_register(const char *name, const char *sql)
{
    pthread_mutex_lock(&stmts_lock);
    for (int i = 0; i < nstmts; i++)
        if (strcmp(stmts[i].name, name) == 0) {
            pthread_mutex_unlock(&stmts_lock);
            return i;
        }
    if (nstmts >= DB_MAX_STMTS || strlen(name) >= sizeof stmts[0].name)
        fatal("db_stmt_register: too many statements or name too long: %s", name);
    int id = nstmts++;
    strcpy(stmts[id].name, name);
    stmts[id].sql = sql;
    pthread_mutex_unlock(&stmts_lock);
    return id;
}

/* ---- jobs ---- */

enum cmd_kind { CMD_PREPARED, CMD_SQL, CMD_COPY };

struct db_cmd {
    enum cmd_kind kind;
    int stmt;
    int nparams;
    char **params;
    char *sql;
    char *copy_data;
    size_t copy_len;
    struct db_copy_feed *feed; /* COPY data still being produced (or NULL) */
    PGresult *result;
};

enum job_state { JOB_NEW, JOB_QUEUED, JOB_RUNNING };

struct db_job {
    enum job_state state;
    db_done_fn done;
    void *arg;
    bool cancelled;
    struct db_cmd *cmds;
    int ncmds, cap;
    enum db_status status;
    char *error;
    char sqlstate[6];
    char constraint[64]; /* of a failed command, or "" */
    struct db_pool *pool;
    struct db_conn *conn;
    TAILQ_ENTRY(db_job) link;
    /* Read replicas (replica.c) */
    bool read_ok; /* may run on a replica that has replayed min_lsn */
    uint64_t min_lsn;
    bool want_lsn;        /* a write: learn the primary's WAL position after it */
    uint64_t lsn;         /* that position, or 0 */
    int served_by;        /* -1 the primary, else the replica's index */
    struct db_pool *home; /* on a replica: the primary pool a failed read is retried on */
};

struct db_job *db_job_new(db_done_fn done, void *arg)
{
    struct db_job *job = xcalloc(1, sizeof *job);
    job->done = done;
    job->arg = arg;
    job->status = DB_OK;
    job->served_by = -1;
    return job;
}

void db_job_allow_replica(struct db_job *job, uint64_t min_lsn)
{
    job->read_ok = true;
    job->min_lsn = min_lsn;
}

void db_job_want_lsn(struct db_job *job)
{
    job->want_lsn = true;
}

uint64_t db_job_lsn(const struct db_job *job)
{
    return job->lsn;
}

int db_job_served_by(const struct db_job *job)
{
    return job->served_by;
}

void db_job_set_callback(struct db_job *job, db_done_fn done, void *arg)
{
    job->done = done;
    job->arg = arg;
}

static struct db_cmd *job_push(struct db_job *job)
{
    if (job->ncmds == job->cap) {
        job->cap = job->cap ? job->cap * 2 : 4;
        job->cmds = xrealloc(job->cmds, (size_t)job->cap * sizeof *job->cmds);
    }
    struct db_cmd *c = &job->cmds[job->ncmds++];
    memset(c, 0, sizeof *c);
    return c;
}

void db_job_add(struct db_job *job, int stmt, int nparams, const char *const *params)
{
    struct db_cmd *c = job_push(job);
    c->kind = CMD_PREPARED;
    c->stmt = stmt;
    c->nparams = nparams;
    c->params = xcalloc((size_t)(nparams ? nparams : 1), sizeof *c->params);
    for (int i = 0; i < nparams; i++)
        c->params[i] = params[i] ? xstrdup(params[i]) : NULL;
}

void db_job_add_sql(struct db_job *job, const char *sql)
{
    struct db_cmd *c = job_push(job);
    c->kind = CMD_SQL;
    c->sql = xstrdup(sql);
}

void db_job_add_copy(struct db_job *job, const char *copy_sql, char *data, size_t len)
{
    struct db_cmd *c = job_push(job);
    c->kind = CMD_COPY;
    c->sql = xstrdup(copy_sql);
    c->copy_data = data;
    c->copy_len = len;
}

/* ---- COPY fed while it runs ---- */

struct feed_chunk {
    struct feed_chunk *next;
    char *data;
    size_t len;
};

struct db_copy_feed {
    pthread_mutex_t lock;
    struct feed_chunk *head, *tail;
    bool ended, aborted;
    int refs;
    struct event *waiter; /* the connection waiting for the next chunk */
};

struct db_copy_feed *db_copy_feed_new(void)
{
    struct db_copy_feed *f = xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->refs = 1;
    return f;
}

/* Wakes the waiting connection (outside the lock: event_active takes the base's). */
static void feed_wake(struct event *ev)
{
    if (ev)
        event_active(ev, EV_TIMEOUT, 0);
}

void db_copy_feed_put(struct db_copy_feed *f, char *data, size_t len)
{
    struct feed_chunk *ch = xcalloc(1, sizeof *ch);
    ch->data = data;
    ch->len = len;
    pthread_mutex_lock(&f->lock);
    if (f->ended) {
        pthread_mutex_unlock(&f->lock);
        free(data);
        free(ch);
        return;
    }
    if (f->tail)
        f->tail->next = ch;
    else
        f->head = ch;
    f->tail = ch;
    struct event *ev = f->waiter;
    f->waiter = NULL;
    pthread_mutex_unlock(&f->lock);
    feed_wake(ev);
}

void db_copy_feed_end(struct db_copy_feed *f, bool ok)
{
    pthread_mutex_lock(&f->lock);
    if (!f->ended) {
        f->ended = true;
        f->aborted = !ok;
    }
    struct event *ev = f->waiter;
    f->waiter = NULL;
    pthread_mutex_unlock(&f->lock);
    feed_wake(ev);
}

bool db_copy_feed_aborted(struct db_copy_feed *f)
{
    pthread_mutex_lock(&f->lock);
    bool aborted = f->aborted;
    pthread_mutex_unlock(&f->lock);
    return aborted;
}

void db_copy_feed_release(struct db_copy_feed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    int left = --f->refs;
    pthread_mutex_unlock(&f->lock);
    if (left)
        return;
    for (struct feed_chunk *ch = f->head, *next; ch; ch = next) {
        next = ch->next;
        free(ch->data);
        free(ch);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void db_job_add_copy_feed(struct db_job *job, const char *copy_sql, struct db_copy_feed *feed)
{
    struct db_cmd *c = job_push(job);
    c->kind = CMD_COPY;
    c->sql = xstrdup(copy_sql);
    c->feed = feed;
    pthread_mutex_lock(&feed->lock);
    feed->refs++;
    pthread_mutex_unlock(&feed->lock);
}

static void job_free(struct db_job *job)
{
    for (int i = 0; i < job->ncmds; i++) {
        struct db_cmd *c = &job->cmds[i];
        for (int j = 0; j < c->nparams; j++)
            free(c->params[j]);
        free(c->params);
        free(c->sql);
        free(c->copy_data);
        if (c->feed) {
            pthread_mutex_lock(&c->feed->lock);
            c->feed->waiter = NULL; /* this job was its only reader */
            pthread_mutex_unlock(&c->feed->lock);
            db_copy_feed_release(c->feed);
        }
        if (c->result)
            PQclear(c->result);
    }
    free(job->cmds);
    free(job->error);
    free(job);
}

enum db_status db_job_status(const struct db_job *job)
{
    return job->status;
}

const char *db_job_error(const struct db_job *job)
{
    return job->error ? job->error : "";
}

const char *db_job_constraint(const struct db_job *job)
{
    return job->constraint;
}

const char *db_job_sqlstate(const struct db_job *job)
{
    return job->sqlstate;
}

PGresult *db_job_result(const struct db_job *job, int cmd)
{
    return cmd >= 0 && cmd < job->ncmds ? job->cmds[cmd].result : NULL;
}

PGresult *db_job_take_result(struct db_job *job, int cmd)
{
    if (cmd < 0 || cmd >= job->ncmds)
        return NULL;
    PGresult *res = job->cmds[cmd].result;
    job->cmds[cmd].result = NULL;
    return res;
}

int db_job_ncmds(const struct db_job *job)
{
    return job->ncmds;
}

const char *db_val(const PGresult *res, int row, int col)
{
    if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int db_nrows(const PGresult *res)
{
    return res ? PQntuples(res) : 0;
}

void db_result_free(PGresult *res)
{
    PQclear(res);
}

/* ---- connections ---- */

enum conn_state {
    CONN_DOWN,       /* waiting for the backoff timer */
    CONN_RESOLVING,  /* waiting for the DSN's host names (dnslookup) */
    CONN_CONNECTING, /* PQconnectPoll in progress */
    CONN_IDLE,
    CONN_PREPARING, /* PQsendPrepare sent for the current command */
    CONN_EXECUTING, /* command sent, reading results */
    CONN_COPYING,   /* sending COPY data */
    CONN_ROLLBACK,  /* cleaning up a transaction left open by a failed job */
    CONN_LSN,       /* a write is done: reading the primary's WAL position after it */
};

struct db_conn {
    enum conn_state state;
    struct db_pool *pool;
    PGconn *pg;
    struct event *rev, *wev, *timer;
    struct event *feedev;    /* activated when a COPY feed this connection waits on has more */
    struct event *pacev;     /* a fed COPY resumes after a pause (giving way to reads) */
    struct pace pace;        /* a fed COPY's rate while requests are being served */
    uint64_t copy_total;     /* bytes of this fed COPY sent so far */
    bool copy_charged;       /* the chunk in hand has been counted by pace */
    uint64_t feed_wait_from; /* waiting for the producer since (0: not waiting) */
    uint64_t feed_waited_us; /* the time this fed COPY waited for its producer */
    int fd;
    int backoff_ms;
    struct db_job *job;
    int cmd;          /* index of the command in progress */
    size_t copy_sent; /* bytes of COPY data handed to libpq */
    bool copy_ended;
    bool recycling; /* closed after a cancel and opening anew: still counted as up */
    unsigned char prepared[DB_MAX_STMTS];
    /* While resolving: the target being looked up, and the host, hostaddr and port lists
     * built so far (one item per address). */
    struct dns_wait *dnsq;
    int target;
    bool lookup_sync;
    int naddrs;
    struct strbuf hosts, addrs, ports;
    char resolve_err[160];
};

/* ---- a push gives way to reads ----
 * A fed COPY (a push) is the heaviest thing the database does for matd, and on a small
 * machine it takes the CPU the readers need. While requests are being answered, the COPY
 * pauses between chunks so that it goes at [limits] push_busy_share_pct of the rate COPYs
 * reach when nothing holds them back (learnt from the COPYs that ran without a pause;
 * PostgreSQL's vacuum_cost_delay does the same for VACUUM). The pause is a timer on this
 * loop: nothing blocks and no thread is held. With no requests it runs flat out. */

static _Atomic int copy_busy_share_pct = 100;
static _Atomic uint64_t copy_max_total_pause_us = 10000000;
static _Atomic uint64_t copy_learnt_bps; /* 0 until a COPY has been timed */
#define COPY_FIRST_BPS (8u << 20)        /* the rate assumed before one is learnt */
#define COPY_MAX_PAUSE_US 250000

void db_pool_set_push_busy_share(int pct, int max_total_pause_ms)
{
    copy_busy_share_pct = pct < 1 ? 1 : pct > 100 ? 100 : pct;
    copy_max_total_pause_us = (uint64_t)(max_total_pause_ms > 0 ? max_total_pause_ms : 1) * 1000u;
}

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void copy_pace_begin(struct db_conn *c)
{
    uint64_t learnt = copy_learnt_bps;
    pace_init(&c->pace, copy_busy_share_pct / 100.0, (double)(learnt ? learnt : COPY_FIRST_BPS),
              COPY_MAX_PAUSE_US, copy_max_total_pause_us);
    pace_begin(&c->pace, monotonic_us(), metrics_requests_total());
    c->copy_total = 0;
    c->copy_charged = true; /* nothing in hand yet */
    c->feed_wait_from = c->feed_waited_us = 0;
}

/* The fed COPY is complete: a run without pauses teaches the flat-out rate. The time spent
 * waiting for the producer (a JSON parse is slower than a COPY) is not the COPY's: it is left
 * out of the rate learnt. */
static void copy_pace_end(struct db_conn *c)
{
    double measured =
        pace_measured_bps(&c->pace, monotonic_us() - c->feed_waited_us, c->copy_total);
    if (measured > 0)
        copy_learnt_bps = (uint64_t)pace_learn((double)copy_learnt_bps, measured);
}

/* The chunk in hand has gone: true if the COPY pauses now (the timer resumes it). Never
 * while other jobs wait for a connection of the pool: a paused COPY holds its connection,
 * and waiting for it would cost them more than the CPU the pause gives back. */
static bool copy_pause(struct db_conn *c, size_t chunk_len, bool others_waiting)
{
    if (c->copy_charged)
        return false;
    c->copy_charged = true;
    c->copy_total += chunk_len;
    if (others_waiting)
        return false;
    uint64_t pause = pace_pause_us(&c->pace, monotonic_us(), chunk_len, metrics_requests_total());
    if (!pause)
        return false;
    struct timeval tv = {.tv_sec = (time_t)(pause / 1000000u),
                         .tv_usec = (suseconds_t)(pause % 1000000u)};
    evtimer_add(c->pacev, &tv);
    event_del(c->wev); /* else a socket still draining the chunk calls for the next at once */
    metrics_add(METRIC_PUSH_PAUSES, 1);
    return true;
}

/* One entry of the DSN's host list. */
#define DB_MAX_HOSTS 8
#define DB_MAX_ADDRS 16
struct db_target {
    char *host;   /* as written */
    char *port;   /* "" = libpq's default */
    bool is_name; /* resolved here (never by libpq, which would block the loop) */
    bool is_ip;
};

struct db_pool {
    struct event_base *base;
    char *dsn;
    int size, queue_max, queued, up, connect_timeout_ms;
    bool ever_up;        /* before the first connection, jobs wait for it rather than fail */
    char *dsn_options;   /* the DSN's own options=, kept ahead of statement_timeout */
    struct dns_ctx *dns; /* NULL unless the DSN names a host */
    struct db_target targets[DB_MAX_HOSTS];
    int ntargets;
    struct db_conn *conns;
    TAILQ_HEAD(, db_job) queue;
    struct replica_set *replicas; /* of a primary pool, when replica_dsn names any */
};

static void conn_start(struct db_conn *c);
static void conn_dispatch(struct db_pool *pool);
static void conn_step(struct db_conn *c);

static void conn_watch(struct db_conn *c, bool want_write)
{
    event_add(c->rev, NULL);
    if (want_write)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
}

static bool job_retry_on_primary(struct db_job *job);

static void job_finish(struct db_job *job)
{
    if (job_retry_on_primary(job))
        return;
    if (!job->cancelled && job->done)
        job->done(job, job->arg);
    job_free(job);
}

static void conn_close(struct db_conn *c)
{
    evtimer_del(c->pacev);
    if (c->dnsq) {
        dns_cancel(c->dnsq);
        c->dnsq = NULL;
    }
    if (c->rev) {
        event_free(c->rev);
        event_free(c->wev);
        c->rev = c->wev = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    memset(c->prepared, 0, sizeof c->prepared);
}

/* Counted in pool->up: connected, or being replaced after a cancel (conn_recycle). */
static bool conn_is_up(const struct db_conn *c)
{
    return c->recycling ||
           (c->state != CONN_DOWN && c->state != CONN_CONNECTING && c->state != CONN_RESOLVING);
}

/* The connection failed: fail its job, schedule a reconnect with backoff. */
static void conn_lost(struct db_conn *c, const char *why)
{
    struct db_pool *pool = c->pool;
    bool was_up = conn_is_up(c);
    bool committed = c->state == CONN_LSN; /* the write is done; only its position is lost */
    c->recycling = false;
    if (was_up)
        pool->up--;
    /* The address that failed (or went away) is asked for again on the next attempt. */
    if (pool->dns && c->state != CONN_RESOLVING)
        for (int i = 0; i < pool->ntargets; i++)
            if (pool->targets[i].is_name)
                dns_forget(pool->dns, pool->targets[i].host);
    log_warn("msg=\"database connection lost\" reason=\"%s\" backoff_ms=%d", why, c->backoff_ms);
    conn_close(c);
    c->state = CONN_DOWN;
    struct db_job *job = c->job;
    c->job = NULL;
    if (job) {
        if (!committed)
            job->status = DB_UNAVAILABLE;
        job->conn = NULL;
        job_finish(job);
    }
    /* With no usable connection left, queued jobs fail now rather than wait. */
    if (pool->up == 0) {
        struct db_job *q;
        while ((q = TAILQ_FIRST(&pool->queue)) != NULL) {
            TAILQ_REMOVE(&pool->queue, q, link);
            pool->queued--;
            q->status = DB_UNAVAILABLE;
            job_finish(q);
        }
    }
    struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    c->backoff_ms = c->backoff_ms * 2 > 5000 ? 5000 : c->backoff_ms * 2;
}

static void conn_fail_job(struct db_conn *c, PGresult *res)
{
    struct db_job *job = c->job;
    job->status = DB_ERROR;
    free(job->error);
    /* The primary message only: DETAIL and CONTEXT may quote row values. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
    job->error = xstrdup(msg && *msg ? msg : "database error");
    size_t n = strlen(job->error);
    while (n && (job->error[n - 1] == '\n' || job->error[n - 1] == ' '))
        job->error[--n] = '\0';
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(job->sqlstate, sizeof job->sqlstate, "%s", st ? st : "");
    const char *cn = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(job->constraint, sizeof job->constraint, "%s", cn ? cn : "");
}

/* Sends the current command (or its PREPARE first). */
static void conn_send(struct db_conn *c)
{
    struct db_job *job = c->job;
    struct db_cmd *cmd = &job->cmds[c->cmd];
    int ok;
    switch (cmd->kind) {
    case CMD_PREPARED:
        if (!c->prepared[cmd->stmt]) {
            ok = PQsendPrepare(c->pg, stmts[cmd->stmt].name, stmts[cmd->stmt].sql, 0, NULL);
            c->state = CONN_PREPARING;
        } else {
            ok = PQsendQueryPrepared(c->pg, stmts[cmd->stmt].name, cmd->nparams,
                                     (const char *const *)cmd->params, NULL, NULL, 0);
            c->state = CONN_EXECUTING;
        }
        break;
    case CMD_SQL:
    case CMD_COPY:
        ok = PQsendQuery(c->pg, cmd->sql);
        c->state = CONN_EXECUTING;
        c->copy_sent = 0;
        c->copy_ended = false;
        if (cmd->feed)
            copy_pace_begin(c);
        break;
    default:
        ok = 0;
    }
    if (!ok) {
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_lost(c, "flush failed");
        return;
    }
    conn_watch(c, f == 1);
}

/* Job finished (or failed): roll back if a transaction is open, then go idle. A write
 * whose work is committed first asks for the primary's position (db_job_want_lsn). */
static void conn_job_over(struct db_conn *c)
{
    struct db_job *job = c->job;
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        /* libpq's own error for a lost connection carries no SQLSTATE: the job fails as
         * unavailable (503, not 500) and the connection is opened anew. */
        conn_lost(c, "server closed the connection");
        return;
    }
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (job->want_lsn && !job->cancelled && ts == PQTRANS_IDLE) {
        /* The insert position: at or past the end of the commit record, even with
         * synchronous_commit off (the write position could still be behind it). */
        if (!PQsendQuery(c->pg, "SELECT pg_current_wal_insert_lsn()::text")) {
            c->state = CONN_LSN;
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        c->state = CONN_LSN;
        conn_watch(c, PQflush(c->pg) == 1);
        return;
    }
    c->job = NULL;
    job->conn = NULL;
    job_finish(job);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        if (!PQsendQuery(c->pg, "ROLLBACK")) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        c->state = CONN_ROLLBACK;
        conn_watch(c, PQflush(c->pg) == 1);
        return;
    }
    c->state = CONN_IDLE;
    conn_dispatch(c->pool);
}

/* The next chunk of a fed COPY into cmd->copy_data: 1 got one; 0 none yet (the
 * connection is woken when one comes); -1 the feed ended; -2 it was aborted. */
static int feed_next(struct db_conn *c, struct db_cmd *cmd)
{
    struct db_copy_feed *f = cmd->feed;
    free(cmd->copy_data);
    cmd->copy_data = NULL;
    cmd->copy_len = 0;
    c->copy_sent = 0;
    int rc;
    pthread_mutex_lock(&f->lock);
    struct feed_chunk *ch = f->head;
    if (f->aborted) {
        rc = -2;
    } else if (ch) {
        f->head = ch->next;
        if (!f->head)
            f->tail = NULL;
        cmd->copy_data = ch->data;
        cmd->copy_len = ch->len;
        c->copy_charged = false;
        free(ch);
        rc = 1;
    } else if (f->ended) {
        rc = -1;
    } else {
        f->waiter = c->feedev;
        rc = 0;
    }
    pthread_mutex_unlock(&f->lock);
    if (rc == 0 && !c->feed_wait_from)
        c->feed_wait_from = monotonic_us();
    else if (rc != 0 && c->feed_wait_from) {
        c->feed_waited_us += monotonic_us() - c->feed_wait_from;
        c->feed_wait_from = 0;
    }
    return rc;
}

/* Feeds COPY data without blocking; returns false if it must wait for writability (or, for
 * a fed COPY, for the next chunk). */
static bool conn_copy_more(struct db_conn *c)
{
    struct db_cmd *cmd = &c->job->cmds[c->cmd];
    if (evtimer_pending(c->pacev, NULL))
        return false; /* pausing: only the timer resumes (not a read, nor a feed's wake) */
again:
    while (c->copy_sent < cmd->copy_len) {
        size_t chunk = cmd->copy_len - c->copy_sent;
        if (chunk > 65536)
            chunk = 65536;
        int r = PQputCopyData(c->pg, cmd->copy_data + c->copy_sent, (int)chunk);
        if (r < 0) {
            conn_lost(c, PQerrorMessage(c->pg));
            return false;
        }
        if (r == 0) {
            conn_watch(c, true);
            return false;
        }
        c->copy_sent += chunk;
        /* The next chunk only once the socket has taken this one: libpq's buffer stays a
         * chunk deep (not the whole load), and the loop serves others between chunks. */
        int f = PQflush(c->pg);
        if (f < 0) {
            conn_lost(c, "flush failed");
            return false;
        }
        if (f == 1) {
            conn_watch(c, true);
            return false;
        }
    }
    const char *refused = NULL;
    if (cmd->feed && !c->copy_ended && copy_pause(c, cmd->copy_len, c->pool->queued > 0))
        return false;
    if (cmd->feed && !c->copy_ended) {
        int next = feed_next(c, cmd);
        if (next == 1)
            goto again;
        if (next == 0) {
            conn_watch(c, false);
            return false;
        }
        if (next == -2) /* the producer refused its own data: the COPY fails, nothing stays */
            refused = "the data was refused before it was complete";
    }
    if (!c->copy_ended) {
        int r = PQputCopyEnd(c->pg, refused);
        if (r < 0) {
            conn_lost(c, PQerrorMessage(c->pg));
            return false;
        }
        if (r == 0) {
            conn_watch(c, true);
            return false;
        }
        c->copy_ended = true;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_lost(c, "flush failed");
        return false;
    }
    c->state = CONN_EXECUTING;
    conn_watch(c, f == 1);
    return true;
}

/* Reads every available result of the command in progress. */
static void conn_read_results(struct db_conn *c)
{
    for (;;) {
        if (PQisBusy(c->pg))
            return;
        PGresult *res = PQgetResult(c->pg);
        if (c->state == CONN_LSN) {
            if (res) {
                if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                    !lsn_parse(PQgetvalue(res, 0, 0), &c->job->lsn))
                    c->job->lsn = 0;
                PQclear(res);
                continue;
            }
            struct db_job *job = c->job;
            c->job = NULL;
            job->conn = NULL;
            job_finish(job);
            c->state = CONN_IDLE;
            conn_dispatch(c->pool);
            return;
        }
        if (c->state == CONN_ROLLBACK) {
            if (res) {
                PQclear(res);
                continue;
            }
            c->state = CONN_IDLE;
            conn_dispatch(c->pool);
            return;
        }
        struct db_job *job = c->job;
        struct db_cmd *cmd = &job->cmds[c->cmd];
        if (res) {
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_COPY_IN) {
                PQclear(res);
                c->state = CONN_COPYING;
                if (!conn_copy_more(c))
                    return;
                continue;
            }
            if (c->state == CONN_PREPARING) {
                if (st != PGRES_COMMAND_OK) {
                    conn_fail_job(c, res);
                    PQclear(res);
                    job->status = DB_ERROR;
                    continue; /* drain to NULL, then finish */
                }
                PQclear(res);
                continue;
            }
            if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
                if (job->status == DB_OK)
                    conn_fail_job(c, res);
                PQclear(res);
                continue;
            }
            if (cmd->result)
                PQclear(cmd->result);
            cmd->result = res;
            continue;
        }
        /* NULL: the command is complete. */
        if (job->status != DB_OK) {
            conn_job_over(c);
            return;
        }
        if (c->state == CONN_PREPARING) {
            c->prepared[cmd->stmt] = 1;
            conn_send(c);
            return;
        }
        if (cmd->feed)
            copy_pace_end(c);
        if (++c->cmd < job->ncmds) {
            conn_send(c);
            return;
        }
        conn_job_over(c);
        return;
    }
}

static void conn_feed_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct db_conn *c = arg;
    if (c->state == CONN_COPYING && c->job)
        conn_copy_more(c);
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct db_conn *c = arg;
    if (c->state == CONN_CONNECTING) {
        conn_step(c);
        return;
    }
    if (what & EV_WRITE) {
        if (c->state == CONN_COPYING) {
            if (!conn_copy_more(c))
                return;
        } else {
            int f = PQflush(c->pg);
            if (f < 0) {
                conn_lost(c, "flush failed");
                return;
            }
            conn_watch(c, f == 1);
        }
    }
    if (what & EV_READ) {
        if (!PQconsumeInput(c->pg)) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        if (c->state == CONN_IDLE) {
            /* Nothing expected: a notice, or the server closing on us. */
            PGresult *r;
            while (!PQisBusy(c->pg) && (r = PQgetResult(c->pg)) != NULL)
                PQclear(r);
            if (PQstatus(c->pg) == CONNECTION_BAD)
                conn_lost(c, "server closed the connection");
            return;
        }
        conn_read_results(c);
    }
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct db_conn *c = arg;
    if (c->state == CONN_CONNECTING || c->state == CONN_RESOLVING) {
        conn_lost(c, c->state == CONN_RESOLVING ? "name resolution timeout" : "connect timeout");
        return;
    }
    conn_start(c);
}

static void conn_set_fd(struct db_conn *c)
{
    int fd = PQsocket(c->pg);
    if (c->rev && fd == c->fd)
        return;
    if (c->rev) {
        event_free(c->rev);
        event_free(c->wev);
    }
    c->fd = fd;
    c->rev = event_new(c->pool->base, fd, EV_READ | EV_PERSIST, conn_io, c);
    c->wev = event_new(c->pool->base, fd, EV_WRITE | EV_PERSIST, conn_io, c);
}

/* Advances PQconnectPoll. */
static void conn_step(struct db_conn *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        conn_set_fd(c); /* the socket may change between attempts */
        event_del(c->rev);
        event_del(c->wev);
        event_add(st == PGRES_POLLING_READING ? c->rev : c->wev, NULL);
        return;
    case PGRES_POLLING_OK:
        evtimer_del(c->timer);
        if (PQsetnonblocking(c->pg, 1) != 0) {
            conn_lost(c, "cannot set nonblocking");
            return;
        }
        conn_set_fd(c);
        event_del(c->wev);
        event_add(c->rev, NULL);
        c->state = CONN_IDLE;
        c->backoff_ms = 100;
        if (c->recycling)
            c->recycling = false; /* counted as up while it was replaced */
        else
            c->pool->up++;
        c->pool->ever_up = true;
        if (c->pool->up == c->pool->size)
            log_info("msg=\"database pool ready\" connections=%d", c->pool->size);
        else
            log_debug("msg=\"database connection ready\" up=%d size=%d", c->pool->up,
                      c->pool->size);
        conn_dispatch(c->pool);
        return;
    default:
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
}

static _Atomic int statement_timeout_ms;

void db_pool_set_statement_timeout(int ms)
{
    statement_timeout_ms = ms;
}

/* Opens the connection; with host names in the DSN, to the addresses found for them. */
static void conn_connect(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    /* The DSN first (expanded), then what overrides it: a statement running past the
     * timeout is cancelled by the server itself, whatever happens to the request. */
    char *options =
        xasprintf("%s%s-c statement_timeout=%d", pool->dsn_options ? pool->dsn_options : "",
                  pool->dsn_options ? " " : "", statement_timeout_ms);
    const char *keys[6] = {"dbname"}, *values[6] = {pool->dsn};
    int n = 1;
    if (pool->dns) {
        /* host stays the name (TLS verification, .pgpass); hostaddr is what is dialled. */
        keys[n] = "host", values[n++] = c->hosts.data;
        keys[n] = "hostaddr", values[n++] = c->addrs.data;
        keys[n] = "port", values[n++] = c->ports.data;
    }
    keys[n] = "options", values[n++] = options;
    keys[n] = NULL, values[n] = NULL;
    c->pg = PQconnectStartParams(keys, values, 1);
    free(options);
    if (c->pg)
        db_log_notices(c->pg);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    c->state = CONN_CONNECTING;
    conn_step(c);
}

/* Adds one address of target t to the lists libpq will try in order. */
static void conn_add_address(struct db_conn *c, const struct db_target *t, const char *addr)
{
    if (c->naddrs == DB_MAX_ADDRS)
        return;
    const char *sep = c->naddrs++ ? "," : "";
    strbuf_printf(&c->hosts, "%s%s", sep, t->host);
    strbuf_printf(&c->addrs, "%s%s", sep, addr);
    strbuf_printf(&c->ports, "%s%s", sep, t->port);
}

static void conn_resolve_next(struct db_conn *c);

static void conn_resolved(void *arg, const char *err, const char *const *addrs, int naddrs)
{
    struct db_conn *c = arg;
    c->dnsq = NULL;
    const struct db_target *t = &c->pool->targets[c->target];
    if (err)
        snprintf(c->resolve_err, sizeof c->resolve_err, "%s", err);
    for (int i = 0; i < naddrs; i++)
        conn_add_address(c, t, addrs[i]);
    if (!c->lookup_sync)
        conn_resolve_next(c);
}

/* Looks up the DSN's names one after another; a name that does not resolve is left out,
 * and the attempt fails like a refused connection when nothing is left to dial. */
static void conn_resolve_next(struct db_conn *c)
{
    struct db_pool *pool = c->pool;
    while (++c->target < pool->ntargets) {
        const struct db_target *t = &pool->targets[c->target];
        if (!t->is_name) {
            /* An IP literal is dialled as given; a socket directory needs no hostaddr. */
            conn_add_address(c, t, t->is_ip ? t->host : "");
            continue;
        }
        c->lookup_sync = true;
        c->dnsq = dns_lookup(pool->dns, t->host, conn_resolved, c);
        c->lookup_sync = false;
        if (c->dnsq)
            return; /* conn_resolved continues */
    }
    if (c->naddrs == 0) {
        conn_lost(c, c->resolve_err[0] ? c->resolve_err : "no address for the database host");
        return;
    }
    conn_connect(c);
}

static void conn_start(struct db_conn *c)
{
    int t = c->pool->connect_timeout_ms;
    struct timeval tv = {t / 1000, (t % 1000) * 1000};
    evtimer_add(c->timer, &tv); /* bounds name resolution and connection together */
    if (!c->pool->dns) {
        conn_connect(c);
        return;
    }
    c->state = CONN_RESOLVING;
    c->target = -1;
    c->naddrs = 0;
    c->resolve_err[0] = '\0';
    strbuf_free(&c->hosts), strbuf_free(&c->addrs), strbuf_free(&c->ports);
    strbuf_puts(&c->hosts, ""), strbuf_puts(&c->addrs, ""), strbuf_puts(&c->ports, "");
    conn_resolve_next(c);
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Splits a comma list into at most max owned items; returns the count (-1 if more). */
static int split_list(const char *s, char **out, int max)
{
    int n = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (n == max) {
            for (int i = 0; i < n; i++)
                free(out[i]);
            return -1;
        }
        out[n++] = xstrndup(s, len);
        if (!comma)
            return n;
        s = comma + 1;
    }
}

static const char *conninfo_get(const PQconninfoOption *opts, const char *key, const char *env)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0 && o->val && *o->val)
            return o->val;
    const char *v = env ? getenv(env) : NULL;
    return v && *v ? v : NULL;
}

/* Reads the DSN's hosts (as libpq would: the DSN, then PGHOST, PGHOSTADDR, PGPORT): the
 * pool resolves them itself when one is a name and no hostaddr is given. A DSN libpq
 * cannot parse, or whose ports do not match its hosts, is left for libpq to refuse. */
static void pool_plan_targets(struct db_pool *pool)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(pool->dsn, &err);
    if (!opts) {
        PQfreemem(err);
        return;
    }
    const char *options = conninfo_get(opts, "options", NULL);
    pool->dsn_options = options ? xstrdup(options) : NULL;
    const char *host = conninfo_get(opts, "host", "PGHOST");
    const char *port = conninfo_get(opts, "port", "PGPORT");
    char *hosts[DB_MAX_HOSTS], *ports[DB_MAX_HOSTS];
    int nh = 0, np = 0;
    if (!conninfo_get(opts, "hostaddr", "PGHOSTADDR") && host) {
        nh = split_list(host, hosts, DB_MAX_HOSTS);
        if (nh < 0)
            fatal("database dsn: more than %d hosts", DB_MAX_HOSTS);
        np = port ? split_list(port, ports, DB_MAX_HOSTS) : 0;
    }
    PQconninfoFree(opts);
    bool any_name = false;
    for (int i = 0; i < nh; i++) {
        struct db_target *t = &pool->targets[i];
        t->host = hosts[i];
        t->port = xstrdup(np == 1 ? ports[0] : np == nh ? ports[i] : "");
        t->is_ip = is_ip_literal(t->host);
        t->is_name = t->host[0] && t->host[0] != '/' && t->host[0] != '@' && !t->is_ip;
        any_name = any_name || t->is_name;
    }
    pool->ntargets = nh;
    if (np < 0 || (np > 1 && np != nh))
        any_name = false; /* libpq refuses the DSN before any lookup */
    for (int i = 0; i < (np > 0 ? np : 0); i++)
        free(ports[i]);
    if (any_name)
        pool->dns = dns_ctx_new(pool->base);
}

static void conn_dispatch(struct db_pool *pool)
{
    for (int i = 0; i < pool->size && !TAILQ_EMPTY(&pool->queue); i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->state != CONN_IDLE)
            continue;
        struct db_job *job = TAILQ_FIRST(&pool->queue);
        TAILQ_REMOVE(&pool->queue, job, link);
        pool->queued--;
        job->state = JOB_RUNNING;
        job->conn = c;
        c->job = job;
        c->cmd = 0;
        conn_send(c);
    }
}

struct db_pool *db_pool_new_replica(struct event_base *base, const char *dsn, int size,
                                    int queue_max, int connect_timeout_ms)
{
    struct db_pool *pool = xcalloc(1, sizeof *pool);
    pool->base = base;
    pool->dsn = xstrdup(dsn);
    pool->size = size;
    pool->queue_max = queue_max;
    pool->connect_timeout_ms = connect_timeout_ms;
    TAILQ_INIT(&pool->queue);
    pool_plan_targets(pool);
    pool->conns = xcalloc((size_t)size, sizeof *pool->conns);
    for (int i = 0; i < size; i++) {
        struct db_conn *c = &pool->conns[i];
        c->pool = pool;
        c->fd = -1;
        c->backoff_ms = 100;
        c->timer = evtimer_new(base, conn_timer, c);
        c->feedev = event_new(base, -1, 0, conn_feed_ready, c);
        c->pacev = evtimer_new(base, conn_feed_ready, c);
        strbuf_init(&c->hosts), strbuf_init(&c->addrs), strbuf_init(&c->ports);
        conn_start(c);
    }
    return pool;
}

struct db_pool *db_pool_new(struct event_base *base, const char *dsn, int size, int queue_max,
                            int connect_timeout_ms)
{
    struct db_pool *pool = db_pool_new_replica(base, dsn, size, queue_max, connect_timeout_ms);
    pool->replicas = replica_set_new(base, pool, size, queue_max, connect_timeout_ms);
    return pool;
}

bool db_pool_has_replicas(const struct db_pool *pool)
{
    return pool->replicas != NULL;
}

struct replica_set *db_pool_replicas(const struct db_pool *pool)
{
    return pool->replicas;
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    replica_set_free(pool->replicas); /* its jobs on this pool are cancelled first */
    pool->replicas = NULL;
    struct db_job *q;
    while ((q = TAILQ_FIRST(&pool->queue)) != NULL) {
        TAILQ_REMOVE(&pool->queue, q, link);
        q->status = DB_UNAVAILABLE;
        job_finish(q);
    }
    for (int i = 0; i < pool->size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->job) {
            c->job->status = DB_UNAVAILABLE;
            job_finish(c->job);
            c->job = NULL;
        }
        conn_close(c);
        event_free(c->timer);
        event_free(c->feedev);
        event_free(c->pacev);
        strbuf_free(&c->hosts), strbuf_free(&c->addrs), strbuf_free(&c->ports);
    }
    dns_ctx_free(pool->dns);
    for (int i = 0; i < pool->ntargets; i++)
        free(pool->targets[i].host), free(pool->targets[i].port);
    free(pool->dsn_options);
    free(pool->conns);
    free(pool->dsn);
    free(pool);
}

int db_pool_up(const struct db_pool *pool)
{
    return pool->up;
}

int db_pool_busy(const struct db_pool *pool)
{
    int busy = 0;
    for (int i = 0; i < pool->size; i++)
        busy += pool->conns[i].job != NULL;
    return busy;
}

int db_pool_queued(const struct db_pool *pool)
{
    return pool->queued;
}

static bool pool_accepts(const struct db_pool *pool)
{
    return !(pool->up == 0 && pool->ever_up) && pool->queued < pool->queue_max;
}

static void pool_enqueue(struct db_pool *pool, struct db_job *job)
{
    job->pool = pool;
    job->state = JOB_QUEUED;
    TAILQ_INSERT_TAIL(&pool->queue, job, link);
    pool->queued++;
    conn_dispatch(pool);
}

int db_pool_submit(struct db_pool *pool, struct db_job *job)
{
    if (job->ncmds == 0)
        fatal("db_pool_submit: a job without commands");
    if (job->read_ok && pool->replicas) {
        int index = -1;
        struct db_pool *replica = replica_pick(pool->replicas, job->min_lsn, &index);
        if (replica && !pool_accepts(replica))
            index = -1;
        replica_count_read(index);
        if (index >= 0) {
            job->home = pool;
            job->served_by = index;
            pool_enqueue(replica, job);
            return 0;
        }
    }
    if (!pool_accepts(pool)) {
        job->cancelled = true;
        job_free(job);
        return -1;
    }
    pool_enqueue(pool, job);
    return 0;
}

/* Whether a replica's failure says nothing about the read itself: the replica went away,
 * is shutting down or not accepting, refused a write, or cancelled the statement for a
 * conflict with recovery. Such a read is run again, once, on the primary. */
static bool replica_failure(const struct db_job *job)
{
    if (job->status == DB_UNAVAILABLE)
        return true;
    if (job->status != DB_ERROR)
        return false;
    const char *st = job->sqlstate;
    return strcmp(st, "25006") == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
           strncmp(st, "57P0", 4) == 0 || strncmp(st, "08", 2) == 0;
}

static bool job_retry_on_primary(struct db_job *job)
{
    if (!job->home || job->cancelled || !replica_failure(job))
        return false;
    struct db_pool *primary = job->home;
    job->home = NULL;
    if (!pool_accepts(primary))
        return false; /* finishes as it failed */
    log_info("msg=\"read retried on the primary\" replica=%d reason=\"%s\"", job->served_by + 1,
             job->status == DB_UNAVAILABLE ? "no connection" : job->sqlstate);
    for (int i = 0; i < job->ncmds; i++)
        if (job->cmds[i].result) {
            PQclear(job->cmds[i].result);
            job->cmds[i].result = NULL;
        }
    free(job->error);
    job->error = NULL;
    job->sqlstate[0] = job->constraint[0] = '\0';
    job->status = DB_OK;
    job->served_by = -1;
    job->conn = NULL;
    replica_count_retry();
    pool_enqueue(primary, job);
    return true;
}

/* PQcancel opens a connection and blocks: it runs on a short-lived detached thread of its
 * own, tied to no event loop (so nothing is left pending when a loop stops). */
static void *cancel_thread(void *arg)
{
    char err[256];
    PQcancel(arg, err, sizeof err);
    PQfreeCancel(arg);
    return NULL;
}

static void cancel_in_background(PGcancel *pc)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, cancel_thread, pc) != 0)
        PQfreeCancel(pc); /* statement_timeout still ends the statement */
    pthread_attr_destroy(&attr);
}

/* A job cancelled while it runs: its connection is closed and opened anew. PQcancel
 * stops whatever the backend runs when the signal lands, which a few milliseconds after the
 * cancelled statement can be the next job's (measured: 198 of 200 statements sent right
 * after a cancel were cancelled); a new backend has a new cancel key, so the cancel on its
 * way cannot reach it. Closing also ends the job at once: nothing more of it is sent (a
 * COPY waiting for data, which PostgreSQL would not cancel, ends with it), and its open
 * transaction rolls back. The connection counts as up meanwhile, so a one-connection pool
 * does not refuse work while it reconnects. */
static void conn_recycle(struct db_conn *c)
{
    struct db_job *job = c->job;
    c->job = NULL;
    job->conn = NULL;
    bool was_up = conn_is_up(c);
    conn_close(c);
    c->state = CONN_DOWN;
    c->recycling = was_up;
    job_finish(job); /* cancelled: freed without an answer */
    log_debug("msg=\"database connection recycled after a cancel\"");
    conn_start(c);
}

void db_job_abandon(struct db_job *job)
{
    if (job->state != JOB_RUNNING) {
        db_job_cancel(job);
        return;
    }
    job->cancelled = true; /* freed when it ends, unanswered */
}

void db_job_cancel(struct db_job *job)
{
    if (job->state == JOB_NEW) {
        job_free(job);
        return;
    }
    if (job->state == JOB_QUEUED) {
        TAILQ_REMOVE(&job->pool->queue, job, link);
        job->pool->queued--;
        job_free(job);
        return;
    }
    job->cancelled = true;
    struct db_conn *c = job->conn;
    if (!c) /* being finished: freed by whoever finishes it */
        return;
    /* Ask the server to stop the running statement (the pool's statement_timeout ends it
     * anyway), and take the connection out of use (conn_recycle). */
    PGcancel *pc = c->pg ? PQgetCancel(c->pg) : NULL;
    if (pc)
        cancel_in_background(pc);
    conn_recycle(c);
}
