/* The connection gate: per-address caps at accept, a request filter between TLS and evhttp
 * that decides on each head, and the handshake/head/body deadlines. */
#include "gate.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
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
#include "db_pool.h"
#include "denials.h"
#include "http_server.h"
#include "log.h"
#include "request.h"
#include "session.h"
#include "tls.h"
#include "util.h"

#define ADDR_LEN 64
/* A refused body up to this much over the route's limit is read and dropped so that the
 * client can read the answer (a larger one closes the connection at once). */
#define GATE_LINGER_BYTES (1u << 20)
/* While a head waits for its token's lookup, TLS reads stop at about this much. */
#define GATE_HOLD_BYTES (64u << 10)
/* The most one SSL_write takes: a full TLS record. */
#define GATE_RECORD_BYTES 16384u
/* decide(): the head waits for a token lookup (authn_probe). */
#define GATE_HOLD (-1)

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
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
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

/* ---- one connection ---- */

enum phase {
    PH_HEAD,    /* reading a request head: nothing passed on until it is decided */
    PH_BODY,    /* passing body_left bytes of an admitted request */
    PH_PASS,    /* a chunked body was admitted: everything passes (closes after reply) */
    PH_DRAIN,   /* refused: its announced body (drain_left bytes) is read and dropped, so
                   the client can read the answer; then the next head */
    PH_DISCARD, /* refused for good: everything is dropped until the connection closes */
};

struct gate_conn {
    struct worker *w;
    char addr[ADDR_LEN];
    bool counted; /* holds one of addr's connection slots */
    enum phase phase;
    uint64_t body_left, drain_left;
    bool close_after;
    struct authn_probe *probe; /* the token lookup a held head waits for */
    bool probed;               /* probe_result answers the held head */
    enum authn_probe_result probe_result;
    struct event *deadline;
    struct event *kick;            /* pushes a reply through the filter (gate_kick) */
    struct event *writable;        /* the socket can take more of a reply (made on first need) */
    bool kick_held, writable_held; /* each pending event holds a reference on bev */
    struct bufferevent *bev;       /* the filter evhttp reads */
    struct gate_verdict verdict;
};

static int conn_index = -1;

/* Thread-local hand-over from the accept filter to gate_bev_new (called inside evhttp's
 * accept callback on the same thread). */
static _Thread_local struct {
    bool set;
    char addr[ADDR_LEN];
} pending;

static void on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct gate_conn *c = ptr;
    if (!c)
        return;
    if (c->counted)
        addr_release(c->addr);
    if (c->probe)
        authn_probe_cancel(c->probe); /* its callback would find c gone */
    event_free(c->deadline);
    event_free(c->kick);
    if (c->writable)
        event_free(c->writable);
    struct worker *w = c->w;
    free(c);
    http_server_conn_closed(w);
}

void gate_init(void)
{
    if (conn_index < 0)
        conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
}

static struct gate_conn *conn_of(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    SSL *ssl = bev ? tls_bev_ssl(bev) : NULL;
    return ssl ? SSL_get_ex_data(ssl, conn_index) : NULL;
}

bool gate_take_verdict(struct evhttp_connection *evcon, struct gate_verdict *out)
{
    struct gate_conn *c = conn_of(evcon);
    if (!c || !c->verdict.status)
        return false;
    *out = c->verdict;
    c->verdict.status = 0; /* the next request on this connection is its own */
    return true;
}

bool gate_close_after(struct evhttp_connection *evcon)
{
    struct gate_conn *c = conn_of(evcon);
    return c && c->close_after;
}

static void arm(struct gate_conn *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
}

/* Too slow: the handshake, the head or the body. Shutting the socket down makes the TLS
 * layer see the end of the stream, and evhttp frees the connection as for any EOF. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gate_conn *c = arg;
    denials_count(c->w->denials, c->addr, 0, 408);
    evutil_socket_t s = bufferevent_getfd(bufferevent_get_underlying(c->bev));
    if (s >= 0)
        shutdown(s, SHUT_RDWR);
}

/* libevent 2.1's filter moves output down only when bytes are added while writing is
 * enabled, and evhttp adds a reply before it enables writing: without this push a reply
 * would wait for the next event on the connection. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gate_conn *c = arg;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
    c->kick_held = false;
    bufferevent_decref(c->bev);
}

void gate_kick(struct evhttp_connection *evcon)
{
    struct gate_conn *c = conn_of(evcon);
    if (!c || c->kick_held)
        return;
    c->kick_held = true;
    bufferevent_incref(c->bev); /* the filter (and so c) outlives the pending kick */
    event_active(c->kick, EV_TIMEOUT, 0);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gate_conn *c = arg;
    c->writable_held = false;
    bufferevent_flush(c->bev, EV_WRITE, BEV_FLUSH);
    bufferevent_decref(c->bev);
}

