/* Triad rotas: draft one for given terms (the planner runs on the offload pool with the
 * schools, strengths and full pairing history read from the database), list, read,
 * publish (409 when a published rota already covers a term), and a school's triads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "metrics.h"
#include "rota_service.h"
#include "termly.h"
#include "util.h"

static int stmt_replan_input, stmt_replan_store;
static int stmt_input, stmt_store, stmt_get, stmt_list, stmt_publish, stmt_publish_terms,
    stmt_school_triads, stmt_explain;

void h_rotas_init(void)
{
    stmt_input = db_stmt_register("rota_input",
                                  "SELECT rota_planner_input($1, $2::jsonb, $3::jsonb, $4)::text");
    stmt_store = db_stmt_register("rota_store",
                                  "SELECT rota_store_json($1, $2, $3::jsonb, $4::jsonb, $5)::text");
    stmt_get = db_stmt_register("rota_get", "SELECT rota_json($1, $2)::text");
    stmt_explain = db_stmt_register("rota_explain", "SELECT rota_explain($1, $2)::text");
    stmt_replan_input = db_stmt_register(
        "rota_replan_input",
        "SELECT rota_replan_input($1, $2, $3)::text, EXISTS (SELECT 1 FROM rotas WHERE "
        "trust_id = $1 AND id = $2)");
    stmt_replan_store = db_stmt_register(
        "rota_replan_store", "SELECT rota_store_replan($1, $2, $3::jsonb, $4::jsonb, $5)::text");
    stmt_list = db_stmt_register(
        "rota_list",
        "SELECT coalesce(json_agg(json_build_object('id', r.id, 'status', r.status, 'source', "
        " r.source, 'created_at', r.created_at, 'published_at', r.published_at, 'terms', "
        " (SELECT json_agg(json_build_object('year', t.year, 'term', t.term) ORDER BY t.year, "
        "  array_position(ARRAY['autumn', 'spring', 'summer'], t.term)) FROM rota_terms t "
        "  WHERE t.trust_id = r.trust_id AND t.rota_id = r.id)) ORDER BY r.id DESC), '[]')::text, "
        " count(*), min(r.id) FROM (SELECT * FROM rotas WHERE trust_id = $1 AND id < $2 "
        " ORDER BY id DESC LIMIT $3) r");
    stmt_publish = db_stmt_register("rota_publish",
                                    "UPDATE rotas SET status = 'published', published_at = "
                                    "coalesce(published_at, now()) WHERE trust_id = $1 AND id = $2 "
                                    "RETURNING id");
    stmt_publish_terms = db_stmt_register(
        "rota_publish_terms",
        "UPDATE rota_terms SET published = true WHERE trust_id = $1 AND rota_id = $2");
    stmt_school_triads = db_stmt_register(
        "school_triads",
        "SELECT coalesce(json_agg(json_build_object('rota_id', x.rota_id, 'triad', x.triad, "
        " 'year', x.year, 'term', x.term, 'host', x.host, 'members', x.members, 'role', "
        " CASE WHEN x.host = $2 THEN 'host' ELSE 'reviewer' END) ORDER BY x.year, "
        " array_position(ARRAY['autumn', 'spring', 'summer'], x.term)), '[]')::text "
        "FROM triads x JOIN rota_terms rt ON rt.trust_id = x.trust_id AND rt.rota_id = x.rota_id "
        " AND rt.year = x.year AND rt.term = x.term "
        "WHERE x.trust_id = $1 AND $2 = ANY (x.members) AND rt.published");
}

static void reply_text(struct req *r, int status, struct db_job *job, int cmd)
{
    const char *doc = db_val(db_job_result(job, cmd), 0, 0);
    if (!doc) {
        req_reply_problem(r, 404, "no such rota", NULL);
        return;
    }
    req_reply_json_text(r, status, doc);
}

/* ---- draft ---- */

struct plan_work {
    char rota_id[24]; /* re-plan: the rota it replaces; "" for a new draft */
    char *input;
    char *plan;
    struct mat_errors errs;
};

static void plan_work_free(void *p)
{
    struct plan_work *w = p;
    free(w->input);
    free(w->plan);
    mat_errors_free(&w->errs);
    free(w);
}

static void plan_run(void *p)
{
    struct plan_work *w = p;
    if (rota_service_plan(w->input, strlen(w->input), false, &w->plan, &w->errs) != 0)
        w->plan = NULL;
}

static void on_stored(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    metrics_add(METRIC_ROTA_RUNS, 1);
    reply_text(r, 201, job, 0);
}

static void plan_done(struct req *r, void *p)
{
    struct plan_work *w = p;
    if (!w->plan) {
        req_reply_problem(r, 422, "the rota cannot be planned with these schools and constraints",
                          &w->errs);
        plan_work_free(w);
        return;
    }
    const char *trust = req_trust_str(r);
    char principal[24];
    snprintf(principal, sizeof principal, "%lld", r->principal.token_id);
    const char *params[5] = {trust, w->rota_id[0] ? w->rota_id : "api", w->input, w->plan,
                             principal};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, w->rota_id[0] ? stmt_replan_store : stmt_store, 5, params);
    plan_work_free(w);
    req_submit(r, job, on_stored);
}

