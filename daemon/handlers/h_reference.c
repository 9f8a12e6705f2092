/* Reference data set by the trust admin: term dates per academic year and the benchmark
 * table (national figures seeded by migration; a PUT replaces the year's table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "handlers.h"
#include "http_server.h"
#include "termly.h"
#include "util.h"

static int stmt_terms_get, stmt_terms_put, stmt_bench_get, stmt_bench_delete, stmt_bench_insert,
    stmt_bench_mark;

void h_reference_init(void)
{
    /* Configured dates, or the defaults of SPEC §4 (1 Sep, 1 Jan, 15 Apr). */
    stmt_terms_get = db_stmt_register(
        "terms_get",
        "SELECT json_build_object('year', y.year, 'autumn', coalesce(t.autumn, "
        " make_date(y.start, 9, 1)), 'spring', coalesce(t.spring, make_date(y.start + 1, 1, 1)), "
        " 'summer', coalesce(t.summer, make_date(y.start + 1, 4, 15)), 'configured', "
        " t.year IS NOT NULL)::text FROM (SELECT $2::text AS year, substr($2, 1, 4)::int AS "
        " start) y LEFT JOIN terms t ON t.trust_id = $1 AND t.year = y.year");
    stmt_terms_put = db_stmt_register(
        "terms_put",
        "INSERT INTO terms (trust_id, year, autumn, spring, summer) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (trust_id, year) DO UPDATE SET autumn = EXCLUDED.autumn, spring = "
        "EXCLUDED.spring, summer = EXCLUDED.summer, updated_at = now()");
    stmt_bench_get = db_stmt_register(
        "benchmarks_get",
        "SELECT json_build_object('year', $2::text, 'source', CASE WHEN EXISTS (SELECT 1 FROM "
        " benchmark_years WHERE trust_id = $1 AND year = $2) THEN 'trust' ELSE 'national' END, "
        " 'items', coalesce(json_agg(json_build_object('subject', subject, 'group', grp, "
        " 'expected', expected, 'greater_depth', greater_depth) ORDER BY subject, grp), "
        "'[]'))::text "
        "FROM benchmarks_for($1, $2)");
    stmt_bench_delete = db_stmt_register(
        "benchmarks_delete", "DELETE FROM benchmarks WHERE trust_id = $1 AND year = $2");
    stmt_bench_insert = db_stmt_register(
        "benchmarks_insert",
        "INSERT INTO benchmarks (trust_id, year, subject, grp, expected, greater_depth) "
        "SELECT $1, $2, i->>'subject', i->>'group', (i->>'expected')::numeric, "
        " (i->>'greater_depth')::numeric FROM jsonb_array_elements($3::jsonb->'items') i");
    stmt_bench_mark = db_stmt_register(
        "benchmarks_mark", "INSERT INTO benchmark_years (trust_id, year) VALUES ($1, $2) "
                           "ON CONFLICT (trust_id, year) DO UPDATE SET updated_at = now()");
}

static void reply_first_value(struct req *r, struct db_job *job, int cmd)
{
    if (req_reply_db_failure(r, job))
        return;
    const char *v = db_val(db_job_result(job, cmd), 0, 0);
    req_reply_json_text(r, 200, v);
}

static void on_terms(struct req *r, struct db_job *job)
{
    reply_first_value(r, job, db_job_ncmds(job) - 1);
}

static void add_terms_get(struct db_job *job, const char *trust, const char *year)
{
    const char *params[2] = {trust, year};
    db_job_add(job, stmt_terms_get, 2, params);
}

void h_terms_get(struct req *r)
{
    if (!req_year_ok(r, req_param(r, "year")))
        return;
    const char *trust = req_trust_str(r);
    struct db_job *job = db_job_new(NULL, NULL);
    add_terms_get(job, trust, req_param(r, "year"));
    req_submit(r, job, on_terms);
}

