/* The connection gate: per-address caps and the PROXY protocol at accept, and the verdict
 * on each request head before its body is read. */
#include "gate.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "authn.h"
#include "authn_limit.h"
#include "conn.h"
#include "db_pool.h"
#include "denials.h"
#include "http_server.h"
#include "log.h"
#include "request.h"
#include "session.h"
#include "tls.h"
#include "util.h"

#define ADDR_LEN 64
/* ---- connections per client address, process-wide (workers share clients) ---- */

#define ADDR_BUCKETS 1024

struct addr_node {
    struct addr_node *next;
    int count;
    char addr[ADDR_LEN];
};

static struct addr_node *buckets[ADDR_BUCKETS];
static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;

static struct addr_node **addr_find(const char *addr)
{
    uint64_t h = util_fnv1a(UTIL_FNV_OFFSET, addr);
    struct addr_node **n = &buckets[h % ADDR_BUCKETS];
    while (*n && strcmp((*n)->addr, addr) != 0)
        n = &(*n)->next;
    return n;
}

static bool addr_acquire(const char *addr, int cap)
{
    pthread_mutex_lock(&addr_lock);
    struct addr_node **n = addr_find(addr);
    if (!*n) {
        *n = xcalloc(1, sizeof **n);
        snprintf((*n)->addr, sizeof(*n)->addr, "%s", addr);
    }
    bool ok = (*n)->count < cap;
    if (ok)
        (*n)->count++;
    pthread_mutex_unlock(&addr_lock);
    return ok;
}

static void addr_release(const char *addr)
{
    pthread_mutex_lock(&addr_lock);
    struct addr_node **n = addr_find(addr);
    if (*n && --(*n)->count <= 0) {
        struct addr_node *gone = *n;
        *n = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&addr_lock);
}

void gate_release_addr(const char *addr)
{
    addr_release(addr);
}

/* ---- the head ---- */

/* The most a bodyless route reads (and ignores) before refusing with 413. */
#define GATE_IGNORED_BODY_MAX 1024u

static bool has_verified_cert(SSL *ssl)
{
    return ssl && SSL_get0_peer_certificate(ssl) && SSL_get_verify_result(ssl) == X509_V_OK;
}

static void on_probed(void *arg, enum authn_probe_result result)
{
    struct gate_hold *hold = arg;
    hold->probe = NULL;
    hold->probed = true;
    hold->result = result;
    hold->resume(hold->arg); /* the held head is decided again, with this answer */
}

void gate_hold_cancel(struct gate_hold *hold)
{
    if (hold->probe)
        authn_probe_cancel(hold->probe); /* its callback would find the connection gone */
    hold->probe = NULL;
    hold->probed = false;
}

