/* The planner's local search (layer 2): a plan as positions per term with pair masks and the
 * cost kept up to date move by move (swaps in a term, relabelling two schools everywhere,
 * exchanging two terms); a repair search on the hard, kept and repeat levels, a polish by
 * annealing on the soft constraints, and the greedy term-by-term baseline. */
#include "rota_search.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Search state: a plan as positions per term, pair masks of the terms each pair meets in,
 * and the cost kept up to date move by move. */

const int *rota_state_group(const struct rota_ctx *cx, const struct rota_state *st, int k, int g)
{
    return st->at + (size_t)k * cx->n + cx->lay.start[g];
}

void rota_state_alloc(struct rota_state *st, const struct rota_ctx *cx)
{
    size_t tn = (size_t)cx->t * cx->n, tg = (size_t)cx->t * cx->lay.ng;
    st->at = xmalloc(sizeof *st->at * tn);
    st->pos = xmalloc(sizeof *st->pos * tn);
    st->mask = xcalloc((size_t)cx->n * cx->n, sizeof *st->mask);
    st->ghard = xcalloc(tg, sizeof *st->ghard);
    st->gsoft = xcalloc(tg, sizeof *st->gsoft);
    st->gkept = xcalloc(tg, sizeof *st->gkept);
    st->gwait = xcalloc((size_t)cx->lay.ng, 1);
}

void rota_state_free(struct rota_state *st)
{
    free(st->at);
    free(st->pos);
    free(st->mask);
    free(st->ghard);
    free(st->gsoft);
    free(st->gkept);
    free(st->gwait);
}

static uint8_t rota_group_waits(const struct rota_ctx *cx, const int *m, int size)
{
    for (int i = 0; i < size; i++)
        if (cx->wait0[m[i]])
            return 1;
    return 0;
}

