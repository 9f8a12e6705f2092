/* Unit tests of the rota planner: group sizes, every metric on hand-made plans, every
 * constraint, property tests over random instances (checked by code written here, not the
 * planner's), the known maximum repeat-free runs, determinism and re-planning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "prng.h"
#include "rota.h"
#include "rota_design.h"
#include "rota_json.h"
#include "rota_search.h"
#include "rota_checks.h"
#include "rota_trust.h"

/* ---------------------------------------------------------------------------------- */
/* Building inputs. */

static void add_school(struct rota_input *in, const char *urn, enum rota_phase phase)
{
    in->schools = realloc(in->schools, (in->n_schools + 1) * sizeof *in->schools);
    struct rota_school *s = &in->schools[in->n_schools++];
    memset(s, 0, sizeof *s);
    memcpy(s->urn, urn, 6); /* six digits */
    s->urn[6] = '\0';
    s->phase = phase;
}

static void make_input(struct rota_input *in, int n, int terms)
{
    memset(in, 0, sizeof *in);
    rota_constraints_default(&in->constraints);
    for (int i = 0; i < n; i++) {
        char urn[16];
        snprintf(urn, sizeof urn, "%06d", (100001 + i) % 1000000);
        add_school(in, urn, ROTA_PHASE_PRIMARY);
    }
    in->n_terms = (size_t)terms;
    in->terms = calloc((size_t)terms + 1, sizeof *in->terms);
    for (int k = 0; k < terms; k++) {
        in->terms[k].year = 2025 + k / 3;
        in->terms[k].term = k % 3;
    }
    in->seed = 1;
}

static void only_no_repeat(struct rota_input *in)
{
    in->constraints.phase = ROTA_PHASE_IGNORE;
    in->constraints.balance = false;
    in->constraints.travel_weight = 0;
}

/* A history term (year, term) with groups given as -1-terminated member lists; the first
 * member hosts. */
static void add_history(struct rota_input *in, int year, int term, const int *groups)
{
    in->history = realloc(in->history, (in->n_history + 1) * sizeof *in->history);
    struct rota_term *t = &in->history[in->n_history++];
    memset(t, 0, sizeof *t);
    t->id.year = year;
    t->id.term = term;
    for (const int *p = groups; *p != -2;) {
        t->groups = realloc(t->groups, (t->n_groups + 1) * sizeof *t->groups);
        struct rota_group *g = &t->groups[t->n_groups++];
        memset(g, 0, sizeof *g);
        while (*p >= 0)
            g->members[g->size++] = *p++;
        g->host = g->members[0];
        p++; /* the -1 */
    }
}

static void exclude(struct rota_input *in, int a, int b)
{
    struct rota_constraints *c = &in->constraints;
    c->excluded = realloc(c->excluded, (c->n_excluded + 1) * sizeof *c->excluded);
    c->excluded[c->n_excluded].a = a;
    c->excluded[c->n_excluded].b = b;
    c->n_excluded++;
}

static struct rota_options quick(uint64_t work)
{
    struct rota_options o;
    rota_options_default(&o);
    o.work_budget = work;
    return o;
}

static bool has_error(const struct mat_errors *err, const char *path, const char *needle)
{
    for (size_t i = 0; i < err->count; i++)
        if (strcmp(err->items[i].path, path) == 0 && strstr(err->items[i].message, needle))
            return true;
    return false;
}

/* ---------------------------------------------------------------------------------- */
/* Checks written independently of the planner. */

/* SPEC §7's group sizes, written out here: 3..5 schools are one group; otherwise threes, with
 * one four when n mod 3 is 1 and two when it is 2. want[size] = how many groups of that size. */
static int spec_group_counts(int n, int want[6])
{
    memset(want, 0, 6 * sizeof *want);
    if (n <= 5) {
        want[n] = 1;
        return 1;
    }
    int fours = (n % 3) == 0 ? 0 : (n % 3) == 1 ? 1 : 2;
    want[4] = fours;
    want[3] = (n - 4 * fours) / 3;
    return want[3] + want[4];
}

/* Every active school exactly once per term, the SPEC's group sizes, hosts members. */
static void assert_plan_shape(const struct rota_input *in, const struct rota_plan *plan)
{
    int n = (int)in->n_schools, want[6];
    int ng = spec_group_counts(n, want);
    assert_int_equal(plan->n_terms, in->n_terms);
    for (size_t k = 0; k < plan->n_terms; k++) {
        const struct rota_term *t = &plan->terms[k];
        assert_int_equal(t->n_groups, ng);
        int *seen = calloc((size_t)n, sizeof *seen), count[6] = {0};
        for (size_t g = 0; g < t->n_groups; g++) {
            const struct rota_group *gr = &t->groups[g];
            assert_true(gr->size >= 3 && gr->size <= 5);
            count[gr->size]++;
            bool host_in = false;
            for (int i = 0; i < gr->size; i++) {
                assert_true(gr->members[i] >= 0 && gr->members[i] < n);
                seen[gr->members[i]]++;
                host_in |= gr->members[i] == gr->host;
            }
            assert_true(host_in);
        }
        for (int i = 0; i < n; i++)
            assert_int_equal(seen[i], 1);
        assert_memory_equal(count, want, sizeof count);
        free(seen);
    }
}

static int timeline(struct rota_term_id id)
{
    return 3 * id.year + id.term;
}

/* Repeated pairs per term, counted from scratch: pairs that shared a group in history or
 * in an earlier planned term. */
static int naive_repeats(const struct rota_input *in, const struct rota_plan *plan, size_t k,
                         int *most_recent)
{
    int rep = 0, now = timeline(plan->terms[k].id);
    *most_recent = 0;
    for (size_t g = 0; g < plan->terms[k].n_groups; g++) {
        const struct rota_group *gr = &plan->terms[k].groups[g];
        for (int i = 0; i < gr->size; i++)
            for (int j = i + 1; j < gr->size; j++) {
                int a = gr->members[i], b = gr->members[j], last = -1;
                for (size_t h = 0; h < in->n_history; h++)
                    for (size_t hg = 0; hg < in->history[h].n_groups; hg++) {
                        const struct rota_group *x = &in->history[h].groups[hg];
                        bool fa = false, fb = false;
                        for (int m = 0; m < x->size; m++) {
                            fa |= x->members[m] == a;
                            fb |= x->members[m] == b;
                        }
                        if (fa && fb && timeline(in->history[h].id) > last)
                            last = timeline(in->history[h].id);
                    }
                for (size_t e = 0; e < k; e++)
                    for (size_t eg = 0; eg < plan->terms[e].n_groups; eg++) {
                        const struct rota_group *x = &plan->terms[e].groups[eg];
                        bool fa = false, fb = false;
                        for (int m = 0; m < x->size; m++) {
                            fa |= x->members[m] == a;
                            fb |= x->members[m] == b;
                        }
                        if (fa && fb && timeline(plan->terms[e].id) > last)
                            last = timeline(plan->terms[e].id);
                    }
                if (last >= 0) {
                    rep++;
                    if (*most_recent == 0 || now - last < *most_recent)
                        *most_recent = now - last;
                }
            }
    }
    return rep;
}

static void assert_no_excluded_together(const struct rota_input *in, const struct rota_plan *plan)
{
    for (size_t k = 0; k < plan->n_terms; k++)
        for (size_t g = 0; g < plan->terms[k].n_groups; g++) {
            const struct rota_group *gr = &plan->terms[k].groups[g];
            for (size_t e = 0; e < in->constraints.n_excluded; e++) {
                int hits = 0;
                for (int i = 0; i < gr->size; i++)
                    hits += gr->members[i] == in->constraints.excluded[e].a ||
                            gr->members[i] == in->constraints.excluded[e].b;
                assert_true(hits < 2);
            }
        }
}

/* Great-circle distance, written out here (mean Earth radius 6371.0088 km). */
static double naive_km(const struct rota_school *a, const struct rota_school *b)
{
    const double rad = M_PI / 180;
    double dlat = (b->lat - a->lat) * rad, dlon = (b->lon - a->lon) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a->lat * rad) * cos(b->lat * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0088 * asin(sqrt(h < 1 ? h : 1));
}

/* The hosting cycle of SPEC §7, replayed here: while a school has not hosted in the cycle,
 * each host that already has takes a turn from a waiting one. hosted[] is the cycle so far;
 * returns the term's violations and moves the cycle on. */
static int naive_hosting_step(int n, bool *hosted, const struct rota_term *t)
{
    int waiting = 0, turns = 0, fresh = 0;
    for (int i = 0; i < n; i++)
        waiting += !hosted[i];
    for (size_t g = 0; g < t->n_groups; g++)
        if (t->groups[g].host >= 0) {
            turns++;
            fresh += !hosted[t->groups[g].host];
        }
    int violations = (turns < waiting ? turns : waiting) - fresh;
    if (fresh == waiting) { /* the cycle ends: repeat hosts open the next one */
        bool *next = calloc((size_t)n, sizeof *next);
        for (size_t g = 0; g < t->n_groups; g++)
            if (t->groups[g].host >= 0 && hosted[t->groups[g].host])
                next[t->groups[g].host] = true;
        memcpy(hosted, next, (size_t)n * sizeof *next);
        free(next);
    } else {
        for (size_t g = 0; g < t->n_groups; g++)
            if (t->groups[g].host >= 0)
                hosted[t->groups[g].host] = true;
    }
    return violations;
}

