/* The school registry: read in scope, written by admin. Bodies arrive validated against
 * school_create.json / school_patch.json; PostgreSQL unpacks them from one jsonb value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "util.h"

static int stmt_list, stmt_get, stmt_create, stmt_patch;

#define SCHOOL_FIELDS_FROM_JSON(b)                                                                 \
    "b->>'name', b->>'laestab', b->>'phase', b->>'postcode', (b->>'lat')::float8, "                \
    "(b->>'lon')::float8, (b->>'pupils_on_roll')::int, (b->>'joined_on')::date, "                  \
    "(b->>'left_on')::date, coalesce((b->>'category')::bool, false), b->>'executive_head'"

void h_schools_init(void)
{
    stmt_list = db_stmt_register(
        "schools_list",
        "SELECT coalesce(json_agg(school_json(t) ORDER BY t.urn), '[]')::text, count(*), "
        " max(t.urn) FROM (SELECT * FROM schools s WHERE s.trust_id = $1 AND s.urn > $2 "
        " AND ($4::text[] IS NULL OR s.urn = ANY($4::text[])) ORDER BY s.urn LIMIT $3) t");
    stmt_get = db_stmt_register("schools_get", "SELECT school_json(s)::text FROM schools s "
                                               "WHERE s.trust_id = $1 AND s.urn = $2");
    stmt_create = db_stmt_register(
        "schools_create",
        "INSERT INTO schools AS s (trust_id, urn, name, laestab, phase, postcode, lat, lon, "
        " pupils_on_roll, joined_on, left_on, category, executive_head) "
        "SELECT $1, b->>'urn', " SCHOOL_FIELDS_FROM_JSON(
            b) " FROM (SELECT $2::jsonb AS b) x "
               "ON CONFLICT (trust_id, urn) DO NOTHING RETURNING school_json(s)::text");
    /* PATCH: a key present in the body replaces the column; null clears it. */
    stmt_patch = db_stmt_register(
        "schools_patch",
        "UPDATE schools s SET "
        " name = CASE WHEN b ? 'name' THEN b->>'name' ELSE s.name END, "
        " laestab = CASE WHEN b ? 'laestab' THEN b->>'laestab' ELSE s.laestab END, "
        " phase = CASE WHEN b ? 'phase' THEN b->>'phase' ELSE s.phase END, "
        " postcode = CASE WHEN b ? 'postcode' THEN b->>'postcode' ELSE s.postcode END, "
        " lat = CASE WHEN b ? 'lat' THEN (b->>'lat')::float8 ELSE s.lat END, "
        " lon = CASE WHEN b ? 'lon' THEN (b->>'lon')::float8 ELSE s.lon END, "
        " pupils_on_roll = CASE WHEN b ? 'pupils_on_roll' THEN (b->>'pupils_on_roll')::int "
        "  ELSE s.pupils_on_roll END, "
        " joined_on = CASE WHEN b ? 'joined_on' THEN (b->>'joined_on')::date ELSE s.joined_on END, "
        " left_on = CASE WHEN b ? 'left_on' THEN (b->>'left_on')::date ELSE s.left_on END, "
        " category = CASE WHEN b ? 'category' THEN coalesce((b->>'category')::bool, false) "
        "  ELSE s.category END, "
        " executive_head = CASE WHEN b ? 'executive_head' THEN b->>'executive_head' "
        "  ELSE s.executive_head END, "
        " updated_at = now() "
        "FROM (SELECT $3::jsonb AS b) x WHERE s.trust_id = $1 AND s.urn = $2 "
        "RETURNING school_json(s)::text");
}

void h_schools_list(struct req *r)
{
    struct req_page pg;
    if (!req_page_open(r, "", true, &pg))
        return;
    const char *scope = req_scope_urns(r);
    const char *params[4] = {req_trust_str(r), pg.after, pg.limit_text, scope};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_list, 4, params);
    req_submit(r, job, req_on_page);
}

void h_schools_get(struct req *r)
{
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "urn")};
    req_submit_get(r, stmt_get, 2, params, "no such school in this trust");
}

/* Cross-field rule the schema cannot say: a school leaves after it joins. */
static bool dates_in_order(struct req *r)
{
    const char *joined = json_string_value(json_object_get(r->json, "joined_on"));
    const char *left = json_string_value(json_object_get(r->json, "left_on"));
    if (joined && left && strcmp(left, joined) < 0) {
        req_reply_field_error(r, 422, "/left_on", "left_on (%s) is before joined_on (%s)", left,
                              joined);
        return false;
    }
    return true;
}

static void on_created(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    if (db_nrows(res) != 1) {
        req_reply_field_error(r, 409, "/urn", "school %s is already registered",
                              json_string_value(json_object_get(r->json, "urn")));
        return;
    }
    char loc[32];
    snprintf(loc, sizeof loc, "/v1/schools/%s", json_string_value(json_object_get(r->json, "urn")));
    req_set_header(r, "Location", loc);
    req_reply_json_text(r, 201, db_val(res, 0, 0));
}

static char *body_text(const struct req *r)
{
    return json_dumps(r->json, JSON_COMPACT);
}

void h_schools_create(struct req *r)
{
    if (!dates_in_order(r))
        return;
    const char *trust = req_trust_str(r);
    char *body = body_text(r);
    const char *params[2] = {trust, body};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_create, 2, params);
    free(body);
    req_submit(r, job, on_created);
}

static void on_patched(struct req *r, struct db_job *job)
{
    if (db_job_status(job) == DB_ERROR && strcmp(db_job_sqlstate(job), "23514") == 0) {
        req_reply_field_error(r, 422, "/left_on", "left_on must not be before joined_on");
        return;
    }
    r->not_found = "no such school in this trust";
    req_on_one_row(r, job);
}

void h_schools_patch(struct req *r)
{
    if (!dates_in_order(r))
        return;
    const char *trust = req_trust_str(r);
    char *body = body_text(r);
    const char *params[3] = {trust, req_param(r, "urn"), body};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_patch, 3, params);
    free(body);
    req_submit(r, job, on_patched);
}
