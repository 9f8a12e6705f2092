/* Per-worker denial counters (lib/tally.c): flushed to audit_log as aggregate rows, and to
 * the request log as one line per key beyond its first few. */
#include "denials.h"

#include <stdio.h>
#include <stdlib.h>

#include "db_pool.h"
#include "log.h"
#include "tally.h"
#include "util.h"

struct denials {
    struct tally *audit; /* DENIALS_SLOTS keys */
    struct tally *log;   /* DENIALS_LOG_KEYS keys */
};

static int stmt_insert;

void denials_init(void)
{
    stmt_insert = db_stmt_register(
        "denials_insert",
        "INSERT INTO audit_log (trust_id, principal_id, method, path, status, client_addr, count) "
        "VALUES ($1, $2, '*', '*', $3, $4, $5)");
}

struct denials *denials_new(void)
{
    struct denials *d = xcalloc(1, sizeof *d);
    d->audit = tally_new(DENIALS_SLOTS);
    d->log = tally_new(DENIALS_LOG_KEYS);
    return d;
}

void denials_free(struct denials *d)
{
    if (!d)
        return;
    tally_free(d->audit);
    tally_free(d->log);
    free(d);
}

void denials_count(struct denials *d, const char *client_addr, long long token_id, int status)
{
    tally_count(d->audit, client_addr, token_id, status);
}

struct db_job *denials_flush(struct denials *d, const char *trust)
{
    size_t n = tally_nrows(d->audit);
    if (n == 0)
        return NULL;
    struct db_job *job = db_job_new(NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct tally_row *s = tally_row(d->audit, i);
        char token[24], status[8], count[24];
        snprintf(token, sizeof token, "%lld", s->token_id);
        snprintf(status, sizeof status, "%d", s->status);
        snprintf(count, sizeof count, "%ld", s->count);
        const char *params[5] = {trust, s->token_id ? token : NULL, status, s->addr, count};
        db_job_add(job, stmt_insert, 5, params);
    }
    tally_reset(d->audit);
    return job;
}

bool denials_log_line(struct denials *d, const char *client_addr, long long token_id, int status)
{
    long n = tally_count(d->log, client_addr, token_id, status);
    return n > 0 && n <= DENIALS_LOG_PER_KEY;
}

void denials_log_flush(struct denials *d, int period_s)
{
    for (size_t i = 0; i < tally_nrows(d->log); i++) {
        const struct tally_row *s = tally_row(d->log, i);
        /* The overflow row ("*", status 0) had no line of its own. */
        long logged = s->status == 0                   ? 0
                      : s->count < DENIALS_LOG_PER_KEY ? s->count
                                                       : DENIALS_LOG_PER_KEY;
        if (s->count > logged)
            log_info("msg=\"denied requests, counted\" client=%s principal=%lld status=%d "
                     "count=%ld logged=%ld period_s=%d",
                     s->addr, s->token_id, s->status, s->count, logged, period_s);
    }
    tally_reset(d->log);
}
