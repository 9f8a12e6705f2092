/* Metrics of a plan (SPEC §7 output), recomputed from the input and the groups alone: the
 * reference the tests hold the planner to, sharing no state with the search. */
#include "rota_metrics.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "util.h"

#define NO_MEET INT32_MIN

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

/* Every index of the groups in range? */
static bool terms_in_range(const struct rota_term *terms, size_t n_terms, int n)
{
    for (size_t i = 0; i < n_terms; i++)
        for (size_t g = 0; g < terms[i].n_groups; g++) {
            const struct rota_group *gr = &terms[i].groups[g];
            if (gr->size < 1 || gr->size > ROTA_GROUP_MAX || gr->host < -1 || gr->host >= n)
                return false;
            for (int j = 0; j < gr->size; j++)
                if (gr->members[j] < 0 || gr->members[j] >= n)
                    return false;
        }
    return true;
}

/* Phase, balance and travel of one planned group, added to its term's metrics. */
static void group_soft_metrics(const struct rota_input *in, const struct rota_group *gr,
                               struct rota_metrics *m)
{
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
        double km = geo_haversine_km(sc->lat, sc->lon, host->lat, host->lon);
        m->total_km += km;
        if (km > m->max_km)
            m->max_km = km;
    }
}

/* One term's metrics into the plan's total (most recent repeat: the minimum; max_km: the max). */
static void metrics_add(struct rota_metrics *total, const struct rota_metrics *m)
{
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

int rota_metrics_compute(const struct rota_input *in, const struct rota_term *terms, size_t n_terms,
                         struct rota_metrics *per_term, struct rota_metrics *total)
{
    int n = (int)in->n_schools;
    if (!terms_in_range(terms, n_terms, n))
        return -1;
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
            if (m)
                group_soft_metrics(in, gr, m);
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
        if (m)
            metrics_add(total, m);
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
