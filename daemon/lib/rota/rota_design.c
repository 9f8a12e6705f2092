/* The design engine (layer 1 of the planner): runs of terms in which no pair of points meets
 * twice, from direct constructions (affine plane, tripled and 1-rotational Kirkman systems),
 * stored base classes (rota_designs.inc) and a local search over base classes developed
 * under a cyclic group (difference methods). Points 0..n-1; the planner maps them on schools. */
#include "rota_design.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "util.h"

static int gcd_int(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}
/* ------------------------------------------------------------------------------------ */
/* Group sizes, targets and bounds. */

int rota_group_sizes(int n, int *sizes)
{
    if (n < 3)
        return 0;
    if (n <= 5) {
        sizes[0] = n;
        return 1;
    }
    int fours = n % 3 == 0 ? 0 : n % 3 == 1 ? 1 : 2;
    int threes = (n - 4 * fours) / 3, g = 0;
    for (int i = 0; i < threes; i++)
        sizes[g++] = 3;
    for (int i = 0; i < fours; i++)
        sizes[g++] = 4;
    return g;
}

/* ------------------------------------------------------------------------------------ */
/* Layout. */

void rota_layout_init(struct rota_layout *l, int n)
{
    l->n = n;
    l->size = xcalloc((size_t)n / 3 + 2, sizeof *l->size);
    l->start = xcalloc((size_t)n / 3 + 2, sizeof *l->start);
    l->group_of = xcalloc((size_t)n + 1, sizeof *l->group_of);
    l->ng = rota_group_sizes(n, l->size);
    for (int g = 0, p = 0; g < l->ng; g++) {
        l->start[g] = p;
        for (int i = 0; i < l->size[g]; i++)
            l->group_of[p++] = g;
    }
}

void rota_layout_free(struct rota_layout *l)
{
    free(l->size);
    free(l->start);
    free(l->group_of);
}

/* Repeated pairs in a list of classes (points 0..n-1, layout order). */
static int classes_repeats(const struct rota_layout *lay, const int *classes, int terms)
{
    int n = lay->n, rep = 0;
    uint8_t *met = xcalloc((size_t)n * n, 1);
    for (int t = 0; t < terms; t++) {
        const int *c = classes + (size_t)t * n;
        for (int g = 0; g < lay->ng; g++)
            for (int i = 0; i < lay->size[g]; i++)
                for (int j = i + 1; j < lay->size[g]; j++) {
                    int a = c[lay->start[g] + i], b = c[lay->start[g] + j];
                    if (met[a * n + b]++)
                        rep++;
                    met[b * n + a]++;
                }
    }
    free(met);
    return rep;
}

/* Every class a permutation of 0..n-1? */
static bool classes_valid(int n, const int *classes, int terms)
{
    uint8_t *seen = xmalloc((size_t)n);
    bool ok = true;
    for (int t = 0; ok && t < terms; t++) {
        memset(seen, 0, (size_t)n);
        for (int i = 0; i < n; i++) {
            int p = classes[(size_t)t * n + i];
            if (p < 0 || p >= n || seen[p]) {
                ok = false;
                break;
            }
            seen[p] = 1;
        }
    }
    free(seen);
    return ok;
}
/* ------------------------------------------------------------------------------------ */
/* Design engine, part 1: base classes developed under a cyclic group.
 *
 * Points are split into orbits of a cyclic group Z_order (sizes dividing order; size 1 =
 * a fixed point). k base classes are partitions of the points in the term layout; the
 * design is every image of every base class, k * order classes. Two pairs of the design
 * coincide only if they lie in the same pair orbit, so a base class pair "uses" its orbit
 * (its type): the design is repeat-free iff no type is used more than its capacity, 1 for
 * an orbit the group acts on freely and 0 for one it does not (e.g. {x, x + order/2}).
 * The search moves points between groups of a base class with a min-conflicts rule,
 * breakout weights on overfull types and restarts; with one base class and orbits of
 * full size this is the classical difference-family search and it is fast. order 1 and
 * k = terms is the unstructured problem, the fallback. */

struct ols {
    const struct rota_layout *lay;
    int n, k, order;
    int *img;  /* order x n: image of each point under each group element */
    int *type; /* n x n */
    int ntypes;
    uint8_t *cap;
    int *cnt;
    uint32_t *wt;
    int *cls;    /* k x n: the point at each position of each base class */
    int *best;   /* k x n */
    int *orbit;  /* n: orbit of each point */
    int *conf_b; /* scratch: conflicted (base, position) */
    int *conf_p;
    int cost;
};

