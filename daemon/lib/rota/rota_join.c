/* A re-plan's seed when schools joined or left (rota_join.h). */
#include "rota_join.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "util.h"

/* Swaps the first `count` members of slots g1 and g2 of term k (a whole previous group
 * moving to another slot, the joiners staying behind). */
static void swap_slot_heads(struct rota_search *s, int k, int g1, int g2, int count)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_move mv;
    for (int i = 0; i < count; i++) {
        rota_eval_swap(cx, s->st, k, cx->lay.start[g1] + i, cx->lay.start[g2] + i, NULL, &mv);
        rota_apply_swap(cx, s->st, &mv);
    }
}

/* A re-plan's seed puts the joiners into whichever slot is left over; a single swap cannot
 * move a whole kept group, so each term in turn takes the kept group in the joiners' slot that
 * costs least given the other terms (a joiner should not meet the same schools term after term),
 * pass after pass until none changes. */
#define PREV_SEED_PASSES 8
static void prev_seed_descend(struct rota_search *s)
{
    const struct rota_ctx *cx = s->cx;
    int ng = cx->lay.ng;
    bool changed = true;
    for (int pass = 0; changed && pass < PREV_SEED_PASSES; pass++) {
        changed = false;
        for (int k = 0; k < cx->t; k++) {
            struct rota_cost best = s->st->c;
            int best_g1 = -1, best_g2 = -1;
            for (int g2 = 0; g2 < ng; g2++)
                for (int g1 = 0; g1 < ng; g1++) {
                    int count = cx->lay.size[g1];
                    if (count >= cx->lay.size[g2])
                        continue;
                    swap_slot_heads(s, k, g1, g2, count);
                    s->work += 2 * (uint64_t)count * cx->n;
                    if (rota_cost_cmp(s->st->c, best) < 0) {
                        best = s->st->c;
                        best_g1 = g1;
                        best_g2 = g2;
                    }
                    swap_slot_heads(s, k, g1, g2, count); /* undo */
                }
            if (best_g1 >= 0) {
                swap_slot_heads(s, k, best_g1, best_g2, cx->lay.size[best_g1]);
                changed = true;
            }
        }
    }
}

/* A join's choices per term: none (the seed's), or one slot move (a kept group of slot g1 into
 * the larger slot g2 of the joiners, as the descent moves them). */
struct slot_move {
    int g1, g2;
};

/* Term k's choice from `from` to `to` (0: none, i: moves[i - 1]); a slot move undoes itself. */
static void slot_choice(struct rota_search *s, const struct slot_move *moves, int k, int from,
                        int to)
{
    const struct rota_ctx *cx = s->cx;
    for (int c = 0; c < 2; c++) {
        int pick = c ? to : from;
        if (pick == 0)
            continue;
        const struct slot_move *m = &moves[pick - 1];
        int count = cx->lay.size[m->g1];
        swap_slot_heads(s, k, m->g1, m->g2, count);
        s->work += 2 * (uint64_t)count * cx->n;
    }
}

/* A small join is chosen exactly: every combination of one choice per term (slot_choice),
 * weighed by the whole plan's cost, when there are at most PREV_SEED_EXACT of them (15 schools
 * and a joiner: five triads to join in each of up to six remaining terms, 15,625). The choice
 * per term with random kicks left a newcomer meeting schools again where a choice without a
 * repeat existed (tests/unit/test_rota_json.c: 23 of 36 joins). Returns false, nothing changed,
 * when there are more combinations. */
#define PREV_SEED_EXACT 20000
static bool join_exact(struct rota_search *s, const struct slot_move *moves, int nm)
{
    int t = s->cx->t;
    double combos = 1;
    for (int k = 0; k < t; k++)
        combos *= nm + 1;
    if (combos > PREV_SEED_EXACT)
        return false;
    int *pick = xcalloc((size_t)t, sizeof *pick), *best_pick = xcalloc((size_t)t, sizeof *pick);
    struct rota_cost best = s->st->c;
    for (;;) { /* an odometer over the terms, the last the fastest */
        int k = t - 1;
        for (; k >= 0 && pick[k] == nm; k--) {
            slot_choice(s, moves, k, nm, 0);
            pick[k] = 0;
        }
        if (k < 0)
            break; /* every combination seen; back to the seed */
        slot_choice(s, moves, k, pick[k], pick[k] + 1);
        pick[k]++;
        if (rota_cost_cmp(s->st->c, best) < 0) {
            best = s->st->c;
            memcpy(best_pick, pick, sizeof *pick * (size_t)t);
        }
    }
    for (int k = 0; k < t; k++)
        slot_choice(s, moves, k, 0, best_pick[k]);
    free(pick);
    free(best_pick);
    return true;
}

