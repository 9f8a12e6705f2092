/* The planner's problem: schools, the terms to plan, what history says about each pair,
 * exclusions, distances, the lexicographic objective (SPEC §7) and the measures of one group.
 * Internal to the planner's modules (rota_search, rota_hosting, rota_plan). */
#ifndef MATD_ROTA_PROBLEM_H
#define MATD_ROTA_PROBLEM_H
#include <stdbool.h>
#include <stdint.h>

#include "rota.h"
#include "rota_design.h"

#define ROTA_NO_MEET INT32_MIN
#define ROTA_REP_ONE (INT64_C(1) << 20) /* fixed point for 2^(-(t-1)/decay): never rounds to 0 */

struct rota_ctx {
    const struct rota_input *in;
    int n, t;
    struct rota_layout lay;
    struct rota_term_id *ids; /* planned terms, chronological */
    int *tl;                  /* their timeline indices */
    int32_t *hist;            /* n x n: latest history meeting (timeline), or ROTA_NO_MEET */
    int *hist_order;          /* history terms, chronological */
    uint8_t *excl;            /* n x n */
    bool has_excl;            /* some pair is excluded */
    /* per school, packed for the group measures the search evaluates millions of times */
    uint8_t *phase, *strong, *category;
    float *km;     /* n x n, 0 where a location is unknown */
    int64_t *unit; /* unit[d]: cost of a pair that met d terms ago */
    int maxd;
    int min_gap; /* a pair meeting again fewer terms apart costs ROTA_GAP_PENALTY times more */
    bool phase_hard, phase_soft, balance, travel, soft_on, has_history;
    double phase_w, balance_w, travel_w;
    double *tw;                /* t: the weight of each term's soft cost; NULL = 1 each */
    double km_tie;             /* travel off: each group's radius still counts this much per km */
    double km_tail, km_tail_w; /* travel off: km between two members beyond km_tail count
                                * km_tail_w more each */
    /* re-plan: the previous groups of each planned term (sorted indices, -1 = gone) */
    bool replan;
    int *prev_n;          /* t */
    int **prev;           /* t arrays of prev_n[k] x ROTA_GROUP_MAX */
    int **prev_size;      /* t arrays of prev_n[k] */
    int **prev_host;      /* t arrays of prev_n[k] */
    int *prev_of;         /* t x n: the previous group a school was in, or -1 */
    uint8_t *prev_shared; /* t: a school is in two previous groups (input not a partition):
                           * groups are compared member by member instead */
    /* hosting: the schools still waiting in the cycle when the first planned term starts */
    bool host_proxy;
    uint8_t *wait0;
    int wait0_need; /* groups of the first term that should have a waiting school */
};

/* The objective, compared in this order (SPEC §7, plus groups kept on a re-plan): host is
 * the hosting fairness the groups of the first planned term allow, given the schools the
 * history leaves waiting (later terms are served by the host choice itself). */
struct rota_cost {
    int64_t hard, keep, rep, host;
    double soft;
};

/* Builds the problem of in (borrowed: it must outlive cx); free with rota_ctx_free. */
void rota_ctx_init(struct rota_ctx *cx, const struct rota_input *in);
void rota_ctx_free(struct rota_ctx *cx);
/* Continuing a cycle of gap terms: a pair may meet again only gap or more terms later, or
 * its repeat costs ROTA_GAP_PENALTY times as much (most recent repeat as large as it can be). */
#define ROTA_GAP_PENALTY 4096
void rota_ctx_set_min_gap(struct rota_ctx *cx, int gap);
/* The soft cost of the first terms of a new cycle above the rest (issue 10): term k weighs
 * rota_soft_weight(k) (the first year 1, each later year ROTA_YEAR_WEIGHT times the one before,
 * never under ROTA_REST_WEIGHT), and with travel off a group's radius still breaks ties at
 * ROTA_KM_TIE per km, and the longest distance between two members beyond ROTA_KM_TAIL_FROM
 * of the trust's widest counts more, up to ROTA_KM_TAIL of the smallest of the phase and balance
 * weights at the widest (the longest trip matters most: without it the planner sent schools
 * across the county where greedy did not; bounded by the weights, not by km: however wide the
 * trust, a group's tail is at most ROTA_KM_TAIL of what a mismatch or an unbalanced triad
 * costs, so a move trades one for km only when the km it saves are near the widest). The weights
 * depend on the position in the cycle only, so asking for one term or for a year gives the same
 * first term. */
