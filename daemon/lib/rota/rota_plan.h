/* The planning runs: plan, re-plan and the greedy baseline (SPEC §7). Each validates the
 * input, searches, chooses hosts and fills a rota_plan whose metrics are recomputed by
 * rota_metrics. */
#ifndef MATD_ROTA_PLAN_H
#define MATD_ROTA_PLAN_H
#include <stddef.h>

#include "errors.h"
#include "rota.h"

/* Plans in->terms: returns 0 and fills out (owned; free with rota_plan_free), or -1 with
 * errors (invalid input, or excluded pairs / required phases that cannot be satisfied). */
int rota_plan(const struct rota_input *in, const struct rota_options *opt, struct rota_plan *out,
              struct mat_errors *err);
/* The baseline: term by term, each group built greedily. Same contract as rota_plan. */
int rota_plan_greedy(const struct rota_input *in, struct rota_plan *out, struct mat_errors *err);
/* Re-plans in->terms after schools joined or left, keeping as many of the previously planned
 * groups (prev, by URN; terms matched by year and term) as it can: objective = hard
 * constraints, then groups kept, then repeats, hosting and the soft constraints. Fills out
 * and changes (owned). */
int rota_replan(const struct rota_input *in, const struct rota_prev_term *prev, size_t n_prev,
                const struct rota_options *opt, struct rota_plan *out, struct rota_changes *changes,
                struct mat_errors *err);

#endif
