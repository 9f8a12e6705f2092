/* Unit tests for the priorities calculator (SPEC section 6). Every expected figure is
 * worked by hand in the comment next to its assertion; rationales are asserted as the
 * CEO would read them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "priorities.h"

/* ---- fixture builder ---------------------------------------------------------------- */

#define FX_MAX 64

struct fx {
    struct priorities_thresholds t;
    const char *year, *term;
    struct priorities_school schools[FX_MAX];
    size_t ns;
    struct priorities_cell cells[FX_MAX];
    size_t nc;
    struct priorities_cell prev[FX_MAX];
    size_t np;
    struct priorities_benchmark bench[FX_MAX];
    size_t nb;
    struct priorities_sef_area sef[FX_MAX];
    size_t nsef;
    struct priorities_sip_theme themes[FX_MAX];
    size_t nt;
    struct priorities_stuck_pupil stuck[FX_MAX];
    size_t nst;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    priorities_thresholds_default(&f->t);
    f->year = "2025-26";
    f->term = "spring";
}

static void fx_school(struct fx *f, const char *urn, const char *name, const char *phase,
                      bool has_loc, double lat, double lon)
{
    f->schools[f->ns++] = (struct priorities_school){urn, name, phase, lat, lon, has_loc};
}

static void fx_cell(struct fx *f, const char *scope, const char *subject, const char *group, int n,
                    int k)
{
    f->cells[f->nc++] = (struct priorities_cell){scope, subject, group, n, k, 0, false};
}

static void fx_prev(struct fx *f, const char *scope, const char *subject, const char *group, int n,
                    int k)
{
    f->prev[f->np++] = (struct priorities_cell){scope, subject, group, n, k, 0, false};
}

static void fx_bench(struct fx *f, const char *subject, const char *group, double b)
{
    f->bench[f->nb++] = (struct priorities_benchmark){subject, group, b};
}

static void fx_sef(struct fx *f, const char *urn, const char *area, int ordinal, const char *grade,
                   const char *framework)
{
    f->sef[f->nsef++] = (struct priorities_sef_area){urn, area, ordinal, grade, framework};
}

static void fx_theme(struct fx *f, const char *urn, const char *theme)
{
    f->themes[f->nt++] = (struct priorities_sip_theme){urn, theme};
}

static void fx_stuck(struct fx *f, const char *urn, const char *subject, const char *key)
{
    f->stuck[f->nst++] = (struct priorities_stuck_pupil){urn, subject, key};
}

static struct priorities_input fx_input(const struct fx *f)
{
    return (struct priorities_input){
        .year = f->year,
        .term = f->term,
        .thresholds = f->t,
        .schools = f->schools,
        .n_schools = f->ns,
        .cells = f->cells,
        .n_cells = f->nc,
        .prev_cells = f->prev,
        .n_prev_cells = f->np,
        .benchmarks = f->bench,
        .n_benchmarks = f->nb,
        .sef = f->sef,
        .n_sef = f->nsef,
        .themes = f->themes,
        .n_themes = f->nt,
        .stuck = f->stuck,
        .n_stuck = f->nst,
    };
}

static struct priorities_list *fx_run(const struct fx *f)
{
    struct priorities_input in = fx_input(f);
    struct priorities_list *list = NULL;
    struct mat_errors err;
    mat_errors_init(&err);
    int rc = priorities_compute(&in, &list, &err);
    if (rc != 0)
        for (size_t i = 0; i < err.count; i++)
            fprintf(stderr, "%s: %s\n", err.items[i].path, err.items[i].message);
    assert_int_equal(rc, 0);
    assert_non_null(list);
    mat_errors_free(&err);
    return list;
}

/* The four-school trust most tests use. Alpha -> Beta is 11.1 km, Alpha -> Gamma 55.6 km
 * (0.1 and 0.5 degrees of latitude, 111.20 km a degree on a 6371.0088 km sphere). */
#define A "100001"
#define B "100002"
#define C "100003"
#define D "100004"
#define E "100005"

static void fx_trust4(struct fx *f)
{
    fx_init(f);
    fx_school(f, A, "Alpha Primary", "primary", true, 52.0, -1.0);
    fx_school(f, B, "Beta Primary", "primary", true, 52.1, -1.0);
    fx_school(f, C, "Gamma Academy", "secondary", true, 52.5, -1.0);
    fx_school(f, D, "Delta Primary", "primary", false, 0, 0);
}

static size_t count_kind(const struct priorities_list *l, enum priorities_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++)
        n += l->items[i]->kind == kind;
    return n;
}

/* The item of this kind at this scope (urn NULL = trust) about topic (and group). */
static const struct priorities_item *find(const struct priorities_list *l,
                                          enum priorities_kind kind, const char *urn,
                                          const char *topic, const char *group)
{
    for (size_t i = 0; i < l->count; i++) {
        const struct priorities_item *it = l->items[i];
        const char *t = it->subject ? it->subject : (it->area ? it->area : it->theme);
        if (it->kind != kind || strcmp(t, topic))
            continue;
        if (urn ? (!it->urn || strcmp(it->urn, urn)) : it->urn != NULL)
            continue;
        if (group && (!it->group || strcmp(it->group, group)))
            continue;
        return it;
    }
    return NULL;
}

static size_t index_of(const struct priorities_list *l, const struct priorities_item *it)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i] == it)
            return i;
    fail_msg("item not in list");
    return 0;
}

static char *item_json(const struct priorities_item *it)
{
    struct priorities_item *p;
    memcpy(&p, &it, sizeof p); /* a one-item view; nothing is written through it */
    struct priorities_list one = {.year = "2025-26", .term = "spring", .items = &p, .count = 1};
    return priorities_to_json(&one, NULL, NULL);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find\n  %s\nin\n  %s", needle, hay);
}

/* ---- formulas ----------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct priorities_thresholds t;
    priorities_thresholds_default(&t);
    assert_int_equal(t.min_cohort, 6);
    assert_true(t.z_crit == 1.96);
    assert_true(t.gap_points == 10.0);
    assert_true(t.trend_points == 10.0);
    assert_false(t.complementary_suppression); /* SPEC §8: the small cells only */
}

static void test_deficit(void **state)
{
    (void)state;
    assert_int_equal(priorities_deficit(0.75, 4, 0), 3); /* 0.75 * 4 = 3 exactly */
    assert_int_equal(priorities_deficit(0.75, 4, 1), 2);
    /* 0.56 * 100 = 56.00000000000001 in binary: without the guard ceil gives 57. */
    assert_int_equal(priorities_deficit(0.56, 100, 50), 6);
    assert_int_equal(priorities_deficit(0.55, 100, 0), 55); /* 55.00000000000001 */
    assert_int_equal(priorities_deficit(0.14, 50, 7), 0);   /* 7.000000000000001 - 7 */
    assert_int_equal(priorities_deficit(0.58, 100, 50), 8); /* 57.99999999999999 -> 58 */
    assert_int_equal(priorities_deficit(0.333, 3, 0), 1);   /* ceil(0.999) */
    assert_int_equal(priorities_deficit(0.59, 30, 6), 12);  /* ceil(17.7) = 18, - 6 */
    assert_int_equal(priorities_deficit(0.5, 10, 9), 0);    /* max(0, 5 - 9) */
    assert_int_equal(priorities_deficit(0.0, 10, 0), 0);
    assert_int_equal(priorities_deficit(1.0, 10, 7), 3);
    assert_int_equal(priorities_deficit(0.9, 0, 0), 0);
}

static void test_cell_eval(void **state)
{
    (void)state;
    struct priorities_thresholds t;
    priorities_thresholds_default(&t);
    struct priorities_cell_metrics m;

    /* n 100, k 41, b 0.59: p 0.41, gap -0.18, z = -0.18 / sqrt(0.59 * 0.41 / 100)
     * = -0.18 / 0.049183 = -3.6598; deficit 59 - 41 = 18. */
    priorities_cell_eval(100, 41, true, 0.59, false, &t, &m);
    assert_true(fabs(m.p - 0.41) < 1e-12);
    assert_true(fabs(m.gap + 0.18) < 1e-12);
    assert_true(m.has_z);
    assert_true(fabs(m.z + 3.659777) < 1e-6);
    assert_int_equal(m.deficit, 18);
    assert_true(m.below);
    assert_false(m.above);

    /* k 75: z = 0.16 / 0.049183 = 3.2531 -> significantly above. */
    priorities_cell_eval(100, 75, true, 0.59, false, &t, &m);
    assert_true(fabs(m.z - 3.253135) < 1e-6);
    assert_true(m.above);
    assert_false(m.below);
    assert_int_equal(m.deficit, 0);

    /* b = 0 or 1: z undefined, never significant, deficit still defined. */
    priorities_cell_eval(100, 0, true, 0.0, false, &t, &m);
    assert_false(m.has_z);
    assert_false(m.below);
    assert_false(m.above);
    assert_int_equal(m.deficit, 0);
    priorities_cell_eval(10, 7, true, 1.0, false, &t, &m);
    assert_false(m.has_z);
    assert_false(m.below);
    assert_int_equal(m.deficit, 3); /* ceil(10) - 7 */

    /* n 5 < min_cohort 6: z = -0.9 / sqrt(0.09 / 5) = -6.708, yet not significant. */
    priorities_cell_eval(5, 0, true, 0.9, false, &t, &m);
    assert_true(m.has_z);
    assert_true(fabs(m.z + 6.708204) < 1e-6);
    assert_false(m.below);
    /* n 6 = min_cohort: z = -0.9 / sqrt(0.09 / 6) = -7.348 -> significant. */
    priorities_cell_eval(6, 0, true, 0.9, false, &t, &m);
    assert_true(m.below);

    /* z = -1.9518 (n 20, k 10, b 0.7) is just inside the 1.96 line. */
    priorities_cell_eval(20, 10, true, 0.7, false, &t, &m);
    assert_true(fabs(m.z + 1.951800) < 1e-6);
    assert_false(m.below);

    /* No benchmark at all: no b, gap, z or deficit. */
    priorities_cell_eval(30, 3, false, 0, false, &t, &m);
    assert_false(m.has_b);
    assert_false(m.has_z);
    assert_false(m.below);
}

