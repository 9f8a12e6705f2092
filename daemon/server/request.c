/* Request lifecycle and reply helpers. Every path through here ends in finish(), which
 * sends exactly one reply, records metrics, logs one line, audits, and frees the req. */
#include "request.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "arena.h"
#include "authn.h"
#include "authn_limit.h"
#include "conn.h"
#include "cursor.h"
#include "denials.h"
#include "gate.h"
#include "http1.h"
#include "http_server.h"
#include "log.h"
#include "lsn.h"
#include "metrics.h"
#include "offload.h"
#include "prng.h"
#include "problem.h"
#include "ratelimit.h"
#include "replica.h"
#include "schema.h"
#include "termly.h"
#include "util.h"

#include <openssl/rand.h>
#include <stdatomic.h>

static int stmt_audit, stmt_lock;

static void reply_problem_with(struct req *r, int status, const char *detail,
                               const struct mat_errors *errs, const char *hname,
                               const char *hvalue);
static const struct schema_registry *registry;

void request_init(const struct schema_registry *reg)
{
    registry = reg;
    stmt_lock =
        db_stmt_register("doc_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
    stmt_audit = db_stmt_register(
        "audit_insert", "INSERT INTO audit_log (trust_id, principal_id, principal_role, method, "
                        "path, status, client_addr, request_id) VALUES ($1, $2, $3, $4, $5, $6, "
                        "$7, $8)");
}

/* ---- small accessors ---- */

const char *req_param(const struct req *r, const char *name)
{
    return route_param(&r->match, name);
}

/* The most query parameters a request may carry (a 400 beyond). */
#define REQ_MAX_QUERY 64

/* Splits the query once; false when it has more than REQ_MAX_QUERY parameters (then it
 * names none). */
static bool query_split(struct req *r)
{
    if (r->nquery < 0) {
        r->nquery = 0;
        if (r->query) {
            char *q = arena_strdup(req_arena(r), r->query);
            r->query_kv = arena_alloc(req_arena(r), REQ_MAX_QUERY * sizeof *r->query_kv);
            int n = http1_query_split(q, r->query_kv, REQ_MAX_QUERY);
            r->query_too_long = n < 0;
            r->nquery = n < 0 ? 0 : n;
        }
    }
    return !r->query_too_long;
}

const char *req_query(struct req *r, const char *name)
{
    query_split(r);
    for (int i = 0; i < r->nquery; i++)
        if (strcmp(r->query_kv[i].name, name) == 0)
            return r->query_kv[i].value;
    return NULL;
}

const char *req_header(const struct req *r, const char *name)
{
    return http1_field(r->head, name);
}

long long req_trust(const struct req *r)
{
    return r->w->server->trust_id;
}

const char *req_trust_str(struct req *r)
{
    if (!r->trust_str[0])
        snprintf(r->trust_str, sizeof r->trust_str, "%lld", req_trust(r));
    return r->trust_str;
}

bool req_server_ready(const struct req *r, int *db_up)
{
    *db_up = db_pool_up(r->w->db);
    return atomic_load(&r->w->server->schema_ready);
}

bool req_wants_csv(const struct req *r)
{
    const char *accept = req_header(r, "Accept");
    return accept && strstr(accept, "text/csv") != NULL;
}

/* ---- finishing ---- */

static bool is_write(int method)
{
    return method == M_POST || method == M_PUT || method == M_PATCH || method == M_DELETE;
}

/* Writes and authenticated refusals (403) are audited one row each (a dry run is no write:
 * SPEC §4.3, it writes nothing); every other denial
 * (401, 413 before authentication, 429) is counted per address or token and written as
 * aggregate rows (denials.c), so a flood costs no database write per request. */
static void audit(struct req *r)
{
    bool denial = r->status == 401 || r->status == 429 || (r->status == 413 && !r->authenticated);
    if (denial) {
        denials_count(r->w->denials, r->client_addr, r->authenticated ? r->principal.token_id : 0,
                      r->status);
        return;
    }
    if (!r->authenticated || ((!is_write(r->method) || r->writes_nothing) && r->status != 403))
        return;
    if (!atomic_load(&r->w->server->schema_ready))
        return;
    const char *trust = req_trust_str(r);
    char pid[24], status[8];
    snprintf(pid, sizeof pid, "%lld", r->principal.token_id);
    snprintf(status, sizeof status, "%d", r->status);
    char path[512];
    snprintf(path, sizeof path, "%s", r->path); /* no query: keep the log to the resource */
    const char *params[8] = {trust,
                             pid,
                             role_name(r->principal.role),
                             http_method_name(r->method),
                             path,
                             status,
                             r->client_addr,
                             r->id};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_audit, 8, params);
    req_submit_detached(r->w, job);
}

struct req_offload {
    struct req *r; /* NULL once r has ended */
    void (*run)(void *);
    void (*done)(struct req *, void *);
    void (*free_data)(void *);
    void *data;
};

static void offload_run(void *p)
{
    struct req_offload *o = p;
    o->run(o->data);
}

/* Callbacks that may arrive after the reply check the request is still live; one that
 * finds it finished is a broken invariant: logged and refused, never a read of freed
 * memory (the struct outlives its reply by one loop turn, see req_free). */
static bool req_live(struct req *r, const char *where)
{
    if (r->state != REQ_DONE)
        return true;
    log_error("msg=\"callback after the reply\" request_id=%s where=%s", r->id, where);
    return false;
}

