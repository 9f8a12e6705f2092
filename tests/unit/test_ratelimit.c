/* lib/ratelimit.c: the per-token bucket, exact under concurrency, bounded in memory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000000ull
static const uint64_t T0 = 1000 * SEC;

static void test_burst_then_refill(void **state)
{
    (void)state;
    int retry = 0;
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_allow_at(101, 60, 5, T0, &retry));
    assert_false(ratelimit_allow_at(101, 60, 5, T0, &retry));
    assert_int_equal(retry, 1);
    assert_false(ratelimit_allow_at(101, 60, 5, T0 + SEC / 2, &retry));
    assert_true(ratelimit_allow_at(101, 60, 5, T0 + SEC, &retry)); /* one a second */
    assert_false(ratelimit_allow_at(101, 60, 5, T0 + SEC, &retry));
    /* A long pause fills the bucket to its burst, no further. */
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_allow_at(101, 60, 5, T0 + 100 * SEC, &retry));
    assert_false(ratelimit_allow_at(101, 60, 5, T0 + 100 * SEC, &retry));
    /* Six a minute: the next one comes in ten seconds. */
    for (int i = 0; i < 2; i++)
        assert_true(ratelimit_allow_at(102, 6, 2, T0, &retry));
    assert_false(ratelimit_allow_at(102, 6, 2, T0, &retry));
    assert_int_equal(retry, 10);
}

static void test_off_and_independent(void **state)
{
    (void)state;
    int retry;
    for (int i = 0; i < 1000; i++)
        assert_true(ratelimit_allow_at(201, 0, 1, T0, &retry));
    assert_true(ratelimit_allow_at(202, 60, 1, T0, &retry));
    assert_false(ratelimit_allow_at(202, 60, 1, T0, &retry));
    assert_true(ratelimit_allow_at(203, 60, 1, T0, &retry)); /* its own bucket */
}

static void test_many_tokens_stay_bounded(void **state)
{
    (void)state;
    int retry;
    /* Far more tokens than slots: each still gets its burst, none is refused wrongly. */
    for (long long t = 1000; t < 101000; t++)
        assert_true(ratelimit_allow_at(t, 60, 1, T0 + (uint64_t)t, &retry));
    /* A token busy just now survives the churn of idle ones in its window. */
    assert_true(ratelimit_allow_at(7, 60, 1, T0 + 200 * SEC, &retry));
    for (long long t = 200000; t < 300000; t++)
        ratelimit_allow_at(t, 60, 1, T0, &retry); /* older than token 7's */
    assert_false(ratelimit_allow_at(7, 60, 1, T0 + 200 * SEC, &retry));
}

static void test_peek_takes_nothing(void **state)
{
    (void)state;
    int retry = 0;
    /* A bucket never charged has room, and asking takes none of it. */
    for (int i = 0; i < 100; i++)
        assert_true(ratelimit_peek_at(401, 60, 3, T0, &retry));
    /* Charged (as a budget of failures is): room until the burst is spent. */
    for (int i = 0; i < 3; i++) {
        assert_true(ratelimit_peek_at(401, 60, 3, T0, &retry));
        assert_true(ratelimit_allow_at(401, 60, 3, T0, &retry));
    }
    retry = 0;
    assert_false(ratelimit_peek_at(401, 60, 3, T0, &retry));
    assert_int_equal(retry, 1);
    /* Refused takes nothing either: a second later there is one again. */
    assert_false(ratelimit_allow_at(401, 60, 3, T0, &retry));
    assert_true(ratelimit_peek_at(401, 60, 3, T0 + SEC, &retry));
    assert_true(ratelimit_allow_at(401, 60, 3, T0 + SEC, &retry));
    assert_false(ratelimit_peek_at(401, 60, 3, T0 + SEC, &retry));
    /* Six a minute: peek says ten seconds, as allow would. */
    assert_true(ratelimit_allow_at(402, 6, 1, T0, &retry));
    assert_false(ratelimit_peek_at(402, 6, 1, T0, &retry));
    assert_int_equal(retry, 10);
    assert_false(ratelimit_peek_at(402, 6, 1, T0 + 3 * SEC, &retry));
    assert_int_equal(retry, 7);
    assert_true(ratelimit_peek_at(402, 0, 1, T0, &retry)); /* limit off */
}

struct racer {
    atomic_int *allowed;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    int retry;
    for (int i = 0; i < 20000; i++)
        if (ratelimit_allow_at(301, 1, 5000, T0, &retry))
            atomic_fetch_add(r->allowed, 1);
    return NULL;
}

static void test_exact_under_concurrency(void **state)
{
    (void)state;
    atomic_int allowed = 0;
    pthread_t th[4];
    struct racer r = {&allowed};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &r), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&allowed), 5000); /* 80,000 asked at one instant */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_off_and_independent),
        cmocka_unit_test(test_many_tokens_stay_bounded),
        cmocka_unit_test(test_exact_under_concurrency),
        cmocka_unit_test(test_peek_takes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
