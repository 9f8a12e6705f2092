/* The dry-run summary: counts per subject x band and per other code (n leaves out L, F,
 * P), pupils in two year groups named by row, and the warnings against the previous
 * term at their thresholds (a cohort down by exactly 10% is no warning; by more is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress_parse.h"
#include "progress_sets.h"
#include "progress_summary.h"
#include "util.h"

/* n pupils P0..P(n-1), reading EXS, year 5. */
static char *cohort(int n)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "pupil,year_group,subject,band\n");
    for (int i = 0; i < n; i++)
        strbuf_printf(&sb, "P%d,5,reading,EXS\n", i);
    return strbuf_detach(&sb, NULL);
}

static size_t warnings_of_kind(json_t *doc, const char *kind)
{
    size_t n = 0, i;
    json_t *w;
    json_array_foreach(json_object_get(doc, "warnings"), i, w) n +=
        strcmp(json_string_value(json_object_get(w, "kind")), kind) == 0;
    return n;
}

static void test_counts_and_two_year_groups(void **state)
{
    (void)state;
    struct progress_set set;
    progress_test_parse_csv("pupil,year_group,subject,band\n"
                            "P1,5,reading,GDS\n"
                            "P1,6,writing,L\n"
                            "P2,5,reading,A\n"
                            "P2,5,writing,wts\n"
                            "P3,5,reading,F\n",
                            &set);
    struct progress_summary s;
    progress_summary_compute(&set, &s);
    assert_int_equal(s.rows, 5);
    assert_int_equal(s.pupils, 3);
    assert_int_equal(s.nsubjects, 2);
    assert_string_equal(s.subjects[0].subject, "reading");
    assert_int_equal(s.subjects[0].rows, 3);
    assert_int_equal(s.subjects[0].in_cohort, 2); /* GDS and A; F is outside */
    assert_int_equal(s.subjects[0].band[PROGRESS_BAND_GREATER_DEPTH], 1);
    assert_int_equal(s.subjects[0].code[ASSESS_CODE_A], 1);
    assert_int_equal(s.subjects[1].in_cohort, 1); /* WTS; L is outside */
    assert_int_equal(s.multi_year_pupils, 1);
    assert_int_equal(s.examples[0].first, 2);
    assert_int_equal(s.examples[0].second, 3);
    json_t *doc = progress_summary_json(&s, NULL, true);
    assert_int_equal(warnings_of_kind(doc, "pupil_in_two_year_groups"), 1);
    json_t *w = json_array_get(json_object_get(doc, "warnings"), 0);
    assert_string_equal(json_string_value(json_object_get(w, "message")),
                        "the pupil in rows 2 and 3 is in year 5 and year 6");
    assert_int_equal(json_array_size(json_object_get(doc, "other_codes")), 3);
    json_decref(doc);
    progress_summary_free(&s);
    progress_set_free(&set);
}

static void test_previous_term_thresholds(void **state)
{
    (void)state;
    const char *const subjects[] = {"reading", "maths"};
    struct progress_previous prev = {
        .year = "2025-26", .term = "autumn", .pupils = 20, .subjects = subjects, .nsubjects = 2};
    for (int n = 17; n <= 20; n++) {
        char *csv = cohort(n);
        struct progress_set set;
        progress_test_parse_csv(csv, &set);
        struct progress_summary s;
        progress_summary_compute(&set, &s);
        json_t *doc = progress_summary_json(&s, &prev, true);
        /* 18 of 20 is exactly 10% fewer: not "more than 10%". */
        assert_int_equal(warnings_of_kind(doc, "cohort_shrank"), n < 18 ? 1 : 0);
        assert_int_equal(warnings_of_kind(doc, "subject_missing"), 1); /* maths */
        json_decref(doc);
        progress_summary_free(&s);
        progress_set_free(&set);
        free(csv);
    }
    /* Nothing held last term: nothing to compare with. */
    prev.pupils = 0;
    char *csv = cohort(3);
    struct progress_set set;
    progress_test_parse_csv(csv, &set);
    struct progress_summary s;
    progress_summary_compute(&set, &s);
    json_t *doc = progress_summary_json(&s, &prev, true);
    assert_int_equal(json_array_size(json_object_get(doc, "warnings")), 0);
    json_decref(doc);
    progress_summary_free(&s);
    progress_set_free(&set);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_two_year_groups),
        cmocka_unit_test(test_previous_term_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
