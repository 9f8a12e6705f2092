/* One HTTP request from arrival to reply: route → authenticate → authorise → parse and
 * validate the body → handler (usually one asynchronous database job) → reply. Also the
 * reply helpers every handler uses (JSON with ETag/304, problem+json, CSV). */
#ifndef MATD_REQUEST_H
#define MATD_REQUEST_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "db_pool.h"
#include "errors.h"
#include "router.h"

struct conn;
struct http1_head;
struct http1_field;
struct gate_verdict;
struct event;
struct worker;
struct req;
struct req_offload;
struct authn_wait;

enum req_state {
    REQ_ROUTING,
    REQ_AUTHENTICATING, /* waiting for the token lookup */
    REQ_HANDLING,       /* handler running or waiting for its database job */
    REQ_DONE,           /* replied; the struct is freed */
};

/* Who may call a route (checked before the handler; school scope checked on {urn}). */
enum access {
    ACCESS_PUBLIC,      /* no token */
    ACCESS_ANY,         /* any valid token */
    ACCESS_ADMIN,       /* admin only */
    ACCESS_TRUST,       /* admin, ceo, executive_head (handler narrows exec heads) */
    ACCESS_CEO,         /* admin, ceo */
    ACCESS_SCHOOL_READ, /* {urn} in scope */
    ACCESS_SCHOOL_WRITE /* own school ({urn}) or admin */
};

enum body_kind {
    BODY_NONE,
    BODY_JSON,       /* application/json, max_body_bytes, validated against schema */
    BODY_PUSH,       /* application/json or text/csv, max_push_bytes; handler parses */
    BODY_JSON_AUTHZ, /* as BODY_JSON, validated by the handler (req_body_valid) once it has
                        decided the caller may write here: a stranger learns nothing from
                        the validator */
};

typedef void (*handler_fn)(struct req *r);

struct route_def {
    handler_fn handler;
    enum access access;
    enum body_kind body;
    const char *schema; /* e.g. "school_create.json" for BODY_JSON */
    const char *name;   /* metrics label */
    const char *query;  /* the query parameters it takes: "limit, cursor", "*" any, NULL none */
};

/* Header lines a reply carries beyond those every reply has. */
#define REQ_MAX_REPLY_FIELDS 24

struct req {
    enum req_state state;
    struct worker *w;
    struct conn *conn;             /* the connection it came on (conn.h) */
    const struct http1_head *head; /* its head, alive until the reply */
    char id[17];
    int method;
    const char *path;             /* without the query (in the head, or the arena) */
    const char *query;            /* the raw query string (in the head), or NULL */
    struct http1_field *query_kv; /* decoded pairs (in the arena), parsed lazily */
    int nquery;                   /* -1 until parsed */
    bool query_too_long;          /* more parameters than matd reads: a 400 */
    bool writes_nothing;          /* a write method that changes nothing (a dry run): not audited */
    struct http1_field *reply_fields; /* req_set_header's lines (in the arena) */
    int nreply_fields;
    struct event *gone_ev; /* client went away: finish on the next loop turn */
    struct route_match match;
    const struct route_def *def;
    int route_index;
    struct principal principal;
    bool authenticated;
    char client_addr[64];
    unsigned long long start_us;
    struct event *deadline;
    struct db_job *job; /* in flight, owned by the pool */
    char *body;         /* owned, NUL-terminated copy */
    size_t body_len;
    bool body_csv; /* BODY_PUSH sent as text/csv */
    bool body_xml; /* BODY_PUSH sent as application/xml (a CTF) */
    json_t *json;  /* parsed and validated BODY_JSON */
    int status;    /* replied status, for logs and audit */
    void (*db_cb)(struct req *r, struct db_job *job); /* pending req_submit callback */
    struct req_offload *offload;                      /* pending CPU work, if any */
    long page_limit;                                  /* set by req_page_open */
    char trust_str[24];                               /* req_trust_str */
    const char *not_found;                            /* req_submit_one_row's 404 detail */
    void *hstate;                                     /* handler's own state */
    void (*hstate_free)(void *);
    struct authn_wait *auth_wait; /* its credential's batch check (authn_limit.h), or NULL */
    struct shared_read *shared;   /* req_submit_shared: the read it rides or waits for */
    struct req *shared_next, **shared_pprev;
    struct req *retired_next; /* on the worker's list of finished requests */
    struct arena *arena;      /* per-request memory, freed with the request (req_arena) */
};