/* The descent stops where moving one term's joiners alone cannot help (two terms sharing a
 * school they met: in the 15-school join of tests/e2e/test_rota.py a joiner met a school again
 * where a choice without a repeat existed), so it is kicked: a random term's joiners move to a
 * random kept group, the descent runs again, and the best seed is kept (at most twice the first
 * descent's work: a join for 60 schools re-plans up to 29 terms of 20 groups). */
#define PREV_SEED_KICKS 48
static void join_heuristic(struct rota_search *s)
{
    const struct rota_ctx *cx = s->cx;
    int ng = cx->lay.ng;
    uint64_t w0 = s->work;
    prev_seed_descend(s);
    uint64_t cap = s->work + 2 * (s->work - w0); /* the kicks: twice the first descent's work */
    struct rota_cost best = s->st->c;
    int *keep = xmalloc(sizeof *keep * (size_t)cx->t * cx->n);
    memcpy(keep, s->st->at, sizeof *keep * (size_t)cx->t * cx->n);
    for (int kick = 0; kick < PREV_SEED_KICKS && s->work < cap && !rota_at_lower_bound(cx, best);
         kick++) {
        int k = prng_below(s->r, cx->t), g1 = prng_below(s->r, ng), g2 = prng_below(s->r, ng);
        if (cx->lay.size[g1] >= cx->lay.size[g2])
            continue;
        swap_slot_heads(s, k, g1, g2, cx->lay.size[g1]);
        prev_seed_descend(s);
        if (rota_cost_cmp(s->st->c, best) < 0) {
            best = s->st->c;
            memcpy(keep, s->st->at, sizeof *keep * (size_t)cx->t * cx->n);
        } else {
            rota_state_copy_at(cx, s->st, keep);
        }
    }
    free(keep);
}


/* ------------------------------------------------------------------------------------ */
/* Branch and bound. One choice per term (slot_choice's), weighed as the hard, kept and repeat
 * levels: the first two are the groups' own (each choice's change from the seed, found by making
 * it), the repeats are the pairs' (each choice puts a kept group, or the seed's, beside the
 * tails of the larger slots: the members after the first `head`). Terms are chosen in order and
 * a pair's cost only grows with its meetings, so the repeats of the terms chosen so far, with
 * every other pair of the plan, bound every completion from below. At most JOIN_BB_NODES nodes;
 * the best found is then made and polished by the descent. */
#define JOIN_BB_NODES 400000

struct join_bb {
    const struct rota_ctx *cx;
    const int *seed;               /* t x n: the seed's positions */
    const struct slot_move *moves; /* nm */
    int t, nm, head;
    int *larger, nl; /* the larger slots */
    uint64_t *mask;                           /* n x n, a < b: the terms each pair meets in */
    int64_t (*unary)[2];                      /* t x (nm + 1): hard, kept change from the seed */
    int64_t *rest_hard, *rest_keep;           /* t + 1: the least of the terms from k on */
    int *order;            /* t x (nm + 1): each depth's choices, cheapest first */
    int64_t (*key)[3];     /* t x (nm + 1): their levels */
    int *pick, *best_pick;
    int64_t best[3];
    bool found;
    uint64_t nodes;
};

static const int *join_slot(const struct join_bb *b, int k, int g)
{
    return b->seed + (size_t)k * b->cx->n + b->cx->lay.start[g];
}

/* The members beside larger slot L's tail in term k under choice c (0: the seed's head). */
static const int *join_head(const struct join_bb *b, int k, int c, int L)
{
    if (c > 0 && b->moves[c - 1].g2 == L)
        return join_slot(b, k, b->moves[c - 1].g1);
    return join_slot(b, k, L);
}