static void test_haversine_and_id(void **state)
{
    (void)state;
    /* London (51.5074, -0.1278) to Paris (48.8566, 2.3522) on a 6371.0088 km sphere (computed
     * independently in Python: 343.5565 km). */
    assert_true(fabs(priorities_haversine_km(51.5074, -0.1278, 48.8566, 2.3522) - 343.5565) <
                0.001);
    /* One degree of latitude: 6371.0088 * pi / 180 = 111.1951 km. */
    assert_true(fabs(priorities_haversine_km(52, -1, 53, -1) - 111.1951) < 0.0001);
    assert_true(priorities_haversine_km(52, -1, 52, -1) == 0.0);

    /* sha256("attainment|trust|writing|disadvantaged") begins d9b824bb5f56b4c4. */
    char id[17];
    priorities_item_id("attainment", "trust", "writing", "disadvantaged", id);
    assert_string_equal(id, "d9b824bb5f56b4c4");
    priorities_item_id("shared_theme", "trust", "writing", NULL, id);
    assert_string_equal(id, "66f7504699dfc9f2");
}

static void test_names(void **state)
{
    (void)state;
    enum priorities_kind k;
    enum priorities_level l;
    assert_true(priorities_kind_parse("stuck_pupils", &k));
    assert_int_equal(k, PRIORITIES_KIND_STUCK_PUPILS);
    assert_string_equal(priorities_kind_name(PRIORITIES_KIND_SHARED_THEME), "shared_theme");
    assert_false(priorities_kind_parse("any", &k));
    assert_false(priorities_kind_parse("Gap", &k));
    assert_false(priorities_kind_parse(NULL, &k));
    assert_true(priorities_level_parse("school", &l));
    assert_int_equal(l, PRIORITIES_LEVEL_SCHOOL);
    assert_false(priorities_level_parse("national", &l));
}

/* ---- the six kinds ------------------------------------------------------------------ */

/* Writing, disadvantaged, benchmark 0.59. Trust 41/100; Alpha 6/30; Beta 15/30; Gamma
 * 20/35; Delta 0/5 (pooled: 6 + 15 + 20 + 0 = 41 of 30 + 30 + 35 + 5 = 100). */
static void fx_attainment(struct fx *f)
{
    fx_trust4(f);
    fx_bench(f, "writing", "disadvantaged", 0.59);
    fx_cell(f, "", "writing", "disadvantaged", 100, 41);
    fx_cell(f, A, "writing", "disadvantaged", 30, 6);
    fx_cell(f, B, "writing", "disadvantaged", 30, 15);
    fx_cell(f, C, "writing", "disadvantaged", 35, 20);
    fx_cell(f, D, "writing", "disadvantaged", 5, 0);
}

static void test_attainment(void **state)
{
    (void)state;
    struct fx f;
    fx_attainment(&f);
    struct priorities_list *l = fx_run(&f);
    /* Trust z -3.660 (below); Alpha z = -0.39 / sqrt(0.2419 / 30) = -4.343 (below);
     * Beta z -1.002, Gamma z -0.223 (not); Delta n 5 < 6 (not, though z is -2.68). */
    assert_int_equal(l->count, 2);

    const struct priorities_item *t = l->items[0], *s = l->items[1];
    assert_int_equal(t->level, PRIORITIES_LEVEL_TRUST);
    assert_int_equal(t->kind, PRIORITIES_KIND_ATTAINMENT);
    assert_string_equal(t->id, "d9b824bb5f56b4c4");
    assert_int_equal(t->score_hundredths, 1800); /* deficit 59 - 41 = 18 */
    assert_int_equal(t->n_schools, 1);           /* breadth: Alpha alone is below */
    assert_string_equal(t->schools[0], A);
    assert_int_equal(t->n_support, 0); /* support is for school-level items */
    assert_string_equal(t->rationale,
                        "Writing: 41% of disadvantaged pupils across the trust (41 of 100) reach "
                        "the expected standard against 59% nationally — 18 pupils short, with 1 "
                        "school significantly below on its own.");

    assert_int_equal(s->level, PRIORITIES_LEVEL_SCHOOL);
    assert_string_equal(s->urn, A);
    assert_int_equal(s->score_hundredths, 1200); /* ceil(0.59 * 30 = 17.7) - 6 = 12 */
    assert_string_equal(s->rationale,
                        "Writing at Alpha Primary: 20% of disadvantaged pupils (6 of 30) reach the "
                        "expected standard against 59% nationally — 12 pupils short.");

    char *json = item_json(t);
    assert_contains(json, "\"metrics\":{\"n\":100,\"k\":41,\"p\":0.41,\"b\":0.59,\"gap\":-0.18,"
                          "\"z\":-3.66,\"deficit\":18,\"benchmark\":\"national\"}");
    assert_contains(json, "\"level\":\"trust\",\"kind\":\"attainment\",\"subject\":\"writing\","
                          "\"group\":\"disadvantaged\",\"schools\":[\"100001\"]");
    assert_contains(json, "\"score\":18,");
    free(json);
    json = item_json(s);
    /* p 0.2, gap 0.2 - 0.59 = -0.39, z -4.343 */
    assert_contains(json, "{\"n\":30,\"k\":6,\"p\":0.2,\"b\":0.59,\"gap\":-0.39,\"z\":-4.343,"
                          "\"deficit\":12,");
    free(json);
    priorities_list_free(l);
}

/* No benchmarks at all: b falls back to the trust's pooled p for (subject, all). */
static void test_benchmark_fallback(void **state)
{
    (void)state;
    struct fx f;
    fx_trust4(&f);
    fx_cell(&f, "", "maths", "all", 200, 140); /* fallback b = 0.7 */
    fx_cell(&f, "", "maths", "send", 20, 10);  /* z = -0.2 / sqrt(0.21 / 20) = -1.952: not */
    fx_cell(&f, A, "maths", "send", 10, 2);    /* z = -0.5 / sqrt(0.21 / 10) = -3.450 */
    fx_cell(&f, A, "maths", "all", 50, 35);    /* p 0.7 = b: z 0 */
    fx_cell(&f, A, "science", "all", 30, 0);   /* no benchmark, no trust cell: no b */
    struct priorities_list *l = fx_run(&f);
    assert_int_equal(l->count, 1);
    const struct priorities_item *it = l->items[0];
    assert_string_equal(it->group, "send");
    assert_true(it->cell.b_fallback);
    assert_int_equal(it->cell.deficit, 5); /* ceil(0.7 * 10 = 7) - 2 */
    assert_string_equal(it->rationale,
                        "Maths at Alpha Primary: 20% of pupils with SEND (2 of 10) reach the "
                        "expected standard against the trust average of 70% for all pupils (no "
                        "national benchmark is set for this group) — 5 pupils short.");
    char *json = item_json(it);
    assert_contains(json, "\"p\":0.2,\"b\":0.7,\"gap\":-0.5,\"z\":-3.45,\"deficit\":5,"
                          "\"benchmark\":\"trust_average\"}");
    free(json);
    priorities_list_free(l);
}

/* Maths benchmarks: disadvantaged 0.6, not_disadvantaged 0.8 -> national gap 20 points.
 * Reading: 0.65 and 0.8 -> 15 points. */
static void fx_gap(struct fx *f)
{
    fx_trust4(f);
    fx_bench(f, "maths", "disadvantaged", 0.6);
    fx_bench(f, "maths", "not_disadvantaged", 0.8);
    fx_bench(f, "reading", "disadvantaged", 0.65);
    fx_bench(f, "reading", "not_disadvantaged", 0.8);
    /* Alpha maths: 8/20 vs 30/40, gap 35 points, excess 15 -> score 15 x 20 / 100 = 3. */
    fx_cell(f, A, "maths", "disadvantaged", 20, 8);
    fx_cell(f, A, "maths", "not_disadvantaged", 40, 30);
    /* Gamma maths: 10/20 vs 30/40, gap 25, excess 5: no. */
    fx_cell(f, C, "maths", "disadvantaged", 20, 10);
    fx_cell(f, C, "maths", "not_disadvantaged", 40, 30);
    /* Delta maths: n(dis) 5 < 6: no, whatever the gap. */
    fx_cell(f, D, "maths", "disadvantaged", 5, 0);
    fx_cell(f, D, "maths", "not_disadvantaged", 40, 40);
    /* Trust maths: 18/45 vs 100/120: gap 43.33, excess 23.33 -> 23.33 x 45 / 100 = 10.5. */
    fx_cell(f, "", "maths", "disadvantaged", 45, 18);
    fx_cell(f, "", "maths", "not_disadvantaged", 120, 100);
    /* Beta reading: 10/20 vs 30/40: gap 25, national 0.8 - 0.65 = 0.15000000000000002, excess
     * 0.09999999999999998 -- exactly 10 points to a person: qualifies; score 10 x 20 / 100. */
    fx_cell(f, B, "reading", "disadvantaged", 20, 10);
    fx_cell(f, B, "reading", "not_disadvantaged", 40, 30);
    fx_cell(f, "", "reading", "disadvantaged", 20, 10);
    fx_cell(f, "", "reading", "not_disadvantaged", 40, 30);
}