static void ols_init(struct ols *o, const struct rota_layout *lay, int order, int k, const int *orb,
                     int norb)
{
    int n = lay->n;
    memset(o, 0, sizeof *o);
    o->lay = lay;
    o->n = n;
    o->k = k;
    o->order = order;
    o->img = xmalloc(sizeof *o->img * (size_t)order * n);
    o->orbit = xmalloc(sizeof *o->orbit * (size_t)n);
    int p = 0;
    for (int r = 0; r < norb; r++) {
        for (int x = 0; x < orb[r]; x++, p++) {
            o->orbit[p] = r;
            for (int g = 0; g < order; g++)
                o->img[(size_t)g * n + p] = p - x + (x + g) % orb[r];
        }
    }
    /* Pair orbits: walk each unvisited pair's images; a non-identity element that maps
     * the pair to itself means the orbit is covered more than once: capacity 0. */
    o->type = xmalloc(sizeof *o->type * (size_t)n * n);
    for (int i = 0; i < n * n; i++)
        o->type[i] = -1;
    o->cap = xmalloc((size_t)n * n / 2 + 1);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            if (o->type[a * n + b] >= 0)
                continue;
            int t = o->ntypes++;
            bool fixed = false;
            for (int g = 0; g < order; g++) {
                int x = o->img[(size_t)g * n + a], y = o->img[(size_t)g * n + b];
                if (x > y) {
                    int z = x;
                    x = y;
                    y = z;
                }
                if (g > 0 && x == a && y == b)
                    fixed = true;
                o->type[x * n + y] = o->type[y * n + x] = t;
            }
            o->cap[t] = fixed ? 0 : 1;
        }
    o->cnt = xcalloc((size_t)o->ntypes, sizeof *o->cnt);
    o->wt = xcalloc((size_t)o->ntypes, sizeof *o->wt);
    o->cls = xmalloc(sizeof *o->cls * (size_t)k * n);
    o->best = xmalloc(sizeof *o->best * (size_t)k * n);
    o->conf_b = xmalloc(sizeof *o->conf_b * (size_t)k * n);
    o->conf_p = xmalloc(sizeof *o->conf_p * (size_t)k * n);
}

static void ols_free(struct ols *o)
{
    free(o->img);
    free(o->type);
    free(o->cap);
    free(o->cnt);
    free(o->wt);
    free(o->cls);
    free(o->best);
    free(o->orbit);
    free(o->conf_b);
    free(o->conf_p);
}

static int ols_full_cost(struct ols *o)
{
    const struct rota_layout *l = o->lay;
    memset(o->cnt, 0, sizeof *o->cnt * (size_t)o->ntypes);
    for (int b = 0; b < o->k; b++) {
        const int *c = o->cls + (size_t)b * o->n;
        for (int g = 0; g < l->ng; g++)
            for (int i = 0; i < l->size[g]; i++)
                for (int j = i + 1; j < l->size[g]; j++)
                    o->cnt[o->type[c[l->start[g] + i] * o->n + c[l->start[g] + j]]]++;
    }
    int cost = 0;
    for (int t = 0; t < o->ntypes; t++)
        if (o->cnt[t] > o->cap[t])
            cost += o->cnt[t] - o->cap[t];
    return o->cost = cost;
}

/* Swapping the points at positions pa and pb (different groups) of base class b: the change
 * in overflow, and in weighted overflow through wdelta. Applies it when apply is set. */
static int ols_swap(struct ols *o, int b, int pa, int pb, bool apply, int64_t *wdelta)
{
    const struct rota_layout *l = o->lay;
    int n = o->n, *c = o->cls + (size_t)b * n;
    int x = c[pa], y = c[pb], ga = l->group_of[pa], gb = l->group_of[pb];
    int ch[16], nch = 0;
    for (int i = 0; i < l->size[ga]; i++) {
        int r = c[l->start[ga] + i];
        if (r != x) {
            ch[nch++] = -1 - o->type[x * n + r];
            ch[nch++] = o->type[y * n + r];
        }
    }
    for (int i = 0; i < l->size[gb]; i++) {
        int r = c[l->start[gb] + i];
        if (r != y) {
            ch[nch++] = -1 - o->type[y * n + r];
            ch[nch++] = o->type[x * n + r];
        }
    }
    int d = 0;
    int64_t wd = 0;
    for (int i = 0; i < nch; i++)
        if (ch[i] < 0) {
            int t = -1 - ch[i];
            if (o->cnt[t] > o->cap[t]) {
                d--;
                wd -= o->wt[t];
            }
            o->cnt[t]--;
        }
    for (int i = 0; i < nch; i++)
        if (ch[i] >= 0) {
            int t = ch[i];
            if (o->cnt[t] >= o->cap[t]) {
                d++;
                wd += o->wt[t];
            }
            o->cnt[t]++;
        }
    if (apply) {
        c[pa] = y;
        c[pb] = x;
        o->cost += d;
    } else {
        for (int i = 0; i < nch; i++)
            o->cnt[ch[i] < 0 ? -1 - ch[i] : ch[i]] += ch[i] < 0 ? 1 : -1;
    }
    if (wdelta)
        *wdelta = wd;
    return d;
}

static void ols_randomise(struct ols *o, struct prng *r)
{
    for (int b = 0; b < o->k; b++) {
        int *c = o->cls + (size_t)b * o->n;
        for (int i = 0; i < o->n; i++)
            c[i] = i;
        rota_shuffle_ints(r, c, o->n);
    }
}

/* Min-conflicts with breakout weights; after `stall` moves without a new best the state is
 * perturbed (a dozen random swaps, weights reset), and every 16th time restarted. Returns
 * the best overflow found; o->best holds it. */
