/* One check: find the next term start; inside its lead window, under a transaction-scoped
 * advisory lock, draft a rota for it unless scheduler_runs says one was made. */
#include "scheduler.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "rota_service.h"
#include <stdatomic.h>
#include "util.h"

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stopping, started;
static int interval;
static struct server *server;

/* The term to draft for "today", if inside its lead window: the earliest term start after
 * today (configured dates, else 1 Sep / 1 Jan / 15 Apr). */
#define NEXT_TERM_SQL                                                                              \
    "WITH years AS (SELECT (y || '-' || lpad(((y + 1) % 100)::text, 2, '0')) AS year, y "          \
    "  FROM generate_series(extract(year FROM $2::date)::int - 1, "                                \
    "                       extract(year FROM $2::date)::int) y), "                                \
    "starts AS (SELECT years.year, x.term, x.start FROM years LEFT JOIN terms t "                  \
    "  ON t.trust_id = $1 AND t.year = years.year, LATERAL (VALUES "                               \
    "  ('autumn', coalesce(t.autumn, make_date(years.y, 9, 1))), "                                 \
    "  ('spring', coalesce(t.spring, make_date(years.y + 1, 1, 1))), "                             \
    "  ('summer', coalesce(t.summer, make_date(years.y + 1, 4, 15)))) x(term, start)) "            \
    "SELECT year, term, start::text FROM starts WHERE start > $2::date "                           \
    " AND start - $3::int <= $2::date ORDER BY start LIMIT 1"

static PGresult *exec(PGconn *pg, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        for (char *c = msg; *c; c++)
            if (*c == '\n' || *c == '"')
                *c = ' ';
        log_warn("msg=\"scheduler query failed\" error=\"%s\"", msg);
        PQclear(r);
        return NULL;
    }
    return r;
}

static void today(char out[11])
{
    const char *fixed = server->cfg.scheduler_now;
    if (fixed && *fixed) {
        snprintf(out, 11, "%s", fixed);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Returns false when the database was not ready (retry soon). */
static bool check_once(void)
{
    if (!atomic_load(&server->schema_ready))
        return false;
    PGconn *pg = db_connect_blocking(server->cfg.dsn, 5);
    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return false;
    }
    char trust[24], day[11], lead[16];
    snprintf(trust, sizeof trust, "%lld", server->trust_id);
    snprintf(lead, sizeof lead, "%d", server->cfg.rota_lead_days);
    today(day);
    const char *p3[3] = {trust, day, lead};
    PGresult *next = exec(pg, NEXT_TERM_SQL, 3, p3);
    if (!next || PQntuples(next) != 1) {
        PQclear(next);
        PQfinish(pg);
        return next != NULL;
    }
    char year[8], term[8], start[11];
    snprintf(year, sizeof year, "%s", PQgetvalue(next, 0, 0));
    snprintf(term, sizeof term, "%s", PQgetvalue(next, 0, 1));
    snprintf(start, sizeof start, "%s", PQgetvalue(next, 0, 2));
    PQclear(next);
    PGresult *begun = exec(pg, "BEGIN", 0, NULL);
    const char *lk[1] = {trust};
    PGresult *locked =
        begun
            ? exec(pg, "SELECT pg_advisory_xact_lock(hashtextextended('rota-scheduler:' || $1, 0))",
                   1, lk)
            : NULL;
    bool have_lock = locked != NULL;
    PQclear(begun);
    PQclear(locked);
    if (!have_lock) { /* without the lock another instance could draft too: try again later */
        PQclear(exec(pg, "ROLLBACK", 0, NULL));
        PQfinish(pg);
        return false;
    }
    const char *key[3] = {trust, year, term};
    PGresult *done = exec(pg,
                          "SELECT 1 FROM scheduler_runs WHERE trust_id = $1 AND year = $2 AND "
                          "term = $3",
                          3, key);
    bool already = !done || PQntuples(done) > 0;
    PQclear(done);
    if (already) {
        PQclear(exec(pg, "ROLLBACK", 0, NULL));
        PQfinish(pg);
        return true;
    }
    char terms[64];
    snprintf(terms, sizeof terms, "[{\"year\":\"%s\",\"term\":\"%s\"}]", year, term);
    const char *pi[4] = {trust, terms, NULL, "1"};
    PGresult *in = exec(pg, "SELECT rota_planner_input($1, $2::jsonb, $3::jsonb, $4)::text", 4, pi);
    char *plan = NULL;
    struct mat_errors errs;
    mat_errors_init(&errs);
    int rc = in ? rota_service_plan(PQgetvalue(in, 0, 0), (size_t)PQgetlength(in, 0, 0), false,
                                    &plan, &errs)
                : -1;
    const char *rota_id = NULL;
    PGresult *stored = NULL;
    if (rc == 0) {
        const char *ps[5] = {trust, "scheduler", PQgetvalue(in, 0, 0), plan, NULL};
        stored = exec(pg, "SELECT rota_store($1, $2, $3::jsonb, $4::jsonb, $5)", 5, ps);
        rota_id = stored ? PQgetvalue(stored, 0, 0) : NULL;
    }
    /* A run is recorded only with its rota: a failed attempt (too few schools, a database
     * error) is rolled back and tried again at the next check. */
    bool ok = false;
    if (rota_id) {
        const char *run[4] = {trust, year, term, rota_id};
        PGresult *rec = exec(pg,
                             "INSERT INTO scheduler_runs (trust_id, year, term, rota_id) "
                             "VALUES ($1, $2, $3, $4)",
                             4, run);
        ok = rec != NULL;
        PQclear(rec);
    }
    PQclear(exec(pg, ok ? "COMMIT" : "ROLLBACK", 0, NULL));
    metrics_add(METRIC_SCHEDULER_RUNS, 1);
    if (ok) {
        metrics_add(METRIC_ROTA_RUNS, 1);
        log_info("msg=\"scheduler drafted a rota\" year=%s term=%s term_starts=%s rota_id=%s", year,
                 term, start, rota_id);
    } else {
        log_warn("msg=\"scheduler could not plan a rota; will retry\" year=%s term=%s "
                 "reason=\"%s\"",
                 year, term, errs.count ? errs.items[0].message : "database error");
    }
    mat_errors_free(&errs);
    free(plan);
    PQclear(stored);
    PQclear(in);
    PQfinish(pg);
    return true;
}

static void *scheduler_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        pthread_mutex_unlock(&lock);
        bool ran = check_once();
        pthread_mutex_lock(&lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ran ? interval : 1;
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void scheduler_start(struct server *s, int interval_s)
{
    server = s;
    interval = interval_s < 1 ? 1 : interval_s;
    if (pthread_create(&thread, NULL, scheduler_main, NULL) != 0)
        fatal("cannot start the scheduler thread");
    started = true;
}

void scheduler_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    started = false;
}
