/* The planner's problem (layer 2): the schools, the terms to plan, what history says about
 * each pair, exclusions, distances and the lexicographic objective, and the measures of one
 * group that the search and the hosting share. Built once per plan from a rota_input. */
#include "rota_problem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* The planner's problem: schools, the terms to plan, what history says about each pair. */

void rota_ctx_set_min_gap(struct rota_ctx *cx, int gap)
{
    cx->min_gap = gap;
    for (int d = 1; d < gap && d <= cx->maxd; d++)
        cx->unit[d] *= ROTA_GAP_PENALTY;
}

double rota_soft_weight(int k)
{
    if (k < ROTA_FRONT_TERMS)
        return 1.0;
    double w = pow(ROTA_YEAR_WEIGHT, k / ROTA_FRONT_TERMS);
    return w > ROTA_REST_WEIGHT ? w : ROTA_REST_WEIGHT;
}

void rota_ctx_set_soft_profile(struct rota_ctx *cx)
{
    if (!cx->soft_on)
        return;
    cx->tw = xmalloc(sizeof *cx->tw * (size_t)cx->t);
    for (int k = 0; k < cx->t; k++)
        cx->tw[k] = rota_soft_weight(k);
    bool located = false;
    for (int i = 0; i < cx->n; i++)
        located |= cx->in->schools[i].has_location;
    if (!cx->travel && located) {
        cx->km_tie = ROTA_KM_TIE;
        float widest = 0;
        for (size_t i = 0; i < (size_t)cx->n * (size_t)cx->n; i++)
            widest = cx->km[i] > widest ? cx->km[i] : widest;
        double least = INFINITY; /* the smallest weight the km must not outweigh */
        if (cx->phase_soft)
            least = cx->phase_w;
        if (cx->balance && cx->balance_w < least)
            least = cx->balance_w;
        cx->km_tail = ROTA_KM_TAIL_FROM * widest;
        if (widest > cx->km_tail && isfinite(least))
            cx->km_tail_w = ROTA_KM_TAIL * least / (widest - cx->km_tail);
    }
}

int rota_cost_cmp(struct rota_cost a, struct rota_cost b)
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

void rota_ctx_free(struct rota_ctx *cx)
{
    rota_layout_free(&cx->lay);
    free(cx->ids);
    free(cx->tl);
    free(cx->hist);
    free(cx->hist_order);
    free(cx->excl);
    free(cx->phase);
    free(cx->strong);
    free(cx->category);
    free(cx->km);
    free(cx->unit);
    free(cx->tw);
    for (int k = 0; cx->prev && k < cx->t; k++) {
        free(cx->prev[k]);
        free(cx->prev_size[k]);
        free(cx->prev_host[k]);
    }
    free(cx->prev);
    free(cx->prev_size);
    free(cx->prev_host);
    free(cx->prev_n);
    free(cx->prev_of);
    free(cx->prev_shared);
    free(cx->wait0);
}

