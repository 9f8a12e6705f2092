/* evdns runs on a private event_base of its own, pumped from the worker's loop by a short
 * timer while a lookup is in flight. Its replies and cancellations are delivered through
 * deferred callbacks: a private base can be run to completion at shutdown (so that nothing
 * leaks) without running any of the worker's other events. */
#include "dnslookup.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

#define DNS_PUMP_US 10000 /* how often the private base is polled during a lookup */

enum dns_entry_state {
    DNS_EMPTY,   /* no answer held (never asked, forgotten, or the last lookup failed) */
    DNS_PENDING, /* a lookup is in flight */
    DNS_CACHED,  /* addrs valid until expires_ms */
};

struct dns_wait {
    struct dns_entry *entry;
    dns_done_fn done;
    void *arg;
    bool delivering; /* taken off the entry's list; cancel only marks it */
    bool cancelled;
    struct dns_wait *next;
};

struct dns_entry {
    struct dns_ctx *ctx;
    enum dns_entry_state state;
    char *name;
    char *addrs[DNS_MAX_ADDRS];
    int naddrs;
    uint64_t expires_ms;
    char err[160];
    struct evdns_getaddrinfo_request *req;
    struct dns_wait *waiters;
};

struct dns_ctx {
    struct event_base *loop;    /* the worker's */
    struct event_base *private; /* evdns's own */
    struct evdns_base *dns;
    struct event *pump;
    int inflight;
    bool closing;
    struct dns_entry entries[DNS_MAX_NAMES];
    int nentries;
};

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dns_ctx *ctx = arg;
    event_base_loop(ctx->private, EVLOOP_NONBLOCK);
}

struct dns_ctx *dns_ctx_new(struct event_base *loop)
{
    struct dns_ctx *ctx = xcalloc(1, sizeof *ctx);
    ctx->loop = loop;
    ctx->private = event_base_new();
    if (!ctx->private)
        fatal("dns: event_base_new failed");
    ctx->dns = evdns_base_new(ctx->private, 0);
    if (!ctx->dns)
        fatal("dns: evdns_base_new failed");
    const char *path = getenv("MATD_RESOLV_CONF");
    if (!path || !*path)
        path = "/etc/resolv.conf";
    /* 1..6 are "file missing, unreadable, ..., no nameserver": evdns then uses its
     * defaults (127.0.0.1) and the hosts file, as the C library would. */
    int r = evdns_base_resolv_conf_parse(ctx->dns, DNS_OPTIONS_ALL, path);
    if (r != 0)
        log_warn("msg=\"resolver configuration incomplete; using defaults\" file=%s code=%d", path,
                 r);
    ctx->pump = event_new(loop, -1, EV_PERSIST, pump_cb, ctx);
    return ctx;
}

static void entry_clear(struct dns_entry *e)
{
    for (int i = 0; i < e->naddrs; i++)
        free(e->addrs[i]);
    e->naddrs = 0;
}

/* Calls every waiter registered when the answer came (not those added by a callback),
 * with a copy of the answer: a callback may start a new lookup of the same name. */
static void entry_deliver(struct dns_entry *e)
{
    struct dns_wait *list = e->waiters;
    e->waiters = NULL;
    for (struct dns_wait *w = list; w; w = w->next)
        w->delivering = true;
    bool ok = e->state == DNS_CACHED;
    int n = ok ? e->naddrs : 0;
    char *copy[DNS_MAX_ADDRS];
    const char *addrs[DNS_MAX_ADDRS];
    for (int i = 0; i < n; i++)
        addrs[i] = copy[i] = xstrdup(e->addrs[i]);
    char err[sizeof e->err];
    memcpy(err, e->err, sizeof err);
    while (list) {
        struct dns_wait *w = list;
        list = w->next;
        if (!w->cancelled)
            w->done(w->arg, ok ? NULL : err, addrs, n);
        free(w);
    }
    for (int i = 0; i < n; i++)
        free(copy[i]);
}

/* Keeps the numeric form of up to DNS_MAX_ADDRS distinct addresses. */
static void entry_store(struct dns_entry *e, const struct evutil_addrinfo *ai)
{
    entry_clear(e);
    for (; ai && e->naddrs < DNS_MAX_ADDRS; ai = ai->ai_next) {
        char buf[64];
        const void *a = NULL;
        if (ai->ai_family == AF_INET)
            a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        if (!a || !evutil_inet_ntop(ai->ai_family, a, buf, sizeof buf))
            continue;
        bool seen = false;
        for (int i = 0; i < e->naddrs; i++)
            seen = seen || strcmp(e->addrs[i], buf) == 0;
        if (!seen)
            e->addrs[e->naddrs++] = xstrdup(buf);
    }
}

