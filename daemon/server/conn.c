/* A client connection: TLS over the socket, HTTP/1.1 framing, the per-phase deadlines. */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "denials.h"
#include "gate.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "request.h"
#include "reusable.h"
#include "util.h"

/* The most one SSL_write takes: a full TLS record, so a reply's head and the start of its
 * body leave in one record and one write(2). */
#define CONN_RECORD_BYTES 16384u
/* Read ahead of a request in flight (pipelined heads, or a client's next one): then reading
 * stops until the reply has gone. */
#define CONN_AHEAD_BYTES (64u << 10)
/* A refused body up to this much over the route's limit is read and dropped so that the
 * client can read the answer and go on; a larger one closes the connection after it. */
#define CONN_LINGER_BYTES (1u << 20)
/* After the last reply of a closing connection, what the client still sends is read and
 * dropped for this long (closing with unread bytes would reset the connection and could
 * destroy the answer before the client reads it). */
#define CONN_LINGER_MS 2000u
/* The most reads (TLS records, up to 16 KiB each: a body's 64 KiB) and requests answered of
 * one connection per turn of the loop: then the others' turn (a school's upload, or a client
 * pipelining many small requests, does not hold a worker from the reads beside it). */
#define CONN_READS_PER_TURN 4
#define CONN_REQUESTS_PER_TURN 16
/* After the grace of header_timeout_ms, a body's rate is checked this often. */
#define CONN_RATE_CHECK_MS 1000u
/* Buffers of an idle connection above these sizes are freed between requests. */
#define CONN_IN_KEEP (16u << 10)
#define CONN_HEAD_KEEP (4u << 10)
/* Output room kept between replies; a larger buffer (a large reply copied) is freed. */
#define CONN_OUT_KEEP (64u << 10)
/* A reply body up to this size is copied behind its head; a larger one given by reference
 * is sent from where it is (its first bytes share the head's record). */
#define CONN_COPY_MAX CONN_RECORD_BYTES
/* The most reusable connections closed to make room for one newcomer (an eighth of them, at
 * least what the budget needs; nginx's figures): the next few newcomers then find room. */
#define CONN_EVICT_MAX 32

enum phase {
    PH_HEAD,    /* reading a request head: nothing passed on until it is decided */
    PH_BODY,    /* reading body_len of an admitted request's Content-Length body */
    PH_CHUNKED, /* decoding an admitted chunked body */
    PH_DRAIN,   /* refused: its announced body (drain_left bytes) is read and dropped */
    PH_DISCARD, /* refused for good: everything is dropped until the connection closes */
};

/* What a deadline means when it fires. */
enum timer_kind {
    T_NONE,
    T_HEAD,   /* handshake or head too slow: counted as a 408 denial */
    T_BODY,   /* body (or a refused body being drained) too slow: the same */
    T_IDLE,   /* keep-alive idleness: closed quietly */
    T_WRITE,  /* the client reads no more of a reply */
    T_LINGER, /* the lingering close is over */
};

struct conn {
    struct worker *w;
    struct conn *next, **pprev; /* the worker's connections */
    struct reusable_node reuse; /* queued in w->reusable while it does nothing useful yet */
    int fd;
    SSL *ssl;
    char addr[64];
    struct event *rev, *wev, *timer, *resume;
    enum timer_kind timer_kind;
    bool handshaking, reading; /* rev added */
    bool read_wants_write, write_wants_read;
    enum phase phase;
    bool active;      /* a request was handed over and has not replied */
    bool close_after; /* close once the reply has gone */
    bool lingering;   /* closing: reading and dropping what the client still sends */
    bool dead;        /* the socket is closed; the struct waits for its request's reply */
    bool processing;  /* conn_process is on the stack: it goes on by itself */
    bool replying;    /* the output is a reply (not a 100 Continue) */
    bool peer_eof;    /* the client has finished sending: answer what came, then close */
    int turn;         /* requests handed over and reads made on this turn of the loop */
    int busy;         /* callbacks of this connection on the stack: no free until 0 */
    /* input: bytes [in_off, in_len) are unread */
    char *in;
    size_t in_off, in_len, in_cap;
    /* the head handed over, parsed in place in its own buffer (alive until the reply) */
    char *headbuf;
    size_t headbuf_cap;
    struct http1_field *fieldbuf; /* its header lines */
    size_t fieldbuf_cap;
    struct http1_head head;
    /* the body being read */
    char *body;
    size_t body_len, body_need; /* Content-Length: need; chunked: the route's limit */
    size_t body_cap;            /* room in body (one more for the NUL), grown as bytes come */
    uint64_t rx_total;          /* bytes read from TLS, ever */
    uint64_t rate_from;         /* rx_total when the body (or the drain) began */
    uint64_t rate_since_ms;     /* and when */
    uint64_t drain_left;
    struct http1_chunked chunked;
    /* output: out[out_off, out_len), then ref[0, ref_len) */
    char *out;
    size_t out_off, out_len, out_cap;
    const char *ref;
    size_t ref_len;
    void (*ref_release)(void *);
    void *ref_arg;
    void (*gone)(void *);
    void *gone_arg;
    struct gate_hold hold; /* a held head's token lookup */
    struct gate_verdict verdict;
};

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_resume(evutil_socket_t fd, short what, void *arg);
static void conn_process(struct conn *c);
static void flush_out(struct conn *c);
static void out_add(struct conn *c, const char *data, size_t len);
static void resume_later(void *arg);