void rota_ctx_init(struct rota_ctx *cx, const struct rota_input *in)
{
    memset(cx, 0, sizeof *cx);
    int n = (int)in->n_schools, t = (int)in->n_terms;
    cx->in = in;
    cx->n = n;
    cx->t = t;
    rota_layout_init(&cx->lay, n);
    cx->ids = xmalloc(sizeof *cx->ids * (size_t)t);
    memcpy(cx->ids, in->terms, sizeof *cx->ids * (size_t)t);
    qsort(cx->ids, (size_t)t, sizeof *cx->ids, term_id_cmp);
    cx->tl = xmalloc(sizeof *cx->tl * (size_t)t);
    for (int k = 0; k < t; k++)
        cx->tl[k] = rota_term_index(cx->ids[k]);
    cx->hist = xmalloc(sizeof *cx->hist * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        cx->hist[i] = ROTA_NO_MEET;
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
        cx->has_excl = true;
    }
    cx->phase = xmalloc((size_t)n + 1);
    cx->strong = xmalloc((size_t)n + 1);
    cx->category = xmalloc((size_t)n + 1);
    for (int i = 0; i < n; i++) {
        cx->phase[i] = (uint8_t)in->schools[i].phase;
        cx->strong[i] = in->schools[i].strength >= 4;
        cx->category[i] = in->schools[i].category;
    }
    cx->km = xcalloc((size_t)n * n, sizeof *cx->km);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            const struct rota_school *sa = &in->schools[a], *sb = &in->schools[b];
            if (sa->has_location && sb->has_location)
                cx->km[a * n + b] = cx->km[b * n + a] =
                    (float)geo_haversine_km(sa->lat, sa->lon, sb->lat, sb->lon);
        }
    cx->maxd = cx->tl[t - 1] - first + 1;
    cx->unit = xmalloc(sizeof *cx->unit * ((size_t)cx->maxd + 1));
    cx->unit[0] = ROTA_REP_ONE;
    for (int d = 1; d <= cx->maxd; d++) {
        int64_t u = llround((double)ROTA_REP_ONE * exp2(-(double)(d - 1) / in->constraints.decay));
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

int rota_group_phase_mismatch(const struct rota_ctx *cx, const int *m, int size)
{
    if (size == 3) { /* the common group, without the loops: the same count */
        uint8_t a = cx->phase[m[0]], b = cx->phase[m[1]], c = cx->phase[m[2]];
        return a == b && b == c ? 0 : a == b || a == c || b == c ? 1 : 2;
    }
    int best = 0;
    for (int i = 0; i < size; i++) {
        int same = 0;
        for (int j = 0; j < size; j++)
            same += cx->phase[m[j]] == cx->phase[m[i]];
        if (same > best)
            best = same;
    }
    return size - best;
}

bool rota_group_unbalanced(const struct rota_ctx *cx, const int *m, int size)
{
    int strong = 0, category = 0;
    for (int i = 0; i < size; i++) {
        strong += cx->strong[m[i]];
        category += cx->category[m[i]];
    }
    return strong == 0 || category >= 2;
}

/* The longest trip to the best-placed host (the travel a group costs before hosts are set),
 * and, if span is not NULL, the longest distance between two members. */
static double group_km(const struct rota_ctx *cx, const int *m, int size, double *span)
{
    if (size == 3) { /* the common group: each member's longer trip to the other two, least */
        const float *ka = cx->km + (size_t)m[0] * cx->n, *kb = cx->km + (size_t)m[1] * cx->n;
        float ab = ka[m[1]], ac = ka[m[2]], bc = kb[m[2]];
        float ha = ab > ac ? ab : ac, hb = ab > bc ? ab : bc, hc = ac > bc ? ac : bc;
        float best = ha < hb ? ha : hb;
        if (span)
            *span = ha > bc ? ha : bc;
        return best < hc ? best : hc;
    }
    double best = INFINITY, longest = 0;
    for (int h = 0; h < size; h++) {
        double worst = 0;
        for (int i = 0; i < size; i++)
            if (cx->km[m[h] * cx->n + m[i]] > worst)
                worst = cx->km[m[h] * cx->n + m[i]];
        if (worst < best)
            best = worst;
        if (worst > longest)
            longest = worst;
    }
    if (span)
        *span = longest;
    return size ? best : 0;
}

int rota_group_hard(const struct rota_ctx *cx, const int *m, int size)
{
    int h = 0;
    for (int i = 0; cx->has_excl && i < size; i++)
        for (int j = i + 1; j < size; j++)
            h += cx->excl[m[i] * cx->n + m[j]];
    if (cx->phase_hard)
        h += rota_group_phase_mismatch(cx, m, size);
    return h;
}

double rota_group_soft(const struct rota_ctx *cx, const int *m, int size)
{
    double s = 0;
    if (cx->phase_soft)
        s += cx->phase_w * rota_group_phase_mismatch(cx, m, size);
    if (cx->balance && rota_group_unbalanced(cx, m, size))
        s += cx->balance_w;
    if (cx->travel) {
        s += cx->travel_w * group_km(cx, m, size, NULL);
    } else if (cx->km_tie > 0) {
        double span, radius = group_km(cx, m, size, &span);
        s += cx->km_tie * radius + (span > cx->km_tail ? cx->km_tail_w * (span - cx->km_tail) : 0);
    }
    return s;
}

/* Is this group (any order) one of term k's previous groups? Returns its index or -1. */
int rota_group_prev_index(const struct rota_ctx *cx, int k, const int *m, int size)
{
    if (!cx->replan)
        return -1;
    if (!cx->prev_shared[k]) { /* a partition: the group of its first member, if all are in it */
        const int *of = cx->prev_of + (size_t)k * cx->n;
        int g = of[m[0]];
        if (g < 0 || cx->prev_size[k][g] != size)
            return -1;
        for (int i = 1; i < size; i++)
            if (of[m[i]] != g)
                return -1;
        return g;
    }
    int s[ROTA_GROUP_MAX];
    memcpy(s, m, sizeof *s * (size_t)size);
    rota_sort_ints(s, size);
    for (int i = 0; i < cx->prev_n[k]; i++)
        if (cx->prev_size[k][i] == size &&
            memcmp(cx->prev[k] + (size_t)i * ROTA_GROUP_MAX, s, sizeof *s * (size_t)size) == 0)
            return i;
    return -1;
}

int rota_group_kept_index(const struct rota_ctx *cx, int k, const int *m, int size)
{
    int i = rota_group_prev_index(cx, k, m, size);
    if (i >= 0 || !cx->replan || cx->prev_shared[k])
        return i;
    const int *of = cx->prev_of + (size_t)k * cx->n;
    for (int a = 0; a < size; a++) {
        int g = of[m[a]];
        if (g < 0 || cx->prev_size[k][g] >= size || cx->prev[k][(size_t)g * ROTA_GROUP_MAX] < 0)
            continue; /* none, not smaller, or lost a member (departed sort first, as -1) */
        int in = 0;
        for (int b = 0; b < size; b++)
            in += of[m[b]] == g;
        if (in == cx->prev_size[k][g])
            return g;
    }
    return -1;
}