static int ols_search(struct ols *o, struct prng *r, uint64_t budget, uint64_t *work)
{
    const struct rota_layout *l = o->lay;
    int n = o->n, k = o->k;
    uint64_t used = 0;
    for (int t = 0; t < o->ntypes; t++)
        o->wt[t] = 1;
    ols_randomise(o, r);
    int best = ols_full_cost(o), run_best = best;
    memcpy(o->best, o->cls, sizeof *o->cls * (size_t)k * n);
    const long stall = 2000;
    long since = 0, perturbs = 0;
    while (best > 0 && used < budget) {
        if (++since > stall) {
            if (++perturbs % 16 == 0) {
                ols_randomise(o, r);
            } else {
                for (int z = 0; z < 12; z++) {
                    int b = prng_below(r, k), pa = prng_below(r, n), pb = prng_below(r, n);
                    if (l->group_of[pa] != l->group_of[pb]) {
                        int *c = o->cls + (size_t)b * n, t = c[pa];
                        c[pa] = c[pb];
                        c[pb] = t;
                    }
                }
            }
            for (int t = 0; t < o->ntypes; t++)
                o->wt[t] = 1;
            run_best = ols_full_cost(o);
            used += (uint64_t)k * n;
            since = 0;
        }
        int nc = 0;
        for (int b = 0; b < k; b++) {
            const int *c = o->cls + (size_t)b * n;
            for (int pa = 0; pa < n; pa++) {
                int g = l->group_of[pa], x = c[pa];
                for (int i = 0; i < l->size[g]; i++) {
                    int y = c[l->start[g] + i];
                    if (y != x && o->cnt[o->type[x * n + y]] > o->cap[o->type[x * n + y]]) {
                        o->conf_b[nc] = b;
                        o->conf_p[nc++] = pa;
                        break;
                    }
                }
            }
        }
        int64_t bw = INT64_MAX;
        int bb = -1, bpa = -1, bpb = -1, ties = 0;
        for (int ci = 0; ci < nc; ci++) {
            int b = o->conf_b[ci], pa = o->conf_p[ci];
            for (int pb = 0; pb < n; pb++) {
                if (l->group_of[pb] == l->group_of[pa])
                    continue;
                int64_t wd;
                ols_swap(o, b, pa, pb, false, &wd);
                if (wd < bw) {
                    bw = wd;
                    bb = b;
                    bpa = pa;
                    bpb = pb;
                    ties = 1;
                } else if (wd == bw && prng_below(r, ++ties) == 0) {
                    bb = b;
                    bpa = pa;
                    bpb = pb;
                }
            }
            used += (uint64_t)n;
        }
        if (bb < 0)
            break;
        if (bw >= 0) /* local minimum: make its overfull types heavier */
            for (int t = 0; t < o->ntypes; t++)
                if (o->cnt[t] > o->cap[t])
                    o->wt[t]++;
        ols_swap(o, bb, bpa, bpb, true, NULL);
        if (o->cost < run_best) {
            run_best = o->cost;
            since = 0;
        }
        if (o->cost < best) {
            best = o->cost;
            memcpy(o->best, o->cls, sizeof *o->cls * (size_t)k * n);
        }
    }
    *work += used;
    return best;
}

/* Writes the k * order developed classes of o->best. */
static void ols_develop(const struct ols *o, int *classes)
{
    int n = o->n, t = 0;
    for (int b = 0; b < o->k; b++)
        for (int g = 0; g < o->order; g++, t++)
            for (int i = 0; i < n; i++)
                classes[(size_t)t * n + i] = o->img[(size_t)g * n + o->best[(size_t)b * n + i]];
}

/* A structure to try: Z_order on orbits of the given sizes, k base classes. */
#define ROTA_MAX_ORBITS 12
struct structure {
    int order, k, norb, seq;
    int orb[ROTA_MAX_ORBITS];
};

static int structure_cmp(const void *pa, const void *pb)
{
    const struct structure *a = pa, *b = pb;
    if (a->k != b->k)
        return a->k - b->k;
    if (a->norb != b->norb)
        return a->norb - b->norb;
    return a->seq - b->seq;
}

struct structure_list {
    struct structure *items;
    size_t count, cap;
    int order, k, need; /* need: type capacity the structure must offer (k * pairs a term) */
    int divs[64], ndivs;
};

/* Type capacity of a list of orbit sizes under Z_order (see the comment above ols). */
static int structure_capacity(int order, const int *orb, int norb)
{
    int cap = 0;
    for (int i = 0; i < norb; i++) {
        if (orb[i] == order)
            cap += (order - 1) / 2;
        for (int j = i + 1; j < norb; j++) {
            int g = gcd_int(orb[i], orb[j]);
            if (orb[i] / g * orb[j] == order)
                cap += g;
        }
    }
    return cap;
}

static void structures_rec(struct structure_list *sl, int rem, int from, int *cur, int depth)
{
    if (sl->count >= 4096)
        return;
    if (rem == 0) {
        if (structure_capacity(sl->order, cur, depth) < sl->need)
            return;
        if (sl->count == sl->cap) {
            sl->cap = sl->cap ? 2 * sl->cap : 64;
            sl->items = xrealloc(sl->items, sl->cap * sizeof *sl->items);
        }
        struct structure *s = &sl->items[sl->count];
        s->order = sl->order;
        s->k = sl->k;
        s->norb = depth;
        s->seq = (int)sl->count++;
        memcpy(s->orb, cur, sizeof *cur * (size_t)depth);
        return;
    }
    if (depth == ROTA_MAX_ORBITS)
        return;
    for (int i = from; i < sl->ndivs; i++)
        if (sl->divs[i] <= rem) {
            cur[depth] = sl->divs[i];
            structures_rec(sl, rem - sl->divs[i], i, cur, depth + 1);
        }
}

/* Cyclic structures for `terms` classes on n points that pass the capacity count, best
 * first: fewest base classes, then fewest orbits. */
