/* A push's progress_counts rows from its records: the groups each record counts in, the
 * codes inside (A, Q: in n, not meeting) and outside (F, L) every cohort, one line per
 * subject x year group, the prefix on each, and an empty set giving no line. The same
 * counts computed by PostgreSQL from the stored rows are compared in test_aggregates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress_counts.h"
#include "progress_parse.h"
#include "progress_sets.h"
#include "util.h"

/* The line for "subject\tyear_group" in text (without the prefix), or NULL. */
static const char *line_of(const char *text, const char *prefix, const char *cell)
{
    char want[128];
    snprintf(want, sizeof want, "%s%s\t", prefix, cell);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, want, strlen(want)) == 0)
            return p + strlen(want);
    return NULL;
}

static size_t lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* The 39 numbers of a line: n, k, g for each group. */
static void numbers(const char *line, unsigned long v[3 * PROGRESS_COUNT_GROUPS])
{
    char *end = NULL;
    for (int i = 0; i < 3 * PROGRESS_COUNT_GROUPS; i++) {
        v[i] = strtoul(line, &end, 10);
        assert_true(end != line);
        line = end + 1;
    }
    assert_int_equal(*end, '\n');
}

static void test_groups_codes_and_cells(void **state)
{
    (void)state;
    struct progress_set set;
    progress_test_parse_csv(
        "pupil,year_group,subject,band,disadvantaged,send,eal,looked_after,sex,prior_attainment\n"
        "P1,5,reading,GDS,true,none,false,false,f,high\n"
        "P2,5,reading,A,false,support,false,false,m,low\n"
        "P3,5,reading,F,true,ehcp,true,true,f,middle\n"
        "P4,5,reading,expected,false,ehcp,true,true,x,\n"
        "P5,5,reading,towards,true,none,false,false,,middle\n"
        "P6,5,reading,L,false,none,false,false,f,high\n"
        "P1,5,writing,WTS,true,none,false,false,f,high\n"
        "P7,6,reading,greater_depth,false,none,false,false,m,high\n",
        &set);
    struct strbuf out;
    strbuf_init(&out);
    const char *prefix = "7\t100001\t2025-26\tspring\t";
    progress_counts_to_copy(&set, prefix, &out);
    strbuf_append(&out, "", 1);
    assert_int_equal(lines(out.data), 3);

    unsigned long v[3 * PROGRESS_COUNT_GROUPS];
    const char *reading5 = line_of(out.data, prefix, "reading\t5");
    assert_non_null(reading5);
    numbers(reading5, v);
    /* In the cohort: P1 (greater depth), P2 (A: not meeting), P4 (expected), P5 (towards);
     * P3 (F) and P6 (L) outside it. */
    static const unsigned long want[3 * PROGRESS_COUNT_GROUPS] = {
        4, 2, 1, /* all */
        2, 1, 1, /* disadvantaged: P1, P5 */
        2, 1, 0, /* not disadvantaged: P2, P4 */
        2, 1, 0, /* SEND: P2 support, P4 EHCP */
        1, 0, 0, /* SEND support: P2 */
        1, 1, 0, /* EHCP: P4 */
        1, 1, 0, /* EAL: P4 */
        1, 1, 0, /* looked after: P4 */
        1, 1, 1, /* girls: P1 (P4 is x, P5 unknown) */
        1, 0, 0, /* boys: P2 */
        1, 0, 0, /* prior low: P2 */
        1, 0, 0, /* prior middle: P5 */
        1, 1, 1, /* prior high: P1 */
    };
    for (int i = 0; i < 3 * PROGRESS_COUNT_GROUPS; i++)
        assert_int_equal(v[i], want[i]);

    const char *writing5 = line_of(out.data, prefix, "writing\t5");
    assert_non_null(writing5);
    numbers(writing5, v);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 0);
    const char *reading6 = line_of(out.data, prefix, "reading\t6");
    assert_non_null(reading6);
    numbers(reading6, v);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[2], 1);
    assert_null(line_of(out.data, prefix, "writing\t6"));
    strbuf_free(&out);
    progress_set_free(&set);
}

/* A cell whose every record is outside the cohort has no line (PostgreSQL's count has no
 * group for it either), and an empty set gives no text at all. */
static void test_outside_the_cohort_and_empty(void **state)
{
    (void)state;
    struct progress_set set;
    progress_test_parse_csv(
        "pupil,year_group,subject,band\nP1,4,maths,F\nP2,4,maths,P\nP3,4,reading,A\n", &set);
    struct strbuf out;
    strbuf_init(&out);
    progress_counts_to_copy(&set, NULL, &out);
    strbuf_append(&out, "", 1);
    assert_int_equal(lines(out.data), 1);
    assert_non_null(line_of(out.data, "", "reading\t4"));
    assert_null(line_of(out.data, "", "maths\t4"));
    strbuf_free(&out);
    progress_set_free(&set);

    struct progress_set empty = {0};
    strbuf_init(&out);
    progress_counts_to_copy(&empty, "x\t", &out);
    assert_int_equal(out.len, 0);
    strbuf_free(&out);
}

/* Many cells (the table grows past its first size) each counted apart. */
static void test_many_cells(void **state)
{
    (void)state;
    struct strbuf csv;
    strbuf_init(&csv);
    strbuf_puts(&csv, "pupil,year_group,subject,band\n");
    const char *subjects[] = {"reading", "writing", "maths", "science", "gps", "english"};
    for (int p = 0; p < 300; p++)
        for (int s = 0; s < 6; s++)
            strbuf_printf(&csv, "P%d,%d,%s,%s\n", p, 1 + p % 13, subjects[s],
                          p % 2 ? "expected" : "below");
    strbuf_append(&csv, "", 1);
    struct progress_set set;
    progress_test_parse_csv(csv.data, &set);
    struct strbuf out;
    strbuf_init(&out);
    progress_counts_to_copy(&set, NULL, &out);
    strbuf_append(&out, "", 1);
    assert_int_equal(lines(out.data), 13 * 6);
    unsigned long v[3 * PROGRESS_COUNT_GROUPS];
    numbers(line_of(out.data, "", "maths\t1"), v); /* pupils 0, 13, ..., 299: 24 */
    assert_int_equal(v[0], 24);
    assert_int_equal(v[1], 12); /* the odd ones: 13, 39, ... */
    strbuf_free(&out);
    strbuf_free(&csv);
    progress_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_codes_and_cells),
        cmocka_unit_test(test_outside_the_cohort_and_empty),
        cmocka_unit_test(test_many_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
