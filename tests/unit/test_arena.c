/* The region allocator: alignment, zeroing, contents kept across growth, one-off large
 * blocks, reset and the string helpers. ASan (the suite's build) catches any overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_alignment_and_zeroing(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    for (size_t n = 1; n < 300; n += 7) {
        unsigned char *p = arena_alloc(a, n);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, n);
    }
    arena_free(a);
}

static void test_contents_survive_growth(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    enum { N = 5000 };
    uint32_t *blocks[N];
    for (uint32_t i = 0; i < N; i++) { /* ~2.4 MB across many chunks */
        size_t words = 1 + i % 240;
        blocks[i] = arena_alloc(a, words * sizeof(uint32_t));
        for (size_t w = 0; w < words; w++)
            blocks[i][w] = i * 2654435761u + (uint32_t)w;
    }
    for (uint32_t i = 0; i < N; i++)
        for (size_t w = 0; w < 1 + i % 240; w++)
            assert_int_equal(blocks[i][w], i * 2654435761u + (uint32_t)w);
    arena_free(a);
}

static void test_large_one_off_then_small(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    char *small1 = arena_strdup(a, "before");
    char *big = arena_alloc(a, 3u * 1024u * 1024u); /* larger than any chunk */
    memset(big, 'x', 3u * 1024u * 1024u);
    char *small2 = arena_strdup(a, "after");
    assert_string_equal(small1, "before");
    assert_string_equal(small2, "after");
    assert_int_equal(big[3u * 1024u * 1024u - 1], 'x');
    assert_true(arena_used(a) >= 3u * 1024u * 1024u);
    arena_free(a);
}

static void test_strings_and_reset(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    assert_null(arena_strdup(a, NULL));
    assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
    assert_string_equal(arena_printf(a, "%s-%03d", "urn", 7), "urn-007");
    char *longer = arena_printf(a, "%0*d", 10000, 1);
    assert_int_equal(strlen(longer), 10000);
    assert_true(arena_used(a) > 10000);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    char *again = arena_strdup(a, "reused");
    assert_string_equal(again, "reused");
    arena_reset(a);
    arena_reset(a); /* twice is fine */
    arena_free(a);
    arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zeroing),
        cmocka_unit_test(test_contents_survive_growth),
        cmocka_unit_test(test_large_one_off_then_small),
        cmocka_unit_test(test_strings_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
