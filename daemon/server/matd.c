/* matd: the trust's school-improvement data daemon. Start-up, signals (SIGTERM drains,
 * SIGHUP reloads config limits and the TLS certificate), systemd notify/watchdog, and the
 * start-up thread that waits for the database and applies migrations. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "authn.h"
#include "authn_limit.h"
#include "embedded.h"
#include "handlers.h"
#include "http_server.h"
#include "log.h"
#include "log_stderr.h"
#include "config_file.h"
#include "log_writer.h"
#include "metrics.h"
#include "offload.h"
#include "replica.h"
#include "migrate.h"
#include "request.h"
#include "scheduler.h"
#include "schema.h"
#include "secret.h"
#include "denials.h"
#include "session.h"
#include "tls.h"
#include "util.h"

#ifndef MATD_VERSION
#define MATD_VERSION "0.1.0"
#endif

extern char **environ;

static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

/* Waits for the database, applies migrations and finds the trust; retries with backoff.
 * Runs on its own thread with blocking libpq, never on an event loop. */
static void *startup_thread(void *arg)
{
    struct server *s = arg;
    int backoff_ms = 200;
    for (;;) {
        char err[512] = "";
        PGconn *pg = db_connect_blocking(s->cfg.dsn, 5);
        int applied = 0;
        long long trust = 0;
        if (PQstatus(pg) != CONNECTION_OK) {
            snprintf(err, sizeof err, "%s", PQerrorMessage(pg));
        } else if (migrate_apply(pg, &applied, err, sizeof err) == 0 &&
                   migrate_ensure_trust(pg, s->cfg.trust_name, &trust, err, sizeof err) == 0) {
            PQfinish(pg);
            s->trust_id = trust;
            atomic_store(&s->schema_ready, true);
            log_info("msg=\"database schema ready\" migrations_applied=%d trust_id=%lld", applied,
                     trust);
            return NULL;
        }
        PQfinish(pg);
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '"')
                *p = ' ';
        log_warn("msg=\"database not ready; retrying\" error=\"%s\" retry_ms=%d", err, backoff_ms);
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
    }
}

struct main_ctx {
    struct server *s;
    struct event_base *base;
    bool stopping;
};

static void warn_restart_only(const char *section, const char *key, void *arg)
{
    (void)arg;
    log_warn("msg=\"setting changes on restart only\" key=%s.%s", section, key);
}

/* A push paced for readers may pause a third of the shorter of its deadlines at most: the
 * request's (request_timeout_ms) and its statement's (statement_timeout_ms, 0 = none). */
static void apply_push_pacing(int share_pct, int request_timeout_ms, int statement_timeout_ms)
{
    int deadline = request_timeout_ms;
    if (statement_timeout_ms > 0 && statement_timeout_ms < deadline)
        deadline = statement_timeout_ms;
    db_pool_set_push_busy_share(share_pct, deadline / 3);
}

static void reload(struct main_ctx *m)
{
    struct server *s = m->s;
    notify("RELOADING=1");
    char err[512];
    struct config cfg;
    config_defaults(&cfg);
    if (config_load_file(&cfg, s->config_path, environ, err, sizeof err) != 0) {
        log_error("msg=\"reload failed; keeping the running configuration\" error=\"%s\"", err);
        config_free(&cfg);
        notify("READY=1");
        return;
    }
    SSL_CTX *ctx = tls_context_new(&cfg, err, sizeof err);
    if (!ctx) {
        log_error("msg=\"reload failed; keeping the running certificate\" error=\"%s\"", err);
        config_free(&cfg);
        notify("READY=1");
        return;
    }
    http_server_swap_tls(s, ctx);
    /* Old limits stay allocated until exit: a worker may still be reading them. */
    struct limits *fresh = limits_from_config(&cfg);
    fresh->retired = atomic_load(&s->limits);
    atomic_store(&s->limits, fresh);
    http_server_apply_limits(s);
    enum log_level lvl;
    if (log_level_parse(cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    apply_push_pacing(cfg.push_busy_share_pct, cfg.request_timeout_ms, s->cfg.statement_timeout_ms);
    /* Everything else is read once at start: say which changes wait for a restart. */
    config_each_restart_only_change(&s->cfg, &cfg, warn_restart_only, NULL);
    config_free(&cfg);
    log_info("msg=\"reloaded configuration and TLS certificate\"");
    notify("READY=1");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct main_ctx *m = arg;
    if (sig == SIGHUP) {
        reload(m);
        return;
    }
    if (m->stopping)
        return;
    m->stopping = true;
    log_info("msg=\"shutting down\" signal=%s", sig == SIGTERM ? "TERM" : "INT");
    notify("STOPPING=1");
    event_base_loopexit(m->base, NULL);
}

#ifdef HAVE_SYSTEMD
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    sd_notify(0, "WATCHDOG=1");
}
#endif

/* libevent's own messages as log lines (it would otherwise write them to stderr itself). */
static void libevent_to_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_ERR)
        log_error("msg=\"libevent\" detail=\"%s\"", msg);
    else if (severity == EVENT_LOG_WARN)
        log_warn("msg=\"libevent\" detail=\"%s\"", msg);
    else
        log_debug("msg=\"libevent\" detail=\"%s\"", msg);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: matd -c FILE   run the daemon in the foreground\n"
               "       matd --version\n");
}

