/* The greedy baseline as a floor under a new cycle's plan (issue 10): where the plan the search
 * weighed best is worse than greedy's term-by-term plan on a measure the trust reads, the
 * schools are relabelled across the whole cycle to bring it back. Internal to the planner. */
#ifndef MATD_ROTA_DOMINANCE_H
#define MATD_ROTA_DOMINANCE_H
#include <stdint.h>

#include "rota_search.h"

/* How far a plan is above greedy's measures, horizon by horizon (a term, two terms, one, two
 * and four years): how many measures are above, and the sum of the excesses in phase mismatches
 * (10 km of the longest trip or 20 km in total a mismatch). All 0 where greedy's plans repeat or
 * the plan is nowhere above. */
#define ROTA_DOMINANCE_HORIZONS 5
struct rota_dominance_figures {
    int count[ROTA_DOMINANCE_HORIZONS];
    double excess[ROTA_DOMINANCE_HORIZONS];
};
/* Greedy's figures, worked out once for the plans of one input (rota_dominance_pass fills it
 * the first time; zero-initialise). */
#define ROTA_DOMINANCE_MEASURES 5
struct rota_dominance_goals {
    bool ready;
    int nh, hmax, h[ROTA_DOMINANCE_HORIZONS];
    double goal[ROTA_DOMINANCE_HORIZONS][ROTA_DOMINANCE_MEASURES];
};

/* Is a nearer greedy's measures than b? Horizon by horizon, a year first (what a trust reads
 * first), two and four years (what the design decides), then a term and two terms (what the order
 * of the first year's terms decides): fewer measures above, then less excess. */
bool rota_dominance_nearer(const struct rota_dominance_figures *a,
                           const struct rota_dominance_figures *b);
/* Hosting violations of the whole cycle at (t x n positions) with hosts (t x ng), as the plan
 * would report them (rota_metrics_compute). */
int rota_cycle_hosting_violations(const struct rota_ctx *cx, const int *at, const int *hosts);
/* Is f above greedy's anywhere? */
bool rota_dominance_above(const struct rota_dominance_figures *f);

/* s->st: a new cycle's plan (no history), hosts its hosts (t x ng, school indices; updated in
 * place with st). Measures phase mismatches, unbalanced groups, the longest trip, the total km
 * and the soft cost SPEC §7 weighs them by over the cycle's first term, two terms, one, two and
 * four years, each beside greedy's plan of as many terms (rota_plan_greedy) where greedy's has
 * no repeat. Where some are above greedy's, it anneals moves that keep the design and the
 * hosting cycle (two schools relabelled in every term; with groups of three, the hosts of three
 * groups of one round rotated) on the sum of the excesses and the soft cost, never worse on the
 * hard, keep or repeat levels, for at most budget work, and keeps the result only if no measure
 * is further above greedy's and fewer are above or the sum of the excesses is lower (checked on
 * rota_metrics_compute's figures). Then the first year's terms are put in the order nearest
 * greedy's over a term and two (greedy's first term is its best; the year's terms weigh alike),
 * the hosting as fair over the cycle. Returns whether it changed the plan; goals: greedy's
 * figures, kept between calls on the same input; fig (optional) receives the figures of the
 * plan it leaves. */
bool rota_dominance_pass(struct rota_search *s, int *hosts, uint64_t budget,
                         struct rota_dominance_goals *goals, struct rota_dominance_figures *fig);

#endif