/* Every SPEC §7 metric of a plan, computed here from the groups and the input alone and
 * compared with what the planner reported. */
static void assert_metrics_recompute(const struct rota_input *in, const struct rota_plan *plan)
{
    int n = (int)in->n_schools, spread_lo = 1 << 30, spread_hi = 0, recent_min = 0;
    bool *hosted = calloc((size_t)n, sizeof *hosted);
    int *hosts = calloc((size_t)n, sizeof *hosts), total_repeats = 0, total_phase = 0;
    for (size_t pass = 0; pass < in->n_history; pass++) { /* history, oldest first */
        const struct rota_term *oldest = NULL;
        for (size_t h = 0; h < in->n_history; h++) {
            int when = timeline(in->history[h].id), rank = 0;
            for (size_t o = 0; o < in->n_history; o++)
                rank += timeline(in->history[o].id) < when;
            if ((size_t)rank == pass)
                oldest = &in->history[h];
        }
        naive_hosting_step(n, hosted, oldest);
    }
    for (size_t k = 0; k < plan->n_terms; k++) {
        const struct rota_metrics *b = &plan->term_metrics[k];
        int recent, repeats = naive_repeats(in, plan, k, &recent);
        int phase = 0, unbalanced = 0, excluded = 0;
        double max_km = 0, total_km = 0, cost = 0;
        int now = timeline(plan->terms[k].id);
        for (size_t g = 0; g < plan->terms[k].n_groups; g++) {
            const struct rota_group *gr = &plan->terms[k].groups[g];
            int by_phase[ROTA_PHASE_COUNT] = {0}, most = 0, strong = 0, category = 0;
            for (int i = 0; i < gr->size; i++) {
                const struct rota_school *sc = &in->schools[gr->members[i]];
                if (++by_phase[sc->phase] > most)
                    most = by_phase[sc->phase];
                strong += sc->strength >= 4;
                category += sc->category;
                const struct rota_school *host = &in->schools[gr->host];
                if (gr->members[i] != gr->host && sc->has_location && host->has_location) {
                    double km = naive_km(sc, host);
                    total_km += km;
                    max_km = km > max_km ? km : max_km;
                }
                for (int j = i + 1; j < gr->size; j++)
                    for (size_t e = 0; e < in->constraints.n_excluded; e++) {
                        const struct rota_pair *p = &in->constraints.excluded[e];
                        excluded += (p->a == gr->members[i] && p->b == gr->members[j]) ||
                                    (p->b == gr->members[i] && p->a == gr->members[j]);
                    }
            }
            phase += gr->size - most;
            unbalanced += strong == 0 || category >= 2;
            hosts[gr->host]++;
        }
        /* the decay cost: each repeated pair costs 2^(-(t-1)/decay), t terms since they met */
        for (size_t g = 0; g < plan->terms[k].n_groups; g++) {
            const struct rota_group *gr = &plan->terms[k].groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++) {
                    int last = -1;
                    for (size_t h = 0; h < in->n_history + k; h++) {
                        const struct rota_term *t =
                            h < in->n_history ? &in->history[h] : &plan->terms[h - in->n_history];
                        for (size_t x = 0; x < t->n_groups; x++) {
                            int hits = 0;
                            for (int m = 0; m < t->groups[x].size; m++)
                                hits += t->groups[x].members[m] == gr->members[i] ||
                                        t->groups[x].members[m] == gr->members[j];
                            if (hits == 2 && timeline(t->id) > last)
                                last = timeline(t->id);
                        }
                    }
                    if (last >= 0)
                        cost += pow(2, -(double)(now - last - 1) / in->constraints.decay);
                }
        }
        assert_int_equal(b->repeat_pairs, repeats);
        assert_int_equal(b->most_recent_repeat, recent);
        assert_true(fabs(b->repeat_cost - cost) < 1e-9);
        assert_int_equal(b->phase_mismatches, phase);
        assert_int_equal(b->unbalanced_groups, unbalanced);
        assert_true(fabs(b->max_km - max_km) < 1e-6);
        assert_true(fabs(b->total_km - total_km) < 1e-6);
        assert_int_equal(b->hosting_violations, naive_hosting_step(n, hosted, &plan->terms[k]));
        assert_int_equal(b->excluded_together, 0);
        assert_int_equal(excluded, 0);
        total_repeats += repeats;
        total_phase += phase;
        if (recent && (recent_min == 0 || recent < recent_min))
            recent_min = recent;
    }
    for (int i = 0; i < n; i++) {
        spread_lo = hosts[i] < spread_lo ? hosts[i] : spread_lo;
        spread_hi = hosts[i] > spread_hi ? hosts[i] : spread_hi;
    }
    assert_int_equal(plan->total.repeat_pairs, total_repeats);
    assert_int_equal(plan->total.most_recent_repeat, recent_min);
    assert_int_equal(plan->total.phase_mismatches, total_phase);
    if (plan->n_terms > 0)
        assert_int_equal(plan->total.hosting_spread, spread_hi - spread_lo);
    free(hosted);
    free(hosts);
}

static int repeat_free_run(const struct rota_plan *plan)
{
    int run = 0;
    while ((size_t)run < plan->n_terms && plan->term_metrics[run].repeat_pairs == 0)
        run++;
    return run;
}

/* ---------------------------------------------------------------------------------- */
/* Rules and metrics on hand-made instances. */

static void test_group_sizes(void **state)
{
    (void)state;
    static const struct {
        int n, count, fours;
    } cases[] = {{3, 1, 0}, {4, 1, 0}, {5, 1, 0},  {6, 2, 0},  {7, 2, 1},
                 {8, 2, 2}, {9, 3, 0}, {10, 3, 1}, {11, 3, 2}, {60, 20, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int sizes[40], total = 0, fours = 0;
        int g = rota_group_sizes(cases[i].n, sizes);
        assert_int_equal(g, cases[i].count);
        for (int j = 0; j < g; j++) {
            total += sizes[j];
            fours += sizes[j] == 4;
        }
        assert_int_equal(total, cases[i].n);
        if (cases[i].n > 5)
            assert_int_equal(fours, cases[i].fours);
    }
    int one[2];
    assert_int_equal(rota_group_sizes(2, one), 0);
    assert_int_equal(rota_group_sizes(5, one), 1);
    assert_int_equal(one[0], 5);
}

static void test_targets_and_bounds(void **state)
{
    (void)state;
    assert_int_equal(rota_repeat_free_target(9), 4);
    assert_int_equal(rota_repeat_free_target(15), 7);
    assert_int_equal(rota_repeat_free_target(57), 28);
    assert_int_equal(rota_repeat_free_target(6), 1);
    assert_int_equal(rota_repeat_free_target(12), 4);
    assert_int_equal(rota_repeat_free_target(18), 8);
    assert_int_equal(rota_repeat_free_target(60), 29);
    assert_int_equal(rota_repeat_free_target(13), 4);
    assert_int_equal(rota_repeat_free_target(55), 26);
    assert_int_equal(rota_repeat_free_target(7), 1);
    for (int n = 6; n <= 60; n++)
        assert_true(rota_repeat_free_target(n) <= rota_repeat_free_bound(n));
    assert_int_equal(rota_repeat_free_bound(16), 6);  /* 120 pairs, 18 a term */
    assert_int_equal(rota_repeat_free_bound(15), 7);  /* 14 partners, 2 a term */
    assert_int_equal(rota_repeat_free_bound(59), 27); /* 1711 pairs, 63 a term */
}

static void test_haversine(void **state)
{
    (void)state;
    /* London to Birmingham, city centres: about 163 km */
    double d = geo_haversine_km(51.5074, -0.1278, 52.4862, -1.8904);
    assert_true(d > 161 && d < 165);
    assert_true(geo_haversine_km(52.41, -1.51, 52.41, -1.51) == 0);
    /* a quarter of the equator */
    d = geo_haversine_km(0, 0, 0, 90);
    assert_true(fabs(d - 6371.0088 * M_PI / 2) < 0.01);
}

static struct rota_term term_of(int year, int term, struct rota_group *groups, size_t n)
{
    struct rota_term t = {{year, term}, groups, n};
    return t;
}

static void test_metrics_repeats_and_decay(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 6, 1);
    static const int h[] = {0, 1, 2, -1, 3, 4, 5, -1, -2};
    add_history(&in, 2024, 0, h); /* 2024-25 autumn */
    struct rota_group a[2] = {{3, {0, 1, 3}, 0}, {3, {2, 4, 5}, 2}};
    struct rota_group b[2] = {{3, {0, 1, 2}, 1}, {3, {3, 4, 5}, 4}};
    /* spring 2024-25, then autumn 2025-26 (summer skipped) */
    struct rota_term terms[2] = {term_of(2024, 1, a, 2), term_of(2025, 0, b, 2)};
    struct rota_metrics per[2], total;
    assert_int_equal(rota_metrics_compute(&in, terms, 2, per, &total), 0);
    /* 0-1 and 4-5 met last term: each costs 2^0 = 1 */
    assert_int_equal(per[0].repeat_pairs, 2);
    assert_int_equal(per[0].most_recent_repeat, 1);
    assert_true(fabs(per[0].repeat_cost - 2.0) < 1e-12);
    /* every pair repeats: 0-1 and 4-5 met 2 terms ago, the other four 3 terms ago */
    assert_int_equal(per[1].repeat_pairs, 6);
    assert_int_equal(per[1].most_recent_repeat, 2);
    double want = 2 * pow(2, -1.0 / 6) + 4 * pow(2, -2.0 / 6);
    assert_true(fabs(per[1].repeat_cost - want) < 1e-12);
    assert_int_equal(total.repeat_pairs, 8);
    assert_int_equal(total.most_recent_repeat, 1);
    /* decay is configurable: with decay 1 a pair met 3 terms ago costs 1/4 */
    in.constraints.decay = 1;
    assert_int_equal(rota_metrics_compute(&in, terms, 2, per, &total), 0);
    assert_true(fabs(per[1].repeat_cost - (2 * 0.5 + 4 * 0.25)) < 1e-12);
    rota_input_free(&in);
}