/* Output goes straight into TLS, never queued below the filter: evhttp takes "the filter's
 * output is empty" for "written" and, on a closing connection, shuts the socket down right
 * then, so bytes still queued in the TLS bufferevent would be lost. When the socket is
 * full, the rest waits here (evhttp sees it unwritten) until it can take more. */
static enum bufferevent_filter_result gate_out(struct evbuffer *src, struct evbuffer *dst,
                                               ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                               void *ctx)
{
    (void)dst, (void)lim, (void)mode;
    struct gate_conn *c = ctx;
    SSL *ssl = tls_bev_ssl(c->bev);
    bool wrote = false;
    while (ssl && evbuffer_get_length(src) > 0) {
        /* One TLS record, so one write(2), per up to 16 KiB: a reply's head and body
         * (separate chains) go out together instead of as two records and two writes. */
        size_t n = evbuffer_get_length(src);
        if (n > GATE_RECORD_BYTES)
            n = GATE_RECORD_BYTES;
        unsigned char *p = evbuffer_pullup(src, (ev_ssize_t)n);
        ERR_clear_error();
        int k = SSL_write(ssl, p, (int)n);
        if (k > 0) {
            evbuffer_drain(src, (size_t)k);
            wrote = true;
            continue;
        }
        int e = SSL_get_error(ssl, k);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
            return BEV_ERROR;
        evutil_socket_t fd = bufferevent_getfd(bufferevent_get_underlying(c->bev));
        if (!c->writable && fd >= 0)
            c->writable = event_new(bufferevent_get_base(c->bev), fd, EV_WRITE, on_writable, c);
        if (c->writable && !c->writable_held) {
            c->writable_held = true;
            bufferevent_incref(c->bev);
            event_add(c->writable, NULL);
        }
        break;
    }
    return wrote ? BEV_OK : BEV_NEED_MORE;
}

/* ---- the head ---- */

/* The most a bodyless route reads (and ignores) before refusing with 413. */
#define GATE_IGNORED_BODY_MAX 1024u

struct head {
    char method[16];
    char path[256];
    bool has_len, chunked, has_auth;
    bool has_session; /* a web-app session cookie: the request layer checks it */
    uint64_t len;
    char auth[512];
    const char *bad; /* why the head is refused outright, or NULL */
};

static int method_code(const char *m)
{
    static const struct {
        const char *name;
        int code;
    } methods[] = {{"GET", M_GET},     {"HEAD", M_HEAD},     {"POST", M_POST},      {"PUT", M_PUT},
                   {"PATCH", M_PATCH}, {"DELETE", M_DELETE}, {"OPTIONS", M_OPTIONS}};
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (strcmp(m, methods[i].name) == 0)
            return methods[i].code;
    return 0;
}

static void parse_header(struct head *h, const char *name, size_t nlen, const char *value)
{
    if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        size_t n = strlen(value);
        uint64_t v = 0;
        bool digits = n > 0 && n <= 18;
        for (size_t i = 0; digits && i < n; i++) {
            digits = value[i] >= '0' && value[i] <= '9';
            v = v * 10 + (uint64_t)(value[i] - '0');
        }
        if (!digits || (h->has_len && h->len != v))
            h->bad = "Content-Length is not one decimal number";
        h->has_len = true;
        h->len = v;
    } else if (nlen == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
        if (strcasecmp(value, "chunked") != 0)
            h->bad = "the only Transfer-Encoding accepted is chunked";
        h->chunked = true;
    } else if (nlen == 13 && strncasecmp(name, "Authorization", 13) == 0) {
        h->has_auth = true;
        snprintf(h->auth, sizeof h->auth, "%s", value);
    } else if (nlen == 6 && strncasecmp(name, "Cookie", 6) == 0) {
        h->has_session = h->has_session || strstr(value, SESSION_COOKIE "=") != NULL;
    }
}

