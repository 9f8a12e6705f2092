/* Tokens, roles and the scope rules of SPEC §1/§8; cursors; problem documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cursor.h"
#include "log.h"
#include "problem.h"
#include "util.h"

static void test_token_format_and_hash(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    assert_int_equal(auth_token_generate(a), 0);
    assert_int_equal(auth_token_generate(b), 0);
    assert_int_equal(strlen(a), 68);
    assert_memory_equal(a, "mat_", 4);
    assert_string_not_equal(a, b);
    unsigned char ha[32], ha2[32], hb[32];
    assert_int_equal(auth_token_hash(a, ha), 0);
    assert_int_equal(auth_token_hash(a, ha2), 0);
    assert_int_equal(auth_token_hash(b, hb), 0);
    assert_memory_equal(ha, ha2, 32);
    assert_memory_not_equal(ha, hb, 32);
    assert_int_equal(auth_token_hash("mat_short", ha), -1);
    char bad[AUTH_TOKEN_LEN + 1];
    memcpy(bad, a, sizeof bad);
    bad[10] = 'Z';
    assert_int_equal(auth_token_hash(bad, ha), -1);
}

static void test_bearer_parsing(void **state)
{
    (void)state;
    assert_string_equal(auth_bearer("Bearer abc"), "abc");
    assert_string_equal(auth_bearer("bearer   abc"), "abc");
    assert_null(auth_bearer("Basic abc"));
    assert_null(auth_bearer("Bearer "));
    assert_null(auth_bearer(NULL));
}

static struct principal make(enum role role, const char *urns)
{
    struct principal p = {0};
    p.role = role;
    char err[64];
    assert_int_equal(principal_set_urns(&p, urns, err, sizeof err), 0);
    return p;
}

static void test_scope_rules(void **state)
{
    (void)state;
    struct principal admin = make(ROLE_ADMIN, NULL), ceo = make(ROLE_CEO, NULL);
    struct principal head = make(ROLE_EXECUTIVE_HEAD, "100001,100002");
    struct principal school = make(ROLE_SCHOOL, "100001");
    assert_true(auth_can_read_school(&admin, "100009"));
    assert_true(auth_can_read_school(&ceo, "100009"));
    assert_true(auth_can_read_school(&head, "100002"));
    assert_false(auth_can_read_school(&head, "100003"));
    assert_true(auth_can_read_school(&school, "100001"));
    assert_false(auth_can_read_school(&school, "100002"));
    assert_true(auth_can_write_school(&admin, "100002"));
    assert_false(auth_can_write_school(&ceo, "100002"));
    assert_false(auth_can_write_school(&head, "100001"));
    assert_true(auth_can_write_school(&school, "100001"));
    assert_false(auth_can_write_school(&school, "100002"));
    assert_true(auth_can_read_trust_aggregates(&head));
    assert_false(auth_can_read_trust_aggregates(&school));
    principal_free(&head);
    principal_free(&school);
}

static void test_urn_list_errors(void **state)
{
    (void)state;
    struct principal p = {0};
    char err[64];
    assert_int_equal(principal_set_urns(&p, "100001,12345", err, sizeof err), -1);
    assert_non_null(strstr(err, "12345"));
    assert_int_equal(principal_set_urns(&p, "100001,100001", err, sizeof err), 0);
    assert_int_equal(p.nurns, 1);
    principal_free(&p);
    assert_true(urn_valid("012345"));
    assert_false(urn_valid("12345a"));
    assert_false(urn_valid("1234567"));
}

static void test_cursor_round_trip(void **state)
{
    (void)state;
    char out[80];
    /* Keys are ids, URNs, offsets, and the trust's expert ids (letters, '_' and '-'). */
    const char *keys[] = {"0",
                          "100001",
                          "9223372036854775807",
                          "012345",
                          "sle-J_Patel2",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < 6; i++) {
        char *c = cursor_encode(keys[i]);
        assert_int_equal(cursor_decode(c, out, sizeof out), 0);
        assert_string_equal(out, keys[i]);
        free(c);
    }
    assert_int_equal(cursor_decode("!!!!", out, sizeof out), -1);
    assert_int_equal(cursor_decode("MTIz", out, sizeof out), -1); /* "123": not ours */
    /* Forged keys: spaces and key=value lookalikes, newlines, quotes, an empty key, a second
     * spelling of a valid cursor (non-zero unused bits), over-long ones. */
    char *forged = cursor_encode("1 msg=request status=200 forged=yes");
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    forged = cursor_encode("a b");
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    forged = cursor_encode("");
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    forged =
        cursor_encode("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 65 */
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    forged = cursor_encode("1\nx");
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    forged = cursor_encode("a\"b");
    assert_int_equal(cursor_decode(forged, out, sizeof out), -1);
    free(forged);
    char *ok = cursor_encode("7"); /* "c1:7" = 4 bytes: 6 chars, the last with 4 unused bits */
    size_t n = strlen(ok);
    ok[n - 1] = ok[n - 1] == 'w' ? 'x' : (char)(ok[n - 1] + 1);
    assert_int_equal(cursor_decode(ok, out, sizeof out), -1);
    free(ok);
}

