/* Replies rendered once in every encoding (identity, gzip, brotli) and sent by reference. */
#include "rendered.h"

#include <brotli/encode.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "metrics.h"
#include "offload.h"
#include "request.h"
#include "util.h"

/* Made once per data version, so the smallest output is worth some time: gzip's best
 * level, and brotli's quality 9 (11 costs ten times as much for 2-3% on JSON). */
#define GZIP_LEVEL 9
#define BROTLI_QUALITY 9
/* Compressions running or queued at once, process-wide: the CPU that clients asking for
 * many distinct views can make matd spend on compressing them is one pool thread's. */
#define MAX_COMPRESSING 1

static atomic_int compressing_now;

enum { ENC_IDENTITY, ENC_GZIP, ENC_BROTLI, ENC_COUNT };

static const char *const enc_names[ENC_COUNT] = {NULL, "gzip", "br"};

struct rendered {
    atomic_int refs;
    const char *content_type;
    /* NULL: no such variant (yet, or small, or no gain). The compressed ones are published
     * once, maybe after the identity bytes are already being served. */
    _Atomic(struct req_body *) body[ENC_COUNT];
    atomic_size_t len[ENC_COUNT];
    atomic_flag compressing; /* set by the one rendered_compress that does the work */
    atomic_bool queued;      /* a rendered_compress_later is on its way */
    atomic_int asked;        /* rendered_reply calls so far */
};

static char *gzip_bytes(const char *data, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)len);
    char *out = xmalloc(cap);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static char *brotli_bytes(const char *data, size_t len, size_t *out_len)
{
    size_t cap = BrotliEncoderMaxCompressedSize(len);
    if (cap == 0)
        return NULL;
    char *out = xmalloc(cap);
    *out_len = cap;
    if (!BrotliEncoderCompress(BROTLI_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, len,
                               (const uint8_t *)data, out_len, (uint8_t *)out)) {
        free(out);
        return NULL;
    }
    return out;
}

struct rendered *rendered_new(const char *content_type, const char *data, size_t len)
{
    struct rendered *x = xcalloc(1, sizeof *x);
    atomic_init(&x->refs, 1);
    atomic_flag_clear(&x->compressing);
    atomic_init(&x->queued, false);
    atomic_init(&x->asked, 0);
    x->content_type = content_type;
    atomic_init(&x->body[ENC_IDENTITY], req_body_new(data, len));
    atomic_init(&x->len[ENC_IDENTITY], len);
    return x;
}

void rendered_compress(struct rendered *x)
{
    size_t len = atomic_load(&x->len[ENC_IDENTITY]);
    if (len < RENDERED_MIN_COMPRESS || atomic_flag_test_and_set(&x->compressing))
        return;
    metrics_add(METRIC_COMPRESSIONS, 1);
    const char *data = req_body_data(atomic_load(&x->body[ENC_IDENTITY]));
    for (int e = ENC_GZIP; e < ENC_COUNT; e++) {
        size_t n = 0;
        char *c = e == ENC_GZIP ? gzip_bytes(data, len, &n) : brotli_bytes(data, len, &n);
        if (c && n < len) {
            atomic_store(&x->len[e], n);
            atomic_store(&x->body[e], req_body_new(c, n));
        }
        free(c);
    }
}

static void compress_run(void *arg)
{
    rendered_compress(arg);
    atomic_fetch_sub(&compressing_now, 1);
    rendered_release(arg);
}

void rendered_compress_later(struct rendered *x)
{
    if (atomic_load(&x->len[ENC_IDENTITY]) < RENDERED_MIN_COMPRESS ||
        atomic_exchange(&x->queued, true))
        return;
    if (atomic_fetch_add(&compressing_now, 1) >= MAX_COMPRESSING) {
        /* Another compression is under way: served as it is; a later ask tries again. */
        atomic_fetch_sub(&compressing_now, 1);
        atomic_store(&x->queued, false);
        return;
    }
    rendered_hold(x);
    if (offload_submit(OFFLOAD_BULK, NULL, compress_run, NULL, x) !=
        0) { /* the pool is saturated */
        atomic_fetch_sub(&compressing_now, 1);
        atomic_store(&x->queued, false);
        rendered_release(x);
    }
}

void rendered_hold(struct rendered *x)
{
    atomic_fetch_add(&x->refs, 1);
}

void rendered_release(struct rendered *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    for (int e = 0; e < ENC_COUNT; e++)
        req_body_release(atomic_load(&x->body[e]));
    free(x);
}

size_t rendered_size(const struct rendered *x)
{
    /* A compressed variant is kept only when shorter than the identity bytes. */
    return sizeof *x + ENC_COUNT * atomic_load(&x->len[ENC_IDENTITY]);
}

const char *rendered_data(const struct rendered *x, size_t *len)
{
    *len = atomic_load(&x->len[ENC_IDENTITY]);
    return req_body_data(atomic_load(&x->body[ENC_IDENTITY]));
}

/* The q of coding in an Accept-Encoding list: its own entry, else "*", else -1. */
static double coding_q(const char *header, const char *coding)
{
    size_t want = strlen(coding);
    double star = -1;
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t name = strcspn(p, ";, \t");
        double q = 1;
        const char *semi = memchr(p, ';', n);
        if (semi) {
            const char *qp = semi + 1;
            while (*qp == ' ' || *qp == '\t')
                qp++;
            if ((qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=')
                q = strtod(qp + 2, NULL);
        }
        if (name == want && strncasecmp(p, coding, want) == 0)
            return q;
        if (name == 1 && *p == '*')
            star = q;
        p += n;
    }
    return star;
}

bool rendered_accepts(const char *accept_encoding, const char *coding)
{
    return coding_q(accept_encoding, coding) > 0;
}

void rendered_reply(struct req *r, struct rendered *x)
{
    const char *ae = req_header(r, "Accept-Encoding");
    int pick = ENC_IDENTITY;
    struct req_body *b = atomic_load(&x->body[ENC_IDENTITY]);
    double best = 0; /* the highest q the client gives a variant we have; a tie: brotli */
    for (int e = ENC_BROTLI; ae && e > ENC_IDENTITY; e--) {
        struct req_body *v = atomic_load(&x->body[e]);
        double q = v ? coding_q(ae, enc_names[e]) : 0;
        if (q > best) {
            best = q;
            pick = e;
            b = v;
        }
    }
    /* Compressed only once asked again, by a client that takes it: a view asked for once
     * (a client walking through filters) costs no compression. */
    bool again = atomic_fetch_add(&x->asked, 1) > 0;
    if (again && ae && pick == ENC_IDENTITY && !atomic_load(&x->queued) &&
        (rendered_accepts(ae, "br") || rendered_accepts(ae, "gzip")))
        rendered_compress_later(x);
    /* Added to what the handler already varies on (the priorities routes: Accept). */
    const char *vary = req_reply_header(r, "Vary");
    if (vary) {
        char both[128];
        snprintf(both, sizeof both, "%s, Accept-Encoding", vary);
        req_set_header(r, "Vary", both);
    } else {
        req_set_header(r, "Vary", "Accept-Encoding");
    }
    if (pick != ENC_IDENTITY)
        req_set_header(r, "Content-Encoding", enc_names[pick]);
    req_reply_body(r, x->content_type, b);
}
