/* Worker threads: each owns an event_base, its own SO_REUSEPORT listener (the kernel
 * spreads connections), its connections (conn.c), a database pool and a connection budget. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "authn_limit.h"
#include "conn.h"
#include "cpu_priority.h"
#include "db_pool.h"
#include "denials.h"
#include "gate.h"
#include "log.h"
#include "request.h"
#include "reusable.h"
#include "util.h"

struct server *g_server;

struct limits *limits_from_config(const struct config *cfg)
{
    struct limits *l = xcalloc(1, sizeof *l);
    l->max_body_bytes = cfg->max_body_bytes;
    l->max_push_bytes = cfg->max_push_bytes;
    l->max_records_per_push = cfg->max_records_per_push;
    l->request_timeout_ms = cfg->request_timeout_ms;
    l->drain_timeout_ms = cfg->drain_timeout_ms;
    l->idle_timeout_s = cfg->idle_timeout_s;
    l->max_connections = cfg->max_connections;
    l->rate_limit_per_minute = cfg->rate_limit_per_minute;
    l->rate_limit_burst = cfg->rate_limit_burst;
    l->metrics_public = cfg->metrics_public;
    return l;
}

const struct limits *server_limits(struct server *s)
{
    return atomic_load(&s->limits);
}

void http_server_swap_tls(struct server *s, SSL_CTX *ctx)
{
    pthread_mutex_lock(&s->tls_lock);
    SSL_CTX *old = s->tls;
    s->tls = ctx;
    pthread_mutex_unlock(&s->tls_lock);
    if (old)
        SSL_CTX_free(old); /* connections keep their own reference */
}

void http_server_listen_update(struct worker *w)
{
    bool run =
        !w->draining && (w->connections < w->max_connections || reusable_count(w->reusable) > 0);
    if (run == w->listening)
        return;
    w->listening = run;
    if (run) {
        evconnlistener_enable(w->listener);
        return;
    }
    /* At the budget with every connection busy: the kernel's backlog holds newcomers until
     * one closes or goes idle (a pause can come and go with each request: logged once a
     * period). */
    evconnlistener_disable(w->listener);
    if (!w->pause_logged)
        log_warn("msg=\"connection limit reached\" worker=%d connections=%d", w->index,
                 w->connections);
    w->pause_logged = true;
}

void http_server_conn_closed(struct worker *w)
{
    w->connections--;
    http_server_listen_update(w);
}

SSL *http_server_new_ssl(struct worker *w)
{
    struct server *s = w->server;
    pthread_mutex_lock(&s->tls_lock);
    SSL *ssl = SSL_new(s->tls);
    pthread_mutex_unlock(&s->tls_lock);
    if (!ssl)
        fatal("SSL_new failed (out of memory)");
    w->connections++;
    http_server_listen_update(w);
    return ssl;
}

static int open_listener(const struct config *cfg, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", cfg->listen_port);
    const char *host = cfg->listen_host;
    if (strcmp(host, "*") == 0 || !*host)
        host = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen %s: %s", cfg->listen, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        /* Accepted sockets inherit it: no Nagle delay between a reply's TLS records. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "listen %s: %s", cfg->listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void on_flush(evutil_socket_t fd, short what, void *arg);

/* Draining: no new connections; the loop ends once no request is in flight and the pool has
 * nothing left to run, so the writes submitted at a reply (audit rows, a rejected push's
 * record, the denial counts flushed here) reach the database before exit (not waited for
 * with no connection up). The drain deadline (http_server_drain_and_join) bounds the wait. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    if (!w->draining) {
        w->draining = true;
        if (w->listening)
            evconnlistener_disable(w->listener);
        w->listening = false;
        log_info("msg=\"worker draining\" worker=%d inflight=%d", w->index, w->inflight);
        on_flush(-1, 0, w);
    }
    bool pool_done = db_pool_busy(w->db) == 0 &&
                     (db_pool_queued(w->db) == 0 || db_pool_up(w->db) == 0); /* db down */
    if (w->inflight == 0 && pool_done) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    struct timeval tv = {0, 20000};
    event_add(w->wake, &tv); /* poll until in-flight requests are done */
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    denials_log_flush(w->denials, w->server->cfg.denial_flush_s);
    conn_log_evictions(w, w->server->cfg.denial_flush_s);
    w->pause_logged = false;
    if (!atomic_load(&w->server->schema_ready))
        return; /* keep counting until the audit table exists */
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", w->server->trust_id);
    struct db_job *job = denials_flush(w->denials, trust);
    if (job)
        req_submit_detached(w, job);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cpu_priority_latency_sensitive();
    event_base_dispatch(w->base);
    return NULL;
}

