/* The planner beside the greedy baseline on realistic county trusts (issue 10): the same
 * generated trusts as bench/rota.sh (tests/support/rota_trust.c), several sizes and horizons,
 * travel off and on. Every measure is recomputed here from the groups and hosts alone (pairs,
 * phases, strengths, haversine km, host counts), not taken from the planner's metrics. */
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
#include "rota.h"
#include "rota_search.h"
#include "rota_checks.h"
#include "rota_trust.h"

/* What a trust sees of the terms asked for. */
struct measures {
    int repeats; /* pairs together again within the terms (no history here) */
    int phase;   /* members out of their group's most common phase */
    int unbalanced;
    double max_km, total_km; /* member to host */
    int host_spread;         /* most minus fewest host turns per school */
    double soft; /* SPEC §7's weighted sum: phase, balance, travel (longest trip per group) */
};

static struct measures measure(const struct rota_input *in, const struct rota_term *terms,
                               size_t n_terms)
{
    struct measures m = {0};
    int n = (int)in->n_schools;
    int *met = calloc((size_t)n * n, sizeof *met), *hosted = calloc((size_t)n, sizeof *hosted);
    for (size_t k = 0; k < n_terms; k++)
        for (size_t g = 0; g < terms[k].n_groups; g++) {
            const struct rota_group *gr = &terms[k].groups[g];
            int best = 0, strong = 0, category = 0;
            double trip = 0;
            const struct rota_school *host = &in->schools[gr->host];
            hosted[gr->host]++;
            for (int i = 0; i < gr->size; i++) {
                const struct rota_school *s = &in->schools[gr->members[i]];
                int same = 0;
                for (int j = 0; j < gr->size; j++) {
                    same += in->schools[gr->members[j]].phase == s->phase;
                    if (j > i && met[gr->members[i] * n + gr->members[j]]++ > 0)
                        m.repeats++;
                    if (j > i)
                        met[gr->members[j] * n + gr->members[i]]++;
                }
                best = same > best ? same : best;
                strong += s->strength >= 4;
                category += s->category;
                double km = geo_haversine_km(s->lat, s->lon, host->lat, host->lon);
                m.total_km += km;
                m.max_km = km > m.max_km ? km : m.max_km;
                trip = km > trip ? km : trip;
            }
            m.phase += gr->size - best;
            m.unbalanced += strong == 0 || category >= 2;
            const struct rota_constraints *c = &in->constraints;
            m.soft += (c->phase == ROTA_PHASE_PREFER ? c->phase_weight * (gr->size - best) : 0) +
                      (c->balance && (strong == 0 || category >= 2) ? c->balance_weight : 0) +
                      c->travel_weight * trip;
        }
    int lo = INT32_MAX, hi = 0;
    for (int i = 0; i < n; i++) {
        lo = hosted[i] < lo ? hosted[i] : lo;
        hi = hosted[i] > hi ? hosted[i] : hi;
    }
    m.host_spread = hi - lo;
    free(met);
    free(hosted);
    return m;
}

/* Terms from the first with no pair together twice. */
static int repeat_free_run(const struct rota_term *terms, size_t n_terms, int n)
{
    uint8_t *met = calloc((size_t)n * n, 1);
    int run = 0;
    for (size_t k = 0; k < n_terms; k++) {
        bool repeat = false;
        for (size_t g = 0; g < terms[k].n_groups; g++) {
            const struct rota_group *gr = &terms[k].groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++)
                    repeat |= met[gr->members[i] * n + gr->members[j]]++ > 0 ||
                              met[gr->members[j] * n + gr->members[i]]++ > 0;
        }
        if (repeat)
            break;
        run++;
    }
    free(met);
    return run;
}

/* A tenth of the default budget keeps the test quick under the sanitizers; the bench plans
 * the same trusts at the default (the properties below hold at both). */
static struct rota_options budget(void)
{
    struct rota_options o;
    rota_options_default(&o);
    o.work_budget = 2000000;
    return o;
}

struct soft_case {
    int n, terms;
};

/* The sizes and horizons of the bench's table: a year of a small to large trust, two years of
 * two of them. */
static const struct soft_case cases[] = {{12, 3}, {15, 3}, {18, 3}, {21, 3},
                                         {24, 3}, {27, 3}, {18, 6}, {24, 6}};