/* ---- life and death ---- */

static void arm(struct conn *c, enum timer_kind kind, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    c->timer_kind = kind;
    evtimer_add(c->timer, &tv);
}

static void disarm(struct conn *c)
{
    if (c->timer_kind != T_NONE) {
        evtimer_del(c->timer);
        c->timer_kind = T_NONE;
    }
}

static void release_ref(struct conn *c)
{
    if (c->ref_release)
        c->ref_release(c->ref_arg);
    c->ref = NULL;
    c->ref_len = 0;
    c->ref_release = NULL;
}

static void conn_free(struct conn *c)
{
    free(c->in);
    free(c->headbuf);
    free(c->fieldbuf);
    free(c->body);
    free(c->out);
    free(c);
}

/* Frees c once nothing holds it: no callback of its on the stack, no request in flight. */
static void maybe_free(struct conn *c)
{
    if (c->dead && !c->active && c->busy == 0)
        conn_free(c);
}

/* The socket goes now. A request in flight is told (and replies into the void). */
static void close_now(struct conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->timer);
    event_free(c->resume);
    gate_hold_cancel(&c->hold);
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    release_ref(c);
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    reusable_remove(c->w->reusable, &c->reuse);
    gate_release_addr(c->addr);
    http_server_conn_closed(c->w);
    if (c->active && c->gone) {
        void (*gone)(void *) = c->gone;
        c->gone = NULL;
        gone(c->gone_arg);
    }
}

/* Doing nothing useful yet: in the TLS handshake, or waiting for the first byte of a request
 * (a new connection, or keep-alive between requests), with nothing to write. */
static bool doing_nothing_yet(const struct conn *c)
{
    if (c->dead || c->lingering)
        return false;
    if (c->handshaking)
        return true;
    return !c->active && !c->hold.probe && c->phase == PH_HEAD && c->in_off == c->in_len &&
           !SSL_has_pending(c->ssl) && c->out_off == c->out_len && !c->ref_len && !c->peer_eof;
}

/* Keeps c in the worker's reusable queue exactly while it does nothing useful yet; the
 * listener follows (a worker at its budget accepts while it has a connection to reuse). */
static void reuse_update(struct conn *c)
{
    bool idle = doing_nothing_yet(c);
    if (idle == reusable_queued(&c->reuse))
        return;
    if (idle)
        reusable_add(c->w->reusable, &c->reuse, c->addr);
    else
        reusable_remove(c->w->reusable, &c->reuse);
    http_server_listen_update(c->w);
}

/* A callback of c's ends: c's place in the reusable queue follows what it now does, and c is
 * freed if nothing else holds it. */
static void settle(struct conn *c)
{
    c->busy--;
    reuse_update(c);
    maybe_free(c);
}