static void on_input(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct plan_work *w = xcalloc(1, sizeof *w);
    mat_errors_init(&w->errs);
    w->input = xstrdup(db_val(db_job_result(job, 0), 0, 0));
    req_offload(r, plan_run, plan_done, plan_work_free, w);
}

void h_rotas_create(struct req *r)
{
    json_t *terms = json_object_get(r->json, "terms");
    size_t i;
    json_t *t;
    json_array_foreach(terms, i, t)
    {
        const char *year = json_string_value(json_object_get(t, "year"));
        if (!academic_year_valid(year)) {
            char path[48];
            snprintf(path, sizeof path, "/terms/%zu/year", i);
            req_reply_field_error(r, 422, path, "year must be an academic year like 2025-26");
            return;
        }
    }
    const char *trust = req_trust_str(r);
    char seed[24];
    json_t *s = json_object_get(r->json, "seed");
    snprintf(seed, sizeof seed, "%lld", s ? (long long)json_integer_value(s) : 1LL);
    char *terms_text = json_dumps(terms, JSON_COMPACT);
    json_t *c = json_object_get(r->json, "constraints");
    char *constraints = c ? json_dumps(c, JSON_COMPACT) : NULL;
    const char *params[4] = {trust, terms_text, constraints, seed};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_input, 4, params);
    free(terms_text);
    free(constraints);
    req_submit(r, job, on_input);
}

/* ---- read, list, publish ---- */

static bool rota_id_ok(struct req *r)
{
    long id;
    if (parse_long(req_param(r, "id"), 1, 0x7fffffffffffffffL, &id))
        return true;
    req_reply_problem(r, 404, "no such rota", NULL);
    return false;
}

static void on_got(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    reply_text(r, 200, job, 0);
}

void h_rotas_get(struct req *r)
{
    if (!rota_id_ok(r))
        return;
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "id")};
    req_submit_one(r, stmt_get, 2, params, on_got);
}

/* Why the rota is as it is: computed by rota_explain() (sql/011) from the stored triads. */
void h_rotas_explain(struct req *r)
{
    if (!rota_id_ok(r))
        return;
    const char *params[2] = {req_trust_str(r), req_param(r, "id")};
    req_submit_one(r, stmt_explain, 2, params, on_got);
}

void h_rotas_list(struct req *r)
{
    struct req_page pg;
    if (!req_page_open(r, "9223372036854775807", true, &pg))
        return;
    const char *params[3] = {req_trust_str(r), pg.after, pg.limit_text};
    req_submit_one(r, stmt_list, 3, params, req_on_page);
}

static void on_published(struct req *r, struct db_job *job)
{
    if (db_job_status(job) == DB_ERROR && strcmp(db_job_sqlstate(job), "23505") == 0) {
        req_reply_problem(r, 409,
                          "a published rota already covers one of this rota's terms; its triads "
                          "stand until a re-plan replaces them",
                          NULL);
        return;
    }
    if (req_reply_db_failure(r, job))
        return;
    if (db_nrows(db_job_result(job, 1)) != 1) {
        req_reply_problem(r, 404, "no such rota", NULL);
        return;
    }
    reply_text(r, 200, job, 3);
}

void h_rotas_publish(struct req *r)
{
    if (!rota_id_ok(r))
        return;
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "id")};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN");
    db_job_add(job, stmt_publish, 2, params);
    db_job_add(job, stmt_publish_terms, 2, params);
    db_job_add(job, stmt_get, 2, params);
    db_job_add_sql(job, "COMMIT");
    req_submit(r, job, on_published);
}

static void on_school_triads(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    req_reply_page(r, db_val(db_job_result(job, 0), 0, 0), 0, 1, NULL);
}

void h_school_triads(struct req *r)
{
    if (!req_page_whole(r))
        return;
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "urn")};
    req_submit_one(r, stmt_school_triads, 2, params, on_school_triads);
}

/* ---- re-plan after schools joined or left ---- */

static void on_replan_input(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    if (strcmp(db_val(res, 0, 1), "t") != 0) {
        req_reply_problem(r, 404, "no such rota", NULL);
        return;
    }
    if (!db_val(res, 0, 0)) {
        req_reply_problem(r, 409, "every term of this rota has started: nothing left to re-plan",
                          NULL);
        return;
    }
    struct plan_work *w = xcalloc(1, sizeof *w);
    mat_errors_init(&w->errs);
    snprintf(w->rota_id, sizeof w->rota_id, "%s", req_param(r, "id"));
    w->input = xstrdup(db_val(res, 0, 0));
    req_offload(r, plan_run, plan_done, plan_work_free, w);
}

void h_rotas_replan(struct req *r)
{
    if (!rota_id_ok(r))
        return;
    const char *seed = req_query(r, "seed");
    long v = 1;
    if (seed && !parse_long(seed, 0, 4294967295L, &v)) {
        req_reply_field_error(r, 422, "seed", "seed must be an integer from 0 to 4294967295");
        return;
    }
    char seed_s[24];
    snprintf(seed_s, sizeof seed_s, "%ld", v);
    const char *params[3] = {req_trust_str(r), req_param(r, "id"), seed_s};
    req_submit_one(r, stmt_replan_input, 3, params, on_replan_input);
}