static void test_gap(void **state)
{
    (void)state;
    struct fx f;
    fx_gap(&f);
    struct priorities_list *l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_GAP), 4);
    assert_null(find(l, PRIORITIES_KIND_GAP, C, "maths", NULL));
    assert_null(find(l, PRIORITIES_KIND_GAP, D, "maths", NULL));

    const struct priorities_item *a = find(l, PRIORITIES_KIND_GAP, A, "maths", "disadvantaged");
    assert_non_null(a);
    assert_int_equal(a->score_hundredths, 300);
    assert_true(fabs(a->excess - 0.15) < 1e-12);
    assert_string_equal(a->rationale,
                        "Maths at Alpha Primary: 40% of disadvantaged pupils (8 of 20) reach the "
                        "expected standard against 75% of their peers, a gap of 35 points — 15 "
                        "points wider than the national gap of 20 points in maths in 2025-26.");
    char *json = item_json(a);
    /* dis cell: z = -0.2 / sqrt(0.24 / 20) = -1.826, deficit ceil(12) - 8 = 4 */
    assert_contains(json, "\"metrics\":{\"n\":20,\"k\":8,\"p\":0.4,\"b\":0.6,\"gap\":-0.2,"
                          "\"z\":-1.826,\"deficit\":4,\"benchmark\":\"national\","
                          "\"n_not_disadvantaged\":40,\"k_not_disadvantaged\":30,"
                          "\"p_not_disadvantaged\":0.75,\"b_not_disadvantaged\":0.8,"
                          "\"group_gap\":0.35,\"national_gap\":0.2,\"excess\":0.15,"
                          "\"national_gap_source\":\"benchmarks\",\"national_gap_year\":"
                          "\"2025-26\",\"national_gap_subject\":\"maths\","
                          "\"national_disadvantaged\":0.6,\"national_not_disadvantaged\":0.8}");
    free(json);

    const struct priorities_item *t = find(l, PRIORITIES_KIND_GAP, NULL, "maths", NULL);
    assert_non_null(t);
    assert_int_equal(t->score_hundredths, 1050); /* 10.499999999999998 rounds to 10.50 */
    assert_int_equal(t->n_schools, 1);
    assert_string_equal(t->schools[0], A);
    assert_string_equal(
        t->rationale, "Maths: 40% of disadvantaged pupils across the trust (18 of 45) reach the "
                      "expected standard against 83% of their peers, a gap of 43 points — 23 "
                      "points wider than the national gap of 20 points in maths in 2025-26, with 1 "
                      "school past the threshold on its own.");

    const struct priorities_item *b = find(l, PRIORITIES_KIND_GAP, B, "reading", NULL);
    const struct priorities_item *tr = find(l, PRIORITIES_KIND_GAP, NULL, "reading", NULL);
    assert_non_null(b);
    assert_non_null(tr);
    assert_int_equal(b->score_hundredths, 200);
    assert_int_equal(tr->score_hundredths, 200);
    /* Equal scores: id ascending. gap|trust|reading|disadvantaged = 0d69a304...,
     * gap|100002|reading|disadvantaged = 5b4eb782... */
    assert_string_equal(tr->id, "0d69a304d96a7f3b");
    assert_string_equal(b->id, "5b4eb782bd7d27c5");
    assert_true(index_of(l, tr) < index_of(l, b));
    priorities_list_free(l);
}

/* English with no benchmarks for either group this year: 8/20 vs 32/40, a 40-point gap. */
static void fx_gap_fallback(struct fx *f)
{
    fx_trust4(f);
    fx_cell(f, "", "english", "all", 60, 40);
    fx_cell(f, "", "english", "disadvantaged", 20, 8);
    fx_cell(f, "", "english", "not_disadvantaged", 40, 32);
}

static const struct priorities_item *run_gap_fallback(struct priorities_gap_reference *refs,
                                                      size_t n, struct priorities_list **l)
{
    struct fx f;
    fx_gap_fallback(&f);
    struct priorities_input in = fx_input(&f);
    in.gap_refs = refs;
    in.n_gap_refs = n;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(priorities_compute(&in, l, &err), 0);
    mat_errors_free(&err);
    return find(*l, PRIORITIES_KIND_GAP, NULL, "english", NULL);
}

static void test_gap_without_benchmarks(void **state)
{
    (void)state;
    struct priorities_list *l = NULL;
    /* No reference at all: the 2023-24 national reading, writing and maths gap, 67% - 45%
     * = 22 points; excess 18 -> 18 x 20 / 100 = 3.6. Never a gap of zero. */
    const struct priorities_item *t = run_gap_fallback(NULL, 0, &l);
    assert_non_null(t);
    assert_int_equal(t->gap_source, PRIORITIES_GAP_RWM);
    assert_true(fabs(t->national_gap - 0.22) < 1e-9);
    assert_int_equal(t->score_hundredths, 360);
    assert_string_equal(t->rationale,
                        "English: 40% of disadvantaged pupils across the trust (8 of 20) reach the "
                        "expected standard against 80% of their peers, a gap of 40 points — 18 "
                        "points wider than the national gap of 22 points for reading, writing and "
                        "maths combined in 2023-24 (disadvantaged 45%, other pupils 67%; no "
                        "national figures for both groups in English), though no single school is "
                        "past the threshold on its own.");
    char *json = item_json(t);
    assert_contains(json, "\"national_gap\":0.22,\"excess\":0.18,\"national_gap_source\":"
                          "\"rwm_combined\",\"national_gap_year\":\"2023-24\","
                          "\"national_gap_subject\":\"rwm\"");
    free(json);
    priorities_list_free(l);

    /* An earlier year with both groups for English wins over the combined gap; a later year
     * and a year whose gap is zero are never used; this year's row is not "earlier". */
    struct priorities_gap_reference refs[] = {
        {"english", "2022-23", 0.50, 0.70}, {"english", "2023-24", 0.60, 0.76},
        {"english", "2024-25", 0.70, 0.70}, {"english", "2026-27", 0.10, 0.90},
        {"rwm", "2024-25", 0.46, 0.68},
    };
    t = run_gap_fallback(refs, sizeof refs / sizeof refs[0], &l);
    assert_int_equal(t->gap_source, PRIORITIES_GAP_EARLIER_YEAR);
    assert_string_equal(t->gap_year, "2023-24");
    assert_true(fabs(t->national_gap - 0.16) < 1e-9);
    assert_int_equal(t->score_hundredths, 480); /* (40 - 16) x 20 / 100 */
    assert_contains(t->rationale, "24 points wider than the national gap of 16 points in English "
                                  "in 2023-24, the latest year with national figures for both "
                                  "groups, though");
    priorities_list_free(l);

    /* Only the combined gap of a later year: it is the most recent, so it is used. */
    t = run_gap_fallback(refs + 2, 3, &l);
    assert_int_equal(t->gap_source, PRIORITIES_GAP_RWM);
    assert_string_equal(t->gap_year, "2024-25");
    assert_true(fabs(t->national_gap - 0.22) < 1e-9);
    assert_contains(t->rationale, "in 2024-25 (disadvantaged 46%, other pupils 68%;");
    priorities_list_free(l);

    /* A bad reference row is an input error naming it. */
    struct priorities_gap_reference bad[] = {{"english", "2023-24", 0.5, 1.5}};
    struct fx f;
    fx_gap_fallback(&f);
    struct priorities_input in = fx_input(&f);
    in.gap_refs = bad;
    in.n_gap_refs = 1;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(priorities_compute(&in, &l, &err), -1);
    assert_string_equal(err.items[0].path, "/gap_refs/0");
    mat_errors_free(&err);
}

static void fx_trend(struct fx *f)
{
    fx_trust4(f);
    /* Alpha: 21/28 = 75% -> 15/30 = 50%: down 25 points, score 25 x 30 / 100 = 7.5. */
    fx_cell(f, A, "reading", "all", 30, 15);
    fx_prev(f, A, "reading", "all", 28, 21);
    /* Beta: 21/30 -> 18/30: 0.7 - 0.6 = 0.09999999999999998, i.e. 10 points: score 3. */
    fx_cell(f, B, "reading", "all", 30, 18);
    fx_prev(f, B, "reading", "all", 30, 21);
    /* Gamma: no cell last year: no trend. */
    fx_cell(f, C, "reading", "all", 30, 10);
    /* Delta: last year's cell of 5 < 6: no trend. */
    fx_cell(f, D, "reading", "all", 30, 5);
    fx_prev(f, D, "reading", "all", 5, 5);
    /* Trust: 47/63 = 74.6% -> 48/120 = 40%: down 34.6 points, 0.346032 x 120 = 41.52. */
    fx_cell(f, "", "reading", "all", 120, 48);
    fx_prev(f, "", "reading", "all", 63, 47);
}

