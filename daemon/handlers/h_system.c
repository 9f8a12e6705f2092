/* Liveness, readiness, metrics and the caller's own identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "handlers.h"
#include "http_server.h"
#include "metrics.h"
#include "migrate.h"
#include "util.h"

static int stmt_ready;

void h_system_init(void)
{
    stmt_ready = db_stmt_register("readyz", "SELECT count(*) FROM schema_migrations");
}

void h_healthz(struct req *r)
{
    req_reply_bytes(r, 200, "application/json; charset=utf-8", "{\"status\":\"ok\"}", 15);
}

static void on_ready(struct req *r, struct db_job *job)
{
    req_set_header(r, "Retry-After", "2");
    if (db_job_status(job) != DB_OK) {
        req_reply_problem(r, 503, "the database is not reachable", NULL);
        return;
    }
    const char *v = db_val(db_job_result(job, 0), 0, 0);
    int have = v ? atoi(v) : 0;
    if (have != migrate_latest()) {
        char detail[96];
        snprintf(detail, sizeof detail, "schema at version %d, this build needs %d", have,
                 migrate_latest());
        req_reply_problem(r, 503, detail, NULL);
        return;
    }
    req_set_header(r, "Retry-After", NULL);
    json_t *o = json_pack("{s:s, s:i}", "status", "ready", "schema_version", have);
    req_reply_json(r, 200, o);
}

void h_readyz(struct req *r)
{
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_ready, 0, NULL);
    req_submit(r, job, on_ready);
}

static bool is_loopback(const char *addr)
{
    return strcmp(addr, "127.0.0.1") == 0 || strncmp(addr, "127.", 4) == 0 ||
           strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0;
}

static void render_metrics(struct req *r)
{
    static const char **names;
    static size_t n;
    if (!names) { /* route names, built once per process (benign race: same content) */
        const char **tmp = xcalloc(nroutes, sizeof *tmp);
        for (size_t i = 0; i < nroutes; i++)
            tmp[i] = ((const struct route_def *)routes[i].data)->name;
        n = nroutes;
        names = tmp;
    }
    struct strbuf sb;
    strbuf_init(&sb);
    metrics_render(&sb, names, n);
    req_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", sb.data, sb.len);
    strbuf_free(&sb);
}

static void metrics_after_auth(struct req *r)
{
    if (r->principal.role != ROLE_ADMIN) {
        req_reply_problem(r, 403, "metrics are for loopback clients and admin tokens", NULL);
        return;
    }
    render_metrics(r);
}

void h_metrics(struct req *r)
{
    if (is_loopback(r->client_addr) || server_limits(r->w->server)->metrics_public) {
        render_metrics(r);
        return;
    }
    authn_authenticate(r, metrics_after_auth);
}

void h_me(struct req *r)
{
    const struct principal *p = &r->principal;
    json_t *schools = json_array();
    for (int i = 0; i < p->nurns; i++)
        json_array_append_new(schools, json_string(p->urns[i]));
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:s}", "token_id", (json_int_t)p->token_id, "role",
                          role_name(p->role), "name", p->name, "schools", schools, "trust",
                          r->w->server->cfg.trust_name);
    req_reply_json(r, 200, o);
}