static void offload_done(void *p)
{
    struct req_offload *o = p;
    if (o->r && req_live(o->r, "offload")) {
        o->r->offload = NULL;
        o->done(o->r, o->data);
    } else if (o->free_data) {
        o->free_data(o->data);
    }
    free(o);
}

static void offload_on(enum offload_lane lane, struct req *r, void (*run)(void *),
                       void (*done)(struct req *, void *), void (*free_data)(void *), void *data)
{
    struct req_offload *o = xcalloc(1, sizeof *o);
    o->r = r;
    o->run = run;
    o->done = done;
    o->free_data = free_data;
    o->data = data;
    if (offload_submit(lane, r->w->base, offload_run, offload_done, o) != 0) {
        free(o);
        if (free_data)
            free_data(data);
        reply_problem_with(r, 503, "the server is busy computing; retry shortly", NULL,
                           "Retry-After", "2");
        return;
    }
    r->offload = o;
}

void req_offload(struct req *r, void (*run)(void *), void (*done)(struct req *, void *),
                 void (*free_data)(void *), void *data)
{
    offload_on(OFFLOAD_NOW, r, run, done, free_data, data);
}

void req_offload_bulk(struct req *r, void (*run)(void *), void (*done)(struct req *, void *),
                      void (*free_data)(void *), void *data)
{
    offload_on(OFFLOAD_BULK, r, run, done, free_data, data);
}

void request_release_retired(struct worker *w)
{
    struct req *r = w->retired;
    w->retired = NULL;
    while (r) {
        struct req *next = r->retired_next;
        free(r);
        r = next;
    }
}

static void shared_unlink(struct req *r);

static void req_free(struct req *r)
{
    if (r->offload)
        r->offload->r = NULL; /* the task finishes on its own and frees its data */
    if (r->deadline)
        event_free(r->deadline);
    if (r->gone_ev)
        event_free(r->gone_ev);
    if (r->job)
        db_job_cancel(r->job);
    authn_batch_cancel(r->auth_wait);
    shared_unlink(r); /* a shared read goes on for the others */
    if (r->hstate && r->hstate_free)
        r->hstate_free(r->hstate);
    if (r->json)
        json_decref(r->json);
    route_match_free(&r->match);
    principal_free(&r->principal);
    free(r->body);
    /* The worker keeps one arena, reset, for its next request: no 4 KiB chunk allocated
     * and freed per request. */
    if (r->arena && !r->w->spare_arena) {
        arena_reset(r->arena);
        r->w->spare_arena = r->arena;
    } else {
        arena_free(r->arena);
    }
    r->arena = NULL;
    r->body = NULL;
    r->path = r->query = NULL;
    /* The struct itself outlives its reply until the worker's next request, so that a
     * second reply or a late callback in this call stack finds REQ_DONE (and is refused
     * loudly) instead of reading freed memory. */
    r->retired_next = r->w->retired;
    r->w->retired = r;
}

/* Denials the request log counts rather than writes line by line past the first few of a
 * client (denials.c): every 4xx to a client that has not authenticated (a made-up token, a
 * made-up path, a malformed head) and every 429. A flood of them costs a bounded number of
 * lines; every other request keeps its line. */
static bool log_counted(const struct req *r)
{
    return r->status == 429 || (!r->authenticated && r->status >= 400 && r->status < 500);
}

static bool has_field(const struct http1_field *fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(fields[i].name, name) == 0)
            return true;
    return false;
}

/* The one reply: body is copied, or (release set) sent by reference and released once sent. */
static void finish_with(struct req *r, int status, const char *content_type, const char *body,
                        size_t len, void (*release)(void *), void *release_arg,
                        const char *extra_name, const char *extra_value)
{
    if (r->state == REQ_DONE) { /* a second reply: a handler bug, caught rather than sent */
        log_error("msg=\"second reply refused\" request_id=%s status=%d first_status=%d", r->id,
                  status, r->status);
        if (release)
            release(release_arg);
        return;
    }
    r->state = REQ_DONE;
    r->status = status;
    struct http1_field fields[REQ_MAX_REPLY_FIELDS + 8];
    int n = 0;
    if (content_type)
        fields[n++] = (struct http1_field){"Content-Type", content_type};
    else if (len > 0)
        fields[n++] = (struct http1_field){"Content-Type", "application/json; charset=utf-8"};
    fields[n++] = (struct http1_field){"X-Request-Id", r->id};
    fields[n++] = (struct http1_field){"Strict-Transport-Security", "max-age=31536000"};
    fields[n++] = (struct http1_field){"X-Content-Type-Options", "nosniff"};
    if (extra_name)
        fields[n++] = (struct http1_field){extra_name, extra_value};
    if (status == 401)
        fields[n++] = (struct http1_field){"WWW-Authenticate", "Bearer realm=\"matd\""};
    for (int i = 0; i < r->nreply_fields; i++)
        fields[n++] = r->reply_fields[i];
    if ((status == 429 || status == 503) && !has_field(fields, n, "Retry-After")) {
        /* SPEC §5: every 429 and 503 says when to come back. A path that forgot is a bug,
         * named in the log; the client still gets an answer it can act on. */
        log_error("msg=\"reply without Retry-After\" request_id=%s status=%d", r->id, status);
        fields[n++] = (struct http1_field){"Retry-After", "1"};
    }
    unsigned long long dur = (unsigned long long)now_ms() * 1000ull - r->start_us;
    metrics_request(r->route_index, status, dur);
    long long principal = r->authenticated ? r->principal.token_id : 0;
    if (!log_counted(r) || denials_log_line(r->w->denials, r->client_addr, principal, status))
        log_info("msg=request request_id=%s method=%s route=%s status=%d duration_ms=%.3f "
                 "principal=%lld",
                 r->id, http_method_name(r->method), r->def ? r->def->name : "-", status,
                 (double)dur / 1000.0, principal);
    audit(r);
    /* Last: a connection whose client has gone is freed by its reply, and with it the head
     * that r->head, r->path and r->query point into. */
    conn_reply(r->conn, &(struct conn_reply){.status = status,
                                             .fields = fields,
                                             .nfields = n,
                                             .body = body,
                                             .len = len,
                                             .release = release,
                                             .release_arg = release_arg,
                                             .close = r->w->draining});
    r->head = NULL;
    r->w->inflight--;
    req_free(r);
}

