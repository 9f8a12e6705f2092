/* The greedy baseline as a floor under a new cycle's plan (issue 10). The search weighs the
 * soft constraints as SPEC §7 does, and the weighed best can still read worse than greedy's
 * term-by-term plan on one measure while better on the rest (with travel on, greedy takes the
 * nearest fresh partners term by term and saves km by mismatching phases). A trust reads the
 * measures side by side, so where the plan is above greedy's on one, the schools are relabelled
 * across the whole cycle (a design stays a design: the repeat-free run and each school's turns
 * to host stay) to bring it down, without raising any other above greedy's. */
#include "rota_dominance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "rota_metrics.h"
#include "rota_plan.h"
#include "util.h"

/* The horizons a trust reads a plan over: a term, two terms, one, two and four years. */
#define DOM_HORIZONS ROTA_DOMINANCE_HORIZONS
static const int dom_horizon[DOM_HORIZONS] = {1, 2, 3, 6, 12};
#define DOM_MAX_TERMS 12

/* The measures side by side, and the soft cost SPEC §7 weighs them by (phase and balance weight
 * per mismatch and unbalanced group, travel weight per km of each group's longest trip): a plan
 * nearer greedy's on one measure must not cost more than greedy's. */
enum { DM_PHASE, DM_UNBALANCED, DM_MAX_KM, DM_TOTAL_KM, DM_SOFT, DM_COUNT };
_Static_assert(DM_COUNT == ROTA_DOMINANCE_MEASURES, "rota_dominance_goals holds every measure");
/* What one unit above greedy's weighs in the search, in phase mismatches: 10 km of the
 * longest trip or 20 km in total as much as a mismatch (SPEC §7's 0.05 per km). */
static const double dm_unit[DM_COUNT] = {1.0, 1.0, 0.1, 0.05, 1.0};
#define DOM_EXCESS_WEIGHT 10.0 /* an excess against the soft cost it may raise */
#define DOM_EPS 1e-6
/* At most this many moves, and this much work (about 0.15 s on one core at 60 schools). */
#define DOM_MAX_MOVES 250000
#define DOM_MAX_WORK UINT64_C(36000000)

/* The measures of one group, or of one term (sums, and the longest trip). */
struct dom_values {
    int phase, unbalanced;
    float max_km, total_km;
    float trips; /* the groups' longest trips added up (SPEC §7's travel) */
};

struct dom {
    const struct rota_ctx *cx;
    /* greedy's figures, over the horizons it plans without a repeat (nh of them, h[], the
     * longest hmax) */
    struct rota_dominance_goals g;
    bool on[DM_COUNT];        /* the measures the trust weighs */
    struct dom_values *group; /* hmax x ng */
    /* hosting rounds (every group of three: each school hosts once in three terms) whole in
     * the first hmax terms: the group each school hosts in each, rounds x n (k * ng + g) */
    int round_len, rounds;
    int *hosted_in;
    struct dom_values term[DOM_MAX_TERMS];
    double val[DOM_HORIZONS][DM_COUNT];
};

/* A move's effect on the first hmax terms: the groups it changes and the terms' new sums. */
struct dom_move {
    int count;
    int gi[2 * DOM_MAX_TERMS];
    struct dom_values v[2 * DOM_MAX_TERMS];
    struct dom_values term[DOM_MAX_TERMS];
    double val[DOM_HORIZONS][DM_COUNT];
};

static struct dom_values group_values(const struct rota_ctx *cx, const int *m, int size, int host)
{
    struct dom_values v = {rota_group_phase_mismatch(cx, m, size),
                           rota_group_unbalanced(cx, m, size), 0, 0, 0};
    const float *row = host >= 0 ? cx->km + (size_t)host * cx->n : NULL;
    for (int i = 0; row && i < size; i++) { /* 0 where a location is unknown, as the metrics */
        v.total_km += row[m[i]];
        v.max_km = row[m[i]] > v.max_km ? row[m[i]] : v.max_km;
    }
    v.trips = v.max_km;
    return v;
}

static void values_add(struct dom_values *sum, const struct dom_values *v)
{
    sum->phase += v->phase;
    sum->unbalanced += v->unbalanced;
    sum->total_km += v->total_km;
    sum->trips += v->trips;
    sum->max_km = v->max_km > sum->max_km ? v->max_km : sum->max_km;
}