int gate_decide(struct worker *w, const char *addr, SSL *ssl, struct gate_hold *hold,
                const struct http1_head *h, struct gate_verdict *v, uint64_t *limit)
{
    snprintf(v->path, sizeof v->path, "%s", h->path[0] ? h->path : "/");
    v->method = http_method_parse(h->method);
    v->allow[0] = '\0';
    v->retry_after = 0;
    *limit = 0;
    if (h->bad) {
        snprintf(v->detail, sizeof v->detail, "%s", h->bad);
        return 400;
    }
    if (h->expect_other) {
        snprintf(v->detail, sizeof v->detail, "the only Expect understood is 100-continue");
        return 417;
    }
    bool body = h->chunked || (h->has_len && h->len > 0);
    if (!body)
        return 0; /* nothing to buffer: the request layer decides everything */
    /* A method not served at all (v->method 0) matches no route: 405 or 404 as below. */
    struct route_match m;
    enum route_result found = router_match(routes, nroutes, v->method, v->path, &m);
    const struct route_def *def = found == ROUTE_FOUND ? m.route->data : NULL;
    route_match_free(&m);
    if (!def) {
        *limit = (uint64_t)server_limits(w->server)->max_body_bytes;
        if (found == ROUTE_NOT_FOUND) {
            snprintf(v->detail, sizeof v->detail, "no such resource");
            return 404;
        }
        snprintf(v->allow, sizeof v->allow, "%s", m.allow);
        snprintf(v->detail, sizeof v->detail, "%.20s is not allowed here; allowed: %s", h->method,
                 m.allow);
        return 405;
    }
    const struct limits *lim = server_limits(w->server);
    /* A route that takes no body still tolerates a small one (clients send "{}" to
     * POST .../publish), read and ignored; anything larger is refused unread. */
    *limit = def->body == BODY_NONE   ? GATE_IGNORED_BODY_MAX
             : def->body == BODY_PUSH ? (uint64_t)lim->max_push_bytes
                                      : (uint64_t)lim->max_body_bytes;
    if (def->access != ACCESS_PUBLIC) {
        enum authn_probe_result known = AUTHN_PROBE_REFUSED;
        const char *auth = http1_field(h, "Authorization");
        const char *cookie = http1_field(h, "Cookie");
        bool has_session = cookie && strstr(cookie, SESSION_COOKIE "=") != NULL;
        if ((auth || has_session) && hold->probed) { /* this head's lookup answered */
            known = (enum authn_probe_result)hold->result;
            hold->probed = false;
        } else if (auth) {
            known = authn_probe(w, addr, auth, on_probed, hold, &hold->probe);
            if (known == AUTHN_PROBE_PENDING)
                return GATE_HOLD;
        } else if (has_session) {
            /* The session is looked up before its body is read, as a token is: a made-up
             * cookie gets its 401 without a byte of the body buffered. */
            known = authn_probe_session(w, addr, cookie, on_probed, hold, &hold->probe);
            if (known == AUTHN_PROBE_PENDING)
                return GATE_HOLD;
        } else if (has_verified_cert(ssl)) {
            known = AUTHN_PROBE_UNDECIDED; /* the request layer maps the subject */
        }
        if (known == AUTHN_PROBE_LIMITED) {
            enum authn_kind kind = auth ? AUTHN_KIND_TOKEN : AUTHN_KIND_SESSION;
            v->retry_after = 1;
            authn_budget_left(kind, addr, &v->retry_after);
            snprintf(v->detail, sizeof v->detail, "%s",
                     auth ? "too many failed authentications from this address"
                          : "too many failed session lookups from this address");
            return 429;
        }
        if (known == AUTHN_PROBE_REFUSED) {
            snprintf(v->detail, sizeof v->detail, "%s",
                     auth          ? "the token is invalid, expired or revoked"
                     : has_session ? "the session has ended or expired; sign in again"
                                   : "a bearer token is required");
            return 401;
        }
    }
    if (h->has_len && h->len > *limit) {
        if (def->body == BODY_NONE)
            snprintf(v->detail, sizeof v->detail, "this resource takes no body");
        else
            snprintf(v->detail, sizeof v->detail, "the body is larger than %llu bytes",
                     (unsigned long long)*limit);
        return 413;
    }
    return 0;
}

/* ---- accept ---- */

/* Admits a connection from the client at sa (the peer, or the client a trusted proxy
 * named): the per-address cap, room in the worker's budget (an idle connection closed for
 * it if need be), then the connection (conn.c). */