static void finish(struct req *r, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_name, const char *extra_value)
{
    finish_with(r, status, content_type, body, len, NULL, NULL, extra_name, extra_value);
}

static void etag_of(const char *data, size_t len, char out[36])
{
    char hex[65];
    sha256_hex(data, len, hex);
    snprintf(out, 36, "\"%.32s\"", hex);
}

static bool etag_matches(const char *header, const char *etag)
{
    if (!header)
        return false;
    if (strcmp(header, "*") == 0)
        return true;
    /* A list of entity tags, possibly weak ("W/"): weak comparison per RFC 9110 §13.1.2. */
    size_t n = strlen(etag);
    for (const char *p = header; (p = strstr(p, etag + 1)) != NULL; p++)
        if (p > header && p[-1] == '"' && strncmp(p, etag + 1, n - 1) == 0)
            return true;
    return false;
}

void req_reply_bytes(struct req *r, int status, const char *content_type, const char *data,
                     size_t len)
{
    char etag[36];
    bool cacheable = status == 200 && (r->method == M_GET || r->method == M_HEAD);
    if (cacheable) {
        etag_of(data, len, etag);
        if (!req_reply_header(r, "Cache-Control")) /* a handler may set its own */
            req_set_header(r, "Cache-Control", "private, no-cache");
        if (etag_matches(req_header(r, "If-None-Match"), etag)) {
            finish(r, 304, NULL, NULL, 0, "ETag", etag);
            return;
        }
    }
    finish(r, status, content_type, data, len, cacheable ? "ETag" : NULL, cacheable ? etag : NULL);
}

struct req_body {
    atomic_int refs;
    size_t len;
    char etag[36];
    char data[];
};

struct req_body *req_body_new(const char *data, size_t len)
{
    struct req_body *b = xmalloc(sizeof *b + len + 1);
    atomic_init(&b->refs, 1);
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    etag_of(b->data, len, b->etag);
    return b;
}