void conn_start(struct worker *w, int fd, const char *addr)
{
    SSL *ssl = http_server_new_ssl(w);
    struct conn *c = xcalloc(1, sizeof *c);
    c->w = w;
    c->fd = fd;
    c->ssl = ssl;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = w->conns;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &w->conns;
    w->conns = c;
    SSL_set_fd(ssl, fd); /* nonblocking already: evconnlistener accepts it so */
    SSL_set_accept_state(ssl);
    SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    /* OpenSSL reads what the socket has, not a record header and then its body: one recv
     * per request (read_in asks it for more only while SSL_has_pending says so). */
    SSL_set_read_ahead(ssl, 1);
    /* A client that ends its TCP stream without close_notify (a half-close after its
     * request, as HTTP/1.0 clients do) has sent a whole request or not, which HTTP's own
     * framing tells: OpenSSL 3 would make it a fatal error and refuse the reply. */
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    c->handshaking = true;
    c->hold.resume = resume_later;
    c->hold.arg = c;
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(w->base, fd, EV_WRITE, on_writable, c);
    c->timer = evtimer_new(w->base, on_timer, c);
    c->resume = event_new(w->base, -1, 0, on_resume, c);
    if (!c->rev || !c->wev || !c->timer || !c->resume)
        fatal("event_new failed (out of memory)");
    event_add(c->rev, NULL);
    c->reading = true;
    arm(c, T_HEAD, (uint64_t)w->server->cfg.header_timeout_ms); /* handshake and first head */
    reuse_update(c);
}

void conn_close_all(struct worker *w)
{
    while (w->conns) {
        struct conn *c = w->conns;
        close_now(c);
        maybe_free(c);
    }
}

static struct conn *conn_of(struct reusable_node *node)
{
    return (struct conn *)(void *)((char *)node - offsetof(struct conn, reuse));
}

bool conn_make_room(struct worker *w)
{
    int need = w->connections - w->max_connections + 1; /* below 1 while there is room */
    if (need < 1)
        return true;
    int idle = reusable_count(w->reusable), k = idle / 8;
    k = k < need ? need : k > CONN_EVICT_MAX ? CONN_EVICT_MAX : k;
    if (idle > 0 && !w->evicting) {
        int most;
        const char *busiest = reusable_busiest(w->reusable, &most);
        log_warn("msg=\"connection budget full, closing idle connections for newcomers\" "
                 "worker=%d connections=%d idle=%d busiest_client=%s busiest_idle=%d",
                 w->index, w->connections, idle, busiest, most);
        w->evicting = true;
    }
    int closed = 0;
    for (struct reusable_node *v; closed < k && (v = reusable_victim(w->reusable)); closed++) {
        struct conn *c = conn_of(v); /* not on the stack: this is the listener's callback */
        close_now(c);
        maybe_free(c);
    }
    if (closed) {
        metrics_add(METRIC_CONNECTIONS_EVICTED, (unsigned long long)closed);
        w->evicted_unlogged += (unsigned long long)closed;
    }
    return w->connections < w->max_connections;
}

void conn_log_evictions(struct worker *w, int period_s)
{
    if (w->evicted_unlogged)
        log_info("msg=\"idle connections closed for newcomers, counted\" worker=%d count=%llu "
                 "period_s=%d",
                 w->index, w->evicted_unlogged, period_s);
    else
        w->evicting = false; /* a quiet period: the next one is logged as it starts */
    w->evicted_unlogged = 0;
}

/* Closing: the last reply has gone. TLS's close_notify, no more writes, and what the client
 * still sends is dropped for a while, so that it reads the answer rather than a reset. */
static void begin_close(struct conn *c)
{
    ERR_clear_error();
    SSL_shutdown(c->ssl); /* one close_notify; not waited for */
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    if (!c->reading) {
        event_add(c->rev, NULL);
        c->reading = true;
    }
    arm(c, T_LINGER, CONN_LINGER_MS);
}

/* A body (or a refused body being drained) begins: header_timeout_ms of grace, then at
 * least body_min_bytes_per_s on average, checked as it comes (rate_ok). */
static void body_clock_start(struct conn *c)
{
    c->rate_from = c->rx_total;
    c->rate_since_ms = now_ms();
    arm(c, T_BODY, (uint64_t)c->w->server->cfg.header_timeout_ms);
}

static bool rate_ok(const struct conn *c)
{
    const struct config *cfg = &c->w->server->cfg;
    uint64_t now = now_ms(), grace_end = c->rate_since_ms + (uint64_t)cfg->header_timeout_ms;
    uint64_t since = now > grace_end ? now - grace_end : 0;
    return c->rx_total - c->rate_from >= (uint64_t)cfg->body_min_bytes_per_s * since / 1000;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    if (c->timer_kind == T_BODY && rate_ok(c)) {
        arm(c, T_BODY, CONN_RATE_CHECK_MS); /* fast enough so far */
        return;
    }
    if (c->timer_kind == T_HEAD || c->timer_kind == T_BODY)
        denials_count(c->w->denials, c->addr, 0, 408);
    c->timer_kind = T_NONE;
    c->busy++;
    close_now(c);
    settle(c);
}

