/* Deployments of the trust's experts (SPEC 6.7): GET /v1/deployments proposes the optimal
 * plan for a term (libmat's deploy solver over the cached priorities, the experts and the
 * term's published assignments, kept where they still fit); POST .../publish records it;
 * GET /v1/moderation groups schools under moderators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "h_priorities.h"
#include "handlers.h"
#include "util.h"

static int stmt_schools, stmt_experts, stmt_kept, stmt_clear, stmt_store;

void h_deployments_init(void)
{
    stmt_schools = db_stmt_register(
        "deploy_schools", "SELECT urn, name, phase, lat, lon, coalesce(pupils_on_roll, 0) "
                          "FROM schools WHERE trust_id = $1 AND (left_on IS NULL OR "
                          "left_on > current_date) ORDER BY urn");
    stmt_experts = db_stmt_register("deploy_experts",
                                    "SELECT id, name, role, home_urn, expertise::text, "
                                    "days_per_term FROM experts WHERE trust_id = $1 ORDER BY id");
    stmt_kept = db_stmt_register(
        "deploy_kept", "SELECT expert_id, priority_id, to_char(published_at AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM deployments WHERE trust_id = $1 "
                       "AND year = $2 AND term = $3 ORDER BY priority_id");
    stmt_clear = db_stmt_register(
        "deploy_clear", "DELETE FROM deployments WHERE trust_id = $1 AND year = $2 AND term = $3");
    stmt_store = db_stmt_register(
        "deploy_store",
        "INSERT INTO deployments (trust_id, year, term, priority_id, expert_id, urn, sentence, "
        " published_by) SELECT $1, $2, $3, x.priority_id, x.expert_id, x.urn, x.sentence, $5 "
        "FROM json_to_recordset($4::json) AS x(priority_id text, expert_id text, urn text, "
        " sentence text)");
}

/* The loaded inputs; every string is borrowed from the results or the parsed JSON. */
struct deploy_state {
    bool publish, moderation;
    char subject[65];
    struct prio_cached *c;
    PGresult *schools_res, *experts_res, *kept_res;
    struct deploy_school *schools;
    struct deploy_expert *experts;
    json_t **expertise; /* per expert */
    const char **strs;  /* the expertise arrays, one block */
    struct deploy_kept *kept;
    struct deploy_input in;
    struct deploy_plan *plan;
    struct priorities_list *seen;    /* the items as the trust reads them (SPEC §8) */
    struct priorities_cohort reader; /* what the caller may see of them */
};

static void deploy_state_free(void *p)
{
    struct deploy_state *st = p;
    for (size_t i = 0; st->expertise && i < st->in.n_experts; i++)
        json_decref(st->expertise[i]);
    free(st->expertise);
    free(st->strs);
    free(st->schools);
    free(st->experts);
    free(st->kept);
    db_result_free(st->schools_res);
    db_result_free(st->experts_res);
    db_result_free(st->kept_res);
    deploy_plan_free(st->plan);
    priorities_list_free(st->seen);
    free(st);
}

static size_t read_schools(struct deploy_state *st)
{
    PGresult *r = st->schools_res;
    size_t n = (size_t)db_nrows(r);
    st->schools = xcalloc(n + 1, sizeof *st->schools);
    for (int i = 0; i < (int)n; i++) {
        struct deploy_school *s = &st->schools[i];
        s->urn = db_val(r, i, 0);
        s->name = db_val(r, i, 1);
        s->phase = db_val(r, i, 2);
        s->has_location = db_val(r, i, 3) && db_val(r, i, 4);
        s->lat = s->has_location ? atof(db_val(r, i, 3)) : 0;
        s->lon = s->has_location ? atof(db_val(r, i, 4)) : 0;
        s->pupils = atoi(db_val(r, i, 5));
    }
    return n;
}

/* Points *out at the strings of expertise[key] inside the block at *at. */
static size_t take_list(json_t *expertise, const char *key, const char ***at,
                        const char *const **out)
{
    json_t *a = json_object_get(expertise, key);
    *out = *at;
    for (size_t i = 0; i < json_array_size(a); i++)
        *(*at)++ = json_string_value(json_array_get(a, i));
    return json_array_size(a);
}