void req_body_release(struct req_body *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

const char *req_body_data(const struct req_body *b)
{
    return b->data;
}

static void body_sent(void *arg)
{
    req_body_release(arg);
}

void req_reply_body(struct req *r, const char *content_type, struct req_body *b)
{
    if (!req_reply_header(r, "Cache-Control"))
        req_set_header(r, "Cache-Control", "private, no-cache");
    if (etag_matches(req_header(r, "If-None-Match"), b->etag)) {
        finish(r, 304, NULL, NULL, 0, "ETag", b->etag);
        return;
    }
    atomic_fetch_add(&b->refs, 1); /* released when the bytes have left (body_sent) */
    finish_with(r, 200, content_type, b->data, b->len, body_sent, b, "ETag", b->etag);
}

void req_reply_json_text(struct req *r, int status, const char *text)
{
    req_reply_bytes(r, status, "application/json; charset=utf-8", text, strlen(text));
}

void req_reply_json(struct req *r, int status, json_t *json)
{
    /* Most replies fit the stack buffer: one rendering, no allocation. */
    char small[4096];
    size_t len = json_dumpb(json, small, sizeof small, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *data = small;
    if (len > sizeof small) {
        data = xmalloc(len + 1);
        json_dumpb(json, data, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(json);
    if (status == 204)
        finish(r, 204, NULL, NULL, 0, NULL, NULL);
    else
        req_reply_bytes(r, status, "application/json; charset=utf-8", data, len);
    if (data != small)
        free(data);
}

static void reply_problem_with(struct req *r, int status, const char *detail,
                               const struct mat_errors *errs, const char *hname, const char *hvalue)
{
    char *doc = problem_json(status, detail, errs, r->path, r->id);
    finish(r, status, "application/problem+json", doc, strlen(doc), hname, hvalue);
    free(doc);
}

void req_reply_problem(struct req *r, int status, const char *detail, const struct mat_errors *errs)
{
    reply_problem_with(r, status, detail, errs, NULL, NULL);
}

void req_reply_field_error(struct req *r, int status, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct mat_errors errs;
    mat_errors_init(&errs);
    mat_errors_add(&errs, path, "%s", msg);
    req_reply_problem(r, status, msg, &errs);
    mat_errors_free(&errs);
}

bool req_reply_db_failure(struct req *r, struct db_job *job)
{
    switch (db_job_status(job)) {
    case DB_OK:
        return false;
    case DB_UNAVAILABLE:
    case DB_CANCELLED:
        reply_problem_with(r, 503, "the database is unavailable; retry shortly", NULL,
                           "Retry-After", "2");
        return true;
    case DB_ERROR:
        break;
    }
    const char *st = db_job_sqlstate(job);
    const char *constraint = db_job_constraint(job);
    log_error("msg=\"database error\" request_id=%s sqlstate=%s constraint=%s error=\"%s\"", r->id,
              st, constraint, db_job_error(job));
    /* Integrity violations name what clashed: a duplicate is a conflict (409), a broken
     * check or a missing referenced row is the client's value (422). */
    if (strcmp(st, "23505") == 0 || strcmp(st, "23P01") == 0) {
        req_reply_field_error(r, 409, *constraint ? constraint : "-",
                              "the write conflicts with existing data (%s)",
                              *constraint ? constraint : "a unique key");
        return true;
    }
    if (strcmp(st, "23514") == 0 || strcmp(st, "23503") == 0 || strcmp(st, "23502") == 0) {
        req_reply_field_error(r, 422, *constraint ? constraint : "-",
                              "a value is outside what the database accepts (%s)",
                              *constraint ? constraint : st);
        return true;
    }
    if (strncmp(st, "22", 2) == 0) {
        req_reply_problem(r, 422, "a value is outside what the database accepts", NULL);
        return true;
    }
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strncmp(st, "57P", 3) == 0 ||
        strcmp(st, "57014") == 0 || strncmp(st, "08", 2) == 0 || strcmp(st, "55P03") == 0)
        reply_problem_with(r, 503, "the database asked us to retry", NULL, "Retry-After", "1");
    else
        req_reply_problem(r, 500, "internal error; see the server log for the request id", NULL);
    return true;
}

struct db_job *req_locked_job(const char *key)
{
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN");
    const char *params[1] = {key};
    db_job_add(job, stmt_lock, 1, params);
    return job;
}

void req_on_one_row(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, db_job_ncmds(job) - 1);
    if (db_nrows(res) != 1) {
        req_reply_problem(r, 404, r->not_found, NULL);
        return;
    }
    req_reply_json_text(r, 200, db_val(res, 0, 0));
}

int req_submit_one_row(struct req *r, struct db_job *job, const char *not_found)
{
    r->not_found = not_found;
    return req_submit(r, job, req_on_one_row);
}

int req_submit_get(struct req *r, int stmt, int nparams, const char *const *params,
                   const char *not_found)
{
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt, nparams, params);
    return req_submit_one_row(r, job, not_found);
}

static int submit_job(struct req *r, struct db_job *job, req_db_fn done, bool may_use_replica);

int req_submit_locked(struct req *r, struct db_job *job, req_db_fn done)
{
    db_job_add_sql(job, "COMMIT");
    return submit_job(r, job, done, false); /* a locked job stays on the primary */
}

/* ---- database submission ---- */

/* With read replicas: the position a read must see (the client's Matd-Lsn, and its
 * token's last write), and after a job, the position a write reached or where a read ran. */
static uint64_t read_needs_lsn(const struct req *r)
{
    uint64_t need = 0, own;
    lsn_parse(req_header(r, "Matd-Lsn"), &need); /* checked in after_auth */
    if (r->authenticated && (own = replica_token_lsn(r->principal.token_id)) > need)
        need = own;
    return need;
}

static void note_replica_outcome(struct req *r, const struct db_job *job)
{
    char text[LSN_TEXT_MAX];
    uint64_t lsn = db_job_lsn(job);
    if (lsn) {
        lsn_format(lsn, text);
        req_set_header(r, "Matd-Lsn", text);
        if (r->authenticated)
            replica_note_write(r->principal.token_id, lsn);
    } else if (r->method == M_GET || r->method == M_HEAD) {
        int by = db_job_served_by(job);
        if (by < 0)
            snprintf(text, sizeof text, "primary");
        else
            snprintf(text, sizeof text, "replica-%d", by + 1);
        req_set_header(r, "Matd-Read-From", text);
    }
}

static void on_job_done(struct db_job *job, void *arg)
{
    struct req *r = arg;
    if (!req_live(r, "database job"))
        return;
    if (db_pool_has_replicas(r->w->db))
        note_replica_outcome(r, job);
    r->job = NULL;
    req_db_fn cb = r->db_cb;
    r->db_cb = NULL;
    cb(r, job);
}

int req_submit(struct req *r, struct db_job *job, req_db_fn done)
{
    return submit_job(r, job, done, true);
}

static int submit_job(struct req *r, struct db_job *job, req_db_fn done, bool may_use_replica)
{
    /* Only the jobs of an authenticated request's handler: a token or session lookup (which
     * records last use, also when a handler such as /metrics asks for one) runs on the
     * primary and is no write of the client's. */
    if (r->state == REQ_HANDLING && r->authenticated && db_pool_has_replicas(r->w->db)) {
        if (r->method != M_GET && r->method != M_HEAD)
            db_job_want_lsn(job);
        else if (may_use_replica)
            db_job_allow_replica(job, read_needs_lsn(r));
    }
    if (!atomic_load(&r->w->server->schema_ready)) {
        db_job_cancel(job);
        reply_problem_with(r, 503, "the database schema is not ready yet; retry shortly", NULL,
                           "Retry-After", "2");
        return -1;
    }
    r->db_cb = done;
    r->job = job;
    /* Pass r through the pool: it never outlives r because req_free cancels it. */
    db_job_set_callback(job, on_job_done, r);
    if (db_pool_submit(r->w->db, job) != 0) {
        r->job = NULL;
        metrics_add(METRIC_DB_JOBS_REJECTED, 1);
        reply_problem_with(r, 503, "the database is unavailable or busy; retry shortly", NULL,
                           "Retry-After", "2");
        return -1;
    }
    return 0;
}

int req_submit_one(struct req *r, int stmt, int nparams, const char *const *params, req_db_fn done)
{
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt, nparams, params);
    return req_submit(r, job, done);
}

