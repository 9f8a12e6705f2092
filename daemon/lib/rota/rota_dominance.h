/* The greedy baseline as a floor under a new cycle's plan (issue 10): where the plan the search
 * weighed best is worse than greedy's term-by-term plan on a measure the trust reads, the
 * schools are relabelled across the whole cycle to bring it back. Internal to the planner. */
#ifndef MATD_ROTA_DOMINANCE_H
#define MATD_ROTA_DOMINANCE_H
#include <stdint.h>

#include "rota_search.h"

/* s->st: a new cycle's plan (no history), hosts its hosts (t x ng, school indices; updated in
 * place with st). Measures phase mismatches, unbalanced groups, the longest trip, the total km
 * and the soft cost SPEC §7 weighs them by over the cycle's first term, two terms, one, two and
 * four years, each beside greedy's plan of as many terms (rota_plan_greedy) where greedy's has
 * no repeat. Where some are above greedy's, it anneals moves that keep the design and the
 * hosting cycle (two schools relabelled in every term; with groups of three, the hosts of three
 * groups of one round rotated) on the sum of the excesses and the soft cost, never worse on the
 * hard, keep or repeat levels, for at most budget work, and keeps the result only if fewer
 * measures are above greedy's and none is further above (checked on rota_metrics_compute's
 * figures). Returns whether it changed the plan. */
bool rota_dominance_pass(struct rota_search *s, int *hosts, uint64_t budget);

#endif
