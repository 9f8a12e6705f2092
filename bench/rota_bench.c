/* Rota planner bench (SPEC §7, §10): for every trust size N, the longest repeat-free run of
 * terms the planner reaches from an empty history with only the no-repeat objective on,
 * against the SPEC target and the counting bound, with its time; and the same for the
 * greedy term-by-term baseline, measured in the same run as the anchor.
 * --horizon K plans target + K terms at once (the run must survive planning past it);
 * --history plans a county trust's year after nine random past terms, then its next year given
 * those and the planner's own year (recognised and continued), as matctl would (default options),
 * and its own year after nine hand-made terms hosted as the hosting cycle has it (wall and CPU
 * ms: CPU time is what another load on the machine does not move);
 * --term-by-term plans target + 1 terms one call at a time, each given every earlier term as
 * history (as the scheduler drafts); --big N:T times one plan of N schools and T terms;
 * --dump prints the JSON of plans for N = from..to, one line each, so two builds' outputs can be
 * compared byte for byte (--dump-no-history: only the plans without history).
 * Usage: rota_bench [--from N] [--to N] [--seed S] [--budget-ms MS] [--search-only]
 *                   [--three-groups] [--horizon K] [--term-by-term] [--history] [--big N:T]
 *                   [--dump] [--dump-no-history] [--soft N:T] [--portfolio] [--store N]
 *                   [--soft-all [--cases N:T,...] [--travel W]] [--threads K]
 * --threads K: recognition's threads (default 0, one per core; 1 for one thread's CPU time).
 * --soft N:T compares the planner with the greedy baseline on the soft constraints of a
 * realistic trust of N schools over T terms (tests/support/rota_trust.c), --soft-all does so
 * for fifteen sizes and horizons in one table (--cases: these sizes and horizons instead;
 * --travel W: the rows with travel on weigh it W per km, not 0.05),
 * --portfolio measures on those rows what keeping greedy's plan where it is cheaper over the terms
 * asked for would cost the kept cycle; --store N prints the design search's base classes for N as
 * an entry of daemon/lib/rota/rota_designs.inc;
 * --three-groups runs the three-groups construction alone for the orders that have one (27, 45). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo.h"
#include "rota.h"
#include "rota_design.h"
#include "rota_json.h"
#include "rota_trust.h"

static double now_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this process: on a shared machine the figure another load does not move. */
static double cpu_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --threads K: recognition's threads (rota_options.threads; 0: one per core). With 1 the CPU
 * figures are one thread's work, without the starts begun early and cancelled. */
static int bench_threads;

static void bench_options(struct rota_options *o)
{
    rota_options_default(o);
    o->threads = bench_threads;
}

/* One plan timed as a fresh process (matctl) makes it, the designs of earlier plans forgotten:
 * wall and CPU ms. Returns rota_plan's result. */
static int plan_timed(const struct rota_input *in, const struct rota_options *opt,
                      struct rota_plan *out, struct mat_errors *err, double ms[2])
{
    rota_design_forget();
    double t0 = now_ms_f(), c0 = cpu_ms_f();
    int rc = rota_plan(in, opt, out, err);
    ms[0] = now_ms_f() - t0;
    ms[1] = cpu_ms_f() - c0;
    return rc;
}

/* N schools, no history, only the no-repeat and hosting objectives. */
static void make_input(struct rota_input *in, int n, int terms, unsigned long long seed)
{
    rota_trust_plain(in, n, terms, seed);
}

/* Leading terms without a repeated pair. */
static int repeat_free_run(const struct rota_plan *plan)
{
    int run = 0;
    while ((size_t)run < plan->n_terms && plan->term_metrics[run].repeat_pairs == 0)
        run++;
    return run;
}

/* Leading terms without a repeated pair, and the fewest terms since a repeated pair last met
 * (0 = no repeat), over terms planned from an empty history. */
static int run_of_terms(const struct rota_input *in, const struct rota_term *terms, size_t n,
                        int *most_recent)
{
    struct rota_metrics *per = calloc(n + 1, sizeof *per), total;
    struct rota_input empty = *in;
    empty.history = NULL;
    empty.n_history = 0;
    rota_metrics_compute(&empty, terms, n, per, &total);
    int run = 0;
    while ((size_t)run < n && per[run].repeat_pairs == 0)
        run++;
    *most_recent = total.most_recent_repeat;
    free(per);
    return run;
}

