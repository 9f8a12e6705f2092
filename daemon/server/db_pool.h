/* Asynchronous PostgreSQL pool, one per worker thread (its own event_base): nonblocking
 * libpq connections, lazily prepared named statements, a bounded FIFO of jobs, COPY IN,
 * reconnect with backoff. A job is a list of commands run in order on one connection;
 * the first failure stops it (and an open transaction is rolled back). */
#ifndef MATD_DB_POOL_H
#define MATD_DB_POOL_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct db_pool;
struct db_job;
struct replica_set;

/* Registered before workers start; ids index the per-connection "prepared" set. */
int db_stmt_register(const char *name, const char *sql);
#define DB_MAX_STMTS 256

enum db_status {
    DB_OK,
    DB_ERROR,       /* the server rejected a command (sqlstate/message set) */
    DB_UNAVAILABLE, /* no connection, or it was lost during the job */
    DB_CANCELLED,   /* db_job_cancel() before completion; done is not called */
};

/* Called once per submitted job that was not cancelled; the pool frees the job (and
 * its results) when done returns. */
typedef void (*db_done_fn)(struct db_job *job, void *arg);

/* statement_timeout of every connection opened from now on (0 = none); before workers. */
void db_pool_set_statement_timeout(int ms);
/* While requests are being served, a push's COPY goes at this percentage of the rate COPYs
 * reach alone (100: never pauses), pausing at most max_total_pause_ms in all (so that
 * pacing never takes a push past its statement or request timeout). */
void db_pool_set_push_busy_share(int pct, int max_total_pause_ms);
struct db_pool *db_pool_new(struct event_base *base, const char *dsn, int size, int queue_max,
                            int connect_timeout_ms);
void db_pool_free(struct db_pool *pool);
/* Connections currently usable (idle or busy). */
int db_pool_up(const struct db_pool *pool);
int db_pool_busy(const struct db_pool *pool);
int db_pool_queued(const struct db_pool *pool);

struct db_job *db_job_new(db_done_fn done, void *arg);
/* Adds a prepared-statement command; params are copied (NULL value = SQL NULL). */
void db_job_add(struct db_job *job, int stmt, int nparams, const char *const *params);
/* Adds a literal SQL command without parameters (BEGIN, COMMIT, SET LOCAL ...). */
void db_job_add_sql(struct db_job *job, const char *sql);
/* Adds COPY ... FROM STDIN with the given data (takes ownership of data, malloc'd). */
void db_job_add_copy(struct db_job *job, const char *copy_sql, char *data, size_t len);

/* A COPY whose data is produced while it runs (a push parsed on the offload pool): the
 * producer, on any thread, puts chunks as they are ready and finally ends the feed - ok, or
 * not ok to abort the COPY (the job then fails and its transaction rolls back). The
 * connection sends each chunk as the socket drains and waits for the next without blocking.
 * The creator holds one reference, a job another; each releases its own. */
struct db_copy_feed;
struct db_copy_feed *db_copy_feed_new(void);
void db_copy_feed_put(struct db_copy_feed *f, char *data, size_t len); /* takes data */
void db_copy_feed_end(struct db_copy_feed *f, bool ok); /* once; later calls are ignored */
bool db_copy_feed_aborted(struct db_copy_feed *f);
void db_copy_feed_release(struct db_copy_feed *f);
/* Adds COPY ... FROM STDIN fed by f (the job takes a reference). */
void db_job_add_copy_feed(struct db_job *job, const char *copy_sql, struct db_copy_feed *f);

/* Replaces the completion callback (before submission). */
void db_job_set_callback(struct db_job *job, db_done_fn done, void *arg);
/* Queues the job. Returns -1 (and frees the job without calling done) when the pool
 * is down or its queue is full: the caller answers 503. */
int db_pool_submit(struct db_pool *pool, struct db_job *job);
/* The caller no longer wants the result: a queued job is dropped; a running one is
 * cancelled on the server and its connection opened anew (done is never called). */
void db_job_cancel(struct db_job *job);
/* The caller no longer wants the result of a job that ends by itself (a COPY whose feed
 * was aborted fails with it, and the transaction rolls back): a queued job is dropped, a
 * running one runs to its end without a cancel and done is never called. */
void db_job_abandon(struct db_job *job);

/* Read replicas ([database] replica_dsn, replica.c). A primary pool made by db_pool_new
 * holds the worker's replicas too: a job allowed on a replica runs on a healthy one that
 * has replayed min_lsn (else on the primary), and a read whose replica fails under it runs
 * again on the primary. A job that wants its LSN learns, after its work is committed, the
 * primary's WAL position (db_job_lsn). Both before submission. */
void db_job_allow_replica(struct db_job *job, uint64_t min_lsn);
void db_job_want_lsn(struct db_job *job);
/* Within done: the primary's WAL position after a committed write, or 0. */
uint64_t db_job_lsn(const struct db_job *job);
/* Within done: -1 when the job ran on the primary, else its replica's index (0-based). */
int db_job_served_by(const struct db_job *job);
bool db_pool_has_replicas(const struct db_pool *pool);
struct replica_set *db_pool_replicas(const struct db_pool *pool); /* NULL without */
/* A pool of one replica's connections (no replicas of its own): replica.c makes them. */
struct db_pool *db_pool_new_replica(struct event_base *base, const char *dsn, int size,
                                    int queue_max, int connect_timeout_ms);

/* Within done: results, one per command run so far. */
enum db_status db_job_status(const struct db_job *job);
const char *db_job_error(const struct db_job *job);    /* message for DB_ERROR */
const char *db_job_sqlstate(const struct db_job *job); /* "23505", or "" */
/* The constraint a failed command broke (unique, check, foreign key), or "". */
const char *db_job_constraint(const struct db_job *job);
PGresult *db_job_result(const struct db_job *job, int cmd);
int db_job_ncmds(const struct db_job *job);
/* Takes ownership of a command's result (PQclear it); the job no longer frees it. */
PGresult *db_job_take_result(struct db_job *job, int cmd);

/* Convenience over a result. */
const char *db_val(const PGresult *res, int row, int col); /* NULL for SQL NULL */
int db_nrows(const PGresult *res);                         /* 0 for NULL */
/* Frees a result taken with db_job_take_result (NULL is fine). */
void db_result_free(PGresult *res);

#endif