/* Parses the request line and the headers that matter here. text is NUL-terminated. */
static void parse_head(char *text, struct head *h)
{
    char *line = text, *eol = strchr(line, '\n');
    if (!eol) {
        h->bad = "the request line is malformed";
        return;
    }
    *eol = '\0';
    if (eol > line && eol[-1] == '\r')
        eol[-1] = '\0';
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof h->method || strchr(sp2 + 1, ' ')) {
        h->bad = "the request line is malformed";
        return;
    }
    memcpy(h->method, line, (size_t)(sp1 - line));
    size_t plen = strcspn(sp1 + 1, "?# ");
    if (plen >= sizeof h->path)
        plen = sizeof h->path - 1;
    memcpy(h->path, sp1 + 1, plen);
    for (line = eol + 1; *line; line = eol + 1) {
        eol = strchr(line, '\n');
        if (!eol)
            break;
        *eol = '\0';
        if (eol > line && eol[-1] == '\r')
            eol[-1] = '\0';
        if (!*line)
            break;
        if (*line == ' ' || *line == '\t') {
            h->bad = "folded header lines are not accepted";
            return;
        }
        char *colon = strchr(line, ':');
        if (!colon) {
            h->bad = "a header line has no colon";
            return;
        }
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        parse_header(h, line, (size_t)(colon - line), v);
    }
    if (h->has_len && h->chunked)
        h->bad = "Content-Length and Transfer-Encoding together";
}

static bool has_verified_cert(struct gate_conn *c)
{
    SSL *ssl = tls_bev_ssl(c->bev);
    return ssl && SSL_get0_peer_certificate(ssl) && SSL_get_verify_result(ssl) == X509_V_OK;
}

