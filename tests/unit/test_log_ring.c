/* The log ring (log_ring.c): whole lines in, whole lines out, in order, across the wrap; a
 * line that does not fit is refused whole; one writer and one reader thread at full speed
 * lose or tear nothing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log_ring.h"

/* Everything the reader can see, concatenated. */
static size_t drain(struct log_ring *r, char *out, size_t cap)
{
    struct log_ring_spans s;
    log_ring_peek(r, &s);
    assert_true(s.total <= cap);
    memcpy(out, s.p[0], s.len[0]);
    memcpy(out + s.len[0], s.p[1], s.len[1]);
    log_ring_release(r, s.total);
    return s.total;
}

static void test_lines_in_order_across_the_wrap(void **state)
{
    (void)state;
    struct log_ring r;
    assert_true(log_ring_init(&r, 64));
    char out[64];
    /* 7 rounds of two 20-byte lines move the start round the 64 bytes more than once */
    for (int round = 0; round < 7; round++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "line %02d a ..........\n", round);
        snprintf(b, sizeof b, "line %02d b ..........\n", round);
        assert_true(log_ring_push(&r, a, strlen(a)));
        assert_true(log_ring_push(&r, b, strlen(b)));
        size_t n = drain(&r, out, sizeof out);
        assert_int_equal(n, strlen(a) + strlen(b));
        assert_memory_equal(out, a, strlen(a));
        assert_memory_equal(out + strlen(a), b, strlen(b));
    }
    struct log_ring_spans s;
    log_ring_peek(&r, &s);
    assert_int_equal(s.total, 0);
    log_ring_free(&r);
}

static void test_a_line_that_does_not_fit_is_refused_whole(void **state)
{
    (void)state;
    struct log_ring r;
    assert_true(log_ring_init(&r, 32));
    assert_true(log_ring_push(&r, "0123456789012345678\n", 20));
    assert_false(log_ring_push(&r, "abcdefghijklm\n", 14)); /* 12 bytes free */
    assert_true(log_ring_push(&r, "abcdefghij\n", 11));
    assert_false(log_ring_push(&r, "x\n", 2)); /* 1 byte free */
    assert_false(log_ring_push(&r, "", 0));
    char out[32];
    assert_int_equal(drain(&r, out, sizeof out), 31);
    assert_memory_equal(out, "0123456789012345678\nabcdefghij\n", 31);
    /* empty again: the whole capacity is free, and a line as long as it fits */
    char full[32];
    memset(full, 'z', sizeof full);
    full[31] = '\n';
    assert_true(log_ring_push(&r, full, 32));
    assert_false(log_ring_push(&r, "y\n", 2));
    assert_int_equal(drain(&r, out, sizeof out), 32);
    assert_memory_equal(out, full, 32);
    log_ring_free(&r);
}

#define STRESS_LINES 200000

static void *stress_writer(void *arg)
{
    struct log_ring *r = arg;
    char line[64];
    for (unsigned i = 0; i < STRESS_LINES;) {
        int n = snprintf(line, sizeof line, "seq=%u pad=%.*s\n", i, (int)(i % 23),
                         "abcdefghijklmnopqrstuvw");
        if (log_ring_push(r, line, (size_t)n))
            i++; /* a refused line is offered again: the reader must see every one */
    }
    return NULL;
}

static void test_one_writer_one_reader_lose_and_tear_nothing(void **state)
{
    (void)state;
    struct log_ring r;
    assert_true(log_ring_init(&r, 1024));
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, stress_writer, &r), 0);
    char buf[1024], line[128];
    size_t have = 0;
    unsigned next = 0;
    while (next < STRESS_LINES) {
        size_t n = drain(&r, buf, sizeof buf);
        for (size_t i = 0; i < n; i++) {
            line[have++] = buf[i];
            assert_true(have < sizeof line);
            if (buf[i] != '\n')
                continue;
            line[have] = '\0';
            char expect[64];
            snprintf(expect, sizeof expect, "seq=%u pad=%.*s\n", next, (int)(next % 23),
                     "abcdefghijklmnopqrstuvw");
            assert_string_equal(line, expect);
            next++;
            have = 0;
        }
    }
    assert_int_equal(have, 0);
    pthread_join(w, NULL);
    log_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_in_order_across_the_wrap),
        cmocka_unit_test(test_a_line_that_does_not_fit_is_refused_whole),
        cmocka_unit_test(test_one_writer_one_reader_lose_and_tear_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