/* Adds (sign > 0) or takes away term k's tail pairs under choice c; returns the repeat change. */
static int64_t join_pairs(struct join_bb *b, int k, int c, int sign)
{
    const struct rota_ctx *cx = b->cx;
    int n = cx->n;
    uint64_t bit = UINT64_C(1) << k;
    int64_t d = 0;
    for (int l = 0; l < b->nl; l++) {
        int L = b->larger[l];
        const int *h = join_head(b, k, c, L), *slot = join_slot(b, k, L);
        for (int i = b->head; i < cx->lay.size[L]; i++)
            for (int j = 0; j < b->head; j++) {
                int x = slot[i], y = h[j], a = x < y ? x : y, z = x < y ? y : x;
                uint64_t *m = &b->mask[(size_t)a * n + z];
                if (sign < 0)
                    *m &= ~bit;
                int64_t add = rota_pair_cost_add(cx, *m, cx->hist[(size_t)a * n + z], k);
                if (sign > 0)
                    *m |= bit;
                d += sign > 0 ? add : -add;
            }
    }
    return d;
}

static bool join_less(const int64_t *a, const int64_t *b)
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return false;
}

static void join_dfs(struct join_bb *b, int k, int64_t hard, int64_t keep, int64_t rep)
{
    if (b->nodes++ >= JOIN_BB_NODES)
        return;
    int64_t bound[3] = {hard + b->rest_hard[k], keep + b->rest_keep[k], rep};
    if (b->found && !join_less(bound, b->best))
        return;
    if (k == b->t) {
        memcpy(b->best, bound, sizeof b->best);
        memcpy(b->best_pick, b->pick, sizeof *b->pick * (size_t)b->t);
        b->found = true;
        return;
    }
    /* the cheapest choices first: a good completion early prunes the rest */
    int *order = b->order + (size_t)k * (b->nm + 1);
    int64_t(*key)[3] = b->key + (size_t)k * (b->nm + 1);
    for (int c = 0; c <= b->nm; c++) {
        int64_t d = join_pairs(b, k, c, 1);
        join_pairs(b, k, c, -1);
        int64_t kc[3] = {b->unary[(size_t)k * (b->nm + 1) + c][0],
                         b->unary[(size_t)k * (b->nm + 1) + c][1], d};
        int i = c;
        for (; i > 0 && join_less(kc, key[i - 1]); i--) {
            memcpy(key[i], key[i - 1], sizeof key[i]);
            order[i] = order[i - 1];
        }
        memcpy(key[i], kc, sizeof key[i]);
        order[i] = c;
    }
    for (int i = 0; i <= b->nm && b->nodes < JOIN_BB_NODES; i++) {
        int c = order[i];
        int64_t d = join_pairs(b, k, c, 1);
        b->pick[k] = c;
        join_dfs(b, k + 1, hard + key[i][0], keep + key[i][1], rep + d);
        join_pairs(b, k, c, -1);
    }
}

/* The branch and bound from the seed (seed: its positions; s->st is changed on the way and left
 * at the seed). Returns whether a choice was found, in pick (t entries). */