/* ---- reading ---- */

/* How much unread input c keeps before it stops reading: a head's worth while it waits for
 * one, a little read-ahead while a request is in flight or a head waits for its token. */
static size_t in_limit(const struct conn *c)
{
    if (c->active || c->hold.probe)
        return CONN_AHEAD_BYTES;
    return (size_t)c->w->server->cfg.max_header_bytes + CONN_RECORD_BYTES;
}

static void in_compact(struct conn *c)
{
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
}

static void pause_reading(struct conn *c)
{
    if (c->reading) {
        event_del(c->rev);
        c->reading = false;
    }
}

/* A failed SSL call: true when it only waits for the socket (noted), false when the
 * connection is over (the client left, or TLS failed). */
static bool ssl_would_block(struct conn *c, int rc, bool reading)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        if (!reading)
            c->write_wants_read = true;
        if (!c->reading && !c->peer_eof) { /* a write waiting on a read needs reading */
            event_add(c->rev, NULL);
            c->reading = true;
        }
        return true;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        if (reading)
            c->read_wants_write = true;
        event_add(c->wev, NULL);
        return true;
    }
    return false;
}

enum read_result {
    READ_GONE, /* the client has gone (c is closed) */
    READ_DONE, /* TLS has nothing more for now */
    READ_FULL, /* the input is at in_limit: process it, then read on if it made room */
};

/* Reads what TLS has into the input (or, for a Content-Length body, straight into the
 * body) up to in_limit. */
static enum read_result read_in(struct conn *c)
{
    c->read_wants_write = false;
    for (int reads = 0;; reads++) {
        if (reads == CONN_READS_PER_TURN) {
            if (SSL_has_pending(c->ssl))
                resume_later(c); /* the rest on a later turn: the socket will not say */
            return READ_DONE;
        }
        char *dst;
        size_t room;
        bool into_body = c->phase == PH_BODY && !c->active && c->in_off == c->in_len;
        if (into_body) {
            if (c->body_len == c->body_cap && c->body_cap < c->body_need) {
                size_t cap = c->body_cap * 2;
                c->body_cap = cap < c->body_need ? cap : c->body_need;
                c->body = xrealloc(c->body, c->body_cap + 1);
            }
            dst = c->body + c->body_len;
            room = c->body_cap - c->body_len;
        } else {
            in_compact(c);
            size_t limit = in_limit(c);
            if (c->in_len >= limit)
                return READ_FULL;
            if (c->in_cap - c->in_len < CONN_RECORD_BYTES && c->in_cap < limit) {
                size_t cap = c->in_cap ? c->in_cap * 2 : CONN_RECORD_BYTES;
                c->in_cap = cap < limit ? cap : limit;
                c->in = xrealloc(c->in, c->in_cap);
            }
            dst = c->in + c->in_len;
            room = c->in_cap - c->in_len;
        }
        if (room == 0)
            return READ_FULL;
        ERR_clear_error();
        int n = SSL_read(c->ssl, dst, room > INT32_MAX ? INT32_MAX : (int)room);
        if (n > 0) {
            c->rx_total += (size_t)n;
            if (into_body)
                c->body_len += (size_t)n;
            else
                c->in_len += (size_t)n;
            if (!SSL_has_pending(c->ssl))
                return READ_DONE; /* the socket says when there is more */
            continue;
        }
        if (ssl_would_block(c, n, true))
            return READ_DONE;
        int e = SSL_get_error(c->ssl, n);
        /* The end of what the client sends: close_notify, or (OpenSSL 3 calls it an error)
         * the TCP stream ending without one. */
        unsigned long err = ERR_peek_error();
        bool eof =
            e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && err == 0) ||
            (e == SSL_ERROR_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
        if (eof && (c->active || c->in_off < c->in_len)) {
            /* The client has sent all it will (a half-close): what came is answered, then
             * the connection closes. */
            c->peer_eof = true;
            pause_reading(c);
            return READ_DONE;
        }
        close_now(c);
        return READ_GONE;
    }
}