static double soft_of(const struct rota_ctx *cx, int phase, int unbalanced, double trips)
{
    return (cx->phase_soft ? cx->phase_w * phase : 0) +
           (cx->balance ? cx->balance_w * unbalanced : 0) + (cx->travel ? cx->travel_w * trips : 0);
}

/* Each horizon's figures from the terms' (prefix sums; the longest trip so far). */
static void horizon_values(const struct dom *d, const struct dom_values *term,
                           double val[][DM_COUNT])
{
    struct dom_values run = {0};
    for (int i = 0, k = 0; i < d->g.nh; i++) {
        for (; k < d->g.h[i]; k++)
            values_add(&run, &term[k]);
        val[i][DM_PHASE] = run.phase;
        val[i][DM_UNBALANCED] = run.unbalanced;
        val[i][DM_MAX_KM] = run.max_km;
        val[i][DM_TOTAL_KM] = run.total_km;
        val[i][DM_SOFT] = soft_of(d->cx, run.phase, run.unbalanced, run.trips);
    }
}

static double excess_of(const struct dom *d, int i, int m, const double val[][DM_COUNT])
{
    double over = val[i][m] - d->g.goal[i][m];
    return d->on[m] && over > DOM_EPS ? over * dm_unit[m] : 0;
}

static double excess_sum(const struct dom *d, const double val[][DM_COUNT])
{
    double e = 0;
    for (int i = 0; i < d->g.nh; i++)
        for (int m = 0; m < DM_COUNT; m++)
            e += excess_of(d, i, m, val);
    return e;
}

/* How many measures of all horizons are above greedy's. */
static int excess_count(const struct dom *d, const double val[][DM_COUNT])
{
    int c = 0;
    for (int i = 0; i < d->g.nh; i++)
        for (int m = 0; m < DM_COUNT; m++)
            c += excess_of(d, i, m, val) > 1e-4;
    return c;
}

/* Is no excess of val above ref's (beyond float noise on km)? */
static bool no_excess_above(const struct dom *d, const double val[][DM_COUNT],
                            const double ref[][DM_COUNT])
{
    for (int i = 0; i < d->g.nh; i++)
        for (int m = 0; m < DM_COUNT; m++)
            if (excess_of(d, i, m, val) > excess_of(d, i, m, ref) + 1e-4)
                return false;
    return true;
}

/* The first count terms of at with hosts as a plan's terms (groups allocated: terms_free). */
static struct rota_term *terms_build(const struct rota_ctx *cx, const int *at, const int *hosts,
                                     int count)
{
    int n = cx->n, ng = cx->lay.ng;
    struct rota_term *terms = xcalloc((size_t)count, sizeof *terms);
    for (int k = 0; k < count; k++) {
        terms[k].id = cx->ids[k];
        terms[k].n_groups = (size_t)ng;
        terms[k].groups = xcalloc((size_t)ng, sizeof *terms[k].groups);
        for (int g = 0; g < ng; g++) {
            struct rota_group *gr = &terms[k].groups[g];
            gr->size = cx->lay.size[g];
            memcpy(gr->members, at + (size_t)k * n + cx->lay.start[g],
                   sizeof *gr->members * (size_t)gr->size);
            gr->host = hosts[(size_t)k * ng + g];
        }
    }
    return terms;
}

static void terms_free(struct rota_term *terms, int count)
{
    for (int k = 0; k < count; k++)
        free(terms[k].groups);
    free(terms);
}

/* The figures of the first hmax terms by rota_metrics_compute (what the plan reports). */
static void exact_values(const struct dom *d, const int *at, const int *hosts,
                         double val[][DM_COUNT])
{
    const struct rota_ctx *cx = d->cx;
    struct rota_term *terms = terms_build(cx, at, hosts, d->g.hmax);
    struct rota_metrics per[DOM_MAX_TERMS], total;
    struct dom_values term[DOM_MAX_TERMS];
    rota_metrics_compute(cx->in, terms, (size_t)d->g.hmax, per, &total);
    for (int k = 0; k < d->g.hmax; k++) {
        term[k] = (struct dom_values){per[k].phase_mismatches, per[k].unbalanced_groups,
                                      (float)per[k].max_km, (float)per[k].total_km, 0};
        for (int g = 0; g < cx->lay.ng; g++) /* the metrics give a term's longest trip only */
            term[k].trips += group_values(cx, terms[k].groups[g].members, terms[k].groups[g].size,
                                          terms[k].groups[g].host)
                                 .trips;
    }
    terms_free(terms, d->g.hmax);
    horizon_values(d, term, val);
}

