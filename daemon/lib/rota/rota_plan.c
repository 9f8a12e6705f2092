/* The planning runs: a plan from a design fitted to the schools, a re-plan that keeps what
 * still fits, and the greedy baseline; each validates, builds the problem, searches, chooses
 * hosts and recomputes the metrics. Deterministic for the seed: budgets count work. */
#include "rota_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "rota_design.h"
#include "rota_dominance.h"
#include "rota_hosting.h"
#include "rota_join.h"
#include "rota_metrics.h"
#include "rota_search.h"
#include "rota_validate.h"
#include "util.h"

#define WORK_PER_MS 20000 /* rough calibration of the deterministic budget */

/* ------------------------------------------------------------------------------------ */
/* Planning runs. */

uint64_t rota_plan_budget(const struct rota_options *opt)
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

static void ctx_set_prev(struct rota_ctx *cx, const struct rota_prev_term *prev, size_t n_prev)
{
    int *by = urn_index(cx->in);
    cx->replan = true;
    cx->prev_n = xcalloc((size_t)cx->t, sizeof *cx->prev_n);
    cx->prev = xcalloc((size_t)cx->t, sizeof *cx->prev);
    cx->prev_size = xcalloc((size_t)cx->t, sizeof *cx->prev_size);
    cx->prev_host = xcalloc((size_t)cx->t, sizeof *cx->prev_host);
    cx->prev_of = xmalloc(sizeof *cx->prev_of * (size_t)cx->t * cx->n);
    cx->prev_shared = xcalloc((size_t)cx->t, 1);
    for (size_t i = 0; i < (size_t)cx->t * cx->n; i++)
        cx->prev_of[i] = -1;
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
            int *of = cx->prev_of + (size_t)k * cx->n;
            for (int i = 0; i < size; i++) {
                m[i] = urn_find(cx->in, by, pg->members[i]);
                if (m[i] >= 0 && of[m[i]] >= 0)
                    cx->prev_shared[k] = 1;
                else if (m[i] >= 0)
                    of[m[i]] = (int)g;
            }
            rota_sort_ints(m, size);
            cx->prev_size[k][g] = size;
            cx->prev_host[k][g] = pg->host[0] ? urn_find(cx->in, by, pg->host) : -1;
        }
    }
    free(by);
}

/* A first re-plan: the previous groups that are still whole go into slots of their size,
 * broken ones into the closest slots, then joiners and leftovers fill the gaps. */
static void seed_from_prev(const struct rota_ctx *cx, int k, int *row)
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

static void plan_output(const struct rota_ctx *cx, const int *at, const int *hosts,
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

static void changes_build(const struct rota_ctx *cx, const struct rota_prev_term *prev,
                          size_t n_prev, const struct rota_plan *out, struct rota_changes *ch)
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
            int i = rota_group_prev_index(cx, (int)k, tm->groups[g].members, tm->groups[g].size);
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

static void report_infeasible(const struct rota_ctx *cx, const int *at, struct mat_errors *err)
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
                    rota_term_label(cx->ids[k], label, sizeof label);
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

/* The first arrangement: the previous groups (re-plan), a given arrangement (a later window
 * of a cycle), or a design laid onto the schools by a seeded relabelling, or, given a first
 * term (first_row: n positions in layout order), by the relabelling that makes the design's
 * first class that term. */
static void plan_start(struct rota_search *s, const struct rota_run *run, char *method, size_t mlen,
                       uint64_t budget, const int *first_row)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int n = cx->n, t = cx->t;
    if (run->prev) {
        for (int k = 0; k < t; k++)
            seed_from_prev(cx, k, st->at + (size_t)k * n);
        rota_state_rebuild(cx, st);
        rota_join_seed(s);
        snprintf(method, mlen, "re-plan of the previous groups");
        return;
    }
    if (run->seed_at) {
        rota_state_copy_at(cx, st, run->seed_at);
        snprintf(method, mlen, "the cycle again, pairs that met longest ago first");
        return;
    }
    int *classes = xmalloc(sizeof *classes * (size_t)t * n), repeats = 0;
    int len = rota_design_build(n, t, s->r, budget / 10 * 6, &s->work, true, classes, &repeats,
                                method, mlen);
    int *perm = xmalloc(sizeof *perm * (size_t)n);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    rota_shuffle_ints(s->r, perm, n);
    for (int p = 0; first_row && p < n; p++)
        perm[classes[p]] = first_row[p];
    for (size_t i = 0; i < (size_t)t * n; i++)
        st->at[i] = perm[classes[i]];
    free(perm);
    free(classes);
    rota_state_rebuild(cx, st);
    size_t used = strlen(method);
    if (repeats == 0)
        snprintf(method + used, mlen - used, "; repeat-free run of %d", len);
    else
        snprintf(method + used, mlen - used, "; best run of %d has %d repeats", len, repeats);
}