static void test_trend(void **state)
{
    (void)state;
    struct fx f;
    fx_trend(&f);
    struct priorities_list *l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_TREND), 3);
    assert_null(find(l, PRIORITIES_KIND_TREND, C, "reading", NULL));
    assert_null(find(l, PRIORITIES_KIND_TREND, D, "reading", NULL));

    const struct priorities_item *a = find(l, PRIORITIES_KIND_TREND, A, "reading", "all");
    assert_non_null(a);
    assert_int_equal(a->score_hundredths, 750);
    assert_string_equal(a->rationale,
                        "Reading at Alpha Primary: 50% of pupils (15 of 30) reach the expected "
                        "standard this spring, down 25 points from 75% in spring 2024-25.");
    char *json = item_json(a);
    /* No benchmark: b is the trust's p(all) 0.4; gap 0.1; z = 0.1 / sqrt(0.24 / 30) = 1.118 */
    assert_contains(json, "\"metrics\":{\"n\":30,\"k\":15,\"p\":0.5,\"b\":0.4,\"gap\":0.1,"
                          "\"z\":1.118,\"deficit\":0,\"trend\":-0.25,"
                          "\"benchmark\":\"trust_average\",\"n_prev\":28,\"k_prev\":21,"
                          "\"p_prev\":0.75}");
    free(json);

    const struct priorities_item *b = find(l, PRIORITIES_KIND_TREND, B, "reading", "all");
    assert_non_null(b);
    assert_int_equal(b->score_hundredths, 300);

    const struct priorities_item *t = find(l, PRIORITIES_KIND_TREND, NULL, "reading", "all");
    assert_non_null(t);
    assert_int_equal(t->score_hundredths, 4152);
    assert_int_equal(t->n_schools, 2);
    assert_string_equal(t->schools[0], A);
    assert_string_equal(t->schools[1], B);
    assert_string_equal(t->rationale,
                        "Reading: 40% of pupils across the trust (48 of 120) reach the expected "
                        "standard this spring, down 35 points from 75% in spring 2024-25, with 2 "
                        "schools down 10 points or more on their own.");
    assert_true(index_of(l, t) == 0);
    priorities_list_free(l);

    /* A year that does not parse still gives a sentence. */
    fx_trend(&f);
    f.year = "next year";
    l = fx_run(&f);
    a = find(l, PRIORITIES_KIND_TREND, A, "reading", "all");
    assert_contains(a->rationale, "down 25 points from 75% in the same term last year.");
    priorities_list_free(l);

    /* No prior-year cells at all: no trend items, nothing else breaks. */
    fx_trend(&f);
    f.np = 0;
    l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_TREND), 0);
    priorities_list_free(l);
}

static void fx_sefs(struct fx *f)
{
    fx_trust4(f);
    fx_sef(f, A, "achievement", 2, "needs_attention", "ofsted_2025");
    fx_sef(f, B, "achievement", 1, "urgent_improvement", "ofsted_2025");
    fx_sef(f, C, "achievement", 4, "strong_standard", "ofsted_2025");
    fx_sef(f, A, "leadership_and_governance", 3, "expected_standard", "ofsted_2025");
    /* 2019 key judgements read as their 2025 area (leadership_and_governance). */
    fx_sef(f, B, "leadership_and_management", 2, "requires_improvement", "ofsted_2019");
    fx_sef(f, C, "leadership_and_management", 5, "outstanding", "ofsted_2019");
    /* Delta has no SEF. */
}

static void test_sef(void **state)
{
    (void)state;
    struct fx f;
    fx_sefs(&f);
    struct priorities_list *l = fx_run(&f);
    /* School: Alpha achievement (3 - 2) x 10 = 10, Beta achievement (3 - 1) x 10 = 20, Beta
     * leadership 10. Trust: achievement in 2 schools, 10 + 20 = 30; leadership in 1 of 4
     * schools = a quarter: 10. */
    assert_int_equal(l->count, 5);
    const struct priorities_item *t = l->items[0];
    assert_int_equal(t->level, PRIORITIES_LEVEL_TRUST);
    assert_string_equal(t->area, "achievement");
    assert_int_equal(t->score_hundredths, 3000);
    assert_int_equal(t->count, 2);
    assert_int_equal(t->of_schools, 4);
    assert_string_equal(t->rationale,
                        "Achievement is self-evaluated as a weakness by 2 of 4 schools in their "
                        "latest SEFs (1 urgent improvement, 1 needs attention).");
    char *json = item_json(t);
    assert_contains(json, "\"area\":\"achievement\",\"group\":null,\"schools\":[\"100001\","
                          "\"100002\"],\"metrics\":{\"schools\":2,\"of_schools\":4},\"score\":30,");
    assert_contains(json, "\"by_school\":[{\"urn\":\"100001\",\"ordinal\":2,\"grade\":"
                          "\"needs_attention\"},{\"urn\":\"100002\",\"ordinal\":1,\"grade\":"
                          "\"urgent_improvement\"}]}");
    free(json);

    const struct priorities_item *ba = l->items[1];
    assert_string_equal(ba->urn, B);
    assert_string_equal(ba->area, "achievement");
    assert_int_equal(ba->score_hundredths, 2000);
    /* Gamma (strong standard) is the only strong school: 0.4 degrees = 44.5 km from Beta. */
    assert_int_equal(ba->n_support, 1);
    assert_string_equal(ba->support[0].urn, C);
    assert_string_equal(ba->support[0].reason,
                        "Achievement graded strong standard in its latest SEF");
    assert_false(ba->support[0].same_phase);
    assert_true(fabs(ba->support[0].distance_km - 44.478) < 0.001);

    const struct priorities_item *aa = find(l, PRIORITIES_KIND_SEF, A, "achievement", NULL);
    assert_string_equal(aa->rationale,
                        "Alpha Primary self-evaluates achievement as needs attention in its "
                        "latest SEF.");
    json = item_json(aa);
    assert_contains(json, "\"metrics\":{\"ordinal\":2,\"grade\":\"needs_attention\","
                          "\"framework\":\"ofsted_2025\",\"sef_area\":\"achievement\"}");
    assert_contains(json, "\"distance_km\":55.6}");
    free(json);

    const struct priorities_item *bl =
        find(l, PRIORITIES_KIND_SEF, B, "leadership_and_governance", NULL);
    assert_non_null(bl);
    assert_string_equal(bl->id, "3f69f989f3dc5187");
    assert_string_equal(bl->sef_area, "leadership_and_management");
    assert_string_equal(bl->rationale,
                        "Beta Primary self-evaluates leadership and management as requires "
                        "improvement in its latest SEF (2019 framework).");
    /* The 2019 "outstanding" matches the 2025 area. */
    assert_int_equal(bl->n_support, 1);
    assert_string_equal(bl->support[0].urn, C);
    assert_string_equal(bl->support[0].reason,
                        "Leadership and management graded outstanding in its latest SEF");
    const struct priorities_item *tl =
        find(l, PRIORITIES_KIND_SEF, NULL, "leadership_and_governance", NULL);
    assert_non_null(tl);
    assert_string_equal(tl->id, "aefb78911f7efee2");
    /* Three items score 10: ids 3f69..., 7ad6... (sef|100001|achievement|), aefb... */
    assert_string_equal(l->items[2]->id, "3f69f989f3dc5187");
    assert_string_equal(l->items[3]->id, "7ad696d3d8053631");
    assert_string_equal(l->items[4]->id, "aefb78911f7efee2");
    /* Delta, with no SEF, appears nowhere. */
    for (size_t i = 0; i < l->count; i++)
        for (size_t j = 0; j < l->items[i]->n_schools; j++)
            assert_string_not_equal(l->items[i]->schools[j], D);
    priorities_list_free(l);

    /* A fifth school: one school of five is under a quarter, so leadership stays
     * school-level; achievement (two schools) stays trust-level. */
    fx_sefs(&f);
    fx_school(&f, E, "Epsilon Primary", "primary", false, 0, 0);
    l = fx_run(&f);
    assert_null(find(l, PRIORITIES_KIND_SEF, NULL, "leadership_and_governance", NULL));
    assert_non_null(find(l, PRIORITIES_KIND_SEF, B, "leadership_and_governance", NULL));
    t = find(l, PRIORITIES_KIND_SEF, NULL, "achievement", NULL);
    assert_int_equal(t->of_schools, 5);
    assert_contains(t->rationale, "by 2 of 5 schools");
    priorities_list_free(l);
}

static void test_shared_theme(void **state)
{
    (void)state;
    struct fx f;
    fx_trust4(&f);
    fx_theme(&f, A, "writing");
    fx_theme(&f, A, "writing"); /* two of Alpha's priorities: one school */
    fx_theme(&f, B, "writing");
    fx_theme(&f, C, "writing");
    fx_theme(&f, D, "maths"); /* two schools: not shared enough */
    fx_theme(&f, A, "maths");
    fx_theme(&f, B, "send");
    fx_theme(&f, C, "send");
    fx_theme(&f, D, "send");
    struct priorities_list *l = fx_run(&f);
    assert_int_equal(l->count, 2);
    /* Both score 3 x 5 = 15: ids ascending, "66f75046..." (writing) before "75f50675..." (send). */
    assert_string_equal(l->items[0]->theme, "writing");
    assert_string_equal(l->items[0]->id, "66f7504699dfc9f2");
    assert_string_equal(l->items[1]->theme, "send");
    assert_string_equal(l->items[1]->id, "75f506755b9ddbd8");
    assert_int_equal(l->items[0]->score_hundredths, 1500);
    assert_int_equal(l->items[1]->score_hundredths, 1500);
    assert_int_equal(l->items[0]->n_schools, 3);
    assert_string_equal(l->items[0]->schools[0], A);
    assert_string_equal(l->items[0]->schools[2], C);
    assert_string_equal(l->items[0]->rationale,
                        "Writing is a theme of SIP priorities in 3 schools — a case for one "
                        "trust-wide work group.");
    assert_string_equal(l->items[1]->rationale,
                        "SEND is a theme of SIP priorities in 3 schools — a case for one "
                        "trust-wide work group.");
    char *json = item_json(l->items[0]);
    assert_contains(json, "\"kind\":\"shared_theme\",\"theme\":\"writing\",\"group\":null,"
                          "\"schools\":[\"100001\",\"100002\",\"100003\"],\"metrics\":"
                          "{\"schools\":3},\"score\":15,");
    free(json);
    priorities_list_free(l);
}