int rota_cycle_hosting_violations(const struct rota_ctx *cx, const int *at, const int *hosts)
{
    struct rota_term *terms = terms_build(cx, at, hosts, cx->t);
    struct rota_metrics *per = xcalloc((size_t)cx->t, sizeof *per), total;
    rota_metrics_compute(cx->in, terms, (size_t)cx->t, per, &total);
    terms_free(terms, cx->t);
    free(per);
    return total.hosting_violations;
}

/* Greedy's figures for each horizon it plans without a repeat (a horizon where greedy repeats
 * is one the plan is better on whatever the rest, SPEC §7's order). */
static void dom_goals(struct dom *d)
{
    const struct rota_ctx *cx = d->cx;
    for (int i = 0; i < DOM_HORIZONS && dom_horizon[i] <= cx->t; i++) {
        struct rota_input sub = *cx->in;
        sub.terms = cx->ids;
        sub.n_terms = (size_t)dom_horizon[i];
        struct rota_plan g;
        struct mat_errors err;
        mat_errors_init(&err);
        if (rota_plan_greedy(&sub, &g, &err) == 0) {
            if (g.total.repeat_pairs == 0 && g.total.excluded_together == 0) {
                d->g.h[d->g.nh] = dom_horizon[i];
                d->g.goal[d->g.nh][DM_PHASE] = g.total.phase_mismatches;
                d->g.goal[d->g.nh][DM_UNBALANCED] = g.total.unbalanced_groups;
                d->g.goal[d->g.nh][DM_MAX_KM] = g.total.max_km;
                d->g.goal[d->g.nh][DM_TOTAL_KM] = g.total.total_km;
                double trips = 0;
                for (size_t k = 0; k < g.n_terms; k++)
                    for (size_t j = 0; j < g.terms[k].n_groups; j++) {
                        const struct rota_group *gr = &g.terms[k].groups[j];
                        trips += group_values(cx, gr->members, gr->size, gr->host).trips;
                    }
                d->g.goal[d->g.nh][DM_SOFT] =
                    soft_of(cx, g.total.phase_mismatches, g.total.unbalanced_groups, trips);
                d->g.hmax = dom_horizon[i];
                d->g.nh++;
            }
            rota_plan_free(&g);
        }
        mat_errors_free(&err);
    }
}

static void dom_load(struct dom *d, const struct rota_state *st, const int *hosts)
{
    const struct rota_ctx *cx = d->cx;
    int n = cx->n, ng = cx->lay.ng;
    for (int k = 0; k < d->g.hmax; k++) {
        d->term[k] = (struct dom_values){0};
        for (int g = 0; g < ng; g++) {
            size_t gi = (size_t)k * ng + g;
            d->group[gi] = group_values(cx, st->at + (size_t)k * n + cx->lay.start[g],
                                        cx->lay.size[g], hosts[gi]);
            values_add(&d->term[k], &d->group[gi]);
        }
    }
    horizon_values(d, d->term, d->val);
}

/* The plan's own soft cost breaks ties in the annealing in the units of the excess: a phase
 * mismatch, or 20 km of the groups' longest trips (SPEC §7's travel at 0.05 per km). Weighed
 * more, its km would outweigh any excess (at SPEC's example of 1.0 per km, 10 km of trips weigh
 * ten mismatches), so they are brought back to that scale. */
static double soft_tiebreak_scale(const struct rota_ctx *cx)
{
    double per_unit = cx->travel ? cx->travel_w * 20 : 1;
    return per_unit > 1 ? 1 / per_unit : 1;
}

static int relabelled(int m, int x, int y)
{
    return m == x ? y : m == y ? x : m;
}

