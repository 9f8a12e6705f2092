/* The streaming JSON reader: the tokens of every JSON shape, and agreement with jansson (the
 * oracle: another implementation) on what is accepted and on the value built, for escapes,
 * unicode, numbers, nesting, truncated input, trailing garbage and duplicate keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "util.h"

/* Reads the whole of s[0..len) through the stream and builds it. */
static int stream_build(const char *s, size_t len, json_t **out)
{
    struct json_stream js;
    json_stream_init(&js, s, len);
    *out = NULL;
    int rc = json_stream_build(&js, json_stream_next(&js), out);
    if (rc == 0 && json_stream_next(&js) != JSON_TOK_END) {
        json_decref(*out);
        *out = NULL;
        rc = -1;
    }
    json_stream_free(&js);
    return rc;
}

/* Both readers give the same verdict, and the same value when they accept. */
static void agrees_len(const char *s, size_t len, bool want_ok)
{
    json_error_t jerr;
    json_t *ref = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    json_t *mine = NULL;
    int rc = stream_build(s, len, &mine);
    if ((ref != NULL) != (rc == 0) || (ref != NULL) != want_ok)
        fail_msg("%.*s: jansson %s, stream %s, expected %s", (int)(len > 80 ? 80 : len), s,
                 ref ? "accepts" : jerr.text, rc == 0 ? "accepts" : "refuses",
                 want_ok ? "accept" : "refuse");
    if (ref && !json_equal(ref, mine))
        fail_msg("%s: the values differ", s);
    json_decref(ref);
    json_decref(mine);
}

static void agrees(const char *s, bool want_ok)
{
    agrees_len(s, strlen(s), want_ok);
}

static void test_tokens(void **state)
{
    (void)state;
    const char *doc =
        " {\"a\" : [1, -2.5e1, \"x\", true, false, null, {}, []], \"b\":{\"c\":\"\"}} ";
    static const enum json_tok want[] = {
        JSON_TOK_OBJECT,    JSON_TOK_KEY,       JSON_TOK_ARRAY,      JSON_TOK_INTEGER,
        JSON_TOK_REAL,      JSON_TOK_STRING,    JSON_TOK_TRUE,       JSON_TOK_FALSE,
        JSON_TOK_NULL,      JSON_TOK_OBJECT,    JSON_TOK_OBJECT_END, JSON_TOK_ARRAY,
        JSON_TOK_ARRAY_END, JSON_TOK_ARRAY_END, JSON_TOK_KEY,        JSON_TOK_OBJECT,
        JSON_TOK_KEY,       JSON_TOK_STRING,    JSON_TOK_OBJECT_END, JSON_TOK_OBJECT_END,
        JSON_TOK_END,       JSON_TOK_END};
    struct json_stream js;
    json_stream_init(&js, doc, strlen(doc));
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        enum json_tok t = json_stream_next(&js);
        assert_int_equal(t, want[i]);
        if (i == 1)
            assert_true(js.str_len == 1 && js.str[0] == 'a');
        if (i == 3)
            assert_int_equal(js.integer, 1);
        if (i == 4)
            assert_true(js.real == -25.0);
        if (i == 5)
            assert_true(js.str_len == 1 && js.str[0] == 'x');
        if (i == 17)
            assert_int_equal(js.str_len, 0);
    }
    json_stream_free(&js);
}

static void test_escapes_and_unicode(void **state)
{
    (void)state;
    struct json_stream js;
    const char *doc = "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00z\"";
    json_stream_init(&js, doc, strlen(doc));
    assert_int_equal(json_stream_next(&js), JSON_TOK_STRING);
    const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    assert_int_equal(js.str_len, sizeof want - 1);
    assert_memory_equal(js.str, want, sizeof want - 1);
    json_stream_free(&js);
    agrees(doc, true);
    agrees("\"\xc3\xa9 raw UTF-8 \xf0\x9f\x98\x80\"", true);
    agrees("\"\x7f\"", true);
    agrees("\"\\u0000\"", false);        /* jansson refuses NUL */
    agrees("{\"a\\u0000b\": 1}", false); /* in a key too */
    agrees("\"\\ud800\"", false);        /* a lone high surrogate */
    agrees("\"\\ud800\\u0041\"", false); /* not followed by a low one */
    agrees("\"\\udc00\"", false);        /* a lone low surrogate */
    agrees("\"\\u12\"", false);          /* too few hex digits */
    agrees("\"\\u12G4\"", false);
    agrees("\"\\x41\"", false); /* no such escape */
    agrees("\"\\'\"", false);
    agrees("\"tab\there\"", false); /* a raw control character */
    agrees("\"new\nline\"", false);
    agrees("\"never closed", false);
    agrees("\"ends in a backslash\\", false);
    agrees("\"a\\\\\"", true);
}