/* Strictly better and strictly worse measures of p against g: phase, balance, max and total km,
 * hosting spread. */
static void tally(const struct measures *p, const struct measures *g, int *better, int *worse)
{
    const double eps = 1e-6;
    *better += (p->phase < g->phase) + (p->unbalanced < g->unbalanced) +
               (p->max_km < g->max_km - eps) + (p->total_km < g->total_km - eps) +
               (p->host_spread < g->host_spread);
    *worse += (p->phase > g->phase) + (p->unbalanced > g->unbalanced) +
              (p->max_km > g->max_km + eps) + (p->total_km > g->total_km + eps) +
              (p->host_spread > g->host_spread);
}

/* Per case: the kept cycle holds the target run, and the terms asked for have no more repeats
 * than greedy's; where greedy's are repeat-free too, no more unbalanced triads and no wider
 * hosting spread. Over the cases: better than greedy on more measures than worse, with travel
 * off no more phase mismatches and km in sum, and a lower soft cost as SPEC §7 weighs it (in sum,
 * and on more cases than not). (Not every case is no worse on every
 * measure: docs/rota.md, "Soft constraints", says where greedy still groups more by phase or
 * travels less.) */
static void test_planner_beside_greedy(void **state)
{
    (void)state;
    static const double travel[] = {0, 0.05};
    int phase[2] = {0, 0}, greedy_phase[2] = {0, 0}, better = 0, worse = 0;
    double km[2] = {0, 0}, greedy_km[2] = {0, 0}, soft = 0, greedy_soft = 0;
    int soft_lower = 0, soft_higher = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int tr = 0; tr < 2; tr++) {
            int n = cases[c].n, t = cases[c].terms, target = rota_repeat_free_target(n);
            struct rota_input in;
            rota_trust_county(&in, n, t, 1);
            in.constraints.travel_weight = travel[tr];
            struct rota_plan plan, greedy;
            struct mat_errors err;
            mat_errors_init(&err);
            struct rota_options opt = budget();
            assert_int_equal(rota_plan(&in, &opt, &plan, &err), 0);
            assert_int_equal(rota_plan_greedy(&in, &greedy, &err), 0);
            assert_int_equal(plan.n_terms, (size_t)t);
            /* the kept cycle: the terms asked for first, then the rest of the repeat-free run */
            assert_int_equal(plan.n_cycle, (size_t)target);
            int run = repeat_free_run(plan.cycle, plan.n_cycle, n);
            if (run < target)
                fail_msg("N=%d x %d: the kept cycle's run is %d of %d", n, t, run, target);
            struct measures p = measure(&in, plan.terms, plan.n_terms),
                            g = measure(&in, greedy.terms, greedy.n_terms);
            print_message("N=%d x %d travel %.2f: repeats %d/%d phase %d/%d unbalanced %d/%d "
                          "max km %.1f/%.1f total km %.1f/%.1f spread %d/%d (planner/greedy)\n",
                          n, t, travel[tr], p.repeats, g.repeats, p.phase, g.phase, p.unbalanced,
                          g.unbalanced, p.max_km, g.max_km, p.total_km, g.total_km, p.host_spread,
                          g.host_spread);
            assert_int_equal(p.repeats, 0);
            if (g.repeats == 0) {
                if (p.unbalanced > g.unbalanced || p.host_spread > g.host_spread)
                    fail_msg("N=%d x %d travel %.2f: worse than greedy on unbalanced triads %d/%d "
                             "or hosting spread %d/%d",
                             n, t, travel[tr], p.unbalanced, g.unbalanced, p.host_spread,
                             g.host_spread);
                tally(&p, &g, &better, &worse);
                phase[tr] += p.phase;
                greedy_phase[tr] += g.phase;
                km[tr] += p.total_km;
                greedy_km[tr] += g.total_km;
                soft += p.soft;
                greedy_soft += g.soft;
                soft_lower += p.soft < g.soft - 1e-6;
                soft_higher += p.soft > g.soft + 1e-6;
            }
            rota_plan_free(&plan);
            rota_plan_free(&greedy);
            rota_input_free(&in);
            mat_errors_free(&err);
        }
    print_message("better on %d measures, worse on %d; in sum, travel off: phase %d/%d, total km "
                  "%.1f/%.1f; travel on: phase %d/%d, total km %.1f/%.1f\n",
                  better, worse, phase[0], greedy_phase[0], km[0], greedy_km[0], phase[1],
                  greedy_phase[1], km[1], greedy_km[1]);
    print_message("soft cost (SPEC weights) %.1f/%.1f: lower on %d cases, higher on %d\n", soft,
                  greedy_soft, soft_lower, soft_higher);
    assert_true(better > worse);
    assert_true(soft < greedy_soft);
    assert_true(soft_lower > soft_higher);
    assert_true(phase[0] <= greedy_phase[0]);
    assert_true(km[0] <= greedy_km[0]);
}