/* From the first arrangement: the greedy plan when it starts better, repair, polish. */
static void plan_search(struct rota_search *s, const struct rota_run *run, char *method,
                        size_t mlen, uint64_t budget)
{
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, t = cx->t;
    rota_search_note(s);
    if (s->gave_up)
        return;
    if (!run->prev && !run->seed_at && !rota_at_lower_bound(cx, s->best) &&
        (cx->has_history || s->best.hard > 0 || s->best.rep > 0)) {
        struct rota_state g;
        rota_state_alloc(&g, cx);
        rota_greedy_plan(cx, &g);
        s->work += (uint64_t)t * n * ((uint64_t)n / 16 + 8);
        if (rota_cost_cmp(g.c, s->best) < 0) {
            rota_state_copy_at(cx, s->st, g.at);
            rota_search_note(s);
            snprintf(method, mlen, "greedy seed");
        }
        rota_state_free(&g);
        if (s->gave_up)
            return;
    }
    uint64_t left = budget > s->work ? budget - s->work : 0;
    /* a cycle again: its repeats cannot all go and it already repeats the pairs that met
     * longest ago, so only a short look for pairs that never met */
    if (run->seed_at && left > (uint64_t)t * n * 64)
        left = (uint64_t)t * n * 64;
    if (!rota_at_lower_bound(cx, s->best) &&
        (s->best.hard || s->best.keep || s->best.rep || s->best.host)) {
        rota_search_repair(s, left / 2);
        if (s->gave_up)
            return;
        rota_state_copy_at(cx, s->st, s->best_at);
    }
    left = budget > s->work ? budget - s->work : 0;
    if (run->seed_at && left > (uint64_t)t * n * 256) /* its groups were polished once */
        left = (uint64_t)t * n * 256;
    if (!rota_at_lower_bound(cx, s->best))
        rota_search_polish(s, left);
}

/* A new cycle's first window with the soft constraints on: repeat-free designs differ in how
 * well their first terms can be fitted to the schools (phases, strengths, places), and one
 * polish cannot tell, so several designs are found and laid onto the schools, each polished
 * briefly, and the best is polished in full. Only when the budget leaves room for it and the
 * first design came cheap and clean (no excluded pair or repeat to repair); the starts share a
 * work budget, so the plan stays deterministic. */
#define FRONT_STARTS 16
#define FRONT_WORK UINT64_C(3000000)      /* all the starts together (budget: 8 times this) */
#define FRONT_POLISH UINT64_C(250000)     /* the brief polish of one start */
#define FRONT_START_WORK UINT64_C(500000) /* one start's search after its design */
#define FRONT_FINALS 3                    /* the most starts polished in full */
#define FRONT_FINALS_WORK (2 * ROTA_POLISH_FRONT_MAX) /* their polishes together */
/* The relabelling towards greedy's measures of each final after the best (a sixth of what the
 * best may take: as near on the tables of docs/rota.md, about 60 ms instead of 400 at 32
 * schools) */
#define FRONT_FLOOR_WORK UINT64_C(6000000)

static bool front_clean(const struct rota_cost *c)
{
    return c->hard == 0 && c->keep == 0 && c->rep == 0 && c->host == 0;
}

/* The best starts kept for a full polish, best first. */
struct front_keep {
    int count, cap;
    struct rota_cost cost[FRONT_FINALS];
    int *at[FRONT_FINALS];
    char method[FRONT_FINALS][ROTA_METHOD_LEN];
};

static void front_keep_offer(struct front_keep *fk, const struct rota_search *s, const char *method,
                             size_t tn)
{
    if (fk->count == fk->cap && rota_cost_cmp(s->best, fk->cost[fk->cap - 1]) >= 0)
        return;
    int i = fk->count < fk->cap ? fk->count++ : fk->cap - 1;
    int *slot = fk->at[i];
    for (; i > 0 && rota_cost_cmp(s->best, fk->cost[i - 1]) < 0; i--) {
        fk->cost[i] = fk->cost[i - 1];
        fk->at[i] = fk->at[i - 1];
        memcpy(fk->method[i], fk->method[i - 1], sizeof fk->method[i]);
    }
    fk->cost[i] = s->best;
    fk->at[i] = slot;
    memcpy(slot, s->best_at, sizeof *slot * tn);
    snprintf(fk->method[i], sizeof fk->method[i], "%s", method);
}