/* The terms' and horizons' figures with the groups mv changes. */
static void move_figures(const struct dom *d, struct dom_move *mv)
{
    int ng = d->cx->lay.ng;
    memcpy(mv->term, d->term, sizeof mv->term);
    for (int i = 0; i < mv->count; i++) {
        int k = mv->gi[i] / ng;
        if (i > 0 && mv->gi[i - 1] / ng == k)
            continue; /* done with the change before it */
        struct dom_values tv = {0};
        for (int gi = k * ng; gi < (k + 1) * ng; gi++) {
            const struct dom_values *v = &d->group[gi];
            for (int j = i; j < mv->count && mv->gi[j] / ng == k; j++)
                v = mv->gi[j] == gi ? &mv->v[j] : v;
            values_add(&tv, v);
        }
        mv->term[k] = tv;
    }
    horizon_values(d, mv->term, mv->val);
}

/* The figures after relabelling x and y: each takes the other's place in every group and turn
 * to host (a host of both their group hosts as the other). */
static void dom_eval(const struct dom *d, const struct rota_state *st, const int *hosts, int x,
                     int y, struct dom_move *mv)
{
    const struct rota_ctx *cx = d->cx;
    int n = cx->n, ng = cx->lay.ng;
    mv->count = 0;
    for (int k = 0; k < d->g.hmax; k++) {
        int gx = cx->lay.group_of[st->pos[(size_t)k * n + x]],
            gy = cx->lay.group_of[st->pos[(size_t)k * n + y]];
        for (int side = 0; side < 2 && (side == 0 || gx != gy); side++) {
            int g = side ? gy : gx, size = cx->lay.size[g], nm[ROTA_GROUP_MAX];
            size_t gi = (size_t)k * ng + g;
            if (gx == gy && hosts[gi] != x && hosts[gi] != y)
                break; /* the same members and host */
            const int *m = rota_state_group(cx, st, k, g);
            for (int i = 0; i < size; i++)
                nm[i] = relabelled(m[i], x, y);
            mv->gi[mv->count] = (int)gi;
            mv->v[mv->count++] = group_values(cx, nm, size, relabelled(hosts[gi], x, y));
        }
    }
    move_figures(d, mv);
}

/* The group each school hosts in each whole round. */
static void rounds_load(struct dom *d, const int *hosts)
{
    int n = d->cx->n, ng = d->cx->lay.ng;
    for (int j = 0; j < d->rounds; j++) {
        int *in = d->hosted_in + (size_t)j * n;
        for (int i = 0; i < n; i++)
            in[i] = -1;
        for (int gi = j * d->round_len * ng; gi < (j + 1) * d->round_len * ng; gi++)
            in[hosts[gi]] = gi;
    }
}

/* A host rotation in a round: a hosts G1, b (in G1) hosts G2, c (in G2) hosts G3, which holds
 * a; b then hosts G1, c G2 and a G3 (each still hosts once in the round: the fairness and the
 * groups stay). From a random group of a random round; false if it has no such rotation.
 * hs: the three new hosts, in mv's order. */
static bool host_rotation(const struct dom *d, const struct rota_state *st, const int *hosts,
                          struct prng *r, struct dom_move *mv, int *hs)
{
    const struct rota_ctx *cx = d->cx;
    int n = cx->n, ng = cx->lay.ng, j = prng_below(r, d->rounds);
    int gi1 = (j * d->round_len + prng_below(r, d->round_len)) * ng + prng_below(r, ng);
    const int *in = d->hosted_in + (size_t)j * n;
    int a = hosts[gi1], found = 0, pick[3];
    const int *m1 = rota_state_group(cx, st, gi1 / ng, gi1 % ng);
    for (int i = 0; i < cx->lay.size[gi1 % ng]; i++) {
        int b = m1[i], gi2 = b == a ? -1 : in[b];
        if (gi2 < 0)
            continue;
        const int *m2 = rota_state_group(cx, st, gi2 / ng, gi2 % ng);
        for (int q = 0; q < cx->lay.size[gi2 % ng]; q++) {
            int c = m2[q], gi3 = c == b ? -1 : in[c];
            if (gi3 < 0 || gi3 / ng == gi1 / ng || gi3 / ng == gi2 / ng ||
                cx->lay.group_of[st->pos[(size_t)(gi3 / ng) * n + a]] != gi3 % ng)
                continue;
            if (prng_below(r, ++found) == 0) { /* one of those found, each as likely */
                pick[0] = gi2;
                pick[1] = gi3;
                pick[2] = b;
                hs[1] = c;
            }
        }
    }
    if (!found)
        return false;
    int gis[3] = {gi1, pick[0], pick[1]};
    hs[0] = pick[2];
    hs[2] = a;
    for (int x = 1; x < 3; x++) /* terms in order, for move_figures */
        for (int y = x; y > 0 && gis[y - 1] > gis[y]; y--) {
            int tg = gis[y], th = hs[y];
            gis[y] = gis[y - 1];
            hs[y] = hs[y - 1];
            gis[y - 1] = tg;
            hs[y - 1] = th;
        }
    mv->count = 3;
    for (int x = 0; x < 3; x++) {
        mv->gi[x] = gis[x];
        mv->v[x] = group_values(cx, rota_state_group(cx, st, gis[x] / ng, gis[x] % ng),
                                cx->lay.size[gis[x] % ng], hs[x]);
    }
    move_figures(d, mv);
    return true;
}

