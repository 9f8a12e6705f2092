/* Denied requests counted, not written one by one: each worker keeps a bounded table of
 * (client address, token, status) -> count and writes it to audit_log as one row per key
 * every flush period. An unauthenticated flood so costs at most DENIALS_SLOTS + 1 rows per
 * worker per period, never a database write per request. */
#ifndef MATD_DENIALS_H
#define MATD_DENIALS_H
#include <stddef.h>

struct db_job;

/* Keys kept per worker per period; later keys share one "*" row. */
#define DENIALS_SLOTS 64

struct denials;

struct denials *denials_new(void);
void denials_free(struct denials *d);
/* Counts one denial: token_id 0 for an unauthenticated client. Worker thread only. */
void denials_count(struct denials *d, const char *client_addr, long long token_id, int status);
/* A job inserting the period's rows (and empties the table), or NULL when nothing was
 * denied. */
struct db_job *denials_flush(struct denials *d, const char *trust);
/* Registers the statement; once, before workers start. */
void denials_init(void);

#endif
