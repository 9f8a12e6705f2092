/* lib/tally.c: counts per (address, token, status), bounded, in arrival order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tally.h"

static void test_counts_per_key(void **state)
{
    (void)state;
    struct tally *t = tally_new(8);
    assert_int_equal(tally_nrows(t), 0);
    for (long i = 1; i <= 1000; i++)
        assert_int_equal(tally_count(t, "203.0.113.7", 0, 401), i);
    assert_int_equal(tally_count(t, "203.0.113.7", 0, 429), 1);  /* another status */
    assert_int_equal(tally_count(t, "203.0.113.7", 42, 429), 1); /* another token */
    assert_int_equal(tally_count(t, "203.0.113.70", 0, 401), 1); /* a longer address */
    assert_int_equal(tally_count(t, "203.0.113.7", 0, 429), 2);
    assert_int_equal(tally_nrows(t), 4);
    const struct tally_row *r = tally_row(t, 0);
    assert_string_equal(r->addr, "203.0.113.7");
    assert_int_equal(r->status, 401);
    assert_int_equal(r->count, 1000);
    r = tally_row(t, 2);
    assert_int_equal(r->token_id, 42);
    assert_int_equal(r->count, 1);
    assert_string_equal(tally_row(t, 3)->addr, "203.0.113.70");
    tally_free(t);
}

static void test_bounded_with_an_overflow_row(void **state)
{
    (void)state;
    struct tally *t = tally_new(4);
    char addr[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
        long n = tally_count(t, addr, 0, 401);
        assert_int_equal(n, i < 4 ? 1 : 0); /* past four keys: the overflow row */
    }
    assert_int_equal(tally_count(t, "10.0.0.1", 0, 401), 2); /* a key with a row keeps it */
    assert_int_equal(tally_nrows(t), 5);
    const struct tally_row *over = tally_row(t, 4);
    assert_string_equal(over->addr, "*");
    assert_int_equal(over->status, 0);
    assert_int_equal(over->count, 996);
    long total = 0;
    for (size_t i = 0; i < tally_nrows(t); i++)
        total += tally_row(t, i)->count;
    assert_int_equal(total, 1001);
    tally_free(t);
}

static void test_reset_starts_a_period(void **state)
{
    (void)state;
    struct tally *t = tally_new(2);
    tally_count(t, "a", 0, 401);
    tally_count(t, "b", 0, 401);
    tally_count(t, "c", 0, 401);
    assert_int_equal(tally_nrows(t), 3);
    tally_reset(t);
    assert_int_equal(tally_nrows(t), 0);
    assert_int_equal(tally_count(t, "c", 0, 401), 1); /* a row again, from the start */
    assert_int_equal(tally_count(t, "a", 0, 401), 1);
    assert_int_equal(tally_nrows(t), 2);
    assert_string_equal(tally_row(t, 0)->addr, "c");
    tally_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_key),
        cmocka_unit_test(test_bounded_with_an_overflow_row),
        cmocka_unit_test(test_reset_starts_a_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