static void front_keep_swap(struct front_keep *fk, int i, int j)
{
    struct rota_cost c = fk->cost[i];
    int *a = fk->at[i];
    char m[ROTA_METHOD_LEN];
    memcpy(m, fk->method[i], sizeof m);
    fk->cost[i] = fk->cost[j];
    fk->at[i] = fk->at[j];
    memcpy(fk->method[i], fk->method[j], sizeof m);
    fk->cost[j] = c;
    fk->at[j] = a;
    memcpy(fk->method[j], m, sizeof m);
}

static void plan_front(struct rota_search *s, const struct rota_run *run, char *method, size_t mlen,
                       uint64_t budget, struct front_keep *finals)
{
    const struct rota_ctx *cx = s->cx;
    int n = cx->n, t = cx->t;
    uint64_t w0 = s->work;
    plan_start(s, run, method, mlen, budget, NULL);
    if (budget < 8 * FRONT_WORK || !front_clean(&s->st->c) || s->work - w0 > FRONT_WORK / 4) {
        plan_search(s, run, method, mlen, budget);
        return;
    }
    const struct rota_cost none = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INFINITY};
    size_t tn = (size_t)t * n;
    /* the best starts polished in full, as many as FRONT_FINALS_WORK holds; one where a polish
     * is of the longest kind already (45 and 60 schools: a second would near a second of time) */
    uint64_t polish = rota_search_polish_length(cx);
    struct front_keep fk = {
        .cap = polish < ROTA_POLISH_FRONT_MAX ? (int)(FRONT_FINALS_WORK / polish) : 1};
    fk.cap = fk.cap < 1 ? 1 : fk.cap > FRONT_FINALS ? FRONT_FINALS : fk.cap;
    for (int i = 0; i < fk.cap; i++)
        fk.at[i] = xmalloc(sizeof *fk.at[i] * tn);
    char m[ROTA_METHOD_LEN];
    s->polish_cap = FRONT_POLISH;
    s->cold = true;
    plan_search(s, run, method, mlen, s->work + FRONT_START_WORK);
    if (s->gave_up) {
        for (int i = 0; i < fk.cap; i++)
            free(fk.at[i]);
        return;
    }
    front_keep_offer(&fk, s, method, tn);
    /* one start makes the design's first class greedy's first term */
    struct rota_state g;
    rota_state_alloc(&g, cx);
    rota_greedy_plan(cx, &g);
    s->work += (uint64_t)t * n * ((uint64_t)n / 16 + 8);
    for (int i = 1; i < FRONT_STARTS && s->work - w0 < FRONT_WORK && !s->gave_up; i++) {
        s->best = none;
        /* a design out of reach is not waited for */
        plan_start(s, run, m, sizeof m, FRONT_WORK, i == 1 ? g.at : NULL);
        if (!front_clean(&s->st->c))
            continue;
        plan_search(s, run, m, sizeof m, s->work + FRONT_START_WORK);
        front_keep_offer(&fk, s, m, tn);
    }
    rota_state_free(&g);
    s->polish_cap = 0;
    if (s->gave_up) { /* not wanted (rota_run.match, cancel): nothing kept to polish */
        for (int i = 0; i < fk.cap; i++)
            free(fk.at[i]);
        s->cold = false;
        return;
    }
    /* each polished in full, in place; plan_finish chooses among them (finals, best first) */
    for (int i = 0; i < fk.count && !s->gave_up; i++) {
        s->best = fk.cost[i];
        memcpy(s->best_at, fk.at[i], sizeof *s->best_at * tn);
        rota_state_copy_at(cx, s->st, fk.at[i]);
        if (!rota_at_lower_bound(cx, s->best))
            rota_search_polish(s, budget > s->work ? budget - s->work : 0);
        int j = finals->count++;
        finals->cost[j] = s->best;
        finals->at[j] = fk.at[i];
        fk.at[i] = NULL;
        memcpy(finals->at[j], s->best_at, sizeof *s->best_at * tn);
        memcpy(finals->method[j], fk.method[i], sizeof finals->method[j]);
    }
    s->cold = false;
    for (int i = 0; i < fk.cap; i++)
        free(fk.at[i]);
    /* the best first, as the search weighs them (the earliest of equals, as before) */
    for (int i = 1; i < finals->count; i++)
        if (rota_cost_cmp(finals->cost[i], finals->cost[0]) < 0)
            front_keep_swap(finals, 0, i);
    if (finals->count == 0)
        return;
    s->best = finals->cost[0];
    memcpy(s->best_at, finals->at[0], sizeof *s->best_at * tn);
    rota_state_copy_at(cx, s->st, finals->at[0]);
    snprintf(method, mlen, "%s", finals->method[0]);
}