/* ---- shared reads ---- */

#define SHARED_MAX_PARAMS 4
#define SHARED_MAX_READS 16 /* distinct (statement, parameters) kept per worker */

struct shared_read {
    struct shared_read *next;
    struct worker *w;
    int stmt, nparams;
    char *params[SHARED_MAX_PARAMS];
    bool in_flight;
    struct req *riding;  /* answered by the query in flight */
    struct req *waiting; /* came after it was sent: the next query answers them */
};

static void shared_unlink(struct req *r)
{
    if (!r->shared)
        return;
    *r->shared_pprev = r->shared_next;
    if (r->shared_next)
        r->shared_next->shared_pprev = r->shared_pprev;
    r->shared = NULL;
    r->shared_next = NULL;
    r->shared_pprev = NULL;
}

static void shared_add(struct shared_read *sr, struct req **head, struct req *r)
{
    r->shared = sr;
    r->shared_next = *head;
    if (*head)
        (*head)->shared_pprev = &r->shared_next;
    *head = r;
    r->shared_pprev = head;
}

static void shared_send(struct shared_read *sr);

static void shared_done(struct db_job *job, void *arg)
{
    struct shared_read *sr = arg;
    sr->in_flight = false;
    /* The riders move to a list of this call's own: a callback that asks again sends a new
     * query (shared_send takes sr->riding) without orphaning the riders not yet answered. */
    struct req *riding = sr->riding, *r;
    sr->riding = NULL;
    if (riding)
        riding->shared_pprev = &riding;
    while ((r = riding) != NULL) {
        shared_unlink(r);
        req_db_fn cb = r->db_cb;
        r->db_cb = NULL;
        metrics_add(METRIC_SHARED_READ_ANSWERS, 1);
        if (req_live(r, "shared read"))
            cb(r, job);
    }
    if (sr->waiting && !sr->in_flight)
        shared_send(sr);
}

static void shared_send(struct shared_read *sr)
{
    struct db_job *job = db_job_new(shared_done, sr);
    db_job_add(job, sr->stmt, sr->nparams, (const char *const *)sr->params);
    sr->riding = sr->waiting;
    if (sr->riding)
        sr->riding->shared_pprev = &sr->riding;
    sr->waiting = NULL;
    sr->in_flight = true;
    if (db_pool_submit(sr->w->db, job) == 0) {
        metrics_add(METRIC_SHARED_READ_QUERIES, 1);
        return;
    }
    sr->in_flight = false;
    metrics_add(METRIC_DB_JOBS_REJECTED, 1);
    struct req *r;
    while ((r = sr->riding) != NULL) {
        shared_unlink(r);
        r->db_cb = NULL;
        reply_problem_with(r, 503, "the database is unavailable or busy; retry shortly", NULL,
                           "Retry-After", "2");
    }
}

static struct shared_read *shared_find(struct worker *w, int stmt, int nparams,
                                       const char *const *params)
{
    int n = 0;
    for (struct shared_read *sr = w->shared_reads; sr; sr = sr->next, n++) {
        bool same = sr->stmt == stmt && sr->nparams == nparams;
        for (int i = 0; same && i < nparams; i++)
            same = (!sr->params[i] && !params[i]) ||
                   (sr->params[i] && params[i] && strcmp(sr->params[i], params[i]) == 0);
        if (same)
            return sr;
    }
    if (n >= SHARED_MAX_READS || nparams > SHARED_MAX_PARAMS)
        return NULL;
    struct shared_read *sr = xcalloc(1, sizeof *sr);
    sr->w = w;
    sr->stmt = stmt;
    sr->nparams = nparams;
    for (int i = 0; i < nparams; i++)
        sr->params[i] = params[i] ? xstrdup(params[i]) : NULL;
    sr->next = w->shared_reads;
    w->shared_reads = sr;
    return sr;
}

int req_submit_shared(struct req *r, int stmt, int nparams, const char *const *params,
                      req_db_fn done)
{
    struct shared_read *sr = NULL;
    if (!db_pool_has_replicas(r->w->db))
        sr = shared_find(r->w, stmt, nparams, params);
    if (!sr)
        return req_submit_one(r, stmt, nparams, params, done);
    if (!atomic_load(&r->w->server->schema_ready)) {
        reply_problem_with(r, 503, "the database schema is not ready yet; retry shortly", NULL,
                           "Retry-After", "2");
        return -1;
    }
    r->db_cb = done;
    shared_add(sr, &sr->waiting, r);
    if (!sr->in_flight)
        shared_send(sr);
    return 0;
}

