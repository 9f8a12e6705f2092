/* Per-worker denial counters, flushed to audit_log as aggregate rows. */
#include "denials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pool.h"
#include "util.h"

struct slot {
    char addr[64];
    long long token_id;
    int status;
    long count;
};

struct denials {
    struct slot slots[DENIALS_SLOTS + 1]; /* the last one is the "*" overflow row */
    size_t used;
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
    return xcalloc(1, sizeof(struct denials));
}

void denials_free(struct denials *d)
{
    free(d);
}

void denials_count(struct denials *d, const char *client_addr, long long token_id, int status)
{
    for (size_t i = 0; i < d->used; i++) {
        struct slot *s = &d->slots[i];
        if (s->status == status && s->token_id == token_id && strcmp(s->addr, client_addr) == 0) {
            s->count++;
            return;
        }
    }
    struct slot *s;
    if (d->used < DENIALS_SLOTS) {
        s = &d->slots[d->used++];
        snprintf(s->addr, sizeof s->addr, "%s", client_addr);
        s->token_id = token_id;
        s->status = status;
    } else {
        s = &d->slots[DENIALS_SLOTS];
        snprintf(s->addr, sizeof s->addr, "*");
        s->status = 0; /* mixed */
    }
    s->count++;
}

struct db_job *denials_flush(struct denials *d, const char *trust)
{
    struct slot *over = &d->slots[DENIALS_SLOTS];
    if (d->used == 0 && over->count == 0)
        return NULL;
    struct db_job *job = db_job_new(NULL, NULL);
    for (size_t i = 0; i <= DENIALS_SLOTS; i++) {
        struct slot *s = &d->slots[i];
        if (i >= d->used && s != over)
            continue;
        if (s->count == 0)
            continue;
        char token[24], status[8], count[24];
        snprintf(token, sizeof token, "%lld", s->token_id);
        snprintf(status, sizeof status, "%d", s->status);
        snprintf(count, sizeof count, "%ld", s->count);
        const char *params[5] = {trust, s->token_id ? token : NULL, status, s->addr, count};
        db_job_add(job, stmt_insert, 5, params);
    }
    memset(d, 0, sizeof *d);
    return job;
}