/* Plans the county trust of n schools over `terms` terms (seed, travel weight) with the default
 * options and with the greedy baseline, checks the planner's cycle keeps the target run and
 * the terms asked for are repeat-free, and measures both over those terms. */
static void county_beside_greedy(int n, int terms, unsigned long long seed, double travel,
                                 struct measures *p, struct measures *g)
{
    struct rota_input in;
    rota_trust_county(&in, n, terms, seed);
    in.constraints.travel_weight = travel;
    struct rota_plan plan, greedy;
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_options opt;
    rota_options_default(&opt);
    assert_int_equal(rota_plan(&in, &opt, &plan, &err), 0);
    assert_int_equal(rota_plan_greedy(&in, &greedy, &err), 0);
    assert_true(repeat_free_run(plan.cycle, plan.n_cycle, n) >= rota_repeat_free_target(n));
    *p = measure(&in, plan.terms, plan.n_terms);
    *g = measure(&in, greedy.terms, greedy.n_terms);
    print_message("%d x %d seed %llu travel %.2f: soft cost %.1f/%.1f phase %d/%d unbalanced "
                  "%d/%d max km %.1f/%.1f total km %.0f/%.0f (planner/greedy)\n",
                  n, terms, seed, travel, p->soft, g->soft, p->phase, g->phase, p->unbalanced,
                  g->unbalanced, p->max_km, g->max_km, p->total_km, g->total_km);
    assert_int_equal(p->repeats, 0);
    rota_plan_free(&plan);
    rota_plan_free(&greedy);
    rota_input_free(&in);
    mat_errors_free(&err);
}

/* Larger trusts at the default budget (where several designs are tried for the first year):
 * for 30, 36 and 45 schools over a year, travel off and on, the kept cycle holds the run, the
 * year is repeat-free, and the soft cost SPEC §7 weighs is below greedy's in sum and on more of
 * the six cases than not (greedy is repeat-free on all of them). */
static void test_larger_trusts_soft_cost(void **state)
{
    (void)state;
    static const int sizes[] = {30, 36, 45};
    static const double travel[] = {0, 0.05};
    double soft = 0, greedy_soft = 0;
    int lower = 0, higher = 0;
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++)
        for (int tr = 0; tr < 2; tr++) {
            struct measures p, g;
            county_beside_greedy(sizes[c], 3, 1, travel[tr], &p, &g);
            assert_int_equal(g.repeats, 0);
            soft += p.soft;
            greedy_soft += g.soft;
            lower += p.soft < g.soft - 1e-6;
            higher += p.soft > g.soft + 1e-6;
        }
    print_message("soft cost in sum %.1f/%.1f: lower on %d cases, higher on %d\n", soft,
                  greedy_soft, lower, higher);
    assert_true(soft < greedy_soft);
    assert_true(lower > higher);
}

/* 36 schools, the county trust's mix (24 primary, 9 secondary, 3 others): the stored design
 * whose first three classes keep within three blocks of 12 lets the first year put each phase
 * in its own blocks, so the planner's first year has fewer phase mismatches and unbalanced
 * triads than greedy's (before it: 15 and 2 against greedy's 11 and 7), and is repeat-free
 * over the whole run. */
static void test_thirty_six_first_year_by_phase(void **state)
{
    (void)state;
    for (unsigned long long seed = 1; seed <= 2; seed++) {
        struct measures p, g;
        county_beside_greedy(36, 3, seed, 0, &p, &g);
        assert_true(p.phase < g.phase);
        assert_true(p.unbalanced <= g.unbalanced);
    }
}