static size_t structures_for(int n, int terms, struct structure **out)
{
    struct structure_list sl = {0};
    int ppt = rota_pairs_per_term(n), cur[ROTA_MAX_ORBITS];
    for (int order = 2; order <= terms && order <= 64; order++) {
        if (terms % order)
            continue;
        sl.order = order;
        sl.k = terms / order;
        sl.need = sl.k * ppt;
        sl.ndivs = 0;
        for (int d = order; d >= 1; d--)
            if (order % d == 0)
                sl.divs[sl.ndivs++] = d;
        structures_rec(&sl, n, 0, cur, 0);
    }
    if (sl.count)
        qsort(sl.items, sl.count, sizeof *sl.items, structure_cmp);
    *out = sl.items;
    return sl.count;
}

/* ------------------------------------------------------------------------------------ */
/* Design engine, part 2: direct constructions. */

/* The affine plane AG(2,3): points (x, y) of Z_3^2 as 3x + y; its 12 lines fall into 4
 * parallel classes, one per direction. This is the Kirkman system of order 9. */
static void design_affine_plane(int *classes)
{
    static const int dir[4][2] = {{0, 1}, {1, 0}, {1, 1}, {1, 2}};
    for (int d = 0; d < 4; d++) {
        int *c = classes + d * 9, p = 0;
        bool used[9] = {false};
        for (int s = 0; s < 9; s++) {
            if (used[s])
                continue;
            for (int i = 0; i < 3; i++) {
                int x = (s / 3 + i * dir[d][0]) % 3, y = (s % 3 + i * dir[d][1]) % 3;
                used[3 * x + y] = true;
                c[p++] = 3 * x + y;
            }
        }
    }
}

/* Tripling: a Kirkman system of order 3v from one of order v. Points (x, i), x < v, i in Z_3,
 * numbered x + v i. The vertical triples {(x,0),(x,1),(x,2)} form one class; each class of
 * the order-v system and each a in Z_3 gives the class of triples {(x,i),(y,i+a),(z,i-a)}
 * over its triples {x,y,z} and i in Z_3. Pairs in different columns meet in the triple
 * whose third level is fixed by i + j + k = 0 (mod 3), once. */
static void design_triple(int v, const int *small, int *classes)
{
    int n = 3 * v, small_terms = (v - 1) / 2, t = 0, p = 0;
    for (int x = 0; x < v; x++)
        for (int i = 0; i < 3; i++)
            classes[p++] = x + v * i;
    t = 1;
    for (int c = 0; c < small_terms; c++)
        for (int a = 0; a < 3; a++, t++) {
            int *out = classes + (size_t)t * n;
            p = 0;
            for (int b = 0; b < v / 3; b++) {
                const int *tri = small + (size_t)c * v + 3 * b;
                for (int i = 0; i < 3; i++) {
                    out[p++] = tri[0] + v * i;
                    out[p++] = tri[1] + v * ((i + a) % 3);
                    out[p++] = tri[2] + v * ((i + 3 - a) % 3);
                }
            }
        }
}

/* A 1-rotational Kirkman system of order n = 2T + 1 over Z_{2T}: the base class is
 * {inf, 0, T} and t = (T - 1) / 3 triples B_i with their translates B_i + T; together they
 * must cover every residue mod T except 0 once, and the differences of the B_i must be
 * the T - 1 differences +-1..+-(T-1) once each. The class g is the base class plus g, for
 * g < T. A small min-conflicts search over residues and their side (x or x + T) finds the
 * B_i in milliseconds when T = 0 or 1 (mod 4); for other T a cyclic one may not exist. */
struct rot1 {
    int T, m, t;
    int el[64];
    int cnt[64];
    int wt[64];
};

static int rot1_diff(const struct rot1 *s, int a, int b)
{
    int d = ((b - a) % s->m + s->m) % s->m;
    return d > s->T ? s->m - d : d;
}

static int rot1_cost(struct rot1 *s, int64_t *wcost)
{
    memset(s->cnt, 0, sizeof s->cnt);
    for (int i = 0; i < s->t; i++)
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                s->cnt[rot1_diff(s, s->el[3 * i + a], s->el[3 * i + b])]++;
    int c = 0;
    int64_t w = 0;
    for (int d = 1; d < s->T; d++)
        if (s->cnt[d] > 1) {
            c += s->cnt[d] - 1;
            w += (int64_t)(s->cnt[d] - 1) * s->wt[d];
        }
    /* a difference of T would be a pair {x, x + T}: impossible by construction */
    if (wcost)
        *wcost = w;
    return c;
}

/* One difference d of the base triples taken away (sign < 0) or added (sign > 0), the
 * weighted cost w (rot1_cost's) kept up to date: a difference costs its weight for every
 * copy after the first. */
static inline void rot1_count(struct rot1 *s, int d, int sign, int64_t *w)
{
    if (sign < 0) {
        if (s->cnt[d] > 1)
            *w -= s->wt[d];
        s->cnt[d]--;
    } else {
        if (s->cnt[d] >= 1)
            *w += s->wt[d];
        s->cnt[d]++;
    }
}

/* The differences element i makes with the other two of its triple, taken away or added. */
static void rot1_element(struct rot1 *s, int i, int sign, int64_t *w)
{
    int q = i - i % 3;
    for (int a = q; a < q + 3; a++)
        if (a != i)
            rot1_count(s, rot1_diff(s, s->el[i], s->el[a]), sign, w);
}