static void lookup_done(int result, struct evutil_addrinfo *res, void *arg)
{
    struct dns_entry *e = arg;
    struct dns_ctx *ctx = e->ctx;
    e->req = NULL;
    if (--ctx->inflight == 0 && ctx->pump)
        event_del(ctx->pump);
    if (ctx->closing) {
        if (res)
            evutil_freeaddrinfo(res);
        e->state = DNS_EMPTY;
        return;
    }
    if (result == 0)
        entry_store(e, res);
    if (res)
        evutil_freeaddrinfo(res);
    if (result == 0 && e->naddrs > 0) {
        e->state = DNS_CACHED;
        e->expires_ms = now_ms() + DNS_CACHE_MS;
        struct strbuf sb;
        strbuf_init(&sb);
        for (int i = 0; i < e->naddrs; i++)
            strbuf_printf(&sb, "%s%s", i ? "," : "", e->addrs[i]);
        log_info("msg=\"name resolved\" name=%s addresses=%s", e->name, sb.data);
        strbuf_free(&sb);
    } else {
        e->state = DNS_EMPTY;
        snprintf(e->err, sizeof e->err, "cannot resolve %s: %s", e->name,
                 result ? evutil_gai_strerror(result) : "no address");
    }
    entry_deliver(e);
}

static void entry_start(struct dns_entry *e)
{
    struct dns_ctx *ctx = e->ctx;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    e->state = DNS_PENDING;
    if (ctx->inflight++ == 0) {
        struct timeval tv = {0, DNS_PUMP_US};
        event_add(ctx->pump, &tv);
    }
    /* May answer at once (hosts file, a malformed name): lookup_done has run then. */
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(ctx->dns, e->name, NULL, &hints, lookup_done, e);
    if (e->state == DNS_PENDING)
        e->req = req;
}

static struct dns_entry *entry_find(struct dns_ctx *ctx, const char *name)
{
    for (int i = 0; i < ctx->nentries; i++)
        if (strcmp(ctx->entries[i].name, name) == 0)
            return &ctx->entries[i];
    if (ctx->nentries == DNS_MAX_NAMES)
        return NULL;
    struct dns_entry *e = &ctx->entries[ctx->nentries++];
    e->ctx = ctx;
    e->name = xstrdup(name);
    return e;
}

struct dns_wait *dns_lookup(struct dns_ctx *ctx, const char *name, dns_done_fn done, void *arg)
{
    struct dns_entry *e = entry_find(ctx, name);
    if (!e) {
        done(arg, "too many database host names", NULL, 0);
        return NULL;
    }
    if (e->state == DNS_CACHED && now_ms() >= e->expires_ms)
        e->state = DNS_EMPTY;
    if (e->state == DNS_EMPTY) {
        /* Delivered to nobody if it answers at once: the answer is then read below. */
        entry_start(e);
    }
    if (e->state != DNS_PENDING) {
        const char *addrs[DNS_MAX_ADDRS];
        for (int i = 0; i < e->naddrs; i++)
            addrs[i] = e->addrs[i];
        if (e->state == DNS_CACHED)
            done(arg, NULL, addrs, e->naddrs);
        else
            done(arg, e->err, NULL, 0);
        return NULL;
    }
    struct dns_wait *w = xcalloc(1, sizeof *w);
    w->entry = e;
    w->done = done;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    return w;
}

void dns_cancel(struct dns_wait *w)
{
    if (w->delivering) {
        w->cancelled = true; /* freed by entry_deliver */
        return;
    }
    for (struct dns_wait **p = &w->entry->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    free(w);
}

void dns_forget(struct dns_ctx *ctx, const char *name)
{
    for (int i = 0; i < ctx->nentries; i++)
        if (ctx->entries[i].state == DNS_CACHED && strcmp(ctx->entries[i].name, name) == 0)
            ctx->entries[i].state = DNS_EMPTY;
}

void dns_ctx_free(struct dns_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->closing = true;
    for (int i = 0; i < ctx->nentries; i++) {
        struct dns_entry *e = &ctx->entries[i];
        while (e->waiters) {
            struct dns_wait *w = e->waiters;
            e->waiters = w->next;
            free(w);
        }
        if (e->req)
            evdns_getaddrinfo_cancel(e->req);
    }
    /* Runs the cancellations' deferred callbacks, which free evdns's request state; only
     * evdns has events on this base. */
    for (int round = 0; round < 16 && ctx->inflight > 0; round++)
        event_base_loop(ctx->private, EVLOOP_NONBLOCK);
    event_free(ctx->pump);
    ctx->pump = NULL;
    evdns_base_free(ctx->dns, 0);
    event_base_free(ctx->private);
    for (int i = 0; i < ctx->nentries; i++) {
        entry_clear(&ctx->entries[i]);
        free(ctx->entries[i].name);
    }
    free(ctx);
}
