/* The web app's sign-in (SPEC §8): POST /v1/sessions turns the bearer token of the request
 * into a cookie session; GET /v1/sessions tells the page who it is and its CSRF token;
 * DELETE /v1/sessions signs out. The token itself is never stored here or sent back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_server.h"
#include "session.h"
#include "util.h"

static int stmt_prune, stmt_create, stmt_get, stmt_end;

void h_sessions_init(void)
{
    /* The table stays small: sessions over for a week go at the next sign-in. */
    stmt_prune = db_stmt_register("session_prune",
                                  "DELETE FROM sessions WHERE trust_id = $1 AND "
                                  "coalesce(ended_at, expires_at) < now() - interval '7 days'");
    /* A session never outlives its token. */
    stmt_create = db_stmt_register(
        "session_create",
        "INSERT INTO sessions (trust_id, session_hash, token_id, expires_at) "
        "SELECT $1, decode($2, 'hex'), t.id, least(now() + make_interval(secs => $4::int), "
        " coalesce(t.expires_at, 'infinity')) FROM tokens t WHERE t.trust_id = $1 AND t.id = $3 "
        "RETURNING to_json(expires_at)#>>'{}', "
        " greatest(1, extract(epoch FROM expires_at - now()))::bigint");
    stmt_get =
        db_stmt_register("session_get", "SELECT to_json(expires_at)#>>'{}' FROM sessions WHERE "
                                        "trust_id = $1 AND session_hash = decode($2, 'hex')");
    stmt_end =
        db_stmt_register("session_end", "UPDATE sessions SET ended_at = coalesce(ended_at, now()) "
                                        "WHERE trust_id = $1 AND session_hash = decode($2, 'hex')");
}

struct session_reply {
    char id[SESSION_ID_HEX + 1];
};

/* {principal, expires_at, csrf_token}: what the page needs, nothing that signs in. */
static void reply_session(struct req *r, int status, const char *id, const char *expires_at)
{
    const struct principal *p = &r->principal;
    json_t *schools = json_array();
    for (int i = 0; i < p->nurns; i++)
        json_array_append_new(schools, json_string(p->urns[i]));
    char csrf[65];
    session_csrf(id, csrf);
    json_t *o =
        json_pack("{s:{s:s, s:s, s:o}, s:s, s:s, s:s}", "principal", "role", role_name(p->role),
                  "name", p->name, "schools", schools, "trust", r->w->server->cfg.trust_name,
                  "expires_at", expires_at ? expires_at : "", "csrf_token", csrf);
    req_set_header(r, "Cache-Control", "no-store");
    req_reply_json(r, status, o);
}

static void on_created(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 1);
    struct session_reply *st = r->hstate;
    if (db_nrows(res) != 1) {
        req_reply_problem(r, 401, "the token is invalid, expired or revoked", NULL);
        return;
    }
    session_set_cookie(r, st->id, atol(db_val(res, 0, 1)));
    reply_session(r, 201, st->id, db_val(res, 0, 0));
}

void h_sessions_create(struct req *r)
{
    if (!req_header(r, "Authorization")) {
        req_reply_field_error(r, 400, "Authorization",
                              "sign in with the bearer token in the Authorization header");
        return;
    }
    struct session_reply *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = free;
    if (session_new_id(st->id) != 0) {
        req_reply_problem(r, 500, "no randomness for a session id", NULL);
        return;
    }
    char hash[65], token[24], ttl[16];
    session_hash_hex(st->id, hash);
    snprintf(token, sizeof token, "%lld", r->principal.token_id);
    snprintf(ttl, sizeof ttl, "%d", SESSION_TTL_S);
    const char *params[4] = {req_trust_str(r), hash, token, ttl};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_prune, 1, params);
    db_job_add(job, stmt_create, 4, params);
    req_submit(r, job, on_created);
}

/* The session the request was authenticated by, or a 404 when it came with a token. */
static struct session_reply *cookie_session(struct req *r)
{
    struct session_reply *st = xcalloc(1, sizeof *st);
    if (req_header(r, "Authorization") || !session_cookie(r, st->id)) {
        free(st);
        req_reply_problem(r, 404, "no session: this request was not made with a session cookie",
                          NULL);
        return NULL;
    }
    r->hstate = st;
    r->hstate_free = free;
    return st;
}

static void on_get(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct session_reply *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    reply_session(r, 200, st->id, db_nrows(res) == 1 ? db_val(res, 0, 0) : NULL);
}

/* Runs stmt on the session the request's cookie names (401 without one). */
static void with_cookie_session(struct req *r, int stmt, req_db_fn done)
{
    struct session_reply *st = cookie_session(r);
    if (!st)
        return;
    char hash[65];
    session_hash_hex(st->id, hash);
    const char *params[2] = {req_trust_str(r), hash};
    req_submit_one(r, stmt, 2, params, done);
}

void h_sessions_get(struct req *r)
{
    with_cookie_session(r, stmt_get, on_get);
}

static void on_ended(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    session_set_cookie(r, NULL, 0);
    req_set_header(r, "Cache-Control", "no-store");
    req_reply_json(r, 204, json_null());
}

void h_sessions_delete(struct req *r)
{
    with_cookie_session(r, stmt_end, on_ended);
}
