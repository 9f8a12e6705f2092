/* Liveness, readiness, metrics and the caller's own identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "handlers.h"
#include "http_server.h"
#include "metrics.h"
#include "migrate.h"
#include "replica.h"
#include "util.h"

void h_system_init(void)
{
}

void h_healthz(struct req *r)
{
    req_reply_bytes(r, 200, "application/json; charset=utf-8", "{\"status\":\"ok\"}", 15);
}

/* Ready = migrations applied at start (schema_ready) and this worker's pool holds a live
 * connection: state the process already has, so a probe costs no query. */
void h_readyz(struct req *r)
{
    int up = 0;
    bool schema = req_server_ready(r, &up);
    if (!schema || up == 0) {
        req_set_header(r, "Retry-After", "2");
        req_reply_problem(r, 503,
                          !schema ? "the database schema is not ready yet"
                                  : "the database is not reachable",
                          NULL);
        return;
    }
    json_t *o = json_pack("{s:s, s:i, s:i}", "status", "ready", "schema_version", migrate_latest(),
                          "database_connections", up);
    json_t *replicas = replica_set_json(db_pool_replicas(r->w->db));
    if (replicas) /* reads fall back to the primary: a replica's state does not gate ready */
        json_object_set_new(o, "replicas", replicas);
    req_reply_json(r, 200, o);
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

/* Written directly (one buffer; the generic JSON tree cost a tenth of this request). */
void h_me(struct req *r)
{
    const struct principal *p = &r->principal;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "{\"token_id\":%lld,\"role\":", p->token_id);
    strbuf_json_string(&sb, role_name(p->role));
    strbuf_puts(&sb, ",\"name\":");
    strbuf_json_string(&sb, p->name);
    strbuf_puts(&sb, ",\"schools\":[");
    for (int i = 0; i < p->nurns; i++) {
        if (i)
            strbuf_puts(&sb, ",");
        strbuf_json_string(&sb, p->urns[i]);
    }
    strbuf_puts(&sb, "],\"trust\":");
    strbuf_json_string(&sb, r->w->server->cfg.trust_name);
    strbuf_puts(&sb, "}");
    req_reply_bytes(r, 200, "application/json; charset=utf-8", sb.data, sb.len);
    strbuf_free(&sb);
}