/* Parses and validates r's JSON body against the route's schema into r->json; on failure
 * answers 400/422 naming the fields and returns false. Automatic for BODY_JSON. */
bool req_body_valid(struct req *r);

/* Route-table helpers. */
const char *req_param(const struct req *r, const char *name);
/* Query parameter (decoded, owned by r for its lifetime) or NULL. */
const char *req_query(struct req *r, const char *name);
const char *req_header(const struct req *r, const char *name);
long long req_trust(const struct req *r);
/* The trust id as a statement parameter (owned by r). */
const char *req_trust_str(struct req *r);

/* Replies (each ends the request). json is stolen. GET replies carry an ETag and answer
 * 304 to a matching If-None-Match. */
void req_reply_json(struct req *r, int status, json_t *json);
/* JSON already rendered as text (usually by PostgreSQL). */
void req_reply_json_text(struct req *r, int status, const char *text);
void req_reply_bytes(struct req *r, int status, const char *content_type, const char *data,
                     size_t len);
void req_reply_problem(struct req *r, int status, const char *detail,
                       const struct mat_errors *errs);
/* Immutable reply bytes rendered once and sent to many requests by reference (no copy,
 * no hashing per request): a cached list, say. Reference counted; any thread. */
struct req_body;
/* Copies data and computes its ETag (call off the event loop for large bodies). */
struct req_body *req_body_new(const char *data, size_t len);
void req_body_release(struct req_body *b); /* NULL is fine */
/* Its bytes (NUL-terminated; valid while b is held). */
const char *req_body_data(const struct req_body *b);
/* Replies 200 (or 304 to a matching If-None-Match) with b, which it borrows. */
void req_reply_body(struct req *r, const char *content_type, struct req_body *b);
/* One-field problem: 4xx with errors [{path, message}]. */
void req_reply_field_error(struct req *r, int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers 500/503/409/422 for a failed job as its status says; returns true if it did. */
bool req_reply_db_failure(struct req *r, struct db_job *job);

/* Submits a job on the worker's pool, with r as the callback argument. On a full queue
 * or a database that is down it answers 503 itself and returns -1. */
typedef void (*req_db_fn)(struct req *r, struct db_job *job);
int req_submit(struct req *r, struct db_job *job, req_db_fn done);
/* Runs run(data) on the offload pool (it must not touch r), then done(r, data) on r's
 * loop. If r ends first (deadline, client gone), free_data(data) is called instead. */
void req_offload(struct req *r, void (*run)(void *data), void (*done)(struct req *r, void *data),
                 void (*free_data)(void *data), void *data);
/* The same on the bulk lane (offload.h): an upload's work, at a lower CPU priority. */
void req_offload_bulk(struct req *r, void (*run)(void *data),
                      void (*done)(struct req *r, void *data), void (*free_data)(void *data),
                      void *data);

/* req_submit of a job with one prepared statement (params are copied). */
int req_submit_one(struct req *r, int stmt, int nparams, const char *const *params, req_db_fn done);
/* The same for a small hot read that the requests of one worker asking the same statement
 * and parameters at about the same time can share: one query, sent no earlier than each
 * of them arrived (so it sees every write committed before any of them was asked), answers
 * all that were waiting when it went out; those that come while it runs wait for the next.
 * done must only read the job's results. With read replicas it is req_submit_one (each
 * read goes where its own client's writes are). */
int req_submit_shared(struct req *r, int stmt, int nparams, const char *const *params,
                      req_db_fn done);
/* The one way to write a versioned document (review, SEF, SIP): a job that opens with
 * BEGIN and a transaction-scoped advisory lock on key (e.g. "sip:<trust>:<urn>:<year>"),
 * so that concurrent writers of one document queue rather than race for its next version
 * number. Add the writes (their results are numbered from REQ_LOCKED_FIRST), then
 * req_submit_locked appends COMMIT and submits. */
#define REQ_LOCKED_FIRST 2
/* Submits a job whose last command returns one row of one JSON text column: answers 200
 * with it, or 404 with not_found (a static string) when there is no row. */
int req_submit_one_row(struct req *r, struct db_job *job, const char *not_found);
/* Its database callback, for handlers that check something first: 200 with the row's
 * text, or 404 with r->not_found. */
void req_on_one_row(struct req *r, struct db_job *job);
/* The same for one prepared statement: GET of one resource, 200 with its row or 404. */
int req_submit_get(struct req *r, int stmt, int nparams, const char *const *params,
                   const char *not_found);
struct db_job *req_locked_job(const char *key);
int req_submit_locked(struct req *r, struct db_job *job, req_db_fn done);
/* The request answers without waiting for its running job, which ends by itself (a load
 * whose COPY feed was aborted): it runs on unanswered, uncancelled (db_job_abandon). */
void req_abandon_job(struct req *r);
/* Fire-and-forget job (audit, last-used); dropped when the pool cannot take it. */
void req_submit_detached(struct worker *w, struct db_job *job);
/* Frees the worker's req_submit_shared bookkeeping (after its pool, at exit). */
void req_shared_reads_free(struct worker *w);

/* One page of a keyset list, as statement parameters. */
struct req_page {
    long limit;          /* ?limit=, 1..1000, default 100 */
    char limit_text[24]; /* the same, as a parameter */
    char after[72];      /* the last key served, or the first_key given on the first page */
    bool first;          /* no cursor: the first page */
};
/* The one opening of every paged list: reads ?limit= and ?cursor= (a key this server
 * issued; with numeric, one of digits only). On a bad value answers 422 naming it and
 * returns false. first_key is what the statement starts after ("", "0", or the largest
 * bigint for a newest-first list). */
bool req_page_open(struct req *r, const char *first_key, bool numeric, struct req_page *pg);
/* A list answered whole (next_cursor null) takes limit and cursor as every list does, so a
 * generic client can page it: limit is checked (1..1000) and changes nothing, a cursor is a
 * 422 (none was issued). False: answered. */
bool req_page_whole(struct req *r);
/* Database callback for a page query whose one row is (items json, count, last key):
 * answers the page with the limit req_page_open read. */
void req_on_page(struct req *r, struct db_job *job);
/* Replies {"items": items_json, "next_cursor": cursor-of-last_key or null}. */
void req_reply_page(struct req *r, const char *items_json, long count, long limit,
                    const char *last_key);

/* Check a year ("2025-26") or term (autumn|spring|summer) parameter; on a bad value
 * answer 422 naming the parameter and return false. */
bool req_year_ok(struct req *r, const char *year);
bool req_term_ok(struct req *r, const char *term);
/* A ?school= filter (NULL is fine): 422 naming "school" when it is not a URN, 403 when
 * it is outside the principal's scope; returns false when it answered. */
bool req_school_filter_ok(struct req *r, const char *school);
/* The principal's schools as a PostgreSQL array literal "{a,b}", or NULL for trust-wide
 * principals (admin, ceo). In the request's arena: alive until the reply. */
const char *req_scope_urns(struct req *r);
/* The request's arena (lib/arena.h): memory that lives exactly as long as the request. */
struct arena *req_arena(struct req *r);

/* Adds (or, with value NULL, removes) a response header before the reply. */
void req_set_header(struct req *r, const char *name, const char *value);
/* A response header set so far, or NULL. */
const char *req_reply_header(const struct req *r, const char *name);

/* Whether migrations are applied and trust known; *db_up = live connections of r's pool. */
bool req_server_ready(const struct req *r, int *db_up);

/* True when the client asked for CSV (Accept: text/csv). */
bool req_wants_csv(const struct req *r);

struct schema_registry;
/* Registers statements and keeps the schema registry; once, before workers start. */
void request_init(const struct schema_registry *registry);
/* Frees the worker's finished requests (kept until its next request or its end, so that a
 * late reply is caught rather than a use after free). */
void request_release_retired(struct worker *w);
/* A request from connection c (conn.c): its head (alive until the reply), its body (now
 * the request's; NULL if none) and, when the gate refused the head, its verdict. */
void request_dispatch(struct worker *w, struct conn *c, const struct http1_head *head, char *body,
                      size_t body_len, const struct gate_verdict *refused);
/* The route table (routes.c). */
extern const struct route routes[];
extern const size_t nroutes;

#endif