static void test_metrics_phase_balance_travel(void **state)
{
    (void)state;
    struct rota_input in;
    memset(&in, 0, sizeof in);
    rota_constraints_default(&in.constraints);
    add_school(&in, "100001", ROTA_PHASE_PRIMARY);
    add_school(&in, "100002", ROTA_PHASE_PRIMARY);
    add_school(&in, "100003", ROTA_PHASE_SECONDARY);
    add_school(&in, "100004", ROTA_PHASE_PRIMARY);
    add_school(&in, "100005", ROTA_PHASE_SPECIAL);
    add_school(&in, "100006", ROTA_PHASE_SECONDARY);
    add_school(&in, "100007", ROTA_PHASE_PRIMARY);
    in.schools[0].strength = 4; /* group 1: strong, no category school: balanced */
    in.schools[3].strength = 5; /* group 2: strong but two category schools */
    in.schools[4].category = true;
    in.schools[5].category = true;
    /* locations: 100001 hosts at Birmingham, 100002 in London, 100003 unknown */
    in.schools[0].has_location = in.schools[1].has_location = true;
    in.schools[0].lat = 52.4862;
    in.schools[0].lon = -1.8904;
    in.schools[1].lat = 51.5074;
    in.schools[1].lon = -0.1278;
    struct rota_group g[2] = {{3, {0, 1, 2}, 0}, {4, {3, 4, 5, 6}, 3}};
    struct rota_term t = term_of(2025, 0, g, 2);
    struct rota_metrics per, total;
    assert_int_equal(rota_metrics_compute(&in, &t, 1, &per, &total), 0);
    /* group 1: P P S -> 1 out of phase; group 2: P Sp S P -> 2 out of the main phase */
    assert_int_equal(per.phase_mismatches, 3);
    assert_int_equal(per.unbalanced_groups, 1);
    double km = geo_haversine_km(51.5074, -0.1278, 52.4862, -1.8904);
    assert_true(fabs(per.max_km - km) < 1e-9);
    assert_true(fabs(per.total_km - km) < 1e-9); /* 100003 has no location */
    /* a group with no strong school is unbalanced too */
    in.schools[0].strength = 3;
    assert_int_equal(rota_metrics_compute(&in, &t, 1, &per, &total), 0);
    assert_int_equal(per.unbalanced_groups, 2);
    /* a bad index is refused */
    g[0].members[1] = 99;
    assert_int_equal(rota_metrics_compute(&in, &t, 1, &per, &total), -1);
    rota_input_free(&in);
}

static void test_metrics_hosting(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 6, 1);
    /* term 1: 0 and 3 host; term 2: 0 hosts again although 1, 2, 4, 5 have not: one of the
     * two turns went to a school that had hosted; term 3: 1 and 2 host (both waiting) */
    struct rota_group t1[2] = {{3, {0, 1, 2}, 0}, {3, {3, 4, 5}, 3}};
    struct rota_group t2[2] = {{3, {0, 1, 4}, 0}, {3, {2, 3, 5}, 5}};
    struct rota_group t3[2] = {{3, {0, 1, 5}, 1}, {3, {2, 3, 4}, 2}};
    struct rota_term terms[3] = {term_of(2025, 0, t1, 2), term_of(2025, 1, t2, 2),
                                 term_of(2025, 2, t3, 2)};
    struct rota_metrics per[3], total;
    assert_int_equal(rota_metrics_compute(&in, terms, 3, per, &total), 0);
    assert_int_equal(per[0].hosting_violations, 0);
    assert_int_equal(per[1].hosting_violations, 1);
    assert_int_equal(per[2].hosting_violations, 0);
    assert_int_equal(total.hosting_violations, 1);
    /* hosts: 0 twice, 1, 2, 3, 5 once, 4 never */
    assert_int_equal(total.hosting_spread, 2);
    /* fair: 0 3 | 1 2 | 5 4, the cycle completing in term 3 */
    struct rota_group f2[2] = {{3, {0, 1, 4}, 1}, {3, {2, 3, 5}, 2}};
    struct rota_group f3[2] = {{3, {0, 1, 5}, 5}, {3, {2, 3, 4}, 4}};
    terms[1].groups = f2;
    terms[2].groups = f3;
    assert_int_equal(rota_metrics_compute(&in, terms, 3, per, &total), 0);
    assert_int_equal(total.hosting_violations, 0);
    assert_int_equal(total.hosting_spread, 0);
    rota_input_free(&in);
}

/* ---------------------------------------------------------------------------------- */
/* The planner. */

static void test_plan_known_maxima(void **state)
{
    (void)state;
    static const int sizes[] = {9, 12, 13, 15, 16, 18, 21, 27, 33, 45};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i], target = rota_repeat_free_target(n);
        struct rota_input in;
        make_input(&in, n, target);
        only_no_repeat(&in);
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options o = quick(200000000);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        assert_plan_shape(&in, &plan);
        if (repeat_free_run(&plan) != target)
            fail_msg("N=%d: repeat-free run %d, target %d (%s)", n, repeat_free_run(&plan), target,
                     plan.method);
        assert_int_equal(plan.total.repeat_pairs, 0);
        /* with threes, hosting is always fair (a 3-regular bipartite matching) */
        if (n % 3 == 0)
            assert_int_equal(plan.total.hosting_violations, 0);
        assert_true(plan.total.hosting_spread <= 1);
        assert_metrics_recompute(&in, &plan);
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

/* Runs the design engine and counts the repeated pairs of its classes here: each class must
 * be a permutation of 0..n-1 laid out in the SPEC's groups (threes, then fours). The engine's
 * own count must agree. */
static int design_repeats(int n, int terms, uint64_t seed, unsigned flags, int *classes,
                          char *method, size_t mlen)
{
    int engine = rota_design(n, terms, seed, 0, flags, classes, method, mlen);
    int want[6], ng = spec_group_counts(n, want), repeats = 0;
    unsigned char *met = calloc((size_t)n * n, 1);
    for (int t = 0; t < terms; t++) {
        const int *c = classes + (size_t)t * n;
        int *seen = calloc((size_t)n, sizeof *seen);
        for (int i = 0; i < n; i++) {
            assert_true(c[i] >= 0 && c[i] < n);
            assert_int_equal(seen[c[i]]++, 0);
        }
        free(seen);
        for (int g = 0, start = 0; g < ng; g++) {
            int size = g < want[3] ? 3 : 4;
            for (int i = start; i < start + size; i++)
                for (int j = i + 1; j < start + size; j++) {
                    int a = c[i] < c[j] ? c[i] : c[j], b = c[i] < c[j] ? c[j] : c[i];
                    repeats += met[a * n + b]++ > 0;
                }
            start += size;
        }
    }
    free(met);
    assert_int_equal(engine, repeats);
    return repeats;
}

