/* Triad review reports: the other members of a triad (and admin, and the executive head
 * of the focus school) write the report on the focus school; its agreed actions join the
 * monitoring schedule. Versions are kept; the latest is served. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "util.h"

static int stmt_triad, stmt_put, stmt_refresh, stmt_get;

void h_reviews_init(void)
{
    stmt_triad = db_stmt_register(
        "review_triad",
        "SELECT array_to_string(t.members, ','), t.host, r.status, t.year, t.term "
        "FROM triads t JOIN rotas r ON r.trust_id = t.trust_id AND r.id = t.rota_id "
        "WHERE t.trust_id = $1 AND t.rota_id = $2 AND t.triad = $3");
    stmt_put = db_stmt_register(
        "review_put",
        "INSERT INTO triad_reviews (trust_id, rota_id, triad, urn, version, body, principal_id) "
        "SELECT $1, $2, $3, $4, coalesce(max(version), 0) + 1, $5::jsonb, $6 FROM triad_reviews "
        "WHERE trust_id = $1 AND rota_id = $2 AND triad = $3 AND urn = $4 RETURNING version");
    stmt_refresh =
        db_stmt_register("review_refresh", "SELECT review_refresh_monitoring($1, $2, $3, $4)");
    stmt_get = db_stmt_register(
        "review_get",
        "SELECT json_build_object('rota_id', rota_id, 'triad', triad, 'school', urn, 'version', "
        " version, 'received_at', received_at, 'principal_id', principal_id, 'report', body)::text "
        "FROM triad_reviews WHERE trust_id = $1 AND rota_id = $2 AND triad = $3 AND urn = $4 "
        "ORDER BY version DESC LIMIT 1");
}

struct review_state {
    char trust[24], principal[24];
    bool writing;
};

static bool member_of(const char *members, const char *urn)
{
    size_t n = strlen(urn);
    for (const char *p = members; (p = strstr(p, urn)) != NULL; p += n)
        if ((p == members || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* May this principal write the report on urn in a triad of these members? */
static bool may_write(const struct principal *p, const char *members, const char *urn)
{
    if (p->role == ROLE_ADMIN)
        return true;
    if (p->role == ROLE_EXECUTIVE_HEAD)
        return auth_can_read_school(p, urn);
    if (p->role != ROLE_SCHOOL || p->nurns != 1)
        return false;
    return strcmp(p->urns[0], urn) != 0 && member_of(members, p->urns[0]);
}

static bool may_read(const struct principal *p, const char *members, const char *urn)
{
    if (auth_can_read_school(p, urn))
        return true;
    return p->role == ROLE_SCHOOL && p->nurns == 1 && member_of(members, p->urns[0]);
}

/* Everything a caller may not see answers this one 404: a rota that is a draft, a triad
 * that does not exist, a school outside the triad, a report outside the caller's scope,
 * and a report not written yet, so that probing reveals no draft and no other triad. */
static const char not_found[] = "no review report for this school in this triad";

static void on_saved(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    const char *doc = db_val(db_job_result(job, REQ_LOCKED_FIRST + 2), 0, 0);
    req_reply_json_text(r, 201, doc);
}

/* Action refs address monitoring items: unique within a report. */
static bool actions_ok(struct req *r)
{
    json_t *seen = json_object();
    struct mat_errors errs;
    mat_errors_init(&errs);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(r->json, "actions"), i, a)
    {
        const char *ref = json_string_value(json_object_get(a, "ref"));
        if (!ref)
            continue;
        if (json_object_get(seen, ref)) {
            char path[48];
            snprintf(path, sizeof path, "/actions/%zu/ref", i);
            mat_errors_add(&errs, path, "action ref \"%s\" is used twice in this report", ref);
        }
        json_object_set_new(seen, ref, json_true());
    }
    json_decref(seen);
    bool ok = errs.count == 0;
    if (!ok)
        req_reply_problem(r, 422, "the report breaks a rule", &errs);
    mat_errors_free(&errs);
    return ok;
}

static void on_triad(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct review_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    const char *urn = req_param(r, "urn");
    const char *members = db_nrows(res) == 1 ? db_val(res, 0, 0) : "";
    bool published = db_nrows(res) == 1 && strcmp(db_val(res, 0, 2), "published") == 0;
    if (!published || !member_of(members, urn) || !may_read(&r->principal, members, urn)) {
        req_reply_problem(r, 404, not_found, NULL);
        return;
    }
    if (st->writing && !may_write(&r->principal, members, urn)) {
        /* A reader who is no writer (the focus school itself) learns nothing new here. */
        req_reply_problem(r, 403,
                          "only the other members of this triad (or an admin) may write the "
                          "review of this school",
                          NULL);
        return;
    }
    const char *params[4] = {st->trust, req_param(r, "id"), req_param(r, "triad"), urn};
    if (!st->writing) {
        struct db_job *get = db_job_new(NULL, NULL);
        db_job_add(get, stmt_get, 4, params);
        req_submit_one_row(r, get, not_found);
        return;
    }
    /* Only now, the caller being one who may write here, is the body looked at. */
    if (!req_body_valid(r) || !actions_ok(r))
        return;
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *put[6] = {params[0], params[1], params[2], params[3], body, st->principal};
    char lock[128];
    snprintf(lock, sizeof lock, "review:%s:%s:%s:%s", params[0], params[1], params[2], urn);
    struct db_job *save = req_locked_job(lock);
    db_job_add(save, stmt_put, 6, put);
    db_job_add(save, stmt_refresh, 4, params);
    db_job_add(save, stmt_get, 4, params);
    free(body);
    req_submit_locked(r, save, on_saved);
}

static void start(struct req *r, bool writing)
{
    long id, triad;
    if (!parse_long(req_param(r, "id"), 1, 0x7fffffffffffffffL, &id) ||
        !parse_long(req_param(r, "triad"), 1, 1000000, &triad) || !urn_valid(req_param(r, "urn"))) {
        req_reply_problem(r, 404, not_found, NULL);
        return;
    }
    struct review_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = free;
    st->writing = writing;
    snprintf(st->trust, sizeof st->trust, "%lld", req_trust(r));
    snprintf(st->principal, sizeof st->principal, "%lld", r->principal.token_id);
    const char *params[3] = {st->trust, req_param(r, "id"), req_param(r, "triad")};
    req_submit_one(r, stmt_triad, 3, params, on_triad);
}

void h_review_put(struct req *r)
{
    start(r, true);
}

void h_review_get(struct req *r)
{
    start(r, false);
}
