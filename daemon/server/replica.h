/* Read replicas: per worker, a pool per streaming replica, polled on the worker's loop for
 * how far it has replayed against the primary's sampled WAL position; a read goes to a
 * healthy replica that has replayed past what its client must see, else to the primary.
 * Also the process-wide last write position of each token (read-your-writes). */
#ifndef MATD_REPLICA_H
#define MATD_REPLICA_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct event_base;
struct db_pool;

#define REPLICA_MAX 8
/* How often each worker asks the primary for its position and each replica for its own. */
#define REPLICA_POLL_MS 100

/* Once, before workers start: the '|'-separated conninfo list of [database] replica_dsn
 * ("" = none) and the lag bounds (bytes 0 = none). -1 with err on a bad list. */
int replica_configure(const char *list, int max_lag_ms, int max_lag_bytes, char *err,
                      size_t errlen);
/* Replicas configured (0 = reads stay on the primary). */
int replica_count(void);

/* The last write position of a token, kept in a fixed table of slots each holding the
 * largest position written by any token that hashes there: lock-free, bounded, and never
 * below the token's own last write (a shared slot only makes reads more careful). */
void replica_note_write(long long token_id, uint64_t lsn);
uint64_t replica_token_lsn(long long token_id);

enum replica_state {
    REPLICA_UNKNOWN,     /* not heard from yet */
    REPLICA_OK,          /* serving reads */
    REPLICA_LAGGING,     /* behind by more than replica_max_lag_ms or _bytes */
    REPLICA_DOWN,        /* no connection, a failed poll, or a poll unanswered too long */
    REPLICA_NOT_STANDBY, /* answers, but is not in recovery: not a replica of anything */
};

struct replica_set;
/* The replicas of the worker whose loop is base; primary is that worker's own pool. */
struct replica_set *replica_set_new(struct event_base *base, struct db_pool *primary, int pool_size,
                                    int queue_max, int connect_timeout_ms);
void replica_set_free(struct replica_set *rs); /* NULL is fine */
/* The pool of a healthy replica that has replayed min_lsn (round robin), with its index in
 * *index; NULL when none: the read goes to the primary. */
struct db_pool *replica_pick(struct replica_set *rs, uint64_t min_lsn, int *index);

/* Counters for /metrics: a read sent to replica index (-1 = primary), a read retried on
 * the primary after its replica failed. */
void replica_count_read(int index);
void replica_count_retry(void);
/* The worker's view of its replicas for /readyz: [{replica, state, lag_ms, lag_bytes}],
 * or NULL without replicas. Returns owned. */
json_t *replica_set_json(const struct replica_set *rs);
/* Appends the replica metrics (Prometheus text); nothing without replicas. */
void replica_metrics_render(struct strbuf *out);

#endif
