/* A reply rendered once and served like a static file: the bytes as they are, gzipped and
 * brotli-compressed, each with its own ETag, all made off the event loop when the
 * content is made; a request only picks the variant its Accept-Encoding admits (Vary:
 * Accept-Encoding), answers 304 to a matching If-None-Match, and sends the bytes by
 * reference - no rendering, hashing, compressing or copying per request. Reference
 * counted, immutable once made: any thread may hold one. */
#ifndef MATD_RENDERED_H
#define MATD_RENDERED_H
#include <stdbool.h>
#include <stddef.h>

struct req;
struct rendered;

/* Bodies shorter than this are sent as they are: compression would save no packet. */
#define RENDERED_MIN_COMPRESS 256

/* Copies data and hashes it (call off the event loop for anything large); content_type
 * must be a static string. Returns one reference. Compressed variants come with
 * rendered_compress (then or later): until they exist the identity bytes are served. */
struct rendered *rendered_new(const char *content_type, const char *data, size_t len);
/* Makes the gzip and brotli variants (off the loop; the first call does the work, any
 * other returns at once). Counted in matd_compressions_total. */
void rendered_compress(struct rendered *x);
/* The same on the offload pool, without waiting: a computed list is served at once and
 * compressed while it is. Skipped (a later call tries again) while another compression is
 * under way process-wide or the pool is saturated. */
void rendered_compress_later(struct rendered *x);
void rendered_hold(struct rendered *x);
void rendered_release(struct rendered *x); /* NULL is fine */
/* The most bytes all variants can come to hold (for cache budgets: the compressed ones
 * may arrive after the entry is counted). */
size_t rendered_size(const struct rendered *x);
/* The identity bytes (for tests and for callers that need the text). */
const char *rendered_data(const struct rendered *x, size_t *len);

/* Replies 200 with the variant r's Accept-Encoding gives the highest q (brotli on a tie;
 * the identity bytes when it admits neither), or 304 to a matching If-None-Match. x is borrowed.
 * From x's second reply on, a client that takes gzip or brotli gets the variants made
 * (rendered_compress_ later) if they are not yet: what is asked for once is never compressed. */
void rendered_reply(struct req *r, struct rendered *x);

/* True when an Accept-Encoding header admits coding (by name or "*") with a non-zero q. */
bool rendered_accepts(const char *accept_encoding, const char *coding);

#endif
