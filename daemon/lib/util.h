/* Allocation that cannot fail, string helpers and a growable byte buffer.
 * x* functions abort on out-of-memory (as zmalloc/kore_calloc do): callers never
 * check for NULL. */
#ifndef MATD_UTIL_H
#define MATD_UTIL_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns owned, formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer; data is always NUL-terminated. */
struct strbuf {
    char *data;
    size_t len, cap;
};
void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const void *p, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the owned buffer and resets sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/* Appends s as a JSON string literal (quoted, escaped), or null for NULL; a byte that is
 * not part of well-formed UTF-8 becomes U+FFFD, so the output is always valid JSON text. */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 when s[0] does not start one. */
size_t utf8_seq_len(const unsigned char *s);
/* Copies src into dst[size] (size > 0), cut between two characters when it is too long:
 * never a partial UTF-8 sequence at the end. Returns the bytes copied. */
size_t utf8_copy(char *dst, size_t size, const char *src);
/* 3 when buf begins with the UTF-8 byte-order mark (spreadsheets write one), else 0. */
size_t utf8_bom_len(const char *buf, size_t len);

/* The value of one hex digit (either case), or -1. */
int hex_value(char c);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* SHA-256 of data as 64 lower-case hex digits. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of a followed by b (b may be empty), without joining them. */
void sha256_hex2(const void *a, size_t alen, const void *b, size_t blen, char out[65]);
/* SHA-256 as an OpenSSL EVP_MD, fetched once per process (for EVP_Digest and HMAC). */
struct evp_md_st;
const struct evp_md_st *sha256_md(void);
/* Constant-time comparison of two equal-length buffers. */
bool ct_equal(const void *a, const void *b, size_t n);
/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);

/* FNV-1a: hashes the bytes of s into h (start from UTIL_FNV_OFFSET), for tables keyed by text. */
#define UTIL_FNV_OFFSET 1469598103934665603ull
#define UTIL_FNV_PRIME 1099511628211ull
static inline uint64_t util_fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UTIL_FNV_PRIME;
    return h;
}
/* Strict parsing: whole string must be a number in [min, max]. */
bool parse_long(const char *s, long min, long max, long *out);
/* Calendar date "YYYY-MM-DD" with real month lengths. */
bool parse_date(const char *s, int *y, int *m, int *d);

#endif