/* The client is at the lingering close: whatever it sends is dropped unread (TLS is over). */
static void linger_read(struct conn *c)
{
    char sink[16384];
    for (int i = 0; i < CONN_READS_PER_TURN; i++) { /* a fast sender does not hold the loop */
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        close_now(c); /* the client closed too, or the socket failed */
        return;
    }
}

static void handshake(struct conn *c)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        c->handshaking = false;
        return;
    }
    if (!ssl_would_block(c, rc, true))
        close_now(c);
}

/* Reads, then goes as far with the input as it can. */
static void read_and_process(struct conn *c)
{
    if (c->handshaking) {
        handshake(c);
        if (c->dead || c->handshaking)
            return;
    }
    if (c->write_wants_read)
        flush_out(c);
    while (!c->dead && !c->peer_eof) {
        enum read_result rr = read_in(c);
        if (rr == READ_GONE)
            return;
        size_t unread = c->in_len - c->in_off, body = c->body_len;
        enum phase phase = c->phase;
        int turn = c->turn;
        conn_process(c);
        if (rr == READ_DONE || c->dead || c->lingering)
            return;
        if (c->turn >= CONN_REQUESTS_PER_TURN) {
            resume_later(c); /* a client keeping its input full waits for the others */
            return;
        }
        if (c->in_len - c->in_off == unread && c->body_len == body && c->phase == phase &&
            c->turn == turn) {
            /* Full, and nothing could be taken: a request in flight, a head held for its
             * token, or a reply (or 100 Continue) the client has not read. Reading waits
             * until that has gone (flush_out and reply_done resume it). */
            pause_reading(c);
            return;
        }
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    c->busy++;
    c->turn = 0;
    if (c->lingering)
        linger_read(c);
    else
        read_and_process(c);
    settle(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    c->busy++;
    if (c->handshaking || c->read_wants_write)
        read_and_process(c);
    if (!c->dead && !c->lingering)
        flush_out(c);
    settle(c);
}

/* A held head's token lookup answered, or a reply went while input waited: go on. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    c->busy++;
    c->turn = 0;
    if (c->lingering) {
        c->busy--;
        return;
    }
    if (!c->reading && !c->peer_eof) {
        event_add(c->rev, NULL);
        c->reading = true;
    }
    if (SSL_has_pending(c->ssl) && !c->peer_eof)
        read_and_process(c);
    else
        conn_process(c);
    settle(c);
}

/* On the loop's next turn, after it has polled the sockets: an event made active now would
 * run in this same turn, before any other client's I/O, and a client that keeps its input
 * full would have the worker to itself. */
static void resume_later(void *arg)
{
    struct conn *c = arg;
    static const struct timeval next_turn = {0, 0};
    if (!c->dead)
        event_add(c->resume, &next_turn);
}

/* ---- heads and bodies ---- */

static void dispatch(struct conn *c, const struct gate_verdict *refused)
{
    char *body = c->body;
    size_t len = c->body_len;
    if (body)
        body[len] = '\0';
    c->body = NULL;
    c->body_len = c->body_need = 0;
    c->active = true;
    c->turn++;
    request_dispatch(c->w, c, &c->head, body, len, refused);
}

/* A head the gate refused (or one that cannot be read): the request layer answers it with
 * the verdict; then the announced body is drained (drain_left) or the connection closes. */
static void refuse(struct conn *c, int status, bool drain, uint64_t drain_left)
{
    c->verdict.status = status;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_need = 0;
    if (drain) {
        c->phase = PH_DRAIN;
        c->drain_left = drain_left;
        body_clock_start(c); /* draining is bounded too */
    } else {
        c->phase = PH_DISCARD;
        c->close_after = true;
        disarm(c);
    }
    dispatch(c, &c->verdict);
}

static void refuse_body(struct conn *c, int status, const char *detail)
{
    snprintf(c->verdict.detail, sizeof c->verdict.detail, "%s", detail);
    refuse(c, status, false, 0);
}

/* The client asked to hear before it sends the body. */
static void send_continue(struct conn *c)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    out_add(c, line, sizeof line - 1);
    flush_out(c);
}

/* Reads a head and has it decided; true when the connection moved on (a request handed
 * over or refused, a body to read), false while it waits for more (or for a token lookup). */
static bool on_head(struct conn *c)
{
    const struct config *cfg = &c->w->server->cfg;
    while (c->in_off < c->in_len && (c->in[c->in_off] == '\r' || c->in[c->in_off] == '\n'))
        c->in_off++; /* empty lines before a request line are ignored (RFC 9112 §2.2) */
    size_t have = c->in_len - c->in_off;
    if (have == 0)
        return false;
    if (c->timer_kind != T_HEAD)
        arm(c, T_HEAD, (uint64_t)cfg->header_timeout_ms); /* the first byte of a request */
    size_t max = (size_t)cfg->max_header_bytes;
    size_t end = http1_head_end(c->in + c->in_off, have < max ? have : max);
    if (end == 0 && have < max)
        return false;
    if (end == 0) {
        memset(&c->head, 0, sizeof c->head);
        c->head.method = "";
        c->head.path = "/";
        snprintf(c->verdict.path, sizeof c->verdict.path, "/");
        c->verdict.method = 0;
        c->verdict.allow[0] = '\0';
        c->verdict.retry_after = 0;
        snprintf(c->verdict.detail, sizeof c->verdict.detail,
                 "the request head is larger than %zu bytes", max);
        c->in_off = c->in_len;
        refuse(c, 400, false, 0);
        return true;
    }
    if (c->headbuf_cap < end) {
        c->headbuf_cap = end < 1024 ? 1024 : end;
        c->headbuf = xrealloc(c->headbuf, c->headbuf_cap);
    }
    memcpy(c->headbuf, c->in + c->in_off, end);
    size_t lines = http1_max_fields(c->headbuf, end);
    if (c->fieldbuf_cap < lines) {
        c->fieldbuf_cap = lines < 32 ? 32 : lines;
        c->fieldbuf = xrealloc(c->fieldbuf, c->fieldbuf_cap * sizeof *c->fieldbuf);
    }
    http1_parse_head(c->headbuf, end, &c->head, c->fieldbuf, (int)c->fieldbuf_cap);
    const struct http1_head *h = &c->head;
    uint64_t limit = 0;
    int status = gate_decide(c->w, c->addr, c->ssl, &c->hold, h, &c->verdict, &limit);
    if (status == GATE_HOLD)
        return false; /* the lookup's answer resumes (c->hold), and the head is decided again */
    c->in_off += end;
    if (status != 0) {
        /* A body within reach is drained so the client reads the answer and may go on;
         * one not sent yet (100-continue), or malformed framing, closes after the answer. */
        bool drain =
            !h->bad && !h->chunked && !h->expect_continue && h->len <= limit + CONN_LINGER_BYTES;
        refuse(c, status, drain, h->has_len ? h->len : 0);
        return true;
    }
    if (h->chunked || (h->has_len && h->len > 0)) {
        c->phase = h->chunked ? PH_CHUNKED : PH_BODY;
        c->body_need = h->chunked ? (size_t)limit : (size_t)h->len;
        c->body_len = 0;
        memset(&c->chunked, 0, sizeof c->chunked);
        /* Content-Length: room for all of it at once (the gate has checked it against the
         * route's limit and the sender's credential); chunked: room grows as chunks come. */
        /* Room grows as the bytes come (up to the length, or the route's limit): an
         * announced length reserves nothing. */
        c->body_cap = c->body_need < 65536 ? c->body_need : 65536;
        c->body = xmalloc(c->body_cap + 1);
        body_clock_start(c);
        if (h->expect_continue && h->minor == 1 && c->in_off == c->in_len)
            send_continue(c);
        return true;
    }
    disarm(c);
    dispatch(c, NULL);
    return true;
}

static bool on_body(struct conn *c)
{
    size_t avail = c->in_len - c->in_off, need = c->body_need - c->body_len;
    size_t k = avail < need ? avail : need;
    if (c->body_len + k > c->body_cap) {
        c->body_cap = c->body_len + k;
        c->body = xrealloc(c->body, c->body_cap + 1);
    }
    memcpy(c->body + c->body_len, c->in + c->in_off, k);
    c->body_len += k;
    c->in_off += k;
    if (c->body_len < c->body_need)
        return false;
    c->phase = PH_HEAD;
    disarm(c);
    dispatch(c, NULL);
    return true;
}

static bool on_chunked(struct conn *c)
{
    while (c->in_off < c->in_len) {
        const char *data;
        size_t len;
        size_t used =
            http1_chunked_feed(&c->chunked, c->in + c->in_off, c->in_len - c->in_off, &data, &len);
        if (c->chunked.bad) {
            refuse_body(c, 400, c->chunked.bad);
            return true;
        }
        if (len > c->body_need - c->body_len) {
            char detail[64];
            snprintf(detail, sizeof detail, "the body is larger than %zu bytes", c->body_need);
            refuse_body(c, 413, detail);
            return true;
        }
        if (c->body_len + len > c->body_cap) {
            size_t cap = c->body_cap * 2 > c->body_len + len ? c->body_cap * 2 : c->body_len + len;
            c->body_cap = cap < c->body_need ? cap : c->body_need;
            c->body = xrealloc(c->body, c->body_cap + 1);
        }
        if (len)
            memcpy(c->body + c->body_len, data, len);
        c->body_len += len;
        c->in_off += used;
        if (http1_chunked_done(&c->chunked)) {
            c->phase = PH_HEAD;
            disarm(c);
            dispatch(c, NULL);
            return true;
        }
    }
    return false;
}

static bool on_drain(struct conn *c)
{
    size_t avail = c->in_len - c->in_off;
    size_t k = avail < c->drain_left ? avail : (size_t)c->drain_left;
    c->in_off += k;
    c->drain_left -= k;
    if (c->drain_left > 0)
        return false;
    c->phase = PH_HEAD;
    arm(c, T_IDLE, (uint64_t)server_limits(c->w->server)->idle_timeout_s * 1000);
    return true;
}

/* Goes as far with the input as it can: one request at a time, the next once the reply to
 * the last has gone. */
static void conn_process(struct conn *c)
{
    if (c->processing || c->dead)
        return;
    c->processing = true;
    bool go = true;
    while (go && !c->dead && !c->lingering && !c->active && !c->hold.probe &&
           c->out_off == c->out_len && !c->ref_len) {
        if (c->turn >= CONN_REQUESTS_PER_TURN) {
            resume_later(c); /* the rest on a later turn of the loop */
            break;
        }
        switch (c->phase) {
        case PH_HEAD:
            go = on_head(c);
            break;
        case PH_BODY:
            go = on_body(c);
            break;
        case PH_CHUNKED:
            go = on_chunked(c);
            break;
        case PH_DRAIN:
            go = on_drain(c);
            break;
        case PH_DISCARD:
            c->in_off = c->in_len;
            go = false;
            break;
        }
    }
    c->processing = false;
    if (c->peer_eof && !c->dead && !c->lingering && !c->active && c->out_off == c->out_len &&
        !c->ref_len && !go)
        close_now(c); /* the client has finished, and nothing more it sent is whole */
}

/* ---- writing ---- */

static void out_reserve(struct conn *c, size_t more)
{
    if (c->out_len + more <= c->out_cap)
        return;
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < c->out_len + more)
        cap *= 2;
    c->out = xrealloc(c->out, cap);
    c->out_cap = cap;
}