void h_terms_put(struct req *r)
{
    const char *year = req_param(r, "year");
    if (!req_year_ok(r, year))
        return;
    const char *a = json_string_value(json_object_get(r->json, "autumn"));
    const char *sp = json_string_value(json_object_get(r->json, "spring"));
    const char *su = json_string_value(json_object_get(r->json, "summer"));
    if (strcmp(a, sp) >= 0 || strcmp(sp, su) >= 0) {
        req_reply_field_error(r, 422, strcmp(a, sp) >= 0 ? "/spring" : "/summer",
                              "terms must start in order: autumn < spring < summer");
        return;
    }
    /* The academic year runs from August to July. */
    int start = atoi(year);
    int ay, sy, uy;
    parse_date(a, &ay, NULL, NULL);
    parse_date(sp, &sy, NULL, NULL);
    parse_date(su, &uy, NULL, NULL);
    if (ay != start || sy != start + 1 || uy != start + 1) {
        req_reply_field_error(r, 422,
                              ay != start       ? "/autumn"
                              : sy != start + 1 ? "/spring"
                                                : "/summer",
                              "dates must fall in academic year %s (autumn in %d, spring and "
                              "summer in %d)",
                              year, start, start + 1);
        return;
    }
    const char *trust = req_trust_str(r);
    const char *params[5] = {trust, year, a, sp, su};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_terms_put, 5, params);
    add_terms_get(job, trust, year);
    req_submit(r, job, on_terms);
}

static void on_benchmarks(struct req *r, struct db_job *job)
{
    if (db_job_status(job) == DB_ERROR && strcmp(db_job_sqlstate(job), "23505") == 0) {
        req_reply_field_error(r, 422, "/items", "each (subject, group) may appear only once");
        return;
    }
    reply_first_value(r, job, db_job_ncmds(job) - 2);
}

static void add_bench_get(struct db_job *job, const char *trust, const char *year)
{
    const char *params[2] = {trust, year};
    db_job_add(job, stmt_bench_get, 2, params);
}

void h_benchmarks_get(struct req *r)
{
    const char *year = req_param(r, "year");
    if (!req_year_ok(r, year))
        return;
    const char *trust = req_trust_str(r);
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN READ ONLY");
    add_bench_get(job, trust, year);
    db_job_add_sql(job, "COMMIT");
    req_submit(r, job, on_benchmarks);
}

/* Rules the schema cannot say: a subject of the trust's vocabulary (or rwm, the combined
 * reading, writing and maths measure), and greater depth no more than expected+ (pupils at
 * greater depth are among those at the expected standard or above). */
static bool benchmarks_ok(struct req *r)
{
    const struct config *cfg = &r->w->server->cfg;
    struct mat_errors errs;
    mat_errors_init(&errs);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r->json, "items"), i, item)
    {
        char path[48];
        const char *subject = json_string_value(json_object_get(item, "subject"));
        if (strcmp(subject, "rwm") != 0 &&
            !config_vocabulary_has(cfg->subject_list, cfg->nsubjects, subject)) {
            snprintf(path, sizeof path, "/items/%zu/subject", i);
            mat_errors_add(&errs, path,
                           "subject \"%s\" is not one of the trust's subjects ([trust] subjects) "
                           "or rwm",
                           subject);
        }
        json_t *gd = json_object_get(item, "greater_depth");
        double expected = json_number_value(json_object_get(item, "expected"));
        if (json_is_number(gd) && json_number_value(gd) > expected) {
            snprintf(path, sizeof path, "/items/%zu/greater_depth", i);
            mat_errors_add(&errs, path,
                           "greater_depth (%g) is above expected (%g): pupils at greater depth "
                           "are counted in expected+",
                           json_number_value(gd), expected);
        }
    }
    bool ok = errs.count == 0;
    if (!ok)
        req_reply_problem(r, 422, "the benchmark table breaks a rule", &errs);
    mat_errors_free(&errs);
    return ok;
}

void h_benchmarks_put(struct req *r)
{
    const char *year = req_param(r, "year");
    if (!req_year_ok(r, year) || !benchmarks_ok(r))
        return;
    const char *trust = req_trust_str(r);
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *two[2] = {trust, year};
    const char *three[3] = {trust, year, body};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN");
    db_job_add(job, stmt_bench_delete, 2, two);
    db_job_add(job, stmt_bench_insert, 3, three);
    db_job_add(job, stmt_bench_mark, 2, two);
    add_bench_get(job, trust, year);
    db_job_add_sql(job, "COMMIT");
    free(body);
    req_submit(r, job, on_benchmarks);
}