void req_shared_reads_free(struct worker *w)
{
    for (struct shared_read *sr = w->shared_reads, *next; sr; sr = next) {
        next = sr->next;
        for (int i = 0; i < sr->nparams; i++)
            free(sr->params[i]);
        free(sr);
    }
    w->shared_reads = NULL;
}

void req_submit_detached(struct worker *w, struct db_job *job)
{
    if (db_pool_submit(w->db, job) != 0) {
        metrics_add(METRIC_DB_JOBS_REJECTED, 1);
        log_warn("msg=\"detached database job dropped\" reason=\"pool down or full\"");
    }
}

void req_abandon_job(struct req *r)
{
    if (r->job) {
        db_job_abandon(r->job);
        r->job = NULL;
    }
}

/* ---- the pipeline ---- */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct req *r = arg;
    if (r->state == REQ_DONE)
        return;
    if (r->job) {
        db_job_cancel(r->job);
        r->job = NULL;
    }
    char detail[128];
    snprintf(detail, sizeof detail, "the request took longer than %d ms",
             server_limits(r->w->server)->request_timeout_ms);
    reply_problem_with(r, 503, detail, NULL, "Retry-After", "5");
}

static void on_gone(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct req *r = arg;
    /* The client is gone: the connection drops this "reply" and is freed. */
    finish(r, 499, NULL, NULL, 0, NULL, NULL);
}

static void on_conn_close(void *arg)
{
    struct req *r = arg;
    if (r->job) {
        db_job_cancel(r->job);
        r->job = NULL;
    }
    /* Finish outside the connection's own teardown. */
    if (!r->gone_ev) {
        r->gone_ev = evtimer_new(r->w->base, on_gone, r);
        struct timeval zero = {0, 0};
        evtimer_add(r->gone_ev, &zero);
    }
}

static bool content_type_is(const char *ct, const char *want)
{
    if (!ct)
        return false;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    if (*ct == '\0')
        return true;
    if (*ct != ';')
        return false;
    ct++;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "charset=utf-8", 13) == 0 ||
           strncasecmp(ct, "charset=\"utf-8\"", 15) == 0 ||
           strncasecmp(ct, "header=present", 14) == 0;
}

static bool authorised(struct req *r)
{
    const struct principal *p = &r->principal;
    const char *urn = req_param(r, "urn");
    switch (r->def->access) {
    case ACCESS_PUBLIC:
    case ACCESS_ANY:
        return true;
    case ACCESS_ADMIN:
        return p->role == ROLE_ADMIN;
    case ACCESS_CEO:
        return auth_trust_wide(p);
    case ACCESS_TRUST:
        return auth_can_read_trust_aggregates(p);
    case ACCESS_SCHOOL_READ:
        return urn && auth_can_read_school(p, urn);
    case ACCESS_SCHOOL_WRITE:
        return urn && auth_can_write_school(p, urn);
    }
    return false;
}

bool req_body_valid(struct req *r)
{
    struct mat_errors errs;
    mat_errors_init(&errs);
    json_t *doc = NULL;
    if (schema_parse_body(r->body, r->body_len, &doc, &errs) != 0) {
        req_reply_problem(r, 400, "the body is not a valid JSON object", &errs);
        mat_errors_free(&errs);
        return false;
    }
    if (r->def->schema && schema_validate(registry, r->def->schema, doc, &errs) != 0) {
        json_decref(doc);
        req_reply_problem(r, 422, "the body does not match the schema", &errs);
        mat_errors_free(&errs);
        return false;
    }
    mat_errors_free(&errs);
    r->json = doc;
    return true;
}

/* The query names only parameters the route takes, each once (as a body names only its
 * schema's fields): a typo such as ?dryrun=true must not pass for a real push. */
static bool query_valid(struct req *r)
{
    if (!query_split(r)) {
        char detail[96];
        snprintf(detail, sizeof detail, "the query has more than %d parameters", REQ_MAX_QUERY);
        req_reply_problem(r, 422, detail, NULL);
        return false;
    }
    struct mat_errors errs;
    mat_errors_init(&errs);
    bool ok = http1_query_check(r->query_kv, r->nquery, r->def->query, &errs) == 0;
    if (!ok)
        req_reply_problem(r, 422, "the query has parameters this route does not take", &errs);
    mat_errors_free(&errs);
    return ok;
}

static void after_auth(struct req *r)
{
    /* A {urn} is six digits for everyone: no other string reaches a handler or its SQL. */
    const char *urn = req_param(r, "urn");
    if (urn && !urn_valid(urn)) {
        req_reply_field_error(r, 404, "urn", "no such school: a URN is six digits");
        return;
    }
    const struct limits *lim = server_limits(r->w->server);
    int retry = 1;
    if (!ratelimit_allow(r->principal.token_id, lim->rate_limit_per_minute, lim->rate_limit_burst,
                         &retry)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry < 1 ? 1 : retry);
        reply_problem_with(r, 429, "rate limit exceeded for this token", NULL, "Retry-After", ra);
        return;
    }
    if (!authorised(r)) {
        char detail[160];
        const char *role = role_name(r->principal.role);
        const char *article =
            strchr("aeiou", role[0]) ? "an" : "a"; /* an admin, an executive_head */
        if (urn)
            snprintf(detail, sizeof detail, "%s %s token may not %s school %s", article, role,
                     r->method == M_GET || r->method == M_HEAD ? "read" : "write", urn);
        else
            snprintf(detail, sizeof detail, "%s %s token may not use this route", article, role);
        req_reply_problem(r, 403, detail, NULL);
        return;
    }
    uint64_t lsn;
    const char *lsn_text = req_header(r, "Matd-Lsn");
    if (lsn_text && !lsn_parse(lsn_text, &lsn)) {
        req_reply_field_error(r, 400, "Matd-Lsn",
                              "Matd-Lsn must be a position as matd sent it, such as 0/16B3A80");
        return;
    }
    if (!query_valid(r))
        return;
    if (r->def->body == BODY_JSON && !req_body_valid(r))
        return;
    r->state = REQ_HANDLING;
    r->def->handler(r);
}