static void fx_stuck_pupils(struct fx *f)
{
    fx_trust4(f);
    fx_stuck(f, A, "maths", "aa03");
    fx_stuck(f, A, "maths", "aa01");
    fx_stuck(f, A, "maths", "aa02");
    fx_stuck(f, A, "maths", "aa02"); /* the same pupil twice counts once */
    fx_stuck(f, B, "maths", "bb09");
    /* Gamma's maths is significantly above 0.7: 36/40, z = 0.2 / sqrt(0.21 / 40) = 2.760. */
    fx_bench(f, "maths", "all", 0.7);
    fx_cell(f, C, "maths", "all", 40, 36);
    /* Alpha 20/30 (z -0.40) and Beta 12/20 (z -0.98): not significantly below. */
    fx_cell(f, A, "maths", "all", 30, 20);
    fx_cell(f, B, "maths", "all", 20, 12);
    /* The trust: 50/100 against 0.7, z = -4.364, deficit 20: the host of the stuck count. */
    fx_cell(f, "", "maths", "all", 100, 50);
}

static void test_stuck_pupils(void **state)
{
    (void)state;
    struct fx f;
    fx_stuck_pupils(&f);
    struct priorities_list *l = fx_run(&f);
    /* No trust-level stuck item: the trust attainment item, then the two schools. */
    assert_int_equal(l->count, 3);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_STUCK_PUPILS), 2);
    const struct priorities_item *t = l->items[0];
    assert_int_equal(t->level, PRIORITIES_LEVEL_TRUST);
    assert_int_equal(t->kind, PRIORITIES_KIND_ATTAINMENT);
    assert_int_equal(t->score_hundredths, 2000);
    assert_non_null(t->stuck);
    assert_int_equal(t->stuck->count, 4);
    assert_int_equal(t->stuck->n, 100);
    assert_int_equal(t->stuck->n_by_school, 2);
    assert_int_equal(t->stuck->by_school[0].count, 3);
    assert_int_equal(t->stuck->by_school[1].count, 1);
    assert_string_equal(t->rationale,
                        "Maths: 50% of pupils across the trust (50 of 100) reach the expected "
                        "standard against 70% nationally — 20 pupils short, though no single "
                        "school is significantly below on its own; 4 pupils (4%) in 2 schools "
                        "have been below the expected standard in each of the last three terms.");
    /* Alpha: 3 of 30 = 10 points; Beta: 1 of 20 = 5 points. */
    const struct priorities_item *a = l->items[1];
    assert_string_equal(a->urn, A);
    assert_int_equal(a->score_hundredths, 1000);
    assert_int_equal(a->n_pupils, 3);
    assert_string_equal(a->pupils[0], "aa01");
    assert_string_equal(a->pupils[2], "aa03");
    assert_string_equal(a->rationale,
                        "Maths at Alpha Primary: 3 pupils (10% of 30) have been below the "
                        "expected standard in each of the last three terms.");
    assert_int_equal(a->n_support, 1);
    assert_string_equal(a->support[0].urn, C);
    assert_string_equal(a->support[0].reason,
                        "90% of pupils (36 of 40) reach the expected standard in maths against 70% "
                        "nationally");
    assert_int_equal(l->items[2]->score_hundredths, 500);
    assert_string_equal(l->items[2]->rationale,
                        "Maths at Beta Primary: 1 pupil (5% of 20) has been below the expected "
                        "standard in each of the last three terms.");

    /* Keys only with the flag, and only on the school-level item. */
    char *plain = priorities_to_json(l, NULL, NULL);
    assert_null(strstr(plain, "aa01"));
    assert_null(strstr(plain, "\"pupils\""));
    struct priorities_output_opts keys = {.include_pupil_keys = true};
    char *with = priorities_to_json(l, &keys, NULL);
    assert_contains(with, "\"pupils\":[\"aa01\",\"aa02\",\"aa03\"]}");
    assert_contains(with, "\"pupils\":[\"bb09\"]}");
    assert_contains(with, "\"metrics\":{\"count\":3,\"n\":30,\"share\":0.1}");
    assert_contains(with, "\"stuck\":{\"count\":4,\"n\":100,\"share\":0.04,\"by_school\":["
                          "{\"urn\":\"100001\",\"count\":3},{\"urn\":\"100002\",\"count\":1}]}}");
    json_error_t jerr;
    json_t *root = json_loads(with, 0, &jerr);
    assert_non_null(root);
    json_t *trust = json_array_get(json_object_get(root, "items"), 0);
    assert_null(json_object_get(trust, "pupils"));
    json_decref(root);
    /* Options without the flag (an executive head's view of Alpha): still no keys, and the
     * trust count per school shows Alpha only. */
    const char *only_a[] = {A};
    struct priorities_output_opts no_keys = {.visible_schools = only_a, .n_visible_schools = 1};
    char *scoped = priorities_to_json(l, &no_keys, NULL);
    assert_null(strstr(scoped, "aa01"));
    assert_contains(scoped, "\"by_school\":[{\"urn\":\"100001\",\"count\":3}]}");
    /* The flag with Alpha visible only: Alpha's keys, not Beta's. */
    keys.visible_schools = only_a;
    keys.n_visible_schools = 1;
    char *alpha = priorities_to_json(l, &keys, NULL);
    assert_contains(alpha, "\"pupils\":[\"aa01\",\"aa02\",\"aa03\"]}");
    assert_null(strstr(alpha, "bb09"));
    /* CSV: the last column, ';'-joined, only with the flag. */
    char *csv = priorities_to_csv(l, &keys, NULL);
    assert_contains(csv, ",100003,aa01;aa02;aa03\r\n");
    assert_null(strstr(csv, "bb09"));
    free(csv);
    csv = priorities_to_csv(l, &no_keys, NULL);
    assert_null(strstr(csv, "aa01"));
    free(csv);
    free(alpha);
    free(scoped);
    free(plain);
    free(with);
    priorities_list_free(l);

    /* No stuck pupils: no items of the kind, and nothing rides on the trust item. */
    fx_stuck_pupils(&f);
    f.nst = 0;
    l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_STUCK_PUPILS), 0);
    assert_null(find(l, PRIORITIES_KIND_ATTAINMENT, NULL, "maths", "all")->stuck);
    priorities_list_free(l);

    /* No trust attainment item: the count rides on the trust trend item (down 20 points,
     * 70/100 -> 50/100) and the benchmark no longer makes the trust cell "below". */
    fx_stuck_pupils(&f);
    f.bench[0].expected = 0.5;
    fx_prev(&f, "", "maths", "all", 100, 70);
    l = fx_run(&f);
    assert_null(find(l, PRIORITIES_KIND_ATTAINMENT, NULL, "maths", NULL));
    const struct priorities_item *tr = find(l, PRIORITIES_KIND_TREND, NULL, "maths", "all");
    assert_non_null(tr);
    assert_non_null(tr->stuck);
    assert_int_equal(tr->stuck->count, 4);
    assert_contains(tr->rationale, "; 4 pupils (4%) in 2 schools have been below");
    priorities_list_free(l);

    /* Neither: the schools' items stand, and no trust-level item of the kind appears. */
    fx_stuck_pupils(&f);
    f.bench[0].expected = 0.5;
    l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_STUCK_PUPILS), 2);
    for (size_t i = 0; i < l->count; i++) {
        assert_int_equal(l->items[i]->level, PRIORITIES_LEVEL_SCHOOL);
        assert_null(l->items[i]->stuck && l->items[i]->kind != PRIORITIES_KIND_STUCK_PUPILS
                        ? l->items[i]
                        : NULL);
    }
    priorities_list_free(l);
}

/* ---- support (SPEC 6.4) ------------------------------------------------------------- */

#define R "200001"
#define P1 "200002"
#define P2 "200003"
#define P3 "200004"
#define S1 "200005"
#define S2 "200006"

/* Receiver below on writing (5/30 vs 0.5: z -3.651, deficit 10); every other school above
 * (25/30: z +3.651). Distances from the receiver: P1 11.1 km, P2 55.6 km, P3 unknown, S1
 * and S2 0 km but secondary. */
static void fx_support(struct fx *f, bool with_p3)
{
    fx_init(f);
    fx_school(f, S2, "Second Secondary", "secondary", true, 52.0, -1.0);
    fx_school(f, P2, "Far Primary", "primary", true, 52.5, -1.0);
    fx_school(f, R, "Receiver Primary", "primary", true, 52.0, -1.0);
    fx_school(f, S1, "First Secondary", "secondary", true, 52.0, -1.0);
    fx_school(f, P1, "Near Primary", "primary", true, 52.1, -1.0);
    fx_school(f, P3, "Unmapped Primary", "primary", false, 0, 0);
    fx_bench(f, "writing", "all", 0.5);
    fx_cell(f, R, "writing", "all", 30, 5);
    fx_cell(f, P1, "writing", "all", 30, 25);
    fx_cell(f, P2, "writing", "all", 30, 25);
    if (with_p3)
        fx_cell(f, P3, "writing", "all", 30, 25);
    fx_cell(f, S1, "writing", "all", 30, 25);
    fx_cell(f, S2, "writing", "all", 30, 25);
}