/* 36 schools over two years, travel off: the cycle's second year weighs 0.35 of the first
 * (it weighed 1/8, and main's planner had phase 42/35 and soft cost 54/49 against greedy on
 * seed 1), so the two years together have no more phase mismatches or unbalanced triads than
 * greedy's and a soft cost (SPEC §7 weights) no higher. */
static void test_thirty_six_two_years_by_phase(void **state)
{
    (void)state;
    for (unsigned long long seed = 1; seed <= 2; seed++) {
        struct measures p, g;
        county_beside_greedy(36, 6, seed, 0, &p, &g);
        assert_int_equal(g.repeats, 0);
        assert_true(p.soft <= g.soft + 1e-6);
        assert_true(p.phase <= g.phase);
        assert_true(p.unbalanced <= g.unbalanced);
    }
}

/* With travel off (the default), where greedy is repeat-free, the planner is no worse than
 * greedy on any measure of the terms asked for, up to 45 schools: a year of 18 to 45 schools
 * and two years of 24 and 36. The km that only break ties weigh the longest distance in a group
 * beyond three quarters of the trust's widest more: without that, 18 x 3, 24 x 3 and 36 x 6
 * sent a school further than greedy's longest trip (88.4/85.1, 96.5/95.3, 99.6/95.9 km). */
static void no_worse_than_greedy_seed(const struct soft_case *rows, size_t count, double travel,
                                      unsigned long long seed)
{
    for (size_t c = 0; c < count; c++) {
        struct measures p, g;
        county_beside_greedy(rows[c].n, rows[c].terms, seed, travel, &p, &g);
        assert_int_equal(g.repeats, 0);
        if (p.phase > g.phase || p.unbalanced > g.unbalanced || p.max_km > g.max_km + 1e-6 ||
            p.total_km > g.total_km + 1e-6 || p.host_spread > g.host_spread)
            fail_msg(
                "%d x %d travel %.2f seed %llu: worse than greedy: phase %d/%d unbalanced %d/%d "
                "max km %.1f/%.1f total km %.1f/%.1f spread %d/%d",
                rows[c].n, rows[c].terms, travel, seed, p.phase, g.phase, p.unbalanced,
                g.unbalanced, p.max_km, g.max_km, p.total_km, g.total_km, p.host_spread,
                g.host_spread);
    }
}

static void no_worse_than_greedy(const struct soft_case *rows, size_t count, double travel)
{
    no_worse_than_greedy_seed(rows, count, travel, 1);
}

static void test_travel_off_no_worse_than_greedy(void **state)
{
    (void)state;
    static const struct soft_case off[] = {{18, 3}, {21, 3}, {24, 3}, {27, 3}, {30, 3},
                                           {36, 3}, {45, 3}, {24, 6}, {36, 6}};
    no_worse_than_greedy(off, sizeof off / sizeof off[0], 0);
}

/* With travel on (0.05 per km: 20 km weigh a phase mismatch), greedy saves km by taking the
 * nearest fresh partners term by term, and the plan SPEC §7's weights put first traded km for
 * phase and balance: 15 x 3, 27 x 3, 36 x 3 and 36 x 6 had more total km than greedy's (1078/990,
 * 1505/1494, 2232/1791, 4915/4334). Where that is so the schools are relabelled across the cycle
 * and the hosts rotated in each round (rota_dominance) until no measure is above greedy's: these
 * six rows (36 x 6 reaches it too in a Release build, 4323/4334 km, but not in this one: the
 * annealing's floating point takes another path; not held here). */
static void test_travel_on_no_worse_than_greedy(void **state)
{
    (void)state;
    static const struct soft_case on[] = {{15, 3}, {18, 3}, {21, 3}, {27, 3}, {36, 3}, {45, 3}};
    no_worse_than_greedy(on, sizeof on / sizeof on[0], 0.05);
}

/* How far a year is above greedy's, in the units the floor weighs: a phase mismatch or an
 * unbalanced triad 1, 10 km of the longest trip 1, 20 km in all 1. */
static double excess_units(const struct measures *p, const struct measures *g)
{
    double e = 0;
    e += p->phase > g->phase ? p->phase - g->phase : 0;
    e += p->unbalanced > g->unbalanced ? p->unbalanced - g->unbalanced : 0;
    e += p->max_km > g->max_km ? (p->max_km - g->max_km) / 10 : 0;
    e += p->total_km > g->total_km ? (p->total_km - g->total_km) / 20 : 0;
    return e;
}