static void test_design_engine(void **state)
{
    (void)state;
    char method[128];
    static int classes[60 * 60];
    /* a cyclic difference family: KTS(15) */
    assert_int_equal(design_repeats(15, 7, 1, 0, classes, method, sizeof method), 0);
    /* the affine plane and the tripling construction */
    assert_int_equal(design_repeats(9, 4, 1, 0, classes, method, sizeof method), 0);
    assert_non_null(strstr(method, "AG(2,3)"));
    assert_int_equal(design_repeats(27, 13, 1, 0, classes, method, sizeof method), 0);
    assert_non_null(strstr(method, "tripled"));
    /* 1-rotational Kirkman system, found by search */
    assert_int_equal(
        design_repeats(33, 16, 5, ROTA_DESIGN_SEARCH_ONLY, classes, method, sizeof method), 0);
    assert_non_null(strstr(method, "1-rotational"));
    /* groups of four: nearly every pair used (25: 297 of 300) */
    assert_int_equal(
        design_repeats(25, 11, 1, ROTA_DESIGN_SEARCH_ONLY, classes, method, sizeof method), 0);
    /* the stored base classes of the slowest order develop into a repeat-free run */
    assert_int_equal(design_repeats(55, 26, 1, 0, classes, method, sizeof method), 0);
    assert_non_null(strstr(method, "stored"));
    /* 36: the nearly Kirkman system found offline by a SAT solver (bench/rota_sat.py), whose
     * first three classes keep within the blocks 0-11, 12-23, 24-35 */
    assert_int_equal(design_repeats(36, 17, 1, 0, classes, method, sizeof method), 0);
    assert_non_null(strstr(method, "stored, 17 classes listed whole"));
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 36; i += 3) {
            const int *tri = classes + (size_t)t * 36 + i;
            assert_true(tri[0] / 12 == tri[1] / 12 && tri[1] / 12 == tri[2] / 12);
        }
    /* three groups (27, 45): the Kirkman run on points x + m g whose first (m - 1) / 2 classes
     * keep within the groups and whose other m classes take one point from each group; there
     * is none for 36 (no Kirkman system of order 12) or 30 */
    for (int n = 27; n <= 45; n += 18) {
        int m = n / 3, k = (m - 1) / 2, target = rota_repeat_free_target(n);
        assert_int_equal(target, k + m);
        assert_int_equal(
            design_repeats(n, target, 1, ROTA_DESIGN_THREE_GROUPS, classes, method, sizeof method),
            0);
        assert_non_null(strstr(method, "three groups"));
        for (int t = 0; t < target; t++)
            for (int i = 0; i < n; i += 3) {
                const int *tri = classes + (size_t)t * n + i;
                int g0 = tri[0] / m, g1 = tri[1] / m, g2 = tri[2] / m;
                if (t < k)
                    assert_true(g0 == g1 && g1 == g2);
                else
                    assert_true(g0 != g1 && g1 != g2 && g0 != g2);
            }
    }
    assert_int_equal(
        rota_design(36, 17, 1, 0, ROTA_DESIGN_THREE_GROUPS, classes, method, sizeof method), -1);
    assert_int_equal(
        rota_design(30, 14, 1, 0, ROTA_DESIGN_THREE_GROUPS, classes, method, sizeof method), -1);
    /* asking for more than a run allows cycles it: 9 schools have 36 pairs, 4 terms of 9
     * pairs use them all, so a fifth term repeats all 9 of its pairs */
    assert_int_equal(design_repeats(9, 5, 1, 0, classes, method, sizeof method), 9);
}

static void test_plan_property_random(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int iter = 0; iter < 12; iter++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        /* the whole cycle: the planner weighs it all, so it is what compares with greedy */
        int n = 6 + (int)((x >> 33) % 20), terms = rota_cycle_length(n, 1);
        int hist = (int)((x >> 50) % 4);
        struct rota_input in;
        make_input(&in, n, terms);
        for (int k = 0; k < terms; k++) /* after the history */
            in.terms[k].year = 2030 + k / 3;
        in.seed = x >> 20;
        for (int i = 0; i < n; i++) {
            uint64_t r = x >> (i % 40);
            in.schools[i].phase = (r & 3) == 0 ? ROTA_PHASE_SECONDARY : ROTA_PHASE_PRIMARY;
            in.schools[i].strength = 1 + (int)((r >> 3) % 5);
            in.schools[i].category = ((r >> 6) % 7) == 0;
            in.schools[i].has_location = true;
            in.schools[i].lat = 52 + (double)((r >> 9) % 100) / 100;
            in.schools[i].lon = -2 + (double)((r >> 17) % 100) / 100;
        }
        if (iter % 3 == 0)
            only_no_repeat(&in);
        else
            in.constraints.travel_weight = iter % 2 ? 0.05 : 0;
        for (int h = 0; h < hist; h++) { /* random past groupings */
            int sizes[40], ng = rota_group_sizes(n, sizes), perm[40], list[80], p = 0, q = 0;
            for (int i = 0; i < n; i++)
                perm[i] = i;
            for (int i = n - 1; i > 0; i--) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                int j = (int)((x >> 33) % (uint64_t)(i + 1)), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (int g = 0; g < ng; g++) {
                for (int i = 0; i < sizes[g]; i++)
                    list[q++] = perm[p++];
                list[q++] = -1;
            }
            list[q] = -2;
            add_history(&in, 2028 + h / 3, h % 3, list);
        }
        for (int e = 0; e < (int)(x >> 60) % 3; e++)
            exclude(&in, e, n - 1 - e);
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options o = quick(800000);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        assert_plan_shape(&in, &plan);
        assert_no_excluded_together(&in, &plan);
        assert_metrics_recompute(&in, &plan);
        /* the baseline obeys the same rules */
        struct rota_plan greedy;
        assert_int_equal(rota_plan_greedy(&in, &greedy, &err), 0);
        assert_plan_shape(&in, &greedy);
        assert_no_excluded_together(&in, &greedy);
        assert_metrics_recompute(&in, &greedy);
        /* lexicographic over the cycle: never more repeat cost than the greedy baseline */
        assert_true(plan.total.repeat_cost <= greedy.total.repeat_cost + 1e-4);
        rota_plan_free(&plan);
        rota_plan_free(&greedy);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

static bool plans_equal(const struct rota_plan *a, const struct rota_plan *b)
{
    if (a->n_terms != b->n_terms || strcmp(a->method, b->method) != 0 || a->work != b->work)
        return false;
    for (size_t k = 0; k < a->n_terms; k++) {
        if (a->terms[k].n_groups != b->terms[k].n_groups ||
            memcmp(&a->term_metrics[k], &b->term_metrics[k], sizeof a->term_metrics[k]) != 0)
            return false;
        for (size_t g = 0; g < a->terms[k].n_groups; g++)
            if (memcmp(&a->terms[k].groups[g], &b->terms[k].groups[g],
                       sizeof a->terms[k].groups[g]) != 0)
                return false;
    }
    return true;
}

static void test_determinism_and_history_order(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 14, 3);
    for (int k = 0; k < 3; k++)
        in.terms[k].year = 2026;
    for (int i = 0; i < 14; i++) {
        in.schools[i].strength = 1 + i % 5;
        in.schools[i].phase = i % 3 ? ROTA_PHASE_PRIMARY : ROTA_PHASE_SECONDARY;
    }
    static const int h1[] = {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, 12, 13, -1, -2};
    static const int h2[] = {0, 3, 6, -1, 1, 4, 7, -1, 2, 5, 8, -1, 9, 11, 13, 10, 12, -1, -2};
    add_history(&in, 2025, 0, h1);
    add_history(&in, 2025, 2, h2);
    struct rota_options o = quick(3000000);
    struct rota_plan a, b, c;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &a, &err), 0);
    assert_int_equal(rota_plan(&in, &o, &b, &err), 0);
    assert_true(plans_equal(&a, &b));
    /* the history in another order is the same history */
    struct rota_term t = in.history[0];
    in.history[0] = in.history[1];
    in.history[1] = t;
    /* and the terms to plan too */
    struct rota_term_id id = in.terms[0];
    in.terms[0] = in.terms[2];
    in.terms[2] = id;
    assert_int_equal(rota_plan(&in, &o, &c, &err), 0);
    assert_true(plans_equal(&a, &c));
    assert_int_equal(c.terms[0].id.term, 0); /* planned chronologically */
    rota_plan_free(&c);
    /* another seed, another plan */
    in.seed = 99;
    assert_int_equal(rota_plan(&in, &o, &c, &err), 0);
    assert_false(plans_equal(&a, &c));
    rota_plan_free(&a);
    rota_plan_free(&b);
    rota_plan_free(&c);
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_history_pairs_avoided(void **state)
{
    (void)state;
    /* 9 schools after the 3 terms of a run that used 9 of the 12 AG(2,3) lines' pairs...:
     * the remaining term of the affine plane is the only repeat-free one, and it is found */
    struct rota_input in;
    make_input(&in, 9, 1);
    in.terms[0].year = 2026;
    only_no_repeat(&in);
    static const int h1[] = {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, -2};
    static const int h2[] = {0, 3, 6, -1, 1, 4, 7, -1, 2, 5, 8, -1, -2};
    static const int h3[] = {0, 4, 8, -1, 1, 5, 6, -1, 2, 3, 7, -1, -2};
    add_history(&in, 2025, 0, h1);
    add_history(&in, 2025, 1, h2);
    add_history(&in, 2025, 2, h3);
    struct rota_options o = quick(20000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.total.repeat_pairs, 0);
    /* the hosting cycle continues from the history: its hosts were 0 3 6 | 0 1 2 | 0 1 2,
     * so 4 5 7 8 have never hosted and three of them must host now */
    int waiting_hosts = 0;
    for (size_t g = 0; g < plan.terms[0].n_groups; g++) {
        int h = plan.terms[0].groups[g].host;
        waiting_hosts += h == 4 || h == 5 || h == 7 || h == 8;
    }
    assert_int_equal(waiting_hosts, 3);
    assert_int_equal(plan.total.hosting_violations, 0);
    rota_plan_free(&plan);
    rota_input_free(&in);
    /* a pair that met long ago still costs something: never zero */
    struct rota_input tiny;
    make_input(&tiny, 3, 1);
    tiny.terms[0].year = 2090;
    static const int h0[] = {0, 1, 2, -1, -2};
    add_history(&tiny, 2025, 0, h0);
    assert_int_equal(rota_plan(&tiny, &o, &plan, &err), 0);
    assert_int_equal(plan.total.repeat_pairs, 3);
    assert_int_equal(plan.total.most_recent_repeat, 195);
    assert_true(plan.total.repeat_cost > 0);
    rota_plan_free(&plan);
    rota_input_free(&tiny);
    mat_errors_free(&err);
}