static void front_keep_free(struct front_keep *fk)
{
    for (int i = 0; i < fk->count; i++)
        free(fk->at[i]);
    fk->count = 0;
}

/* Is this run a new cycle's first window with the soft constraints on (plan_front's)? */
static bool run_is_front(const struct rota_ctx *cx, const struct rota_run *run)
{
    return run->front && !run->prev && !run->seed_at && !run->greedy_only && !cx->has_history &&
           cx->soft_on;
}

/* A new cycle's plan, hosted, beside greedy's measures (rota_dominance): the search's best
 * final, and where it stays above greedy's on some, the other finals too (each hosted and
 * relabelled the same way), the one nearest greedy's kept (rota_dominance_nearer: over a year
 * first, then two and four years, a term, two terms; never more hosting violations than the
 * best's). The finals are all
 * repeat-free and the choice does not depend on the terms asked for. Returns whether the kept
 * plan was relabelled; method becomes the kept final's. */
static bool front_floor(struct rota_search *s, const struct front_keep *finals, int *hosts,
                        uint64_t host_budget, uint64_t budget, char *method, size_t mlen)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    size_t tn = (size_t)cx->t * cx->n, th = (size_t)cx->t * cx->lay.ng;
    struct rota_dominance_figures best, fig;
    struct rota_dominance_goals goals = {0}; /* greedy's, the same for every final */
    bool relabelled = rota_dominance_pass(s, hosts, budget, &goals, &best);
    if (finals->count < 2 || !rota_dominance_above(&best))
        return relabelled;
    int kept = 0, viol0 = rota_cycle_hosting_violations(cx, st->at, hosts);
    int *keep_at = xmalloc(sizeof *keep_at * tn), *keep_hosts = xmalloc(sizeof *keep_hosts * th);
    int *h = xmalloc(sizeof *h * th);
    memcpy(keep_at, st->at, sizeof *keep_at * tn);
    memcpy(keep_hosts, hosts, sizeof *keep_hosts * th);
    for (int i = 1; i < finals->count && rota_dominance_above(&best) && !s->gave_up; i++) {
        rota_state_copy_at(cx, st, finals->at[i]);
        rota_hosting_search(s, NULL, host_budget);
        rota_hosting_plan(cx, st->at, NULL, h, s->r, budget / 10 + 100000);
        bool r = rota_dominance_pass(s, h, FRONT_FLOOR_WORK, &goals, &fig);
        if (rota_dominance_nearer(&fig, &best) &&
            rota_cycle_hosting_violations(cx, st->at, h) <= viol0) {
            best = fig;
            kept = i;
            relabelled = r;
            memcpy(keep_at, st->at, sizeof *keep_at * tn);
            memcpy(keep_hosts, h, sizeof *keep_hosts * th);
        }
    }
    rota_state_copy_at(cx, st, keep_at);
    memcpy(hosts, keep_hosts, sizeof *hosts * th);
    snprintf(method, mlen, "%s", finals->method[kept]);
    free(keep_at);
    free(keep_hosts);
    free(h);
    return relabelled;
}

/* Hosts for the best arrangement, and the plan out of it (method: appended to when a new cycle
 * was relabelled to greedy's measures). */
static void plan_finish(struct rota_search *s, const struct rota_run *run, uint64_t budget,
                        const struct front_keep *finals, struct rota_plan *out,
                        struct rota_changes *changes, char *method, size_t mlen)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
    int t = cx->t, ng = cx->lay.ng, *hosts = xmalloc(sizeof *hosts * (size_t)t * ng),
        *prefer = NULL;
    if (run->prev) {
        prefer = xmalloc(sizeof *prefer * (size_t)t * ng);
        for (int k = 0; k < t; k++)
            for (int g = 0; g < ng; g++) {
                int i =
                    rota_group_kept_index(cx, k, rota_state_group(cx, st, k, g), cx->lay.size[g]);
                prefer[(size_t)k * ng + g] = i >= 0 ? cx->prev_host[k][i] : -1;
            }
    }
    uint64_t host_budget = budget / 5 + 100000;
    if (run->seed_at && host_budget > (uint64_t)t * cx->n * 256) /* a cycle again */
        host_budget = (uint64_t)t * cx->n * 256;
    if (!run->greedy_only)
        rota_hosting_search(s, prefer, host_budget);
    rota_hosting_plan(cx, st->at, prefer, hosts, s->r,
                      run->seed_at ? host_budget : budget / 10 + 100000);
    if (run_is_front(cx, run) && front_floor(s, finals, hosts, host_budget, budget, method, mlen)) {
        size_t used = strlen(method);
        snprintf(method + used, mlen - used, "; relabelled to greedy's measures");
    }
    plan_output(cx, st->at, hosts, out);
    out->work = s->work;
    if (changes && run->prev)
        changes_build(cx, run->prev, run->n_prev, out, changes);
    free(hosts);
    free(prefer);
}