#define ROTA_KM_TIE 0.002
#define ROTA_KM_TAIL_FROM 0.75
#define ROTA_KM_TAIL 0.45
#define ROTA_FRONT_TERMS 3      /* the first year of a cycle */
#define ROTA_YEAR_WEIGHT 0.35   /* each year of the cycle against the year before */
#define ROTA_REST_WEIGHT 0.0625 /* the least weight of a term of the cycle */
double rota_soft_weight(int k);
void rota_ctx_set_soft_profile(struct rota_ctx *cx);
static inline double rota_term_weight(const struct rota_ctx *cx, int k)
{
    return cx->tw ? cx->tw[k] : 1.0;
}
/* Lexicographic: -1, 0 or 1. */
int rota_cost_cmp(struct rota_cost a, struct rota_cost b);
/* Repeat cost of one pair: mask = the planned terms it meets in, h = its latest meeting in
 * history (ROTA_NO_MEET if none). Each meeting after an earlier one costs the decay unit.
 * Inline: the search evaluates it millions of times a plan. */
static inline int64_t rota_unit_cost(const struct rota_ctx *cx, int d)
{
    return d >= 1 && d <= cx->maxd ? cx->unit[d] : 1;
}
static inline int64_t rota_pair_cost(const struct rota_ctx *cx, uint64_t mask, int32_t h)
{
    int64_t c = 0;
    int32_t prev = h;
    while (mask) {
        int k = __builtin_ctzll(mask);
        mask &= mask - 1;
        if (prev != ROTA_NO_MEET)
            c += rota_unit_cost(cx, cx->tl[k] - prev);
        prev = cx->tl[k];
    }
    return c;
}
/* rota_pair_cost(mask | bit k) - rota_pair_cost(mask) for a term k not in mask, exactly (the
 * meeting in term k only changes the costs of its neighbours in time): a swap's repeat delta
 * without walking every meeting of the pair twice. */
static inline int64_t rota_pair_cost_add(const struct rota_ctx *cx, uint64_t mask, int32_t h, int k)
{
    uint64_t below = mask & ((UINT64_C(1) << k) - 1), above = mask >> k >> 1;
    int32_t prev = below ? cx->tl[63 - __builtin_clzll(below)] : h;
    int64_t d = 0;
    if (above) {
        int32_t next = cx->tl[k + 1 + __builtin_ctzll(above)];
        d += rota_unit_cost(cx, next - cx->tl[k]);
        if (prev != ROTA_NO_MEET)
            d -= rota_unit_cost(cx, next - prev);
    }
    if (prev != ROTA_NO_MEET)
        d += rota_unit_cost(cx, cx->tl[k] - prev);
    return d;
}

/* Group measures (m: school indices, size members). */
int rota_group_phase_mismatch(const struct rota_ctx *cx, const int *m, int size);
/* No strong member (leadership ordinal 4 or more), or two category schools. */
bool rota_group_unbalanced(const struct rota_ctx *cx, const int *m, int size);
int rota_group_hard(const struct rota_ctx *cx, const int *m, int size);
double rota_group_soft(const struct rota_ctx *cx, const int *m, int size);
/* Is this group (any order) one of term k's previous groups? Returns its index or -1. */
int rota_group_prev_index(const struct rota_ctx *cx, int k, const int *m, int size);
/* Does this group keep one of term k's previous groups whole: is it one, or does it hold every
 * member of one that lost nobody, beside others (a joiner, or a partner of a school that left:
 * a four of a kept triad and one more)? Returns that group's index or -1. The search's kept
 * level counts these; the re-plan's changes report only groups that are equal. */
int rota_group_kept_index(const struct rota_ctx *cx, int k, const int *m, int size);

#endif