/* Elements i and j (of other triples; j < 0: none) set to vi and vj, the counts and the
 * weighted cost w kept up to date. */
static void rot1_set(struct rot1 *s, int i, int vi, int j, int vj, int64_t *w)
{
    rot1_element(s, i, -1, w);
    if (j >= 0)
        rot1_element(s, j, -1, w);
    s->el[i] = vi;
    if (j >= 0)
        s->el[j] = vj;
    rot1_element(s, i, 1, w);
    if (j >= 0)
        rot1_element(s, j, 1, w);
}

/* The weighted cost with elements i and j set to vi and vj (rot1_set), from the counts of the
 * current elements (cnt and w as rot1_cost left them, and as they are left again): the same
 * figure rot1_cost gives for those elements, without a recount. */
static int64_t rot1_trial(struct rot1 *s, int64_t w, int i, int vi, int j, int vj)
{
    int oi = s->el[i], oj = j >= 0 ? s->el[j] : 0;
    rot1_set(s, i, vi, j, vj, &w);
    int64_t trial = w;
    rot1_set(s, i, oi, j, oj, &w);
    return trial;
}

static bool design_kirkman_1rot(int n, struct prng *r, uint64_t budget, uint64_t *work,
                                int *classes)
{
    struct rot1 s;
    s.T = (n - 1) / 2;
    s.m = 2 * s.T;
    s.t = (s.T - 1) / 3;
    if (n % 6 != 3 || 3 * s.t > 63)
        return false;
    int res[64];
    uint64_t used = 0;
    bool found = false;
    while (!found && used < budget) {
        for (int i = 0; i < s.T - 1; i++)
            res[i] = i + 1;
        rota_shuffle_ints(r, res, s.T - 1);
        for (int i = 0; i < 3 * s.t; i++)
            s.el[i] = res[i] + (prng_below(r, 2) ? s.T : 0);
        for (int d = 0; d < 64; d++)
            s.wt[d] = 1;
        int64_t cw;
        int cost = rot1_cost(&s, &cw), best = cost;
        long since = 0;
        while (cost > 0 && since < 20 && used < budget) {
            /* moves: move i to the other side, or exchange i and j (choosing sides) */
            int64_t bw = cw;
            int bi = -1, bj = -1, bo = 0, ties = 0;
            for (int i = 0; i < 3 * s.t; i++) {
                int64_t w = rot1_trial(&s, cw, i, (s.el[i] + s.T) % s.m, -1, 0);
                used++;
                if (w < bw || (w == bw && bi >= 0 && prng_below(r, ++ties) == 0)) {
                    if (w < bw)
                        ties = 1;
                    bw = w;
                    bi = i;
                    bj = -1;
                }
                for (int j = i + 1; j < 3 * s.t; j++) {
                    if (i / 3 == j / 3)
                        continue;
                    int a = s.el[i], b = s.el[j];
                    for (int o = 0; o < 4; o++) {
                        w = rot1_trial(&s, cw, i, (b + ((o & 1) ? s.T : 0)) % s.m, j,
                                       (a + ((o & 2) ? s.T : 0)) % s.m);
                        used++;
                        if (w < bw || (w == bw && bi >= 0 && prng_below(r, ++ties) == 0)) {
                            if (w < bw)
                                ties = 1;
                            bw = w;
                            bi = i;
                            bj = j;
                            bo = o;
                        }
                    }
                }
            }
            if (bi < 0) {
                /* no move lowers the cost: the differences still repeated (as the last move
                 * looked at, the last element on its other side, has them) weigh more */
                int last = 3 * s.t - 1, keep = s.el[last];
                s.el[last] = (keep + s.T) % s.m;
                rot1_cost(&s, NULL);
                s.el[last] = keep;
                for (int d = 1; d < s.T; d++)
                    if (s.cnt[d] > 1)
                        s.wt[d]++;
                rot1_cost(&s, &cw);
                since++;
                continue;
            }
            if (bj < 0) {
                s.el[bi] = (s.el[bi] + s.T) % s.m;
            } else {
                int a = s.el[bi], b = s.el[bj];
                s.el[bi] = (b + ((bo & 1) ? s.T : 0)) % s.m;
                s.el[bj] = (a + ((bo & 2) ? s.T : 0)) % s.m;
            }
            cost = rot1_cost(&s, &cw);
            if (cost < best) {
                best = cost;
                since = 0;
            } else {
                since++;
            }
        }
        found = cost == 0;
    }
    *work += used;
    if (!found)
        return false;
    for (int g = 0; g < s.T; g++) {
        int *c = classes + (size_t)g * n, p = 0;
        c[p++] = s.m; /* the fixed point */
        c[p++] = g;
        c[p++] = g + s.T;
        for (int i = 0; i < s.t; i++)
            for (int side = 0; side < 2; side++)
                for (int j = 0; j < 3; j++)
                    c[p++] = (s.el[3 * i + j] + g + side * s.T) % s.m;
    }
    return true;
}

/* Base classes found offline by the search below for the structures it finds slowest
 * (seconds rather than milliseconds), stored like the difference-family tables of the
 * design handbooks. They are developed and verified on use like any other result. */
struct stored_design {
    int n, order, k, norb;
    int orb[ROTA_MAX_ORBITS];
    const signed char *base; /* k x n points in layout order */
};

#include "rota_designs.inc"

/* ------------------------------------------------------------------------------------ */
/* Design engine, part 3: choosing a construction. */