static void figures_apply(struct dom *d, const struct dom_move *mv)
{
    for (int i = 0; i < mv->count; i++)
        d->group[mv->gi[i]] = mv->v[i];
    memcpy(d->term, mv->term, sizeof d->term);
    memcpy(d->val, mv->val, sizeof d->val);
}

/* Applies an evaluated relabel to the figures and to the hosts of every term (before the state
 * moves: the groups are found by the old positions). */
static void dom_apply(struct dom *d, const struct rota_state *st, int *hosts, int x, int y,
                      const struct dom_move *mv)
{
    const struct rota_ctx *cx = d->cx;
    int n = cx->n, ng = cx->lay.ng;
    figures_apply(d, mv);
    for (int k = 0; k < cx->t; k++) {
        int gx = cx->lay.group_of[st->pos[(size_t)k * n + x]],
            gy = cx->lay.group_of[st->pos[(size_t)k * n + y]];
        int *hx = &hosts[(size_t)k * ng + gx], *hy = &hosts[(size_t)k * ng + gy];
        *hx = relabelled(*hx, x, y);
        if (gy != gx)
            *hy = relabelled(*hy, x, y);
    }
    rounds_load(d, hosts);
}

/* Whole hosting rounds in the first hmax terms (groups of three only: a round is then three
 * terms, each school hosting once), or none where the hosts do not form them. */
static void rounds_setup(struct dom *d, const int *hosts)
{
    const struct rota_ctx *cx = d->cx;
    int n = cx->n, ng = cx->lay.ng;
    d->round_len = 3;
    d->rounds = n == 3 * ng ? d->g.hmax / d->round_len : 0;
    if (d->rounds == 0)
        return;
    d->hosted_in = xmalloc(sizeof *d->hosted_in * (size_t)d->rounds * n);
    rounds_load(d, hosts);
    for (int i = 0; i < d->rounds * n; i++)
        if (d->hosted_in[i] < 0) { /* someone hosts twice in a round: no rotations */
            d->rounds = 0;
            return;
        }
}

/* The plan kept while annealing: the fewest measures above greedy's, then the least excess,
 * then the least soft cost, none of its excesses above the start's. */
struct dom_best {
    int count;
    double excess, soft;
    int *at, *hosts;
    bool found;
};

/* Annealing on the excess (DOM_EXCESS_WEIGHT each) and the soft cost: relabels, and host
 * rotations where there are rounds. */