static size_t read_experts(struct deploy_state *st)
{
    PGresult *r = st->experts_res;
    size_t n = (size_t)db_nrows(r), total = 0;
    st->experts = xcalloc(n + 1, sizeof *st->experts);
    st->expertise = xcalloc(n + 1, sizeof *st->expertise);
    static const char *const keys[] = {"subjects", "sef_areas", "phases", "groups"};
    for (int i = 0; i < (int)n; i++) {
        json_error_t err;
        st->expertise[i] = json_loads(db_val(r, i, 4), 0, &err);
        for (size_t k = 0; k < ARRAY_LEN(keys); k++)
            total += json_array_size(json_object_get(st->expertise[i], keys[k]));
    }
    st->strs = xcalloc(total + 1, sizeof *st->strs);
    const char **at = st->strs;
    for (int i = 0; i < (int)n; i++) {
        struct deploy_expert *e = &st->experts[i];
        e->id = db_val(r, i, 0);
        e->name = db_val(r, i, 1);
        e->role = db_val(r, i, 2);
        e->home_urn = db_val(r, i, 3);
        e->days = atoi(db_val(r, i, 5));
        e->n_subjects = take_list(st->expertise[i], "subjects", &at, &e->subjects);
        e->n_sef_areas = take_list(st->expertise[i], "sef_areas", &at, &e->sef_areas);
        e->n_phases = take_list(st->expertise[i], "phases", &at, &e->phases);
        e->n_groups = take_list(st->expertise[i], "groups", &at, &e->groups);
    }
    return n;
}

/* Takes the three results of a load job (schools, experts, kept) and fills st->in. */
static void take_inputs(struct req *r, struct deploy_state *st, struct db_job *job, int first)
{
    st->schools_res = db_job_take_result(job, first);
    st->experts_res = db_job_take_result(job, first + 1);
    st->in.schools = st->schools;
    st->in.n_schools = read_schools(st);
    st->in.schools = st->schools;
    st->in.n_experts = read_experts(st);
    st->in.experts = st->experts;
    if (db_job_ncmds(job) > first + 2) {
        st->kept_res = db_job_take_result(job, first + 2);
        size_t n = (size_t)db_nrows(st->kept_res);
        st->kept = xcalloc(n + 1, sizeof *st->kept);
        for (int i = 0; i < (int)n; i++) {
            st->kept[i].expert_id = db_val(st->kept_res, i, 0);
            st->kept[i].priority_id = db_val(st->kept_res, i, 1);
        }
        st->in.kept = st->kept;
        st->in.n_kept = n;
    }
    (void)r;
}

static void add_loads(struct db_job *job, const char *const params[3], bool kept)
{
    db_job_add(job, stmt_schools, 1, params);
    db_job_add(job, stmt_experts, 1, params);
    if (kept)
        db_job_add(job, stmt_kept, 3, params);
}

static const char *published_at(const struct deploy_state *st)
{
    return st->kept_res && db_nrows(st->kept_res) ? db_val(st->kept_res, 0, 2) : NULL;
}

/* The plan as JSON for the caller: an executive head sees their schools only. */
static void reply_plan(struct req *r, struct deploy_state *st, const char *at)
{
    const struct principal *p = &r->principal;
    const char **visible = NULL;
    if (!auth_trust_wide(p)) {
        visible = xcalloc((size_t)p->nurns + 1, sizeof *visible);
        for (int i = 0; i < p->nurns; i++)
            visible[i] = p->urns[i];
    }
    size_t len = 0;
    char *bytes =
        deploy_plan_to_json(&st->in, st->plan, at, visible, visible ? (size_t)p->nurns : 0, &len);
    req_reply_bytes(r, 200, "application/json; charset=utf-8", bytes, len);
    free(bytes);
    free(visible);
}

static void on_published(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct deploy_state *st = prio_extra(r);
    PGresult *kept = db_job_result(job, db_job_ncmds(job) - 2); /* before COMMIT */
    reply_plan(r, st, db_nrows(kept) ? db_val(kept, 0, 2) : NULL);
}

