/* PostgreSQL WAL positions (LSNs) and the arithmetic of read replicas: parsing and writing
 * "16/B374D848", splitting the replica_dsn list, and a replica's lag in time measured
 * against a ring of the primary's recent positions (pure: the pool feeds it samples). */
#ifndef MAT_LSN_H
#define MAT_LSN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "X/Y" (hexadecimal halves, each up to 8 digits, as pg_lsn prints) to a number; false
 * for anything else (empty, signs, spaces, more digits). */
bool lsn_parse(const char *s, uint64_t *out);
/* The same form back; out holds at least LSN_TEXT_MAX bytes. */
#define LSN_TEXT_MAX 20
void lsn_format(uint64_t lsn, char out[LSN_TEXT_MAX]);

/* Splits the replica list: entries separated by '|' (a '|' inside single quotes belongs
 * to its value), each trimmed; empty entries are skipped. Returns the count, or -1 with
 * err set when there are more than max entries or an entry is left unbalanced by a quote.
 * out[i] are owned (free them). */
int lsn_split_dsn_list(const char *list, char **out, int max, char *err, size_t errlen);

/* The primary's recent positions, sampled at a steady pace; a replica's time lag is the
 * age of the oldest sample it has not replayed yet (0 when it has replayed them all).
 * With the primary idle the samples stop moving and a replica that has caught up lags 0. */
#define LSN_RING 256
struct lsn_ring {
    long long ms[LSN_RING];
    uint64_t lsn[LSN_RING];
    int head, count; /* head = next slot written */
};
void lsn_ring_init(struct lsn_ring *ring);
/* Records the primary's position at time now_ms (positions never go back: a smaller one,
 * as after a failover to an older primary, restarts the ring). */
void lsn_ring_add(struct lsn_ring *ring, long long now_ms, uint64_t lsn);
/* The newest sample (0 when empty). */
uint64_t lsn_ring_latest(const struct lsn_ring *ring);
/* Lag of a replica that has replayed up to replay, at now_ms: 0 when every sample is
 * replayed; at least the ring's span when none is (the ring holds LSN_RING samples). */
long long lsn_ring_lag_ms(const struct lsn_ring *ring, long long now_ms, uint64_t replay);

#endif
