/* The triad rota planner (SPEC §7). Three layers:
 *  1. the design engine builds runs of terms in which no pair meets twice, from direct
 *     constructions (affine plane, tripled and 1-rotational Kirkman systems) and a local
 *     search over base classes developed under a cyclic group (difference methods);
 *  2. the planner maps such a design onto the schools and improves it with local search
 *     under the lexicographic objective (hard constraints, groups kept on a re-plan,
 *     repeats with decay, then soft constraints), against history and constraints;
 *  3. hosting is chosen by the fairness cycle, and metrics are recomputed from scratch.
 * Everything is deterministic for the input seed: budgets count work, not wall time. */
#include "rota.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "prng.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Random numbers: the one PRNG (prng.h), xoshiro256**; never rand(). */

#define rng prng
#define rng_seed prng_seed
#define rng_next prng_next
#define rng_below prng_below
#define rng_unit prng_unit

static void shuffle_ints(struct rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rng_below(r, i + 1);
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

static void term_label(struct rota_term_id id, char *out, size_t len)
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

double rota_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    return geo_haversine_km(lat1, lon1, lat2, lon2);
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void sort_ints(int *a, int n)
{
    qsort(a, (size_t)n, sizeof *a, int_cmp);
}

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

/* SPEC §7's table for the orders that need groups of four. */
static const signed char four_targets[61] = {
    [7] = 1,   [8] = 1,   [10] = 1,  [11] = 1,  [13] = 4,  [14] = 4,  [16] = 6,  [17] = 5,
    [19] = 7,  [20] = 7,  [22] = 9,  [23] = 9,  [25] = 11, [26] = 10, [28] = 12, [29] = 11,
    [31] = 14, [32] = 13, [34] = 15, [35] = 15, [37] = 17, [38] = 16, [40] = 18, [41] = 18,
    [43] = 19, [44] = 19, [46] = 21, [47] = 21, [49] = 23, [50] = 22, [52] = 24, [53] = 23,
    [55] = 26, [56] = 25, [58] = 27, [59] = 27};

static int pairs_per_term(int n)
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
    int by_pairs = n * (n - 1) / 2 / pairs_per_term(n);
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

/* ------------------------------------------------------------------------------------ */
/* Layout: the groups of a term occupy consecutive positions 0..n-1. */

struct layout {
    int n, ng;
    int *size, *start, *group_of;
};

static void layout_init(struct layout *l, int n)
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

static void layout_free(struct layout *l)
{
    free(l->size);
    free(l->start);
    free(l->group_of);
}

/* Repeated pairs in a list of classes (points 0..n-1, layout order). */
static int classes_repeats(const struct layout *lay, const int *classes, int terms)
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
    const struct layout *lay;
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

static void ols_init(struct ols *o, const struct layout *lay, int order, int k, const int *orb,
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
    const struct layout *l = o->lay;
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
    const struct layout *l = o->lay;
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

static void ols_randomise(struct ols *o, struct rng *r)
{
    for (int b = 0; b < o->k; b++) {
        int *c = o->cls + (size_t)b * o->n;
        for (int i = 0; i < o->n; i++)
            c[i] = i;
        shuffle_ints(r, c, o->n);
    }
}

/* Min-conflicts with breakout weights; after `stall` moves without a new best the state is
 * perturbed (a dozen random swaps, weights reset), and every 16th time restarted. Returns
 * the best overflow found; o->best holds it. */
static int ols_search(struct ols *o, struct rng *r, uint64_t budget, uint64_t *work)
{
    const struct layout *l = o->lay;
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
                    int b = rng_below(r, k), pa = rng_below(r, n), pb = rng_below(r, n);
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
                } else if (wd == bw && rng_below(r, ++ties) == 0) {
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
    int ppt = pairs_per_term(n), cur[ROTA_MAX_ORBITS];
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

static bool design_kirkman_1rot(int n, struct rng *r, uint64_t budget, uint64_t *work, int *classes)
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
        shuffle_ints(r, res, s.T - 1);
        for (int i = 0; i < 3 * s.t; i++)
            s.el[i] = res[i] + (rng_below(r, 2) ? s.T : 0);
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
                int keep = s.el[i];
                s.el[i] = (keep + s.T) % s.m;
                int64_t w;
                rot1_cost(&s, &w);
                used++;
                if (w < bw || (w == bw && bi >= 0 && rng_below(r, ++ties) == 0)) {
                    if (w < bw)
                        ties = 1;
                    bw = w;
                    bi = i;
                    bj = -1;
                }
                s.el[i] = keep;
                for (int j = i + 1; j < 3 * s.t; j++) {
                    if (i / 3 == j / 3)
                        continue;
                    int a = s.el[i], b = s.el[j];
                    for (int o = 0; o < 4; o++) {
                        s.el[i] = (b + ((o & 1) ? s.T : 0)) % s.m;
                        s.el[j] = (a + ((o & 2) ? s.T : 0)) % s.m;
                        rot1_cost(&s, &w);
                        used++;
                        if (w < bw || (w == bw && bi >= 0 && rng_below(r, ++ties) == 0)) {
                            if (w < bw)
                                ties = 1;
                            bw = w;
                            bi = i;
                            bj = j;
                            bo = o;
                        }
                    }
                    s.el[i] = a;
                    s.el[j] = b;
                }
            }
            if (bi < 0) {
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

/* BEGIN STORED DESIGNS */
static const signed char stored_20[] = {
    3,  7,  18, 15, 17, 5,  4,  6,  10, 16, 11, 14, 12, 8,  0,  1,  2,  13, 9,  19, 9,  10, 15, 13,
    14, 12, 0,  18, 19, 16, 5,  7,  6,  2,  11, 1,  4,  3,  8,  17, 11, 8,  19, 2,  7,  4,  12, 9,
    3,  15, 1,  18, 5,  0,  6,  14, 16, 13, 17, 10, 11, 12, 4,  17, 19, 1,  8,  2,  5,  14, 3,  10,
    0,  15, 7,  13, 6,  9,  16, 18, 18, 10, 11, 6,  19, 3,  14, 8,  7,  9,  17, 0,  12, 15, 2,  16,
    1,  4,  13, 5,  16, 4,  0,  15, 8,  6,  7,  1,  9,  13, 3,  11, 5,  12, 10, 19, 14, 18, 17, 2,
    13, 18, 8,  11, 9,  5,  1,  16, 3,  0,  10, 2,  4,  14, 15, 19, 6,  12, 7,  17};
static const signed char stored_29[] = {
    23, 16, 5,  9,  0,  15, 22, 10, 13, 19, 3,  7,  12, 25, 27, 17, 1,  14, 6,  21, 18, 8,  26,
    28, 2,  4,  20, 11, 24, 8,  17, 22, 24, 16, 27, 7,  12, 11, 6,  20, 5,  13, 1,  28, 4,  2,
    14, 0,  26, 21, 18, 19, 15, 23, 25, 3,  9,  10, 25, 23, 28, 12, 9,  2,  7,  18, 8,  19, 4,
    1,  22, 24, 5,  17, 21, 11, 6,  10, 27, 14, 0,  20, 3,  16, 15, 13, 26, 22, 0,  23, 10, 24,
    17, 11, 13, 5,  4,  25, 15, 7,  27, 2,  21, 28, 19, 8,  6,  14, 3,  12, 26, 1,  20, 9,  18,
    16, 16, 1,  2,  8,  11, 9,  5,  0,  17, 28, 4,  3,  15, 6,  22, 24, 26, 25, 10, 12, 18, 23,
    21, 7,  20, 14, 27, 19, 13, 16, 6,  11, 3,  15, 27, 28, 7,  14, 22, 9,  26, 1,  24, 18, 17,
    20, 25, 5,  4,  21, 13, 12, 8,  23, 19, 0,  10, 2,  7,  24, 13, 0,  27, 8,  9,  19, 6,  21,
    1,  10, 20, 22, 12, 14, 25, 16, 28, 15, 11, 17, 23, 4,  26, 18, 5,  3,  2,  13, 20, 2,  9,
    4,  27, 6,  7,  26, 28, 18, 17, 24, 8,  19, 14, 10, 23, 15, 5,  12, 22, 3,  16, 21, 25, 0,
    11, 1,  2,  21, 15, 5,  1,  27, 18, 22, 14, 26, 20, 19, 3,  23, 11, 13, 25, 6,  9,  17, 7,
    28, 0,  24, 12, 16, 10, 8,  4,  20, 27, 28, 24, 6,  3,  26, 14, 5,  10, 15, 7,  1,  9,  23,
    21, 8,  25, 11, 22, 2,  17, 16, 12, 19, 4,  13, 18, 0,  10, 28, 5,  23, 2,  24, 0,  16, 7,
    22, 19, 25, 4,  6,  12, 13, 17, 3,  21, 9,  14, 8,  1,  20, 15, 18, 27, 11, 26};
static const signed char stored_31[] = {
    9,  5,  30, 29, 21, 1,  22, 28, 8,  18, 13, 25, 27, 16, 26, 11, 15, 24, 17, 10, 20,
    4,  23, 2,  6,  12, 7,  14, 3,  19, 0,  29, 10, 19, 2,  27, 24, 6,  5,  22, 4,  7,
    11, 1,  28, 18, 30, 17, 25, 0,  9,  15, 3,  16, 8,  26, 20, 14, 13, 21, 12, 23};
static const signed char stored_41[] = {
    9,  5,  30, 2,  12, 35, 10, 39, 29, 15, 0,  21, 13, 33, 11, 36, 7,  27, 23, 37, 1,
    22, 34, 25, 38, 8,  16, 28, 40, 18, 31, 24, 26, 4,  3,  6,  20, 32, 14, 19, 17, 17,
    5,  40, 26, 39, 2,  20, 21, 1,  29, 27, 6,  9,  0,  14, 22, 28, 12, 37, 30, 13, 3,
    10, 8,  11, 18, 36, 38, 23, 34, 25, 7,  33, 35, 31, 4,  32, 24, 15, 19, 16};
static const signed char stored_55[] = {
    0,  40, 30, 54, 28, 44, 6,  41, 45, 15, 17, 48, 12, 1,  42, 37, 20, 23, 31, 7,  35, 19,
    26, 13, 25, 16, 10, 46, 27, 21, 49, 43, 22, 3,  47, 9,  51, 14, 2,  39, 34, 5,  24, 8,
    53, 4,  52, 29, 11, 32, 38, 18, 50, 33, 36, 47, 39, 32, 2,  33, 1,  25, 48, 51, 20, 21,
    0,  37, 13, 29, 35, 46, 44, 49, 19, 14, 45, 16, 52, 23, 5,  31, 27, 26, 17, 28, 40, 41,
    22, 9,  12, 38, 3,  36, 50, 4,  8,  53, 34, 42, 10, 24, 54, 7,  18, 30, 11, 6,  15, 43};
static const struct stored_design stored_designs[] = {
    {20, 1, 7, 0, {0}, stored_20},
    {29, 1, 11, 0, {0}, stored_29},
    {31, 7, 2, 7, {7, 7, 7, 7, 1, 1, 1}, stored_31},
    {41, 9, 2, 9, {9, 9, 9, 9, 1, 1, 1, 1, 1}, stored_41},
    {55, 13, 2, 7, {13, 13, 13, 13, 1, 1, 1}, stored_55},
};
/* END STORED DESIGNS */

/* ------------------------------------------------------------------------------------ */
/* Design engine, part 3: choosing a construction. */

struct design_try {
    int *classes; /* goal x n */
    int repeats;
    char method[96];
};

static void design_keep(struct design_try *best, const struct layout *lay, const int *classes,
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

static int design_goal(int n, int goal, struct rng *r, uint64_t budget, uint64_t *work,
                       bool use_stored, struct design_try *best);

static bool design_from_stored(const struct layout *lay, int goal, struct design_try *best)
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
        describe_structure(&st, lay->n, d, sizeof d);
        snprintf(m, sizeof m, "stored %s", d);
        design_keep(best, lay, all, goal, m);
        free(all);
        ols_free(&o);
        return best->repeats == 0;
    }
    return false;
}

static bool design_by_structures(const struct layout *lay, int goal, struct rng *r, uint64_t budget,
                                 uint64_t *work, struct design_try *best)
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

static int design_goal(int n, int goal, struct rng *r, uint64_t budget, uint64_t *work,
                       bool use_stored, struct design_try *best)
{
    struct layout lay;
    layout_init(&lay, n);
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
            char m[96];
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
    layout_free(&lay);
    return best->repeats;
}

/* Fills `terms` classes: a repeat-free run as long as the engine finds (the whole target
 * run where one is known), cycled when more terms are asked for. Returns the length of the
 * run that was built (its repeats in *repeats). */
static int design_build(int n, int terms, struct rng *r, uint64_t budget, uint64_t *work,
                        bool use_stored, int *classes, int *repeats, char *method, size_t mlen)
{
    struct layout lay;
    layout_init(&lay, n);
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
        layout_free(&lay);
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
    layout_free(&lay);
    return goal;
}

int rota_design(int n, int terms, uint64_t seed, uint64_t work_budget, unsigned flags, int *classes,
                char *method, size_t method_len)
{
    if (n < 3 || terms < 1)
        return 0;
    struct rng r;
    rng_seed(&r, seed);
    uint64_t work = 0;
    int repeats = 0;
    char m[96] = "";
    design_build(n, terms, &r, work_budget ? work_budget : UINT64_C(4000000000), &work,
                 !(flags & ROTA_DESIGN_SEARCH_ONLY), classes, &repeats, m, sizeof m);
    if (method && method_len)
        snprintf(method, method_len, "%s", m);
    struct layout lay;
    layout_init(&lay, n);
    int rep = classes_repeats(&lay, classes, terms);
    layout_free(&lay);
    return rep;
}

/* ------------------------------------------------------------------------------------ */
/* The planner's problem: schools, the terms to plan, what history says about each pair. */

#define NO_MEET INT32_MIN
#define REP_ONE (INT64_C(1) << 20) /* fixed point for 2^(-(t-1)/decay): never rounds to 0 */
#define WORK_PER_MS 20000          /* rough calibration of the deterministic budget */

struct ctx {
    const struct rota_input *in;
    int n, t;
    struct layout lay;
    struct rota_term_id *ids; /* planned terms, chronological */
    int *tl;                  /* their timeline indices */
    int32_t *hist;            /* n x n: latest history meeting (timeline), or NO_MEET */
    int *hist_order;          /* history terms, chronological */
    uint8_t *excl;            /* n x n */
    float *km;                /* n x n, 0 where a location is unknown */
    int64_t *unit;            /* unit[d]: cost of a pair that met d terms ago */
    int maxd;
    bool phase_hard, phase_soft, balance, travel, soft_on, has_history;
    double phase_w, balance_w, travel_w;
    /* re-plan: the previous groups of each planned term (sorted indices, -1 = gone) */
    bool replan;
    int *prev_n;     /* t */
    int **prev;      /* t arrays of prev_n[k] x ROTA_GROUP_MAX */
    int **prev_size; /* t arrays of prev_n[k] */
    int **prev_host; /* t arrays of prev_n[k] */
    /* hosting: the schools still waiting in the cycle when the first planned term starts */
    bool host_proxy;
    uint8_t *wait0;
    int wait0_need; /* groups of the first term that should have a waiting school */
};

/* The objective, compared in this order (SPEC §7, plus groups kept on a re-plan): host is
 * the hosting fairness the groups of the first planned term allow, given the schools the
 * history leaves waiting (later terms are served by the host choice itself). */
struct cost {
    int64_t hard, keep, rep, host;
    double soft;
};

static int cost_cmp(struct cost a, struct cost b)
{
    if (a.hard != b.hard)
        return a.hard < b.hard ? -1 : 1;
    if (a.keep != b.keep)
        return a.keep < b.keep ? -1 : 1;
    if (a.rep != b.rep)
        return a.rep < b.rep ? -1 : 1;
    if (a.host != b.host)
        return a.host < b.host ? -1 : 1;
    if (a.soft < b.soft - 1e-9)
        return -1;
    if (a.soft > b.soft + 1e-9)
        return 1;
    return 0;
}

static int term_id_cmp(const void *pa, const void *pb)
{
    int a = rota_term_index(*(const struct rota_term_id *)pa);
    int b = rota_term_index(*(const struct rota_term_id *)pb);
    return (a > b) - (a < b);
}

static int64_t unit_cost(const struct ctx *cx, int d)
{
    return d >= 1 && d <= cx->maxd ? cx->unit[d] : 1;
}

/* Repeat cost of one pair: each meeting after an earlier one (in history or in the plan)
 * costs unit(terms since that earlier meeting). */
static int64_t pair_cost(const struct ctx *cx, uint64_t mask, int32_t h)
{
    int64_t c = 0;
    int32_t prev = h;
    while (mask) {
        int k = __builtin_ctzll(mask);
        mask &= mask - 1;
        if (prev != NO_MEET)
            c += unit_cost(cx, cx->tl[k] - prev);
        prev = cx->tl[k];
    }
    return c;
}

static void ctx_free(struct ctx *cx)
{
    layout_free(&cx->lay);
    free(cx->ids);
    free(cx->tl);
    free(cx->hist);
    free(cx->hist_order);
    free(cx->excl);
    free(cx->km);
    free(cx->unit);
    for (int k = 0; cx->prev && k < cx->t; k++) {
        free(cx->prev[k]);
        free(cx->prev_size[k]);
        free(cx->prev_host[k]);
    }
    free(cx->prev);
    free(cx->prev_size);
    free(cx->prev_host);
    free(cx->prev_n);
    free(cx->wait0);
}

static void ctx_init(struct ctx *cx, const struct rota_input *in)
{
    memset(cx, 0, sizeof *cx);
    int n = (int)in->n_schools, t = (int)in->n_terms;
    cx->in = in;
    cx->n = n;
    cx->t = t;
    layout_init(&cx->lay, n);
    cx->ids = xmalloc(sizeof *cx->ids * (size_t)t);
    memcpy(cx->ids, in->terms, sizeof *cx->ids * (size_t)t);
    qsort(cx->ids, (size_t)t, sizeof *cx->ids, term_id_cmp);
    cx->tl = xmalloc(sizeof *cx->tl * (size_t)t);
    for (int k = 0; k < t; k++)
        cx->tl[k] = rota_term_index(cx->ids[k]);
    cx->hist = xmalloc(sizeof *cx->hist * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        cx->hist[i] = NO_MEET;
    int first = cx->tl[0];
    cx->hist_order = xmalloc(sizeof *cx->hist_order * (in->n_history + 1));
    for (size_t h = 0; h < in->n_history; h++) {
        cx->hist_order[h] = (int)h;
        const struct rota_term *ht = &in->history[h];
        int when = rota_term_index(ht->id);
        if (when < first)
            first = when;
        for (size_t g = 0; g < ht->n_groups; g++) {
            const struct rota_group *gr = &ht->groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++) {
                    int a = gr->members[i], b = gr->members[j];
                    if (cx->hist[a * n + b] < when)
                        cx->hist[a * n + b] = cx->hist[b * n + a] = when;
                }
        }
    }
    for (size_t i = 1; i < in->n_history; i++) /* oldest first; histories are short */
        for (size_t j = i; j > 0 && rota_term_index(in->history[cx->hist_order[j - 1]].id) >
                                        rota_term_index(in->history[cx->hist_order[j]].id);
             j--) {
            int x = cx->hist_order[j];
            cx->hist_order[j] = cx->hist_order[j - 1];
            cx->hist_order[j - 1] = x;
        }
    cx->has_history = in->n_history > 0;
    cx->excl = xcalloc((size_t)n * n, 1);
    for (size_t e = 0; e < in->constraints.n_excluded; e++) {
        int a = in->constraints.excluded[e].a, b = in->constraints.excluded[e].b;
        cx->excl[a * n + b] = cx->excl[b * n + a] = 1;
    }
    cx->km = xcalloc((size_t)n * n, sizeof *cx->km);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            const struct rota_school *sa = &in->schools[a], *sb = &in->schools[b];
            if (sa->has_location && sb->has_location)
                cx->km[a * n + b] = cx->km[b * n + a] =
                    (float)rota_haversine_km(sa->lat, sa->lon, sb->lat, sb->lon);
        }
    cx->maxd = cx->tl[t - 1] - first + 1;
    cx->unit = xmalloc(sizeof *cx->unit * ((size_t)cx->maxd + 1));
    cx->unit[0] = REP_ONE;
    for (int d = 1; d <= cx->maxd; d++) {
        int64_t u = llround((double)REP_ONE * exp2(-(double)(d - 1) / in->constraints.decay));
        cx->unit[d] = u < 1 ? 1 : u;
    }
    const struct rota_constraints *c = &in->constraints;
    cx->phase_hard = c->phase == ROTA_PHASE_REQUIRE;
    cx->phase_soft = c->phase == ROTA_PHASE_PREFER && c->phase_weight > 0;
    cx->phase_w = c->phase_weight;
    cx->balance = c->balance && c->balance_weight > 0;
    cx->balance_w = c->balance_weight;
    cx->travel = c->travel_weight > 0;
    cx->travel_w = c->travel_weight;
    cx->soft_on = cx->phase_soft || cx->balance || cx->travel;
}

/* ------------------------------------------------------------------------------------ */
/* Group measures, shared by the search and (independently re-derived) by the metrics. */

static int group_phase_mismatch(const struct rota_input *in, const int *m, int size)
{
    int best = 0;
    for (int i = 0; i < size; i++) {
        int same = 0;
        for (int j = 0; j < size; j++)
            same += in->schools[m[j]].phase == in->schools[m[i]].phase;
        if (same > best)
            best = same;
    }
    return size - best;
}

static bool group_unbalanced(const struct rota_input *in, const int *m, int size)
{
    int strong = 0, category = 0;
    for (int i = 0; i < size; i++) {
        strong += in->schools[m[i]].strength >= 4;
        category += in->schools[m[i]].category;
    }
    return strong == 0 || category >= 2;
}

/* The longest trip to the best-placed host: the travel a group costs before hosts are set. */
static double group_radius(const struct ctx *cx, const int *m, int size)
{
    double best = INFINITY;
    for (int h = 0; h < size; h++) {
        double worst = 0;
        for (int i = 0; i < size; i++)
            if (cx->km[m[h] * cx->n + m[i]] > worst)
                worst = cx->km[m[h] * cx->n + m[i]];
        if (worst < best)
            best = worst;
    }
    return size ? best : 0;
}

static int group_hard(const struct ctx *cx, const int *m, int size)
{
    int h = 0;
    for (int i = 0; i < size; i++)
        for (int j = i + 1; j < size; j++)
            h += cx->excl[m[i] * cx->n + m[j]];
    if (cx->phase_hard)
        h += group_phase_mismatch(cx->in, m, size);
    return h;
}

static double group_soft(const struct ctx *cx, const int *m, int size)
{
    double s = 0;
    if (cx->phase_soft)
        s += cx->phase_w * group_phase_mismatch(cx->in, m, size);
    if (cx->balance && group_unbalanced(cx->in, m, size))
        s += cx->balance_w;
    if (cx->travel)
        s += cx->travel_w * group_radius(cx, m, size);
    return s;
}

/* Is this group (any order) one of term k's previous groups? Returns its index or -1. */
static int group_prev_index(const struct ctx *cx, int k, const int *m, int size)
{
    if (!cx->replan)
        return -1;
    int s[ROTA_GROUP_MAX];
    memcpy(s, m, sizeof *s * (size_t)size);
    sort_ints(s, size);
    for (int i = 0; i < cx->prev_n[k]; i++)
        if (cx->prev_size[k][i] == size &&
            memcmp(cx->prev[k] + (size_t)i * ROTA_GROUP_MAX, s, sizeof *s * (size_t)size) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* Search state: a plan as positions per term, pair masks of the terms each pair meets in,
 * and the cost kept up to date move by move. */

struct state {
    int *at, *pos;  /* t x n: school at a position; position of a school */
    uint64_t *mask; /* n x n: bit k = the pair is together in planned term k */
    int *ghard;     /* t x ng */
    double *gsoft;  /* t x ng */
    uint8_t *gkept; /* t x ng */
    uint8_t *gwait; /* ng: group of the first term has a waiting school */
    struct cost c;
};

static const int *state_group(const struct ctx *cx, const struct state *st, int k, int g)
{
    return st->at + (size_t)k * cx->n + cx->lay.start[g];
}

static void state_alloc(struct state *st, const struct ctx *cx)
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

static void state_free(struct state *st)
{
    free(st->at);
    free(st->pos);
    free(st->mask);
    free(st->ghard);
    free(st->gsoft);
    free(st->gkept);
    free(st->gwait);
}

static uint8_t group_waits(const struct ctx *cx, const int *m, int size)
{
    for (int i = 0; i < size; i++)
        if (cx->wait0[m[i]])
            return 1;
    return 0;
}

/* Recomputes everything from st->at. */
static void state_rebuild(const struct ctx *cx, struct state *st)
{
    int n = cx->n, ng = cx->lay.ng;
    memset(st->mask, 0, sizeof *st->mask * (size_t)n * n);
    memset(&st->c, 0, sizeof st->c);
    for (int k = 0; k < cx->t; k++) {
        for (int p = 0; p < n; p++)
            st->pos[(size_t)k * n + st->at[(size_t)k * n + p]] = p;
        for (int g = 0; g < ng; g++) {
            const int *m = state_group(cx, st, k, g);
            int size = cx->lay.size[g];
            for (int i = 0; i < size; i++)
                for (int j = i + 1; j < size; j++) {
                    st->mask[m[i] * n + m[j]] |= UINT64_C(1) << k;
                    st->mask[m[j] * n + m[i]] |= UINT64_C(1) << k;
                }
            size_t gi = (size_t)k * ng + g;
            st->ghard[gi] = group_hard(cx, m, size);
            st->gsoft[gi] = group_soft(cx, m, size);
            st->gkept[gi] = group_prev_index(cx, k, m, size) >= 0;
            st->c.hard += st->ghard[gi];
            st->c.soft += st->gsoft[gi];
            st->c.keep += cx->replan && !st->gkept[gi];
        }
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (st->mask[a * n + b])
                st->c.rep += pair_cost(cx, st->mask[a * n + b], cx->hist[a * n + b]);
    if (cx->host_proxy) {
        st->c.host = cx->wait0_need;
        for (int g = 0; g < ng; g++) {
            st->gwait[g] = group_waits(cx, state_group(cx, st, 0, g), cx->lay.size[g]);
            st->c.host -= st->gwait[g];
        }
        if (st->c.host < 0)
            st->c.host = 0;
    }
}

static void state_copy_at(const struct ctx *cx, struct state *dst, const int *at)
{
    memcpy(dst->at, at, sizeof *at * (size_t)cx->t * cx->n);
    state_rebuild(cx, dst);
}

/* The evaluation of a move: the cost change, the weighted repeat change that guides the
 * repair search, and the new per-group values to store if it is applied. */
struct move {
    int kind; /* 0 swap in a term, 1 relabel two schools everywhere, 2 exchange two terms */
    int k, pa, pb;
    int x, y;
    struct cost d;
    int64_t wrep;
    int hard[2];
    double soft[2];
    uint8_t kept[2];
    uint8_t wait[2];
};

static int64_t pair_delta(const struct ctx *cx, const struct state *st, int a, int b, uint64_t bit,
                          bool add, const uint32_t *w, int64_t *wd)
{
    size_t i = (size_t)a * cx->n + b;
    uint64_t m = st->mask[i], nm = add ? m | bit : m & ~bit;
    int64_t d = pair_cost(cx, nm, cx->hist[i]) - pair_cost(cx, m, cx->hist[i]);
    if (wd)
        *wd += w ? d * (int64_t)w[i] : d;
    return d;
}

static void eval_swap(const struct ctx *cx, const struct state *st, int k, int pa, int pb,
                      const uint32_t *w, struct move *mv)
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
    for (int i = 0; i < sa; i++) {
        int m = row[cx->lay.start[ga] + i];
        na[i] = m == x ? y : m;
        if (m != x) {
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
    mv->hard[0] = group_hard(cx, na, sa);
    mv->hard[1] = group_hard(cx, nb, sb);
    mv->d.hard = mv->hard[0] + mv->hard[1] - st->ghard[ia] - st->ghard[ib];
    if (cx->soft_on) {
        mv->soft[0] = group_soft(cx, na, sa);
        mv->soft[1] = group_soft(cx, nb, sb);
        mv->d.soft = mv->soft[0] + mv->soft[1] - st->gsoft[ia] - st->gsoft[ib];
    }
    if (cx->replan) {
        mv->kept[0] = group_prev_index(cx, k, na, sa) >= 0;
        mv->kept[1] = group_prev_index(cx, k, nb, sb) >= 0;
        mv->d.keep = (st->gkept[ia] + st->gkept[ib]) - (mv->kept[0] + mv->kept[1]);
    }
    if (cx->host_proxy && k == 0) {
        mv->wait[0] = group_waits(cx, na, sa);
        mv->wait[1] = group_waits(cx, nb, sb);
        mv->d.host = (st->gwait[ga] + st->gwait[gb]) - (mv->wait[0] + mv->wait[1]);
    }
}

static void set_pair_bit(const struct ctx *cx, struct state *st, int a, int b, uint64_t bit,
                         bool on)
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

static void apply_swap(const struct ctx *cx, struct state *st, const struct move *mv)
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

/* Relabelling: schools x and y exchange places in every term. A design stays a design, so
 * this is how a repeat-free run is fitted to history, exclusions and the soft constraints. */
static void eval_relabel(const struct ctx *cx, const struct state *st, int x, int y,
                         struct move *mv)
{
    int n = cx->n, ng = cx->lay.ng;
    memset(mv, 0, sizeof *mv);
    mv->kind = 1;
    mv->x = x;
    mv->y = y;
    for (int m = 0; m < n; m++) {
        if (m == x || m == y)
            continue;
        uint64_t mx = st->mask[x * n + m], my = st->mask[y * n + m];
        if (!mx && !my)
            continue;
        int32_t hx = cx->hist[x * n + m], hy = cx->hist[y * n + m];
        mv->d.rep += pair_cost(cx, my, hx) + pair_cost(cx, mx, hy) - pair_cost(cx, mx, hx) -
                     pair_cost(cx, my, hy);
    }
    mv->wrep = mv->d.rep;
    for (int k = 0; k < cx->t; k++) {
        int px = st->pos[(size_t)k * n + x], py = st->pos[(size_t)k * n + y];
        int gx = cx->lay.group_of[px], gy = cx->lay.group_of[py];
        if (gx == gy)
            continue;
        for (int side = 0; side < 2; side++) {
            int g = side ? gy : gx, size = cx->lay.size[g], nm[ROTA_GROUP_MAX];
            const int *m = state_group(cx, st, k, g);
            for (int i = 0; i < size; i++)
                nm[i] = m[i] == x ? y : m[i] == y ? x : m[i];
            size_t gi = (size_t)k * ng + g;
            mv->d.hard += group_hard(cx, nm, size) - st->ghard[gi];
            if (cx->soft_on)
                mv->d.soft += group_soft(cx, nm, size) - st->gsoft[gi];
            if (cx->replan)
                mv->d.keep += st->gkept[gi] - (group_prev_index(cx, k, nm, size) >= 0);
            if (cx->host_proxy && k == 0)
                mv->d.host += st->gwait[g] - group_waits(cx, nm, size);
        }
    }
}

static void apply_relabel(const struct ctx *cx, struct state *st, const struct move *mv)
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
            const int *m = state_group(cx, st, k, g);
            size_t gi = (size_t)k * cx->lay.ng + g;
            st->ghard[gi] = group_hard(cx, m, cx->lay.size[g]);
            if (cx->soft_on)
                st->gsoft[gi] = group_soft(cx, m, cx->lay.size[g]);
            if (cx->replan)
                st->gkept[gi] = group_prev_index(cx, k, m, cx->lay.size[g]) >= 0;
            if (cx->host_proxy && k == 0)
                st->gwait[g] = group_waits(cx, m, cx->lay.size[g]);
        }
    st->c.hard += mv->d.hard;
    st->c.keep += mv->d.keep;
    st->c.rep += mv->d.rep;
    st->c.host += mv->d.host;
    st->c.soft += mv->d.soft;
}

static uint64_t swap_bits(uint64_t m, int a, int b)
{
    uint64_t ba = (m >> a) & 1, bb = (m >> b) & 1;
    if (ba != bb)
        m ^= (UINT64_C(1) << a) | (UINT64_C(1) << b);
    return m;
}

/* Exchanging the groupings of terms k1 and k2 (matters for decay, history and re-plans). */
static void eval_exchange(const struct ctx *cx, const struct state *st, int k1, int k2,
                          uint32_t *stamp, uint32_t stamp_value, struct move *mv)
{
    int n = cx->n;
    memset(mv, 0, sizeof *mv);
    mv->kind = 2;
    mv->x = k1;
    mv->y = k2;
    for (int side = 0; side < 2; side++) {
        int k = side ? k2 : k1;
        for (int g = 0; g < cx->lay.ng; g++) {
            const int *m = state_group(cx, st, k, g);
            int size = cx->lay.size[g];
            for (int i = 0; i < size; i++)
                for (int j = i + 1; j < size; j++) {
                    size_t pi = (size_t)m[i] * n + m[j];
                    if (stamp[pi] == stamp_value)
                        continue;
                    stamp[pi] = stamp_value;
                    uint64_t old = st->mask[pi];
                    mv->d.rep += pair_cost(cx, swap_bits(old, k1, k2), cx->hist[pi]) -
                                 pair_cost(cx, old, cx->hist[pi]);
                }
            if (cx->replan) {
                int other = side ? k1 : k2;
                mv->d.keep += st->gkept[(size_t)k * cx->lay.ng + g] -
                              (group_prev_index(cx, other, m, size) >= 0);
            }
            if (cx->host_proxy && (k1 == 0 || k2 == 0)) { /* this term's groups move to
                                                           * the other's place */
                int other = side ? k1 : k2;
                if (other == 0)
                    mv->d.host -= group_waits(cx, m, size);
                if (k == 0)
                    mv->d.host += st->gwait[g];
            }
        }
    }
    mv->wrep = mv->d.rep;
}

static void apply_exchange(const struct ctx *cx, struct state *st, const struct move *mv)
{
    int n = cx->n;
    int *tmp = xmalloc(sizeof *tmp * (size_t)n);
    memcpy(tmp, st->at + (size_t)mv->x * n, sizeof *tmp * (size_t)n);
    memcpy(st->at + (size_t)mv->x * n, st->at + (size_t)mv->y * n, sizeof *tmp * (size_t)n);
    memcpy(st->at + (size_t)mv->y * n, tmp, sizeof *tmp * (size_t)n);
    free(tmp);
    state_rebuild(cx, st);
}

/* ------------------------------------------------------------------------------------ */
/* Local search. */

struct search {
    const struct ctx *cx;
    struct state *st;
    struct rng *r;
    uint64_t work, budget;
    int *best_at;
    struct cost best;
    uint32_t *w;     /* n x n breakout weights on pairs (repair) */
    uint32_t *stamp; /* n x n scratch for term exchanges */
    uint32_t stamp_value;
};

static void search_note(struct search *s)
{
    if (cost_cmp(s->st->c, s->best) < 0) {
        s->best = s->st->c;
        memcpy(s->best_at, s->st->at, sizeof *s->best_at * (size_t)s->cx->t * s->cx->n);
    }
}

static bool at_lower_bound(const struct ctx *cx, struct cost c)
{
    return c.hard == 0 && c.keep == 0 && c.rep == 0 && c.host == 0 &&
           (!cx->soft_on || c.soft <= 1e-9);
}

/* What the repair search steers by: hard, then groups kept, then weighted repeats with the
 * first term's hosting folded in at half a repeat (the best plan kept is still judged
 * lexicographically; this only lets the search trade one for the other on its way). */
static int64_t guided_rep(const struct move *m)
{
    return m->wrep + m->d.host * (REP_ONE / 2);
}

static int guided_cmp(const struct move *a, const struct move *b)
{
    if (a->d.hard != b->d.hard)
        return a->d.hard < b->d.hard ? -1 : 1;
    if (a->d.keep != b->d.keep)
        return a->d.keep < b->d.keep ? -1 : 1;
    if (guided_rep(a) != guided_rep(b))
        return guided_rep(a) < guided_rep(b) ? -1 : 1;
    return 0;
}

static bool guided_negative(const struct move *m)
{
    return m->d.hard < 0 ||
           (m->d.hard == 0 && (m->d.keep < 0 || (m->d.keep == 0 && guided_rep(m) < 0)));
}

/* Is school x (position p of term k) part of what costs at the hard, keep or repeat level? */
static bool position_conflicted(const struct ctx *cx, const struct state *st, int k, int p)
{
    int n = cx->n, g = cx->lay.group_of[p], x = st->at[(size_t)k * n + p];
    size_t gi = (size_t)k * cx->lay.ng + g;
    if (st->ghard[gi] > 0 || (cx->replan && !st->gkept[gi]))
        return true;
    if (k == 0 && st->c.host > 0) { /* a waiting school that cannot have its turn here */
        int waiting = 0;
        const int *gm = state_group(cx, st, k, g);
        for (int i = 0; i < cx->lay.size[g]; i++)
            waiting += cx->wait0[gm[i]];
        if (waiting == 0 || (waiting > 1 && cx->wait0_need < cx->lay.ng))
            return true;
    }
    const int *m = state_group(cx, st, k, g);
    for (int i = 0; i < cx->lay.size[g]; i++) {
        if (m[i] == x)
            continue;
        size_t pi = (size_t)x * n + m[i];
        if (cx->hist[pi] != NO_MEET || (st->mask[pi] & (st->mask[pi] - 1)))
            return true;
    }
    return false;
}

static void apply_move(const struct ctx *cx, struct state *st, const struct move *mv)
{
    if (mv->kind == 0)
        apply_swap(cx, st, mv);
    else if (mv->kind == 1)
        apply_relabel(cx, st, mv);
    else
        apply_exchange(cx, st, mv);
}

/* Repair: min-conflicts over (term, school) positions that cost at the hard, keep or repeat
 * level, with breakout weights on pairs at local minima, relabelling and term exchanges
 * now and then. Returns when the budget is spent, nothing conflicts, or progress stalls. */
static void search_repair(struct search *s, uint64_t budget)
{
    const struct ctx *cx = s->cx;
    struct state *st = s->st;
    int n = cx->n, t = cx->t;
    uint64_t stop = s->work + budget;
    int *cand_k = xmalloc(sizeof *cand_k * (size_t)t * n);
    int *cand_p = xmalloc(sizeof *cand_p * (size_t)t * n);
    long since = 0;
    const long stall = 4000;
    while (s->work < stop && since < stall) {
        if (st->c.hard == 0 && st->c.keep == 0 && st->c.rep == 0 && st->c.host == 0)
            break;
        int nc = 0;
        for (int k = 0; k < t; k++)
            for (int p = 0; p < n; p++)
                if (position_conflicted(cx, st, k, p)) {
                    cand_k[nc] = k;
                    cand_p[nc++] = p;
                }
        s->work += (uint64_t)t * n;
        if (nc == 0)
            break;
        struct move best, mv;
        bool have = false;
        int ties = 0, samples = nc < 24 ? nc : 24;
        for (int i = 0; i < samples; i++) {
            int ci = nc <= 24 ? i : rng_below(s->r, nc);
            int k = cand_k[ci], pa = cand_p[ci];
            for (int pb = 0; pb < n; pb++) {
                if (cx->lay.group_of[pb] == cx->lay.group_of[pa])
                    continue;
                eval_swap(cx, st, k, pa, pb, s->w, &mv);
                int c = have ? guided_cmp(&mv, &best) : -1;
                if (c < 0) {
                    best = mv;
                    have = true;
                    ties = 1;
                } else if (c == 0 && rng_below(s->r, ++ties) == 0) {
                    best = mv;
                }
            }
            s->work += (uint64_t)n;
        }
        /* relabelling: a few random pairs of schools, one of them conflicted */
        for (int i = 0; i < 4 && n > 2; i++) {
            int ci = rng_below(s->r, nc);
            int x = st->at[(size_t)cand_k[ci] * n + cand_p[ci]], y = rng_below(s->r, n);
            if (x == y)
                continue;
            eval_relabel(cx, st, x, y, &mv);
            s->work += (uint64_t)n + 2 * (uint64_t)t;
            if (have && guided_cmp(&mv, &best) < 0)
                best = mv;
        }
        if (t > 1 && (cx->has_history || cx->replan) && rng_below(s->r, 8) == 0) {
            int k1 = rng_below(s->r, t), k2 = rng_below(s->r, t);
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
                int ci = nc <= 24 ? i : rng_below(s->r, nc);
                int k = cand_k[ci], p = cand_p[ci], g = cx->lay.group_of[p];
                int x = st->at[(size_t)k * n + p];
                const int *m = state_group(cx, st, k, g);
                for (int j = 0; j < cx->lay.size[g]; j++) {
                    size_t pi = (size_t)x * n + m[j];
                    if (m[j] != x &&
                        (cx->hist[pi] != NO_MEET || (st->mask[pi] & (st->mask[pi] - 1)))) {
                        s->w[pi]++;
                        s->w[(size_t)m[j] * n + x]++;
                    }
                }
            }
        }
        apply_move(cx, st, &best);
        struct cost before = s->best;
        search_note(s);
        since = cost_cmp(s->best, before) < 0 ? 0 : since + 1;
    }
    free(cand_k);
    free(cand_p);
}

/* Polish: annealing on the soft constraints among moves that keep hard, keep and repeat
 * levels from getting worse (a move that improves them is always taken). */
static void search_polish(struct search *s, uint64_t budget)
{
    const struct ctx *cx = s->cx;
    struct state *st = s->st;
    int n = cx->n, t = cx->t, ng = cx->lay.ng;
    if ((!cx->soft_on && s->best.host == 0) || ng < 2 || budget == 0)
        return;
    /* the starting temperature: a fraction of the typical soft change of a move */
    double sum = 0;
    int samples = 0;
    struct move mv;
    for (int i = 0; i < 200; i++) {
        int k = rng_below(s->r, t), pa = rng_below(s->r, n), pb = rng_below(s->r, n);
        if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
            continue;
        eval_swap(cx, st, k, pa, pb, NULL, &mv);
        if (mv.d.soft != 0) {
            sum += fabs(mv.d.soft);
            samples++;
        }
    }
    s->work += 200;
    double t0 = samples ? 0.3 * sum / samples : 1.0, temp = t0;
    /* one cooling run, as long as the instance deserves (and the budget allows); it ends
     * early when the second half brings no new best for a while */
    uint64_t length = (uint64_t)20000 * n * t;
    length = length < 4000000 ? 4000000 : length;
    length = length < budget ? length : budget;
    uint64_t start = s->work, stop = s->work + length, last_best = s->work;
    uint64_t stall = length / 8;
    while (s->work < stop) {
        if (at_lower_bound(cx, s->best))
            break;
        double progress = (double)(s->work - start) / (double)length;
        if (progress > 0.5 && s->work - last_best > stall)
            break;
        temp = t0 * pow(1e-3, progress);
        int kind = rng_below(s->r, 100);
        if (kind < 84 || n < 3) {
            int k = rng_below(s->r, t), pa = rng_below(s->r, n), pb = rng_below(s->r, n);
            if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
                continue;
            eval_swap(cx, st, k, pa, pb, NULL, &mv);
            s->work += 1;
        } else if (kind < 98 || t < 2) {
            int x = rng_below(s->r, n), y = rng_below(s->r, n);
            if (x == y)
                continue;
            eval_relabel(cx, st, x, y, &mv);
            s->work += (uint64_t)n + 2 * (uint64_t)t;
        } else {
            int k1 = rng_below(s->r, t), k2 = rng_below(s->r, t);
            if (k1 == k2 || !(cx->has_history || cx->replan))
                continue;
            eval_exchange(cx, st, k1, k2, s->stamp, ++s->stamp_value, &mv);
            s->work += (uint64_t)n;
        }
        struct cost zero = {0}, d = mv.d;
        d.soft = 0;
        int level = cost_cmp(d, zero);
        bool take;
        if (level > 0)
            take = false;
        else if (level < 0 || mv.d.soft <= 0)
            take = true;
        else
            take = rng_unit(s->r) < exp(-mv.d.soft / temp);
        if (!take)
            continue;
        apply_move(cx, st, &mv);
        struct cost before = s->best;
        search_note(s);
        if (cost_cmp(s->best, before) < 0)
            last_best = s->work;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Greedy construction, term by term: the baseline, and a seed for the search. */

static void greedy_term(const struct ctx *cx, struct state *st, int k)
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
                if (y != x && !used[y] && !cx->excl[x * n + y] && cx->hist[x * n + y] == NO_MEET &&
                    !st->mask[x * n + y])
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
            struct cost best = {0};
            for (int c = 0; c < n; c++) {
                if (used[c])
                    continue;
                struct cost cc = {0};
                for (int j = 0; j < i; j++) {
                    size_t pi = (size_t)c * n + m[j];
                    cc.hard += cx->excl[pi];
                    cc.rep += pair_cost(cx, st->mask[pi] | bit, cx->hist[pi]) -
                              pair_cost(cx, st->mask[pi], cx->hist[pi]);
                }
                m[i] = c;
                if (cx->phase_hard)
                    cc.hard += group_phase_mismatch(cx->in, m, i + 1);
                if (cx->soft_on)
                    cc.soft = group_soft(cx, m, i + 1);
                int cmp = pick < 0 ? -1 : cost_cmp(cc, best);
                if (cmp > 0)
                    continue;
                int fresh = 0;
                for (int y = 0; n <= 150 && y < n; y++)
                    if (y != c && !used[y] && !cx->excl[c * n + y] &&
                        cx->hist[c * n + y] == NO_MEET && !st->mask[c * n + y])
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
static void greedy_unstick(const struct ctx *cx, struct state *st)
{
    int n = cx->n;
    for (int round = 0; round < 4 * n && st->c.hard > 0; round++) {
        struct move best, mv;
        bool have = false;
        for (int k = 0; k < cx->t; k++)
            for (int pa = 0; pa < n; pa++) {
                if (st->ghard[(size_t)k * cx->lay.ng + cx->lay.group_of[pa]] == 0)
                    continue;
                for (int pb = 0; pb < n; pb++) {
                    if (cx->lay.group_of[pa] == cx->lay.group_of[pb])
                        continue;
                    eval_swap(cx, st, k, pa, pb, NULL, &mv);
                    if (!have || guided_cmp(&mv, &best) < 0) {
                        best = mv;
                        have = true;
                    }
                }
            }
        if (!have || best.d.hard >= 0)
            break;
        apply_swap(cx, st, &best);
    }
}

static void greedy_plan(const struct ctx *cx, struct state *st)
{
    memset(st->mask, 0, sizeof *st->mask * (size_t)cx->n * cx->n);
    for (int k = 0; k < cx->t; k++)
        greedy_term(cx, st, k);
    state_rebuild(cx, st);
    greedy_unstick(cx, st);
}

/* ------------------------------------------------------------------------------------ */
/* Hosting: each group's review is at its host. Fairness runs in cycles: while some school
 * has not hosted in the current cycle, a host that already has is a violation; the cycle
 * ends in the term when every school still waiting hosts, and that term's other hosts
 * count as the first hosts of the next cycle. History is replayed through the same rule. */

struct hosting {
    uint8_t *hosted; /* in the current cycle */
    int32_t *last;   /* timeline of the latest hosting, NO_MEET if never */
    int *count;      /* hosts so far, history included */
};

static void hosting_alloc(struct hosting *h, int n)
{
    h->hosted = xcalloc((size_t)n, 1);
    h->last = xmalloc(sizeof *h->last * (size_t)n);
    h->count = xcalloc((size_t)n, sizeof *h->count);
    for (int i = 0; i < n; i++)
        h->last[i] = NO_MEET;
}

static void hosting_free(struct hosting *h)
{
    free(h->hosted);
    free(h->last);
    free(h->count);
}

static void hosting_copy(struct hosting *dst, const struct hosting *src, int n)
{
    memcpy(dst->hosted, src->hosted, (size_t)n);
    memcpy(dst->last, src->last, sizeof *dst->last * (size_t)n);
    memcpy(dst->count, src->count, sizeof *dst->count * (size_t)n);
}

/* One term's hosts (-1 entries ignored). Returns the violations: the schools still waiting
 * that this term could have given a turn (as many as it has hosts) but did not. */
static int hosting_step(struct hosting *h, int n, const int *hosts, int nh, int when)
{
    int waiting = 0, waiting_hosting = 0, turns = 0, violations;
    for (int i = 0; i < n; i++)
        waiting += !h->hosted[i];
    for (int i = 0; i < nh; i++)
        if (hosts[i] >= 0) {
            turns++;
            waiting_hosting += !h->hosted[hosts[i]];
        }
    violations = (waiting < turns ? waiting : turns) - waiting_hosting;
    if (waiting_hosting == waiting) {
        uint8_t *again = xcalloc((size_t)n, 1);
        for (int i = 0; i < nh; i++)
            if (hosts[i] >= 0 && h->hosted[hosts[i]])
                again[hosts[i]] = 1;
        memcpy(h->hosted, again, (size_t)n);
        free(again);
    } else {
        for (int i = 0; i < nh; i++)
            if (hosts[i] >= 0)
                h->hosted[hosts[i]] = 1;
    }
    for (int i = 0; i < nh; i++)
        if (hosts[i] >= 0) {
            h->last[hosts[i]] = when;
            h->count[hosts[i]]++;
        }
    return violations;
}

static void hosting_from_history(const struct ctx *cx, struct hosting *h)
{
    const struct rota_input *in = cx->in;
    for (size_t i = 0; i < in->n_history; i++) {
        const struct rota_term *ht = &in->history[cx->hist_order[i]];
        int *hosts = xmalloc(sizeof *hosts * (ht->n_groups + 1));
        for (size_t g = 0; g < ht->n_groups; g++)
            hosts[g] = ht->groups[g].host;
        hosting_step(h, cx->n, hosts, (int)ht->n_groups, rota_term_index(ht->id));
        free(hosts);
    }
}

static double host_trip(const struct ctx *cx, const int *m, int size, int host)
{
    double worst = 0;
    for (int i = 0; i < size; i++)
        if (cx->km[host * cx->n + m[i]] > worst)
            worst = cx->km[host * cx->n + m[i]];
    return worst;
}

/* Is c a better host than best (both members of group m)? The previous host of an
 * unchanged group (re-plan) first, then the least recently hosting, then the least often,
 * then the shortest longest trip, then the lowest URN. */
static bool host_better(const struct ctx *cx, const struct hosting *h, const int *m, int size,
                        int prefer, int c, int best)
{
    if ((c == prefer) != (best == prefer))
        return c == prefer;
    if (h->last[c] != h->last[best])
        return h->last[c] < h->last[best];
    if (h->count[c] != h->count[best])
        return h->count[c] < h->count[best];
    if (cx->travel) {
        double tc = host_trip(cx, m, size, c), tb = host_trip(cx, m, size, best);
        if (tc != tb)
            return tc < tb;
    }
    return strcmp(cx->in->schools[c].urn, cx->in->schools[best].urn) < 0;
}

/* The member to host by the rule alone: one still waiting in the cycle if any, else the
 * best by host_better. */
static int host_pick(const struct ctx *cx, const struct hosting *h, const int *m, int size,
                     int prefer)
{
    bool any_waiting = false;
    for (int i = 0; i < size; i++)
        any_waiting |= !h->hosted[m[i]];
    int best = -1;
    for (int i = 0; i < size; i++) {
        int c = m[i];
        if (any_waiting && h->hosted[c])
            continue;
        if (best < 0 || host_better(cx, h, m, size, prefer, c, best))
            best = c;
    }
    return best;
}

/* Matching of waiting schools to the groups of the next terms (Kuhn's augmenting paths,
 * groups in chronological order so earlier terms are served first). */
struct host_match {
    int ng_total;
    const int *members; /* per window group: its members, preferred first */
    const int *size;
    int *match_school; /* school -> window group, -1 */
    int *match_group;  /* window group -> school, -1 */
    int *seen;
    int stamp;
    const uint8_t *hosted;
};

static bool host_augment(struct host_match *hm, int g)
{
    for (int i = 0; i < hm->size[g]; i++) {
        int s = hm->members[(size_t)g * ROTA_GROUP_MAX + i];
        if (hm->hosted[s] || hm->seen[s] == hm->stamp)
            continue;
        hm->seen[s] = hm->stamp;
        if (hm->match_school[s] < 0 || host_augment(hm, hm->match_school[s])) {
            hm->match_school[s] = g;
            hm->match_group[g] = s;
            return true;
        }
    }
    return false;
}

struct host_eval {
    int violations;
    double travel;
    int changed; /* re-plan: unchanged groups whose host changed */
};

static int host_eval_cmp(struct host_eval a, struct host_eval b)
{
    if (a.violations != b.violations)
        return a.violations < b.violations ? -1 : 1;
    if (a.travel < b.travel - 1e-9)
        return -1;
    if (a.travel > b.travel + 1e-9)
        return 1;
    return (a.changed > b.changed) - (a.changed < b.changed);
}

static struct host_eval hosting_evaluate(const struct ctx *cx, const struct hosting *from,
                                         struct hosting *scratch, const int *at, const int *hosts,
                                         const int *prefer)
{
    struct host_eval e = {0, 0, 0};
    int ng = cx->lay.ng;
    hosting_copy(scratch, from, cx->n);
    for (int k = 0; k < cx->t; k++) {
        e.violations += hosting_step(scratch, cx->n, hosts + (size_t)k * ng, ng, cx->tl[k]);
        for (int g = 0; g < ng; g++) {
            size_t gi = (size_t)k * ng + g;
            if (cx->travel)
                e.travel += cx->travel_w * host_trip(cx, at + (size_t)k * cx->n + cx->lay.start[g],
                                                     cx->lay.size[g], hosts[gi]);
            if (prefer && prefer[gi] >= 0 && hosts[gi] != prefer[gi])
                e.changed++;
        }
    }
    return e;
}

/* Chooses hosts for the planned groups: the rule above term by term, then a small search
 * over host choices when a violation or travel is left. */
static void hosting_plan(const struct ctx *cx, const int *at, const int *prefer, int *hosts,
                         struct rng *r, uint64_t budget)
{
    int n = cx->n, ng = cx->lay.ng, t = cx->t;
    struct hosting base, run;
    hosting_alloc(&base, n);
    hosting_alloc(&run, n);
    hosting_from_history(cx, &base);
    hosting_copy(&run, &base, n);
    /* Term by term: match the schools still waiting to groups of this and the next terms
     * (as many terms as it takes to give each of them a turn), take this term's part of the
     * matching, and let the rule choose where the matching leaves a group free. With threes
     * and a fresh cycle the matching is perfect: schools and groups of three terms form a
     * 3-regular bipartite graph. */
    int *wm = xmalloc(sizeof *wm * (size_t)t * ng * ROTA_GROUP_MAX);
    int *wsize = xmalloc(sizeof *wsize * (size_t)t * ng);
    int *mgroup = xmalloc(sizeof *mgroup * (size_t)t * ng);
    int *mschool = xmalloc(sizeof *mschool * (size_t)n), *seen = xcalloc((size_t)n, sizeof *seen);
    for (int k = 0; k < t; k++) {
        int waiting = 0, last = k;
        for (int i = 0; i < n; i++)
            waiting += !run.hosted[i];
        while (last + 1 < t && (last - k + 1) * ng < waiting)
            last++;
        int wg = (last - k + 1) * ng;
        for (int w = 0; w < wg; w++) {
            int kk = k + w / ng, g = w % ng, size = cx->lay.size[g];
            const int *m = at + (size_t)kk * n + cx->lay.start[g];
            int *o = wm + (size_t)w * ROTA_GROUP_MAX,
                pref = prefer ? prefer[(size_t)kk * ng + g] : -1;
            for (int i = 0; i < size; i++) { /* members in the order the rule prefers them */
                int j = i;
                while (j > 0 && host_better(cx, &run, m, size, pref, m[i], o[j - 1])) {
                    o[j] = o[j - 1];
                    j--;
                }
                o[j] = m[i];
            }
            wsize[w] = size;
            mgroup[w] = -1;
        }
        for (int i = 0; i < n; i++)
            mschool[i] = -1;
        struct host_match hm = {wg, wm, wsize, mschool, mgroup, seen, 0, run.hosted};
        for (int w = 0; w < wg; w++) {
            hm.stamp++;
            host_augment(&hm, w);
        }
        for (int i = 0; i < n; i++)
            seen[i] = 0;
        for (int g = 0; g < ng; g++) {
            size_t gi = (size_t)k * ng + g;
            hosts[gi] = mgroup[g] >= 0 ? mgroup[g]
                                       : host_pick(cx, &run, at + (size_t)k * n + cx->lay.start[g],
                                                   cx->lay.size[g], prefer ? prefer[gi] : -1);
        }
        hosting_step(&run, n, hosts + (size_t)k * ng, ng, cx->tl[k]);
    }
    free(wm);
    free(wsize);
    free(mgroup);
    free(mschool);
    free(seen);
    struct host_eval cur = hosting_evaluate(cx, &base, &run, at, hosts, prefer);
    if (cur.violations > 0 || cx->travel) {
        uint64_t per = (uint64_t)t * (ng + n) + 1, iters = budget / per;
        if (iters > 20000)
            iters = 20000;
        for (uint64_t i = 0; i < iters && (cur.violations > 0 || cx->travel); i++) {
            int k = rng_below(r, t), g = rng_below(r, ng);
            size_t gi = (size_t)k * ng + g;
            int old = hosts[gi];
            hosts[gi] = at[(size_t)k * n + cx->lay.start[g] + rng_below(r, cx->lay.size[g])];
            if (hosts[gi] == old)
                continue;
            struct host_eval e = hosting_evaluate(cx, &base, &run, at, hosts, prefer);
            int c = host_eval_cmp(e, cur);
            if (c < 0 || (c == 0 && rng_below(r, 4) == 0))
                cur = e;
            else
                hosts[gi] = old;
        }
    }
    hosting_free(&base);
    hosting_free(&run);
}

/* ------------------------------------------------------------------------------------ */
/* Metrics, recomputed from the input and the groups alone (the reference implementation
 * the tests hold the planner to: it shares no state with the search). */

static int group_has_strong_and_few_category(const struct rota_input *in,
                                             const struct rota_group *g)
{
    int strong = 0, category = 0;
    for (int i = 0; i < g->size; i++) {
        strong += in->schools[g->members[i]].strength >= 4;
        category += in->schools[g->members[i]].category ? 1 : 0;
    }
    return strong > 0 && category <= 1;
}

int rota_metrics_compute(const struct rota_input *in, const struct rota_term *terms, size_t n_terms,
                         struct rota_metrics *per_term, struct rota_metrics *total)
{
    int n = (int)in->n_schools;
    for (size_t i = 0; i < n_terms; i++)
        for (size_t g = 0; g < terms[i].n_groups; g++) {
            const struct rota_group *gr = &terms[i].groups[g];
            if (gr->size < 1 || gr->size > ROTA_GROUP_MAX || gr->host < -1 || gr->host >= n)
                return -1;
            for (int j = 0; j < gr->size; j++)
                if (gr->members[j] < 0 || gr->members[j] >= n)
                    return -1;
        }
    int32_t *last = xmalloc(sizeof *last * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        last[i] = NO_MEET;
    uint8_t *excl = xcalloc((size_t)n * n, 1);
    for (size_t e = 0; e < in->constraints.n_excluded; e++) {
        const struct rota_pair *p = &in->constraints.excluded[e];
        excl[p->a * n + p->b] = excl[p->b * n + p->a] = 1;
    }
    /* history, oldest first, for both pairs and the hosting cycle */
    size_t nh = in->n_history;
    int *order = xmalloc(sizeof *order * (nh + 1));
    for (size_t i = 0; i < nh; i++)
        order[i] = (int)i;
    for (size_t i = 1; i < nh; i++) /* insertion sort: histories are short */
        for (size_t j = i; j > 0 && rota_term_index(in->history[order[j - 1]].id) >
                                        rota_term_index(in->history[order[j]].id);
             j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    uint8_t *hosted = xcalloc((size_t)n, 1), *again = xcalloc((size_t)n, 1);
    int *plan_hosts = xcalloc((size_t)n, sizeof *plan_hosts);
    memset(total, 0, sizeof *total);
    for (size_t s = 0; s < nh + n_terms; s++) {
        bool planned = s >= nh;
        const struct rota_term *tm = planned ? &terms[s - nh] : &in->history[order[s]];
        int when = rota_term_index(tm->id);
        struct rota_metrics *m = planned ? &per_term[s - nh] : NULL;
        if (m)
            memset(m, 0, sizeof *m);
        int waiting = 0, waiting_hosting = 0;
        for (int i = 0; i < n; i++)
            waiting += !hosted[i];
        for (size_t g = 0; g < tm->n_groups; g++) {
            const struct rota_group *gr = &tm->groups[g];
            for (int i = 0; i < gr->size; i++)
                for (int j = i + 1; j < gr->size; j++) {
                    size_t pi = (size_t)gr->members[i] * n + gr->members[j];
                    if (m && last[pi] != NO_MEET) {
                        int ago = when - last[pi];
                        m->repeat_pairs++;
                        m->repeat_cost += exp2(-(double)(ago - 1) / in->constraints.decay);
                        if (m->most_recent_repeat == 0 || ago < m->most_recent_repeat)
                            m->most_recent_repeat = ago;
                    }
                    if (m && excl[pi])
                        m->excluded_together++;
                    last[pi] = last[(size_t)gr->members[j] * n + gr->members[i]] = when;
                }
            if (gr->host >= 0 && !hosted[gr->host])
                waiting_hosting++;
            if (!m)
                continue;
            int most = 0;
            for (int i = 0; i < gr->size; i++) {
                int same = 0;
                for (int j = 0; j < gr->size; j++)
                    same += in->schools[gr->members[j]].phase == in->schools[gr->members[i]].phase;
                most = same > most ? same : most;
            }
            m->phase_mismatches += gr->size - most;
            m->unbalanced_groups += !group_has_strong_and_few_category(in, gr);
            const struct rota_school *host = gr->host >= 0 ? &in->schools[gr->host] : NULL;
            for (int i = 0; host && host->has_location && i < gr->size; i++) {
                const struct rota_school *sc = &in->schools[gr->members[i]];
                if (gr->members[i] == gr->host || !sc->has_location)
                    continue;
                double km = rota_haversine_km(sc->lat, sc->lon, host->lat, host->lon);
                m->total_km += km;
                if (km > m->max_km)
                    m->max_km = km;
            }
        }
        /* the hosting cycle: a violation is a waiting school passed over for a turn */
        bool completes = waiting_hosting == waiting;
        int turns = 0;
        memset(again, 0, (size_t)n);
        for (size_t g = 0; g < tm->n_groups; g++) {
            int h = tm->groups[g].host;
            if (h < 0)
                continue;
            turns++;
            again[h] = hosted[h];
            if (planned)
                plan_hosts[h]++;
        }
        if (m)
            m->hosting_violations = (waiting < turns ? waiting : turns) - waiting_hosting;
        if (completes) {
            memcpy(hosted, again, (size_t)n);
        } else {
            for (size_t g = 0; g < tm->n_groups; g++)
                if (tm->groups[g].host >= 0)
                    hosted[tm->groups[g].host] = 1;
        }
        if (!m)
            continue;
        total->repeat_pairs += m->repeat_pairs;
        total->repeat_cost += m->repeat_cost;
        if (m->most_recent_repeat &&
            (total->most_recent_repeat == 0 || m->most_recent_repeat < total->most_recent_repeat))
            total->most_recent_repeat = m->most_recent_repeat;
        total->phase_mismatches += m->phase_mismatches;
        total->unbalanced_groups += m->unbalanced_groups;
        total->total_km += m->total_km;
        if (m->max_km > total->max_km)
            total->max_km = m->max_km;
        total->hosting_violations += m->hosting_violations;
        total->excluded_together += m->excluded_together;
    }
    if (n_terms > 0) {
        int lo = INT_MAX, hi = 0;
        for (int i = 0; i < n; i++) {
            lo = plan_hosts[i] < lo ? plan_hosts[i] : lo;
            hi = plan_hosts[i] > hi ? plan_hosts[i] : hi;
        }
        total->hosting_spread = hi - lo;
    }
    free(last);
    free(excl);
    free(order);
    free(hosted);
    free(again);
    free(plan_hosts);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Validation. */

static bool urn_ok(const char *s)
{
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[6] == '\0';
}

static bool term_id_ok(struct rota_term_id id)
{
    return id.year >= 1990 && id.year <= 2200 && id.term >= 0 && id.term <= 2;
}

/* Can the schools of each phase form groups on their own (phase "require")? Each phase's
 * count must be 3a + 4b with the fours adding up to the layout's fours; 3..5 schools must
 * all share one phase. */
static bool phases_partitionable(const struct rota_input *in, char *why, size_t len)
{
    int n = (int)in->n_schools, count[ROTA_PHASE_COUNT] = {0};
    for (int i = 0; i < n; i++)
        count[in->schools[i].phase]++;
    if (n <= 5) {
        for (int p = 0; p < ROTA_PHASE_COUNT; p++)
            if (count[p] && count[p] != n) {
                snprintf(why, len, "the %d schools form one group but are of more than one phase",
                         n);
                return false;
            }
        return true;
    }
    int fours = n % 3 == 0 ? 0 : n % 3 == 1 ? 1 : 2;
    bool reach[3] = {true, false, false}; /* fours used so far */
    for (int p = 0; p < ROTA_PHASE_COUNT; p++) {
        if (!count[p])
            continue;
        bool next[3] = {false, false, false};
        for (int f = 0; f <= 2; f++)
            for (int b = 0; b <= 2 && f + b <= 2; b++)
                if (reach[f] && count[p] >= 4 * b && (count[p] - 4 * b) % 3 == 0)
                    next[f + b] = true;
        memcpy(reach, next, sizeof reach);
        if (!reach[0] && !reach[1] && !reach[2]) {
            snprintf(why, len, "%d %s school%s cannot form groups of 3 or 4 on their own", count[p],
                     rota_phase_name((enum rota_phase)p), count[p] == 1 ? "" : "s");
            return false;
        }
    }
    if (!reach[fours]) {
        snprintf(why, len, "the phases cannot be split into groups of 3 with exactly %d of 4",
                 fours);
        return false;
    }
    return true;
}

int rota_validate(const struct rota_input *in, struct mat_errors *err)
{
    size_t before = err->count + err->dropped;
    char path[128];
    int n = (int)in->n_schools;
    if (in->n_schools < 3)
        mat_errors_add(err, "/schools", "a rota needs at least 3 active schools; got %zu",
                       in->n_schools);
    if (in->n_schools > ROTA_MAX_SCHOOLS)
        mat_errors_add(err, "/schools", "at most %d schools; got %zu", ROTA_MAX_SCHOOLS,
                       in->n_schools);
    for (size_t i = 0; i < in->n_schools; i++) {
        const struct rota_school *s = &in->schools[i];
        if (!urn_ok(s->urn)) {
            snprintf(path, sizeof path, "/schools/%zu/urn", i);
            mat_errors_add(err, path, "must be a URN of six digits");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->schools[j].urn, s->urn) == 0) {
                snprintf(path, sizeof path, "/schools/%zu/urn", i);
                mat_errors_add(err, path, "duplicate school %s (also /schools/%zu)", s->urn, j);
                break;
            }
        if ((unsigned)s->phase >= ROTA_PHASE_COUNT) {
            snprintf(path, sizeof path, "/schools/%zu/phase", i);
            mat_errors_add(err, path, "unknown phase");
        }
        if (s->strength < 0 || s->strength > 5) {
            snprintf(path, sizeof path, "/schools/%zu/strength", i);
            mat_errors_add(err, path, "must be 1..5");
        }
        if (s->has_location &&
            (!isfinite(s->lat) || !isfinite(s->lon) || fabs(s->lat) > 90 || fabs(s->lon) > 180)) {
            snprintf(path, sizeof path, "/schools/%zu/lat", i);
            mat_errors_add(err, path, "latitude must be -90..90 and longitude -180..180");
        }
    }
    if (in->n_terms < 1 || in->n_terms > ROTA_MAX_TERMS)
        mat_errors_add(err, "/terms", "plan 1 to %d terms; got %zu", ROTA_MAX_TERMS, in->n_terms);
    int latest_history = INT_MIN;
    if (in->n_history > ROTA_MAX_HISTORY)
        mat_errors_add(err, "/history", "at most %d past terms; got %zu", ROTA_MAX_HISTORY,
                       in->n_history);
    uint8_t *seen = xcalloc((size_t)(n > 0 ? n : 1), 1);
    for (size_t h = 0; h < in->n_history && h < ROTA_MAX_HISTORY; h++) {
        const struct rota_term *ht = &in->history[h];
        if (!term_id_ok(ht->id)) {
            snprintf(path, sizeof path, "/history/%zu", h);
            mat_errors_add(err, path, "not a valid year and term");
            continue;
        }
        int when = rota_term_index(ht->id);
        latest_history = when > latest_history ? when : latest_history;
        for (size_t j = 0; j < h; j++)
            if (rota_term_index(in->history[j].id) == when) {
                char label[32];
                term_label(ht->id, label, sizeof label);
                snprintf(path, sizeof path, "/history/%zu", h);
                mat_errors_add(err, path, "%s appears twice in the history (also /history/%zu)",
                               label, j);
                break;
            }
        memset(seen, 0, (size_t)(n > 0 ? n : 1));
        for (size_t g = 0; g < ht->n_groups; g++) {
            const struct rota_group *gr = &ht->groups[g];
            if (gr->size < 2 || gr->size > ROTA_GROUP_MAX) {
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/members", h, g);
                mat_errors_add(err, path, "a group has 2 to %d members; got %d", ROTA_GROUP_MAX,
                               gr->size);
                continue;
            }
            bool host_in = gr->host == -1;
            for (int i = 0; i < gr->size; i++) {
                int m = gr->members[i];
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/members/%d", h, g, i);
                if (m < 0 || m >= n) {
                    mat_errors_add(err, path, "unknown school");
                    continue;
                }
                if (seen[m])
                    mat_errors_add(err, path, "school %s is in two groups of the same term",
                                   in->schools[m].urn);
                seen[m] = 1;
                host_in |= m == gr->host;
            }
            if (!host_in) {
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/host", h, g);
                mat_errors_add(err, path, "the host must be a member of the group");
            }
        }
    }
    free(seen);
    for (size_t k = 0; k < in->n_terms && k < ROTA_MAX_TERMS; k++) {
        snprintf(path, sizeof path, "/terms/%zu", k);
        if (!term_id_ok(in->terms[k])) {
            mat_errors_add(err, path, "not a valid year and term");
            continue;
        }
        int when = rota_term_index(in->terms[k]);
        char label[32];
        term_label(in->terms[k], label, sizeof label);
        for (size_t j = 0; j < k; j++)
            if (rota_term_index(in->terms[j]) == when) {
                mat_errors_add(err, path, "%s is listed twice (also /terms/%zu)", label, j);
                break;
            }
        if (when <= latest_history)
            mat_errors_add(err, path, "%s is not after the latest term in the history", label);
    }
    const struct rota_constraints *c = &in->constraints;
    if (c->phase != ROTA_PHASE_IGNORE && c->phase != ROTA_PHASE_PREFER &&
        c->phase != ROTA_PHASE_REQUIRE)
        mat_errors_add(err, "/constraints/phase", "must be prefer, require or ignore");
    if (!isfinite(c->decay) || c->decay <= 0 || c->decay > 1000)
        mat_errors_add(err, "/constraints/decay", "must be a number above 0 and at most 1000");
    if (!isfinite(c->travel_weight) || c->travel_weight < 0 || c->travel_weight > 1e6)
        mat_errors_add(err, "/constraints/travel_weight", "must be a number from 0 to 1000000");
    if (!isfinite(c->phase_weight) || c->phase_weight < 0 || c->phase_weight > 1e6)
        mat_errors_add(err, "/constraints/phase_weight", "must be a number from 0 to 1000000");
    if (!isfinite(c->balance_weight) || c->balance_weight < 0 || c->balance_weight > 1e6)
        mat_errors_add(err, "/constraints/balance_weight", "must be a number from 0 to 1000000");
    for (size_t e = 0; e < c->n_excluded; e++) {
        const struct rota_pair *p = &c->excluded[e];
        snprintf(path, sizeof path, "/constraints/excluded_pairs/%zu", e);
        if (p->a < 0 || p->a >= n || p->b < 0 || p->b >= n)
            mat_errors_add(err, path, "unknown school");
        else if (p->a == p->b)
            mat_errors_add(err, path, "a school cannot be excluded from itself");
    }
    if (err->count + err->dropped > before)
        return -1;
    /* what can be seen to be infeasible without a search */
    if (n <= 5 && c->n_excluded > 0) {
        const struct rota_pair *p = &c->excluded[0];
        mat_errors_add(err, "/constraints/excluded_pairs/0",
                       "cannot keep %s and %s apart: %d schools form a single group",
                       in->schools[p->a].urn, in->schools[p->b].urn, n);
        return -1;
    }
    char why[160];
    if (c->phase == ROTA_PHASE_REQUIRE && !phases_partitionable(in, why, sizeof why)) {
        mat_errors_add(err, "/constraints/phase", "phase \"require\" cannot be met: %s", why);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Planning runs. */

static uint64_t budget_of(const struct rota_options *opt)
{
    if (opt && opt->work_budget)
        return opt->work_budget;
    long ms = opt ? opt->time_budget_ms : ROTA_DEFAULT_BUDGET_MS;
    if (ms < 1)
        ms = 1;
    return (uint64_t)ms * WORK_PER_MS;
}

static int urn_of_cmp(const struct rota_input *in, int a, int b)
{
    return strcmp(in->schools[a].urn, in->schools[b].urn);
}

/* URN to school index through a sorted index; -1 when the school is not active. */
static int urn_find(const struct rota_input *in, const int *by_urn, const char *urn)
{
    int lo = 0, hi = (int)in->n_schools - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(in->schools[by_urn[mid]].urn, urn);
        if (c == 0)
            return by_urn[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int *urn_index(const struct rota_input *in)
{
    int n = (int)in->n_schools, *by = xmalloc(sizeof *by * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && urn_of_cmp(in, by[j - 1], i) > 0) {
            by[j] = by[j - 1];
            j--;
        }
        by[j] = i;
    }
    return by;
}

static const struct rota_prev_term *prev_find(const struct rota_prev_term *prev, size_t n_prev,
                                              struct rota_term_id id)
{
    for (size_t i = 0; i < n_prev; i++)
        if (rota_term_index(prev[i].id) == rota_term_index(id))
            return &prev[i];
    return NULL;
}

static void ctx_set_prev(struct ctx *cx, const struct rota_prev_term *prev, size_t n_prev)
{
    int *by = urn_index(cx->in);
    cx->replan = true;
    cx->prev_n = xcalloc((size_t)cx->t, sizeof *cx->prev_n);
    cx->prev = xcalloc((size_t)cx->t, sizeof *cx->prev);
    cx->prev_size = xcalloc((size_t)cx->t, sizeof *cx->prev_size);
    cx->prev_host = xcalloc((size_t)cx->t, sizeof *cx->prev_host);
    for (int k = 0; k < cx->t; k++) {
        const struct rota_prev_term *pt = prev_find(prev, n_prev, cx->ids[k]);
        size_t ng = pt ? pt->n_groups : 0;
        cx->prev_n[k] = (int)ng;
        cx->prev[k] = xmalloc(sizeof(int) * (ng + 1) * ROTA_GROUP_MAX);
        cx->prev_size[k] = xmalloc(sizeof(int) * (ng + 1));
        cx->prev_host[k] = xmalloc(sizeof(int) * (ng + 1));
        for (size_t g = 0; g < ng; g++) {
            const struct rota_prev_group *pg = &pt->groups[g];
            int size = pg->size < 0 ? 0 : pg->size > ROTA_GROUP_MAX ? ROTA_GROUP_MAX : pg->size;
            int *m = cx->prev[k] + g * ROTA_GROUP_MAX;
            for (int i = 0; i < size; i++)
                m[i] = urn_find(cx->in, by, pg->members[i]);
            sort_ints(m, size);
            cx->prev_size[k][g] = size;
            cx->prev_host[k][g] = pg->host[0] ? urn_find(cx->in, by, pg->host) : -1;
        }
    }
    free(by);
}

/* A first re-plan: the previous groups that are still whole go into slots of their size,
 * broken ones into the closest slots, then joiners and leftovers fill the gaps. */
static void seed_from_prev(const struct ctx *cx, int k, int *row)
{
    int n = cx->n, ng = cx->lay.ng, np = cx->prev_n[k];
    int *filled = xcalloc((size_t)ng, sizeof *filled), *placed = xcalloc((size_t)n, sizeof *placed);
    int *order = xmalloc(sizeof *order * (size_t)(np + 1)),
        *live = xcalloc((size_t)np + 1, sizeof *live);
    for (int i = 0; i < np; i++) {
        order[i] = i;
        for (int j = 0; j < cx->prev_size[k][i]; j++)
            live[i] += cx->prev[k][(size_t)i * ROTA_GROUP_MAX + j] >= 0;
    }
    for (int i = 1; i < np; i++) /* biggest parts first, stable */
        for (int j = i; j > 0 && live[order[j - 1]] < live[order[j]]; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (int oi = 0; oi < np; oi++) {
        int i = order[oi], want = live[i];
        if (want == 0)
            continue;
        int pick = -1;
        for (int g = 0; g < ng; g++) { /* an empty slot of the same size, else the tightest fit */
            int room = cx->lay.size[g] - filled[g];
            if (room < want)
                continue;
            if (pick < 0 || (filled[g] == 0 && room == want) ||
                (!(filled[pick] == 0 && cx->lay.size[pick] == want) &&
                 room < cx->lay.size[pick] - filled[pick]))
                pick = g;
        }
        if (pick < 0)
            for (int g = 0; g < ng; g++)
                if (pick < 0 || cx->lay.size[g] - filled[g] > cx->lay.size[pick] - filled[pick])
                    pick = g;
        for (int j = 0; j < cx->prev_size[k][i]; j++) {
            int m = cx->prev[k][(size_t)i * ROTA_GROUP_MAX + j];
            if (m < 0 || placed[m] || filled[pick] >= cx->lay.size[pick])
                continue;
            row[cx->lay.start[pick] + filled[pick]++] = m;
            placed[m] = 1;
        }
    }
    int g = 0;
    for (int x = 0; x < n; x++) {
        if (placed[x])
            continue;
        while (filled[g] >= cx->lay.size[g])
            g++;
        row[cx->lay.start[g] + filled[g]++] = x;
    }
    free(filled);
    free(placed);
    free(order);
    free(live);
}

static void plan_output(const struct ctx *cx, const int *at, const int *hosts,
                        struct rota_plan *out)
{
    const struct rota_input *in = cx->in;
    int n = cx->n, ng = cx->lay.ng, t = cx->t;
    out->n_terms = (size_t)t;
    out->terms = xcalloc((size_t)t, sizeof *out->terms);
    for (int k = 0; k < t; k++) {
        struct rota_term *tm = &out->terms[k];
        tm->id = cx->ids[k];
        tm->n_groups = (size_t)ng;
        tm->groups = xcalloc((size_t)ng, sizeof *tm->groups);
        for (int g = 0; g < ng; g++) {
            struct rota_group *gr = &tm->groups[g];
            gr->size = cx->lay.size[g];
            for (int i = 0; i < gr->size; i++) {
                int m = at[(size_t)k * n + cx->lay.start[g] + i], j = i;
                while (j > 0 && urn_of_cmp(in, gr->members[j - 1], m) > 0) {
                    gr->members[j] = gr->members[j - 1];
                    j--;
                }
                gr->members[j] = m;
            }
            gr->host = hosts[(size_t)k * ng + g];
        }
        for (int g = 1; g < ng; g++) /* groups in the order of their first URN */
            for (int j = g; j > 0 && urn_of_cmp(in, tm->groups[j - 1].members[0],
                                                tm->groups[j].members[0]) > 0;
                 j--) {
                struct rota_group x = tm->groups[j];
                tm->groups[j] = tm->groups[j - 1];
                tm->groups[j - 1] = x;
            }
    }
    out->term_metrics = xcalloc((size_t)t, sizeof *out->term_metrics);
    rota_metrics_compute(in, out->terms, out->n_terms, out->term_metrics, &out->total);
}

static void changes_build(const struct ctx *cx, const struct rota_prev_term *prev, size_t n_prev,
                          const struct rota_plan *out, struct rota_changes *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->n_terms = out->n_terms;
    ch->terms = xcalloc(out->n_terms, sizeof *ch->terms);
    for (size_t k = 0; k < out->n_terms; k++) {
        const struct rota_term *tm = &out->terms[k];
        struct rota_term_change *tc = &ch->terms[k];
        const struct rota_prev_term *pt = prev_find(prev, n_prev, tm->id);
        int np = cx->prev_n[k];
        uint8_t *matched = xcalloc((size_t)np + 1, 1);
        tc->id = tm->id;
        tc->added = xmalloc(sizeof *tc->added * (tm->n_groups + 1));
        tc->removed = xmalloc(sizeof *tc->removed * ((size_t)np + 1));
        for (size_t g = 0; g < tm->n_groups; g++) {
            int i = group_prev_index(cx, (int)k, tm->groups[g].members, tm->groups[g].size);
            if (i >= 0 && !matched[i]) {
                matched[i] = 1;
                tc->kept++;
            } else {
                tc->added[tc->n_added++] = g;
            }
        }
        for (int i = 0; pt && i < np; i++)
            if (!matched[i])
                tc->removed[tc->n_removed++] = (size_t)i;
        ch->groups_kept += tc->kept;
        ch->groups_changed += tc->n_added;
        free(matched);
    }
}

static void report_infeasible(const struct ctx *cx, const int *at, struct mat_errors *err)
{
    const struct rota_input *in = cx->in;
    int n = cx->n;
    for (int k = 0; k < cx->t; k++)
        for (int g = 0; g < cx->lay.ng; g++) {
            const int *m = at + (size_t)k * n + cx->lay.start[g];
            for (size_t e = 0; e < in->constraints.n_excluded; e++) {
                const struct rota_pair *p = &in->constraints.excluded[e];
                bool a = false, b = false;
                for (int i = 0; i < cx->lay.size[g]; i++) {
                    a |= m[i] == p->a;
                    b |= m[i] == p->b;
                }
                if (a && b) {
                    char path[64], label[32];
                    term_label(cx->ids[k], label, sizeof label);
                    snprintf(path, sizeof path, "/constraints/excluded_pairs/%zu", e);
                    mat_errors_add(err, path,
                                   "could not keep %s and %s apart in %s: no grouping of the %d "
                                   "schools was found that keeps all %zu excluded pairs apart",
                                   in->schools[p->a].urn, in->schools[p->b].urn, label, n,
                                   in->constraints.n_excluded);
                    return;
                }
            }
        }
    mat_errors_add(err, "/constraints/phase",
                   "could not put every group in a single phase together with the excluded pairs");
}

/* The schools the history leaves waiting in the hosting cycle: the first planned term
 * should give as many of them a turn as it can, which its groups decide. */
static void ctx_set_waiting(struct ctx *cx)
{
    struct hosting h;
    hosting_alloc(&h, cx->n);
    hosting_from_history(cx, &h);
    cx->wait0 = xcalloc((size_t)cx->n, 1);
    int waiting = 0;
    for (int i = 0; i < cx->n; i++) {
        cx->wait0[i] = !h.hosted[i];
        waiting += cx->wait0[i];
    }
    cx->wait0_need = waiting < cx->lay.ng ? waiting : cx->lay.ng;
    cx->host_proxy = waiting < cx->n && cx->lay.ng > 1; /* a cycle under way */
    hosting_free(&h);
}

/* Violations per term (viol, t entries) of the hosts hosting_plan would choose for at; the
 * first term with one and the schools still waiting at its start. Returns the total. */
static int hosting_check(const struct ctx *cx, const int *at, const int *prefer,
                         const struct rng *r, int *viol, int *bad_term, uint8_t *waiting)
{
    int n = cx->n, ng = cx->lay.ng, t = cx->t, total = 0;
    int *hosts = xmalloc(sizeof *hosts * (size_t)t * ng);
    struct rng copy = *r;
    hosting_plan(cx, at, prefer, hosts, &copy, 0);
    struct hosting h;
    hosting_alloc(&h, n);
    hosting_from_history(cx, &h);
    *bad_term = -1;
    for (int k = 0; k < t; k++) {
        if (*bad_term < 0)
            for (int i = 0; i < n; i++)
                waiting[i] = !h.hosted[i];
        viol[k] = hosting_step(&h, n, hosts + (size_t)k * ng, ng, cx->tl[k]);
        if (viol[k] > 0 && *bad_term < 0)
            *bad_term = k;
        total += viol[k];
    }
    hosting_free(&h);
    free(hosts);
    return total;
}

/* Term by term, earliest first: is a better than b? */
static bool violations_better(const int *a, const int *b, int t)
{
    for (int k = 0; k < t; k++)
        if (a[k] != b[k])
            return a[k] < b[k];
    return false;
}

struct host_move {
    int pa, pb;
    double soft;
};

static int host_move_cmp(const void *pa, const void *pb)
{
    const struct host_move *a = pa, *b = pb;
    if (a->soft != b->soft)
        return a->soft < b->soft ? -1 : 1;
    return a->pa != b->pa ? a->pa - b->pa : a->pb - b->pb;
}

/* Hosting fairness ranks above the soft constraints: where the groups leave a school still
 * waiting in the cycle without a turn (two waiting schools in one group, a group with
 * none), move a waiting school into a group without one, by a swap that keeps the hard,
 * kept and repeat levels, cheapest soft first, while that lowers the violations (earliest
 * term first). */
static void search_hosting(struct search *s, const int *prefer, uint64_t budget)
{
    const struct ctx *cx = s->cx;
    struct state *st = s->st;
    int n = cx->n, ng = cx->lay.ng, t = cx->t;
    uint8_t *waiting = xmalloc((size_t)n), *w2 = xmalloc((size_t)n);
    int *count = xmalloc(sizeof *count * (size_t)ng);
    int *viol = xmalloc(sizeof *viol * (size_t)t), *v2 = xmalloc(sizeof *v2 * (size_t)t);
    struct host_move *cand = xmalloc(sizeof *cand * (size_t)n * n / 4 + sizeof *cand);
    uint64_t stop = s->work + budget;
    int bad, bad2;
    int total = hosting_check(cx, st->at, prefer, s->r, viol, &bad, waiting);
    while (total > 0 && bad >= 0 && s->work < stop) {
        int k = bad;
        const int *row = st->at + (size_t)k * n;
        for (int g = 0; g < ng; g++) {
            count[g] = 0;
            for (int i = 0; i < cx->lay.size[g]; i++)
                count[g] += waiting[row[cx->lay.start[g] + i]];
        }
        size_t nc = 0;
        struct move mv;
        for (int pa = 0; pa < n; pa++) {
            if (!waiting[row[pa]] || count[cx->lay.group_of[pa]] < 2)
                continue;
            for (int pb = 0; pb < n; pb++) {
                if (waiting[row[pb]] || count[cx->lay.group_of[pb]] != 0)
                    continue;
                eval_swap(cx, st, k, pa, pb, NULL, &mv);
                s->work++;
                if (mv.d.hard > 0 || (mv.d.hard == 0 && mv.d.keep > 0) ||
                    (mv.d.hard == 0 && mv.d.keep == 0 && mv.d.rep > 0))
                    continue;
                if (nc < (size_t)n * n / 4)
                    cand[nc++] = (struct host_move){pa, pb, mv.d.soft};
            }
        }
        qsort(cand, nc, sizeof *cand, host_move_cmp);
        bool progressed = false;
        for (size_t c = 0; c < nc && c < 8 && !progressed && s->work < stop; c++) {
            eval_swap(cx, st, k, cand[c].pa, cand[c].pb, NULL, &mv);
            apply_swap(cx, st, &mv);
            int t2 = hosting_check(cx, st->at, prefer, s->r, v2, &bad2, w2);
            s->work += (uint64_t)t * n * 4;
            if (violations_better(v2, viol, t)) {
                total = t2;
                bad = bad2;
                memcpy(viol, v2, sizeof *viol * (size_t)t);
                memcpy(waiting, w2, (size_t)n);
                progressed = true;
            } else { /* undo */
                eval_swap(cx, st, k, cand[c].pa, cand[c].pb, NULL, &mv);
                apply_swap(cx, st, &mv);
            }
        }
        if (!progressed)
            break;
    }
    free(waiting);
    free(w2);
    free(count);
    free(viol);
    free(v2);
    free(cand);
}

static int plan_run(const struct rota_input *in, const struct rota_options *opt,
                    const struct rota_prev_term *prev, size_t n_prev, bool greedy_only,
                    struct rota_plan *out, struct rota_changes *changes, struct mat_errors *err)
{
    memset(out, 0, sizeof *out);
    if (changes)
        memset(changes, 0, sizeof *changes);
    if (rota_validate(in, err) != 0)
        return -1;
    struct ctx cx;
    ctx_init(&cx, in);
    if (prev)
        ctx_set_prev(&cx, prev, n_prev);
    ctx_set_waiting(&cx);
    int n = cx.n, t = cx.t;
    uint64_t budget = budget_of(opt);
    struct rng r;
    rng_seed(&r, in->seed ^ UINT64_C(0x526f7461506c616e)); /* "RotaPlan" */
    struct state st;
    state_alloc(&st, &cx);
    struct search s = {.cx = &cx, .st = &st, .r = &r};
    s.best_at = xmalloc(sizeof *s.best_at * (size_t)t * n);
    s.best = (struct cost){INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INFINITY};
    s.w = xmalloc(sizeof *s.w * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        s.w[i] = 1;
    s.stamp = xcalloc((size_t)n * n, sizeof *s.stamp);
    char method[96] = "";
    if (greedy_only) {
        greedy_plan(&cx, &st);
        search_note(&s);
        snprintf(method, sizeof method, "greedy, term by term");
    } else {
        if (prev) {
            for (int k = 0; k < t; k++)
                seed_from_prev(&cx, k, st.at + (size_t)k * n);
            state_rebuild(&cx, &st);
            snprintf(method, sizeof method, "re-plan of the previous groups");
        } else {
            int *classes = xmalloc(sizeof *classes * (size_t)t * n), repeats = 0;
            int run = design_build(n, t, &r, budget / 10 * 6, &s.work, true, classes, &repeats,
                                   method, sizeof method);
            int *perm = xmalloc(sizeof *perm * (size_t)n);
            for (int i = 0; i < n; i++)
                perm[i] = i;
            shuffle_ints(&r, perm, n);
            for (size_t i = 0; i < (size_t)t * n; i++)
                st.at[i] = perm[classes[i]];
            free(perm);
            free(classes);
            state_rebuild(&cx, &st);
            size_t used = strlen(method);
            if (repeats == 0)
                snprintf(method + used, sizeof method - used, "; repeat-free run of %d", run);
            else
                snprintf(method + used, sizeof method - used, "; best run of %d has %d repeats",
                         run, repeats);
        }
        search_note(&s);
        if (!prev && !at_lower_bound(&cx, s.best) &&
            (cx.has_history || s.best.hard > 0 || s.best.rep > 0)) {
            struct state g;
            state_alloc(&g, &cx);
            greedy_plan(&cx, &g);
            s.work += (uint64_t)t * n * ((uint64_t)n / 16 + 8);
            if (cost_cmp(g.c, s.best) < 0) {
                state_copy_at(&cx, &st, g.at);
                search_note(&s);
                snprintf(method, sizeof method, "greedy seed");
            }
            state_free(&g);
        }
        uint64_t left = budget > s.work ? budget - s.work : 0;
        if (!at_lower_bound(&cx, s.best) &&
            (s.best.hard || s.best.keep || s.best.rep || s.best.host)) {
            search_repair(&s, left / 2);
            state_copy_at(&cx, &st, s.best_at);
        }
        left = budget > s.work ? budget - s.work : 0;
        if (!at_lower_bound(&cx, s.best))
            search_polish(&s, left);
    }
    state_copy_at(&cx, &st, s.best_at);
    int rc = 0;
    if (st.c.hard > 0) {
        report_infeasible(&cx, st.at, err);
        rc = -1;
    } else {
        int ng = cx.lay.ng, *hosts = xmalloc(sizeof *hosts * (size_t)t * ng), *prefer = NULL;
        if (prev) {
            prefer = xmalloc(sizeof *prefer * (size_t)t * ng);
            for (int k = 0; k < t; k++)
                for (int g = 0; g < ng; g++) {
                    int i = group_prev_index(&cx, k, state_group(&cx, &st, k, g), cx.lay.size[g]);
                    prefer[(size_t)k * ng + g] = i >= 0 ? cx.prev_host[k][i] : -1;
                }
        }
        if (!greedy_only)
            search_hosting(&s, prefer, budget / 5 + 100000);
        hosting_plan(&cx, st.at, prefer, hosts, &r, budget / 10 + 100000);
        plan_output(&cx, st.at, hosts, out);
        snprintf(out->method, sizeof out->method, "%s", method);
        out->work = s.work;
        if (changes && prev)
            changes_build(&cx, prev, n_prev, out, changes);
        free(hosts);
        free(prefer);
    }
    free(s.best_at);
    free(s.w);
    free(s.stamp);
    state_free(&st);
    ctx_free(&cx);
    return rc;
}

int rota_plan(const struct rota_input *in, const struct rota_options *opt, struct rota_plan *out,
              struct mat_errors *err)
{
    return plan_run(in, opt, NULL, 0, false, out, NULL, err);
}

int rota_plan_greedy(const struct rota_input *in, struct rota_plan *out, struct mat_errors *err)
{
    return plan_run(in, NULL, NULL, 0, true, out, NULL, err);
}

int rota_replan(const struct rota_input *in, const struct rota_prev_term *prev, size_t n_prev,
                const struct rota_options *opt, struct rota_plan *out, struct rota_changes *changes,
                struct mat_errors *err)
{
    return plan_run(in, opt, prev, n_prev, false, out, changes, err);
}