/* Where relabelling cannot bring the measures above greedy's down to it, bringing them nearer is
 * kept as long as none moves further above (it wanted fewer measures above). A year of 60
 * schools with travel, the planner's seed 2 (one final: nothing else to choose), kept 2,779 km in
 * all against greedy's 1,904, 49.6 units above greedy's; the pass's 2,766 km, 49.0, was thrown
 * away. A narrow margin: the rule moved further elsewhere (in a Release build 21 x 3, seed 2,
 * from a longest trip of 96.5 km against 68.5 to 69.6), but the finals and the first year's
 * order now reach those rows another way. */
static void test_dominance_keeps_nearer(void **state)
{
    (void)state;
    struct measures p, g;
    county_beside_greedy(60, 3, 2, 0.05, &p, &g);
    assert_int_equal(g.repeats, 0);
    print_message("60 x 3 travel, seed 2: %.2f units above greedy's\n", excess_units(&p, &g));
    assert_true(excess_units(&p, &g) < 49.4);
}

/* Travel weighed as SPEC's example does (1.0 per km): the plan's soft cost, that breaks ties
 * while relabelling towards greedy's measures, is scaled back to 20 km a mismatch, or its km
 * outweigh the excess: 18 x 3 kept 12 phase mismatches against greedy's 11. */
static void test_dominance_heavy_travel(void **state)
{
    (void)state;
    static const struct soft_case rows[] = {{18, 3}};
    no_worse_than_greedy(rows, 1, 1.0);
}

/* The search polishes up to three finals in full and keeps the one its weights put first; where
 * that one stays above greedy's measures after relabelling, the others are hosted and relabelled
 * too and the one nearest greedy's over a year kept: the planner's seed 3 had 18 and 21 x 3 with
 * travel above greedy's on total km and the longest trip (1,201/1,175 and 69.6/68.5). (36 x 3
 * too, 2,207/1,791, in a Release build; not in this one, whose floating point takes another
 * path.) */
static void test_finals_nearest_greedy(void **state)
{
    (void)state;
    static const struct soft_case rows[] = {{18, 3}, {21, 3}};
    no_worse_than_greedy_seed(rows, sizeof rows / sizeof rows[0], 0.05, 3);
}

/* The term a trust drafts next: greedy's first term is its best, and the cycle weighs the terms
 * of its first year alike, so the year's terms are put in the order nearest greedy's over a term
 * and two. One term of 36 schools with travel, the planner's seed 3, was 11.8 units above
 * greedy's (605/369 km in all), now 8.8 (545). With travel off, one term of 12 to 45 schools is
 * no worse than greedy's on any measure, but for 24 schools (4 phase mismatches against 3): its
 * finals trade the first term against two years, and two years come first. */
static void test_first_term_order(void **state)
{
    (void)state;
    struct measures p, g;
    county_beside_greedy(36, 1, 3, 0.05, &p, &g);
    print_message("36 x 1 travel, seed 3: %.2f units above greedy's\n", excess_units(&p, &g));
    assert_true(excess_units(&p, &g) < 10);
    static const struct soft_case rows[] = {{12, 1}, {15, 1}, {18, 1}, {21, 1},
                                            {27, 1}, {30, 1}, {36, 1}, {45, 1}};
    no_worse_than_greedy(rows, sizeof rows / sizeof rows[0], 0);
}

/* A year of 24 and of 30 schools with travel at 0.05 per km: the polish relabels the design
 * (swaps cannot keep a tight design repeat-free) and the best starts are polished in full, so
 * the planner's soft cost is no higher than greedy's (main's: 59.2/59.0 and 70.5/66.6). Only
 * the sum is held: at 20 km a mismatch the planner may trade a phase or a balance for km. */
static void test_first_year_with_travel_soft_cost(void **state)
{
    (void)state;
    static const int sizes[] = {24, 30};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct measures p, g;
        county_beside_greedy(sizes[i], 3, 1, 0.05, &p, &g);
        assert_int_equal(g.repeats, 0);
        assert_true(p.soft <= g.soft + 1e-6);
    }
}

