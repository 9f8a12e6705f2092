/* lib/http1.c: request heads, chunked bodies, query strings, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "http1.h"

static struct http1_field fields[64];

/* Parses text (a NUL-terminated literal) as a whole head; the copy lives until the next. */
static struct http1_head parse(const char *text)
{
    static char buf[4096];
    size_t len = strlen(text);
    assert_true(len < sizeof buf);
    memcpy(buf, text, len + 1);
    assert_int_equal(http1_head_end(buf, len), len);
    struct http1_head h;
    http1_parse_head(buf, len, &h, fields, 64);
    return h;
}

static void test_head_end(void **state)
{
    (void)state;
    assert_int_equal(http1_head_end("GET / HTTP/1.1\r\nA: b\r\n", 22), 0);
    assert_int_equal(http1_head_end("GET / HTTP/1.1\r\n\r\nxyz", 21), 18);
    assert_int_equal(http1_head_end("GET / HTTP/1.1\n\nxyz", 19), 16);
    assert_int_equal(http1_head_end("GET / HTTP/1.1\n\r\n", 17), 17);
    assert_int_equal(http1_head_end("", 0), 0);
}

static void test_a_usual_head(void **state)
{
    (void)state;
    struct http1_head h = parse("POST /v1/schools?a=1&b=2 HTTP/1.1\r\nHost: x\r\n"
                                "content-length:  12 \r\nAuthorization: Bearer t\r\n\r\n");
    assert_null(h.bad);
    assert_string_equal(h.method, "POST");
    assert_string_equal(h.path, "/v1/schools");
    assert_string_equal(h.query, "a=1&b=2");
    assert_int_equal(h.minor, 1);
    assert_true(h.has_len);
    assert_int_equal(h.len, 12);
    assert_true(h.keep_alive);
    assert_int_equal(h.nfields, 3);
    assert_string_equal(http1_field(&h, "AUTHORIZATION"), "Bearer t");
    assert_string_equal(http1_field(&h, "Content-Length"), "12");
    assert_null(http1_field(&h, "Cookie"));
}