static void test_support_phase_then_distance(void **state)
{
    (void)state;
    struct fx f;
    fx_support(&f, true);
    struct priorities_list *l = fx_run(&f);
    const struct priorities_item *it = find(l, PRIORITIES_KIND_ATTAINMENT, R, "writing", "all");
    assert_non_null(it);
    assert_int_equal(it->score_hundredths, 1000);
    /* Same phase first (P1 11.1 km, P2 55.6 km, then P3 whose distance is unknown), at
     * most three, although the secondaries are closer. */
    assert_int_equal(it->n_support, 3);
    assert_string_equal(it->support[0].urn, P1);
    assert_string_equal(it->support[1].urn, P2);
    assert_string_equal(it->support[2].urn, P3);
    assert_true(it->support[0].same_phase);
    assert_true(fabs(it->support[0].distance_km - 11.119) < 0.001);
    assert_true(fabs(it->support[1].distance_km - 55.597) < 0.001);
    assert_false(it->support[2].has_distance);
    assert_string_equal(it->support[0].reason,
                        "83% of pupils (25 of 30) reach the expected standard in writing against "
                        "50% nationally");
    char *json = item_json(it);
    assert_contains(json, "\"support\":[{\"urn\":\"200002\",\"name\":\"Near Primary\","
                          "\"reason\":\"83% of pupils (25 of 30) reach the expected standard in "
                          "writing against 50% nationally\",\"same_phase\":true,"
                          "\"distance_km\":11.1},");
    assert_contains(json, "\"same_phase\":true,\"distance_km\":null}]");
    free(json);
    priorities_list_free(l);

    /* Without P3 the third place goes to the nearest other-phase school; S1 and S2 are
     * both 0 km away, so the lower URN (S1) wins. */
    fx_support(&f, false);
    l = fx_run(&f);
    it = find(l, PRIORITIES_KIND_ATTAINMENT, R, "writing", "all");
    assert_int_equal(it->n_support, 3);
    assert_string_equal(it->support[0].urn, P1);
    assert_string_equal(it->support[1].urn, P2);
    assert_string_equal(it->support[2].urn, S1);
    assert_false(it->support[2].same_phase);
    assert_true(it->support[2].distance_km == 0.0);
    priorities_list_free(l);

    /* A receiver of unknown phase has no same-phase givers: nearest first (S1, S2 at 0 km,
     * URN order), then P1. */
    fx_support(&f, true);
    f.schools[2].phase = NULL;
    l = fx_run(&f);
    it = find(l, PRIORITIES_KIND_ATTAINMENT, R, "writing", "all");
    assert_string_equal(it->support[0].urn, S1);
    assert_string_equal(it->support[1].urn, S2);
    assert_string_equal(it->support[2].urn, P1);
    priorities_list_free(l);

    /* A receiver without a location: same phase first, then URN. */
    fx_support(&f, true);
    f.schools[2].has_location = false;
    l = fx_run(&f);
    it = find(l, PRIORITIES_KIND_ATTAINMENT, R, "writing", "all");
    assert_string_equal(it->support[0].urn, P1);
    assert_string_equal(it->support[1].urn, P2);
    assert_string_equal(it->support[2].urn, P3);
    for (size_t i = 0; i < 3; i++)
        assert_false(it->support[i].has_distance);
    priorities_list_free(l);
}

static void test_support_never_self(void **state)
{
    (void)state;
    struct fx f;
    fx_support(&f, true);
    /* The receiver's disadvantaged pupils are themselves significantly above their
     * benchmark (16/20 vs 0.5: z 2.683), yet the gap to its other pupils (20/20) is
     * 20 points against a national 10: excess 0.09999999999999998, i.e. 10 points. */
    fx_bench(&f, "writing", "disadvantaged", 0.5);
    fx_bench(&f, "writing", "not_disadvantaged", 0.6);
    fx_cell(&f, R, "writing", "disadvantaged", 20, 16);
    fx_cell(&f, R, "writing", "not_disadvantaged", 20, 20);
    fx_cell(&f, P2, "writing", "disadvantaged", 20, 16);
    struct priorities_list *l = fx_run(&f);
    const struct priorities_item *it = find(l, PRIORITIES_KIND_GAP, R, "writing", NULL);
    assert_non_null(it);
    assert_int_equal(it->score_hundredths, 200); /* 10 x 20 / 100 */
    assert_int_equal(it->n_support, 1);
    assert_string_equal(it->support[0].urn, P2);
    for (size_t i = 0; i < l->count; i++)
        for (size_t g = 0; g < l->items[i]->n_support; g++)
            assert_string_not_equal(l->items[i]->support[g].urn, l->items[i]->urn);
    priorities_list_free(l);
}

static void test_support_json(void **state)
{
    (void)state;
    struct fx f;
    fx_support(&f, true);
    fx_sef(&f, R, "achievement", 2, "needs_attention", "ofsted_2025");
    fx_theme(&f, R, "writing");
    fx_theme(&f, P1, "writing");
    fx_theme(&f, P2, "writing");
    struct priorities_list *l = fx_run(&f);
    size_t len;
    char *json = priorities_support_to_json(l, &len);
    assert_int_equal(len, strlen(json));
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "year")), "2025-26");
    json_t *items = json_object_get(root, "items");
    /* School-level only: writing attainment (10) then the SEF area (10); the theme is
     * trust-level. Scores tie at 10: by id. */
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(items, i);
        assert_string_equal(json_string_value(json_object_get(x, "receiver")), R);
        assert_string_equal(json_string_value(json_object_get(x, "priority_id")),
                            l->items[i + (l->items[0]->level == PRIORITIES_LEVEL_TRUST)]->id);
    }
    assert_contains(json, "{\"receiver\":\"200001\",\"priority_id\":\"");
    assert_contains(json, "\"kind\":\"attainment\",\"subject\":\"writing\",\"group\":\"all\","
                          "\"score\":10,\"givers\":[{\"urn\":\"200002\",");
    assert_contains(json, "\"kind\":\"sef\",\"area\":\"achievement\",\"group\":null,"
                          "\"score\":10,\"givers\":[]}");
    json_decref(root);
    free(json);
    priorities_list_free(l);
}

/* ---- lists, views and output -------------------------------------------------------- */

/* Everything at once, for the determinism and output tests. */
static void fx_all(struct fx *f)
{
    fx_gap(f);
    fx_cell(f, "", "writing", "disadvantaged", 100, 41);
    fx_cell(f, A, "writing", "disadvantaged", 30, 6);
    fx_cell(f, B, "writing", "disadvantaged", 30, 15);
    fx_cell(f, C, "writing", "disadvantaged", 35, 20);
    fx_cell(f, D, "writing", "disadvantaged", 5, 0);
    fx_bench(f, "writing", "disadvantaged", 0.59);
    fx_cell(f, A, "reading", "all", 30, 15);
    fx_prev(f, A, "reading", "all", 28, 21);
    fx_cell(f, "", "reading", "all", 120, 48);
    fx_prev(f, "", "reading", "all", 63, 47);
    fx_sef(f, A, "achievement", 2, "needs_attention", "ofsted_2025");
    fx_sef(f, B, "achievement", 1, "urgent_improvement", "ofsted_2025");
    fx_sef(f, C, "achievement", 4, "strong_standard", "ofsted_2025");
    fx_theme(f, A, "writing");
    fx_theme(f, B, "writing");
    fx_theme(f, C, "writing");
    fx_stuck(f, A, "maths", "aa01");
    fx_stuck(f, A, "maths", "aa02");
    fx_stuck(f, B, "maths", "bb09");
}

/* Reverses then rotates every input array: a different row order, the same content. */
#define SHUFFLE(arr, n)                                                                            \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (n) / 2; i_++) {                                                  \
            __typeof__((arr)[0]) tmp_ = (arr)[i_];                                                 \
            (arr)[i_] = (arr)[(n)-1 - i_];                                                         \
            (arr)[(n)-1 - i_] = tmp_;                                                              \
        }                                                                                          \
        if ((n) > 2) {                                                                             \
            __typeof__((arr)[0]) first_ = (arr)[0];                                                \
            memmove(&(arr)[0], &(arr)[1], ((n)-1) * sizeof((arr)[0]));                             \
            (arr)[(n)-1] = first_;                                                                 \
        }                                                                                          \
    } while (0)