/* Term by term on a county trust (soft constraints on, so the first year's weights matter):
 * each call given every earlier term continues its own cycle, so it drafts the same terms as
 * one plan of all of them, and reaches the run. */
static void county_term_by_term(double travel)
{
    int n = 15, target = rota_repeat_free_target(n), terms = target + 1;
    struct rota_term *done = calloc((size_t)terms, sizeof *done);
    for (int k = 0; k < terms; k++) {
        struct rota_input in;
        rota_trust_county(&in, n, terms, 3);
        in.constraints.travel_weight = travel;
        in.terms[0] = in.terms[k];
        in.n_terms = 1;
        in.history = done; /* borrowed: detached before rota_input_free */
        in.n_history = (size_t)k;
        struct rota_plan plan;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options opt = budget();
        assert_int_equal(rota_plan(&in, &opt, &plan, &err), 0);
        assert_int_equal(plan.mode, k == 0 ? ROTA_MODE_CYCLE : ROTA_MODE_CONTINUED);
        if (k == 0) { /* the cycle drafted from is one the dominance pass changed */
            print_message("travel %.2f: %s\n", travel, plan.method);
            assert_non_null(strstr(plan.method, "relabelled to greedy's measures"));
        }
        done[k] = plan.terms[0];
        plan.terms[0].groups = NULL;
        rota_plan_free(&plan);
        in.history = NULL;
        in.n_history = 0;
        rota_input_free(&in);
        mat_errors_free(&err);
    }
    struct rota_input in;
    rota_trust_county(&in, n, terms, 3);
    in.constraints.travel_weight = travel;
    struct rota_plan plan;
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_options opt = budget();
    assert_int_equal(rota_plan(&in, &opt, &plan, &err), 0);
    for (int k = 0; k < terms; k++) {
        assert_int_equal(plan.terms[k].n_groups, done[k].n_groups);
        for (size_t g = 0; g < done[k].n_groups; g++) {
            bool found = false;
            for (size_t h = 0; !found && h < plan.terms[k].n_groups; h++)
                found = plan.terms[k].groups[h].size == done[k].groups[g].size &&
                        plan.terms[k].groups[h].host == done[k].groups[g].host &&
                        memcmp(plan.terms[k].groups[h].members, done[k].groups[g].members,
                               sizeof(int) * (size_t)done[k].groups[g].size) == 0;
            if (!found)
                fail_msg("term %d: group %zu drafted term by term is not in the plan", k, g);
        }
    }
    assert_true(repeat_free_run(done, (size_t)terms, n) >= target);
    for (int k = 0; k < terms; k++)
        free(done[k].groups);
    free(done);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
}

static void test_county_term_by_term(void **state)
{
    (void)state;
    county_term_by_term(0);
}

/* With travel on, the first window is relabelled to greedy's measures of its first term, two
 * terms, one, two and four years (never of the terms asked for), so term by term still drafts
 * it. */
static void test_county_term_by_term_travel(void **state)
{
    (void)state;
    county_term_by_term(0.05);
}

/* Same groups (as sets) with the same hosts? */
static bool same_term(const struct rota_term *a, const struct rota_term *b)
{
    if (a->n_groups != b->n_groups || rota_term_index(a->id) != rota_term_index(b->id))
        return false;
    for (size_t g = 0; g < a->n_groups; g++) {
        bool found = false;
        for (size_t h = 0; !found && h < b->n_groups; h++) {
            const struct rota_group *x = &a->groups[g], *y = &b->groups[h];
            found = x->size == y->size && x->host == y->host;
            for (int i = 0; found && i < x->size; i++) {
                bool in = false;
                for (int j = 0; j < y->size; j++)
                    in |= x->members[i] == y->members[j];
                found = in;
            }
        }
        if (!found)
            return false;
    }
    return true;
}

/* Past the kept cycle, as matd drafts (no recognition, the history = the terms published):
 * the history ends with the whole cycle, so the next term is planned as one plan of all the
 * terms plans its second window (the cycle again), and the cycle kept with it is that window:
 * term by term = all at once beyond one cycle. */