static void make_request_id(char out[17])
{
    static _Thread_local uint64_t state;
    if (!state) {
        unsigned char seed[8];
        if (RAND_bytes(seed, sizeof seed) != 1)
            fatal("RAND_bytes failed");
        memcpy(&state, seed, sizeof state);
        state |= 1;
    }
    /* A unique per-thread sequence from a random seed. */
    uint64_t z = prng_splitmix64(&state);
    unsigned char b[8];
    memcpy(b, &z, 8);
    hex_encode(b, 8, out);
}

void request_dispatch(struct worker *w, struct conn *c, const struct http1_head *head, char *body,
                      size_t body_len, const struct gate_verdict *refused)
{
    request_release_retired(w);
    struct req *r = xcalloc(1, sizeof *r);
    r->w = w;
    r->conn = c;
    r->head = head;
    r->route_index = -1;
    r->nquery = -1;
    r->start_us = (unsigned long long)now_ms() * 1000ull;
    make_request_id(r->id);
    w->inflight++;
    r->method = http_method_parse(head->method);
    snprintf(r->client_addr, sizeof r->client_addr, "%s", conn_addr(c));
    conn_on_gone(c, on_conn_close, r);
    const struct limits *lim = server_limits(w->server);
    r->deadline = evtimer_new(w->base, on_deadline, r);
    struct timeval tv = {lim->request_timeout_ms / 1000, (lim->request_timeout_ms % 1000) * 1000};
    evtimer_add(r->deadline, &tv);
    r->path = head->path;
    r->query = head->query;
    r->body = body;
    r->body_len = body_len;

    if (refused) { /* refused on its head by the gate */
        r->path = arena_strdup(req_arena(r), refused->path);
        r->method = refused->method;
        if (refused->allow[0])
            req_set_header(r, "Allow", refused->allow);
        if (refused->retry_after > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", refused->retry_after);
            req_set_header(r, "Retry-After", ra);
        }
        req_reply_problem(r, refused->status, refused->detail, NULL);
        return;
    }
    /* A method matd does not serve at all (r->method 0) matches no route: 405 with the
     * path's Allow, or 404 for a path that is not there. */
    switch (router_match(routes, nroutes, r->method, r->path, &r->match)) {
    case ROUTE_NOT_FOUND:
        req_reply_problem(r, 404, "no such resource", NULL);
        return;
    case ROUTE_METHOD_NOT_ALLOWED: {
        char detail[160];
        snprintf(detail, sizeof detail, "%.20s is not allowed here; allowed: %s", head->method,
                 r->match.allow);
        char allow[96];
        snprintf(allow, sizeof allow, "%s", r->match.allow);
        reply_problem_with(r, 405, detail, NULL, "Allow", allow);
        return;
    }
    case ROUTE_FOUND:
        break;
    }
    r->def = r->match.route->data;
    r->route_index = (int)(r->match.route - routes);

    size_t len = r->body_len;
    if (r->def->body != BODY_NONE) {
        size_t max =
            (size_t)(r->def->body == BODY_PUSH ? lim->max_push_bytes : lim->max_body_bytes);
        if (len > max) {
            char detail[96];
            snprintf(detail, sizeof detail, "the body is larger than %zu bytes", max);
            req_reply_problem(r, 413, detail, NULL);
            return;
        }
        const char *ct = req_header(r, "Content-Type");
        bool json = content_type_is(ct, "application/json");
        bool csv = r->def->body == BODY_PUSH && content_type_is(ct, "text/csv");
        /* A DfE common transfer file (CTF) is XML. */
        bool xml = r->def->body == BODY_PUSH &&
                   (content_type_is(ct, "application/xml") || content_type_is(ct, "text/xml"));
        if (!json && !csv && !xml) {
            req_reply_problem(r, 415,
                              r->def->body == BODY_PUSH
                                  ? "send application/json, text/csv or application/xml (a CTF)"
                                  : "send application/json (UTF-8)",
                              NULL);
            return;
        }
        r->body_csv = csv;
        r->body_xml = xml;
        if (!r->body)
            r->body = xstrdup("");
    } else {
        free(r->body); /* a bodyless route's tolerated body: read, ignored */
        r->body = NULL;
        r->body_len = 0;
    }
    if (r->def->access == ACCESS_PUBLIC) {
        if (!query_valid(r))
            return;
        r->state = REQ_HANDLING;
        r->def->handler(r);
        return;
    }
    r->state = REQ_AUTHENTICATING;
    authn_authenticate(r, after_auth);
}

/* ---- paging ---- */

