/* One client connection: TLS straight over the socket, HTTP/1.1 read and written by matd
 * itself (lib/http1.h), one request at a time (pipelined requests wait their turn), and the
 * deadlines that bound every phase: handshake and head (header_timeout_ms), body (a
 * minimum rate), keep-alive idleness and a reply the client will not read (idle_timeout_s),
 * and the lingering close that lets a client read its answer before the socket goes.
 *
 * Each head is decided by the gate (gate.h) before any of its body is read: a refused
 * request reaches the request layer bodyless, with the gate's verdict. An admitted body is
 * read whole (Content-Length or chunked, within the route's limit), then the request is
 * handed over with it.
 *
 * A connection that is doing nothing useful yet (in the TLS handshake, or waiting for the
 * first byte of a request) is reusable: at the worker's budget a newcomer takes the place of
 * the oldest one of the address holding the most (lib/reusable.h), so idle and embryonic
 * connections cannot keep a real client out. */
#ifndef MATD_CONN_H
#define MATD_CONN_H
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "http1.h"

struct worker;
struct conn;
struct gate_verdict;

/* Takes an accepted socket of w's for the client at addr, which holds one of the gate's
 * per-address slots until the connection ends. */
void conn_start(struct worker *w, int fd, const char *addr);
/* Closes every connection of w (at exit, once no request is in flight). */
void conn_close_all(struct worker *w);
/* Makes room in w's budget for one more connection, closing reusable connections if w is at
 * it (a few at a time: those of the busiest addresses first); false when there is still no
 * room (every connection has a request in progress). */
bool conn_make_room(struct worker *w);
/* Logs how many connections w closed to make room since the last call (period_s ago). */
void conn_log_evictions(struct worker *w, int period_s);

/* The request layer's side (request.c). request_dispatch receives the head (valid until
 * conn_reply), the body (malloc'd, NUL-terminated, now the receiver's; NULL if none) and,
 * for a head the gate refused, its verdict. */

/* The reply: status, the header lines the request layer adds (Date, Content-Length and
 * Connection are the connection's), and the body: copied, or with release set sent by
 * reference and release(release_arg) called once it has left or been dropped. */
struct conn_reply {
    int status;
    const struct http1_field *fields;
    int nfields;
    const char *body;
    size_t len;
    void (*release)(void *arg);
    void *release_arg;
    bool close; /* close the connection after this reply */
};
/* Sends the one reply to the request the connection handed over. A connection whose client
 * has gone drops it (and is freed). */
void conn_reply(struct conn *c, const struct conn_reply *reply);
/* Tells the request in flight that its client went away (gone(arg), once, from the loop);
 * NULL to stop. */
void conn_on_gone(struct conn *c, void (*gone)(void *arg), void *arg);
/* The client's address (the PROXY protocol's when a trusted balancer named it). */
const char *conn_addr(const struct conn *c);
/* The TLS state (for the client's certificate); NULL once the client has gone. */
SSL *conn_ssl(const struct conn *c);

#endif
