/* WAL positions as PostgreSQL's pg_lsn writes them, the replica_dsn list, and a replica's
 * lag against the primary's sampled positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lsn.h"

static void test_parse_and_format(void **state)
{
    (void)state;
    uint64_t v = 1;
    /* pg_lsn's own spellings: SELECT '16/B374D848'::pg_lsn - '0/0' = 97500059720 */
    assert_true(lsn_parse("16/B374D848", &v));
    assert_true(v == 97500059720ull);
    assert_true(lsn_parse("0/0", &v));
    assert_true(v == 0);
    assert_true(lsn_parse("FFFFFFFF/FFFFFFFF", &v));
    assert_true(v == UINT64_MAX);
    assert_true(lsn_parse("0/16b3a80", &v));
    assert_true(v == 0x16B3A80);
    char text[LSN_TEXT_MAX];
    lsn_format(97500059720ull, text);
    assert_string_equal(text, "16/B374D848");
    lsn_format(0, text);
    assert_string_equal(text, "0/0");
    lsn_format(UINT64_MAX, text);
    assert_string_equal(text, "FFFFFFFF/FFFFFFFF");
    const char *bad[] = {"",      "/",     "0/",   "/0",    "16",          "16/B374D848 ",
                         " 16/1", "+1/0",  "-1/0", "1/2/3", "100000000/0", "0/100000000",
                         "g/0",   "0x1/0", NULL};
    for (int i = 0; bad[i]; i++) {
        v = 7;
        assert_false(lsn_parse(bad[i], &v));
        assert_true(v == 7);
    }
    assert_false(lsn_parse(NULL, &v));
}

static void test_split_list(void **state)
{
    (void)state;
    char *out[4];
    char err[128];
    int n = lsn_split_dsn_list(" host=a port=5433 dbname=matd |host=b,c dbname=matd|| ", out, 4,
                               err, sizeof err);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "host=a port=5433 dbname=matd");
    assert_string_equal(out[1], "host=b,c dbname=matd");
    free(out[0]), free(out[1]);
    n = lsn_split_dsn_list("host=a password='x|y' | postgresql://r2:5432/matd", out, 4, err,
                           sizeof err);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "host=a password='x|y'");
    assert_string_equal(out[1], "postgresql://r2:5432/matd");
    free(out[0]), free(out[1]);
    n = lsn_split_dsn_list("password='it\\'s|fine'", out, 4, err, sizeof err);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "password='it\\'s|fine'");
    free(out[0]);
    assert_int_equal(lsn_split_dsn_list("", out, 4, err, sizeof err), 0);
    assert_int_equal(lsn_split_dsn_list(" | ", out, 4, err, sizeof err), 0);
    assert_int_equal(lsn_split_dsn_list("a|b|c|d|e", out, 4, err, sizeof err), -1);
    assert_string_equal(err, "replica_dsn: more than 4 replicas");
    assert_int_equal(lsn_split_dsn_list("a| password='x", out, 4, err, sizeof err), -1);
    assert_string_equal(err, "replica_dsn: a quote is not closed in entry 2");
}

static void test_lag(void **state)
{
    (void)state;
    struct lsn_ring ring;
    lsn_ring_init(&ring);
    assert_int_equal(lsn_ring_lag_ms(&ring, 1000, 0), 0); /* nothing known: no lag */
    /* The primary writes for a while, then goes idle at position 500. */
    for (int t = 0; t <= 10; t++)
        lsn_ring_add(&ring, 1000 + t * 100, (uint64_t)(t < 5 ? t * 100 : 500));
    assert_true(lsn_ring_latest(&ring) == 500);
    /* Caught up: no lag, however long the primary stays idle. */
    assert_int_equal(lsn_ring_lag_ms(&ring, 2000, 500), 0);
    assert_int_equal(lsn_ring_lag_ms(&ring, 90000, 500), 0);
    /* Replayed 250: the first sample past it (300) was taken at 1300. */
    assert_int_equal(lsn_ring_lag_ms(&ring, 2000, 250), 700);
    assert_int_equal(lsn_ring_lag_ms(&ring, 2000, 300), 600); /* next unreplayed: 400 at 1400 */
    assert_int_equal(lsn_ring_lag_ms(&ring, 2000, 0), 900);   /* 100 at 1100 */
    /* A position behind the newest restarts the ring (a failover to another primary). */
    lsn_ring_add(&ring, 3000, 40);
    assert_true(lsn_ring_latest(&ring) == 40);
    assert_int_equal(lsn_ring_lag_ms(&ring, 3500, 0), 500);
    assert_int_equal(lsn_ring_lag_ms(&ring, 3500, 40), 0);
}

static void test_ring_wraps(void **state)
{
    (void)state;
    struct lsn_ring ring;
    lsn_ring_init(&ring);
    for (int i = 0; i < 3 * LSN_RING; i++)
        lsn_ring_add(&ring, i * 10, (uint64_t)i + 1);
    assert_true(lsn_ring_latest(&ring) == 3 * LSN_RING);
    long long now = 3 * LSN_RING * 10;
    /* Nothing replayed: at least the span of the ring (the oldest kept sample). */
    assert_int_equal(lsn_ring_lag_ms(&ring, now, 0), (long long)LSN_RING * 10);
    assert_int_equal(lsn_ring_lag_ms(&ring, now, 3 * LSN_RING - 1), 10);
    assert_int_equal(lsn_ring_lag_ms(&ring, now, 3 * LSN_RING), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_ring_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
