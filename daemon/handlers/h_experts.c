/* The trust's experts (SPEC 6.7): PUT, GET, DELETE /v1/experts/{id} and GET /v1/experts.
 * Admin and ceo write; admin, ceo and executive heads read every expert (staff names are
 * personal data, kept to them); a school reads only the experts a published deployment
 * sends to it, and any other id is a 404 to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_server.h"
#include "util.h"

static int stmt_put, stmt_get, stmt_delete, stmt_list;

/* Experts a principal may read: all, or (for a school) those deployed to its school. */
#define EXPERT_VISIBLE                                                                             \
    "($3::text IS NULL OR EXISTS (SELECT 1 FROM deployments d WHERE d.trust_id = e.trust_id "      \
    " AND d.expert_id = e.id AND d.urn = $3))"

void h_experts_init(void)
{
    /* Nothing is written when the home school is not the trust's (no row comes back). */
    stmt_put = db_stmt_register(
        "experts_put",
        "INSERT INTO experts AS e (trust_id, id, role, name, home_urn, expertise, days_per_term) "
        "SELECT $1, $2, b->>'role', b->>'name', b->>'home_urn', coalesce(b->'expertise', '{}'), "
        " (b->>'days_per_term')::int FROM (SELECT $3::jsonb AS b) x "
        "WHERE EXISTS (SELECT 1 FROM schools s WHERE s.trust_id = $1 AND s.urn = b->>'home_urn') "
        "ON CONFLICT (trust_id, id) DO UPDATE SET role = EXCLUDED.role, name = EXCLUDED.name, "
        " home_urn = EXCLUDED.home_urn, expertise = EXCLUDED.expertise, "
        " days_per_term = EXCLUDED.days_per_term, updated_at = now() "
        "RETURNING expert_json(e)::text, (xmax = 0)");
    stmt_get = db_stmt_register("experts_get",
                                "SELECT expert_json(e)::text FROM experts e WHERE e.trust_id = $1 "
                                "AND e.id = $2 AND " EXPERT_VISIBLE);
    stmt_delete = db_stmt_register(
        "experts_delete", "DELETE FROM experts WHERE trust_id = $1 AND id = $2 RETURNING id");
    stmt_list = db_stmt_register(
        "experts_list",
        "SELECT coalesce(json_agg(expert_json(e) ORDER BY e.id), '[]')::text, count(*), max(e.id) "
        "FROM (SELECT * FROM experts e WHERE e.trust_id = $1 AND e.id > $2 AND " EXPERT_VISIBLE
        " ORDER BY e.id LIMIT $4) e");
}

/* The path's id, or a 422 naming it. */
static const char *path_id(struct req *r)
{
    const char *id = req_param(r, "id");
    size_t n = id ? strlen(id) : 0;
    bool ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
             (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-';
    if (!ok) {
        req_reply_field_error(r, 422, "id", "an expert id is 1 to 64 letters, digits, '_' or '-'");
        return NULL;
    }
    return id;
}

/* A school principal sees only experts deployed to its school: its URN as $3. */
static const char *school_scope(const struct req *r)
{
    return r->principal.role == ROLE_SCHOOL && r->principal.nurns == 1 ? r->principal.urns[0]
                                                                       : NULL;
}

static void on_put(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    if (db_nrows(res) == 0) {
        req_reply_field_error(r, 422, "/home_urn", "no such school in this trust");
        return;
    }
    bool created = db_val(res, 0, 1) && db_val(res, 0, 1)[0] == 't';
    req_reply_json_text(r, created ? 201 : 200, db_val(res, 0, 0));
}

/* Subjects must come from the trust's vocabulary; 422 naming the first one that does not. */
static bool subjects_known(struct req *r)
{
    const struct config *cfg = &r->w->server->cfg;
    json_t *subjects = json_object_get(json_object_get(r->json, "expertise"), "subjects");
    for (size_t i = 0; i < json_array_size(subjects); i++) {
        const char *s = json_string_value(json_array_get(subjects, i));
        if (!config_vocabulary_has(cfg->subject_list, cfg->nsubjects, s)) {
            char path[48];
            snprintf(path, sizeof path, "/expertise/subjects/%zu", i);
            req_reply_field_error(r, 422, path, "not a subject of the trust's vocabulary");
            return false;
        }
    }
    return true;
}

void h_experts_put(struct req *r)
{
    const char *id = path_id(r);
    if (!id)
        return;
    const char *body_id = json_string_value(json_object_get(r->json, "id"));
    if (body_id && strcmp(body_id, id)) {
        req_reply_field_error(r, 422, "/id",
                              "the body names another expert than the path; an id is unique");
        return;
    }
    if (!subjects_known(r))
        return;
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *params[3] = {req_trust_str(r), id, body};
    req_submit_one(r, stmt_put, 3, params, on_put);
    free(body);
}

void h_experts_get(struct req *r)
{
    const char *id = path_id(r);
    if (!id)
        return;
    const char *params[3] = {req_trust_str(r), id, school_scope(r)};
    req_submit_get(r, stmt_get, 3, params, "no such expert");
}

static void on_deleted(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    if (db_nrows(db_job_result(job, 0)) == 0)
        req_reply_problem(r, 404, "no such expert", NULL);
    else
        req_reply_json(r, 204, json_object());
}

void h_experts_delete(struct req *r)
{
    const char *id = path_id(r);
    if (!id)
        return;
    const char *params[2] = {req_trust_str(r), id};
    req_submit_one(r, stmt_delete, 2, params, on_deleted);
}

void h_experts_list(struct req *r)
{
    struct req_page pg;
    if (!req_page_open(r, "", false, &pg))
        return;
    const char *params[4] = {req_trust_str(r), pg.after, school_scope(r), pg.limit_text};
    req_submit_one(r, stmt_list, 4, params, req_on_page);
}