int rota_plan_run(const struct rota_input *in, const struct rota_options *opt,
                  const struct rota_run *run, struct rota_plan *out, struct rota_changes *changes,
                  struct mat_errors *err)
{
    memset(out, 0, sizeof *out);
    if (changes)
        memset(changes, 0, sizeof *changes);
    if (rota_validate(in, err) != 0)
        return -1;
    struct rota_ctx cx;
    rota_ctx_init(&cx, in);
    if (run->prev)
        ctx_set_prev(&cx, run->prev, run->n_prev);
    if (run->min_gap > 1)
        rota_ctx_set_min_gap(&cx, run->min_gap);
    if (run->front)
        rota_ctx_set_soft_profile(&cx);
    rota_hosting_set_waiting(&cx);
    int n = cx.n, t = cx.t;
    uint64_t budget = rota_plan_budget(opt);
    struct prng r;
    prng_seed(&r, in->seed ^ UINT64_C(0x526f7461506c616e)); /* "RotaPlan" */
    struct rota_state st;
    rota_state_alloc(&st, &cx);
    struct rota_search s = {.cx = &cx, .st = &st, .r = &r};
    s.best_at = xmalloc(sizeof *s.best_at * (size_t)t * n);
    s.best = (struct rota_cost){INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INFINITY};
    s.w = xmalloc(sizeof *s.w * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++)
        s.w[i] = 1;
    s.stamp = xcalloc((size_t)n * n, sizeof *s.stamp);
    s.cancel = run->cancel;
    struct rota_cost floor;
    if (run->match) {
        floor = rota_search_floor(&cx, run->match, run->n_match);
        s.floor = &floor;
    }
    char method[ROTA_METHOD_LEN] = "";
    struct front_keep finals = {0}; /* a new cycle's polished finals (plan_front) */
    if (run->greedy_only) {
        rota_greedy_plan(&cx, &st);
        rota_search_note(&s);
        snprintf(method, sizeof method, "greedy, term by term");
    } else if (run_is_front(&cx, run)) {
        plan_front(&s, run, method, sizeof method, budget, &finals);
    } else {
        plan_start(&s, run, method, sizeof method, budget, NULL);
        plan_search(&s, run, method, sizeof method, budget);
    }
    int rc = 0;
    if (!s.gave_up)
        rota_state_copy_at(&cx, &st, s.best_at);
    if (s.gave_up) { /* no plan it could end with begins with run->match, or cancelled */
        out->work = s.work;
        rc = 1;
    } else if (st.c.hard > 0) {
        report_infeasible(&cx, st.at, err);
        rc = -1;
    } else {
        plan_finish(&s, run, budget, &finals, out, changes, method, sizeof method);
        snprintf(out->method, sizeof out->method, "%s", method);
        out->mode = run->greedy_only ? ROTA_MODE_GREEDY
                    : run->prev      ? ROTA_MODE_REPLAN
                    : in->n_history  ? ROTA_MODE_SEARCHED
                                     : ROTA_MODE_CYCLE;
        out->cycle_terms = t;
    }
    front_keep_free(&finals);
    free(s.best_at);
    free(s.w);
    free(s.stamp);
    rota_state_free(&st);
    rota_ctx_free(&cx);
    return rc;
}

int rota_plan_greedy(const struct rota_input *in, struct rota_plan *out, struct mat_errors *err)
{
    struct rota_run run = {.greedy_only = true};
    return rota_plan_run(in, NULL, &run, out, NULL, err);
}

int rota_replan(const struct rota_input *in, const struct rota_prev_term *prev, size_t n_prev,
                const struct rota_options *opt, struct rota_plan *out, struct rota_changes *changes,
                struct mat_errors *err)
{
    struct rota_run run = {.prev = prev, .n_prev = n_prev};
    return rota_plan_run(in, opt, &run, out, changes, err);
}