static void dom_anneal(struct dom *d, struct rota_search *s, int *hosts, uint64_t budget,
                       struct dom_best *best)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int n = cx->n, ng = cx->lay.ng;
    size_t tn = (size_t)cx->t * n, th = (size_t)cx->t * ng;
    double start[DOM_HORIZONS][DM_COUNT], cur = excess_sum(d, d->val);
    memcpy(start, d->val, sizeof start);
    uint64_t per = rota_relabel_work(cx) + (uint64_t)d->g.hmax * (ng + 8);
    uint64_t moves = (budget < DOM_MAX_WORK ? budget : DOM_MAX_WORK) / per;
    moves = moves > DOM_MAX_MOVES ? DOM_MAX_MOVES : moves;
    struct dom_move dm;
    struct rota_move mv;
    for (uint64_t i = 0; i < moves && best->excess > DOM_EPS; i++) {
        double temp = pow(1e-3, (double)i / (double)moves); /* a mismatch, cooling */
        s->work += per;
        int x = 0, y = 0, hs[3];
        bool rotation = d->rounds > 0 && prng_below(s->r, 4) == 0;
        if (rotation) {
            if (!host_rotation(d, st, hosts, s->r, &dm, hs))
                continue;
        } else {
            x = prng_below(s->r, n);
            y = prng_below(s->r, n);
            if (x == y)
                continue;
            dom_eval(d, st, hosts, x, y, &dm);
        }
        double de = excess_sum(d, dm.val) - cur, df = de * DOM_EXCESS_WEIGHT;
        if (df > 30 * temp) /* out of reach whatever its soft cost */
            continue;
        if (!rotation) { /* a rotation keeps the groups: the levels and the soft cost */
            rota_eval_relabel(cx, st, x, y, &mv);
            if (rota_move_level(&mv) > 0)
                continue;
            df += mv.d.soft * soft_tiebreak_scale(cx);
        }
        if (df > 0 && prng_unit(s->r) >= exp(-df / temp))
            continue;
        if (rotation) {
            figures_apply(d, &dm);
            for (int q = 0; q < 3; q++) {
                hosts[dm.gi[q]] = hs[q];
                d->hosted_in[(size_t)(dm.gi[q] / ng / d->round_len) * n + hs[q]] = dm.gi[q];
            }
        } else {
            dom_apply(d, st, hosts, x, y, &dm);
            rota_apply_relabel(cx, st, &mv);
        }
        cur = excess_sum(d, d->val);
        int count = excess_count(d, d->val);
        if (count <= best->count && no_excess_above(d, d->val, start) &&
            (count < best->count || cur < best->excess - DOM_EPS ||
             (cur <= best->excess + DOM_EPS && st->c.soft < best->soft - DOM_EPS))) {
            *best = (struct dom_best){count, cur, st->c.soft, best->at, best->hosts, true};
            memcpy(best->at, st->at, sizeof *best->at * tn);
            memcpy(best->hosts, hosts, sizeof *best->hosts * th);
        }
    }
}

/* val's figures by horizon (the horizons greedy plans without a repeat; the others 0). */
static void figures_of(const struct dom *d, const double val[][DM_COUNT],
                       struct rota_dominance_figures *fig)
{
    *fig = (struct rota_dominance_figures){{0}, {0}};
    for (int i = 0; i < d->g.nh; i++) {
        int slot = 0;
        while (dom_horizon[slot] != d->g.h[i])
            slot++;
        for (int m = 0; m < DM_COUNT; m++) {
            double e = excess_of(d, i, m, val);
            fig->count[slot] += e > 1e-4;
            fig->excess[slot] += e;
        }
    }
}

bool rota_dominance_nearer(const struct rota_dominance_figures *a,
                           const struct rota_dominance_figures *b)
{
    /* a year, two and four years (the design's), then a term and two (the year's order) */
    static const int order[DOM_HORIZONS] = {2, 3, 4, 0, 1};
    for (int o = 0; o < DOM_HORIZONS; o++) {
        int i = order[o];
        if (a->count[i] != b->count[i])
            return a->count[i] < b->count[i];
        if (fabs(a->excess[i] - b->excess[i]) > 1e-6)
            return a->excess[i] < b->excess[i];
    }
    return false;
}

bool rota_dominance_above(const struct rota_dominance_figures *f)
{
    for (int i = 0; i < DOM_HORIZONS; i++)
        if (f->count[i] > 0)
            return true;
    return false;
}

/* Greedy's first term is its best, and a cycle's first year weighs its terms alike, so its
 * terms are put in the order nearest greedy's (rota_dominance_nearer: over a term, then two;
 * the year's figures and every longer horizon's stay), where the whole cycle's hosting stays as
 * fair. val: the plan's figures, updated with it. Returns whether the order changed. */