static void admit(struct worker *w, evutil_socket_t fd, struct sockaddr *sa, int salen)
{
    char addr[ADDR_LEN];
    if (getnameinfo(sa, (socklen_t)salen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(addr, sizeof addr, "?");
    if (!addr_acquire(addr, w->server->cfg.max_connections_per_address)) {
        /* No TLS state, no buffer: the socket is closed as it arrives. */
        denials_count(w->denials, addr, 0, 503);
        evutil_closesocket(fd);
        return;
    }
    if (!conn_make_room(w)) {
        /* Every connection busy: the listener pauses after its last newcomer, so only one
         * already accepted (or a PROXY wait ending) meets a full budget; refused as at the cap. */
        addr_release(addr);
        denials_count(w->denials, addr, 0, 503);
        evutil_closesocket(fd);
        return;
    }
    conn_start(w, fd, addr);
}

/* ---- PROXY protocol v2 from trusted load balancers ---- */

#define PROXY_MAX 536 /* 16-byte header + addresses + TLVs we accept */

static const unsigned char proxy_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

struct proxy_wait {
    struct worker *w;
    struct proxy_wait *next, **pprev; /* the worker's waits (freed with it) */
    evutil_socket_t fd;
    struct sockaddr_storage peer;
    int peerlen;
    uint64_t deadline_ms;
    struct event *ev;
    unsigned char buf[PROXY_MAX]; /* the header so far: read, never peeked (it precedes TLS) */
    size_t have;
};

static bool trusted_proxy(const struct config *cfg, const char *addr)
{
    size_t n = strlen(addr);
    for (const char *p = cfg->proxy_from; p && *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, addr, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static void proxy_done(struct proxy_wait *pw, bool ok, struct sockaddr *sa, int salen)
{
    *pw->pprev = pw->next;
    if (pw->next)
        pw->next->pprev = pw->pprev;
    event_free(pw->ev);
    if (ok)
        admit(pw->w, pw->fd, sa, salen);
    else
        evutil_closesocket(pw->fd);
    free(pw);
}

/* Reads the PROXY v2 header a trusted balancer sends before TLS, exactly its bytes (16, then
 * the length they give); the client it names is the connection's address from then on
 * (LOCAL, or an unknown family: the balancer's). */
static void on_proxy_readable(evutil_socket_t fd, short what, void *arg)
{
    struct proxy_wait *pw = arg;
    unsigned char *buf = pw->buf;
    bool bad = (what & EV_TIMEOUT) != 0;
    while (!bad) {
        size_t need = pw->have >= 16 ? 16 + ((size_t)buf[14] << 8 | buf[15]) : 16;
        if (pw->have >= 16 && need > PROXY_MAX)
            bad = true;
        if (bad || pw->have == need)
            break;
        ssize_t n = recv(fd, buf + pw->have, need - pw->have, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            uint64_t now = now_ms();
            uint64_t left = pw->deadline_ms > now ? pw->deadline_ms - now : 1;
            struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
            event_add(pw->ev, &tv);
            return;
        }
        if (n <= 0) { /* closed (a bare TCP health check) or failed */
            proxy_done(pw, false, NULL, 0);
            return;
        }
        pw->have += (size_t)n;
        size_t sig = pw->have < 12 ? pw->have : 12;
        if (memcmp(buf, proxy_sig, sig) != 0 ||
            (pw->have >= 13 && ((buf[12] >> 4) != 2 || (buf[12] & 15) > 1)))
            bad = true;
    }
    if (bad) {
        denials_count(pw->w->denials, "proxy", 0, 400);
        proxy_done(pw, false, NULL, 0);
        return;
    }
    size_t need = pw->have;
    struct sockaddr_storage ss = {0};
    int sslen = 0;
    if ((buf[12] & 15) == 1 && buf[13] == 0x11 && need >= 16 + 12) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, buf + 16, 4);
        memcpy(&in->sin_port, buf + 24, 2);
        sslen = sizeof *in;
    } else if ((buf[12] & 15) == 1 && buf[13] == 0x21 && need >= 16 + 36) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, buf + 16, 16);
        memcpy(&in6->sin6_port, buf + 48, 2);
        sslen = sizeof *in6;
    } else {
        memcpy(&ss, &pw->peer, (size_t)pw->peerlen);
        sslen = pw->peerlen;
    }
    proxy_done(pw, true, (struct sockaddr *)&ss, sslen);
}

void gate_close_all(struct worker *w)
{
    while (w->proxy_waits)
        proxy_done(w->proxy_waits, false, NULL, 0);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    struct worker *w = arg;
    const struct config *cfg = &w->server->cfg;
    char addr[ADDR_LEN];
    if (cfg->proxy_from && *cfg->proxy_from && (size_t)salen <= sizeof(struct sockaddr_storage) &&
        getnameinfo(sa, (socklen_t)salen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) == 0 &&
        trusted_proxy(cfg, addr)) {
        struct proxy_wait *pw = xcalloc(1, sizeof *pw);
        pw->w = w;
        pw->fd = fd;
        memcpy(&pw->peer, sa, (size_t)salen);
        pw->peerlen = salen;
        pw->deadline_ms = now_ms() + (uint64_t)cfg->header_timeout_ms;
        pw->next = w->proxy_waits;
        if (pw->next)
            pw->next->pprev = &pw->next;
        pw->pprev = &w->proxy_waits;
        w->proxy_waits = pw;
        pw->ev = event_new(w->base, fd, EV_READ, on_proxy_readable, pw);
        struct timeval tv = {cfg->header_timeout_ms / 1000, (cfg->header_timeout_ms % 1000) * 1000};
        event_add(pw->ev, &tv);
        return;
    }
    admit(w, fd, sa, salen);
}

int gate_listen(struct worker *w, int fd)
{
    w->listener = evconnlistener_new(w->base, on_accept, w,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    return w->listener ? 0 : -1;
}
