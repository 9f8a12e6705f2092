/* HTTP/1.1 as matd speaks it, the pure part: a request head parsed in place, a chunked body
 * decoded as it arrives, a query string split and decoded, the Date header's text. No I/O:
 * the connection (server/conn.c) feeds bytes and decides what to do with the results. */
#ifndef MATD_HTTP1_H
#define MATD_HTTP1_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct http1_field {
    const char *name, *value; /* NUL-terminated, in the parsed text */
};

struct http1_head {
    const char *method;
    const char *path;           /* the target's path, raw (not percent-decoded); "/" when empty */
    const char *query;          /* after '?', raw, or NULL */
    int minor;                  /* HTTP/1.minor: 0 or 1 */
    struct http1_field *fields; /* the caller's room for maxfields */
    int nfields, maxfields;
    bool has_len, chunked;
    uint64_t len;         /* Content-Length */
    bool keep_alive;      /* the client keeps the connection (1.1 unless close; 1.0 if asked) */
    bool expect_continue; /* Expect: 100-continue */
    bool expect_other;    /* an Expect this server cannot meet (417) */
    const char *bad;      /* why the head is refused outright (400), or NULL */
};

/* The end of the head at the start of buf (the offset just past its empty line), or 0 when
 * it is not all there yet. A bare LF ends lines too. */
size_t http1_head_end(const char *buf, size_t len);
/* The most header lines text[0..len) can hold (room to give http1_parse_head). */
size_t http1_max_fields(const char *text, size_t len);
/* Parses the head text[0..len) (len from http1_head_end) in place: NULs are written into it
 * and h points into it; its header lines go to fields (room for maxfields). h->bad says why
 * a head is malformed; what was parsed up to there is still filled in (the method and path
 * name the refusal). */
void http1_parse_head(char *text, size_t len, struct http1_head *h, struct http1_field *fields,
                      int maxfields);
/* The first header named name (any case), or NULL. */
const char *http1_field(const struct http1_head *h, const char *name);

/* A chunked request body, decoded as its bytes arrive. */
struct http1_chunked {
    int state;
    uint64_t left; /* of the current chunk */
    size_t line;   /* bytes of the current size line or trailer section */
    const char *bad;
};
/* Consumes from in[0..n) up to the end of the next run of body bytes (returned in *data,
 * *data_len, pointing into in) or of framing. Returns the bytes consumed; call again with
 * the rest. http1_chunked_done() when the last chunk and trailers are through;
 * st->bad (set, and nothing more consumed) for malformed framing. */
size_t http1_chunked_feed(struct http1_chunked *st, const char *in, size_t n, const char **data,
                          size_t *data_len);
bool http1_chunked_done(const struct http1_chunked *st);

/* Splits the query string q (modified in place) into decoded name/value pairs ('+' is a
 * space, %XX a byte; "x" alone is "x=", empty pairs are skipped). Returns the number of
 * pairs, or -1 when there are more than max. */
int http1_query_split(char *q, struct http1_field *out, int max);

struct mat_errors;
/* Checks a split query against the names a route takes ("limit, cursor"; "*" takes any,
 * NULL or "" none): each name known and given once. Adds an error per unknown name and per
 * repeated name (path: the name) and returns how many it added. */
int http1_query_check(const struct http1_field *kv, int n, const char *allowed,
                      struct mat_errors *errs);

/* "Sun, 06 Nov 1994 08:49:37 GMT" for t (29 characters and a NUL). */
void http1_date(time_t t, char out[30]);

#endif