static int worker_setup(struct server *s, struct worker *w, char *err, size_t errlen)
{
    const struct config *cfg = &s->cfg;
    w->server = s;
    /* epoll's change list folds an event's interest taken and given back within one loop
     * turn into no system call. */
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg)
        event_config_free(ecfg);
    if (!w->base) {
        snprintf(err, errlen, "event_base_new failed");
        return -1;
    }
    int fd = open_listener(cfg, err, errlen);
    if (fd < 0)
        return -1;
    if (gate_listen(w, fd) != 0) {
        close(fd);
        snprintf(err, errlen, "cannot listen on %s (out of memory)", cfg->listen);
        return -1;
    }
    w->listening = true;
    w->max_connections = (cfg->max_connections + s->nworkers - 1) / s->nworkers;
    uint64_t seed = 0;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull; /* only spreads addresses */
    w->reusable = reusable_new(cfg->max_connections_per_address, w->max_connections, seed);
    w->db = db_pool_new(w->base, cfg->dsn, cfg->pool_size, cfg->queue_max, cfg->connect_timeout_ms);
    w->wake = evtimer_new(w->base, on_wake, w);
    w->denials = denials_new();
    w->authn_batches = authn_batches_new(w);
    w->flush_ev = event_new(w->base, -1, EV_PERSIST, on_flush, w);
    struct timeval every = {cfg->denial_flush_s, 0};
    event_add(w->flush_ev, &every);
    return 0;
}

int http_server_start(struct server *s, char *err, size_t errlen)
{
    if (evthread_use_pthreads() != 0) {
        snprintf(err, errlen, "libevent: no pthreads support");
        return -1;
    }
    s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++) {
        s->workers[i].index = i;
        if (worker_setup(s, &s->workers[i], err, errlen) != 0)
            return -1;
    }
    for (int i = 0; i < s->nworkers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            snprintf(err, errlen, "pthread_create failed");
            return -1;
        }
    return 0;
}

void http_server_drain_and_join(struct server *s)
{
    for (int i = 0; i < s->nworkers; i++) {
        struct timeval zero = {0, 0};
        event_add(s->workers[i].wake, &zero); /* thread-safe with evthread_use_pthreads */
    }
    uint64_t deadline = now_ms() + (uint64_t)server_limits(s)->drain_timeout_ms;
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        for (;;) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t left = deadline > now_ms() ? deadline - now_ms() : 0;
            ts.tv_sec += (time_t)(left / 1000);
            ts.tv_nsec += (long)(left % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            if (pthread_timedjoin_np(w->thread, NULL, &ts) == 0)
                break;
            log_warn("msg=\"drain timeout; abandoning in-flight requests\" worker=%d inflight=%d",
                     w->index, w->inflight);
            event_base_loopbreak(w->base);
            pthread_join(w->thread, NULL);
            break;
        }
    }
}

void http_server_free(struct server *s)
{
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (w->inflight)
            continue; /* abandoned at the drain deadline: the process is exiting anyway */
        conn_close_all(w);
        reusable_free(w->reusable);
        gate_close_all(w);
        authn_batches_free(w->authn_batches); /* before its pool: its query is cancelled */
        evconnlistener_free(w->listener);
        db_pool_free(w->db);
        req_shared_reads_free(w);
        event_free(w->wake);
        event_free(w->flush_ev);
        denials_free(w->denials);
        request_release_retired(w);
        arena_free(w->spare_arena);
        event_base_free(w->base);
    }
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}

static void apply_body_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    const struct limits *l = server_limits(w->server);
    w->max_connections = (l->max_connections + w->server->nworkers - 1) / w->server->nworkers;
    http_server_listen_update(w);
}

void http_server_apply_limits(struct server *s)
{
    struct timeval zero = {0, 0};
    for (int i = 0; i < s->nworkers; i++)
        event_base_once(s->workers[i].base, -1, EV_TIMEOUT, apply_body_limit, &s->workers[i],
                        &zero);
}