static void out_add(struct conn *c, const char *data, size_t len)
{
    out_reserve(c, len);
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void out_puts(struct conn *c, const char *s)
{
    out_add(c, s, strlen(s));
}

/* Output has gone: go on with what waited behind it (input read, a paused read, TLS's own
 * buffer) on a later turn, unless conn_process is on the stack and goes on by itself. */
static void output_gone(struct conn *c)
{
    if (!c->processing && !c->lingering && !c->dead &&
        (c->in_off < c->in_len || !c->reading || SSL_has_pending(c->ssl) || c->phase != PH_HEAD))
        resume_later(c);
}

/* The reply has gone: close, or wait for the next request (reading it if it is here). */
static void reply_done(struct conn *c)
{
    release_ref(c);
    if (c->close_after || (c->peer_eof && c->in_off == c->in_len)) {
        begin_close(c);
        return;
    }
    if (c->phase == PH_HEAD && c->in_off == c->in_len) {
        /* Idle: a grown input or head buffer is not kept for the next request. */
        if (c->in_cap > CONN_IN_KEEP) {
            free(c->in);
            c->in = NULL;
            c->in_cap = c->in_off = c->in_len = 0;
        }
        if (c->headbuf_cap > CONN_HEAD_KEEP) {
            free(c->headbuf);
            c->headbuf = NULL;
            c->headbuf_cap = 0;
        }
        arm(c, T_IDLE, (uint64_t)server_limits(c->w->server)->idle_timeout_s * 1000);
    } else if (c->phase == PH_DRAIN) {
        arm(c, T_BODY, CONN_RATE_CHECK_MS); /* its rate, as before a blocked reply */
    }
    output_gone(c);
}

static void flush_out(struct conn *c)
{
    c->write_wants_read = false;
    while (c->out_off < c->out_len || c->ref_len) {
        bool from_out = c->out_off < c->out_len;
        const char *p = from_out ? c->out + c->out_off : c->ref;
        size_t n = from_out ? c->out_len - c->out_off : c->ref_len;
        if (n > CONN_RECORD_BYTES)
            n = CONN_RECORD_BYTES;
        ERR_clear_error();
        int k = SSL_write(c->ssl, p, (int)n);
        if (k > 0) {
            if (from_out) {
                c->out_off += (size_t)k;
            } else {
                c->ref += k;
                c->ref_len -= (size_t)k;
            }
            continue;
        }
        if (ssl_would_block(c, k, false)) {
            if (c->replying) /* a client that reads no more of its reply is let go */
                arm(c, T_WRITE, (uint64_t)server_limits(c->w->server)->idle_timeout_s * 1000);
            return;
        }
        close_now(c);
        return;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > CONN_OUT_KEEP) { /* a large reply was copied: not kept per connection */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    if (c->replying) {
        c->replying = false;
        reply_done(c);
    } else {
        output_gone(c); /* a 100 Continue: the body may be waiting behind it */
    }
}

static const char *date_now(void)
{
    static _Thread_local time_t when;
    static _Thread_local char text[30];
    time_t now = time(NULL);
    if (now != when) {
        http1_date(now, text);
        when = now;
    }
    return text;
}

void conn_reply(struct conn *c, const struct conn_reply *rep)
{
    c->busy++;
    c->gone = NULL;
    c->active = false;
    bool bodyless = rep->status < 200 || rep->status == 204 || rep->status == 304;
    bool head_only = strcmp(c->head.method, "HEAD") == 0;
    bool send_body = !bodyless && !head_only && rep->len > 0;
    if (c->dead) {
        if (rep->release)
            rep->release(rep->release_arg);
        c->busy--;
        maybe_free(c);
        return;
    }
    if (rep->close || !c->head.keep_alive)
        c->close_after = true;
    char line[96];
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", rep->status, http_reason(rep->status));
    out_puts(c, line);
    for (int i = 0; i < rep->nfields; i++) {
        out_puts(c, rep->fields[i].name);
        out_add(c, ": ", 2);
        out_puts(c, rep->fields[i].value);
        out_add(c, "\r\n", 2);
    }
    out_add(c, "Date: ", 6);
    out_puts(c, date_now());
    if (!bodyless) {
        snprintf(line, sizeof line, "\r\nContent-Length: %zu", rep->len);
        out_puts(c, line);
    }
    if (c->close_after)
        out_puts(c, "\r\nConnection: close");
    else if (c->head.minor == 0)
        out_puts(c, "\r\nConnection: keep-alive");
    out_add(c, "\r\n\r\n", 4);
    if (send_body && (!rep->release || rep->len <= CONN_COPY_MAX)) {
        out_add(c, rep->body, rep->len);
    } else if (send_body) {
        /* By reference; its start rides in the head's record. */
        size_t room = c->out_len < CONN_RECORD_BYTES ? CONN_RECORD_BYTES - c->out_len : 0;
        size_t first = room < rep->len ? room : rep->len;
        out_add(c, rep->body, first);
        c->ref = rep->body + first;
        c->ref_len = rep->len - first;
        c->ref_release = rep->release;
        c->ref_arg = rep->release_arg;
    }
    if (rep->release && c->ref_release != rep->release)
        rep->release(rep->release_arg);
    c->replying = true;
    flush_out(c);
    settle(c);
}

void conn_on_gone(struct conn *c, void (*gone)(void *arg), void *arg)
{
    c->gone = gone;
    c->gone_arg = arg;
}

const char *conn_addr(const struct conn *c)
{
    return c->addr;
}

SSL *conn_ssl(const struct conn *c)
{
    return c->ssl;
}
