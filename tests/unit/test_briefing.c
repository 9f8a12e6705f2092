/* The briefing's selection (SPEC 6.3 diversity), headline sums and schools of concern, on
 * hand-made lists whose answers are worked out in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "briefing.h"

#define NITEMS 9

struct fixture {
    struct priorities_item items[NITEMS];
    struct priorities_item *ptrs[NITEMS];
    struct priorities_list list;
};

static void set(struct priorities_item *it, const char *id, enum priorities_level level,
                enum priorities_kind kind, const char *urn, const char *subject, const char *area,
                const char *theme, int64_t score)
{
    memset(it, 0, sizeof *it);
    strcpy(it->id, id);
    it->level = level;
    it->kind = kind;
    it->urn = (char *)(uintptr_t)urn; /* read only here */
    it->subject = (char *)(uintptr_t)subject;
    it->area = (char *)(uintptr_t)area;
    it->theme = (char *)(uintptr_t)theme;
    it->score_hundredths = score;
    it->rationale = (char *)(uintptr_t)id;
}

/* In score order:
 *  a1 trust attainment writing     kept (attainment 1)
 *  a2 trust trend writing          dropped: writing at trust level already
 *  a3 school A attainment writing  kept (attainment 2): another scope
 *  a4 school A gap writing         dropped: writing at A already
 *  a5 school B attainment maths    kept (attainment 3)
 *  a6 school C attainment maths    dropped: three attainment items already
 *  a7 trust theme writing          kept: a theme is not the writing subject
 *  a8 trust sef achievement        kept
 *  a9 school A sef achievement     kept: another scope than a8 */
static void fixture(struct fixture *f)
{
    set(&f->items[0], "a1", PRIORITIES_LEVEL_TRUST, PRIORITIES_KIND_ATTAINMENT, NULL, "writing",
        NULL, NULL, 9000);
    set(&f->items[1], "a2", PRIORITIES_LEVEL_TRUST, PRIORITIES_KIND_TREND, NULL, "writing", NULL,
        NULL, 8000);
    set(&f->items[2], "a3", PRIORITIES_LEVEL_SCHOOL, PRIORITIES_KIND_ATTAINMENT, "100001",
        "writing", NULL, NULL, 7000);
    set(&f->items[3], "a4", PRIORITIES_LEVEL_SCHOOL, PRIORITIES_KIND_GAP, "100001", "writing", NULL,
        NULL, 6000);
    set(&f->items[4], "a5", PRIORITIES_LEVEL_SCHOOL, PRIORITIES_KIND_ATTAINMENT, "100002", "maths",
        NULL, NULL, 5000);
    set(&f->items[5], "a6", PRIORITIES_LEVEL_SCHOOL, PRIORITIES_KIND_ATTAINMENT, "100003", "maths",
        NULL, NULL, 4000);
    set(&f->items[6], "a7", PRIORITIES_LEVEL_TRUST, PRIORITIES_KIND_SHARED_THEME, NULL, NULL, NULL,
        "writing", 3000);
    set(&f->items[7], "a8", PRIORITIES_LEVEL_TRUST, PRIORITIES_KIND_SEF, NULL, NULL, "achievement",
        NULL, 2000);
    set(&f->items[8], "a9", PRIORITIES_LEVEL_SCHOOL, PRIORITIES_KIND_SEF, "100001", NULL,
        "achievement", NULL, 1000);
    for (size_t i = 0; i < NITEMS; i++)
        f->ptrs[i] = &f->items[i];
    f->list = (struct priorities_list){
        .year = "2025-26", .term = "spring", .items = f->ptrs, .count = NITEMS};
}

static void test_diversity(void **state)
{
    (void)state;
    struct fixture f;
    fixture(&f);
    struct priorities_list *v = briefing_diverse(&f.list, 10, 3);
    const char *want[] = {"a1", "a3", "a5", "a7", "a8", "a9"};
    assert_int_equal(v->count, 6);
    for (size_t i = 0; i < v->count; i++)
        assert_string_equal(v->items[i]->id, want[i]);
    priorities_list_free(v);
    /* The limit cuts after the rules, in order. */
    v = briefing_diverse(&f.list, 2, 3);
    assert_int_equal(v->count, 2);
    assert_string_equal(v->items[1]->id, "a3");
    priorities_list_free(v);
    /* At most one per kind: a1, then a4 (the gap at A: a3 was not kept, so no clash), a7,
     * a8 (a9 is a second sef). */
    v = briefing_diverse(&f.list, 10, 1);
    assert_int_equal(v->count, 4);
    assert_string_equal(v->items[1]->id, "a4");
    assert_string_equal(v->items[3]->id, "a8");
    priorities_list_free(v);
}

