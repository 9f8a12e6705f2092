/* The TLS HTTP front: one worker thread per core, each with its own event_base, its own
 * SO_REUSEPORT socket and connections, database pool and connection budget; SIGHUP
 * swaps the TLS context and runtime limits; SIGTERM drains. */
#ifndef MATD_HTTP_SERVER_H
#define MATD_HTTP_SERVER_H
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"

struct event_base;
struct conn;
struct proxy_wait;
struct evconnlistener;
struct db_pool;
struct event;
struct server;
struct schema_registry;
struct denials;
struct authn_batches;
struct reusable;

/* Limits that SIGHUP may change, read by workers through an atomic pointer. */
struct limits {
    int max_body_bytes, max_push_bytes, max_records_per_push;
    int request_timeout_ms, drain_timeout_ms, idle_timeout_s, max_connections;
    int rate_limit_per_minute, rate_limit_burst;
    bool metrics_public;
    struct limits *retired; /* earlier versions, freed at exit (workers may hold them) */
};

struct req;

struct worker {
    int index;
    pthread_t thread;
    struct server *server;
    struct event_base *base;
    struct evconnlistener *listener;
    struct conn *conns;             /* open connections (conn.c) */
    struct reusable *reusable;      /* those doing nothing useful yet (conn.c) */
    struct proxy_wait *proxy_waits; /* accepted, waiting for a PROXY header (gate.c) */
    struct db_pool *db;
    struct event *wake;      /* main thread -> worker: drain */
    struct denials *denials; /* denied requests counted, flushed by flush_ev */
    struct event *flush_ev;
    struct authn_batches *authn_batches; /* credentials checked past their budget (authn_limit) */
    int connections, max_connections;
    unsigned long long evicted_unlogged; /* idle connections closed for newcomers (conn.c) */
    bool evicting;                       /* some were in this denial_flush_s period */
    bool pause_logged;                   /* the listener's pause is logged once a period */
    int inflight;
    struct req *retired;              /* finished requests, freed at the next request (request.c) */
    struct arena *spare_arena;        /* a finished request's arena, reset for the next one */
    struct shared_read *shared_reads; /* req_submit_shared's reads (request.c) */
    bool draining;
    bool listening;
};

struct server {
    struct config cfg; /* as loaded at start; reload updates limits and TLS only */
    char *config_path;
    _Atomic(struct limits *) limits;
    pthread_mutex_t tls_lock;
    SSL_CTX *tls; /* current context; SSL_new takes its own reference */
    long long trust_id;
    unsigned char secret[256];
    size_t secret_len;
    atomic_bool schema_ready;              /* migrations applied and trust known */
    const struct schema_registry *schemas; /* request-body JSON Schemas */
    int nworkers;
    struct worker *workers;
    long long started_at;
};

extern struct server *g_server;

/* Opens the listening sockets and starts the workers. Returns -1 with err filled. */
int http_server_start(struct server *s, char *err, size_t errlen);
/* Stops accepting, waits for in-flight requests (bounded by drain_timeout_ms), joins. */
void http_server_drain_and_join(struct server *s);
/* Frees the workers' loops, servers and pools (after drain_and_join and offload_stop). */
void http_server_free(struct server *s);
/* Installs a new context; the old one lives on in open connections until they close. */
void http_server_swap_tls(struct server *s, SSL_CTX *ctx);
struct limits *limits_from_config(const struct config *cfg);
/* Makes each worker take the current limits (after a reload). */
void http_server_apply_limits(struct server *s);
const struct limits *server_limits(struct server *s);
/* The TLS state for a new connection of w, which takes a slot in w's budget. */
SSL *http_server_new_ssl(struct worker *w);
/* A connection of w is gone (its TLS state freed): frees its slot in the budget. */
void http_server_conn_closed(struct worker *w);
/* Runs or pauses w's listener: it runs while w has room in its budget, or a connection that
 * a newcomer may take the place of (w->reusable); call when either changes. */
void http_server_listen_update(struct worker *w);

#endif