/* The plan's assignments as the rows the store statement reads. */
static char *plan_rows(const struct deploy_state *st)
{
    json_t *a = json_array();
    for (size_t i = 0; i < st->plan->n_assignments; i++) {
        const struct deploy_assignment *x = &st->plan->assignments[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "priority_id", x->item->id,
                                           "expert_id", st->experts[x->expert].id, "urn",
                                           x->item->urn, "sentence", x->sentence));
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

static void on_loaded(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct deploy_state *st = prio_extra(r);
    take_inputs(r, st, job, 0);
    st->in.year = prio_year(r);
    st->in.term = prio_term(r);
    /* One plan for the trust, from the items its CEO reads; each caller is shown the part
     * they may see. */
    struct priorities_cohort trust;
    prio_cached_cohort(st->c, &trust);
    st->seen = priorities_cohort_view(prio_cached_list(st->c), &trust);
    st->in.list = st->seen;
    prio_cohort(r, st->c, &st->reader);
    st->in.cohort = &st->reader;
    if (deploy_plan_make(&st->in, &st->plan) != 0) {
        req_reply_problem(r, 422, "too many experts or priorities to plan", NULL);
        return;
    }
    if (!st->publish) {
        reply_plan(r, st, published_at(st));
        return;
    }
    char by[24];
    snprintf(by, sizeof by, "%lld", r->principal.token_id);
    char *rows = plan_rows(st);
    const char *params[5] = {req_trust_str(r), prio_year(r), prio_term(r), rows, by};
    char lock[40];
    snprintf(lock, sizeof lock, "deploy|%s", req_trust_str(r));
    struct db_job *w = req_locked_job(lock);
    db_job_add(w, stmt_clear, 3, params);
    db_job_add(w, stmt_store, 5, params);
    db_job_add(w, stmt_kept, 3, params);
    free(rows);
    req_submit_locked(r, w, on_published);
}

static void deployments_serve(struct req *r, struct prio_cached *c)
{
    struct deploy_state *st = prio_extra(r);
    prio_hold(r, c);
    st->c = c;
    const char *params[3] = {req_trust_str(r), prio_year(r), prio_term(r)};
    struct db_job *job = db_job_new(NULL, NULL);
    add_loads(job, params, true);
    req_submit(r, job, on_loaded);
}

static void start(struct req *r, const char *year, const char *term, bool publish)
{
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return;
    prio_start_for(r, year, term, deployments_serve);
    struct deploy_state *st = xcalloc(1, sizeof *st);
    st->publish = publish;
    prio_set_extra(r, st, deploy_state_free);
}

void h_deployments_get(struct req *r)
{
    start(r, req_query(r, "year"), req_query(r, "term"), false);
}

void h_deployments_publish(struct req *r)
{
    start(r, req_param(r, "year"), req_param(r, "term"), true);
}

/* ---- moderation ---- */

static void on_moderation(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct deploy_state *st = r->hstate;
    take_inputs(r, st, job, 0);
    st->in.year = req_query(r, "year");
    st->in.term = req_query(r, "term");
    const char *subject = st->subject[0] ? st->subject : NULL;
    struct deploy_moderation *m = deploy_moderate(&st->in, subject);
    size_t len = 0;
    char *bytes = deploy_moderation_to_json(&st->in, m, subject, &len);
    req_reply_bytes(r, 200, "application/json; charset=utf-8", bytes, len);
    free(bytes);
    deploy_moderation_free(m);
}

void h_moderation(struct req *r)
{
    const char *year = req_query(r, "year"), *term = req_query(r, "term");
    const char *subject = req_query(r, "subject");
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return;
    if (subject && (!*subject || strlen(subject) > 64)) {
        req_reply_field_error(r, 422, "subject", "subject is 1 to 64 characters");
        return;
    }
    struct deploy_state *st = xcalloc(1, sizeof *st);
    st->moderation = true;
    r->hstate = st;
    r->hstate_free = deploy_state_free;
    snprintf(st->subject, sizeof st->subject, "%s", subject ? subject : "");
    const char *params[3] = {req_trust_str(r), year, term};
    struct db_job *job = db_job_new(NULL, NULL);
    add_loads(job, params, false);
    req_submit(r, job, on_moderation);
}
