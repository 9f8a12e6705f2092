/* Denied requests counted, not written one by one. For the audit log, each worker keeps a
 * bounded table of (client address, token, status) -> count and writes it to audit_log as
 * one row per key every flush period: an unauthenticated flood costs at most
 * DENIALS_SLOTS + 1 rows per worker per period, never a database write per request. For
 * the request log the same: the first DENIALS_LOG_PER_KEY denials of a key in a period get
 * their own request line, and the key's count is one line at the period's end, so a flood
 * costs a bounded number of lines, never a line per request. */
#ifndef MATD_DENIALS_H
#define MATD_DENIALS_H
#include <stdbool.h>
#include <stddef.h>

struct db_job;

/* Keys kept per worker per period for the audit log; later keys share one "*" row. */
#define DENIALS_SLOTS 64
/* The same for the request log, and the lines of each key written one by one. */
#define DENIALS_LOG_KEYS 256
#define DENIALS_LOG_PER_KEY 5

struct denials;

struct denials *denials_new(void);
void denials_free(struct denials *d);
/* Counts one denial for the audit log: token_id 0 for an unauthenticated client. Worker
 * thread only. */
void denials_count(struct denials *d, const char *client_addr, long long token_id, int status);
/* A job inserting the period's rows (and empties the table), or NULL when nothing was
 * denied. */
struct db_job *denials_flush(struct denials *d, const char *trust);
/* Counts one denial for the request log: true while its key (address, token, status) has
 * had fewer than DENIALS_LOG_PER_KEY lines this period (write the request's line), false
 * once it is only counted. Worker thread only. */
bool denials_log_line(struct denials *d, const char *client_addr, long long token_id, int status);
/* Writes one line per key of the period that had more denials than lines (its count, and
 * how many were logged one by one), and starts a new period. */
void denials_log_flush(struct denials *d, int period_s);
/* Registers the statement; once, before workers start. */
void denials_init(void);

#endif