static void test_determinism(void **state)
{
    (void)state;
    struct fx f;
    fx_all(&f);
    struct priorities_list *l1 = fx_run(&f);
    struct priorities_output_opts keys = {.include_pupil_keys = true};
    size_t len1, len2;
    char *j1 = priorities_to_json(l1, &keys, &len1);
    char *j1b = priorities_to_json(l1, &keys, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(j1, j1b, len1);
    char *c1 = priorities_to_csv(l1, &keys, NULL);
    char *s1 = priorities_support_to_json(l1, NULL);

    SHUFFLE(f.schools, f.ns);
    SHUFFLE(f.cells, f.nc);
    SHUFFLE(f.prev, f.np);
    SHUFFLE(f.bench, f.nb);
    SHUFFLE(f.sef, f.nsef);
    SHUFFLE(f.themes, f.nt);
    SHUFFLE(f.stuck, f.nst);
    struct priorities_list *l2 = fx_run(&f);
    char *j2 = priorities_to_json(l2, &keys, &len2);
    char *c2 = priorities_to_csv(l2, &keys, NULL);
    char *s2 = priorities_support_to_json(l2, NULL);
    assert_string_equal(j1, j2);
    assert_string_equal(c1, c2);
    assert_string_equal(s1, s2);

    /* Sorted by score descending, then id ascending. */
    for (size_t i = 1; i < l1->count; i++) {
        const struct priorities_item *x = l1->items[i - 1], *y = l1->items[i];
        assert_true(x->score_hundredths > y->score_hundredths ||
                    (x->score_hundredths == y->score_hundredths && strcmp(x->id, y->id) < 0));
    }
    /* Valid JSON, keys in the documented order. */
    json_error_t jerr;
    json_t *root = json_loads(j1, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_array_size(json_object_get(root, "items")), l1->count);
    json_decref(root);
    assert_true(
        strncmp(j1, "{\"year\":\"2025-26\",\"term\":\"spring\",\"items\":[{\"id\":\"", 50) == 0);

    free(j1);
    free(j1b);
    free(c1);
    free(s1);
    free(j2);
    free(c2);
    free(s2);
    priorities_list_free(l1);
    priorities_list_free(l2);
}

static void test_filters_and_views(void **state)
{
    (void)state;
    struct fx f;
    fx_all(&f);
    struct priorities_list *l = fx_run(&f);

    struct priorities_filter by_kind = {.kind = PRIORITIES_KIND_GAP};
    struct priorities_list *v = priorities_filter(l, &by_kind);
    assert_int_equal(v->count, count_kind(l, PRIORITIES_KIND_GAP));
    assert_int_equal(v->count, 4);
    priorities_list_free(v);

    struct priorities_filter trust = {.level = PRIORITIES_LEVEL_TRUST};
    v = priorities_filter(l, &trust);
    for (size_t i = 0; i < v->count; i++)
        assert_int_equal(v->items[i]->level, PRIORITIES_LEVEL_TRUST);
    assert_true(v->count > 0);
    priorities_list_free(v);

    /* subject=writing: the writing cells and the shared "writing" theme, nothing else. */
    struct priorities_filter writing = {.subject = "writing"};
    v = priorities_filter(l, &writing);
    assert_int_equal(v->count, 3); /* trust attainment, Alpha attainment, shared theme */
    for (size_t i = 0; i < v->count; i++)
        assert_true((v->items[i]->subject && !strcmp(v->items[i]->subject, "writing")) ||
                    (v->items[i]->theme && !strcmp(v->items[i]->theme, "writing")));
    priorities_list_free(v);

    /* Beta's view: its own items, and trust items it is part of; never Alpha's own. */
    v = priorities_school_view(l, B);
    bool saw_trust_theme = false;
    for (size_t i = 0; i < v->count; i++) {
        const struct priorities_item *it = v->items[i];
        assert_true(priorities_item_concerns(it, B));
        if (it->level == PRIORITIES_LEVEL_SCHOOL)
            assert_string_equal(it->urn, B);
        saw_trust_theme |= it->kind == PRIORITIES_KIND_SHARED_THEME;
    }
    assert_true(saw_trust_theme);
    /* The trust writing attainment item's breadth is Alpha alone: not in Beta's view. */
    assert_null(find(v, PRIORITIES_KIND_ATTAINMENT, NULL, "writing", NULL));
    /* Restricting the visible schools hides the others' URNs and counts. */
    const char *only_b[] = {B};
    struct priorities_output_opts o = {.visible_schools = only_b, .n_visible_schools = 1};
    char *json = priorities_to_json(v, &o, NULL);
    assert_null(strstr(json, "\"schools\":[\"100001\""));
    assert_null(strstr(json, "{\"urn\":\"100001\",\"count\""));
    assert_contains(json, "\"schools\":[\"100002\"]");
    free(json);
    priorities_list_free(v);

    /* Combined filters. */
    struct priorities_filter combo = {
        .level = PRIORITIES_LEVEL_SCHOOL, .kind = PRIORITIES_KIND_SEF, .school = A};
    v = priorities_filter(l, &combo);
    assert_int_equal(v->count, 1);
    assert_string_equal(v->items[0]->area, "achievement");
    priorities_list_free(v);

    /* An executive head of Gamma and Delta: all trust items, their schools' own items. */
    const char *exec[] = {C, D};
    v = priorities_scope_view(l, exec, 2);
    size_t trust_items = 0;
    for (size_t i = 0; i < l->count; i++)
        trust_items += l->items[i]->level == PRIORITIES_LEVEL_TRUST;
    assert_int_equal(v->count, trust_items); /* Gamma and Delta have no school items */
    priorities_list_free(v);
    priorities_list_free(l);
}

static void test_csv(void **state)
{
    (void)state;
    struct fx f;
    fx_attainment(&f);
    fx_sef(&f, B, "achievement", 2, "needs_attention", "ofsted_2025");
    f.schools[1].name = "=HYPERLINK(\"x\")"; /* a name a spreadsheet would run */
    struct priorities_list *l = fx_run(&f);
    char *csv = priorities_to_csv(l, NULL, NULL);
    const char *header = "year,term,id,level,kind,subject,area,theme,group,schools,n,k,p,b,gap,"
                         "z,deficit,trend,benchmark,score,rationale,support,pupils\r\n";
    assert_true(strncmp(csv, header, strlen(header)) == 0);
    size_t lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, l->count + 1);
    assert_contains(csv, "\r\n2025-26,spring,d9b824bb5f56b4c4,trust,attainment,writing,,,"
                         "disadvantaged,100001,100,41,0.41,0.59,-0.18,-3.66,18,,national,18,"
                         "\"Writing: 41% of disadvantaged pupils across the trust (41 of 100) "
                         "reach the expected standard against 59% nationally — 18 pupils short, "
                         "with 1 school significantly below on its own.\",,\r\n");
    /* The SEF rationale starts with the school's name: quoted, apostrophe first, inner
     * quotes doubled. */
    assert_contains(csv, ",school,sef,,achievement,,,100002,,,,,,,,,,10,\"'=HYPERLINK(");
    assert_contains(csv, ",\"'=HYPERLINK(\"\"x\"\") self-evaluates achievement as needs "
                         "attention in its latest SEF.\",");
    free(csv);
    priorities_list_free(l);
}

static void test_empty_and_unknown_schools(void **state)
{
    (void)state;
    struct fx f;
    fx_trust4(&f);
    /* Rows about a school that is not in the list are ignored, not an error. */
    fx_cell(&f, "999999", "writing", "all", 30, 0);
    fx_bench(&f, "writing", "all", 0.9);
    fx_sef(&f, "999999", "achievement", 1, "urgent_improvement", "ofsted_2025");
    fx_theme(&f, "999999", "writing");
    fx_stuck(&f, "999999", "maths", "cc01");
    struct priorities_list *l = fx_run(&f);
    assert_int_equal(l->count, 0);
    char *json = priorities_to_json(l, NULL, NULL);
    assert_string_equal(json, "{\"year\":\"2025-26\",\"term\":\"spring\",\"items\":[]}");
    free(json);
    json = priorities_support_to_json(l, NULL);
    assert_string_equal(json, "{\"year\":\"2025-26\",\"term\":\"spring\",\"items\":[]}");
    free(json);
    priorities_list_free(l);

    /* A school without a name reads as "school <URN>". */
    fx_attainment(&f);
    f.schools[0].name = NULL;
    l = fx_run(&f);
    assert_contains(l->items[1]->rationale, "Writing at school 100001: 20%");
    priorities_list_free(l);
}

static void expect_error(struct fx *f, const char *path)
{
    struct priorities_input in = fx_input(f);
    struct priorities_list dummy;
    struct priorities_list *list = &dummy; /* must be reset to NULL */
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(priorities_compute(&in, &list, &err), -1);
    assert_null(list);
    assert_true(err.count >= 1);
    bool found = false;
    for (size_t i = 0; i < err.count; i++)
        found |= !strcmp(err.items[i].path, path);
    if (!found)
        fail_msg("no error at %s (first: %s %s)", path, err.items[0].path, err.items[0].message);
    mat_errors_free(&err);
    /* And without an error list. */
    assert_int_equal(priorities_compute(&in, &list, NULL), -1);
}

static void test_invalid_input(void **state)
{
    (void)state;
    struct fx f;
    fx_trust4(&f);
    fx_cell(&f, A, "writing", "all", 10, 11);
    expect_error(&f, "/cells/0/k");

    fx_trust4(&f);
    fx_cell(&f, A, "writing", "all", 10, 5);
    fx_cell(&f, A, "writing", "all", 12, 5);
    expect_error(&f, "/cells/1");

    fx_trust4(&f);
    fx_prev(&f, A, "writing", "all", -1, 0);
    expect_error(&f, "/prev_cells/0/k");

    fx_trust4(&f);
    fx_bench(&f, "writing", "all", 1.5);
    expect_error(&f, "/benchmarks/0/expected");

    fx_trust4(&f);
    fx_sef(&f, A, "achievement", 6, "x", "ofsted_2025");
    expect_error(&f, "/sef/0/ordinal");

    fx_trust4(&f);
    fx_sef(&f, A, "leadership_and_governance", 2, "needs_attention", "ofsted_2025");
    fx_sef(&f, A, "leadership_and_management", 2, "requires_improvement", "ofsted_2019");
    expect_error(&f, "/sef/1/area");

    fx_trust4(&f);
    f.t.min_cohort = 0;
    expect_error(&f, "/thresholds/min_cohort");

    fx_trust4(&f);
    fx_school(&f, A, "Alpha again", "primary", false, 0, 0);
    expect_error(&f, "/schools");

    fx_trust4(&f);
    f.schools[0].lat = 123.0;
    expect_error(&f, "/schools/0/lat");
}