struct design_try {
    int *classes; /* goal x n */
    int repeats;
    char method[96];
};

static void design_keep(struct design_try *best, const struct rota_layout *lay, const int *classes,
                        int goal, const char *method)
{
    if (!classes_valid(lay->n, classes, goal))
        return;
    int rep = classes_repeats(lay, classes, goal);
    if (best->repeats < 0 || rep < best->repeats) {
        best->repeats = rep;
        memcpy(best->classes, classes, sizeof *classes * (size_t)goal * lay->n);
        snprintf(best->method, sizeof best->method, "%s", method);
    }
}

static void describe_structure(const struct structure *s, int n, char *out, size_t len)
{
    if (s->order == 1) {
        snprintf(out, len, "local search over %d terms", s->k);
        return;
    }
    int used = snprintf(out, len, "cyclic Z_%d, %d base class%s, orbits ", s->order, s->k,
                        s->k == 1 ? "" : "es");
    for (int i = 0; i < s->norb && used > 0 && (size_t)used < len; i++)
        used += snprintf(out + used, len - (size_t)used, "%s%d", i ? "+" : "", s->orb[i]);
    (void)n;
}

static int design_goal(int n, int goal, struct prng *r, uint64_t budget, uint64_t *work,
                       bool use_stored, struct design_try *best);

static bool design_from_stored(const struct rota_layout *lay, int goal, struct design_try *best)
{
    for (size_t i = 0; i < ARRAY_LEN(stored_designs); i++) {
        const struct stored_design *sd = &stored_designs[i];
        if (sd->n != lay->n || sd->order * sd->k < goal)
            continue;
        struct ols o;
        int *ones = xmalloc(sizeof *ones * (size_t)lay->n);
        for (int j = 0; j < lay->n; j++)
            ones[j] = 1;
        if (sd->order == 1)
            ols_init(&o, lay, 1, sd->k, ones, lay->n);
        else
            ols_init(&o, lay, sd->order, sd->k, sd->orb, sd->norb);
        free(ones);
        for (int j = 0; j < sd->k * sd->n; j++)
            o.best[j] = sd->base[j];
        int *all = xmalloc(sizeof *all * (size_t)sd->order * sd->k * lay->n);
        ols_develop(&o, all);
        struct structure st = {.order = sd->order, .k = sd->k, .norb = sd->norb};
        memcpy(st.orb, sd->orb, sizeof st.orb);
        char m[96], d[80];
        if (sd->order == 1) { /* listed whole: found by a local search or a SAT solver */
            snprintf(m, sizeof m, "stored, %d classes listed whole", sd->k);
        } else {
            describe_structure(&st, lay->n, d, sizeof d);
            snprintf(m, sizeof m, "stored %s", d);
        }
        design_keep(best, lay, all, goal, m);
        free(all);
        ols_free(&o);
        return best->repeats == 0;
    }
    return false;
}

static bool design_by_structures(const struct rota_layout *lay, int goal, struct prng *r,
                                 uint64_t budget, uint64_t *work, struct design_try *best)
{
    int n = lay->n;
    struct structure *list = NULL;
    size_t count = n <= 64 ? structures_for(n, goal, &list) : 0;
    /* Candidates: the best few structures and the unstructured search, which is the
     * quickest for small orders and the only option when no structure fits. */
    struct structure cands[8];
    size_t nc = 0, nk1 = 0;
    for (size_t i = 0; i < count && nc < 6; i++) {
        cands[nc++] = list[i];
        if (list[i].k == 1)
            nk1 = nc;
    }
    free(list);
    struct structure generic = {.order = 1, .k = goal, .norb = 0};
    size_t gpos = n <= 32 ? nk1 : nc;
    memmove(&cands[gpos + 1], &cands[gpos], sizeof *cands * (nc - gpos));
    cands[gpos] = generic;
    nc++;
    uint64_t spent = 0, slice = 50000;
    int *all = xmalloc(sizeof *all * (size_t)goal * n);
    int *ones = xmalloc(sizeof *ones * (size_t)n);
    for (int i = 0; i < n; i++)
        ones[i] = 1;
    bool done = false;
    while (!done && spent < budget) {
        for (size_t c = 0; c < nc && !done && spent < budget; c++) {
            const struct structure *s = &cands[c];
            struct ols o;
            if (s->order == 1)
                ols_init(&o, lay, 1, goal, ones, n);
            else
                ols_init(&o, lay, s->order, s->k, s->orb, s->norb);
            uint64_t w = 0, allowed = slice < budget - spent ? slice : budget - spent;
            int cost = ols_search(&o, r, allowed, &w);
            spent += w;
            if (best->repeats < 0 || cost == 0 || cost < 3) {
                char m[96];
                describe_structure(s, n, m, sizeof m);
                ols_develop(&o, all);
                design_keep(best, lay, all, goal, m);
            }
            done = best->repeats == 0;
            ols_free(&o);
        }
        slice *= 2;
    }
    *work += spent;
    free(all);
    free(ones);
    return done;
}

