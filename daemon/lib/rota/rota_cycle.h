/* Planning over any horizon (SPEC §7, issue 10): the planner plans a whole cycle (the longest
 * repeat-free run it aims at) whatever the number of terms asked for, and plans past it in
 * further windows that repeat the pairs that met longest ago; given its own earlier plan as
 * history it recognises it and continues the same cycle, so term by term = all at once. */
#ifndef MATD_ROTA_CYCLE_H
#define MATD_ROTA_CYCLE_H
#include "errors.h"
#include "rota.h"

/* Terms in the cycle the planner plans for n schools when asked for t terms: the repeat-free
 * target (6 terms where a second term must repeat; t itself beyond 64 schools). */
int rota_cycle_length(int n, int t);

/* Plans in->terms: returns 0 and fills out (owned; free with rota_plan_free), or -1 with
 * errors (invalid input, or excluded pairs / required phases that cannot be satisfied).
 * out->mode says whether the history was continued as this planner's own cycle (same
 * schools, seed and options), searched around, or absent. */
int rota_plan(const struct rota_input *in, const struct rota_options *opt, struct rota_plan *out,
              struct mat_errors *err);

/* Drafts in->terms from a cycle planned earlier (groups by URN, as stored with its rota):
 * returns 0 with out filled (mode ROTA_MODE_KEPT; out->cycle = the cycle's terms that still
 * fit) when every term asked for is in the cycle and still fits these schools and the hard
 * constraints; 1 when the cycle has the terms but they no longer fit (schools joined or left:
 * re-plan from it with rota_replan_cycle, which keeps what still fits); -1 when the cycle does
 * not hold them (plan anew). The caller checks that the soft constraints are the same. */
int rota_plan_from_cycle(const struct rota_input *in, const struct rota_prev_term *cycle,
                         size_t n_cycle, struct rota_plan *out);

/* Re-plans the rest of a kept cycle that no longer fits (schools joined or left, or the
 * constraints changed): every cycle term from the first asked for to the cycle's last is planned
 * again with the cycle as the previous groups, keeping what still fits, so a term's new groups
 * are chosen knowing what the later terms keep (re-planned alone, a term could put two schools
 * together whom a kept group of the next term holds again). out->terms are the terms asked for
 * (each in the cycle), out->cycle the re-planned rest, which matd keeps with the rota so that
 * the next terms are drafted from it; changes as rota_replan's, for the terms asked for.
 * Returns as rota_replan. */
int rota_replan_cycle(const struct rota_input *in, const struct rota_prev_term *cycle,
                      size_t n_cycle, const struct rota_options *opt, struct rota_plan *out,
                      struct rota_changes *changes, struct mat_errors *err);

#endif