bool req_page_open(struct req *r, const char *first_key, bool numeric, struct req_page *pg)
{
    pg->limit = r->page_limit = 100;
    const char *l = req_query(r, "limit");
    if (l && !parse_long(l, 1, 1000, &pg->limit)) {
        req_reply_field_error(r, 422, "limit", "limit must be an integer from 1 to 1000");
        return false;
    }
    r->page_limit = pg->limit;
    snprintf(pg->limit_text, sizeof pg->limit_text, "%ld", pg->limit);
    const char *c = req_query(r, "cursor");
    pg->first = c == NULL;
    if (!c) {
        snprintf(pg->after, sizeof pg->after, "%s", first_key);
        return true;
    }
    long key;
    if (cursor_decode(c, pg->after, sizeof pg->after) != 0 ||
        (numeric && !parse_long(pg->after, 0, LONG_MAX, &key))) {
        req_reply_field_error(r, 422, "cursor", "cursor is not one this server issued");
        return false;
    }
    return true;
}

bool req_page_whole(struct req *r)
{
    long limit;
    const char *l = req_query(r, "limit");
    if (l && !parse_long(l, 1, 1000, &limit)) {
        req_reply_field_error(r, 422, "limit", "limit must be an integer from 1 to 1000");
        return false;
    }
    if (req_query(r, "cursor")) {
        req_reply_field_error(r, 422, "cursor",
                              "this list comes whole in one page: it has no cursor to follow");
        return false;
    }
    return true;
}

void req_on_page(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    const char *count = db_val(res, 0, 1);
    req_reply_page(r, db_val(res, 0, 0), count ? atol(count) : 0, r->page_limit, db_val(res, 0, 2));
}

void req_reply_page(struct req *r, const char *items_json, long count, long limit,
                    const char *last_key)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "{\"items\":");
    strbuf_puts(&sb, items_json && *items_json ? items_json : "[]");
    strbuf_puts(&sb, ",\"next_cursor\":");
    if (count >= limit && last_key) {
        char *cur = cursor_encode(last_key);
        strbuf_printf(&sb, "\"%s\"}", cur);
        free(cur);
    } else {
        strbuf_puts(&sb, "null}");
    }
    req_reply_bytes(r, 200, "application/json; charset=utf-8", sb.data, sb.len);
    strbuf_free(&sb);
}

/* ---- shared parameter checks ---- */

bool req_year_ok(struct req *r, const char *year)
{
    if (academic_year_valid(year))
        return true;
    req_reply_field_error(r, 422, "year",
                          "year must be an academic year like 2025-26, got \"%.20s\"",
                          year ? year : "");
    return false;
}

bool req_term_ok(struct req *r, const char *term)
{
    if (term_index(term) >= 0)
        return true;
    req_reply_field_error(r, 422, "term", "term must be autumn, spring or summer, got \"%.20s\"",
                          term ? term : "");
    return false;
}

bool req_school_filter_ok(struct req *r, const char *school)
{
    if (!school)
        return true;
    if (!urn_valid(school)) {
        req_reply_field_error(r, 422, "school", "school must be a URN (six digits)");
        return false;
    }
    if (!auth_can_read_school(&r->principal, school)) {
        req_reply_problem(r, 403, "that school is outside this token's scope", NULL);
        return false;
    }
    return true;
}

struct arena *req_arena(struct req *r)
{
    if (!r->arena) {
        r->arena = r->w->spare_arena ? r->w->spare_arena : arena_new();
        r->w->spare_arena = NULL;
    }
    return r->arena;
}

const char *req_scope_urns(struct req *r)
{
    const struct principal *p = &r->principal;
    if (auth_trust_wide(p))
        return NULL;
    size_t len = 3;
    for (int i = 0; i < p->nurns; i++)
        len += strlen(p->urns[i]) + 1;
    char *out = arena_alloc(req_arena(r), len), *at = out;
    *at++ = '{';
    for (int i = 0; i < p->nurns; i++)
        at += sprintf(at, "%s%s", i ? "," : "", p->urns[i]);
    *at++ = '}';
    *at = '\0';
    return out;
}

void req_set_header(struct req *r, const char *name, const char *value)
{
    int n = 0;
    for (int i = 0; i < r->nreply_fields; i++) /* drop what it replaces */
        if (strcasecmp(r->reply_fields[i].name, name) != 0)
            r->reply_fields[n++] = r->reply_fields[i];
    r->nreply_fields = n;
    if (!value)
        return;
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) { /* never a second header line */
        log_error("msg=\"reply header refused: CR or LF\" request_id=%s name=%.40s", r->id, name);
        return;
    }
    if (!r->reply_fields)
        r->reply_fields = arena_alloc(req_arena(r), REQ_MAX_REPLY_FIELDS * sizeof *r->reply_fields);
    if (n == REQ_MAX_REPLY_FIELDS) {
        log_error("msg=\"reply header dropped: too many\" request_id=%s name=%s", r->id, name);
        return;
    }
    r->reply_fields[r->nreply_fields++] =
        (struct http1_field){arena_strdup(req_arena(r), name), arena_strdup(req_arena(r), value)};
}

const char *req_reply_header(const struct req *r, const char *name)
{
    for (int i = 0; i < r->nreply_fields; i++)
        if (strcasecmp(r->reply_fields[i].name, name) == 0)
            return r->reply_fields[i].value;
    return NULL;
}