/* Recomputes everything from st->at. */
void rota_state_rebuild(const struct rota_ctx *cx, struct rota_state *st)
{
    int n = cx->n, ng = cx->lay.ng;
    memset(st->mask, 0, sizeof *st->mask * (size_t)n * n);
    memset(&st->c, 0, sizeof st->c);
    for (int k = 0; k < cx->t; k++) {
        for (int p = 0; p < n; p++)
            st->pos[(size_t)k * n + st->at[(size_t)k * n + p]] = p;
        for (int g = 0; g < ng; g++) {
            const int *m = rota_state_group(cx, st, k, g);
            int size = cx->lay.size[g];
            for (int i = 0; i < size; i++)
                for (int j = i + 1; j < size; j++) {
                    st->mask[m[i] * n + m[j]] |= UINT64_C(1) << k;
                    st->mask[m[j] * n + m[i]] |= UINT64_C(1) << k;
                }
            size_t gi = (size_t)k * ng + g;
            st->ghard[gi] = rota_group_hard(cx, m, size);
            st->gsoft[gi] = rota_group_soft(cx, m, size);
            st->gkept[gi] = rota_group_kept_index(cx, k, m, size) >= 0;
            st->c.hard += st->ghard[gi];
            st->c.soft += rota_term_weight(cx, k) * st->gsoft[gi];
            st->c.keep += cx->replan && !st->gkept[gi];
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (st->mask[a * n + b])
                st->c.rep += rota_pair_cost(cx, st->mask[a * n + b], cx->hist[a * n + b]);
    if (cx->host_proxy) {
        st->c.host = cx->wait0_need;
        for (int g = 0; g < ng; g++) {
            st->gwait[g] = rota_group_waits(cx, rota_state_group(cx, st, 0, g), cx->lay.size[g]);
            st->c.host -= st->gwait[g];
        }
        if (st->c.host < 0)
            st->c.host = 0;
    }
}

void rota_state_copy_at(const struct rota_ctx *cx, struct rota_state *dst, const int *at)
{
    memcpy(dst->at, at, sizeof *at * (size_t)cx->t * cx->n);
    rota_state_rebuild(cx, dst);
}

static int64_t pair_delta(const struct rota_ctx *cx, const struct rota_state *st, int a, int b,
                          uint64_t bit, bool add, const uint32_t *w, int64_t *wd)
{
    size_t i = (size_t)a * cx->n + b;
    uint64_t m = st->mask[i];
    int k = __builtin_ctzll(bit);
    int64_t d = 0;
    if (add && !(m & bit))
        d = rota_pair_cost_add(cx, m, cx->hist[i], k);
    else if (!add && (m & bit))
        d = -rota_pair_cost_add(cx, m & ~bit, cx->hist[i], k);
    if (wd)
        *wd += w ? d * (int64_t)w[i] : d;
    return d;
}

/* What school x (position pa of term k) leaving its group saves at the repeat level: {repeat
 * cost, weighted}. The same for every swap of pa, so the repair works it out once. */
static void swap_leave(const struct rota_ctx *cx, const struct rota_state *st, int k, int pa,
                       const uint32_t *w, int64_t out[2])
{
    const int *row = st->at + (size_t)k * cx->n;
    int x = row[pa], ga = cx->lay.group_of[pa];
    out[0] = out[1] = 0;
    for (int i = 0; i < cx->lay.size[ga]; i++) {
        int m = row[cx->lay.start[ga] + i];
        if (m != x)
            out[0] += pair_delta(cx, st, x, m, UINT64_C(1) << k, false, w, &out[1]);
    }
}

/* The weighted repeat change of one pair when its meeting in term k is added or taken away
 * (pair_delta's second figure); a pair that never met, in history or plan, changes nothing. */
static inline int64_t pair_wdelta(const struct rota_ctx *cx, const struct rota_state *st, int a,
                                  int b, int k, bool add, const uint32_t *w)
{
    size_t i = (size_t)a * cx->n + b;
    uint64_t m = st->mask[i], bit = UINT64_C(1) << k;
    int32_t h = cx->hist[i];
    if (add == ((m & bit) != 0))
        return 0;
    m &= ~bit;
    if (!m && h == ROTA_NO_MEET)
        return 0;
    int64_t d = rota_pair_cost_add(cx, m, h, k);
    d = add ? d : -d;
    return w ? d * (int64_t)w[i] : d;
}

/* The repair's scan of every swap of x (position pa of term k), when the guided comparison
 * sees the weighted repeat change alone (nothing hard, no re-plan, no hosting level in this
 * term): that change is x leaving its group (leave), y leaving its own (ly[pb]: each group's
 * pairs are worked out once, not once per swap), x joining y's group (jx[gb], less ax[pb], the
 * pair of x with y itself) and y joining x's. The same integers eval_swap sums, so the same moves
 * are taken. A meeting added never lowers a pair's cost, so the two joining parts are never
 * negative: a swap whose other parts are already above the best so far is passed over without
 * them (it could not tie or beat the best; it would be passed over all the same). */
struct swap_scan {
    int64_t *ly, *ax, *jx; /* n (of ly_terms), n, ng */
    uint8_t *jx_done;      /* ng: jx and ax worked out for this x */
    int64_t *ly_terms;     /* t x n: each term's ly, the same for every position of the term */
    long *ly_step;         /* t: the repair step ly_terms[k] was worked out in */
};

/* ly for position pa of term k, in repair step `step`: every group's, worked out once per term
 * and step (nothing moves within a step, so the positions sampled in one term share it). */
static void swap_scan_prepare(const struct rota_ctx *cx, const struct rota_state *st, int k,
                              const uint32_t *w, long step, struct swap_scan *sc)
{
    const int *row = st->at + (size_t)k * cx->n;
    memset(sc->jx_done, 0, (size_t)cx->lay.ng);
    sc->ly = sc->ly_terms + (size_t)k * cx->n;
    if (sc->ly_step[k] == step)
        return;
    sc->ly_step[k] = step;
    for (int g = 0; g < cx->lay.ng; g++) {
        int start = cx->lay.start[g], size = cx->lay.size[g];
        for (int i = 0; i < size; i++)
            sc->ly[start + i] = 0;
        for (int i = 0; i < size; i++) /* each pair once (both ways alike) */
            for (int j = i + 1; j < size; j++) {
                int64_t d = pair_wdelta(cx, st, row[start + i], row[start + j], k, false, w);
                sc->ly[start + i] += d;
                sc->ly[start + j] += d;
            }
    }
}

/* The weighted repeat change of swapping pa (prepared in sc, leaving: leave) with pb, or, when
 * bounded and it is certainly above `above`, a figure above it. */
static inline int64_t swap_scan_wrep(const struct rota_ctx *cx, const struct rota_state *st, int k,
                                     int pa, int pb, const uint32_t *w, struct swap_scan *sc,
                                     const int64_t *leave, bool bounded, int64_t above)
{
    const int *row = st->at + (size_t)k * cx->n;
    int x = row[pa], y = row[pb], ga = cx->lay.group_of[pa], gb = cx->lay.group_of[pb];
    int64_t wrep = leave[1] + sc->ly[pb];
    if (bounded && wrep > above)
        return wrep;
    if (!sc->jx_done[gb]) {
        int start = cx->lay.start[gb], size = cx->lay.size[gb];
        sc->jx[gb] = 0;
        for (int i = 0; i < size; i++) {
            sc->ax[start + i] = pair_wdelta(cx, st, x, row[start + i], k, true, w);
            sc->jx[gb] += sc->ax[start + i];
        }
        sc->jx_done[gb] = 1;
    }
    wrep += sc->jx[gb] - sc->ax[pb];
    if (bounded && wrep > above)
        return wrep;
    const int *m = row + cx->lay.start[ga];
    for (int i = 0; i < cx->lay.size[ga]; i++)
        if (m[i] != x)
            wrep += pair_wdelta(cx, st, y, m[i], k, true, w);
    return wrep;
}

/* How much of a move's soft level to work out: none (the repair compares the levels above it
 * only, and works the soft level out for the one move it takes: with_soft), all of it, or only
 * when the levels above it do not get worse (the polish never takes such a move, whatever its
 * soft level, and most of its relabels after a history are such moves). */
enum soft_eval { SOFT_NONE, SOFT_ALL, SOFT_IF_OPEN };

/* Worse on the hard, keep, repeat or hosting level? Such a move is never taken by the polish. */
static int move_level(const struct rota_move *mv)
{
    struct rota_cost zero = {0}, d = mv->d;
    d.soft = 0;
    return rota_cost_cmp(d, zero);
}

/* A swap's move with its soft level as `soft` says (SOFT_NONE leaves it at 0), and leave, when
 * not NULL, is swap_leave's figures for pa (the sums are exact integers, so the order they are
 * added in does not matter). */
static inline void eval_swap(const struct rota_ctx *cx, const struct rota_state *st, int k, int pa,
                             int pb, const uint32_t *w, struct rota_move *mv, enum soft_eval soft,
                             const int64_t *leave)
{
    int n = cx->n, ng = cx->lay.ng;
    const int *row = st->at + (size_t)k * n;
    int x = row[pa], y = row[pb], ga = cx->lay.group_of[pa], gb = cx->lay.group_of[pb];
    uint64_t bit = UINT64_C(1) << k;
    int na[ROTA_GROUP_MAX], nb[ROTA_GROUP_MAX], sa = cx->lay.size[ga], sb = cx->lay.size[gb];
    memset(mv, 0, sizeof *mv);
    mv->kind = 0;
    mv->k = k;
    mv->pa = pa;
    mv->pb = pb;
    if (leave) {
        mv->d.rep = leave[0];
        mv->wrep = leave[1];
    }
    for (int i = 0; i < sa; i++) {
        int m = row[cx->lay.start[ga] + i];
        na[i] = m == x ? y : m;
        if (m != x) {
            if (!leave)
                mv->d.rep += pair_delta(cx, st, x, m, bit, false, w, &mv->wrep);
            mv->d.rep += pair_delta(cx, st, y, m, bit, true, w, &mv->wrep);
        }
    }
    for (int i = 0; i < sb; i++) {
        int m = row[cx->lay.start[gb] + i];
        nb[i] = m == y ? x : m;
        if (m != y) {
            mv->d.rep += pair_delta(cx, st, y, m, bit, false, w, &mv->wrep);
            mv->d.rep += pair_delta(cx, st, x, m, bit, true, w, &mv->wrep);
        }
    }
    size_t ia = (size_t)k * ng + ga, ib = (size_t)k * ng + gb;
    if (cx->has_excl || cx->phase_hard) { /* else every group's hard level is 0 */
        mv->hard[0] = rota_group_hard(cx, na, sa);
        mv->hard[1] = rota_group_hard(cx, nb, sb);
        mv->d.hard = mv->hard[0] + mv->hard[1] - st->ghard[ia] - st->ghard[ib];
    }
    if (cx->replan) {
        mv->kept[0] = rota_group_kept_index(cx, k, na, sa) >= 0;
        mv->kept[1] = rota_group_kept_index(cx, k, nb, sb) >= 0;
        mv->d.keep = (st->gkept[ia] + st->gkept[ib]) - (mv->kept[0] + mv->kept[1]);
    }
    if (cx->host_proxy && k == 0) {
        mv->wait[0] = rota_group_waits(cx, na, sa);
        mv->wait[1] = rota_group_waits(cx, nb, sb);
        mv->d.host = (st->gwait[ga] + st->gwait[gb]) - (mv->wait[0] + mv->wait[1]);
    }
    if (cx->soft_on && (soft == SOFT_ALL || (soft == SOFT_IF_OPEN && move_level(mv) <= 0))) {
        mv->soft[0] = rota_group_soft(cx, na, sa);
        mv->soft[1] = rota_group_soft(cx, nb, sb);
        mv->d.soft =
            rota_term_weight(cx, k) * (mv->soft[0] + mv->soft[1] - st->gsoft[ia] - st->gsoft[ib]);
    }
}

void rota_eval_swap(const struct rota_ctx *cx, const struct rota_state *st, int k, int pa, int pb,
                    const uint32_t *w, struct rota_move *mv)
{
    eval_swap(cx, st, k, pa, pb, w, mv, SOFT_ALL, NULL);
}

static void set_pair_bit(const struct rota_ctx *cx, struct rota_state *st, int a, int b,
                         uint64_t bit, bool on)
{
    size_t i = (size_t)a * cx->n + b, j = (size_t)b * cx->n + a;
    if (on) {
        st->mask[i] |= bit;
        st->mask[j] |= bit;
    } else {
        st->mask[i] &= ~bit;
        st->mask[j] &= ~bit;
    }
}

void rota_apply_swap(const struct rota_ctx *cx, struct rota_state *st, const struct rota_move *mv)
{
    int n = cx->n, ng = cx->lay.ng, k = mv->k;
    int *row = st->at + (size_t)k * n;
    int x = row[mv->pa], y = row[mv->pb], ga = cx->lay.group_of[mv->pa],
        gb = cx->lay.group_of[mv->pb];
    uint64_t bit = UINT64_C(1) << k;
    for (int i = 0; i < cx->lay.size[ga]; i++) {
        int m = row[cx->lay.start[ga] + i];
        if (m != x) {
            set_pair_bit(cx, st, x, m, bit, false);
            set_pair_bit(cx, st, y, m, bit, true);
        }
    }
    for (int i = 0; i < cx->lay.size[gb]; i++) {
        int m = row[cx->lay.start[gb] + i];
        if (m != y) {
            set_pair_bit(cx, st, y, m, bit, false);
            set_pair_bit(cx, st, x, m, bit, true);
        }
    }
    row[mv->pa] = y;
    row[mv->pb] = x;
    st->pos[(size_t)k * n + x] = mv->pb;
    st->pos[(size_t)k * n + y] = mv->pa;
    size_t ia = (size_t)k * ng + ga, ib = (size_t)k * ng + gb;
    st->ghard[ia] = mv->hard[0];
    st->ghard[ib] = mv->hard[1];
    if (cx->soft_on) {
        st->gsoft[ia] = mv->soft[0];
        st->gsoft[ib] = mv->soft[1];
    }
    if (cx->replan) {
        st->gkept[ia] = mv->kept[0];
        st->gkept[ib] = mv->kept[1];
    }
    if (cx->host_proxy && k == 0) {
        st->gwait[ga] = mv->wait[0];
        st->gwait[gb] = mv->wait[1];
    }
    st->c.hard += mv->d.hard;
    st->c.keep += mv->d.keep;
    st->c.rep += mv->d.rep;
    st->c.host += mv->d.host;
    st->c.soft += mv->d.soft;
}

/* The group levels of relabelling x and y (hard, keep, hosting: levels) or its soft level
 * (soft), term by term: the two groups of each term where x and y are apart. */
static void relabel_groups(const struct rota_ctx *cx, const struct rota_state *st, int x, int y,
                           struct rota_move *mv, bool levels, bool soft)
{
    int n = cx->n, ng = cx->lay.ng, t = cx->t;
    bool hard = cx->has_excl || cx->phase_hard;  /* else every group's hard level is 0 */
    if (levels && !soft && !hard && !cx->replan) /* only the first term's hosting can change */
        t = cx->host_proxy ? 1 : 0;
    for (int k = 0; k < t; k++) {
        int px = st->pos[(size_t)k * n + x], py = st->pos[(size_t)k * n + y];
        int gx = cx->lay.group_of[px], gy = cx->lay.group_of[py];
        if (gx == gy)
            continue;
        for (int side = 0; side < 2; side++) {
            int g = side ? gy : gx, size = cx->lay.size[g], nm[ROTA_GROUP_MAX];
            const int *m = rota_state_group(cx, st, k, g);
            for (int i = 0; i < size; i++)
                nm[i] = m[i] == x ? y : m[i] == y ? x : m[i];
            size_t gi = (size_t)k * ng + g;
            if (levels) {
                if (hard)
                    mv->d.hard += rota_group_hard(cx, nm, size) - st->ghard[gi];
                if (cx->replan)
                    mv->d.keep += st->gkept[gi] - (rota_group_kept_index(cx, k, nm, size) >= 0);
                if (cx->host_proxy && k == 0)
                    mv->d.host += st->gwait[g] - rota_group_waits(cx, nm, size);
            }
            if (soft)
                mv->d.soft +=
                    rota_term_weight(cx, k) * (rota_group_soft(cx, nm, size) - st->gsoft[gi]);
        }
    }
}

/* Relabelling: schools x and y exchange places in every term. A design stays a design, so
 * this is how a repeat-free run is fitted to history, exclusions and the soft constraints. */
static void eval_relabel(const struct rota_ctx *cx, const struct rota_state *st, int x, int y,
                         struct rota_move *mv, enum soft_eval soft)
{
    int n = cx->n;
    memset(mv, 0, sizeof *mv);
    mv->kind = 1;
    mv->x = x;
    mv->y = y;
    /* without history a relabel only permutes the pairs' masks: the repeat cost stays */
    for (int m = 0; cx->has_history && m < n; m++) {
        if (m == x || m == y)
            continue;
        uint64_t mx = st->mask[x * n + m], my = st->mask[y * n + m];
        int32_t hx = cx->hist[x * n + m], hy = cx->hist[y * n + m];
        if (mx == my || hx == hy) /* the pairs trade nothing: the sum below is 0 */
            continue;
        mv->d.rep += rota_pair_cost(cx, my, hx) + rota_pair_cost(cx, mx, hy) -
                     rota_pair_cost(cx, mx, hx) - rota_pair_cost(cx, my, hy);
    }
    mv->wrep = mv->d.rep;
    bool with_soft = cx->soft_on && soft != SOFT_NONE;
    if (soft == SOFT_IF_OPEN) { /* the levels first, the soft level only if they allow it */
        relabel_groups(cx, st, x, y, mv, true, false);
        if (with_soft && move_level(mv) <= 0)
            relabel_groups(cx, st, x, y, mv, false, true);
    } else {
        relabel_groups(cx, st, x, y, mv, true, with_soft);
    }
}

/* Work of one relabel's evaluation: two groups per term, and without history no pair loop. */
static uint64_t relabel_work(const struct rota_ctx *cx)
{
    return (cx->has_history ? (uint64_t)cx->n : 0) + 2 * (uint64_t)cx->t;
}

static void apply_relabel(const struct rota_ctx *cx, struct rota_state *st,
                          const struct rota_move *mv)
{
    int n = cx->n, x = mv->x, y = mv->y;
    for (int k = 0; k < cx->t; k++) {
        int *row = st->at + (size_t)k * n, *pos = st->pos + (size_t)k * n;
        int px = pos[x], py = pos[y];
        row[px] = y;
        row[py] = x;
        pos[x] = py;
        pos[y] = px;
    }
    for (int m = 0; m < n; m++) {
        if (m == x || m == y)
            continue;
        uint64_t t = st->mask[x * n + m];
        st->mask[x * n + m] = st->mask[m * n + x] = st->mask[y * n + m];
        st->mask[y * n + m] = st->mask[m * n + y] = t;
    }
    /* group values: recompute the groups of x and y */
    for (int k = 0; k < cx->t; k++)
        for (int side = 0; side < 2; side++) {
            int g = cx->lay.group_of[st->pos[(size_t)k * n + (side ? y : x)]];
            const int *m = rota_state_group(cx, st, k, g);
            size_t gi = (size_t)k * cx->lay.ng + g;
            st->ghard[gi] = rota_group_hard(cx, m, cx->lay.size[g]);
            if (cx->soft_on)
                st->gsoft[gi] = rota_group_soft(cx, m, cx->lay.size[g]);
            if (cx->replan)
                st->gkept[gi] = rota_group_kept_index(cx, k, m, cx->lay.size[g]) >= 0;
            if (cx->host_proxy && k == 0)
                st->gwait[g] = rota_group_waits(cx, m, cx->lay.size[g]);
        }
    st->c.hard += mv->d.hard;
    st->c.keep += mv->d.keep;
    st->c.rep += mv->d.rep;
    st->c.host += mv->d.host;
    st->c.soft += mv->d.soft;
}

void rota_eval_relabel(const struct rota_ctx *cx, const struct rota_state *st, int x, int y,
                       struct rota_move *mv)
{
    eval_relabel(cx, st, x, y, mv, SOFT_IF_OPEN);
}

void rota_apply_relabel(const struct rota_ctx *cx, struct rota_state *st,
                        const struct rota_move *mv)
{
    apply_relabel(cx, st, mv);
}

uint64_t rota_relabel_work(const struct rota_ctx *cx)
{
    return relabel_work(cx);
}

int rota_move_level(const struct rota_move *mv)
{
    return move_level(mv);
}

static uint64_t swap_bits(uint64_t m, int a, int b)
{
    uint64_t ba = (m >> a) & 1, bb = (m >> b) & 1;
    if (ba != bb)
        m ^= (UINT64_C(1) << a) | (UINT64_C(1) << b);
    return m;
}

/* Exchanging the groupings of terms k1 and k2 (matters for decay, history and re-plans). */
static void eval_exchange(const struct rota_ctx *cx, const struct rota_state *st, int k1, int k2,
                          uint32_t *stamp, uint32_t stamp_value, struct rota_move *mv)
{
    int n = cx->n;
    memset(mv, 0, sizeof *mv);
    mv->kind = 2;
    mv->x = k1;
    mv->y = k2;
    for (int side = 0; side < 2; side++) {
        int k = side ? k2 : k1;
        for (int g = 0; g < cx->lay.ng; g++) {
            const int *m = rota_state_group(cx, st, k, g);
            int size = cx->lay.size[g];
            for (int i = 0; i < size; i++)
                for (int j = i + 1; j < size; j++) {
                    size_t pi = (size_t)m[i] * n + m[j];
                    if (stamp[pi] == stamp_value)
                        continue;
                    stamp[pi] = stamp_value;
                    uint64_t old = st->mask[pi];
                    mv->d.rep += rota_pair_cost(cx, swap_bits(old, k1, k2), cx->hist[pi]) -
                                 rota_pair_cost(cx, old, cx->hist[pi]);
                }
            if (cx->replan) {
                int other = side ? k1 : k2;
                mv->d.keep += st->gkept[(size_t)k * cx->lay.ng + g] -
                              (rota_group_kept_index(cx, other, m, size) >= 0);
            }
            if (cx->host_proxy && (k1 == 0 || k2 == 0)) { /* this term's groups move to
                                                           * the other's place */
                int other = side ? k1 : k2;
                if (other == 0)
                    mv->d.host -= rota_group_waits(cx, m, size);
                if (k == 0)
                    mv->d.host += st->gwait[g];
            }
        }
    }
    if (cx->tw) { /* the two terms trade weights */
        double s1 = 0, s2 = 0;
        for (int g = 0; g < cx->lay.ng; g++) {
            s1 += st->gsoft[(size_t)k1 * cx->lay.ng + g];
            s2 += st->gsoft[(size_t)k2 * cx->lay.ng + g];
        }
        mv->d.soft = (cx->tw[k1] - cx->tw[k2]) * (s2 - s1);
    }
    mv->wrep = mv->d.rep;
}

static void apply_exchange(const struct rota_ctx *cx, struct rota_state *st,
                           const struct rota_move *mv)
{
    int n = cx->n, ng = cx->lay.ng, k1 = mv->x, k2 = mv->y;
    /* the pairs of both terms trade their two bits (a pair in both keeps them) */
    for (int side = 0; side < 2; side++)
        for (int g = 0; g < ng; g++) {
            const int *m = rota_state_group(cx, st, side ? k2 : k1, g);
            for (int i = 0; i < cx->lay.size[g]; i++)
                for (int j = i + 1; j < cx->lay.size[g]; j++) {
                    size_t a = (size_t)m[i] * n + m[j], b = (size_t)m[j] * n + m[i];
                    st->mask[a] = st->mask[b] = swap_bits(st->mask[a], k1, k2);
                }
        }
    for (int p = 0; p < n; p++) {
        size_t i1 = (size_t)k1 * n + p, i2 = (size_t)k2 * n + p;
        int a = st->at[i1], pa = st->pos[i1];
        st->at[i1] = st->at[i2];
        st->at[i2] = a;
        st->pos[i1] = st->pos[i2];
        st->pos[i2] = pa;
    }
    for (int g = 0; g < ng; g++) {
        size_t i1 = (size_t)k1 * ng + g, i2 = (size_t)k2 * ng + g;
        int h = st->ghard[i1];
        st->ghard[i1] = st->ghard[i2];
        st->ghard[i2] = h;
        double so = st->gsoft[i1];
        st->gsoft[i1] = st->gsoft[i2];
        st->gsoft[i2] = so;
        for (int side = 0; cx->replan && side < 2; side++) {
            int k = side ? k2 : k1;
            st->gkept[(size_t)k * ng + g] =
                rota_group_kept_index(cx, k, rota_state_group(cx, st, k, g), cx->lay.size[g]) >= 0;
        }
        if (cx->host_proxy && (k1 == 0 || k2 == 0))
            st->gwait[g] = rota_group_waits(cx, rota_state_group(cx, st, 0, g), cx->lay.size[g]);
    }
    st->c.keep += mv->d.keep;
    st->c.rep += mv->d.rep;
    st->c.host += mv->d.host;
    st->c.soft += mv->d.soft;
}

/* ------------------------------------------------------------------------------------ */
/* Local search. */

/* Are a's hard, keep and repeat levels below b's (lexicographically)? */
static bool levels_below(const struct rota_cost *a, const struct rota_cost *b)
{
    if (a->hard != b->hard)
        return a->hard < b->hard;
    if (a->keep != b->keep)
        return a->keep < b->keep;
    return a->rep < b->rep;
}

void rota_search_note(struct rota_search *s)
{
    if (rota_cost_cmp(s->st->c, s->best) < 0) {
        s->best = s->st->c;
        memcpy(s->best_at, s->st->at, sizeof *s->best_at * (size_t)s->cx->t * s->cx->n);
        if (s->floor && levels_below(&s->best, s->floor))
            s->gave_up = true;
    }
}

static int int32_cmp(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

/* The least repeat cost the planned terms after the first `count` can add, given the pairs'
 * meetings so far (mask: the first count terms; the history): the later terms hold m meetings
 * (every term is the layout), a pair that never met can take one of them free, so at least
 * m - fresh of them repeat. Each of those is a met pair's first meeting in the later terms,
 * costing at least the unit of the longest gap it can have (from its latest meeting to the last
 * term), or another meeting of a pair met in the later terms already, costing at least the unit
 * of the longest gap among them, which is no less. So the cheapest first meetings add up to a
 * bound, the oldest first. */
static int64_t floor_rest(const struct rota_ctx *cx, const uint64_t *mask, int count)
{
    int n = cx->n, t = cx->t;
    if (count >= t || count < 1)
        return 0;
    int64_t per_term = 0;
    for (int g = 0; g < cx->lay.ng; g++)
        per_term += (int64_t)cx->lay.size[g] * (cx->lay.size[g] - 1) / 2;
    int32_t *latest = xmalloc(sizeof *latest * ((size_t)n * (n - 1) / 2 + 1));
    int64_t used = 0, fresh = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            uint64_t m = mask[a * n + b];
            int32_t h = cx->hist[a * n + b];
            if (m)
                latest[used++] = cx->tl[63 - __builtin_clzll(m)];
            else if (h != ROTA_NO_MEET)
                latest[used++] = h;
            else
                fresh++;
        }
    int64_t repeats = (int64_t)(t - count) * per_term - fresh, rep = 0;
    if (repeats > 0) {
        qsort(latest, (size_t)used, sizeof *latest, int32_cmp);
        int32_t last = cx->tl[t - 1];
        for (int64_t i = 0; i < repeats && i < used; i++)
            rep += rota_unit_cost(cx, last - latest[i]);
        if (repeats > used)
            rep += (repeats - used) * rota_unit_cost(cx, last - cx->tl[count]);
    }
    free(latest);
    return rep;
}

struct rota_cost rota_search_floor(const struct rota_ctx *cx, const struct rota_term *terms,
                                   int count)
{
    int n = cx->n;
    struct rota_cost c = {0};
    uint64_t *mask = xcalloc((size_t)n * n, sizeof *mask);
    count = count < cx->t ? count : cx->t;
    for (int k = 0; k < count; k++) {
        const struct rota_term *tm = &terms[k];
        for (size_t g = 0; g < tm->n_groups; g++) {
            const struct rota_group *gr = &tm->groups[g];
            c.hard += rota_group_hard(cx, gr->members, gr->size);
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++) {
                    int a = gr->members[i], b = gr->members[j];
                    mask[a < b ? a * n + b : b * n + a] |= UINT64_C(1) << k;
                }
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (mask[a * n + b])
                c.rep += rota_pair_cost(cx, mask[a * n + b], cx->hist[a * n + b]);
    c.rep += floor_rest(cx, mask, count);
    free(mask);
    return c;
}

bool rota_at_lower_bound(const struct rota_ctx *cx, struct rota_cost c)
{
    return c.hard == 0 && c.keep == 0 && c.rep == 0 && c.host == 0 &&
           (!cx->soft_on || c.soft <= 1e-9);
}

/* What the repair search steers by: hard, then groups kept, then weighted repeats with the
 * first term's hosting folded in at half a repeat (the best plan kept is still judged
 * lexicographically; this only lets the search trade one for the other on its way). */
static int64_t guided_rep(const struct rota_move *m)
{
    return m->wrep + m->d.host * (ROTA_REP_ONE / 2);
}

static int guided_cmp(const struct rota_move *a, const struct rota_move *b)
{
    if (a->d.hard != b->d.hard)
        return a->d.hard < b->d.hard ? -1 : 1;
    if (a->d.keep != b->d.keep)
        return a->d.keep < b->d.keep ? -1 : 1;
    if (guided_rep(a) != guided_rep(b))
        return guided_rep(a) < guided_rep(b) ? -1 : 1;
    return 0;
}

static bool guided_negative(const struct rota_move *m)
{
    return m->d.hard < 0 ||
           (m->d.hard == 0 && (m->d.keep < 0 || (m->d.keep == 0 && guided_rep(m) < 0)));
}

/* Is school x (position p of term k) part of what costs at the hard, keep or repeat level? */
static bool position_conflicted(const struct rota_ctx *cx, const struct rota_state *st, int k,
                                int p)
{
    int n = cx->n, g = cx->lay.group_of[p], x = st->at[(size_t)k * n + p];
    size_t gi = (size_t)k * cx->lay.ng + g;
    if (st->ghard[gi] > 0 || (cx->replan && !st->gkept[gi]))
        return true;
    if (k == 0 && st->c.host > 0) { /* a waiting school that cannot have its turn here */
        int waiting = 0;
        const int *gm = rota_state_group(cx, st, k, g);
        for (int i = 0; i < cx->lay.size[g]; i++)
            waiting += cx->wait0[gm[i]];
        if (waiting == 0 || (waiting > 1 && cx->wait0_need < cx->lay.ng))
            return true;
    }
    const int *m = rota_state_group(cx, st, k, g);
    for (int i = 0; i < cx->lay.size[g]; i++) {
        if (m[i] == x)
            continue;
        size_t pi = (size_t)x * n + m[i];
        if (cx->hist[pi] != ROTA_NO_MEET || (st->mask[pi] & (st->mask[pi] - 1)))
            return true;
    }
    return false;
}

bool rota_search_checks;
atomic_long rota_search_check_failures;

/* The repair's conflicted positions (position_conflicted, t x n flags), kept up to date move by
 * move instead of found afresh each step: a position's flag depends on its group (hard and keep
 * levels, the first term's hosting) and on the pairs it forms there, so a move changes the flags
 * of the groups it changes and of the groups where a pair whose meetings it changed meets. */
static void conflicts_group(const struct rota_ctx *cx, const struct rota_state *st, uint8_t *flag,
                            int k, int g)
{
    for (int i = 0; i < cx->lay.size[g]; i++) {
        int p = cx->lay.start[g] + i;
        flag[(size_t)k * cx->n + p] = position_conflicted(cx, st, k, p);
    }
}

static void conflicts_term(const struct rota_ctx *cx, const struct rota_state *st, uint8_t *flag,
                           int k)
{
    for (int g = 0; g < cx->lay.ng; g++)
        conflicts_group(cx, st, flag, k, g);
}

/* After mv was applied. */
static void conflicts_update(const struct rota_ctx *cx, const struct rota_state *st, uint8_t *flag,
                             const struct rota_move *mv)
{
    int n = cx->n;
    if (mv->kind == 0) {
        int k = mv->k, ga = cx->lay.group_of[mv->pa], gb = cx->lay.group_of[mv->pb];
        const int *row = st->at + (size_t)k * n;
        int moved[2] = {row[mv->pa], row[mv->pb]};
        conflicts_group(cx, st, flag, k, ga);
        conflicts_group(cx, st, flag, k, gb);
        /* the pairs of the two moved schools with the others of both groups met or parted in
         * term k: their flags change wherever else they meet */
        for (int side = 0; side < 2; side++)
            for (int gi = 0; gi < 2; gi++) {
                int g = gi ? gb : ga;
                for (int i = 0; i < cx->lay.size[g]; i++) {
                    int u = moved[side], m = row[cx->lay.start[g] + i];
                    if (m == moved[0] || m == moved[1])
                        continue;
                    uint64_t terms = st->mask[(size_t)u * n + m] & ~(UINT64_C(1) << k);
                    while (terms) {
                        int kk = __builtin_ctzll(terms);
                        terms &= terms - 1;
                        conflicts_group(cx, st, flag, kk,
                                        cx->lay.group_of[st->pos[(size_t)kk * n + u]]);
                    }
                }
            }
    } else if (mv->kind == 1) { /* every group holding either school: all their pairs changed */
        for (int k = 0; k < cx->t; k++) {
            int gx = cx->lay.group_of[st->pos[(size_t)k * n + mv->x]];
            int gy = cx->lay.group_of[st->pos[(size_t)k * n + mv->y]];
            conflicts_group(cx, st, flag, k, gx);
            if (gy != gx)
                conflicts_group(cx, st, flag, k, gy);
        }
    } else { /* two terms trade groups; every pair keeps its number of meetings */
        conflicts_term(cx, st, flag, mv->x);
        conflicts_term(cx, st, flag, mv->y);
    }
    if (cx->host_proxy) /* the first term's flags follow the hosting level, which any move moves */
        conflicts_term(cx, st, flag, 0);
}

static void apply_move(const struct rota_ctx *cx, struct rota_state *st, const struct rota_move *mv)
{
    if (mv->kind == 0)
        rota_apply_swap(cx, st, mv);
    else if (mv->kind == 1)
        apply_relabel(cx, st, mv);
    else
        apply_exchange(cx, st, mv);
}

/* The soft level of a move the repair chose (evaluated without it): the same figures a full
 * evaluation gives, as nothing moved since. */
static void with_soft(const struct rota_ctx *cx, const struct rota_state *st, struct rota_move *mv)
{
    struct rota_move full;
    if (mv->kind == 0)
        eval_swap(cx, st, mv->k, mv->pa, mv->pb, NULL, &full, SOFT_ALL, NULL);
    else if (mv->kind == 1)
        eval_relabel(cx, st, mv->x, mv->y, &full, SOFT_ALL);
    else
        return; /* a term exchange is always evaluated in full */
    mv->soft[0] = full.soft[0];
    mv->soft[1] = full.soft[1];
    mv->d.soft = full.d.soft;
}

/* Repair: min-conflicts over (term, school) positions that cost at the hard, keep or repeat
 * level, with breakout weights on pairs at local minima, relabelling and term exchanges
 * now and then. Returns when the budget is spent, nothing conflicts, or progress stalls. */
void rota_search_repair(struct rota_search *s, uint64_t budget)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int n = cx->n, t = cx->t;
    uint64_t stop = s->work + budget;
    int *cand_k = xmalloc(sizeof *cand_k * (size_t)t * n);
    int *cand_p = xmalloc(sizeof *cand_p * (size_t)t * n);
    struct swap_scan sc = {.ly_terms = xmalloc(sizeof *sc.ly_terms * (size_t)t * n),
                           .ly_step = xmalloc(sizeof *sc.ly_step * (size_t)t),
                           .ax = xmalloc(sizeof *sc.ax * (size_t)n),
                           .jx = xmalloc(sizeof *sc.jx * (size_t)cx->lay.ng),
                           .jx_done = xmalloc((size_t)cx->lay.ng)};
    for (int k = 0; k < t; k++)
        sc.ly_step[k] = -1;
    uint8_t *conflicted = xmalloc((size_t)t * n);
    for (int k = 0; k < t; k++)
        conflicts_term(cx, st, conflicted, k);
    long since = 0, step = 0;
    const long stall = 4000;
    while (s->work < stop && since < stall && !rota_search_cancelled(s)) {
        if (st->c.hard == 0 && st->c.keep == 0 && st->c.rep == 0 && st->c.host == 0)
            break;
        step++;
        if (rota_search_checks && step % 16 == 1) /* tests: the flags are the full scan's */
            for (int k = 0; k < t; k++)
                for (int p = 0; p < n; p++)
                    if (conflicted[(size_t)k * n + p] != position_conflicted(cx, st, k, p))
                        atomic_fetch_add(&rota_search_check_failures, 1);
        int nc = 0;
        for (int k = 0; k < t; k++)
            for (int p = 0; p < n; p++)
                if (conflicted[(size_t)k * n + p]) {
                    cand_k[nc] = k;
                    cand_p[nc++] = p;
                }
        s->work += (uint64_t)t * n;
        if (nc == 0)
            break;
        struct rota_move best, mv;
        bool have = false;
        int ties = 0, samples = nc < 24 ? nc : 24;
        for (int i = 0; i < samples; i++) {
            int ci = nc <= 24 ? i : prng_below(s->r, nc);
            int k = cand_k[ci], pa = cand_p[ci];
            int64_t leave[2];
            swap_leave(cx, st, k, pa, s->w, leave);
            /* the guided comparison on the weighted repeat change alone: only the swaps at
             * least as good as the best so far are evaluated in full */
            bool scan =
                !cx->has_excl && !cx->phase_hard && !cx->replan && !(cx->host_proxy && k == 0);
            if (scan)
                swap_scan_prepare(cx, st, k, s->w, step, &sc);
            for (int pb = 0; pb < n; pb++) {
                if (cx->lay.group_of[pb] == cx->lay.group_of[pa])
                    continue;
                int c;
                if (scan) {
                    /* the best's guided figure, when a swap can only tie or beat it on that */
                    bool bounded = have && best.d.hard == 0 && best.d.keep == 0;
                    int64_t wrep = swap_scan_wrep(cx, st, k, pa, pb, s->w, &sc, leave, bounded,
                                                  bounded ? guided_rep(&best) : 0);
                    c = !have                       ? -1
                        : best.d.hard != 0          ? (best.d.hard > 0 ? -1 : 1)
                        : best.d.keep != 0          ? (best.d.keep > 0 ? -1 : 1)
                        : wrep != guided_rep(&best) ? (wrep < guided_rep(&best) ? -1 : 1)
                                                    : 0;
                    if (c > 0 || (c == 0 && prng_below(s->r, ++ties) != 0))
                        continue;
                    eval_swap(cx, st, k, pa, pb, s->w, &mv, SOFT_NONE, leave);
                } else {
                    eval_swap(cx, st, k, pa, pb, s->w, &mv, SOFT_NONE, leave);
                    c = have ? guided_cmp(&mv, &best) : -1;
                    if (c > 0 || (c == 0 && prng_below(s->r, ++ties) != 0))
                        continue;
                }
                best = mv;
                if (c < 0) {
                    have = true;
                    ties = 1;
                }
            }
            s->work += (uint64_t)n;
        }
        /* relabelling: a few random pairs of schools, one of them conflicted */
        for (int i = 0; i < 4 && n > 2; i++) {
            int ci = prng_below(s->r, nc);
            int x = st->at[(size_t)cand_k[ci] * n + cand_p[ci]], y = prng_below(s->r, n);
            if (x == y)
                continue;
            eval_relabel(cx, st, x, y, &mv, SOFT_NONE);
            s->work += relabel_work(cx);
            if (have && guided_cmp(&mv, &best) < 0)
                best = mv;
        }
        if (t > 1 && (cx->has_history || cx->replan) && prng_below(s->r, 8) == 0) {
            int k1 = prng_below(s->r, t), k2 = prng_below(s->r, t);
            if (k1 != k2) {
                eval_exchange(cx, st, k1, k2, s->stamp, ++s->stamp_value, &mv);
                s->work += (uint64_t)n * 2;
                if (have && guided_cmp(&mv, &best) < 0)
                    best = mv;
            }
        }
        if (!have)
            break;
        if (!guided_negative(&best)) {
            /* local minimum: weigh the repeated pairs around the sampled positions */
            for (int i = 0; i < samples; i++) {
                int ci = nc <= 24 ? i : prng_below(s->r, nc);
                int k = cand_k[ci], p = cand_p[ci], g = cx->lay.group_of[p];
                int x = st->at[(size_t)k * n + p];
                const int *m = rota_state_group(cx, st, k, g);
                for (int j = 0; j < cx->lay.size[g]; j++) {
                    size_t pi = (size_t)x * n + m[j];
                    if (m[j] != x &&
                        (cx->hist[pi] != ROTA_NO_MEET || (st->mask[pi] & (st->mask[pi] - 1)))) {
                        s->w[pi]++;
                        s->w[(size_t)m[j] * n + x]++;
                    }
                }
            }
        }
        if (cx->soft_on)
            with_soft(cx, st, &best);
        apply_move(cx, st, &best);
        conflicts_update(cx, st, conflicted, &best);
        struct rota_cost before = s->best;
        rota_search_note(s);
        since = rota_cost_cmp(s->best, before) < 0 ? 0 : since + 1;
    }
    free(conflicted);
    free(cand_k);
    free(cand_p);
    free(sc.ly_terms);
    free(sc.ly_step);
    free(sc.ax);
    free(sc.jx);
    free(sc.jx_done);
}

/* The polish's moves: a share of swaps in a term (per cent), the rest relabels and a few term
 * exchanges, and the starting temperature. A tight repeat-free design (every pair meeting once,
 * or all but one pair per school) admits almost no swap that keeps it, so there the polish
 * relabels (a relabel keeps a design a design) instead of spending its moves on swaps. */
struct polish_mix {
    int swaps, relabels;
    double t0;
};

static struct polish_mix polish_mix(struct rota_search *s)
{
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, t = cx->t;
    double swap_sum = 0, relabel_sum = 0;
    int swap_samples = 0, relabel_samples = 0, tried = 0, open = 0;
    struct rota_move mv;
    for (int i = 0; i < 200; i++) {
        int k = prng_below(s->r, t), pa = prng_below(s->r, n), pb = prng_below(s->r, n);
        if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
            continue;
        rota_eval_swap(cx, s->st, k, pa, pb, NULL, &mv);
        tried++;
        open += move_level(&mv) <= 0;
        if (mv.d.soft != 0) {
            swap_sum += fabs(mv.d.soft);
            swap_samples++;
        }
    }
    s->work += 200;
    struct polish_mix mix = {84, 14, 1.0};
    if (tried > 0 && open * 20 < tried && t > 1) { /* under 5 % of the swaps keep the levels */
        mix.swaps = 8;
        mix.relabels = 84;
        for (int i = 0; i < 40; i++) {
            int x = prng_below(s->r, n), y = prng_below(s->r, n);
            if (x == y)
                continue;
            eval_relabel(cx, s->st, x, y, &mv, SOFT_ALL);
            s->work += relabel_work(cx);
            if (mv.d.soft != 0 && move_level(&mv) <= 0) {
                relabel_sum += fabs(mv.d.soft);
                relabel_samples++;
            }
        }
        if (relabel_samples)
            mix.t0 = (s->cold ? 0.1 : 0.3) * relabel_sum / relabel_samples;
    } else if (swap_samples) {
        mix.t0 = 0.3 * swap_sum / swap_samples;
    }
    return mix;
}

uint64_t rota_search_polish_length(const struct rota_ctx *cx)
{
    uint64_t length = (uint64_t)20000 * cx->n * cx->t;
    /* a new cycle's first year carries its soft cost: the later terms, lightly weighed, do not
     * earn a longer run than 36 schools' whole cycle (60 schools: 12 M moves, not 35 M) */
    if (cx->tw && length > ROTA_POLISH_FRONT_MAX)
        length = ROTA_POLISH_FRONT_MAX;
    return length < 4000000 ? 4000000 : length;
}

/* Polish: annealing on the soft constraints among moves that keep hard, keep and repeat
 * levels from getting worse (a move that improves them is always taken). */
void rota_search_polish(struct rota_search *s, uint64_t budget)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int n = cx->n, t = cx->t, ng = cx->lay.ng;
    if ((!cx->soft_on && s->best.host == 0) || ng < 2 || budget == 0)
        return;
    struct polish_mix mix = polish_mix(s);
    double t0 = mix.t0, temp = t0;
    struct rota_move mv;
    /* one cooling run, as long as the instance deserves (and the budget allows); it ends
     * early when the second half brings no new best for a while */
    uint64_t length = rota_search_polish_length(cx);
    if (s->polish_cap && length > s->polish_cap)
        length = s->polish_cap;
    length = length < budget ? length : budget;
    uint64_t start = s->work, stop = s->work + length, last_best = s->work;
    uint64_t stall = length / 8;
    while (s->work < stop && !rota_search_cancelled(s)) {
        if (rota_at_lower_bound(cx, s->best))
            break;
        double progress = (double)(s->work - start) / (double)length;
        if (progress > 0.5 && s->work - last_best > stall)
            break;
        temp = t0 * pow(1e-3, progress);
        int kind = prng_below(s->r, 100);
        if (kind < mix.swaps || n < 3) {
            int k = prng_below(s->r, t), pa = prng_below(s->r, n), pb = prng_below(s->r, n);
            if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
                continue;
            eval_swap(cx, st, k, pa, pb, NULL, &mv, SOFT_IF_OPEN, NULL);
            s->work += 1;
        } else if (kind < mix.swaps + mix.relabels || t < 2) {
            int x = prng_below(s->r, n), y = prng_below(s->r, n);
            if (x == y)
                continue;
            eval_relabel(cx, st, x, y, &mv, SOFT_IF_OPEN);
            s->work += relabel_work(cx);
        } else {
            int k1 = prng_below(s->r, t), k2 = prng_below(s->r, t);
            if (k1 == k2 || !(cx->has_history || cx->replan || cx->tw))
                continue;
            eval_exchange(cx, st, k1, k2, s->stamp, ++s->stamp_value, &mv);
            s->work += (uint64_t)n;
        }
        int level = move_level(&mv);
        bool take;
        if (level > 0)
            take = false;
        else if (level < 0 || mv.d.soft <= 0)
            take = true;
        else
            take = prng_unit(s->r) < exp(-mv.d.soft / temp);
        if (!take)
            continue;
        apply_move(cx, st, &mv);
        struct rota_cost before = s->best;
        rota_search_note(s);
        if (rota_cost_cmp(s->best, before) < 0)
            last_best = s->work;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Greedy construction, term by term: the baseline, and a seed for the search. */

static void greedy_term(const struct rota_ctx *cx, struct rota_state *st, int k)
{
    int n = cx->n;
    int *row = st->at + (size_t)k * n;
    uint8_t *used = xcalloc((size_t)n, 1);
    uint64_t bit = UINT64_C(1) << k;
    for (int g = 0; g < cx->lay.ng; g++) {
        int size = cx->lay.size[g], *m = row + cx->lay.start[g];
        /* first member: the unplaced school with the fewest fresh partners left */
        int first = -1, first_free = INT_MAX;
        for (int x = 0; x < n; x++) {
            if (used[x])
                continue;
            if (n > 150) {
                first = x;
                break;
            }
            int fresh = 0;
            for (int y = 0; y < n; y++)
                if (y != x && !used[y] && !cx->excl[x * n + y] &&
                    cx->hist[x * n + y] == ROTA_NO_MEET && !st->mask[x * n + y])
                    fresh++;
            if (fresh < first_free) {
                first_free = fresh;
                first = x;
            }
        }
        m[0] = first;
        used[first] = 1;
        for (int i = 1; i < size; i++) {
            /* the cheapest partner; among equals the one with the fewest fresh partners
             * left (the hardest to place later), then the lowest index */
            int pick = -1, pick_fresh = INT_MAX;
            struct rota_cost best = {0};
            for (int c = 0; c < n; c++) {
                if (used[c])
                    continue;
                struct rota_cost cc = {0};
                for (int j = 0; j < i; j++) {
                    size_t pi = (size_t)c * n + m[j];
                    cc.hard += cx->excl[pi];
                    cc.rep += rota_pair_cost(cx, st->mask[pi] | bit, cx->hist[pi]) -
                              rota_pair_cost(cx, st->mask[pi], cx->hist[pi]);
                }
                m[i] = c;
                if (cx->phase_hard)
                    cc.hard += rota_group_phase_mismatch(cx, m, i + 1);
                if (cx->soft_on)
                    cc.soft = rota_group_soft(cx, m, i + 1);
                int cmp = pick < 0 ? -1 : rota_cost_cmp(cc, best);
                if (cmp > 0)
                    continue;
                int fresh = 0;
                for (int y = 0; n <= 150 && y < n; y++)
                    if (y != c && !used[y] && !cx->excl[c * n + y] &&
                        cx->hist[c * n + y] == ROTA_NO_MEET && !st->mask[c * n + y])
                        fresh++;
                if (cmp < 0 || fresh < pick_fresh) {
                    pick = c;
                    best = cc;
                    pick_fresh = fresh;
                }
            }
            m[i] = pick;
            used[pick] = 1;
        }
        for (int i = 0; i < size; i++)
            for (int j = i + 1; j < size; j++)
                set_pair_bit(cx, st, m[i], m[j], bit, true);
    }
    free(used);
}

/* Swaps within a term while they lower the hard level (excluded pairs, required phase),
 * then the repeats: the greedy construction can corner itself in its last groups. */
static void greedy_unstick(const struct rota_ctx *cx, struct rota_state *st)
{
    int n = cx->n;
    for (int round = 0; round < 4 * n && st->c.hard > 0; round++) {
        struct rota_move best, mv;
        bool have = false;
        for (int k = 0; k < cx->t; k++)
            for (int pa = 0; pa < n; pa++) {
                if (st->ghard[(size_t)k * cx->lay.ng + cx->lay.group_of[pa]] == 0)
                    continue;
                for (int pb = 0; pb < n; pb++) {
                    if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
                        continue;
                    rota_eval_swap(cx, st, k, pa, pb, NULL, &mv);
                    if (!have || guided_cmp(&mv, &best) < 0) {
                        best = mv;
                        have = true;
                    }
                }
            }
        if (!have || best.d.hard >= 0)
            break;
        rota_apply_swap(cx, st, &best);
    }
}

void rota_greedy_plan(const struct rota_ctx *cx, struct rota_state *st)
{
    memset(st->mask, 0, sizeof *st->mask * (size_t)cx->n * cx->n);
    for (int k = 0; k < cx->t; k++)
        greedy_term(cx, st, k);
    rota_state_rebuild(cx, st);
    greedy_unstick(cx, st);
}