static void test_connection_and_versions(void **state)
{
    (void)state;
    assert_false(parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, close\r\n\r\n").keep_alive);
    /* Every Connection line counts: close on any of them wins. */
    assert_false(
        parse("GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    assert_true(
        parse("GET / HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    assert_false(parse("GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    struct http1_head h = parse("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(h.minor, 0);
    assert_string_equal(parse("GET / HTTP/2\r\n\r\n").bad,
                        "only HTTP/1.1 and HTTP/1.0 are spoken here");
    assert_true(parse("GET /x HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
    assert_true(parse("GET /x HTTP/1.1\r\nExpect: other\r\n\r\n").expect_other);
}

static void test_targets(void **state)
{
    (void)state;
    struct http1_head h = parse("GET https://host:8443/v1/me?x=1#f HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_null(h.bad);
    assert_string_equal(h.path, "/v1/me");
    assert_string_equal(h.query, "x=1");
    h = parse("GET http://host HTTP/1.1\r\nHost: host\r\n\r\n");
    assert_string_equal(h.path, "/");
    assert_string_equal(parse("GET * HTTP/1.1\r\n\r\n").bad, "the request target is malformed");
    assert_non_null(parse("GET /a\"b HTTP/1.1\r\n\r\n").bad);
    assert_non_null(parse("GET /a?b=\x7f HTTP/1.1\r\n\r\n").bad);
    assert_null(parse("GET /a%20b/c:d@e HTTP/1.1\r\nHost: h\r\n\r\n").bad);
}

static void test_refused_shapes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 x\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        /* With a Host, so that each is refused for its own reason. */
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
        "chunked\r\n\r\n",
        "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http1_head h = parse(bad[i]);
        if (!h.bad)
            fail_msg("accepted: %s", bad[i]);
    }
    /* The same Content-Length twice is one length. */
    assert_null(
        parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").bad);
}

static void test_host(void **state)
{
    (void)state;
    /* RFC 9112 §3.2: an HTTP/1.1 request without Host, with two Host lines or with an
     * invalid one is 400; HTTP/1.0 may leave it out. */
    assert_string_equal(parse("GET / HTTP/1.1\r\n\r\n").bad,
                        "an HTTP/1.1 request needs a Host header");
    assert_string_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n").bad,
                        "more than one Host header line");
    assert_string_equal(parse("GET / HTTP/1.0\r\nhost: a\r\nHOST: b\r\n\r\n").bad,
                        "more than one Host header line");
    assert_null(parse("GET / HTTP/1.0\r\n\r\n").bad);
    static const char *const good[] = {
        "localhost",
        "localhost:8443",
        "matd.trust.example",
        "127.0.0.1",
        "127.0.0.1:443",
        "[::1]",
        "[::1]:8443",
        "[2001:db8::7]",
        "[::ffff:192.0.2.1]:80",
        "[v1.fe80::a+en1]",
        "xn--bcher-kva.example",
        "a%2Db",
        "host:",
        "",
    };
    char text[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        struct http1_head h = parse(text);
        if (h.bad)
            fail_msg("refused Host: %s (%s)", good[i], h.bad);
    }
    static const char *const bad[] = {
        "a b/c", "a/b",    "a b",    "user@host",   "host:80x",  "host:8443:1",
        "[::1",  "[]",     "[::1]x", "[::g]",       "h\xc3\xa9", "a%zz",
        "a%2",   "host?x", "host#f", "[::1]:80:80", "\"q\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        struct http1_head h = parse(text);
        if (!h.bad || strstr(h.bad, "Host") == NULL)
            fail_msg("accepted Host: %s", bad[i]);
        snprintf(text, sizeof text, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
        if (!parse(text).bad)
            fail_msg("accepted Host: %s in HTTP/1.0", bad[i]);
    }
}

static void test_nul_and_too_many_lines(void **state)
{
    (void)state;
    char text[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    struct http1_head h;
    http1_parse_head(text, sizeof text - 1, &h, fields, 64);
    assert_string_equal(h.bad, "the request head holds a NUL byte");
    char many[2048] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 70; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    assert_true(http1_max_fields(many, strlen(many)) >= 70);
    http1_parse_head(many, strlen(many), &h, fields, 64);
    assert_non_null(h.bad);
}

/* Decodes text through the chunked decoder, fed n bytes at a time; returns the body. */
static char *unchunk(const char *text, size_t step, const char **bad, bool *done)
{
    struct http1_chunked st = {0};
    static char out[4096];
    size_t len = strlen(text), at = 0, outlen = 0;
    while (at < len && !st.bad && !http1_chunked_done(&st)) {
        size_t n = len - at < step ? len - at : step;
        size_t used = 0;
        while (used < n && !st.bad && !http1_chunked_done(&st)) {
            const char *data;
            size_t dl;
            size_t k = http1_chunked_feed(&st, text + at + used, n - used, &data, &dl);
            memcpy(out + outlen, data ? data : "", dl);
            outlen += dl;
            used += k;
            if (k == 0)
                break;
        }
        at += used;
    }
    out[outlen] = '\0';
    *bad = st.bad;
    *done = http1_chunked_done(&st);
    return out;
}

static void test_chunked(void **state)
{
    (void)state;
    const char *bad;
    bool done;
    static const char body[] =
        "5;name=value\r\nhello\r\nA\r\n, world! x\r\n0\r\nTrailer: t\r\n\r\n";
    for (size_t step = 1; step <= sizeof body; step++) {
        assert_string_equal(unchunk(body, step, &bad, &done), "hello, world! x");
        assert_null(bad);
        assert_true(done);
    }
    unchunk("3\r\nabc", 100, &bad, &done); /* not all there yet */
    assert_null(bad);
    assert_false(done);
    /* Framing is CRLF only: a bare LF anywhere in it is refused. */
    static const char *const bare[] = {"0\n\n",      "3\nabc\r\n",      "3\r\nabc\n0\r\n\r\n",
                                       "1;x\nx\r\n", "0\r\nT: t\n\r\n", "0\r\n\n"};
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++) {
        unchunk(bare[i], 100, &bad, &done);
        if (!bad)
            fail_msg("accepted: %s", bare[i]);
    }
    unchunk("x\r\n", 100, &bad, &done);
    assert_string_equal(bad, "a chunk size is not hexadecimal");
    unchunk("3\r\nabcd\r\n", 100, &bad, &done);
    assert_string_equal(bad, "a chunk is longer than its size");
    unchunk("1000000000000000\r\n", 100, &bad, &done);
    assert_string_equal(bad, "a chunk size is too large");
    unchunk("3\rx", 100, &bad, &done);
    assert_non_null(bad);
    char longext[2048] = "1;";
    memset(longext + 2, 'e', 1100);
    strcat(longext, "\r\nx\r\n0\r\n\r\n");
    unchunk(longext, 100, &bad, &done);
    assert_string_equal(bad, "a chunk's size line is too long");
}

static void test_query(void **state)
{
    (void)state;
    struct http1_field kv[8];
    char q[] = "year=2025%2D26&term=spring+term&empty=&x=%zz&y=%4";
    assert_int_equal(http1_query_split(q, kv, 8), 5);
    assert_string_equal(kv[0].name, "year");
    assert_string_equal(kv[0].value, "2025-26");
    assert_string_equal(kv[1].value, "spring term");
    assert_string_equal(kv[2].value, "");
    assert_string_equal(kv[3].value, "%zz");
    assert_string_equal(kv[4].value, "%4");
    char gap[] = "a=1&&b=2"; /* an empty pair is skipped */
    assert_int_equal(http1_query_split(gap, kv, 8), 2);
    assert_string_equal(kv[1].name, "b");
    char noeq[] = "year=2025-26&x"; /* "x" alone is "x=": a name, so a check can name it */
    assert_int_equal(http1_query_split(noeq, kv, 8), 2);
    assert_string_equal(kv[1].name, "x");
    assert_string_equal(kv[1].value, "");
    char trailing[] = "a=1&";
    assert_int_equal(http1_query_split(trailing, kv, 8), 1);
    char many[] = "a=1&b=2&c=3";
    assert_int_equal(http1_query_split(many, kv, 2), -1);
}

static int query_errors(const char *query, const char *allowed, struct mat_errors *errs)
{
    char q[256];
    struct http1_field kv[16];
    snprintf(q, sizeof q, "%s", query);
    int n = http1_query_split(q, kv, 16);
    assert_true(n >= 0);
    mat_errors_init(errs);
    return http1_query_check(kv, n, allowed, errs);
}

static void test_query_check(void **state)
{
    (void)state;
    struct mat_errors e;
    assert_int_equal(query_errors("dry_run=true&profile=arbor", "dry_run, profile", &e), 0);
    mat_errors_free(&e);
    assert_int_equal(query_errors("", NULL, &e), 0);
    mat_errors_free(&e);
    /* a typo is named, with what the route takes */
    assert_int_equal(query_errors("dryrun=true", "dry_run, profile", &e), 1);
    assert_string_equal(e.items[0].path, "dryrun");
    assert_non_null(strstr(e.items[0].message, "takes dry_run, profile"));
    mat_errors_free(&e);
    /* a prefix or a part of a listed name is not the name */
    assert_int_equal(query_errors("dry=1&run=1&profil=x", "dry_run, profile", &e), 3);
    mat_errors_free(&e);
    /* a route that takes none */
    assert_int_equal(query_errors("limit=5", NULL, &e), 1);
    assert_non_null(strstr(e.items[0].message, "takes none"));
    mat_errors_free(&e);
    /* given twice: one error however often it repeats */
    assert_int_equal(
        query_errors("year=2025-26&year=2024-25&year=2023-24&term=spring", "year, term", &e), 1);
    assert_string_equal(e.items[0].path, "year");
    mat_errors_free(&e);
    /* a bare name is named, not read as a missing year */
    assert_int_equal(query_errors("year=2025-26&term=spring&x", "year, term", &e), 1);
    assert_string_equal(e.items[0].path, "x");
    mat_errors_free(&e);
    /* "*" takes anything */
    assert_int_equal(query_errors("utm_source=mail&v=3&v=4", "*", &e), 0);
    mat_errors_free(&e);
}

static void test_date(void **state)
{
    (void)state;
    char out[30];
    http1_date(784111777, out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    http1_date(1796342400, out);
    assert_string_equal(out, "Fri, 04 Dec 2026 00:00:00 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_end),
        cmocka_unit_test(test_a_usual_head),
        cmocka_unit_test(test_connection_and_versions),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_refused_shapes),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_nul_and_too_many_lines),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_query_check),
        cmocka_unit_test(test_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
