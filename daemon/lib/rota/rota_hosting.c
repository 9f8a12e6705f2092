/* Hosting (layer 3): each group's review is at its host. The fairness cycle (each school hosts
 * once before any school hosts twice), replayed through history; hosts chosen by matching the
 * schools still waiting to the groups of the next terms, and swaps that let the groups give
 * waiting schools their turn where the repeat level allows. */
#include "rota_hosting.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Hosting: each group's review is at its host. Fairness runs in cycles: while some school
 * has not hosted in the current cycle, a host that already has is a violation; the cycle
 * ends in the term when every school still waiting hosts, and that term's other hosts
 * count as the first hosts of the next cycle. History is replayed through the same rule. */

struct hosting {
    uint8_t *hosted; /* in the current cycle */
    int32_t *last;   /* timeline of the latest hosting, ROTA_NO_MEET if never */
    int *count;      /* hosts so far, history included */
};

static void hosting_alloc(struct hosting *h, int n)
{
    h->hosted = xcalloc((size_t)n, 1);
    h->last = xmalloc(sizeof *h->last * (size_t)n);
    h->count = xcalloc((size_t)n, sizeof *h->count);
    for (int i = 0; i < n; i++)
        h->last[i] = ROTA_NO_MEET;
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

static void hosting_from_history(const struct rota_ctx *cx, struct hosting *h)
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

static double host_trip(const struct rota_ctx *cx, const int *m, int size, int host)
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
static bool host_better(const struct rota_ctx *cx, const struct hosting *h, const int *m, int size,
                        int prefer, int c, int best)
{
    if ((c == prefer) != (best == prefer))
        return c == prefer;
    if (h->last[c] != h->last[best])
        return h->last[c] < h->last[best];
    if (h->count[c] != h->count[best])
        return h->count[c] < h->count[best];
    if (cx->travel || cx->km_tie > 0) {
        double tc = host_trip(cx, m, size, c), tb = host_trip(cx, m, size, best);
        if (tc != tb)
            return tc < tb;
    }
    return strcmp(cx->in->schools[c].urn, cx->in->schools[best].urn) < 0;
}

/* The member to host by the rule alone: one still waiting in the cycle if any, else the
 * best by host_better. */
static int host_pick(const struct rota_ctx *cx, const struct hosting *h, const int *m, int size,
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
    int by_term[64]; /* violations per term: compared earliest first */
    double travel;
    int changed; /* re-plan: unchanged groups whose host changed */
};

static int host_eval_cmp(const struct host_eval *a, const struct host_eval *b, int t)
{
    for (int k = 0; k < t; k++)
        if (a->by_term[k] != b->by_term[k])
            return a->by_term[k] < b->by_term[k] ? -1 : 1;
    if (a->travel < b->travel - 1e-9)
        return -1;
    if (a->travel > b->travel + 1e-9)
        return 1;
    return (a->changed > b->changed) - (a->changed < b->changed);
}

static struct host_eval hosting_evaluate(const struct rota_ctx *cx, const struct hosting *from,
                                         struct hosting *scratch, const int *at, const int *hosts,
                                         const int *prefer)
{
    struct host_eval e;
    memset(&e, 0, sizeof e);
    int ng = cx->lay.ng;
    hosting_copy(scratch, from, cx->n);
    for (int k = 0; k < cx->t; k++) {
        int v = hosting_step(scratch, cx->n, hosts + (size_t)k * ng, ng, cx->tl[k]);
        e.violations += v;
        if (k < 64)
            e.by_term[k] = v;
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
void rota_hosting_plan(const struct rota_ctx *cx, const int *at, const int *prefer, int *hosts,
                       struct prng *r, uint64_t budget)
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
            int k = prng_below(r, t), g = prng_below(r, ng);
            size_t gi = (size_t)k * ng + g;
            int old = hosts[gi];
            hosts[gi] = at[(size_t)k * n + cx->lay.start[g] + prng_below(r, cx->lay.size[g])];
            if (hosts[gi] == old)
                continue;
            struct host_eval e = hosting_evaluate(cx, &base, &run, at, hosts, prefer);
            int c = host_eval_cmp(&e, &cur, t < 64 ? t : 64);
            if (c < 0 || (c == 0 && prng_below(r, 4) == 0))
                cur = e;
            else
                hosts[gi] = old;
        }
    }
    hosting_free(&base);
    hosting_free(&run);
}
/* The schools the history leaves waiting in the hosting cycle: the first planned term
 * should give as many of them a turn as it can, which its groups decide. */
void rota_hosting_set_waiting(struct rota_ctx *cx)
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

/* Violations per term (viol, t entries) of the hosts rota_hosting_plan would choose for at; the
 * first term with one and the schools still waiting at its start. Returns the total. */
static int hosting_check(const struct rota_ctx *cx, const int *at, const int *prefer,
                         const struct prng *r, int *viol, int *bad_term, uint8_t *waiting)
{
    int n = cx->n, ng = cx->lay.ng, t = cx->t, total = 0;
    int *hosts = xmalloc(sizeof *hosts * (size_t)t * ng);
    struct prng copy = *r;
    rota_hosting_plan(cx, at, prefer, hosts, &copy, 0);
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
void rota_hosting_search(struct rota_search *s, const int *prefer, uint64_t budget)
{
    const struct rota_ctx *cx = s->cx;
    struct rota_state *st = s->st;
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
        struct rota_move mv;
        for (int pa = 0; pa < n; pa++) {
            if (!waiting[row[pa]] || count[cx->lay.group_of[pa]] < 2)
                continue;
            for (int pb = 0; pb < n; pb++) {
                if (waiting[row[pb]] || count[cx->lay.group_of[pb]] != 0)
                    continue;
                rota_eval_swap(cx, st, k, pa, pb, NULL, &mv);
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
            rota_eval_swap(cx, st, k, cand[c].pa, cand[c].pb, NULL, &mv);
            rota_apply_swap(cx, st, &mv);
            int t2 = hosting_check(cx, st->at, prefer, s->r, v2, &bad2, w2);
            s->work += (uint64_t)t * n * 4;
            if (violations_better(v2, viol, t)) {
                total = t2;
                bad = bad2;
                memcpy(viol, v2, sizeof *viol * (size_t)t);
                memcpy(waiting, w2, (size_t)n);
                progressed = true;
            } else { /* undo */
                rota_eval_swap(cx, st, k, cand[c].pa, cand[c].pb, NULL, &mv);
                rota_apply_swap(cx, st, &mv);
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
