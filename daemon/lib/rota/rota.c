/* The rota's vocabulary: names of phases and terms, defaults, freeing, the group sizes of a
 * term and the repeat-free targets and bounds of SPEC §7. The planner itself lives in the
 * modules rota_design, rota_problem, rota_search, rota_hosting, rota_metrics, rota_validate
 * and rota_plan (see docs/rota.md). */
#include "rota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

/* ------------------------------------------------------------------------------------ */
/* Shuffling with the one PRNG (prng.h); never rand(). */

void rota_shuffle_ints(struct prng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = prng_below(r, i + 1);
        int x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}
/* ------------------------------------------------------------------------------------ */
/* Names and small helpers. */

static const char *const phase_names[ROTA_PHASE_COUNT] = {
    "nursery", "primary", "middle", "secondary", "all_through", "special", "alternative_provision"};

const char *rota_phase_name(enum rota_phase phase)
{
    return (unsigned)phase < ROTA_PHASE_COUNT ? phase_names[phase] : "unknown";
}

int rota_phase_parse(const char *name)
{
    for (int i = 0; name && i < ROTA_PHASE_COUNT; i++)
        if (strcmp(name, phase_names[i]) == 0)
            return i;
    return -1;
}

const char *rota_term_name(int term)
{
    static const char *const names[] = {"autumn", "spring", "summer"};
    return term >= 0 && term < 3 ? names[term] : "unknown";
}

const char *rota_planner_mode_name(enum rota_planner_mode mode)
{
    static const char *const names[] = {"cycle",   "continued", "searched",
                                        "re-plan", "greedy",    "kept"};
    return (unsigned)mode < sizeof names / sizeof names[0] ? names[mode] : "unknown";
}

void rota_year_format(int year, char out[8])
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d", year, (year + 1) % 100);
    memcpy(out, tmp, 7);
    out[7] = '\0';
}

int rota_term_index(struct rota_term_id id)
{
    return 3 * id.year + id.term;
}

void rota_term_label(struct rota_term_id id, char *out, size_t len)
{
    char y[8];
    rota_year_format(id.year, y);
    snprintf(out, len, "%s %s", y, rota_term_name(id.term));
}

void rota_constraints_default(struct rota_constraints *c)
{
    memset(c, 0, sizeof *c);
    c->phase = ROTA_PHASE_PREFER;
    c->phase_weight = 1.0;
    c->balance = true;
    c->balance_weight = 1.0;
    c->travel_weight = 0.0;
    c->decay = 6.0;
}

void rota_options_default(struct rota_options *o)
{
    o->time_budget_ms = ROTA_DEFAULT_BUDGET_MS;
    o->work_budget = 0;
    o->no_recognise = false;
    o->threads = 0;
}

void rota_input_free(struct rota_input *in)
{
    free(in->schools);
    for (size_t i = 0; i < in->n_history; i++)
        free(in->history[i].groups);
    free(in->history);
    free(in->terms);
    free(in->constraints.excluded);
    memset(in, 0, sizeof *in);
}

void rota_plan_free(struct rota_plan *plan)
{
    for (size_t i = 0; i < plan->n_terms; i++)
        free(plan->terms[i].groups);
    free(plan->terms);
    for (size_t i = 0; i < plan->n_cycle; i++)
        free(plan->cycle[i].groups);
    free(plan->cycle);
    free(plan->term_metrics);
    memset(plan, 0, sizeof *plan);
}

void rota_changes_free(struct rota_changes *ch)
{
    for (size_t i = 0; i < ch->n_terms; i++) {
        free(ch->terms[i].removed);
        free(ch->terms[i].added);
    }
    free(ch->terms);
    memset(ch, 0, sizeof *ch);
}

void rota_prev_terms_free(struct rota_prev_term *prev, size_t n)
{
    for (size_t i = 0; prev && i < n; i++)
        free(prev[i].groups);
    free(prev);
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void rota_sort_ints(int *a, int n)
{
    qsort(a, (size_t)n, sizeof *a, int_cmp);
}

/* SPEC §7's table for the orders that need groups of four. */
static const signed char four_targets[61] = {
    [7] = 1,   [8] = 1,   [10] = 1,  [11] = 1,  [13] = 4,  [14] = 4,  [16] = 6,  [17] = 5,
    [19] = 7,  [20] = 7,  [22] = 9,  [23] = 9,  [25] = 11, [26] = 10, [28] = 12, [29] = 11,
    [31] = 14, [32] = 13, [34] = 15, [35] = 15, [37] = 17, [38] = 16, [40] = 18, [41] = 18,
    [43] = 19, [44] = 19, [46] = 21, [47] = 21, [49] = 23, [50] = 22, [52] = 24, [53] = 23,
    [55] = 26, [56] = 25, [58] = 27, [59] = 27};

int rota_pairs_per_term(int n)
{
    int sizes[ROTA_MAX_SCHOOLS / 3 + 2];
    int g = rota_group_sizes(n, sizes), p = 0;
    for (int i = 0; i < g; i++)
        p += sizes[i] * (sizes[i] - 1) / 2;
    return p;
}

int rota_repeat_free_bound(int n)
{
    if (n < 3)
        return 0;
    if (n <= 5)
        return 1;
    int by_pairs = n * (n - 1) / 2 / rota_pairs_per_term(n);
    int by_school = (n - 1) / 2; /* every school meets at least two new schools a term */
    return by_pairs < by_school ? by_pairs : by_school;
}

int rota_repeat_free_target(int n)
{
    if (n < 3)
        return 0;
    if (n <= 5)
        return 1;
    if (n % 6 == 3)
        return (n - 1) / 2;
    if (n % 6 == 0)
        return n == 6 ? 1 : n == 12 ? 4 : (n - 2) / 2;
    if (n <= 60)
        return four_targets[n];
    return rota_repeat_free_bound(n) - 1; /* beyond the table: aim just under the bound */
}