static void test_excluded_pairs(void **state)
{
    (void)state;
    /* kept apart in every term; here the exclusions cost no repeat */
    struct rota_input in;
    make_input(&in, 12, 4);
    only_no_repeat(&in);
    exclude(&in, 0, 1);
    exclude(&in, 0, 2);
    exclude(&in, 3, 4);
    exclude(&in, 5, 11);
    struct rota_options o = quick(5000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_plan_shape(&in, &plan);
    assert_no_excluded_together(&in, &plan);
    assert_int_equal(plan.total.excluded_together, 0);
    assert_int_equal(plan.total.repeat_pairs, 0);
    rota_plan_free(&plan);
    rota_input_free(&in);
    /* 4 schools are one group: an excluded pair cannot be kept apart */
    make_input(&in, 4, 1);
    exclude(&in, 1, 3);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), -1);
    assert_true(has_error(&err, "/constraints/excluded_pairs/0", "100002 and 100004"));
    rota_input_free(&in);
    mat_errors_free(&err);
    /* one school excluded from everyone else: infeasible, found by the search */
    mat_errors_init(&err);
    make_input(&in, 6, 1);
    for (int i = 1; i < 6; i++)
        exclude(&in, 0, i);
    o = quick(300000);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), -1);
    assert_true(err.count == 1 && strstr(err.items[0].path, "/constraints/excluded_pairs/") &&
                strstr(err.items[0].message, "100001"));
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_phase_rules(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 12, 4);
    for (int i = 0; i < 12; i++)
        in.schools[i].phase = i % 2 ? ROTA_PHASE_PRIMARY : ROTA_PHASE_SECONDARY;
    in.constraints.balance = false;
    struct rota_options o = quick(3000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    /* prefer: weighed over the whole cycle of 4 terms, below repeats. With 3 secondaries
     * among 12 a term costs 0 mismatches (the 3 together), 2 (two together) or 3 (apart),
     * and a secondary pair may meet once: 9 over the cycle at best, which prefer reaches */
    assert_int_equal(rota_cycle_length(12, 1), 4);
    for (int i = 0; i < 12; i++)
        in.schools[i].phase = i % 4 == 3 ? ROTA_PHASE_SECONDARY : ROTA_PHASE_PRIMARY;
    in.constraints.phase = ROTA_PHASE_PREFER;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.total.repeat_pairs, 0);
    assert_int_equal(plan.total.phase_mismatches, 9);
    rota_plan_free(&plan);
    /* ignore: not weighed, so the groups mix more */
    in.constraints.phase = ROTA_PHASE_IGNORE;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_true(plan.total.phase_mismatches > 9);
    rota_plan_free(&plan);
    /* prefer over two terms: six schools of a phase cannot meet new partners twice within
     * their phase, so repeats (first in the order) make the phases mix */
    rota_input_free(&in);
    make_input(&in, 12, 2);
    for (int i = 0; i < 12; i++)
        in.schools[i].phase = i % 2 ? ROTA_PHASE_PRIMARY : ROTA_PHASE_SECONDARY;
    in.constraints.balance = false;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.total.repeat_pairs, 0);
    assert_true(plan.total.phase_mismatches > 0);
    rota_plan_free(&plan);
    /* require is hard: single-phase groups, at the price of repeats */
    in.constraints.phase = ROTA_PHASE_REQUIRE;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.total.phase_mismatches, 0);
    assert_true(plan.total.repeat_pairs > 0);
    rota_plan_free(&plan);
    /* require with 2 secondaries in 9 schools: impossible, said before any search */
    rota_input_free(&in);
    make_input(&in, 9, 1);
    in.schools[3].phase = in.schools[7].phase = ROTA_PHASE_SECONDARY;
    in.constraints.phase = ROTA_PHASE_REQUIRE;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), -1);
    assert_true(has_error(&err, "/constraints/phase", "2 secondary schools"));
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_balance_and_travel(void **state)
{
    (void)state;
    /* balance: 6 strong schools and 4 groups: at least one each, every term of the cycle,
     * two category schools apart; without the constraint the groups are not balanced */
    struct rota_input in;
    make_input(&in, 12, 4);
    in.constraints.phase = ROTA_PHASE_IGNORE;
    for (int i = 0; i < 12; i++)
        in.schools[i].strength = i < 6 ? 4 : 2;
    in.schools[6].category = in.schools[7].category = true;
    struct rota_options o = quick(3000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        in.seed = seed;
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        assert_int_equal(plan.total.unbalanced_groups, 0);
        assert_int_equal(plan.total.repeat_pairs, 0);
        rota_plan_free(&plan);
    }
    in.constraints.balance = false;
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_true(plan.total.unbalanced_groups > 0);
    rota_plan_free(&plan);
    rota_input_free(&in);
    /* travel: two towns 400 km apart, three schools each, one term: each town a group */
    make_input(&in, 6, 1);
    only_no_repeat(&in);
    in.constraints.travel_weight = 1;
    for (int i = 0; i < 6; i++) {
        in.schools[i].has_location = true;
        in.schools[i].lat = (i % 2 ? 55.0 : 51.5) + 0.01 * i;
        in.schools[i].lon = -1.6;
    }
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_true(plan.total.max_km < 10);
    for (size_t g = 0; g < plan.terms[0].n_groups; g++) {
        const struct rota_group *gr = &plan.terms[0].groups[g];
        assert_int_equal(gr->members[0] % 2, gr->members[1] % 2);
        assert_int_equal(gr->members[0] % 2, gr->members[2] % 2);
    }
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_hosting_above_soft(void **state)
{
    (void)state;
    /* after the history (pairs of primaries, 100001..100008 hosting) 100009..100012 are the
     * schools still waiting to host; they are also the secondaries, which phase "prefer"
     * would like together: fairness comes first, so they go to four different groups and
     * each hosts */
    struct rota_input in;
    make_input(&in, 12, 1);
    in.terms[0].year = 2026;
    in.constraints.balance = false;
    for (int i = 8; i < 12; i++)
        in.schools[i].phase = ROTA_PHASE_SECONDARY;
    static const int a[] = {0, 4, -1, 1, 5, -1, 2, 6, -1, 3, 7, -1, -2};
    static const int b[] = {4, 1, -1, 5, 2, -1, 6, 3, -1, 7, 0, -1, -2};
    add_history(&in, 2025, 1, a);
    add_history(&in, 2025, 2, b);
    struct rota_options o = quick(3000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.total.hosting_violations, 0);
    assert_int_equal(plan.total.repeat_pairs, 0);
    for (size_t g = 0; g < plan.terms[0].n_groups; g++)
        assert_true(plan.terms[0].groups[g].host >= 8);
    assert_true(plan.total.phase_mismatches > 0);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

/* ---------------------------------------------------------------------------------- */
/* Any horizon, term by term, years of history (issue 10). */

/* Counted here from the groups: the leading terms without a pair meeting again (history
 * none), and the fewest terms between two meetings of a pair (0 = none). */
static int naive_run(const struct rota_term *terms, size_t n_terms, int n, int *closest)
{
    int *last = malloc(sizeof *last * (size_t)n * n), run = -1;
    for (int i = 0; i < n * n; i++)
        last[i] = -1;
    *closest = 0;
    for (size_t k = 0; k < n_terms; k++) {
        int now = timeline(terms[k].id);
        for (size_t g = 0; g < terms[k].n_groups; g++) {
            const struct rota_group *gr = &terms[k].groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = 0; j < gr->size; j++) {
                    int a = gr->members[i], b = gr->members[j];
                    if (a >= b)
                        continue;
                    if (last[a * n + b] >= 0) {
                        int gap = now - last[a * n + b];
                        if (*closest == 0 || gap < *closest)
                            *closest = gap;
                        if (run < 0)
                            run = (int)k;
                    }
                    last[a * n + b] = now;
                }
        }
    }
    free(last);
    return run < 0 ? (int)n_terms : run;
}

/* Same groups with the same hosts, in any order? */
static bool same_term(const struct rota_term *a, const struct rota_term *b)
{
    if (a->n_groups != b->n_groups || timeline(a->id) != timeline(b->id))
        return false;
    for (size_t g = 0; g < a->n_groups; g++) {
        bool found = false;
        for (size_t h = 0; !found && h < b->n_groups; h++)
            found = a->groups[g].size == b->groups[h].size &&
                    a->groups[g].host == b->groups[h].host &&
                    memcmp(a->groups[g].members, b->groups[h].members,
                           sizeof(int) * (size_t)a->groups[g].size) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Planning past the run keeps it, and the terms after it repeat the pairs that met longest
 * ago: no pair meets again sooner than the run, for every trust size 6..60. */
static void test_horizon_keeps_the_run(void **state)
{
    (void)state;
    for (int n = 6; n <= 60; n++) {
        int target = rota_repeat_free_target(n), closest;
        struct rota_input in;
        make_input(&in, n, target + 3);
        only_no_repeat(&in);
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options o = quick(200000000);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        assert_plan_shape(&in, &plan);
        int run = naive_run(plan.terms, plan.n_terms, n, &closest);
        if (run < target || closest != (target > 1 ? target : closest))
            fail_msg("N=%d: run %d of target %d, closest repeat %d terms", n, run, target, closest);
        if (n % 9 == 0)
            assert_metrics_recompute(&in, &plan);
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

/* Plans `terms` one call at a time, each given every earlier term as history; returns the
 * terms (owned) and checks that every call after the first continued its own cycle. */
static struct rota_term *plan_term_by_term(int n, int terms, uint64_t seed)
{
    struct rota_term *done = calloc((size_t)terms, sizeof *done);
    for (int k = 0; k < terms; k++) {
        struct rota_input in;
        make_input(&in, n, terms);
        only_no_repeat(&in);
        in.seed = seed;
        in.terms[0] = in.terms[k];
        in.n_terms = 1;
        for (int h = 0; h < k; h++) { /* every earlier term, as a deep copy */
            in.history = realloc(in.history, (size_t)(h + 1) * sizeof *in.history);
            in.history[h] = done[h];
            in.history[h].groups = malloc(done[h].n_groups * sizeof *done[h].groups);
            memcpy(in.history[h].groups, done[h].groups, done[h].n_groups * sizeof *done[h].groups);
            in.n_history = (size_t)h + 1;
        }
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options o = quick(200000000);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        assert_int_equal(plan.mode, k == 0 ? ROTA_MODE_CYCLE : ROTA_MODE_CONTINUED);
        done[k] = plan.terms[0];
        plan.terms[0].groups = NULL;
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
    return done;
}

/* Term by term = all at once: the same terms, groups and hosts, so the same run. Under the
 * sanitizers every size would take minutes (each call re-plans the cycle), so a spread of
 * sizes: every construction (affine plane, cyclic, 1-rotational, stored, groups of four). */
static void test_term_by_term_is_all_at_once(void **state)
{
    (void)state;
    static const int sizes[] = {9, 12, 13, 14, 15, 17, 20, 24, 27, 29};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i], target = rota_repeat_free_target(n), terms = target + 1, closest;
        struct rota_term *by_term = plan_term_by_term(n, terms, 7);
        struct rota_input in;
        make_input(&in, n, terms);
        only_no_repeat(&in);
        in.seed = 7;
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options o = quick(200000000);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        for (int k = 0; k < terms; k++)
            if (!same_term(&by_term[k], &plan.terms[k]))
                fail_msg("N=%d: term %d differs term by term", n, k);
        int run = naive_run(by_term, (size_t)terms, n, &closest);
        if (run < target)
            fail_msg("N=%d: term by term run %d of target %d", n, run, target);
        for (int k = 0; k < terms; k++)
            free(by_term[k].groups);
        free(by_term);
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

/* The planner's own year after a hand-made past, given back as history with that past, is
 * recognised and continued (issue 10: term by term = all at once), whatever the past: the
 * year after it is the second year of one plan of both. `hosted` false: the hand-made terms'
 * hosts are their first members, so most of those terms could not begin a plan (a waiting
 * school passed over for a host) and are not tried. `hosted` true: hosted as the hosting cycle
 * has it, every hand-made term could begin a plan and each start is tried; the old recognition
 * re-planned each in full and, within the budget, never reached the planner's own year (mode
 * "searched", other terms); now a start's re-plan gives up as soon as its best is below what
 * the history's terms from that start already cost (the plan it ends with could not begin with
 * them). */
/* The history of the planner's own year after a hand-made past of nine terms (hosted as the
 * hosting cycle has it, or by first members), into next_in (three terms asked for after it);
 * both: one plan of both years after the past. */
static void own_year_after_handmade_input(int n, bool hosted, const struct rota_options *o,
                                          struct rota_input *next_in, struct rota_plan *both)
{
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input first_in, both_in;
    struct rota_plan first;
    unsigned long long seed = 0x5eed + (unsigned long long)n;
    make_input(&first_in, n, 3);
    make_input(&both_in, n, 6);
    make_input(next_in, n, 3);
    only_no_repeat(&first_in);
    only_no_repeat(&both_in);
    only_no_repeat(next_in);
    if (hosted) {
        rota_trust_hosted_history(&first_in, n, 9, seed);
        rota_trust_hosted_history(&both_in, n, 9, seed);
        rota_trust_hosted_history(next_in, n, 9, seed);
    } else {
        rota_trust_random_history(&first_in, n, 9, seed);
        rota_trust_random_history(&both_in, n, 9, seed);
        rota_trust_random_history(next_in, n, 9, seed);
    }
    assert_int_equal(rota_plan(&first_in, o, &first, &err), 0);
    assert_int_equal(first.mode, ROTA_MODE_SEARCHED);
    if (both)
        assert_int_equal(rota_plan(&both_in, o, both, &err), 0);
    for (int k = 0; k < 3; k++) {
        next_in->terms[k].year = 2026;
        struct rota_term *tm = &first.terms[k];
        next_in->history = realloc(next_in->history, (next_in->n_history + 1) * sizeof *tm);
        next_in->history[next_in->n_history] = *tm;
        next_in->history[next_in->n_history].groups = malloc(tm->n_groups * sizeof *tm->groups);
        memcpy(next_in->history[next_in->n_history++].groups, tm->groups,
               tm->n_groups * sizeof *tm->groups);
    }
    rota_plan_free(&first);
    rota_input_free(&first_in);
    rota_input_free(&both_in);
    mat_errors_free(&err);
}

static void own_year_after_handmade(int n, bool hosted, uint64_t work)
{
    struct rota_options o = quick(work);
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input next_in;
    struct rota_plan next, both;
    own_year_after_handmade_input(n, hosted, &o, &next_in, &both);
    assert_int_equal(rota_plan(&next_in, &o, &next, &err), 0);
    if (next.mode != ROTA_MODE_CONTINUED)
        fail_msg("N=%d: the planner's own year after a hand-made past (%s) was %s, not continued",
                 n, hosted ? "hosted by the cycle" : "first members hosting",
                 rota_planner_mode_name(next.mode));
    assert_int_equal(next.cycle_start, 9);
    for (int k = 0; k < 3; k++)
        if (!same_term(&next.terms[k], &both.terms[3 + k]))
            fail_msg("N=%d: term %d of the next year differs from one plan of both", n, k);
    rota_plan_free(&next);
    rota_plan_free(&both);
    rota_input_free(&next_in);
    mat_errors_free(&err);
}

static void test_own_year_after_handmade_history(void **state)
{
    (void)state;
    static const int sizes[] = {12, 15, 21};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        own_year_after_handmade(sizes[i], false, 20000000);
}

static void test_own_year_after_hosted_handmade_history(void **state)
{
    (void)state;
    static const int sizes[] = {15, 21}; /* the old recognition: "searched" for both */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        own_year_after_handmade(sizes[i], true, 20000000);
}

/* The plan's method names its design and the run it reaches, whole: a tripled system's name is
 * long, and the run's length was cut off the end (45 schools: "...; repeat-free run of"). */
static void test_method_names_the_whole_run(void **state)
{
    (void)state;
    struct rota_options o = quick(2000000);
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input in;
    struct rota_plan plan;
    make_input(&in, 45, 1);
    only_no_repeat(&in);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    const char *tail = "; repeat-free run of 22";
    size_t len = strlen(plan.method);
    if (len < strlen(tail) || strcmp(plan.method + len - strlen(tail), tail) != 0 ||
        !strstr(plan.method, "tripled Kirkman system of order 15"))
        fail_msg("method \"%s\"", plan.method);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

/* A design asked for again with the same arguments and generator state is replayed from the
 * memo exactly as it was built: the same classes, method, run, repeats and work, and the
 * generator left where the build left it. 51 schools: a 1-rotational system, searched. */
static void test_design_memo_replays_exactly(void **state)
{
    (void)state;
    const int n = 51, terms = 25;
    size_t size = sizeof(int) * (size_t)terms * n;
    int *built = malloc(size), *again = malloc(size);
    char m1[96], m2[96];
    struct prng r0, r1, r2;
    prng_seed(&r0, 0x51);
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            rota_design_forget(); /* built afresh: deterministic all the same */
        uint64_t w1 = 7, w2 = 7;
        int rep1 = -1, rep2 = -1;
        r1 = r0;
        int len1 =
            rota_design_build(n, terms, &r1, 20000000, &w1, true, built, &rep1, m1, sizeof m1);
        r2 = r0;
        int len2 =
            rota_design_build(n, terms, &r2, 20000000, &w2, true, again, &rep2, m2, sizeof m2);
        assert_int_equal(len1, len2);
        assert_int_equal(len1, 25);
        assert_int_equal(rep1, 0);
        assert_int_equal(rep2, 0);
        assert_true(w1 > 7);
        assert_int_equal(w1, w2);
        assert_string_equal(m1, m2);
        assert_memory_equal(built, again, size);
        assert_memory_equal(&r1, &r2, sizeof r1);
        /* another generator state is another design */
        struct prng other = r0;
        prng_next(&other);
        uint64_t w3 = 0;
        int rep3 = -1;
        rota_design_build(n, terms, &other, 20000000, &w3, true, again, &rep3, m2, sizeof m2);
        assert_false(memcmp(&other, &r1, sizeof other) == 0);
    }
    free(built);
    free(again);
}

/* Recognition re-plans its candidate starts on several threads (rota_options.threads); the
 * plan must be the one a single thread finds, whatever the count and however the threads are
 * scheduled: the earliest start that matches, the starts after it cancelled, and no start the
 * budget would not have reached on one thread. Three histories: a hosted hand-made past and the
 * planner's year (every start tried, the match the last); the planner's own first year (the
 * match the first start, the later ones cancelled); and a hosted past of 37 schools with a
 * budget so small that one thread stops trying before the planner's own start (searched, not
 * continued, though that start would match). */
static void test_recognition_same_on_any_thread_count(void **state)
{
    (void)state;
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input hosted, own, cut;
    struct rota_options o = quick(20000000);
    own_year_after_handmade_input(15, true, &o, &hosted, NULL);
    struct rota_options tight = quick(2000000);
    own_year_after_handmade_input(37, true, &tight, &cut, NULL);
    make_input(&own, 12, 3);
    only_no_repeat(&own);
    {
        struct rota_input first;
        struct rota_plan p;
        make_input(&first, 12, 3);
        only_no_repeat(&first);
        assert_int_equal(rota_plan(&first, &o, &p, &err), 0);
        own.history = p.terms;
        own.n_history = p.n_terms;
        p.terms = NULL;
        p.n_terms = 0;
        for (int k = 0; k < 3; k++)
            own.terms[k].year = 2026;
        rota_plan_free(&p);
        rota_input_free(&first);
    }
    const struct {
        struct rota_input *in;
        uint64_t work;
        enum rota_planner_mode mode;
    } cases[] = {{&hosted, 20000000, ROTA_MODE_CONTINUED},
                 {&own, 20000000, ROTA_MODE_CONTINUED},
                 {&cut, 2000000, ROTA_MODE_SEARCHED}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct rota_plan one;
        o = quick(cases[c].work);
        o.threads = 1;
        assert_int_equal(rota_plan(cases[c].in, &o, &one, &err), 0);
        if (one.mode != cases[c].mode)
            fail_msg("case %zu: %s on one thread, not %s", c, rota_planner_mode_name(one.mode),
                     rota_planner_mode_name(cases[c].mode));
        char *one_text = rota_json_plan_dump(cases[c].in, &one, NULL, NULL, 0, false);
        assert_non_null(one_text);
        static const int counts[] = {0, 2, 3, ROTA_MAX_THREADS}; /* 0: one per core */
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
            for (int again = 0; again < 2; again++) {
                struct rota_plan many;
                o.threads = counts[i];
                assert_int_equal(rota_plan(cases[c].in, &o, &many, &err), 0);
                char *text = rota_json_plan_dump(cases[c].in, &many, NULL, NULL, 0, false);
                if (many.mode != one.mode || many.cycle_start != one.cycle_start ||
                    many.work != one.work || strcmp(text, one_text) != 0)
                    fail_msg("case %zu, %d threads: %s from %d (work %llu), one thread: %s from "
                             "%d (work %llu)%s",
                             c, counts[i], rota_planner_mode_name(many.mode), many.cycle_start,
                             (unsigned long long)many.work, rota_planner_mode_name(one.mode),
                             one.cycle_start, (unsigned long long)one.work,
                             strcmp(text, one_text) ? "; the plans' JSON differs" : "");
                free(text);
                rota_plan_free(&many);
            }
        free(one_text);
        rota_plan_free(&one);
    }
    rota_input_free(&hosted);
    rota_input_free(&own);
    rota_input_free(&cut);
    mat_errors_free(&err);
}

/* Recognition gives a start up when the search's best is below rota_search_floor of the
 * history's terms from there: that must be a true floor, never above the repeat cost of a plan
 * that does begin with those terms, or a start the planner did plan could be passed over. For
 * plans the planner made after random history (12 to 30 schools, all their cycle's terms), the
 * floor of each prefix is at most the plan's repeat cost, and of the whole cycle exactly it. */
static void test_recognition_floor_is_a_floor(void **state)
{
    (void)state;
    static const int sizes[] = {12, 17, 21, 30};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i];
        struct rota_options o = quick(3000000);
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_input in;
        struct rota_plan plan;
        make_input(&in, n, 3);
        only_no_repeat(&in);
        rota_trust_random_history(&in, n, 6 + (int)i, 0xf100 + (unsigned long long)n);
        assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
        int c = (int)plan.n_cycle;
        assert_true(c >= 3);
        struct rota_input cyc = in; /* the cycle's terms as the terms planned */
        struct rota_term_id *ids = calloc((size_t)c, sizeof *ids);
        for (int k = 0; k < c; k++)
            ids[k] = plan.cycle[k].id;
        cyc.terms = ids;
        cyc.n_terms = (size_t)c;
        struct rota_ctx cx;
        rota_ctx_init(&cx, &cyc);
        int64_t actual = 0;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) {
                uint64_t mask = 0;
                for (int k = 0; k < c; k++)
                    for (size_t g = 0; g < plan.cycle[k].n_groups; g++) {
                        const struct rota_group *gr = &plan.cycle[k].groups[g];
                        int hits = 0;
                        for (int m = 0; m < gr->size; m++)
                            hits += gr->members[m] == a || gr->members[m] == b;
                        if (hits == 2)
                            mask |= UINT64_C(1) << k;
                    }
                actual += rota_pair_cost(&cx, mask, cx.hist[a * n + b]);
            }
        for (int k = 1; k <= c; k++) {
            struct rota_cost f = rota_search_floor(&cx, plan.cycle, k);
            assert_int_equal(f.hard, 0);
            if (f.rep > actual)
                fail_msg("N=%d: the floor of the first %d of %d terms is %lld, above the plan's "
                         "repeat cost %lld",
                         n, k, c, (long long)f.rep, (long long)actual);
            if (k == c)
                assert_int_equal(f.rep, actual);
        }
        rota_ctx_free(&cx);
        free(ids);
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

/* Three years planned by hand, with repeats and a school that hosted twice: the planner does
 * not take them for its own plan, searches the continuation with their pairs costed, and
 * the next term puts together no pair that met in the last year (a grouping that avoids
 * them exists: the fourth class of the affine plane on the last year's three). */
static void test_three_handmade_years(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 9, 1);
    in.terms[0].year = 2028;
    only_no_repeat(&in);
    static const int y1a[] = {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, -2};
    static const int y1b[] = {0, 1, 3, -1, 2, 4, 6, -1, 5, 7, 8, -1, -2}; /* repeats 0-1 */
    static const int y1c[] = {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, -2}; /* all again */
    static const int y2a[] = {8, 0, 4, -1, 1, 5, 6, -1, 2, 3, 7, -1, -2};
    static const int y2b[] = {0, 2, 5, -1, 1, 6, 8, -1, 3, 4, 7, -1, -2};
    static const int y2c[] = {1, 3, 7, -1, 0, 5, 6, -1, 2, 4, 8, -1, -2};
    /* the last year: three classes of the affine plane AG(2,3) (points 3x + y) */
    static const int y3a[] = {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, -2};
    static const int y3b[] = {0, 3, 6, -1, 1, 4, 7, -1, 2, 5, 8, -1, -2};
    static const int y3c[] = {0, 4, 8, -1, 1, 5, 6, -1, 2, 3, 7, -1, -2};
    const int *years[] = {y1a, y1b, y1c, y2a, y2b, y2c, y3a, y3b, y3c};
    for (int h = 0; h < 9; h++)
        add_history(&in, 2025 + h / 3, h % 3, years[h]);
    struct rota_options o = quick(3000000);
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    assert_int_equal(plan.mode, ROTA_MODE_SEARCHED);
    assert_plan_shape(&in, &plan);
    assert_metrics_recompute(&in, &plan);
    /* no pair of the last year together again: every planned pair last met two years ago
     * or more (counted here from the groups) */
    for (size_t g = 0; g < plan.terms[0].n_groups; g++) {
        const struct rota_group *gr = &plan.terms[0].groups[g];
        for (int i = 0; i < gr->size; i++)
            for (int j = i + 1; j < gr->size; j++)
                for (int h = 6; h < 9; h++)
                    for (const int *p = years[h]; *p != -2; p++) {
                        bool a = false, b = false;
                        for (; *p >= 0; p++) {
                            a |= *p == gr->members[i];
                            b |= *p == gr->members[j];
                        }
                        assert_false(a && b);
                    }
    }
    assert_true(plan.term_metrics[0].most_recent_repeat >= 4);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_greedy_baseline(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 15, 7);
    only_no_repeat(&in);
    struct rota_plan greedy, plan;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan_greedy(&in, &greedy, &err), 0);
    assert_plan_shape(&in, &greedy);
    assert_string_equal(greedy.method, "greedy, term by term");
    struct rota_options o = quick(20000000);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    /* the greedy baseline gets stuck before the Kirkman run; the planner does not */
    assert_true(repeat_free_run(&greedy) < 7);
    assert_int_equal(repeat_free_run(&plan), 7);
    rota_plan_free(&greedy);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

/* The previous plan of a re-plan, by URN, from a plan. */
static struct rota_prev_term *prev_from_plan(const struct rota_input *in,
                                             const struct rota_plan *plan)
{
    struct rota_prev_term *prev = calloc(plan->n_terms, sizeof *prev);
    for (size_t k = 0; k < plan->n_terms; k++) {
        prev[k].id = plan->terms[k].id;
        prev[k].n_groups = plan->terms[k].n_groups;
        prev[k].groups = calloc(prev[k].n_groups, sizeof *prev[k].groups);
        for (size_t g = 0; g < prev[k].n_groups; g++) {
            const struct rota_group *gr = &plan->terms[k].groups[g];
            prev[k].groups[g].size = gr->size;
            for (int i = 0; i < gr->size; i++)
                memcpy(prev[k].groups[g].members[i], in->schools[gr->members[i]].urn, 7);
            memcpy(prev[k].groups[g].host, in->schools[gr->host].urn, 7);
        }
    }
    return prev;
}

static void test_replan(void **state)
{
    (void)state;
    struct rota_input in;
    make_input(&in, 12, 3);
    only_no_repeat(&in);
    struct rota_options o = quick(5000000);
    struct rota_plan plan, again;
    struct rota_changes ch;
    struct mat_errors err;
    mat_errors_init(&err);
    assert_int_equal(rota_plan(&in, &o, &plan, &err), 0);
    struct rota_prev_term *prev = prev_from_plan(&in, &plan);
    /* nothing changed: everything is kept */
    assert_int_equal(rota_replan(&in, prev, 3, &o, &again, &ch, &err), 0);
    assert_int_equal(ch.groups_kept, 12);
    assert_int_equal(ch.groups_changed, 0);
    rota_plan_free(&again);
    rota_changes_free(&ch);
    /* 100012 leaves and 100099 joins: only the group that lost a member changes */
    memcpy(in.schools[11].urn, "100099", 7);
    assert_int_equal(rota_replan(&in, prev, 3, &o, &again, &ch, &err), 0);
    assert_plan_shape(&in, &again);
    assert_metrics_recompute(&in, &again);
    assert_int_equal(ch.n_terms, 3);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(ch.terms[k].kept, 3);
        assert_int_equal(ch.terms[k].n_removed, 1);
        assert_int_equal(ch.terms[k].n_added, 1);
        const struct rota_group *added = &again.terms[k].groups[ch.terms[k].added[0]];
        bool joiner = false;
        for (int i = 0; i < added->size; i++)
            joiner |= added->members[i] == 11;
        assert_true(joiner);
        const struct rota_prev_group *gone = &prev[k].groups[ch.terms[k].removed[0]];
        bool leaver = false;
        for (int i = 0; i < gone->size; i++)
            leaver |= strcmp(gone->members[i], "100012") == 0;
        assert_true(leaver);
    }
    assert_int_equal(again.total.repeat_pairs, 0); /* the newcomer has met nobody */
    rota_plan_free(&again);
    rota_changes_free(&ch);
    /* 100011 leaves as well: 11 schools need two groups of four; still most triads kept */
    in.n_schools = 11;
    memcpy(in.schools[10].urn, "100099", 7);
    assert_int_equal(rota_replan(&in, prev, 3, &o, &again, &ch, &err), 0);
    assert_plan_shape(&in, &again);
    for (size_t k = 0; k < 3; k++)
        assert_true(ch.terms[k].kept >= 1);
    rota_plan_free(&again);
    rota_changes_free(&ch);
    in.n_schools = 12;
    rota_prev_terms_free(prev, 3);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_validate(void **state)
{
    (void)state;
    struct rota_input in;
    struct mat_errors err;
    mat_errors_init(&err);
    make_input(&in, 2, 1);
    assert_int_equal(rota_validate(&in, &err), -1);
    assert_true(has_error(&err, "/schools", "at least 3"));
    rota_input_free(&in);
    mat_errors_free(&err);

    mat_errors_init(&err);
    make_input(&in, 6, 2);
    memcpy(in.schools[4].urn, "100002", 7);
    in.terms[1] = in.terms[0];
    in.constraints.decay = 0;
    static const int h[] = {0, 1, 2, -1, -2};
    add_history(&in, 2025, 0, h); /* the same term as one to plan */
    in.history[0].groups[0].host = 5;
    exclude(&in, 3, 3);
    assert_int_equal(rota_validate(&in, &err), -1);
    assert_true(has_error(&err, "/schools/4/urn", "duplicate school 100002"));
    assert_true(has_error(&err, "/terms/1", "listed twice"));
    assert_true(has_error(&err, "/terms/0", "not after the latest term in the history"));
    assert_true(has_error(&err, "/constraints/decay", "above 0"));
    assert_true(has_error(&err, "/history/0/groups/0/host", "member"));
    assert_true(has_error(&err, "/constraints/excluded_pairs/0", "itself"));
    rota_input_free(&in);
    mat_errors_free(&err);
}

int main(void)
{
    rota_checks_on();
    if (getenv("ROTA_TEST_FILTER")) /* e.g. ROTA_TEST_FILTER='test_horizon*' */
        cmocka_set_test_filter(getenv("ROTA_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_sizes),
        cmocka_unit_test(test_targets_and_bounds),
        cmocka_unit_test(test_haversine),
        cmocka_unit_test(test_metrics_repeats_and_decay),
        cmocka_unit_test(test_metrics_phase_balance_travel),
        cmocka_unit_test(test_metrics_hosting),
        cmocka_unit_test(test_plan_known_maxima),
        cmocka_unit_test(test_design_engine),
        cmocka_unit_test(test_plan_property_random),
        cmocka_unit_test(test_determinism_and_history_order),
        cmocka_unit_test(test_history_pairs_avoided),
        cmocka_unit_test(test_excluded_pairs),
        cmocka_unit_test(test_phase_rules),
        cmocka_unit_test(test_balance_and_travel),
        cmocka_unit_test(test_hosting_above_soft),
        cmocka_unit_test(test_horizon_keeps_the_run),
        cmocka_unit_test(test_term_by_term_is_all_at_once),
        cmocka_unit_test(test_three_handmade_years),
        cmocka_unit_test(test_own_year_after_handmade_history),
        cmocka_unit_test(test_own_year_after_hosted_handmade_history),
        cmocka_unit_test(test_recognition_same_on_any_thread_count),
        cmocka_unit_test(test_design_memo_replays_exactly),
        cmocka_unit_test(test_method_names_the_whole_run),
        cmocka_unit_test(test_recognition_floor_is_a_floor),
        cmocka_unit_test(test_greedy_baseline),
        cmocka_unit_test(test_replan),
        cmocka_unit_test(test_validate),
    };
    return rota_checks_result(cmocka_run_group_tests(tests, NULL, NULL));
}