static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    log_vformat(buf, cap, f, ap);
    va_end(ap);
}

/* Log values are escaped in one place: a value can neither end the line nor start a
 * key=value field of its own, quoted or not. */
static void test_log_values_escaped(void **state)
{
    (void)state;
    char b[256];
    fmt(b, sizeof b, "a=%s b=%d c=%lld d=%.2f e=%zu", "plain-1.2:x", -3, 1234567890123LL, 1.5,
        (size_t)7);
    assert_string_equal(b, "a=plain-1.2:x b=-3 c=1234567890123 d=1.50 e=7");
    fmt(b, sizeof b, "cursor=%s", "1 msg=request status=200 forged=yes");
    assert_string_equal(b, "cursor=\"1 msg=request status=200 forged=yes\"");
    fmt(b, sizeof b, "error=\"%s\" next=%s", "bad \"x\"\nDETAIL: y=1", "");
    assert_string_equal(b, "error=\"bad \\\"x\\\"\\nDETAIL: y=1\" next=\"\"");
    fmt(b, sizeof b, "v=%.3s w=%s", "abcdef", "tab\there\x01");
    assert_string_equal(b, "v=abc w=\"tab\\x09here\\x01\"");
    assert_null(strchr(b, '\n'));
    fmt(b, 12, "k=%s", "0123456789abcdef"); /* truncated, still terminated */
    assert_int_equal(strlen(b), 11);
}

static void test_problem_document(void **state)
{
    (void)state;
    struct mat_errors e;
    mat_errors_init(&e);
    mat_errors_add(&e, "/urn", "must be six digits");
    char *doc = problem_json(422, "bad", &e, "/v1/schools", "abc");
    json_t *o = json_loads(doc, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 422);
    assert_string_equal(json_string_value(json_object_get(o, "title")), "Unprocessable Content");
    json_t *err0 = json_array_get(json_object_get(o, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(err0, "path")), "/urn");
    json_decref(o);
    free(doc);
    for (int i = 0; i < 150; i++)
        mat_errors_add(&e, "/x", "e%d", i);
    assert_int_equal(e.count, MAT_ERRORS_MAX);
    assert_int_equal(e.dropped, 51);
    mat_errors_free(&e);
    char *p = json_pointer_join("/a", "b/c~d");
    assert_string_equal(p, "/a/b~1c~0d");
    free(p);
}

static void test_util(void **state)
{
    (void)state;
    assert_true(parse_date("2024-02-29", NULL, NULL, NULL));
    assert_false(parse_date("2025-02-29", NULL, NULL, NULL));
    assert_false(parse_date("2025-13-01", NULL, NULL, NULL));
    assert_false(parse_date("2025-1-01", NULL, NULL, NULL));
    long v;
    assert_true(parse_long("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_false(parse_long("42x", 0, 100, &v));
    assert_false(parse_long("101", 0, 100, &v));
    assert_true(ct_equal("abc", "abc", 3));
    assert_false(ct_equal("abc", "abd", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_format_and_hash), cmocka_unit_test(test_bearer_parsing),
        cmocka_unit_test(test_scope_rules),           cmocka_unit_test(test_urn_list_errors),
        cmocka_unit_test(test_cursor_round_trip),     cmocka_unit_test(test_log_values_escaped),
        cmocka_unit_test(test_problem_document),      cmocka_unit_test(test_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