static bool first_year_order(const struct dom *d, struct rota_search *s, int *hosts,
                             double val[][DM_COUNT])
{
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, ng = cx->lay.ng, t = cx->t, year = t < 3 ? t : 3;
    if (year < 2)
        return false;
    size_t tn = (size_t)t * n, th = (size_t)t * ng;
    int *at = xmalloc(sizeof *at * tn), *h = xmalloc(sizeof *h * th);
    int *best_at = xmalloc(sizeof *best_at * tn), *best_h = xmalloc(sizeof *best_h * th);
    struct rota_dominance_figures best, f;
    figures_of(d, val, &best);
    int violations = rota_cycle_hosting_violations(cx, s->st->at, hosts);
    bool changed = false;
    for (int p = 1; p < 6; p++) {
        if (year == 2 && perm[p][2] != 2)
            continue; /* two terms: only their exchange */
        memcpy(at, s->st->at, sizeof *at * tn);
        memcpy(h, hosts, sizeof *h * th);
        for (int k = 0; k < year; k++) {
            memcpy(at + (size_t)k * n, s->st->at + (size_t)perm[p][k] * n, sizeof *at * n);
            memcpy(h + (size_t)k * ng, hosts + (size_t)perm[p][k] * ng, sizeof *h * ng);
        }
        double v[DOM_HORIZONS][DM_COUNT];
        exact_values(d, at, h, v);
        figures_of(d, v, &f);
        if (rota_dominance_nearer(&f, &best) &&
            rota_cycle_hosting_violations(cx, at, h) <= violations) {
            best = f;
            changed = true;
            memcpy(best_at, at, sizeof *at * tn);
            memcpy(best_h, h, sizeof *h * th);
            memcpy(val, v, sizeof v);
        }
    }
    if (changed) {
        rota_state_copy_at(cx, s->st, best_at);
        memcpy(hosts, best_h, sizeof *hosts * th);
    }
    free(at);
    free(h);
    free(best_at);
    free(best_h);
    return changed;
}

bool rota_dominance_pass(struct rota_search *s, int *hosts, uint64_t budget,
                         struct rota_dominance_goals *goals, struct rota_dominance_figures *fig)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int n = cx->n, ng = cx->lay.ng, t = cx->t;
    if (fig)
        *fig = (struct rota_dominance_figures){{0}, {0}};
    if (ng < 2 || t < 1)
        return false;
    struct dom d = {.cx = cx, .on = {cx->phase_soft, cx->balance, true, true, true}};
    if (!goals->ready) {
        dom_goals(&d);
        d.g.ready = true;
        *goals = d.g;
    }
    d.g = *goals;
    if (d.g.nh == 0)
        return false;
    double exact0[DOM_HORIZONS][DM_COUNT];
    exact_values(&d, st->at, hosts, exact0);
    if (excess_sum(&d, exact0) <= DOM_EPS)
        return false;
    size_t tn = (size_t)t * n, th = (size_t)t * ng;
    d.group = xmalloc(sizeof *d.group * (size_t)d.g.hmax * ng);
    dom_load(&d, st, hosts);
    rounds_setup(&d, hosts);
    int *orig_at = xmalloc(sizeof *orig_at * tn), *orig_hosts = xmalloc(sizeof *orig_hosts * th);
    memcpy(orig_at, st->at, sizeof *orig_at * tn);
    memcpy(orig_hosts, hosts, sizeof *orig_hosts * th);
    struct dom_best best = {excess_count(&d, d.val),
                            excess_sum(&d, d.val),
                            st->c.soft,
                            xmalloc(sizeof *best.at * tn),
                            xmalloc(sizeof *best.hosts * th),
                            false};
    dom_anneal(&d, s, hosts, budget, &best);
    bool kept = false;
    double exact[DOM_HORIZONS][DM_COUNT];
    if (best.found) {
        exact_values(&d, best.at, best.hosts, exact);
        kept = no_excess_above(&d, exact, exact0) &&
               (excess_count(&d, exact) < excess_count(&d, exact0) ||
                excess_sum(&d, exact) < excess_sum(&d, exact0) - 1e-3);
    }
    rota_state_copy_at(cx, st, kept ? best.at : orig_at);
    memcpy(hosts, kept ? best.hosts : orig_hosts, sizeof *hosts * th);
    if (!kept)
        memcpy(exact, exact0, sizeof exact);
    bool reordered = first_year_order(&d, s, hosts, exact); /* after: the year's figures stay */
    if (fig)
        figures_of(&d, exact, fig);
    free(orig_at);
    free(orig_hosts);
    free(best.at);
    free(best.hosts);
    free(d.group);
    free(d.hosted_in);
    return kept || reordered;
}
