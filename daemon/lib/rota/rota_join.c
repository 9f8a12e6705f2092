/* A re-plan's seed when schools joined or left (rota_join.h). */
#include "rota_join.h"

#include <stdint.h>
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

/* A join's choices per term: which previous group's head (the first `head` members of a slot)
 * sits at the head of each larger slot, beside its tail (the joiners, or the partners of a
 * school that left). The smaller slots hold whole groups of `head`; a choice puts the heads of
 * nl of them, or of the larger slots themselves, at the nl larger slots' heads, and the heads it
 * displaces take their places. Option 0 is the seed's; the same options serve every term. */
struct join_options {
    int head, nl, count; /* head size, larger slots, options */
    int *larger;         /* nl slots */
    int *src;            /* count x nl: the seed slot whose head goes to each larger slot */
    int *swaps;          /* count x nl x 2: the slot-head swaps that make it from the seed */
    int *nswaps;         /* count */
};

static void options_add(struct join_options *o, const int *src, int ng)
{
    int *where = xmalloc(sizeof *where * (size_t)ng), *at = xmalloc(sizeof *at * (size_t)ng);
    for (int g = 0; g < ng; g++)
        where[g] = at[g] = g; /* where[seed slot]: the slot its head is in; at[slot]: whose */
    int c = o->count++, n = 0;
    memcpy(o->src + (size_t)c * o->nl, src, sizeof *src * (size_t)o->nl);
    for (int l = 0; l < o->nl; l++) {
        int L = o->larger[l], x = where[src[l]];
        if (x == L)
            continue;
        o->swaps[((size_t)c * o->nl + n) * 2] = x;
        o->swaps[((size_t)c * o->nl + n) * 2 + 1] = L;
        n++;
        int hx = at[x], hl = at[L];
        at[x] = hl;
        at[L] = hx;
        where[hl] = x;
        where[hx] = L;
    }
    o->nswaps[c] = n;
    free(where);
    free(at);
}

/* Every injective choice of sources for the larger slots from l on (src[0..l-1] chosen). */
static void options_rec(struct join_options *o, const int *cand, int ncand, int *src, int l, int ng)
{
    if (l == o->nl) {
        bool seed = true;
        for (int i = 0; i < o->nl; i++)
            seed &= src[i] == o->larger[i];
        if (!seed) /* the seed's is option 0, added first */
            options_add(o, src, ng);
        return;
    }
    for (int c = 0; c < ncand; c++) {
        bool used = false;
        for (int i = 0; i < l; i++)
            used |= src[i] == cand[c];
        if (used)
            continue;
        src[l] = cand[c];
        options_rec(o, cand, ncand, src, l + 1, ng);
    }
}

/* The options of this layout; false when there is nothing to choose (no larger slot, or every
 * slot larger than the smallest), or more options than JOIN_OPTIONS_MAX (a guard: two larger
 * slots among the 166 groups of ROTA_MAX_SCHOOLS make 27,390). */
#define JOIN_OPTIONS_MAX 100000
static bool options_build(const struct rota_ctx *cx, struct join_options *o)
{
    int ng = cx->lay.ng, head = INT32_MAX, ncand = 0, big = 0;
    memset(o, 0, sizeof *o);
    for (int g = 0; g < ng; g++)
        head = cx->lay.size[g] < head ? cx->lay.size[g] : head;
    for (int g = 0; g < ng; g++)
        big += cx->lay.size[g] > head;
    if (big == 0 || big == ng)
        return false;
    double count = 1;
    for (int i = 0; i < big; i++)
        count *= ng - i;
    if (count > JOIN_OPTIONS_MAX)
        return false;
    o->head = head;
    o->larger = xmalloc(sizeof *o->larger * (size_t)big);
    int *cand = xmalloc(sizeof *cand * (size_t)ng), *src = xmalloc(sizeof *src * (size_t)big);
    for (int g = 0; g < ng; g++) {
        if (cx->lay.size[g] > head)
            o->larger[o->nl++] = g;
        cand[ncand++] = g;
    }
    o->src = xmalloc(sizeof *o->src * (size_t)count * o->nl);
    o->swaps = xmalloc(sizeof *o->swaps * (size_t)count * o->nl * 2);
    o->nswaps = xmalloc(sizeof *o->nswaps * (size_t)count);
    options_add(o, o->larger, ng); /* option 0: the seed's */
    options_rec(o, cand, ncand, src, 0, ng);
    free(cand);
    free(src);
    return o->count > 1;
}

static void options_free(struct join_options *o)
{
    free(o->larger);
    free(o->src);
    free(o->swaps);
    free(o->nswaps);
}

/* Term k's choice from option `from` to `to` (each made from the seed's: undone in reverse). */
static void option_change(struct rota_search *s, const struct join_options *o, int k, int from,
                          int to)
{
    const struct rota_ctx *cx = s->cx;
    for (int i = o->nswaps[from] - 1; i >= 0; i--) {
        const int *w = o->swaps + ((size_t)from * o->nl + i) * 2;
        swap_slot_heads(s, k, w[0], w[1], o->head);
    }
    for (int i = 0; i < o->nswaps[to]; i++) {
        const int *w = o->swaps + ((size_t)to * o->nl + i) * 2;
        swap_slot_heads(s, k, w[0], w[1], o->head);
    }
    s->work += 2 * (uint64_t)(o->nswaps[from] + o->nswaps[to]) * o->head * cx->n;
}