static bool join_branch_and_bound(struct rota_search *s, const int *seed,
                                  const struct slot_move *moves, int nm, int *pick)
{
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, t = cx->t, ng = cx->lay.ng;
    struct join_bb b = {.cx = cx, .seed = seed, .moves = moves, .t = t, .nm = nm,
                        .head = cx->lay.size[moves[0].g1]};
    for (int i = 0; i < nm; i++)
        if (cx->lay.size[moves[i].g1] != b.head)
            return false; /* one head size (slots of 3 and 4): the pairs model holds */
    b.larger = xmalloc(sizeof *b.larger * (size_t)ng);
    for (int g = 0; g < ng; g++)
        if (cx->lay.size[g] > b.head)
            b.larger[b.nl++] = g;
    b.unary = xcalloc((size_t)t * (nm + 1), sizeof *b.unary);
    struct rota_cost c0 = s->st->c;
    for (int k = 0; k < t; k++)
        for (int c = 1; c <= nm; c++) {
            slot_choice(s, moves, k, 0, c);
            b.unary[(size_t)k * (nm + 1) + c][0] = s->st->c.hard - c0.hard;
            b.unary[(size_t)k * (nm + 1) + c][1] = s->st->c.keep - c0.keep;
            slot_choice(s, moves, k, c, 0);
        }
    b.rest_hard = xcalloc((size_t)t + 1, sizeof *b.rest_hard);
    b.rest_keep = xcalloc((size_t)t + 1, sizeof *b.rest_keep);
    for (int k = t - 1; k >= 0; k--) {
        int64_t h = INT64_MAX, kp = INT64_MAX;
        for (int c = 0; c <= nm; c++) {
            const int64_t *u = b.unary[(size_t)k * (nm + 1) + c];
            h = u[0] < h ? u[0] : h;
            kp = u[1] < kp ? u[1] : kp;
        }
        b.rest_hard[k] = b.rest_hard[k + 1] + h;
        b.rest_keep[k] = b.rest_keep[k + 1] + kp;
    }
    /* every pair of the seed but the larger slots' tail pairs, which the choices add */
    b.mask = xcalloc((size_t)n * n, sizeof *b.mask);
    for (int k = 0; k < t; k++)
        for (int g = 0; g < ng; g++) {
            const int *m = join_slot(&b, k, g);
            bool larger = cx->lay.size[g] > b.head;
            for (int i = 0; i < cx->lay.size[g]; i++)
                for (int j = i + 1; j < cx->lay.size[g]; j++) {
                    if (larger && i < b.head && j >= b.head)
                        continue;
                    int a = m[i] < m[j] ? m[i] : m[j], z = m[i] < m[j] ? m[j] : m[i];
                    b.mask[(size_t)a * n + z] |= UINT64_C(1) << k;
                }
        }
    int64_t rep = 0;
    for (int a = 0; a < n; a++)
        for (int z = a + 1; z < n; z++)
            rep += rota_pair_cost(cx, b.mask[(size_t)a * n + z], cx->hist[(size_t)a * n + z]);
    b.pick = xcalloc((size_t)t, sizeof *b.pick);
    b.order = xcalloc((size_t)t * (nm + 1), sizeof *b.order);
    b.key = xcalloc((size_t)t * (nm + 1), sizeof *b.key);
    b.best_pick = pick;
    join_dfs(&b, 0, c0.hard, c0.keep, rep);
    s->work += b.nodes * (uint64_t)(nm + 1) * 8;
    free(b.unary);
    free(b.rest_hard);
    free(b.rest_keep);
    free(b.mask);
    free(b.pick);
    free(b.order);
    free(b.key);
    free(b.larger);
    return b.found;
}

void rota_join_seed(struct rota_search *s)
{
    const struct rota_ctx *cx = s->cx;
    int ng = cx->lay.ng, t = cx->t, nm = 0;
    size_t tn = (size_t)t * cx->n;
    struct slot_move *moves = xmalloc(sizeof *moves * (size_t)ng * ng);
    for (int g2 = 0; g2 < ng; g2++)
        for (int g1 = 0; g1 < ng; g1++)
            if (cx->lay.size[g1] < cx->lay.size[g2])
                moves[nm++] = (struct slot_move){g1, g2};
    if (nm > 0 && join_exact(s, moves, nm)) {
        prev_seed_descend(s); /* from the best single moves, any pair of moves in a term */
        free(moves);
        return;
    }
    int *seed = xmalloc(sizeof *seed * tn), *pick = xcalloc((size_t)t, sizeof *pick);
    memcpy(seed, s->st->at, sizeof *seed * tn);
    bool chosen = nm > 0 && join_branch_and_bound(s, seed, moves, nm, pick);
    join_heuristic(s);
    if (chosen) {
        struct rota_cost heuristic = s->st->c;
        int *kept = xmalloc(sizeof *kept * tn);
        memcpy(kept, s->st->at, sizeof *kept * tn);
        rota_state_copy_at(cx, s->st, seed);
        for (int k = 0; k < t; k++)
            slot_choice(s, moves, k, 0, pick[k]);
        prev_seed_descend(s);
        if (rota_cost_cmp(s->st->c, heuristic) >= 0)
            rota_state_copy_at(cx, s->st, kept);
        free(kept);
    }
    free(seed);
    free(pick);
    free(moves);
}