static void on_probed(void *arg, enum authn_probe_result result)
{
    struct gate_conn *c = arg;
    c->probe = NULL;
    c->probed = true;
    c->probe_result = result;
    /* Decide the held head now: run the filter again over what is buffered. */
    struct bufferevent *tls = bufferevent_get_underlying(c->bev);
    bufferevent_setwatermark(tls, EV_READ, 0, 0);
    bufferevent_trigger(tls, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* The verdict on a head: 0 to admit it (with *limit, its body limit), or a status with
 * c->verdict filled in. */
static int decide(struct gate_conn *c, const struct head *h, uint64_t *limit)
{
    struct gate_verdict *v = &c->verdict;
    snprintf(v->path, sizeof v->path, "%s", h->path[0] ? h->path : "/");
    v->method = method_code(h->method);
    if (h->bad) {
        snprintf(v->detail, sizeof v->detail, "%s", h->bad);
        return 400;
    }
    bool body = h->chunked || (h->has_len && h->len > 0);
    *limit = 0;
    if (!body)
        return 0; /* nothing to buffer: the request layer decides everything */
    if (!v->method) {
        snprintf(v->detail, sizeof v->detail, "method not supported");
        return 405;
    }
    struct route_match m;
    enum route_result found = router_match(routes, nroutes, v->method, v->path, &m);
    const struct route_def *def = found == ROUTE_FOUND ? m.route->data : NULL;
    route_match_free(&m);
    if (!def) {
        *limit = (uint64_t)server_limits(c->w->server)->max_body_bytes;
        snprintf(v->detail, sizeof v->detail, "%s",
                 found == ROUTE_NOT_FOUND ? "no such resource" : "method not allowed here");
        return found == ROUTE_NOT_FOUND ? 404 : 405;
    }
    const struct limits *lim = server_limits(c->w->server);
    /* A route that takes no body still tolerates a small one (clients send "{}" to
     * POST .../publish), read and ignored; anything larger is refused unread. */
    *limit = def->body == BODY_NONE   ? GATE_IGNORED_BODY_MAX
             : def->body == BODY_PUSH ? (uint64_t)lim->max_push_bytes
                                      : (uint64_t)lim->max_body_bytes;
    if (def->access != ACCESS_PUBLIC) {
        enum authn_probe_result known = AUTHN_PROBE_REFUSED;
        if (h->has_auth && c->probed) { /* the lookup started on this head has answered */
            known = c->probe_result;
            c->probed = false;
        } else if (h->has_auth) {
            known = authn_probe(c->w->db, c->w->server->trust_id, c->addr, h->auth, on_probed, c,
                                &c->probe);
            if (known == AUTHN_PROBE_PENDING)
                return GATE_HOLD;
        } else if (has_verified_cert(c) || h->has_session) {
            /* the request layer maps the subject, or looks the session up (rate-limited
             * per address in session.c) */
            known = AUTHN_PROBE_UNDECIDED;
        }
        if (known == AUTHN_PROBE_LIMITED) {
            snprintf(v->detail, sizeof v->detail,
                     "too many authentication attempts from this "
                     "address");
            return 429;
        }
        if (known == AUTHN_PROBE_REFUSED) {
            snprintf(v->detail, sizeof v->detail, "%s",
                     h->has_auth ? "the token is invalid, expired or revoked"
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

/* A refused request reaches evhttp as one of these bodyless ones; the request layer
 * answers it with the verdict (gate_take_verdict). A body no larger than the route accepts
 * is drained so that the client reads the answer and may go on; otherwise (too large,
 * chunked, a malformed head) the connection closes after the answer. */
static const char refused_keep[] = "GET /-gate HTTP/1.1\r\nHost: gate\r\n\r\n";
static const char refused_close[] =
    "GET /-gate HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n";

static enum bufferevent_filter_result on_head(struct gate_conn *c, struct evbuffer *src,
                                              struct evbuffer *dst)
{
    size_t have = evbuffer_get_length(src);
    if (have == 0 || c->probe)
        return BEV_NEED_MORE; /* nothing yet, or a held head waiting for its lookup */
    const struct config *cfg = &c->w->server->cfg;
    if (!evtimer_pending(c->deadline, NULL))
        arm(c, (uint64_t)cfg->header_timeout_ms); /* the first byte of a new request */
    struct evbuffer_ptr crlf = evbuffer_search(src, "\r\n\r\n", 4, NULL);
    struct evbuffer_ptr lf = evbuffer_search(src, "\n\n", 2, NULL);
    ssize_t end = crlf.pos >= 0 ? crlf.pos + 4 : -1;
    if (lf.pos >= 0 && (end < 0 || lf.pos + 2 < end))
        end = lf.pos + 2;
    struct head h = {0};
    size_t max = (size_t)cfg->max_header_bytes;
    if (end < 0 && have <= max)
        return BEV_NEED_MORE;
    int status = 400;
    uint64_t limit = 0;
    if (end < 0 || (size_t)end > max) {
        snprintf(c->verdict.detail, sizeof c->verdict.detail,
                 "the request head is larger than %zu bytes", max);
        snprintf(c->verdict.path, sizeof c->verdict.path, "/");
    } else {
        char small[4096]; /* a usual head: no allocation */
        char *text = (size_t)end < sizeof small ? small : xmalloc((size_t)end + 1);
        evbuffer_copyout(src, text, (size_t)end);
        text[end] = '\0';
        if (strlen(text) != (size_t)end)
            h.bad = "the request head holds a NUL byte";
        parse_head(text, &h);
        if (text != small)
            free(text);
        status = decide(c, &h, &limit);
    }
    if (status == GATE_HOLD) {
        /* Nothing passes and little more is read until the token's lookup answers. */
        bufferevent_setwatermark(bufferevent_get_underlying(c->bev), EV_READ, 0, GATE_HOLD_BYTES);
        return BEV_NEED_MORE;
    }
    if (status != 0) {
        c->verdict.status = status;
        bool drain = end >= 0 && !h.bad && !h.chunked && h.len <= limit + GATE_LINGER_BYTES;
        if (drain) {
            evbuffer_drain(src, (size_t)end);
            c->phase = PH_DRAIN;
            c->drain_left = h.has_len ? h.len : 0;
            arm(c, (uint64_t)cfg->header_timeout_ms); /* draining is bounded too */
            evbuffer_add(dst, refused_keep, sizeof refused_keep - 1);
        } else {
            evbuffer_drain(src, have);
            c->phase = PH_DISCARD;
            evtimer_del(c->deadline);
            evbuffer_add(dst, refused_close, sizeof refused_close - 1);
        }
        return BEV_OK;
    }
    evbuffer_remove_buffer(src, dst, (size_t)end);
    uint64_t rate = (uint64_t)cfg->body_min_bytes_per_s;
    if (h.chunked) {
        /* The body's end is evhttp's to find: it enforces the route's limit itself, and the
         * connection closes after the reply so no later head goes unseen. */
        void *evcon = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
        if (evcon)
            evhttp_connection_set_max_body_size(evcon, (ev_ssize_t)limit);
        c->phase = PH_PASS;
        c->close_after = true;
        arm(c, (uint64_t)cfg->header_timeout_ms + limit * 1000 / rate);
    } else if (h.has_len && h.len > 0) {
        c->phase = PH_BODY;
        c->body_left = h.len;
        arm(c, (uint64_t)cfg->header_timeout_ms + h.len * 1000 / rate);
    } else {
        evtimer_del(c->deadline);
    }
    return BEV_OK;
}

static enum bufferevent_filter_result gate_in(struct evbuffer *src, struct evbuffer *dst,
                                              ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                              void *ctx)
{
    (void)lim, (void)mode;
    struct gate_conn *c = ctx;
    size_t have = evbuffer_get_length(src);
    switch (c->phase) {
    case PH_HEAD:
        return on_head(c, src, dst);
    case PH_BODY: {
        size_t n = have < c->body_left ? have : (size_t)c->body_left;
        if (n == 0)
            return BEV_NEED_MORE;
        evbuffer_remove_buffer(src, dst, n);
        c->body_left -= n;
        if (c->body_left == 0) {
            c->phase = PH_HEAD;
            evtimer_del(c->deadline);
        }
        return BEV_OK;
    }
    case PH_PASS:
        evbuffer_add_buffer(dst, src);
        return have ? BEV_OK : BEV_NEED_MORE;
    case PH_DRAIN: {
        size_t n = have < c->drain_left ? have : (size_t)c->drain_left;
        evbuffer_drain(src, n);
        c->drain_left -= n;
        if (c->drain_left > 0)
            return BEV_NEED_MORE;
        c->phase = PH_HEAD;
        evtimer_del(c->deadline);
        return have > n ? on_head(c, src, dst) : BEV_NEED_MORE;
    }
    case PH_DISCARD:
        evbuffer_drain(src, have);
        return BEV_NEED_MORE;
    }
    return BEV_ERROR;
}

struct bufferevent *gate_bev_new(struct worker *w, struct event_base *base, SSL *ssl)
{
    struct gate_conn *c = xcalloc(1, sizeof *c);
    c->w = w;
    if (pending.set) {
        snprintf(c->addr, sizeof c->addr, "%s", pending.addr);
        c->counted = true;
        pending.set = false;
    }
    SSL_set_ex_data(ssl, conn_index, c);
    struct bufferevent *tls = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!tls)
        fatal("bufferevent_openssl_socket_new failed (out of memory)");
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    c->bev = bufferevent_filter_new(tls, gate_in, gate_out,
                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, NULL, c);
    if (!c->bev)
        fatal("bufferevent_filter_new failed (out of memory)");
    c->deadline = evtimer_new(base, on_deadline, c);
    c->kick = event_new(base, -1, 0, on_kick, c);
    arm(c, (uint64_t)w->server->cfg.header_timeout_ms); /* the handshake and the first head */
    return c->bev;
}

/* ---- accept ---- */

/* The head of libevent's struct evconnlistener (listener.c), the same in every 2.x: evhttp
 * installs its accept callback there, and there is no public getter. gate_install checks
 * that what it reads is evhttp's (its argument is w->http) before relying on it. */
struct listener_head {
    const void *ops;
    void *lock;
    evconnlistener_cb cb;
    evconnlistener_errorcb errorcb;
    void *user_data;
};

struct gate_accept {
    evconnlistener_cb evhttp_cb;
    void *evhttp_arg;
    struct worker *w;
    struct evconnlistener *listener;
};

/* Admits a connection from the client at sa (the peer, or the client a trusted proxy
 * named): the per-address cap, then evhttp's own accept. */
static void admit(struct gate_accept *g, evutil_socket_t fd, struct sockaddr *sa, int salen)
{
    struct worker *w = g->w;
    char addr[ADDR_LEN];
    if (getnameinfo(sa, (socklen_t)salen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(addr, sizeof addr, "?");
    if (!addr_acquire(addr, w->server->cfg.max_connections_per_address)) {
        /* No TLS state, no buffer: the socket is closed as it arrives. */
        denials_count(w->denials, addr, 0, 503);
        evutil_closesocket(fd);
        return;
    }
    pending.set = true;
    snprintf(pending.addr, sizeof pending.addr, "%s", addr);
    g->evhttp_cb(g->listener, fd, sa, salen, g->evhttp_arg);
    if (pending.set) { /* evhttp refused it before making a connection */
        pending.set = false;
        addr_release(addr);
    }
}

/* ---- PROXY protocol v2 from trusted load balancers ---- */

#define PROXY_MAX 536 /* 16-byte header + addresses + TLVs we accept */

static const unsigned char proxy_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

struct proxy_wait {
    struct gate_accept *g;
    evutil_socket_t fd;
    struct sockaddr_storage peer;
    int peerlen;
    uint64_t deadline_ms;
    struct event *ev;
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
    event_free(pw->ev);
    if (ok)
        admit(pw->g, pw->fd, sa, salen);
    else
        evutil_closesocket(pw->fd);
    free(pw);
}

/* Reads the PROXY v2 header a trusted balancer sends before TLS; the client it names is
 * the connection's address from then on (LOCAL, or an unknown family: the balancer's). */
static void on_proxy_readable(evutil_socket_t fd, short what, void *arg)
{
    struct proxy_wait *pw = arg;
    unsigned char buf[PROXY_MAX];
    ssize_t n = what & EV_TIMEOUT ? -1 : recv(fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && !(what & EV_TIMEOUT) && (errno == EAGAIN || errno == EWOULDBLOCK))
        n = 0;
    size_t need = n >= 16 ? 16 + ((size_t)buf[14] << 8 | buf[15]) : 16;
    bool bad = n < 0 || (n >= 12 && memcmp(buf, proxy_sig, 12) != 0) ||
               (n >= 16 && ((buf[12] >> 4) != 2 || (buf[12] & 15) > 1 || need > PROXY_MAX));
    uint64_t now = now_ms();
    if (bad || (size_t)n < need) {
        if (bad || now >= pw->deadline_ms || n == 0) {
            if (n != 0 || now >= pw->deadline_ms) {
                denials_count(pw->g->w->denials, "proxy", 0, 400);
                proxy_done(pw, false, NULL, 0);
                return;
            }
        }
        uint64_t left = pw->deadline_ms > now ? pw->deadline_ms - now : 1;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        event_add(pw->ev, &tv);
        return;
    }
    if (recv(fd, buf, need, 0) != (ssize_t)need) {
        proxy_done(pw, false, NULL, 0);
        return;
    }
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

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    struct gate_accept *g = arg;
    const struct config *cfg = &g->w->server->cfg;
    char addr[ADDR_LEN];
    if (cfg->proxy_from && *cfg->proxy_from && (size_t)salen <= sizeof(struct sockaddr_storage) &&
        getnameinfo(sa, (socklen_t)salen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) == 0 &&
        trusted_proxy(cfg, addr)) {
        struct proxy_wait *pw = xcalloc(1, sizeof *pw);
        pw->g = g;
        pw->fd = fd;
        memcpy(&pw->peer, sa, (size_t)salen);
        pw->peerlen = salen;
        pw->deadline_ms = now_ms() + (uint64_t)cfg->header_timeout_ms;
        pw->ev = event_new(g->w->base, fd, EV_READ, on_proxy_readable, pw);
        struct timeval tv = {cfg->header_timeout_ms / 1000, (cfg->header_timeout_ms % 1000) * 1000};
        event_add(pw->ev, &tv);
        return;
    }
    admit(g, fd, sa, salen);
}

int gate_install(struct worker *w, struct evconnlistener *listener)
{
    const struct listener_head *h = (const void *)listener;
    if (h->user_data != (void *)w->http || !h->cb)
        return -1;
    struct gate_accept *g = xcalloc(1, sizeof *g);
    g->evhttp_cb = h->cb;
    g->evhttp_arg = h->user_data;
    g->w = w;
    g->listener = listener;
    w->gate = g;
    evconnlistener_set_cb(listener, on_accept, g);
    return 0;
}