static int design_goal(int n, int goal, struct prng *r, uint64_t budget, uint64_t *work,
                       bool use_stored, struct design_try *best)
{
    struct rota_layout lay;
    rota_layout_init(&lay, n);
    int kirkman = n % 6 == 3 ? (n - 1) / 2 : 0;
    int *tmp = xmalloc(sizeof *tmp * (size_t)(kirkman > goal ? kirkman : goal) * n);
    bool done = false;
    if (n == 9 && goal <= 4) {
        design_affine_plane(tmp);
        design_keep(best, &lay, tmp, goal, "affine plane AG(2,3)");
        done = best->repeats == 0;
    }
    if (!done && kirkman && goal <= kirkman && n >= 27 && (n / 3) % 6 == 3) {
        int v = n / 3;
        struct design_try small = {xmalloc(sizeof(int) * (size_t)v * v), -1, ""};
        if (design_goal(v, (v - 1) / 2, r, budget / 2, work, use_stored, &small) == 0) {
            design_triple(v, small.classes, tmp);
            char m[sizeof small.method + 48];
            snprintf(m, sizeof m, "tripled Kirkman system of order %d (%s)", v, small.method);
            design_keep(best, &lay, tmp, goal, m);
            done = best->repeats == 0;
        }
        free(small.classes);
    }
    if (!done && use_stored)
        done = design_from_stored(&lay, goal, best);
    if (!done && kirkman && goal <= kirkman && (kirkman % 4 == 0 || kirkman % 4 == 1)) {
        if (design_kirkman_1rot(n, r, budget / 4, work, tmp)) {
            char m[96];
            snprintf(m, sizeof m, "1-rotational Kirkman system over Z_%d", n - 1);
            design_keep(best, &lay, tmp, goal, m);
            done = best->repeats == 0;
        }
    }
    if (!done)
        design_by_structures(&lay, goal, r, budget, work, best);
    free(tmp);
    rota_layout_free(&lay);
    return best->repeats;
}

/* ------------------------------------------------------------------------------------ */
/* Three groups: n = 3m points in groups G_g = {x + m g : x < m}, g = 0, 1, 2, for m = 3 (mod 6),
 * so that a trust's phases can fill whole groups. First the (m - 1) / 2 intra-group classes:
 * one Kirkman system of order m laid on each group. Then the m transversal classes of the
 * resolvable transversal design RTD(3, m), class a = {(x,0), (x+a,1), (x+2a,2)} over x in Z_m:
 * a cross-group pair fixes a (and x; m is odd), so it meets once. (m - 1) / 2 + m = (n - 1) / 2,
 * the Kirkman run. The tripling construction has the same shape; this one keeps the group index
 * on the points, for laying a trust's phases on whole groups. The planner does not use it (it
 * gained nothing over the tripled systems; docs/rota.md, Limits, has what was tried for 36). */
bool rota_design_three_groups(int n, struct prng *r, uint64_t budget, uint64_t *work, int *classes,
                              int *intra, char *method, size_t mlen)
{
    int m = n / 3, k = (m - 1) / 2;
    if (n % 3 || m % 6 != 3 || m < 9 || n > 64)
        return false;
    struct design_try small = {xmalloc(sizeof(int) * (size_t)k * m), -1, ""};
    bool ok = design_goal(m, k, r, budget, work, true, &small) == 0;
    int t = 0;
    for (; ok && t < k; t++)
        for (int g = 0; g < 3; g++)
            for (int i = 0; i < m; i++)
                classes[(size_t)t * n + g * m + i] = small.classes[(size_t)t * m + i] + g * m;
    for (int a = 0; ok && a < m; a++, t++)
        for (int x = 0; x < m; x++)
            for (int g = 0; g < 3; g++)
                classes[(size_t)t * n + 3 * x + g] = (x + g * a) % m + g * m;
    if (ok) {
        struct rota_layout lay;
        rota_layout_init(&lay, n);
        ok = classes_valid(n, classes, t) && classes_repeats(&lay, classes, t) == 0;
        rota_layout_free(&lay);
    }
    if (ok) {
        *intra = k;
        snprintf(method, mlen, "three groups of %d (%s; RTD(3,%d))", m, small.method, m);
    }
    free(small.classes);
    return ok;
}

/* Fills `terms` classes: a repeat-free run as long as the engine finds (the whole target
 * run where one is known), cycled when more terms are asked for. Returns the length of the
 * run that was built (its repeats in *repeats). */
static int design_build(int n, int terms, struct prng *r, uint64_t budget, uint64_t *work,
                        bool use_stored, int *classes, int *repeats, char *method, size_t mlen)
{
    struct rota_layout lay;
    rota_layout_init(&lay, n);
    int full = rota_repeat_free_target(n);
    int goal = n <= 64 ? full : (terms < full ? terms : full);
    if (goal < 1)
        goal = 1;
    *repeats = 0;
    if (goal == 1 || n <= 5) {
        for (int t = 0; t < terms; t++)
            for (int i = 0; i < n; i++)
                classes[(size_t)t * n + i] = i;
        snprintf(method, mlen, "%s", n <= 5 ? "one group" : "one term");
        rota_layout_free(&lay);
        return 1;
    }
    struct design_try best = {xmalloc(sizeof(int) * (size_t)goal * n), -1, ""};
    design_goal(n, goal, r, terms < goal ? budget / 2 : budget, work, use_stored, &best);
    if (best.repeats != 0 && terms < goal) {
        /* The whole run was out of reach: settle for the terms asked for. */
        struct design_try part = {xmalloc(sizeof(int) * (size_t)terms * n), -1, ""};
        design_goal(n, terms, r, budget / 2, work, use_stored, &part);
        if (part.repeats >= 0 && part.repeats < best.repeats) {
            free(best.classes);
            best = part;
            goal = terms;
        } else {
            free(part.classes);
        }
    }
    for (int t = 0; t < terms; t++)
        memcpy(classes + (size_t)t * n, best.classes + (size_t)(t % goal) * n,
               sizeof *classes * (size_t)n);
    *repeats = best.repeats < 0 ? 0 : best.repeats;
    snprintf(method, mlen, "%s", best.method);
    free(best.classes);
    rota_layout_free(&lay);
    return goal;
}