int main(int argc, char **argv)
{
    log_stderr_install();
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'V':
            printf("matd %s (malloc: %s)\n", MATD_VERSION, MATD_ALLOCATOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    static struct server server;
    struct server *s = &server;
    g_server = s;
    char err[512];
    config_defaults(&s->cfg);
    if (config_load_file(&s->cfg, config_path, environ, err, sizeof err) != 0)
        fatal("%s", err);
    s->config_path = config_path ? xstrdup(config_path) : NULL;
    enum log_level lvl = LOG_INFO;
    log_level_parse(s->cfg.log_level, &lvl);
    log_set_level(lvl);
    log_writer_start();
    event_set_log_callback(libevent_to_log);
    if (secret_load(s->cfg.secret_file, s->secret, sizeof s->secret, &s->secret_len, err,
                    sizeof err) != 0)
        fatal("%s", err);
    pthread_mutex_init(&s->tls_lock, NULL);
    s->tls = tls_context_new(&s->cfg, err, sizeof err);
    if (!s->tls)
        fatal("%s", err);
    atomic_store(&s->limits, limits_from_config(&s->cfg));
    s->nworkers = s->cfg.workers > 0 ? s->cfg.workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->nworkers < 1)
        s->nworkers = 1;

    struct schema_registry *registry = schema_registry_load(schemas_files, err, sizeof err);
    if (!registry)
        fatal("%s", err);
    s->schemas = registry;
    request_init(registry);
    authn_init();
    authn_limit_init();
    denials_init();
    h_system_init();
    h_tokens_init();
    h_schools_init();
    h_documents_init();
    h_sip_init();
    h_reference_init();
    h_progress_init();
    h_priorities_init();
    h_rotas_init();
    h_reviews_init();
    session_init();
    h_sessions_init();
    h_app_init();
    metrics_init(nroutes);

    offload_set_queue_max(s->cfg.offload_queue_max);
    db_pool_set_statement_timeout(s->cfg.statement_timeout_ms);
    apply_push_pacing(s->cfg.push_busy_share_pct, s->cfg.request_timeout_ms,
                      s->cfg.statement_timeout_ms);
    if (replica_configure(s->cfg.replica_dsn, s->cfg.replica_max_lag_ms,
                          s->cfg.replica_max_lag_bytes, err, sizeof err) != 0)
        fatal("%s", err);
    if (replica_count() > 0)
        log_info("msg=\"read replicas\" count=%d max_lag_ms=%d max_lag_bytes=%d", replica_count(),
                 s->cfg.replica_max_lag_ms, s->cfg.replica_max_lag_bytes);
    /* Per lane, one thread fewer than the loops (offload.h): reads keep a core. */
    offload_start(s->nworkers > 1 ? s->nworkers - 1 : 1);
    pthread_t startup;
    if (pthread_create(&startup, NULL, startup_thread, s) != 0)
        fatal("cannot start the start-up thread");
    pthread_detach(startup);

    /* Give the database a moment, so the first requests find the schema ready; if it is
     * down, start anyway: /healthz answers and data routes say 503 until it returns. */
    for (int waited = 0; waited < 3000 && !atomic_load(&s->schema_ready); waited += 10)
        usleep(10000);
    /* The signals are caught before the first connection is accepted: a SIGTERM that comes
     * as soon as a client has been answered drains (it is handled when the loop runs below),
     * where it would otherwise kill matd with the default action. */
    struct main_ctx m = {s, event_base_new(), false};
    struct event *sigs[3];
    int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(m.base, signums[i], on_signal, &m);
        event_add(sigs[i], NULL);
    }
    if (http_server_start(s, err, sizeof err) != 0)
        fatal("%s", err);
    log_info("msg=\"matd listening\" version=%s malloc=%s listen=%s workers=%d pool_size=%d "
             "trust=\"%s\"",
             MATD_VERSION, MATD_ALLOCATOR, s->cfg.listen, s->nworkers, s->cfg.pool_size,
             s->cfg.trust_name);
#ifdef HAVE_SYSTEMD
    uint64_t wd_usec = 0;
    struct event *wd = NULL;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
        wd = event_new(m.base, -1, EV_PERSIST, on_watchdog, NULL);
        struct timeval tv = {(time_t)(wd_usec / 2 / 1000000), (suseconds_t)(wd_usec / 2 % 1000000)};
        event_add(wd, &tv);
    }
#endif
    scheduler_start(s, s->cfg.rota_check_interval_s);
    notify("READY=1");
    event_base_dispatch(m.base);
    scheduler_stop();

    http_server_drain_and_join(s);
    offload_stop();
    http_server_free(s);
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
#ifdef HAVE_SYSTEMD
    if (wd)
        event_free(wd);
#endif
    event_base_free(m.base);
    for (struct limits *l = atomic_load(&s->limits), *next; l; l = next) {
        next = l->retired;
        free(l);
    }
    log_info("msg=\"stopped\"");
    return 0;
}