static void test_headline_and_concern(void **state)
{
    (void)state;
    struct fixture f;
    fixture(&f);
    const struct priorities_cell cells[] = {
        {"", "writing", "all", 100, 60, 0, false},
        {"100001", "writing", "all", 40, 20, 0, false},
        {"100002", "writing", "all", 60, 40, 0, false},
        {"100001", "writing", "boys", 20, 8, 0, false},
    };
    const struct priorities_cell prev[] = {
        {"", "writing", "all", 90, 63, 0, false},
        {"100001", "writing", "all", 30, 21, 0, false},
        {"100002", "writing", "all", 60, 42, 0, false},
    };
    const struct priorities_benchmark bench[] = {{"writing", "all", 0.72}};
    struct priorities_input in = {.cells = cells,
                                  .n_cells = 4,
                                  .prev_cells = prev,
                                  .n_prev_cells = 3,
                                  .benchmarks = bench,
                                  .n_benchmarks = 1};
    struct briefing_headline *h = briefing_headline_collect(&in);
    const struct briefing_school schools[] = {
        {"100001", "Alpha", false, 2}, {"100002", "Beta", true, 0}, {"100003", "Gamma", false, 1}};
    const char *scope[] = {"100001"};
    struct briefing_input b = {.year = "2025-26",
                               .term = "spring",
                               .list = &f.list,
                               .headline = h,
                               .schools = schools,
                               .n_schools = 3};
    char *json = briefing_to_json(&b, NULL);
    json_error_t err;
    json_t *doc = json_loads(json, 0, &err);
    assert_non_null(doc);
    /* Trust: the pooled row, 60/100 against 0.72; last year 63/90 = 0.7: change -0.1. */
    json_t *w = json_array_get(json_object_get(doc, "headline"), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "n")), 100);
    assert_true(json_real_value(json_object_get(w, "vs_national")) < -0.1199);
    assert_true(json_real_value(json_object_get(w, "change")) < -0.0999);
    /* Concern: Alpha 70+60+10 = 140, Beta 50, Gamma 40; a school's reasons in list order. */
    json_t *c = json_object_get(doc, "schools_of_concern");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "urn")), "100001");
    assert_true(json_real_value(json_object_get(json_array_get(c, 0), "score")) == 140.0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(c, 0), "reasons"), 1)),
        "a4");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "urn")), "100002");
    json_decref(doc);
    free(json);
    /* An executive head of Alpha: the sum over Alpha only, 20/40, last year 21/30. */
    b.scope = scope;
    b.n_scope = 1;
    json = briefing_to_json(&b, NULL);
    doc = json_loads(json, 0, &err);
    w = json_array_get(json_object_get(doc, "headline"), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "n")), 40);
    assert_true(json_real_value(json_object_get(w, "p_prev")) == 0.7);
    json_decref(doc);
    free(json);
    briefing_headline_free(h);
}

/* Small cohorts (SPEC §8) in the headline: an executive head of one school with 4 pupils
 * sees "<6" and no figures, as the summaries show it, whatever the trust's rule; so does a
 * last-year cohort under 6, with the change worked out from it. Under the default rule a
 * cohort of 6 or more is shown; with complementary suppression, a cohort the mask withholds
 * to protect another is not (the trust's 54 less the two schools' 50 would give the third
 * school's 4). */