int rota_design(int n, int terms, uint64_t seed, uint64_t work_budget, unsigned flags, int *classes,
                char *method, size_t method_len)
{
    if (n < 3 || terms < 1)
        return 0;
    struct prng r;
    prng_seed(&r, seed);
    uint64_t work = 0;
    int repeats = 0;
    char m[96] = "";
    uint64_t budget = work_budget ? work_budget : UINT64_C(4000000000);
    if (flags & ROTA_DESIGN_THREE_GROUPS) {
        int goal = rota_repeat_free_target(n), intra = 0;
        int *run = xmalloc(sizeof *run * (size_t)goal * n);
        bool ok = rota_design_three_groups(n, &r, budget, &work, run, &intra, m, sizeof m);
        for (int t = 0; ok && t < terms; t++)
            memcpy(classes + (size_t)t * n, run + (size_t)(t % goal) * n, sizeof *run * (size_t)n);
        free(run);
        if (!ok)
            return -1;
    } else {
        rota_design_build(n, terms, &r, budget, &work, !(flags & ROTA_DESIGN_SEARCH_ONLY), classes,
                          &repeats, m, sizeof m);
    }
    if (method && method_len)
        snprintf(method, method_len, "%s", m);
    struct rota_layout lay;
    rota_layout_init(&lay, n);
    int rep = classes_repeats(&lay, classes, terms);
    rota_layout_free(&lay);
    return rep;
}

/* A memo of the designs built lately. A design is a function of its arguments and of the
 * generator's state when it is asked for (every plan of one input and seed asks with the same
 * state: recognition's re-plans of each start, matd drafting term after term), so a design
 * found once is replayed exactly: the same classes, method and work, and the generator left in
 * the same state. Shared by every thread (under a lock); at most DESIGN_MEMO entries, the
 * oldest replaced. */
#define DESIGN_MEMO 8
#define DESIGN_MEMO_METHOD 160

struct design_memo {
    int n, terms, len, repeats;
    uint64_t budget, work;
    bool use_stored;
    struct prng before, after;
    int *classes; /* terms x n; NULL: the entry is empty */
    char method[DESIGN_MEMO_METHOD];
};

static struct design_memo design_memo[DESIGN_MEMO];
static int design_memo_next;
static pthread_mutex_t design_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static bool design_memo_is(const struct design_memo *m, int n, int terms, const struct prng *r,
                           uint64_t budget, bool use_stored)
{
    return m->classes && m->n == n && m->terms == terms && m->budget == budget &&
           m->use_stored == use_stored && memcmp(&m->before, r, sizeof *r) == 0;
}

int rota_design_build(int n, int terms, struct prng *r, uint64_t budget, uint64_t *work,
                      bool use_stored, int *classes, int *repeats, char *method, size_t mlen)
{
    size_t size = sizeof *classes * (size_t)terms * n;
    bool found = false;
    int len = 0;
    pthread_mutex_lock(&design_memo_lock);
    for (int i = 0; i < DESIGN_MEMO && !found; i++) {
        const struct design_memo *m = &design_memo[i];
        if (design_memo_is(m, n, terms, r, budget, use_stored)) {
            memcpy(classes, m->classes, size);
            *repeats = m->repeats;
            *work += m->work;
            *r = m->after;
            snprintf(method, mlen, "%s", m->method);
            len = m->len;
            found = true;
        }
    }
    pthread_mutex_unlock(&design_memo_lock);
    if (found)
        return len;
    struct design_memo fresh = {
        .n = n, .terms = terms, .budget = budget, .use_stored = use_stored, .before = *r};
    uint64_t spent = 0;
    fresh.len = design_build(n, terms, r, budget, &spent, use_stored, classes, &fresh.repeats,
                             fresh.method, sizeof fresh.method);
    fresh.work = spent;
    fresh.after = *r;
    *work += spent;
    *repeats = fresh.repeats;
    snprintf(method, mlen, "%s", fresh.method);
    fresh.classes = xmalloc(size);
    memcpy(fresh.classes, classes, size);
    pthread_mutex_lock(&design_memo_lock);
    bool known = false; /* another thread may have built it meanwhile */
    for (int i = 0; i < DESIGN_MEMO && !known; i++)
        known = design_memo_is(&design_memo[i], n, terms, &fresh.before, budget, use_stored);
    if (!known) {
        struct design_memo *slot = &design_memo[design_memo_next];
        design_memo_next = (design_memo_next + 1) % DESIGN_MEMO;
        free(slot->classes);
        *slot = fresh;
        fresh.classes = NULL;
    }
    pthread_mutex_unlock(&design_memo_lock);
    free(fresh.classes);
    return fresh.len;
}

void rota_design_forget(void)
{
    pthread_mutex_lock(&design_memo_lock);
    for (int i = 0; i < DESIGN_MEMO; i++) {
        free(design_memo[i].classes);
        design_memo[i].classes = NULL;
    }
    design_memo_next = 0;
    pthread_mutex_unlock(&design_memo_lock);
}