/* A small join is chosen exactly: every combination of one option per term, weighed by the
 * whole plan's cost, when there are at most JOIN_EXACT of them (15 schools and a joiner: five
 * triads to join in each of up to six remaining terms, 15,625). The choice per term with random
 * kicks left a newcomer meeting schools again where a choice without a repeat existed
 * (tests/unit/test_rota_json.c: 23 of 36 joins). Returns false, nothing changed, when there are
 * more combinations. */
#define JOIN_EXACT 20000
static bool join_exact(struct rota_search *s, const struct join_options *o)
{
    int t = s->cx->t, last = o->count - 1;
    double combos = 1;
    for (int k = 0; k < t; k++)
        combos *= o->count;
    if (combos > JOIN_EXACT)
        return false;
    int *pick = xcalloc((size_t)t, sizeof *pick), *best_pick = xcalloc((size_t)t, sizeof *pick);
    struct rota_cost best = s->st->c;
    for (;;) { /* an odometer over the terms, the last the fastest */
        int k = t - 1;
        for (; k >= 0 && pick[k] == last; k--) {
            option_change(s, o, k, last, 0);
            pick[k] = 0;
        }
        if (k < 0)
            break; /* every combination seen; back to the seed */
        option_change(s, o, k, pick[k], pick[k] + 1);
        pick[k]++;
        if (rota_cost_cmp(s->st->c, best) < 0) {
            best = s->st->c;
            memcpy(best_pick, pick, sizeof *pick * (size_t)t);
        }
    }
    for (int k = 0; k < t; k++)
        option_change(s, o, k, 0, best_pick[k]);
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
/* Branch and bound. One option per term, weighed as the hard, kept and repeat levels: the first
 * two are the groups' own (each option's change from the seed, found by making it), the repeats
 * are the pairs' (each option puts heads beside the larger slots' tails). Terms are chosen in
 * order and a pair's cost only grows with its meetings, so the repeats of the terms chosen so
 * far, with every other pair of the plan, bound every completion from below. At most
 * JOIN_BB_WORK pair updates (a few tens of ms in a Release build); the best found is then made and
 * polished by the descent. */
#define JOIN_BB_WORK UINT64_C(4000000)
#define JOIN_BB_OPTIONS 150000 /* terms x options made to weigh them (60 schools: 9,576) */

struct join_bb {
    const struct rota_ctx *cx;
    const int *seed; /* t x n: the seed's positions */
    const struct join_options *o;
    int t;
    uint64_t *mask;                 /* n x n, a < b: the terms each pair meets in */
    int64_t (*unary)[2];            /* t x options: hard, kept change from the seed */
    int64_t *rest_hard, *rest_keep; /* t + 1: the least of the terms from k on */
    int *order;                     /* t x options: each depth's options, cheapest first */
    int64_t (*key)[3];              /* t x options: their levels */
    int *pick, *best_pick;
    int64_t best[3];
    bool found;
    uint64_t work;
};

static const int *join_slot(const struct join_bb *b, int k, int g)
{
    return b->seed + (size_t)k * b->cx->n + b->cx->lay.start[g];
}

/* Adds (sign > 0) or takes away term k's tail pairs under option c; returns the repeat change. */
static int64_t join_pairs(struct join_bb *b, int k, int c, int sign)
{
    const struct rota_ctx *cx = b->cx;
    const struct join_options *o = b->o;
    int n = cx->n;
    uint64_t bit = UINT64_C(1) << k;
    int64_t d = 0;
    for (int l = 0; l < o->nl; l++) {
        int L = o->larger[l];
        const int *h = join_slot(b, k, o->src[(size_t)c * o->nl + l]), *slot = join_slot(b, k, L);
        for (int i = o->head; i < cx->lay.size[L]; i++)
            for (int j = 0; j < o->head; j++) {
                int x = slot[i], y = h[j], a = x < y ? x : y, z = x < y ? y : x;
                uint64_t *m = &b->mask[(size_t)a * n + z];
                if (sign < 0)
                    *m &= ~bit;
                int64_t add = rota_pair_cost_add(cx, *m, cx->hist[(size_t)a * n + z], k);
                if (sign > 0)
                    *m |= bit;
                d += sign > 0 ? add : -add;
                b->work++;
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
    int64_t bound[3] = {hard + b->rest_hard[k], keep + b->rest_keep[k], rep};
    if (b->work >= JOIN_BB_WORK || (b->found && !join_less(bound, b->best)))
        return;
    if (k == b->t) {
        memcpy(b->best, bound, sizeof b->best);
        memcpy(b->best_pick, b->pick, sizeof *b->pick * (size_t)b->t);
        b->found = true;
        return;
    }
    /* the cheapest options first: a good completion early prunes the rest */
    int no = b->o->count, *order = b->order + (size_t)k * no;
    int64_t(*key)[3] = b->key + (size_t)k * no;
    for (int c = 0; c < no; c++) {
        int64_t d = join_pairs(b, k, c, 1);
        join_pairs(b, k, c, -1);
        int64_t kc[3] = {b->unary[(size_t)k * no + c][0], b->unary[(size_t)k * no + c][1], d};
        int i = c;
        for (; i > 0 && join_less(kc, key[i - 1]); i--) {
            memcpy(key[i], key[i - 1], sizeof key[i]);
            order[i] = order[i - 1];
        }
        memcpy(key[i], kc, sizeof key[i]);
        order[i] = c;
    }
    for (int i = 0; i < no && b->work < JOIN_BB_WORK; i++) {
        int c = order[i];
        int64_t d = join_pairs(b, k, c, 1);
        b->pick[k] = c;
        join_dfs(b, k + 1, hard + key[i][0], keep + key[i][1], rep + d);
        join_pairs(b, k, c, -1);
    }
}

/* The branch and bound from the seed (its positions; s->st is changed on the way and left at
 * the seed). Returns whether an option per term was found, in pick (t entries). */
static bool join_branch_and_bound(struct rota_search *s, const int *seed,
                                  const struct join_options *o, int *pick)
{
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, t = cx->t, ng = cx->lay.ng, no = o->count;
    struct join_bb b = {.cx = cx, .seed = seed, .o = o, .t = t};
    b.unary = xcalloc((size_t)t * no, sizeof *b.unary);
    struct rota_cost c0 = s->st->c;
    for (int k = 0; k < t; k++)
        for (int c = 1; c < no; c++) {
            option_change(s, o, k, 0, c);
            b.unary[(size_t)k * no + c][0] = s->st->c.hard - c0.hard;
            b.unary[(size_t)k * no + c][1] = s->st->c.keep - c0.keep;
            option_change(s, o, k, c, 0);
        }
    b.rest_hard = xcalloc((size_t)t + 1, sizeof *b.rest_hard);
    b.rest_keep = xcalloc((size_t)t + 1, sizeof *b.rest_keep);
    for (int k = t - 1; k >= 0; k--) {
        int64_t h = INT64_MAX, kp = INT64_MAX;
        for (int c = 0; c < no; c++) {
            const int64_t *u = b.unary[(size_t)k * no + c];
            h = u[0] < h ? u[0] : h;
            kp = u[1] < kp ? u[1] : kp;
        }
        b.rest_hard[k] = b.rest_hard[k + 1] + h;
        b.rest_keep[k] = b.rest_keep[k + 1] + kp;
    }
    /* every pair of the seed but the larger slots' head-to-tail pairs, which the options add */
    b.mask = xcalloc((size_t)n * n, sizeof *b.mask);
    for (int k = 0; k < t; k++)
        for (int g = 0; g < ng; g++) {
            const int *m = join_slot(&b, k, g);
            bool larger = cx->lay.size[g] > o->head;
            for (int i = 0; i < cx->lay.size[g]; i++)
                for (int j = i + 1; j < cx->lay.size[g]; j++) {
                    if (larger && i < o->head && j >= o->head)
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
    b.order = xcalloc((size_t)t * no, sizeof *b.order);
    b.key = xcalloc((size_t)t * no, sizeof *b.key);
    b.best_pick = pick;
    join_dfs(&b, 0, c0.hard, c0.keep, rep);
    s->work += b.work / 8; /* a pair update is a small fraction of a search move */
    free(b.unary);
    free(b.rest_hard);
    free(b.rest_keep);
    free(b.mask);
    free(b.pick);
    free(b.order);
    free(b.key);
    return b.found;
}

void rota_join_seed(struct rota_search *s)
{
    const struct rota_ctx *cx = s->cx;
    int t = cx->t;
    size_t tn = (size_t)t * cx->n;
    struct join_options o;
    if (!options_build(cx, &o)) {
        join_heuristic(s);
        return;
    }
    if (join_exact(s, &o)) {
        prev_seed_descend(s); /* from the best options, any further single moves */
        options_free(&o);
        return;
    }
    int *seed = xmalloc(sizeof *seed * tn), *pick = xcalloc((size_t)t, sizeof *pick);
    memcpy(seed, s->st->at, sizeof *seed * tn);
    /* each option is made once per term to weigh its groups: not for the largest trusts */
    bool chosen =
        (double)t * o.count <= JOIN_BB_OPTIONS && join_branch_and_bound(s, seed, &o, pick);
    join_heuristic(s);
    if (chosen) {
        struct rota_cost heuristic = s->st->c;
        int *kept = xmalloc(sizeof *kept * tn);
        memcpy(kept, s->st->at, sizeof *kept * tn);
        rota_state_copy_at(cx, s->st, seed);
        for (int k = 0; k < t; k++)
            option_change(s, &o, k, 0, pick[k]);
        prev_seed_descend(s);
        if (rota_cost_cmp(s->st->c, heuristic) >= 0)
            rota_state_copy_at(cx, s->st, kept);
        free(kept);
    }
    free(seed);
    free(pick);
    options_free(&o);
}