static void test_after_the_cycle(void **state)
{
    (void)state;
    static const int sizes[] = {12, 15};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i], c = rota_cycle_length(n, 1), terms = 2 * c;
        struct rota_input in;
        rota_trust_county(&in, n, terms, 5);
        struct rota_plan all;
        struct mat_errors err;
        mat_errors_init(&err);
        struct rota_options opt = budget();
        assert_int_equal(rota_plan(&in, &opt, &all, &err), 0);
        in.history = all.terms; /* borrowed: the first cycle, published */
        in.n_history = (size_t)c;
        in.terms[0] = in.terms[c];
        in.n_terms = 1;
        opt.no_recognise = true;
        struct rota_plan next;
        assert_int_equal(rota_plan(&in, &opt, &next, &err), 0);
        assert_int_equal(next.mode, ROTA_MODE_CONTINUED);
        assert_int_equal(next.n_cycle, (size_t)c);
        for (int k = 0; k < c; k++)
            if (!same_term(&next.cycle[k], &all.terms[c + k]))
                fail_msg("N=%d: term %d after the cycle differs from one plan of all", n, c + k);
        assert_true(same_term(&next.terms[0], &all.terms[c]));
        in.history = NULL;
        in.n_history = 0;
        rota_plan_free(&next);
        rota_plan_free(&all);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
}

/* 60 schools, a year and four years, travel off and on: the terms asked for are the first terms
 * of the kept cycle (matd drafts the next terms from it), which holds the whole run of 29, and
 * they are repeat-free, although on three of these greedy's terms have the lower soft cost
 * (measured 23.0/19.0, 115.6/93.9, 202.0/147.0; the fourth has greedy repeat). Greedy's terms
 * there, kept with the continuation the planner plans after them, would repeat pairs from the
 * 8th to the 15th term (docs/rota.md, "A portfolio with greedy's plan"): a choice by the terms
 * asked for alone fails here. */
static void test_sixty_keeps_the_run(void **state)
{
    (void)state;
    static const int horizons[] = {3, 12};
    static const double travel[] = {0, 0.05};
    for (size_t h = 0; h < sizeof horizons / sizeof horizons[0]; h++)
        for (int tr = 0; tr < 2; tr++) {
            struct rota_input in;
            rota_trust_county(&in, 60, horizons[h], 1);
            in.constraints.travel_weight = travel[tr];
            struct rota_plan plan;
            struct mat_errors err;
            mat_errors_init(&err);
            struct rota_options opt;
            rota_options_default(&opt);
            assert_int_equal(rota_plan(&in, &opt, &plan, &err), 0);
            assert_true(repeat_free_run(plan.cycle, plan.n_cycle, 60) >= 29);
            for (size_t k = 0; k < plan.n_terms; k++)
                if (!same_term(&plan.terms[k], &plan.cycle[k]))
                    fail_msg("60 x %d: term %zu is not the kept cycle's", horizons[h], k);
            struct measures p = measure(&in, plan.terms, plan.n_terms);
            print_message("60 x %d travel %.2f: soft cost %.1f, phase %d, unbalanced %d\n",
                          horizons[h], travel[tr], p.soft, p.phase, p.unbalanced);
            assert_int_equal(p.repeats, 0);
            rota_plan_free(&plan);
            rota_input_free(&in);
            mat_errors_free(&err);
        }
}

int main(void)
{
    rota_checks_on();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_beside_greedy),
        cmocka_unit_test(test_larger_trusts_soft_cost),
        cmocka_unit_test(test_thirty_six_first_year_by_phase),
        cmocka_unit_test(test_thirty_six_two_years_by_phase),
        cmocka_unit_test(test_first_year_with_travel_soft_cost),
        cmocka_unit_test(test_travel_off_no_worse_than_greedy),
        cmocka_unit_test(test_travel_on_no_worse_than_greedy),
        cmocka_unit_test(test_dominance_keeps_nearer),
        cmocka_unit_test(test_dominance_heavy_travel),
        cmocka_unit_test(test_finals_nearest_greedy),
        cmocka_unit_test(test_first_term_order),
        cmocka_unit_test(test_sixty_keeps_the_run),
        cmocka_unit_test(test_county_term_by_term),
        cmocka_unit_test(test_county_term_by_term_travel),
        cmocka_unit_test(test_after_the_cycle),
    };
    return rota_checks_result(cmocka_run_group_tests(tests, NULL, NULL));
}