static void test_numbers(void **state)
{
    (void)state;
    static const char *const good[] = {"0",
                                       "-0",
                                       "1",
                                       "-1",
                                       "10",
                                       "0.5",
                                       "-0.5",
                                       "1e5",
                                       "1E+5",
                                       "1e-5",
                                       "2.5E-3",
                                       "1e-400",
                                       "123456789012345678901234567890.5",
                                       "9223372036854775807",
                                       "-9223372036854775808"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        agrees(good[i], true);
    static const char *const bad[] = {"01",
                                      "-01",
                                      "1.",
                                      ".5",
                                      "-",
                                      "+1",
                                      "1e",
                                      "1e+",
                                      "0x1",
                                      "1.e5",
                                      "--1",
                                      "1e400",
                                      "-1e400",
                                      "9223372036854775808",
                                      "-9223372036854775809",
                                      "NaN",
                                      "Infinity",
                                      "1 2"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        agrees(bad[i], false);
    /* an integer stays an integer, anything with a point or exponent is a real */
    json_t *v;
    assert_int_equal(stream_build("[3, 3.0, 3e0]", 13, &v), 0);
    assert_true(json_is_integer(json_array_get(v, 0)));
    assert_true(json_is_real(json_array_get(v, 1)) && json_is_real(json_array_get(v, 2)));
    json_decref(v);
}

static void test_literals_and_structure(void **state)
{
    (void)state;
    static const char *const good[] = {"true",
                                       "false",
                                       "null",
                                       "{}",
                                       "[]",
                                       " \t\r\n{ } ",
                                       "[[], {}, [[]]]",
                                       "{\"a\": {\"b\": [1, {\"c\": null}]}}",
                                       "[1,2,3]",
                                       "{\"\": 1}",
                                       "\"\""};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        agrees(good[i], true);
    static const char *const bad[] = {"",         "   ",        "True",     "nul",
                                      "truex",    "true1",      "[1,]",     "[,1]",
                                      "{,}",      "{\"a\"}",    "{\"a\":}", "{\"a\" 1}",
                                      "{1: 2}",   "{\"a\":1,}", "[1 2]",    "{\"a\":1 \"b\":2}",
                                      "[",        "{",          "]",        "}",
                                      "[}",       "{]",         "'a'",      "\xef\xbb\xbf{}",
                                      "{} x",     "{}}",        "[] []",    "{}\"",
                                      "/* */ {}", "[1]\x01"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        agrees(bad[i], false);
    agrees_len("[1,\0]", 5, false); /* a NUL byte */
    agrees_len("{}\0", 3, false);
    /* jansson reads "5\0" as 5 (a NUL right after a number or word slips through its
     * look-ahead); this reader refuses every NUL byte, as RFC 8259 does. */
    json_t *v = NULL;
    assert_int_equal(stream_build("5\0", 2, &v), -1);
    assert_int_equal(stream_build("[true\0]", 7, &v), -1);
    assert_null(v);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    agrees("{\"a\": 1, \"a\": 2}", false);
    agrees("{\"a\": 1, \"\\u0061\": 2}", false); /* the same key once decoded */
    agrees("{\"x\": [{\"a\": 1, \"b\": {\"c\": 1, \"c\": 1}}]}", false);
    agrees("{\"a\": {\"a\": 1}, \"b\": {\"a\": 1}}", true); /* per object */
    agrees("[{\"a\": 1}, {\"a\": 1}]", true);
    struct json_stream js;
    const char *doc = "{\"k\": 1, \"k\": 2}";
    json_stream_init(&js, doc, strlen(doc));
    json_t *v;
    assert_int_equal(json_stream_build(&js, json_stream_next(&js), &v), -1);
    assert_null(v);
    assert_non_null(strstr(js.error, "duplicate object key"));
    assert_int_equal(json_stream_next(&js), JSON_TOK_ERROR); /* and it stays failed */
    json_stream_free(&js);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    /* jansson allows a value at depth 2048 (the top level is 1), and no deeper. */
    for (int depth = JSON_STREAM_MAX_DEPTH - 1; depth <= JSON_STREAM_MAX_DEPTH + 1; depth++) {
        struct strbuf sb;
        strbuf_init(&sb);
        for (int i = 0; i < depth; i++)
            strbuf_puts(&sb, "[");
        for (int i = 0; i < depth; i++)
            strbuf_puts(&sb, "]");
        agrees(sb.data, depth <= JSON_STREAM_MAX_DEPTH);
        strbuf_free(&sb);
        strbuf_init(&sb);
        for (int i = 0; i < depth - 1; i++)
            strbuf_puts(&sb, "[");
        strbuf_puts(&sb, "1"); /* a scalar counts as a level too */
        for (int i = 0; i < depth - 1; i++)
            strbuf_puts(&sb, "]");
        agrees(sb.data, depth <= JSON_STREAM_MAX_DEPTH);
        strbuf_free(&sb);
    }
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    const char *doc = "{\"records\": [{\"pupil\": \"B801200005001\", \"score\": -1.5e2, \"x\": "
                      "[true, false, null], \"s\": \"\\u00e9\\n\"}, {}]}";
    size_t n = strlen(doc);
    for (size_t cut = 0; cut < n; cut++)
        agrees_len(doc, cut, false);
    agrees_len(doc, n, true);
}

static void test_long_strings_and_numbers(void **state)
{
    (void)state;
    /* past the scratch buffer's first size and the number buffer on the stack */
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[\"");
    for (int i = 0; i < 3000; i++)
        strbuf_puts(&sb, i % 7 ? "ab" : "\\n\\u00e9");
    strbuf_puts(&sb, "\", 1.");
    for (int i = 0; i < 500; i++)
        strbuf_puts(&sb, "5");
    strbuf_puts(&sb, "]");
    agrees(sb.data, true);
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_escapes_and_unicode),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_literals_and_structure),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_long_strings_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
