/* Applies the embedded sql/NNN_*.sql files in order. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log.h"
#include "util.h"

#define MIGRATE_LOCK_KEY "7263540001" /* pg_advisory_xact_lock key for migrations */

PGconn *db_connect_blocking(const char *dsn, int timeout_s)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_s);
    /* dbname is expanded as a connection string; the later keyword wins over it. */
    const char *const keys[] = {"dbname", "connect_timeout", NULL};
    const char *const values[] = {dsn, timeout, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (pg)
        db_log_notices(pg);
    return pg;
}

static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    size_t len = strlen(message);
    while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
        len--;
    log_info("msg=\"database notice\" detail=\"%.*s\"", (int)len, message);
}

void db_log_notices(PGconn *pg)
{
    PQsetNoticeProcessor(pg, notice_to_log, NULL);
}

int migrate_latest(void)
{
    return (int)migrations_count;
}

static int exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

int migrate_apply(PGconn *pg, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    if (exec_ok(pg,
                "SET client_min_messages = warning;"
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                err, errlen) != 0)
        return -1;
    /* Numbers rise strictly; a gap is allowed because numbers are handed out to work in
     * progress on several branches, which merge in any order. */
    int previous = 0;
    for (size_t i = 0; i < migrations_count; i++) {
        const struct embedded_file *f = &migrations_files[i];
        int version = atoi(f->name);
        if (version <= previous) {
            snprintf(err, errlen, "migration %s: numbers must rise (after %03d)", f->name,
                     previous);
            return -1;
        }
        previous = version;
        if (exec_ok(pg, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err, errlen) !=
            0)
            return -1;
        char vbuf[16];
        snprintf(vbuf, sizeof vbuf, "%d", version);
        const char *params[2] = {vbuf, f->name};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                   NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            /* Not knowing whether it ran is not "it did not run": stop, apply nothing. */
            snprintf(err, errlen, "migration %s: cannot read schema_migrations: %s", f->name,
                     PQresultErrorMessage(r));
            PQclear(r);
            PQclear(PQexec(pg, "ROLLBACK"));
            return -1;
        }
        int done = PQntuples(r) == 1;
        PQclear(r);
        if (done) {
            if (exec_ok(pg, "COMMIT", err, errlen) != 0)
                return -1;
            continue;
        }
        if (exec_ok(pg, f->data, err, errlen) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", err);
            snprintf(err, errlen, "migration %s failed: %s", f->name, msg);
            PQclear(PQexec(pg, "ROLLBACK"));
            return -1;
        }
        r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                         NULL, params, NULL, NULL, 0);
        int ins_ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ins_ok)
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (!ins_ok || exec_ok(pg, "COMMIT", err, errlen) != 0) {
            PQclear(PQexec(pg, "ROLLBACK"));
            return -1;
        }
        log_info("msg=\"migration applied\" version=%d name=%s", version, f->name);
        (*applied)++;
    }
    return 0;
}

int migrate_ensure_trust(PGconn *pg, const char *name, long long *trust_id, char *err,
                         size_t errlen)
{
    const char *params[1] = {name};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO trusts (name) VALUES ($1) ON CONFLICT (name) DO "
                               "UPDATE SET name = EXCLUDED.name RETURNING id",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *trust_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}
