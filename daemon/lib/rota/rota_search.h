/* The planner's local search over a whole plan: state, moves, repair, polish and the greedy
 * baseline. Internal to the planner's modules (rota_hosting, rota_plan). */
#ifndef MATD_ROTA_SEARCH_H
#define MATD_ROTA_SEARCH_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rota_problem.h"

struct prng;

/* Search state: a plan as positions per term, pair masks of the terms each pair meets in,
 * and the cost kept up to date move by move. */
struct rota_state {
    int *at, *pos;  /* t x n: school at a position; position of a school */
    uint64_t *mask; /* n x n: bit k = the pair is together in planned term k */
    int *ghard;     /* t x ng */
    double *gsoft;  /* t x ng */
    uint8_t *gkept; /* t x ng */
    uint8_t *gwait; /* ng: group of the first term has a waiting school */
    struct rota_cost c;
};

/* The evaluation of a move: the cost change, the weighted repeat change that guides the
 * repair search, and the new per-group values to store if it is applied. */
struct rota_move {
    int kind; /* 0 swap in a term, 1 relabel two schools everywhere, 2 exchange two terms */
    int k, pa, pb;
    int x, y;
    struct rota_cost d;
    int64_t wrep;
    int hard[2];
    double soft[2];
    uint8_t kept[2];
    uint8_t wait[2];
};

struct rota_search {
    const struct rota_ctx *cx;
    struct rota_state *st;
    struct prng *r;
    uint64_t work, budget;
    int *best_at;
    struct rota_cost best;
    uint32_t *w;     /* n x n breakout weights on pairs (repair) */
    uint32_t *stamp; /* n x n scratch for term exchanges */
    uint32_t stamp_value;
    uint64_t polish_cap; /* a polish no longer than this (0: as long as it deserves) */
    bool cold; /* a new cycle's design starts: relabels anneal colder (their full polish starts
                * from a polished plan, from which nearly every relabel is a large loss) */
    /* Recognition: the plan is wanted only if it begins with given terms, so its hard, keep and
     * repeat levels are at least floor's (those terms' own). The plan a run ends with is never
     * above its best at any time on those levels (no search step takes a worse best, the
     * hosting swaps never raise them), so once the best is below floor no plan the run can
     * end with is wanted: gave_up is set and the search returns. NULL: no floor. */
    const struct rota_cost *floor;
    const atomic_int *cancel; /* the run is no longer wanted (rota_run.cancel): give up too */
    bool gave_up;
};
/* Has the run been cancelled? Sets gave_up when it has (a relaxed load: the loops ask per move). */
static inline bool rota_search_cancelled(struct rota_search *s)
{
    if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
        s->gave_up = true;
    return s->gave_up;
}

void rota_state_alloc(struct rota_state *st, const struct rota_ctx *cx);
void rota_state_free(struct rota_state *st);
/* Recomputes everything from st->at. */
void rota_state_rebuild(const struct rota_ctx *cx, struct rota_state *st);
void rota_state_copy_at(const struct rota_ctx *cx, struct rota_state *dst, const int *at);
/* The members of group g of term k. */
const int *rota_state_group(const struct rota_ctx *cx, const struct rota_state *st, int k, int g);

/* Swapping the schools at positions pa and pb of term k: evaluate (w: pair weights or NULL),
 * then apply an evaluated move. */
void rota_eval_swap(const struct rota_ctx *cx, const struct rota_state *st, int k, int pa, int pb,
                    const uint32_t *w, struct rota_move *mv);
void rota_apply_swap(const struct rota_ctx *cx, struct rota_state *st, const struct rota_move *mv);

/* Relabelling schools x and y in every term (a design stays a design): evaluate (the levels
 * first, the soft level only where they allow the move), the work of one evaluation, and apply
 * an evaluated relabel. */
void rota_eval_relabel(const struct rota_ctx *cx, const struct rota_state *st, int x, int y,
                       struct rota_move *mv);
uint64_t rota_relabel_work(const struct rota_ctx *cx);
void rota_apply_relabel(const struct rota_ctx *cx, struct rota_state *st,
                        const struct rota_move *mv);
/* Is a move worse on the hard, keep, repeat or hosting level (1), equal (0) or better (-1)? */
int rota_move_level(const struct rota_move *mv);

/* Keeps s->st as the best plan if it beats it (and gives up when it is below s->floor). */
void rota_search_note(struct rota_search *s);
/* The least hard, keep and repeat levels a plan whose first `count` planned terms are these
 * terms (groups of school indices; terms[k] is planned term k) can have: theirs (later meetings
 * only add to a pair's cost), and the repeats the later terms cannot avoid, at the least they
 * can cost (fresh pairs run out). Soft and host are 0. */
struct rota_cost rota_search_floor(const struct rota_ctx *cx, const struct rota_term *terms,
                                   int count);
/* Nothing left to improve (every level at zero). */
bool rota_at_lower_bound(const struct rota_ctx *cx, struct rota_cost c);
/* Tests set this: the repair then checks, every 16 steps, that the conflicted positions it keeps
 * up to date move by move are those a full scan finds, counting each one that is not. */
extern bool rota_search_checks;
extern atomic_long rota_search_check_failures;
/* Repair: min-conflicts on the hard, kept and repeat levels. */
void rota_search_repair(struct rota_search *s, uint64_t budget);
/* The length of one polish (work) of this problem, before budgets and caps: longer for more
 * schools and terms, at most ROTA_POLISH_FRONT_MAX for a new cycle's first window. */
#define ROTA_POLISH_FRONT_MAX UINT64_C(12500000)
uint64_t rota_search_polish_length(const struct rota_ctx *cx);
/* Polish: annealing on the soft constraints, never worse on the levels above them. */
void rota_search_polish(struct rota_search *s, uint64_t budget);
/* The baseline: each term built greedily, then swaps while they lower the hard level. */
void rota_greedy_plan(const struct rota_ctx *cx, struct rota_state *st);

#endif
