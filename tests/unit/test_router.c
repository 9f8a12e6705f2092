/* Router: captures, 404 vs 405 with Allow, HEAD as GET, percent-decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "router.h"

static const struct route table[] = {
    {M_GET, "/v1/schools", "list"},
    {M_POST, "/v1/schools", "create"},
    {M_GET, "/v1/schools/{urn}", "get"},
    {M_PATCH, "/v1/schools/{urn}", "patch"},
    {M_PUT, "/v1/schools/{urn}/sef/{year}", "sef_put"},
    {M_GET, "/v1/schools/{urn}/sef/{year}", "sef_get"},
};
#define N (sizeof table / sizeof table[0])

static void test_found_with_params(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(table, N, M_PUT, "/v1/schools/100001/sef/2025-26", &m),
                     ROUTE_FOUND);
    assert_string_equal(m.route->data, "sef_put");
    assert_string_equal(route_param(&m, "urn"), "100001");
    assert_string_equal(route_param(&m, "year"), "2025-26");
    assert_null(route_param(&m, "term"));
    route_match_free(&m);
}

static void test_not_found(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(table, N, M_GET, "/v1/school", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/1/sef", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/1/sef/2025-26/x", &m),
                     ROUTE_NOT_FOUND);
}

static void test_method_not_allowed_lists_allow(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(table, N, M_DELETE, "/v1/schools", &m), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(router_match(table, N, M_POST, "/v1/schools/100001", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PATCH");
    /* A method not served at all (0): the path's Allow too, and 404 off the table. */
    assert_int_equal(router_match(table, N, 0, "/v1/schools/100001/sef/2025-26", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PUT");
    assert_int_equal(router_match(table, N, 0, "/v1/nowhere", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, http_method_parse("FOO"), "/v1/schools", &m),
                     ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
}

static void test_head_matches_get(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(table, N, M_HEAD, "/v1/schools/100001", &m), ROUTE_FOUND);
    assert_string_equal(m.route->data, "get");
    route_match_free(&m);
}

static void test_percent_decoding(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/10%30001", &m), ROUTE_FOUND);
    assert_string_equal(route_param(&m, "urn"), "100001");
    route_match_free(&m);
    /* Encoded slash or NUL, or a broken escape, never matches. */
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/a%2Fb", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/a%00", &m), ROUTE_NOT_FOUND);
    assert_int_equal(router_match(table, N, M_GET, "/v1/schools/a%4", &m), ROUTE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_with_params),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed_lists_allow),
        cmocka_unit_test(test_head_matches_get),
        cmocka_unit_test(test_percent_decoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