static void test_headline_small_cohorts(void **state)
{
    (void)state;
    struct fixture f;
    fixture(&f);
    const struct priorities_cell cells[] = {
        {"", "reading", "all", 58, 40, 0, false},
        {"150001", "reading", "all", 4, 2, 0, false},
        {"", "writing", "all", 54, 30, 0, false},
        {"100001", "writing", "all", 30, 20, 0, false},
        {"100002", "writing", "all", 20, 8, 0, false},
        {"100003", "writing", "all", 4, 2, 0, false},
        {"100001", "reading", "all", 30, 20, 0, false},
        {"100002", "reading", "all", 24, 18, 0, false},
        {"", "maths", "all", 50, 30, 0, false},
        {"100001", "maths", "all", 30, 20, 0, false},
        {"100002", "maths", "all", 20, 10, 0, false},
    };
    const struct priorities_cell prev[] = {
        {"", "reading", "all", 5, 4, 0, false},
        {"150001", "reading", "all", 5, 4, 0, false},
    };
    const struct priorities_benchmark bench[] = {{"reading", "all", 0.75}};
    struct priorities_input in = {.cells = cells,
                                  .n_cells = 11,
                                  .prev_cells = prev,
                                  .n_prev_cells = 2,
                                  .benchmarks = bench,
                                  .n_benchmarks = 1};
    priorities_thresholds_default(&in.thresholds);
    struct briefing_headline *h = briefing_headline_collect(&in);
    const char *one[] = {"150001"};
    struct briefing_input b = {.year = "2025-26",
                               .term = "spring",
                               .list = &f.list,
                               .headline = h,
                               .scope = one,
                               .n_scope = 1};
    char *json = briefing_to_json(&b, NULL);
    json_error_t err;
    json_t *doc = json_loads(json, 0, &err);
    json_t *r = json_array_get(json_object_get(doc, "headline"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "subject")), "reading");
    assert_true(json_is_string(json_object_get(r, "n"))); /* not the 4 pupils */
    assert_string_equal(json_string_value(json_object_get(r, "n")), "<6");
    assert_true(json_is_null(json_object_get(r, "k")));
    assert_true(json_is_null(json_object_get(r, "p")));
    assert_true(json_is_null(json_object_get(r, "vs_national")));
    assert_string_equal(json_string_value(json_object_get(r, "n_prev")), "<6");
    assert_true(json_is_null(json_object_get(r, "p_prev")));
    assert_true(json_is_null(json_object_get(r, "change")));
    assert_true(json_real_value(json_object_get(r, "b")) == 0.75); /* national: public */
    json_decref(doc);
    free(json);

    /* The trust: reading 40/58 shown, last year's 5 not, so no change either. */
    b.scope = NULL;
    b.n_scope = 0;
    json = briefing_to_json(&b, NULL);
    doc = json_loads(json, 0, &err);
    r = json_array_get(json_object_get(doc, "headline"), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 58);
    assert_string_equal(json_string_value(json_object_get(r, "n_prev")), "<6");
    assert_true(json_is_null(json_object_get(r, "change")));
    json_decref(doc);
    free(json);

    /* An executive head of 100001 and 100002, under the default rule (SPEC §8): their
     * maths 50, reading 54 and writing 50 are all shown. */
    struct suppress_cell sc[11];
    for (size_t i = 0; i < 11; i++)
        sc[i] = (struct suppress_cell){cells[i].scope, cells[i].subject, NULL, cells[i].group,
                                       cells[i].n};
    const char *two[] = {"100001", "100002"};
    struct suppress_rule rule = {.min_cohort = 6, .complements = false};
    struct suppress_mask *now = suppress_compute(sc, 11, &rule, two, 2, NULL);
    assert_non_null(now);
    struct priorities_cohort co = {.now = now};
    b.scope = two;
    b.n_scope = 2;
    b.cohort = &co;
    json = briefing_to_json(&b, NULL);
    doc = json_loads(json, 0, &err);
    json_t *hl = json_object_get(doc, "headline");
    assert_int_equal(json_array_size(hl), 3);
    const long shown[] = {50, 54, 50}; /* maths, reading, writing */
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(hl, i), "n")), shown[i]);
    json_decref(doc);
    free(json);
    suppress_free(now);

    /* With complementary suppression their maths 30/50 is still shown; their reading 54 and
     * writing 50 are withheld by the mask, as the trust's 58 and 54 (which they also read)
     * less them would give 150001's and 100003's 4. */
    rule.complements = true;
    now = suppress_compute(sc, 11, &rule, two, 2, NULL);
    assert_non_null(now);
    co.now = now;
    json = briefing_to_json(&b, NULL);
    doc = json_loads(json, 0, &err);
    hl = json_object_get(doc, "headline");
    assert_int_equal(json_array_size(hl), 3);
    r = json_array_get(hl, 0);
    assert_string_equal(json_string_value(json_object_get(r, "subject")), "maths");
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 50);
    for (size_t i = 1; i < 3; i++) {
        r = json_array_get(hl, i);
        assert_string_equal(json_string_value(json_object_get(r, "n")), "<6");
        assert_true(json_is_null(json_object_get(r, "p")));
    }
    json_decref(doc);
    free(json);
    suppress_free(now);
    briefing_headline_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diversity),
        cmocka_unit_test(test_headline_and_concern),
        cmocka_unit_test(test_headline_small_cohorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
