/* util.c's text helpers: the JSON string escaper and the UTF-8-safe bounded copy.
 * Oracle: jansson's parser (which refuses invalid UTF-8 and decodes every escape). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* s escaped, then parsed back by jansson: NULL when jansson refuses the output. */
static char *round_trip(const char *s, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[");
    strbuf_json_string(&sb, s);
    strbuf_puts(&sb, "]");
    json_error_t err;
    json_t *a = json_loadb(sb.data, sb.len, 0, &err);
    strbuf_free(&sb);
    if (!a)
        return NULL;
    const json_t *v = json_array_get(a, 0);
    *len = json_string_length(v);
    char *out = malloc(*len + 1);
    memcpy(out, json_string_value(v), *len + 1);
    json_decref(a);
    return out;
}

static void test_escaper_round_trips_every_control_and_ascii_character(void **state)
{
    (void)state;
    char all[128];
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    all[127] = '\0';
    const char *cases[] = {all, "", "\"\\/", "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80",
                           "\xef\xbf\xbf\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = 0;
        char *back = round_trip(cases[i], &len);
        assert_non_null(back);
        assert_int_equal(len, strlen(cases[i]));
        assert_string_equal(back, cases[i]);
        free(back);
    }
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_json_string(&sb, NULL);
    assert_string_equal(sb.data, "null");
    strbuf_free(&sb);
}

static void test_escaper_never_emits_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\x80z", "a\xef\xbf\xbdz"},                             /* lone continuation */
        {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* never in UTF-8 */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong "/" */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong, 3 bytes */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"ok\xe2\x98", "ok\xef\xbf\xbd\xef\xbf\xbd"}, /* cut at the end */
        {"\xe2\x98\"", "\xef\xbf\xbd\xef\xbf\xbd\""}, /* cut before a quote */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = 0;
        char *back = round_trip(cases[i].in, &len);
        assert_non_null(back);
        assert_string_equal(back, cases[i].want);
        free(back);
    }
}

static void test_escaper_long_string(void **state)
{
    (void)state;
    size_t n = 300000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = "a\"\\\n\x01\xc3\xa9"[i % 7];
    s[n] = '\0';
    size_t len = 0;
    char *back = round_trip(s, &len);
    assert_non_null(back);
    assert_int_equal(len, n);
    assert_memory_equal(back, s, n);
    free(back);
    free(s);
}

static void test_utf8_copy_cuts_between_characters(void **state)
{
    (void)state;
    const char *src = "a\xe2\x98\x83"
                      "b\xf0\x9f\x98\x80"
                      "c"; /* a, snowman, b, emoji, c */
    /* the longest whole-character prefix that fits size - 1 bytes */
    static const size_t want[] = {0, 0, 1, 1, 1, 4, 5, 5, 5, 5, 9, 10, 10};
    for (size_t size = 1; size < sizeof want / sizeof *want; size++) {
        char dst[16];
        memset(dst, 'x', sizeof dst);
        size_t n = utf8_copy(dst, size, src);
        assert_int_equal(n, want[size]);
        assert_int_equal(strlen(dst), n);
        assert_memory_equal(dst, src, n);
    }
    char big[801];
    char *snow = malloc(900 + 1);
    for (int i = 0; i < 300; i++)
        memcpy(snow + 3 * i, "\xe2\x98\x83", 3);
    snow[900] = '\0';
    assert_int_equal(utf8_copy(big, sizeof big, snow), 798);
    free(snow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaper_round_trips_every_control_and_ascii_character),
        cmocka_unit_test(test_escaper_never_emits_invalid_utf8),
        cmocka_unit_test(test_escaper_long_string),
        cmocka_unit_test(test_utf8_copy_cuts_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
