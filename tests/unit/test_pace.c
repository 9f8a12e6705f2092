/* The pace background work keeps while the foreground is busy (pace.c): simulated with a
 * clock, byte counts and a foreground count. Busy: the work goes at the configured share of
 * its flat-out rate; quiet: flat out; the rate is learnt from runs that never paused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pace.h"

#define MB (1024.0 * 1024.0)

/* Sends `units` chunks of `chunk` bytes that take `unit_us` each to send (the work itself);
 * the foreground moves `fg_step` events per unit. Returns the wall time taken (us). */
static uint64_t simulate(struct pace *p, double share, double full_bps, int units, size_t chunk,
                         uint64_t unit_us, unsigned long long fg_step)
{
    uint64_t start = 1000000, now = start;
    unsigned long long fg = 5;
    pace_init(p, share, full_bps, 10000000, 0);
    pace_begin(p, now, fg);
    for (int i = 0; i < units; i++) {
        now += unit_us;
        fg += fg_step;
        now += pace_pause_us(p, now, chunk, fg);
    }
    return now - start;
}

static void test_busy_work_keeps_to_its_share_of_the_rate(void **state)
{
    (void)state;
    struct pace p;
    double shares[] = {0.1, 0.25, 0.5, 0.9};
    for (int i = 0; i < 4; i++) {
        /* 100 chunks of 256 KB = 25 MB at share x 10 MB/s; sending itself is quick */
        uint64_t wall = simulate(&p, shares[i], 10 * MB, 100, 256 * 1024, 2000, 40);
        double rate = 25 * MB / ((double)wall / 1e6);
        double want = shares[i] * 10 * MB;
        assert_true(rate > want * 0.97 && rate < want * 1.03);
        assert_true(p.pauses > 0);
    }
}

static void test_work_slower_than_its_share_never_waits(void **state)
{
    (void)state;
    struct pace p;
    /* each 256 KB chunk takes 200 ms to send: 1.25 MB/s, under 25 % of 10 MB/s */
    simulate(&p, 0.25, 10 * MB, 20, 256 * 1024, 200000, 10);
    assert_true(p.pauses == 0);
}

static void test_quiet_foreground_never_waits(void **state)
{
    (void)state;
    struct pace p;
    assert_true(simulate(&p, 0.25, 10 * MB, 100, 256 * 1024, 2000, 0) == 200000);
    assert_true(p.pauses == 0 && p.paused_us == 0);
}

static void test_a_lone_request_now_and_then_is_not_busy(void **state)
{
    (void)state;
    struct pace p;
    /* one request (a health check) every 200 ms while 20 ms chunks go: 5 a second */
    pace_init(&p, 0.1, 1 * MB, 250000, 0);
    pace_begin(&p, 0, 0);
    uint64_t now = 0;
    unsigned long long fg = 0;
    for (int i = 1; i <= 50; i++) {
        now += 20000;
        if (i % 10 == 0)
            fg++;
        now += pace_pause_us(&p, now, 256 * 1024, fg);
    }
    assert_true(p.pauses == 0);
    /* twenty a second is a reader */
    for (int i = 1; i <= 50; i++) {
        now += 20000;
        if (i % 2 == 0)
            fg++;
        now += pace_pause_us(&p, now, 256 * 1024, fg);
    }
    assert_true(p.pauses > 0);
}

static void test_share_one_or_no_rate_never_waits(void **state)
{
    (void)state;
    struct pace p;
    assert_true(simulate(&p, 1.0, 10 * MB, 50, 256 * 1024, 2000, 10) == 100000);
    assert_true(simulate(&p, 0, 10 * MB, 50, 256 * 1024, 2000, 10) == 100000);
    assert_true(simulate(&p, 0.3, 0, 50, 256 * 1024, 2000, 10) == 100000);
}

static void test_pause_is_bounded(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 0.01, 1 * MB, 250000, 0);
    pace_begin(&p, 0, 0);
    /* 10 MB at 1 % of 1 MB/s is 1,000 s owed: never more than the bound at once */
    assert_true(pace_pause_us(&p, 1000, (size_t)(10 * MB), 5) == 250000);
}

static void test_pauses_of_one_piece_of_work_are_bounded_in_all(void **state)
{
    (void)state;
    struct pace p;
    /* 1% of 1 MB/s with 250 ms pauses, at most 1.1 s in all: four whole pauses, a part one */
    pace_init(&p, 0.01, 1 * MB, 250000, 1100000);
    pace_begin(&p, 0, 0);
    uint64_t now = 0;
    unsigned long long fg = 0;
    for (int i = 0; i < 20; i++) {
        now += 1000;
        fg += 10;
        now += pace_pause_us(&p, now, 256 * 1024, fg);
    }
    assert_true(p.paused_us == 1100000);
    assert_true(p.pauses == 5);
}

static void test_quiet_stretch_owes_nothing_later(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 0.5, 1 * MB, 10000000, 0);
    pace_begin(&p, 0, 0);
    assert_true(pace_pause_us(&p, 5000000, (size_t)(5 * MB), 0) == 0); /* quiet: flat out */
    /* the foreground wakes: 0.5 MB at 0.5 MB/s is owed from the last look, not from t=0 */
    assert_true(pace_pause_us(&p, 5010000, (size_t)(0.5 * MB), 3) == 990000);
    /* small debts are carried, not paused for */
    assert_true(pace_pause_us(&p, 6000000, 100, 100) == 0);
    assert_true(p.next_us > 6000000);
}

static void test_rate_learnt_from_runs_without_pauses(void **state)
{
    (void)state;
    struct pace p;
    pace_init(&p, 0.3, 1 * MB, 250000, 0);
    pace_begin(&p, 0, 0);
    assert_true(pace_pause_us(&p, 500000, (size_t)(2 * MB), 0) == 0);
    double got = pace_measured_bps(&p, 1000000, (uint64_t)(2 * MB)); /* 2 MB in 1 s */
    assert_true(got > 2 * MB - 1 && got < 2 * MB + 1);
    assert_true(pace_measured_bps(&p, 1000000, 1000) == 0); /* too small to time */
    assert_true(pace_pause_us(&p, 1100000, (size_t)(2 * MB), 70) > 0);
    assert_true(pace_measured_bps(&p, 3000000, (uint64_t)(4 * MB)) == 0); /* it paused */
    assert_true(pace_learn(0, 4 * MB) == 4 * MB);
    assert_true(pace_learn(4 * MB, 0) == 4 * MB);
    double mixed = pace_learn(4 * MB, 2 * MB);
    assert_true(mixed > 2 * MB && mixed < 4 * MB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_work_keeps_to_its_share_of_the_rate),
        cmocka_unit_test(test_work_slower_than_its_share_never_waits),
        cmocka_unit_test(test_quiet_foreground_never_waits),
        cmocka_unit_test(test_a_lone_request_now_and_then_is_not_busy),
        cmocka_unit_test(test_share_one_or_no_rate_never_waits),
        cmocka_unit_test(test_pause_is_bounded),
        cmocka_unit_test(test_pauses_of_one_piece_of_work_are_bounded_in_all),
        cmocka_unit_test(test_quiet_stretch_owes_nothing_later),
        cmocka_unit_test(test_rate_learnt_from_runs_without_pauses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