/* One plan of target + extra terms. */
static int horizon_table(int from, int to, int extra, unsigned long long seed, long budget_ms)
{
    printf("| N | target | terms | run | most recent repeat | ms |\n|---|---|---|---|---|---|\n");
    int met = 0, total = 0;
    double worst = 0;
    for (int n = from; n <= to; n++) {
        int target = rota_repeat_free_target(n), recent;
        struct rota_input in;
        struct rota_options opt;
        bench_options(&opt);
        opt.time_budget_ms = budget_ms;
        struct mat_errors err;
        mat_errors_init(&err);
        make_input(&in, n, target + extra, seed);
        struct rota_plan plan;
        double t0 = now_ms_f();
        if (rota_plan(&in, &opt, &plan, &err) != 0)
            return 1;
        double ms = now_ms_f() - t0;
        int run = run_of_terms(&in, plan.terms, plan.n_terms, &recent);
        printf("| %d | %d | %d | %d%s | %d | %.1f |\n", n, target, target + extra, run,
               run >= target ? "" : " (missed)", recent, ms);
        fflush(stdout);
        met += run >= target;
        total++;
        worst = ms > worst ? ms : worst;
        rota_plan_free(&plan);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
    printf("\nTarget run kept for %d of %d sizes; slowest plan %.1f ms.\n", met, total, worst);
    return met == total ? 0 : 1;
}

/* target + 1 calls of one term each, every earlier term as history. */
static int term_by_term_table(int from, int to, unsigned long long seed, long budget_ms)
{
    printf("| N | target | run | planner | ms in all | slowest call ms |\n"
           "|---|---|---|---|---|---|\n");
    int met = 0, total = 0;
    for (int n = from; n <= to; n++) {
        int target = rota_repeat_free_target(n), terms = target + 1, recent;
        struct rota_term *done = calloc((size_t)terms, sizeof *done);
        double all = 0, slowest = 0;
        char mode[32] = "";
        for (int k = 0; k < terms; k++) {
            struct rota_input in;
            struct rota_options opt;
            bench_options(&opt);
            opt.time_budget_ms = budget_ms;
            struct mat_errors err;
            mat_errors_init(&err);
            make_input(&in, n, terms, seed);
            in.terms[0] = in.terms[k];
            in.n_terms = 1;
            in.history = done; /* borrowed: detached before rota_input_free */
            in.n_history = (size_t)k;
            struct rota_plan plan;
            double t0 = now_ms_f();
            if (rota_plan(&in, &opt, &plan, &err) != 0)
                return 1;
            double ms = now_ms_f() - t0;
            all += ms;
            slowest = ms > slowest ? ms : slowest;
            if (k > 0)
                snprintf(mode, sizeof mode, "%s", rota_planner_mode_name(plan.mode));
            done[k] = plan.terms[0];
            plan.terms[0].groups = NULL;
            rota_plan_free(&plan);
            in.history = NULL;
            in.n_history = 0;
            rota_input_free(&in);
            mat_errors_free(&err);
        }
        struct rota_input in;
        make_input(&in, n, terms, seed);
        int run = run_of_terms(&in, done, (size_t)terms, &recent);
        printf("| %d | %d | %d%s | %s | %.1f | %.1f |\n", n, target, run,
               run >= target ? "" : " (missed)", mode, all, slowest);
        fflush(stdout);
        met += run >= target;
        total++;
        for (int k = 0; k < terms; k++)
            free(done[k].groups);
        free(done);
        rota_input_free(&in);
    }
    printf("\nTarget run reached term by term for %d of %d sizes.\n", met, total);
    return met == total ? 0 : 1;
}

/* One plan of n schools and t terms, with the default soft constraints on and a location. */
static int big_run(int n, int t, unsigned long long seed, long budget_ms)
{
    struct rota_input in;
    make_input(&in, n, t, seed);
    rota_constraints_default(&in.constraints);
    for (int i = 0; i < n; i++) {
        in.schools[i].phase = i % 4 == 0 ? ROTA_PHASE_SECONDARY : ROTA_PHASE_PRIMARY;
        in.schools[i].strength = 1 + i % 5;
        in.schools[i].has_location = true;
        in.schools[i].lat = 52 + (double)(i * 37 % 100) / 100;
        in.schools[i].lon = -2 + (double)(i * 61 % 100) / 100;
    }
    struct rota_options opt;
    bench_options(&opt);
    opt.time_budget_ms = budget_ms;
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_plan plan;
    double t0 = now_ms_f();
    if (rota_plan(&in, &opt, &plan, &err) != 0)
        return 1;
    double ms = now_ms_f() - t0;
    int recent, run = run_of_terms(&in, plan.terms, plan.n_terms, &recent);
    printf("%d schools x %d terms: %.0f ms, repeat-free run %d, repeats %d, phase mismatches "
           "%d, unbalanced %d\n",
           n, t, ms, run, plan.total.repeat_pairs, plan.total.phase_mismatches,
           plan.total.unbalanced_groups);
    rota_plan_free(&plan);
    rota_input_free(&in);
    mat_errors_free(&err);
    return 0;
}

/* Planner and greedy baseline side by side on the soft constraints (SPEC §7): repeats,
 * phase mismatches, unbalanced triads, km, hosting, with travel off (the default) and on. */
static int soft_table(int n, int t, unsigned long long seed, long budget_ms)
{
    static const double travel[] = {0, 0.05};
    printf("%d schools x %d terms, no history, phase prefer, balance on, decay 6, seed %llu\n\n", n,
           t, seed);
    printf("| measure | planner (travel 0) | greedy (travel 0) | planner (travel 0.05/km) | "
           "greedy (travel 0.05/km) |\n|---|---|---|---|---|\n");
    struct rota_metrics m[4];
    double ms[4];
    int run[4];
    for (int c = 0; c < 2; c++) {
        struct rota_input in;
        rota_trust_county(&in, n, t, seed);
        in.constraints.travel_weight = travel[c];
        struct rota_options opt;
        bench_options(&opt);
        opt.time_budget_ms = budget_ms;
        struct mat_errors err;
        mat_errors_init(&err);
        for (int g = 0; g < 2; g++) {
            struct rota_plan plan;
            double t0 = now_ms_f();
            int rc = g ? rota_plan_greedy(&in, &plan, &err) : rota_plan(&in, &opt, &plan, &err);
            if (rc != 0) {
                fprintf(stderr, "soft %d:%d: %s\n", n, t,
                        err.count ? err.items[0].message : "failed");
                return 1;
            }
            ms[c * 2 + g] = now_ms_f() - t0;
            m[c * 2 + g] = plan.total;
            int recent;
            run[c * 2 + g] = run_of_terms(&in, plan.terms, plan.n_terms, &recent);
            rota_plan_free(&plan);
        }
        rota_input_free(&in);
        mat_errors_free(&err);
    }
#define ROW_I(label, expr)                                                                         \
    printf("| " label " | %d | %d | %d | %d |\n", m[0].expr, m[1].expr, m[2].expr, m[3].expr)
#define ROW_F(label, expr)                                                                         \
    printf("| " label " | %.1f | %.1f | %.1f | %.1f |\n", m[0].expr, m[1].expr, m[2].expr,         \
           m[3].expr)
    ROW_I("repeat pairs", repeat_pairs);
    printf("| repeat-free run (terms) | %d | %d | %d | %d |\n", run[0], run[1], run[2], run[3]);
    ROW_I("most recent repeat (terms ago; 0 none)", most_recent_repeat);
    ROW_F("repeat cost", repeat_cost);
    ROW_I("phase mismatches", phase_mismatches);
    ROW_I("unbalanced triads", unbalanced_groups);
    ROW_F("max km", max_km);
    ROW_F("total km", total_km);
    ROW_I("hosting spread", hosting_spread);
    ROW_I("hosting violations", hosting_violations);
    printf("| ms | %.1f | %.1f | %.1f | %.1f |\n", ms[0], ms[1], ms[2], ms[3]);
#undef ROW_I
#undef ROW_F
    return 0;
}

/* --store N: the design search's run for N, printed as an entry of rota_designs.inc (the base
 * classes of a cyclic structure are the first class of each block of developed terms). */
static int store_design(int n, unsigned long long seed, long budget_ms)
{
    int target = rota_repeat_free_target(n), order = 1, k = target, norb = 0, orb[16] = {0};
    int *classes = malloc(sizeof *classes * (size_t)n * (size_t)target);
    char method[128];
    if (rota_design(n, target, seed, (unsigned long long)budget_ms * 20000, ROTA_DESIGN_SEARCH_ONLY,
                    classes, method, sizeof method) != 0) {
        fprintf(stderr, "N=%d: no repeat-free run found (%s)\n", n, method);
        free(classes);
        return 1;
    }
    const char *o = strstr(method, "orbits ");
    if (strncmp(method, "cyclic Z_", 9) == 0 && o) {
        order = atoi(method + 9);
        k = atoi(strchr(method, ',') + 1);
        for (o += 7; norb < 16 && *o >= '0' && *o <= '9'; norb++) {
            orb[norb] = atoi(o);
            while (*o >= '0' && *o <= '9')
                o++;
            if (*o == '+')
                o++;
        }
    } else if (strncmp(method, "local search", 12) != 0) {
        fprintf(stderr, "N=%d: %s is not stored this way\n", n, method);
        free(classes);
        return 1;
    }
    printf("/* %d: %s */\nstatic const signed char stored_%d[] = {", n, method, n);
    for (int b = 0; b < k; b++)
        for (int i = 0; i < n; i++)
            printf("%s%d", b || i ? ", " : "", classes[(size_t)b * order * n + i]);
    printf("};\n    {%d, %d, %d, %d, {", n, order, k, order == 1 ? 0 : norb);
    for (int i = 0; i < (order == 1 ? 1 : norb); i++)
        printf("%s%d", i ? ", " : "", orb[i]);
    printf("}, stored_%d},\n", n);
    free(classes);
    return 0;
}

/* The soft cost SPEC §7 weighs (what the planner minimises after repeats and hosting): per
 * group, phase_weight per member out of the group's most common phase, balance_weight if it has
 * no strong school or two category schools, travel_weight per km of its longest member-to-host
 * trip; recomputed here from the groups and hosts. */
static double soft_cost(const struct rota_input *in, const struct rota_plan *p)
{
    const struct rota_constraints *c = &in->constraints;
    double cost = 0;
    for (size_t k = 0; k < p->n_terms; k++)
        for (size_t g = 0; g < p->terms[k].n_groups; g++) {
            const struct rota_group *gr = &p->terms[k].groups[g];
            const struct rota_school *host = &in->schools[gr->host];
            int most = 0, strong = 0, category = 0;
            double trip = 0;
            for (int i = 0; i < gr->size; i++) {
                const struct rota_school *s = &in->schools[gr->members[i]];
                int same = 0;
                for (int j = 0; j < gr->size; j++)
                    same += in->schools[gr->members[j]].phase == s->phase;
                most = same > most ? same : most;
                strong += s->strength >= 4;
                category += s->category;
                double km = geo_haversine_km(s->lat, s->lon, host->lat, host->lon);
                trip = km > trip ? km : trip;
            }
            if (c->phase == ROTA_PHASE_PREFER)
                cost += c->phase_weight * (gr->size - most);
            if (c->balance && (strong == 0 || category >= 2))
                cost += c->balance_weight;
            cost += c->travel_weight * trip;
        }
    return cost;
}

/* The trust sizes and horizons of --soft-all and --portfolio. */
#define SOFT_CASES_MAX 64
static const int soft_cases[][2] = {{12, 3}, {15, 3}, {18, 3}, {21, 3},  {24, 3},
                                    {27, 3}, {30, 3}, {36, 3}, {45, 3},  {60, 3},
                                    {18, 6}, {24, 6}, {36, 6}, {24, 11}, {60, 12}};

/* --soft-all: one row per trust size and horizon, travel off and on: each measure as
 * planner/greedy, and the measures on which the planner is worse (only counted where greedy is
 * repeat-free too: with fewer repeats the planner is better whatever the rest). */
static int soft_all(const int (*cases)[2], int ncases, double travel, unsigned long long seed,
                    long budget_ms)
{
    char on[16];
    snprintf(on, sizeof on, "%g", travel);
    printf("| N x terms | travel | repeats | phase | unbalanced | max km | total km | spread | "
           "soft cost | planner ms | worse on |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    int worse_all = 0, better_all = 0, rows = 0, cost_rows = 0, cost_lower = 0, cost_higher = 0;
    for (int c = 0; c < ncases; c++)
        for (int tr = 0; tr < 2; tr++) {
            struct rota_input in;
            rota_trust_county(&in, cases[c][0], cases[c][1], seed);
            in.constraints.travel_weight = tr ? travel : 0;
            struct rota_options opt;
            bench_options(&opt);
            opt.time_budget_ms = budget_ms;
            struct mat_errors err;
            mat_errors_init(&err);
            struct rota_plan p, g;
            double t0 = now_ms_f();
            if (rota_plan(&in, &opt, &p, &err) != 0)
                return 1;
            double ms = now_ms_f() - t0;
            if (rota_plan_greedy(&in, &g, &err) != 0)
                return 1;
            const struct rota_metrics *a = &p.total, *b = &g.total;
            char worse[160] = "";
            if (b->repeat_pairs == 0) {
                const double eps = 1e-6;
                const char *names[] = {"phase", "unbalanced", "max km", "total km", "spread"};
                bool w[] = {a->phase_mismatches > b->phase_mismatches,
                            a->unbalanced_groups > b->unbalanced_groups,
                            a->max_km > b->max_km + eps, a->total_km > b->total_km + eps,
                            a->hosting_spread > b->hosting_spread};
                bool bt[] = {a->phase_mismatches < b->phase_mismatches,
                             a->unbalanced_groups < b->unbalanced_groups,
                             a->max_km < b->max_km - eps, a->total_km < b->total_km - eps,
                             a->hosting_spread < b->hosting_spread};
                for (int i = 0; i < 5; i++) {
                    if (w[i])
                        snprintf(worse + strlen(worse), sizeof worse - strlen(worse), "%s%s",
                                 worse[0] ? ", " : "", names[i]);
                    worse_all += w[i];
                    better_all += bt[i];
                }
            } else {
                snprintf(worse, sizeof worse, "(greedy repeats)");
            }
            double pc = soft_cost(&in, &p), gc = soft_cost(&in, &g);
            if (b->repeat_pairs == 0) {
                cost_rows++;
                cost_lower += pc < gc - 1e-6;
                cost_higher += pc > gc + 1e-6;
            }
            printf("| %d x %d | %s | %d/%d | %d/%d | %d/%d | %.1f/%.1f | %.0f/%.0f | %d/%d | "
                   "%.1f/%.1f | %.0f | %s |\n",
                   cases[c][0], cases[c][1], tr ? on : "off", a->repeat_pairs, b->repeat_pairs,
                   a->phase_mismatches, b->phase_mismatches, a->unbalanced_groups,
                   b->unbalanced_groups, a->max_km, b->max_km, a->total_km, b->total_km,
                   a->hosting_spread, b->hosting_spread, pc, gc, ms, worse[0] ? worse : "none");
            fflush(stdout);
            rows++;
            rota_plan_free(&p);
            rota_plan_free(&g);
            rota_input_free(&in);
            mat_errors_free(&err);
        }
    printf("\n%d rows; where greedy is repeat-free too, the planner is better on %d measures and "
           "worse on %d.\n",
           rows, better_all, worse_all);
    printf("Soft cost (SPEC §7 weights) where greedy is repeat-free too: the planner's is lower on "
           "%d of %d rows, higher on %d.\n",
           cost_lower, cost_rows, cost_higher);
    return 0;
}

/* A county trust (rota_trust_county, default constraints) asked for a year from 2025-26 after
 * `past` terms of history (borrowed; NULL = the nine random years, hosted as the hosting cycle
 * has it when `hosted`) ending in 2024-25. */
static void history_input(struct rota_input *in, int n, unsigned long long seed,
                          const struct rota_term *past, size_t n_past, int first_year, bool hosted)
{
    rota_trust_county(in, n, 3, seed);
    for (int k = 0; k < 3; k++)
        in->terms[k].year = first_year;
    if (past) {
        in->history = (struct rota_term *)(uintptr_t)past;
        in->n_history = n_past;
    } else if (hosted) {
        rota_trust_hosted_history(in, n, 9, seed);
    } else {
        rota_trust_random_history(in, n, 9, seed);
    }
}

static void input_detach_history(struct rota_input *in)
{
    in->history = NULL;
    in->n_history = 0;
}

/* The history of in (borrowed) with the terms of plan after it: owned array, groups borrowed. */
static struct rota_term *history_then(const struct rota_input *in, const struct rota_plan *plan,
                                      size_t *nh)
{
    *nh = in->n_history + plan->n_terms;
    struct rota_term *past = calloc(*nh, sizeof *past);
    if (in->n_history)
        memcpy(past, in->history, sizeof *past * in->n_history);
    memcpy(past + in->n_history, plan->terms, sizeof *past * plan->n_terms);
    return past;
}

struct history_row {
    double ms[4][2]; /* the four timed plans, wall and CPU */
    bool ok;
};

/* The year after a past and the plan made over it (past_in's history, then past_plan's
 * terms), planned and timed. */
static int plan_year_after(const struct rota_input *past_in, const struct rota_plan *past_plan,
                           int n, unsigned long long seed, const struct rota_options *opt,
                           struct rota_input *in, struct rota_plan *out, struct mat_errors *err,
                           double ms[2])
{
    size_t nh;
    struct rota_term *past = history_then(past_in, past_plan, &nh);
    history_input(in, n, seed, past, nh, 2026, false);
    return plan_timed(in, opt, out, err, ms);
}

/* One row of history_table. Returns -1 when a plan fails. */
static int history_row(int n, unsigned long long seed, const struct rota_options *opt,
                       struct history_row *row)
{
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input in, in2, in3, in4, in5, in6, in7;
    struct rota_plan first, next, own, own_next, whole, hand, hand_next;
    history_input(&in, n, seed, NULL, 0, 2025, false);
    if (plan_timed(&in, opt, &first, &err, row->ms[0]) != 0)
        return -1;
    /* the history again, with the planner's year after it */
    if (plan_year_after(&in, &first, n, seed, opt, &in2, &next, &err, row->ms[1]) != 0)
        return -1;
    /* the two years as one plan, the reference for the second year */
    history_input(&in6, n, seed, NULL, 0, 2025, false);
    free(in6.terms);
    in6.n_terms = 6;
    in6.terms = calloc(6, sizeof *in6.terms);
    for (int k = 0; k < 6; k++)
        in6.terms[k] = (struct rota_term_id){2025 + k / 3, k % 3};
    if (rota_plan(&in6, opt, &whole, &err) != 0)
        return -1;
    bool same = next.mode == ROTA_MODE_CONTINUED;
    for (size_t k = 0; same && k < next.n_terms; k++) {
        const struct rota_term *a = &next.terms[k], *b = NULL;
        for (size_t c = 0; c < whole.n_terms && !b; c++)
            if (rota_term_index(whole.terms[c].id) == rota_term_index(a->id))
                b = &whole.terms[c];
        same = b && b->n_groups == a->n_groups &&
               memcmp(b->groups, a->groups, sizeof *a->groups * a->n_groups) == 0;
    }
    /* a year from no history, then the next year given it */
    history_input(&in3, n, seed, NULL, 0, 2025, false);
    for (size_t h = 0; h < in3.n_history; h++)
        free(in3.history[h].groups);
    free(in3.history);
    input_detach_history(&in3);
    if (rota_plan(&in3, opt, &own, &err) != 0)
        return -1;
    history_input(&in4, n, seed, own.terms, own.n_terms, 2026, false);
    if (plan_timed(&in4, opt, &own_next, &err, row->ms[2]) != 0)
        return -1;
    /* a hand-made past hosted as the cycle has it (every term could begin a plan), then the
     * planner's own year after it */
    history_input(&in5, n, seed, NULL, 0, 2025, true);
    if (rota_plan(&in5, opt, &hand, &err) != 0)
        return -1;
    if (plan_year_after(&in5, &hand, n, seed, opt, &in7, &hand_next, &err, row->ms[3]) != 0)
        return -1;
    /* the hand-made past is searched around and the planner's year after it continued from
     * the tenth term; or (7 schools: few groupings to make) the hand-made terms are a run the
     * planner itself begins with, which it recognises and continues */
    bool hand_ok = (hand.mode == ROTA_MODE_SEARCHED && hand_next.cycle_start == 9) ||
                   hand.mode == ROTA_MODE_CONTINUED;
    row->ok = first.mode == ROTA_MODE_SEARCHED && same && own_next.mode == ROTA_MODE_CONTINUED &&
              hand_ok && hand_next.mode == ROTA_MODE_CONTINUED;
    printf("| %d | %s | %.0f / %.0f | %s | %s | %.0f / %.0f | %s | %.0f / %.0f | %s | %.0f / %.0f "
           "|\n",
           n, rota_planner_mode_name(first.mode), row->ms[0][0], row->ms[0][1],
           rota_planner_mode_name(next.mode), same ? "yes" : "no", row->ms[1][0], row->ms[1][1],
           rota_planner_mode_name(own_next.mode), row->ms[2][0], row->ms[2][1],
           rota_planner_mode_name(hand_next.mode), row->ms[3][0], row->ms[3][1]);
    fflush(stdout);
    rota_plan_free(&first);
    rota_plan_free(&next);
    rota_plan_free(&own);
    rota_plan_free(&own_next);
    rota_plan_free(&whole);
    rota_plan_free(&hand);
    rota_plan_free(&hand_next);
    free(in2.history); /* history_then's arrays (their groups are the plans') */
    free(in7.history);
    input_detach_history(&in2);
    input_detach_history(&in4);
    input_detach_history(&in7);
    rota_input_free(&in);
    rota_input_free(&in2);
    rota_input_free(&in3);
    rota_input_free(&in4);
    rota_input_free(&in5);
    rota_input_free(&in6);
    rota_input_free(&in7);
    mat_errors_free(&err);
    return 0;
}

/* --history: the plans a trust makes after history, as `matctl rota plan` makes them (default
 * options: recognition on, the 5 s budget). For each N: a year after nine random past terms
 * (other history: searched), then the next year given those nine and the planner's year as
 * history (its own terms: continued, and the same terms as one plan of both years), a second
 * year after a first year planned from no history (its own terms from the start), and the
 * planner's own year after nine hand-made terms hosted as the hosting cycle has it (continued,
 * from the tenth term). Times are wall / CPU ms. */
static int history_table(int from, int to, unsigned long long seed, long budget_ms)
{
    printf("| N | after 9 random terms | ms wall / cpu | + its own year: mode | = one plan | ms | "
           "own year only: mode | ms | own year after 9 hosted hand-made: mode | ms |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    int ok = 0, total = 0, over = 0, over_cpu = 0;
    double slowest = 0, slowest_cpu = 0;
    for (int n = from; n <= to; n++) {
        struct rota_options opt;
        bench_options(&opt);
        opt.time_budget_ms = budget_ms;
        struct history_row row;
        if (history_row(n, seed, &opt, &row) != 0)
            return 1;
        ok += row.ok;
        total++;
        for (int c = 0; c < 4; c++) {
            over += row.ms[c][0] > 1000;
            over_cpu += row.ms[c][1] > 1000;
            slowest = row.ms[c][0] > slowest ? row.ms[c][0] : slowest;
            slowest_cpu = row.ms[c][1] > slowest_cpu ? row.ms[c][1] : slowest_cpu;
        }
    }
    printf("\nSearched after random terms, then continued (as one plan; and after hosted hand-made "
           "terms) for %d of %d sizes; slowest plan %.1f ms (CPU %.1f ms); %d of %d plans over "
           "1 s (CPU: %d).\n",
           ok, total, slowest, slowest_cpu, over, 4 * total, over_cpu);
    return ok == total ? 0 : 1;
}

/* One plan as JSON on one line, labelled; the plan is kept in out (owned). */
static int dump_plan(int n, const char *label, const struct rota_input *in,
                     const struct rota_options *opt, struct rota_plan *out)
{
    struct mat_errors err;
    mat_errors_init(&err);
    int rc = rota_plan(in, opt, out, &err);
    if (rc == 0) {
        char *text = rota_json_plan_dump(in, out, NULL, NULL, 0, false);
        printf("%d %s: %s", n, label, text);
        free(text);
    } else {
        printf("%d %s: error %s\n", n, label, err.count ? err.items[0].message : "");
    }
    fflush(stdout);
    mat_errors_free(&err);
    return rc;
}

/* --dump: the JSON of plans for N = from..to, one line each, to compare two builds' outputs
 * byte for byte (default options, as matctl plans): no history (plain trust for a year; county
 * trust for a year; county with travel for two years, seed 2), and after history (nine random
 * terms; those and the planner's year; nine hand-made terms hosted by the cycle; those and the
 * planner's year). */
static int dump_table(int from, int to, unsigned long long seed, long budget_ms, bool no_history)
{
    struct rota_options opt;
    bench_options(&opt);
    opt.time_budget_ms = budget_ms;
    int failed = 0;
    for (int n = from; n <= to; n++) {
        struct rota_input in;
        struct rota_plan p, q;
        rota_trust_plain(&in, n, 3, seed);
        failed += dump_plan(n, "plain", &in, &opt, &p) != 0;
        rota_plan_free(&p);
        rota_input_free(&in);
        rota_trust_county(&in, n, 3, seed);
        failed += dump_plan(n, "county", &in, &opt, &p) != 0;
        rota_plan_free(&p);
        rota_input_free(&in);
        rota_trust_county(&in, n, 6, seed + 1);
        in.constraints.travel_weight = 0.05;
        failed += dump_plan(n, "county-travel-6", &in, &opt, &p) != 0;
        rota_plan_free(&p);
        rota_input_free(&in);
        for (int hosted = 0; !no_history && hosted < 2; hosted++) {
            history_input(&in, n, seed, NULL, 0, 2025, hosted);
            int rc = dump_plan(n, hosted ? "after-hosted" : "after-random", &in, &opt, &p);
            failed += rc != 0;
            if (rc == 0) {
                size_t nh;
                struct rota_term *past = history_then(&in, &p, &nh);
                struct rota_input in2;
                history_input(&in2, n, seed, past, nh, 2026, false);
                failed += dump_plan(n, hosted ? "own-after-hosted" : "own-after-random", &in2, &opt,
                                    &q) != 0;
                rota_plan_free(&q);
                input_detach_history(&in2);
                rota_input_free(&in2);
                free(past);
            }
            rota_plan_free(&p);
            rota_input_free(&in);
        }
    }
    return failed ? 1 : 0;
}

/* Leading terms of history + terms (chronological) without a repeated pair. */
static int run_after(const struct rota_input *in, const struct rota_term *first, size_t n_first,
                     const struct rota_term *rest, size_t n_rest)
{
    int n = (int)in->n_schools, run = 0;
    unsigned char *met = calloc((size_t)n * n, 1);
    bool repeat = false;
    for (size_t k = 0; !repeat && k < n_first + n_rest; k++) {
        const struct rota_term *tm = k < n_first ? &first[k] : &rest[k - n_first];
        for (size_t g = 0; g < tm->n_groups; g++) {
            const struct rota_group *gr = &tm->groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++) {
                    int a = gr->members[i], b = gr->members[j];
                    repeat |= met[a * n + b] != 0;
                    met[a * n + b] = met[b * n + a] = 1;
                }
        }
        run += !repeat;
    }
    free(met);
    return run;
}

/* --portfolio: what choosing between the planner's plan and greedy's by the terms asked for
 * alone (repeats within them first, then the soft cost) would give on the --soft-all rows, and
 * what it would cost. Where greedy's terms win, the cycle kept with them (matd drafts the next
 * terms from it) is greedy's terms and then the planner's continuation after them (the rest of
 * the cycle planned with greedy's terms as history, as matd would plan it), or greedy's own plan
 * of the whole cycle: the repeat-free run of each is printed beside the planner's own cycle's. */
static int portfolio_table(unsigned long long seed, long budget_ms)
{
    printf("| N x terms | travel | soft cost planner/greedy | by the terms asked for | cycle run: "
           "planner's | greedy's terms, then the planner | greedy's throughout |\n"
           "|---|---|---|---|---|---|---|\n");
    int greedy_wins = 0;
    for (size_t c = 0; c < sizeof soft_cases / sizeof soft_cases[0]; c++)
        for (int tr = 0; tr < 2; tr++) {
            int n = soft_cases[c][0], t = soft_cases[c][1], cyc = rota_cycle_length(n, t);
            struct rota_input in;
            rota_trust_county(&in, n, cyc > t ? cyc : t, seed);
            in.constraints.travel_weight = tr ? 0.05 : 0;
            size_t all_terms = in.n_terms;
            in.n_terms = (size_t)t;
            struct rota_options opt;
            bench_options(&opt);
            opt.time_budget_ms = budget_ms;
            struct mat_errors err;
            mat_errors_init(&err);
            struct rota_plan p, g;
            if (rota_plan(&in, &opt, &p, &err) != 0 || rota_plan_greedy(&in, &g, &err) != 0)
                return 1;
            double pc = soft_cost(&in, &p), gc = soft_cost(&in, &g);
            int prun = run_after(&in, p.cycle, p.n_cycle, NULL, 0);
            bool gwin = g.total.repeat_pairs < p.total.repeat_pairs ||
                        (g.total.repeat_pairs == p.total.repeat_pairs && gc < pc - 1e-6);
            char kept[64] = "-", own[32] = "-";
            if (gwin && (size_t)t < all_terms) {
                struct rota_plan whole; /* greedy over the whole cycle, term by term */
                in.n_terms = all_terms;
                if (rota_plan_greedy(&in, &whole, &err) != 0)
                    return 1;
                in.n_terms = (size_t)t;
                snprintf(own, sizeof own, "%d",
                         run_after(&in, whole.terms, whole.n_terms, NULL, 0));
                rota_plan_free(&whole);
                struct rota_input rest = in;
                rest.history = g.terms;
                rest.n_history = g.n_terms;
                rest.terms = in.terms + t;
                rest.n_terms = all_terms - (size_t)t;
                struct rota_options after; /* matd's budget: a continuation with repeats
                                            * would spend all of the bench's */
                rota_options_default(&after);
                after.no_recognise = true;
                struct rota_plan q;
                if (rota_plan(&rest, &after, &q, &err) != 0)
                    return 1;
                snprintf(kept, sizeof kept, "%d of %d",
                         run_after(&in, g.terms, g.n_terms, q.terms, q.n_terms), cyc);
                rota_plan_free(&q);
            }
            greedy_wins += gwin;
            printf("| %d x %d | %s | %.1f/%.1f | %s | %d of %d | %s | %s |\n", n, t,
                   tr ? "0.05" : "off", pc, gc, gwin ? "greedy's" : "the planner's", prun, cyc,
                   kept, own);
            fflush(stdout);
            in.n_terms = all_terms;
            rota_plan_free(&p);
            rota_plan_free(&g);
            rota_input_free(&in);
            mat_errors_free(&err);
        }
    printf("\nGreedy's terms would win %d of 30 rows.\n", greedy_wins);
    return 0;
}

/* --cases N:T,N:T...: the rows of --soft-all instead of soft_cases. Returns the count, 0 when
 * the list is malformed or too long. */
static int parse_cases(const char *list, int (*cases)[2])
{
    int count = 0, off = 0, used;
    while (count < SOFT_CASES_MAX &&
           sscanf(list + off, "%d:%d%n", &cases[count][0], &cases[count][1], &used) == 2) {
        if (cases[count][0] < 3 || cases[count][1] < 1)
            return 0;
        count++;
        off += used;
        if (list[off] == '\0')
            return count;
        if (list[off++] != ',')
            return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int from = 6, to = 60;
    unsigned long long seed = 1;
    long budget_ms = 60000;
    int search_only = 0, horizon = -1, by_term = 0, big_n = 0, big_t = 0, soft_n = 0, soft_t = 0,
        store_n = 0, all_soft = 0, three = 0, portfolio = 0, after_history = 0, dump = 0;
    int cases[SOFT_CASES_MAX][2], ncases = 0;
    double travel = 0.05; /* --soft-all: the weight of its rows with travel on */
    long history_budget_ms = ROTA_DEFAULT_BUDGET_MS; /* --history: matctl's default */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = atoi(argv[++i]);
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--budget-ms") == 0 && i + 1 < argc)
            budget_ms = history_budget_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--history") == 0)
            after_history = 1;
        else if (strcmp(argv[i], "--dump") == 0)
            dump = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            bench_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dump-no-history") == 0)
            dump = 2;
        else if (strcmp(argv[i], "--search-only") == 0)
            search_only = 1;
        else if (strcmp(argv[i], "--three-groups") == 0)
            search_only = three = 1;
        else if (strcmp(argv[i], "--horizon") == 0 && i + 1 < argc)
            horizon = atoi(argv[++i]);
        else if (strcmp(argv[i], "--soft-all") == 0)
            all_soft = 1;
        else if (strcmp(argv[i], "--travel") == 0 && i + 1 < argc && atof(argv[i + 1]) > 0)
            travel = atof(argv[++i]);
        else if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc &&
                 (ncases = parse_cases(argv[i + 1], cases)) > 0)
            i++;
        else if (strcmp(argv[i], "--portfolio") == 0)
            portfolio = 1;
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store_n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--term-by-term") == 0)
            by_term = 1;
        else if (strcmp(argv[i], "--big") == 0 && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d:%d", &big_n, &big_t) == 2)
            i++;
        else if (strcmp(argv[i], "--soft") == 0 && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d:%d", &soft_n, &soft_t) == 2)
            i++;
        else {
            fprintf(
                stderr,
                "usage: rota_bench [--from N] [--to N] [--seed S] [--budget-ms MS] "
                "[--search-only] [--three-groups] [--horizon K] [--term-by-term] "
                "[--history] [--dump] [--dump-no-history] [--big N:T] [--soft N:T] [--threads K] "
                "[--soft-all [--cases N:T,N:T...] [--travel W]] "
                "[--portfolio] [--store N]\n");
            return 2;
        }
    }
    if (all_soft && ncases == 0) {
        ncases = (int)(sizeof soft_cases / sizeof soft_cases[0]);
        memcpy(cases, soft_cases, sizeof soft_cases);
    }
    if (all_soft)
        return soft_all(cases, ncases, travel, seed, budget_ms);
    if (portfolio)
        return portfolio_table(seed, budget_ms);
    if (store_n > 0)
        return store_design(store_n, seed, budget_ms);
    if (soft_n > 0)
        return soft_table(soft_n, soft_t, seed, budget_ms);
    if (big_n > 0)
        return big_run(big_n, big_t, seed, budget_ms);
    if (horizon >= 0)
        return horizon_table(from, to, horizon, seed, budget_ms);
    if (by_term)
        return term_by_term_table(from, to, seed, budget_ms);
    if (after_history)
        return history_table(from, to, seed, history_budget_ms);
    if (dump)
        return dump_table(from, to, seed, history_budget_ms, dump == 2);
    if (search_only) {
        /* The design engine alone, stored base classes skipped: what the search finds; or the
         * three-groups construction alone (the orders that have one). */
        printf("| N | target | %s run | ms | construction |\n|---|---|---|---|---|\n",
               three ? "three-groups" : "search-only");
        for (int n = from; n <= to; n++) {
            int target = rota_repeat_free_target(n);
            int *classes = malloc(sizeof *classes * (size_t)n * (size_t)target);
            char method[128];
            double t0 = now_ms_f();
            int rep = rota_design(n, target, seed, (unsigned long long)budget_ms * 20000,
                                  three ? ROTA_DESIGN_THREE_GROUPS : ROTA_DESIGN_SEARCH_ONLY,
                                  classes, method, sizeof method);
            if (rep < 0) {
                free(classes);
                continue;
            }
            printf("| %d | %d | %s | %.1f | %s |\n", n, target, rep == 0 ? "reached" : "missed",
                   now_ms_f() - t0, method);
            fflush(stdout);
            free(classes);
        }
        return 0;
    }
    printf("| N | target | bound | planner run | planner ms | greedy run | greedy ms | "
           "construction |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int met = 0, total = 0;
    double sum_plan = 0, sum_greedy = 0;
    for (int n = from; n <= to; n++) {
        int target = rota_repeat_free_target(n), bound = rota_repeat_free_bound(n);
        struct rota_input in;
        struct rota_options opt;
        bench_options(&opt);
        opt.time_budget_ms = budget_ms;
        struct mat_errors err;
        mat_errors_init(&err);
        make_input(&in, n, target, seed);
        struct rota_plan plan, greedy;
        double t0 = now_ms_f();
        if (rota_plan(&in, &opt, &plan, &err) != 0) {
            fprintf(stderr, "N=%d: %s\n", n, err.count ? err.items[0].message : "failed");
            return 1;
        }
        double plan_ms = now_ms_f() - t0;
        int run = repeat_free_run(&plan);
        rota_input_free(&in);
        make_input(&in, n, target + 2, seed); /* room to see where greedy's run ends */
        t0 = now_ms_f();
        if (rota_plan_greedy(&in, &greedy, &err) != 0)
            return 1;
        double greedy_ms = now_ms_f() - t0;
        int grun = repeat_free_run(&greedy);
        char method[sizeof plan.method];
        memcpy(method, plan.method, sizeof method);
        char *cut = strchr(method, ';');
        if (cut)
            *cut = '\0';
        printf("| %d | %d | %d | %d%s | %.1f | %d | %.1f | %s |\n", n, target, bound, run,
               run >= target ? "" : " (missed)", plan_ms, grun, greedy_ms, method);
        fflush(stdout);
        met += run >= target;
        total++;
        sum_plan += plan_ms;
        sum_greedy += greedy_ms;
        rota_plan_free(&plan);
        rota_plan_free(&greedy);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
    printf("\nTarget reached for %d of %d sizes; planner %.0f ms in all, greedy anchor %.1f ms "
           "(ratio %.0f).\n",
           met, total, sum_plan, sum_greedy, sum_greedy > 0 ? sum_plan / sum_greedy : 0.0);
    return met == total ? 0 : 1;
}
