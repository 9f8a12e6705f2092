/* The planning runs: one run over given terms, re-plan and the greedy baseline (SPEC §7). Each
 * validates the input, searches, chooses hosts and fills a rota_plan whose metrics are recomputed
 * by rota_metrics. */
#ifndef MATD_ROTA_PLAN_H
#define MATD_ROTA_PLAN_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "rota.h"

/* The baseline: term by term, each group built greedily. Same contract as rota_plan. */
int rota_plan_greedy(const struct rota_input *in, struct rota_plan *out, struct mat_errors *err);
/* Re-plans in->terms after schools joined or left, keeping as many of the previously planned
 * groups (prev, by URN; terms matched by year and term) as it can: objective = hard
 * constraints, then groups kept, then repeats, hosting and the soft constraints. Fills out
 * and changes (owned). */
int rota_replan(const struct rota_input *in, const struct rota_prev_term *prev, size_t n_prev,
                const struct rota_options *opt, struct rota_plan *out, struct rota_changes *changes,
                struct mat_errors *err);

/* The deterministic work budget of the options (NULL: the default). */
uint64_t rota_plan_budget(const struct rota_options *opt);

/* One planning run over exactly in->terms (internal to the planner: rota_cycle calls it per
 * window of a cycle). */
struct rota_run {
    const struct rota_prev_term *prev; /* re-plan: the previous groups, or NULL */
    size_t n_prev;
    bool greedy_only;
    const int *seed_at; /* a later window of a cycle: the first window's arrangement */
    int min_gap;        /* a later window: repeats closer than this are penalised */
    bool front;         /* the first window of a cycle: its first terms' soft cost first */
    /* recognition: the plan is wanted only if its first n_match terms are these (groups of
     * school indices, in->terms' first n_match terms in order); the run gives up, returning 1
     * with only out->work set, as soon as its search shows that it cannot end so */
    const struct rota_term *match;
    int n_match;
    /* recognition on several threads: set when an earlier start matched, and this run is no
     * longer wanted (it gives up as soon as its search sees it, returning 1); NULL: never */
    const atomic_int *cancel;
};
/* Returns 0 with out filled, -1 with errors, or 1 when it gave up (run->match). */
int rota_plan_run(const struct rota_input *in, const struct rota_options *opt,
                  const struct rota_run *run, struct rota_plan *out, struct rota_changes *changes,
                  struct mat_errors *err);

#endif
