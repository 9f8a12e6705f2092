/* Tokens (issue, list, revoke) and the audit log: admin only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "handlers.h"
#include "util.h"

static int stmt_create, stmt_list, stmt_revoke, stmt_audit_list;

void h_tokens_init(void)
{
    /* Creates the token only when every URN in its scope is a registered school. */
    stmt_create = db_stmt_register(
        "tokens_create",
        "WITH missing AS (SELECT u FROM unnest($5::text[]) u WHERE NOT EXISTS "
        " (SELECT 1 FROM schools s WHERE s.trust_id = $1 AND s.urn = u)) "
        "INSERT INTO tokens (trust_id, token_hash, role, name, urns, expires_at, created_by) "
        "SELECT $1, decode($2, 'hex'), $3, $4, $5::text[], "
        " CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(days => $6::int) END, "
        " $7 WHERE NOT EXISTS (SELECT 1 FROM missing) "
        "RETURNING json_build_object('id', id, 'role', role, 'name', name, 'schools', urns, "
        " 'created_at', created_at, 'expires_at', expires_at)::text");
    stmt_list = db_stmt_register(
        "tokens_list",
        "SELECT coalesce(json_agg(json_build_object('id', id, 'role', role, 'name', name, "
        " 'schools', urns, 'created_at', created_at, 'expires_at', expires_at, "
        " 'revoked_at', revoked_at, 'last_used_at', last_used_at) ORDER BY id), '[]')::text, "
        " count(*), max(id) FROM (SELECT * FROM tokens WHERE trust_id = $1 AND id > $2 "
        " ORDER BY id LIMIT $3) t");
    stmt_revoke = db_stmt_register("tokens_revoke",
                                   "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) "
                                   "WHERE trust_id = $1 AND id = $2 RETURNING id");
    stmt_audit_list = db_stmt_register(
        "audit_list",
        "SELECT coalesce(json_agg(json_build_object('id', id, 'at', at, 'principal_id', "
        " principal_id, 'principal_role', principal_role, 'method', method, 'path', path, "
        " 'status', status, 'client_addr', client_addr, 'request_id', request_id, 'count', count) "
        " ORDER BY id DESC), '[]')::text, count(*), min(id) FROM (SELECT * FROM audit_log "
        " WHERE trust_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3) t");
}

struct create_state {
    char token[AUTH_TOKEN_LEN + 1];
};

static void on_created(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    if (db_nrows(res) != 1) {
        req_reply_field_error(r, 422, "/schools", "every school in scope must be registered");
        return;
    }
    json_t *o = json_loads(db_val(res, 0, 0), 0, NULL);
    if (!json_is_object(o)) { /* the statement renders an object: a broken invariant */
        json_decref(o);
        req_reply_problem(r, 500, "the token was stored but could not be shown; revoke it", NULL);
        return;
    }
    struct create_state *st = r->hstate;
    /* The only time the token is ever shown. */
    json_object_set_new(o, "token", json_string(st->token));
    req_reply_json(r, 201, o);
}

void h_tokens_create(struct req *r)
{
    json_t *b = r->json;
    enum role role;
    if (role_parse(json_string_value(json_object_get(b, "role")), &role) != 0) {
        req_reply_field_error(r, 422, "/role", "role must be admin, ceo, executive_head or school");
        return;
    }
    json_t *schools = json_object_get(b, "schools");
    size_t n = json_array_size(schools);
    if (role == ROLE_SCHOOL && n != 1) {
        req_reply_field_error(r, 422, "/schools", "a school token needs exactly one school");
        return;
    }
    if (role == ROLE_EXECUTIVE_HEAD && n < 1) {
        req_reply_field_error(r, 422, "/schools", "an executive_head token needs its schools");
        return;
    }
    if ((role == ROLE_ADMIN || role == ROLE_CEO) && n > 0) {
        req_reply_field_error(r, 422, "/schools", "%s tokens are trust-wide: omit schools",
                              role_name(role));
        return;
    }
    struct strbuf arr;
    strbuf_init(&arr);
    strbuf_puts(&arr, "{");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&arr, "%s%s", i ? "," : "", json_string_value(json_array_get(schools, i)));
    strbuf_puts(&arr, "}");
    struct create_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = free;
    if (auth_token_generate(st->token) != 0) {
        strbuf_free(&arr);
        req_reply_problem(r, 500, "no randomness available", NULL);
        return;
    }
    unsigned char hash[AUTH_HASH_LEN];
    auth_token_hash(st->token, hash);
    char hexhash[2 * AUTH_HASH_LEN + 1], trust[24], days[24], by[24];
    hex_encode(hash, AUTH_HASH_LEN, hexhash);
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    json_t *exp = json_object_get(b, "expires_days");
    snprintf(days, sizeof days, "%lld", (long long)json_integer_value(exp));
    snprintf(by, sizeof by, "%lld", r->principal.token_id);
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *params[7] = {
        trust, hexhash, role_name(role), name ? name : "", arr.data, exp ? days : NULL, by};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_create, 7, params);
    strbuf_free(&arr);
    req_submit(r, job, on_created);
}

static void list_paged(struct req *r, int stmt, const char *first_key)
{
    struct req_page pg;
    if (!req_page_open(r, first_key, true, &pg))
        return;
    const char *params[3] = {req_trust_str(r), pg.after, pg.limit_text};
    req_submit_one(r, stmt, 3, params, req_on_page);
}

void h_tokens_list(struct req *r)
{
    list_paged(r, stmt_list, "0");
}

void h_audit_list(struct req *r)
{
    list_paged(r, stmt_audit_list, "9223372036854775807");
}

static void on_revoked(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    if (db_nrows(db_job_result(job, 0)) != 1) {
        req_reply_problem(r, 404, "no such token", NULL);
        return;
    }
    authn_forget_token(atoll(req_param(r, "id")));
    req_reply_json(r, 204, json_null());
}

void h_tokens_revoke(struct req *r)
{
    long id;
    if (!parse_long(req_param(r, "id"), 1, 0x7fffffffffffffffL, &id)) {
        req_reply_field_error(r, 404, "id", "no such token");
        return;
    }
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "id")};
    req_submit_one(r, stmt_revoke, 2, params, on_revoked);
}