/* Thresholds are the trust's: a looser z_crit and min_cohort change what is flagged. */
static void test_custom_thresholds(void **state)
{
    (void)state;
    struct fx f;
    fx_attainment(&f);
    f.t.min_cohort = 5; /* Delta's 0/5 now counts: z = -0.59 / sqrt(0.2419 / 5) = -2.682 */
    struct priorities_list *l = fx_run(&f);
    assert_non_null(find(l, PRIORITIES_KIND_ATTAINMENT, D, "writing", NULL));
    const struct priorities_item *t = find(l, PRIORITIES_KIND_ATTAINMENT, NULL, "writing", NULL);
    assert_int_equal(t->n_schools, 2); /* Alpha and Delta */
    priorities_list_free(l);

    fx_attainment(&f);
    f.t.z_crit = 1.0; /* Beta's z -1.002 now counts */
    l = fx_run(&f);
    assert_non_null(find(l, PRIORITIES_KIND_ATTAINMENT, B, "writing", NULL));
    priorities_list_free(l);

    fx_trend(&f);
    f.t.trend_points = 30; /* only the trust's 34.6-point drop remains */
    l = fx_run(&f);
    assert_int_equal(count_kind(l, PRIORITIES_KIND_TREND), 1);
    assert_contains(l->items[0]->rationale,
                    "in spring 2024-25, though no single school is down 30 points or more on "
                    "its own.");
    priorities_list_free(l);
}

/* ---- small cohorts (SPEC §8) --------------------------------------------------------- */

static struct suppress_mask *fx_mask(const struct fx *f)
{
    struct suppress_cell sc[FX_MAX];
    for (size_t i = 0; i < f->nc; i++)
        sc[i] = (struct suppress_cell){f->cells[i].scope, f->cells[i].subject, NULL,
                                       f->cells[i].group, f->cells[i].n};
    const struct suppress_rule rule = {f->t.min_cohort, f->t.complementary_suppression};
    struct suppress_mask *m = suppress_compute(sc, f->nc, &rule, NULL, 0, NULL);
    assert_non_null(m);
    return m;
}

/* Writing: Delta's 5 pupils are too few; the trust's 100 less the others would give them.
 * Gamma's 10 of 25 is significantly below 80%. Maths: the same shape; Gamma's 25 of 25 is
 * significantly above. Stuck pupils in writing at Alpha and at Delta (a share of its 5). */
static void fx_small_cohorts(struct fx *f)
{
    fx_trust4(f);
    fx_bench(f, "writing", "all", 0.8);
    fx_bench(f, "maths", "all", 0.8);
    fx_cell(f, "", "writing", "all", 100, 60);
    fx_cell(f, A, "writing", "all", 40, 20);
    fx_cell(f, B, "writing", "all", 30, 29);
    fx_cell(f, C, "writing", "all", 25, 10);
    fx_cell(f, D, "writing", "all", 5, 1);
    fx_cell(f, "", "maths", "all", 100, 66);
    fx_cell(f, A, "maths", "all", 40, 20);
    fx_cell(f, B, "maths", "all", 30, 20);
    fx_cell(f, C, "maths", "all", 25, 25);
    fx_cell(f, D, "maths", "all", 5, 1);
    fx_stuck(f, A, "writing", "00000000000000000000000000000001");
    fx_stuck(f, D, "writing", "00000000000000000000000000000002");
}

/* The default rule (SPEC §8): only Delta's cells of 5 are withheld. Every item on a cell of
 * 6 or more reaches the CEO, Gamma's writing among them, and Gamma gives Alpha support in
 * maths; what rests on Delta's 5 (its stuck pupils, and Delta's count on the trust's item)
 * reaches only Delta. */
static void test_small_cohorts_default(void **state)
{
    (void)state;
    struct fx f;
    fx_small_cohorts(&f);
    struct suppress_mask *m = fx_mask(&f);
    priorities_mark_withheld(f.cells, f.nc, m);
    for (size_t i = 0; i < f.nc; i++)
        assert_int_equal(f.cells[i].withheld, f.cells[i].n < 6);
    struct priorities_list *l = fx_run(&f);
    const struct priorities_item *am = find(l, PRIORITIES_KIND_ATTAINMENT, A, "maths", "all");
    assert_int_equal(am->n_support, 1);
    assert_string_equal(am->support[0].urn, C); /* 25 of 25 */

    struct priorities_cohort ceo = {.now = m};
    struct priorities_list *v = priorities_cohort_view(l, &ceo);
    assert_int_equal(v->count, l->count - 1);
    assert_null(find(v, PRIORITIES_KIND_STUCK_PUPILS, D, "writing", NULL));
    const struct priorities_item *gw = find(v, PRIORITIES_KIND_ATTAINMENT, C, "writing", "all");
    assert_non_null(gw);
    assert_int_equal(gw->cell.n, 25);
    assert_int_equal(find(v, PRIORITIES_KIND_ATTAINMENT, A, "maths", "all")->n_support, 1);
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i]->kind != PRIORITIES_KIND_STUCK_PUPILS || strcmp(l->items[i]->urn, D) != 0)
            assert_false(priorities_item_withheld(l->items[i], &ceo));
    assert_null(find(v, PRIORITIES_KIND_ATTAINMENT, NULL, "writing", "all")->stuck);
    priorities_list_free(v);
    suppress_free(m);
    priorities_list_free(l);
}

/* With complementary suppression: items standing on a cell withheld from the reader are not
 * shown to them (the school itself still sees its own); a withheld cell is never a giver; a
 * trust count of stuck pupils with a school whose cohort is withheld is left off the
 * trust's item. */
static void test_small_cohorts(void **state)
{
    (void)state;
    struct fx f;
    fx_small_cohorts(&f);
    f.t.complementary_suppression = true;
    /* Writing: the trust's 100 less the others would give Delta's 5, so Gamma's 25 (the
     * smallest other school) is withheld too, and its item only Gamma itself may see.
     * Maths: Gamma's 25 of 25 is withheld, so it gives Alpha no support. */
    struct suppress_mask *m = fx_mask(&f);
    priorities_mark_withheld(f.cells, f.nc, m);
    assert_true(f.cells[3].withheld && f.cells[4].withheld && !f.cells[2].withheld);
    struct priorities_list *l = fx_run(&f);

    const struct priorities_item *gw = find(l, PRIORITIES_KIND_ATTAINMENT, C, "writing", "all");
    const struct priorities_item *am = find(l, PRIORITIES_KIND_ATTAINMENT, A, "maths", "all");
    const struct priorities_item *aw = find(l, PRIORITIES_KIND_ATTAINMENT, A, "writing", "all");
    const struct priorities_item *tw = find(l, PRIORITIES_KIND_ATTAINMENT, NULL, "writing", "all");
    assert_non_null(gw);
    assert_non_null(am);
    assert_int_equal(am->n_support, 0); /* not Gamma */
    assert_int_equal(aw->n_support, 1);
    assert_string_equal(aw->support[0].urn, B);
    assert_non_null(tw->stuck);
    assert_int_equal(tw->stuck->count, 2);

    struct priorities_cohort ceo = {.now = m};
    assert_true(priorities_item_withheld(gw, &ceo));
    assert_false(priorities_item_withheld(aw, &ceo));
    struct priorities_list *v = priorities_cohort_view(l, &ceo);
    /* Gone: Gamma's writing, and Delta's stuck pupils (a share of its 5). */
    assert_non_null(find(l, PRIORITIES_KIND_STUCK_PUPILS, D, "writing", NULL));
    assert_int_equal(v->count, l->count - 2);
    assert_null(find(v, PRIORITIES_KIND_ATTAINMENT, C, "writing", "all"));
    assert_null(find(v, PRIORITIES_KIND_STUCK_PUPILS, D, "writing", NULL));
    const struct priorities_item *tv = find(v, PRIORITIES_KIND_ATTAINMENT, NULL, "writing", "all");
    assert_null(tv->stuck);
    assert_string_equal(tv->rationale, tw->rationale_without_stuck);
    assert_null(strstr(tv->rationale, "three terms"));
    assert_non_null(strstr(tw->rationale, "three terms"));
    priorities_list_free(v);

    struct priorities_cohort gamma = {.now = m, .own = C};
    v = priorities_cohort_view(l, &gamma);
    assert_non_null(find(v, PRIORITIES_KIND_ATTAINMENT, C, "writing", "all"));
    priorities_list_free(v);

    /* A reader whose mask withholds Beta's writing (Delta's 3 beside it, say: a mask made
     * for this test) is not shown Beta as Alpha's giver: the item is copied without it. */
    const struct suppress_cell other[] = {{"", "writing", NULL, "all", 73},
                                          {A, "writing", NULL, "all", 40},
                                          {B, "writing", NULL, "all", 30},
                                          {D, "writing", NULL, "all", 3}};
    const struct suppress_rule rule = {.min_cohort = 6, .complements = true};
    struct suppress_mask *m2 = suppress_compute(other, 4, &rule, NULL, 0, NULL);
    assert_true(suppress_withheld(m2, B, "writing", NULL, "all"));
    struct priorities_cohort head = {.now = m2};
    v = priorities_cohort_view(l, &head);
    const struct priorities_item *av = find(v, PRIORITIES_KIND_ATTAINMENT, A, "writing", "all");
    assert_int_equal(av->n_support, 0);
    assert_int_equal(aw->n_support, 1); /* the list itself is untouched */
    priorities_list_free(v);
    suppress_free(m2);
    priorities_list_free(l);
    suppress_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_deficit),
        cmocka_unit_test(test_cell_eval),
        cmocka_unit_test(test_haversine_and_id),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_attainment),
        cmocka_unit_test(test_benchmark_fallback),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_gap_without_benchmarks),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_sef),
        cmocka_unit_test(test_shared_theme),
        cmocka_unit_test(test_stuck_pupils),
        cmocka_unit_test(test_support_phase_then_distance),
        cmocka_unit_test(test_support_never_self),
        cmocka_unit_test(test_support_json),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_filters_and_views),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_empty_and_unknown_schools),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_custom_thresholds),
        cmocka_unit_test(test_small_cohorts_default),
        cmocka_unit_test(test_small_cohorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
