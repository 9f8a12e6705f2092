/* The connection gate: what matd decides about a client before evhttp buffers anything for
 * it. At accept, before any TLS state exists, a client address over its connection cap is
 * closed. Between TLS and evhttp, a bufferevent filter reads each request head itself and
 * holds its body back until it has decided: the route's body limit and the presence of a
 * credential are checked on the head, so an unauthenticated or oversized body is never
 * buffered (the client gets 401/413 from matd; a body up to 1 MiB over the route's limit
 * is drained so the client can read that answer, a larger one closes the connection). Deadlines
 * bound the TLS handshake plus the head (header_timeout_ms) and the body (a minimum rate), however
 * slowly the bytes trickle. */
#ifndef MATD_GATE_H
#define MATD_GATE_H
#include <openssl/ssl.h>
#include <stdbool.h>

struct worker;
struct event_base;
struct bufferevent;
struct evconnlistener;
struct evhttp_connection;

/* What the gate answered for a request it refused on its head (status 0: none). */
struct gate_verdict {
    int status;
    int method; /* M_* of the refused request, 0 if unknown */
    char detail[160];
    char path[256];
};

/* Registers the per-connection state with OpenSSL; once, before workers start. */
void gate_init(void);
/* Puts the per-address cap in front of evhttp's accept callback on w's listener (bound to
 * w->http). Returns -1 when the listener is not what this libevent build should give. */
int gate_install(struct worker *w, struct evconnlistener *listener);
/* The bufferevent evhttp reads for a new connection: TLS under the request filter. The
 * connection's state lives as long as ssl; http_server_conn_closed(w) is called then. */
struct bufferevent *gate_bev_new(struct worker *w, struct event_base *base, SSL *ssl);
/* Takes the refusal decided on this connection's last head into out; false if none. */
bool gate_take_verdict(struct evhttp_connection *evcon, struct gate_verdict *out);
/* Pushes a reply evhttp has just queued down through the filter to TLS (call after every
 * evhttp_send_reply). */
void gate_kick(struct evhttp_connection *evcon);
/* True when the connection must close after this reply (a chunked body passed through). */
bool gate_close_after(struct evhttp_connection *evcon);

#endif
