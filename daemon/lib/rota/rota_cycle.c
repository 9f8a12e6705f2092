/* Planning over any horizon. The terms asked for are the start of a cycle of
 * rota_cycle_length terms planned as one (so asking for 1 term or for all of them gives the
 * same first term); terms past the cycle are planned in windows of the same length, each
 * starting from the first window's groups (every pair meets again as long ago as the cycle
 * allows) with the earlier windows as history and closer repeats penalised. Given a history,
 * the planner first asks whether it is its own earlier plan: it re-plans the cycle from each
 * plausible start and continues it when the history matches. */
#include "rota_cycle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rota_design.h"
#include "rota_metrics.h"
#include "rota_plan.h"
#include "rota_validate.h"
#include "util.h"

#define CYCLE_MAX_TRIES 12 /* cycle starts tried when recognising an earlier plan */

int rota_cycle_length(int n, int t)
{
    int target = rota_repeat_free_target(n);
    if (n <= 5)
        return 1; /* one group: nothing to plan */
    if (target <= 1)
        target = 6; /* a second term repeats: spread the repeats over two years */
    if (target > ROTA_MAX_TERMS)
        target = ROTA_MAX_TERMS;
    if (n > 64 && t < target)
        return t; /* large trusts: the terms asked for (a cycle would be too slow) */
    return target;
}

static int term_id_cmp(const void *pa, const void *pb)
{
    int a = rota_term_index(*(const struct rota_term_id *)pa);
    int b = rota_term_index(*(const struct rota_term_id *)pb);
    return (a > b) - (a < b);
}

/* The arrangement (t x n positions in layout order) of planned terms. */
static int *arrangement_of(const struct rota_term *terms, int t, int n)
{
    struct rota_layout lay;
    rota_layout_init(&lay, n);
    int *at = xmalloc(sizeof *at * (size_t)t * n);
    uint8_t *used = xmalloc((size_t)lay.ng + 1);
    for (int k = 0; k < t; k++) {
        memset(used, 0, (size_t)lay.ng + 1);
        for (size_t g = 0; g < terms[k].n_groups; g++) {
            const struct rota_group *gr = &terms[k].groups[g];
            int slot = 0;
            while (slot < lay.ng && (used[slot] || lay.size[slot] != gr->size))
                slot++;
            used[slot] = 1;
            memcpy(at + (size_t)k * n + lay.start[slot], gr->members,
                   sizeof *at * (size_t)gr->size);
        }
    }
    free(used);
    rota_layout_free(&lay);
    return at;
}

/* What a plan of a cycle is wanted for when recognising (NULL: always wanted): only if it
 * begins with the n terms of match (the first of the ids planned), and not once cancel is set. */
struct cycle_want {
    const struct rota_term *match;
    int n;
    const atomic_int *cancel;
};

/* Plans the windows of ids (total = windows x c terms, chronological) into terms (owned
 * groups). The first window's plan goes to first (its method and work). Returns 1, with
 * first->work the work spent, when the plan is not wanted (want: the first window's search
 * shows it cannot begin with want->match, or want->cancel is set). */
static int plan_windows(const struct rota_input *in, const struct rota_options *opt,
                        const struct rota_term_id *ids, int total, int c, const int *seed,
                        const struct cycle_want *want, struct rota_term *terms,
                        struct rota_plan *first, struct mat_errors *err)
{
    int n = (int)in->n_schools, rc = 0;
    struct rota_term *hist = xmalloc(sizeof *hist * (in->n_history + (size_t)total + 1));
    if (in->n_history)
        memcpy(hist, in->history, sizeof *hist * in->n_history);
    int *at0 = NULL;
    if (seed) { /* the history ends with a whole cycle: every window is that cycle again */
        at0 = xmalloc(sizeof *at0 * (size_t)c * n);
        memcpy(at0, seed, sizeof *at0 * (size_t)c * n);
    }
    uint64_t work = 0;
    for (int w = 0; w * c < total && rc == 0; w++) {
        struct rota_input win = *in;
        win.history = hist;
        win.n_history = in->n_history + (size_t)w * c;
        win.terms = (struct rota_term_id *)(uintptr_t)(ids + (size_t)w * c);
        win.n_terms = (size_t)c;
        struct rota_run run = {.seed_at = at0,
                               .min_gap = w || seed ? c : 0,
                               .front = w == 0 && !seed,
                               .match = w == 0 && want ? want->match : NULL,
                               .n_match = want ? (want->n < c ? want->n : c) : 0,
                               .cancel = want ? want->cancel : NULL};
        struct rota_plan p;
        rc = rota_plan_run(&win, opt, &run, &p, NULL, err);
        if (rc == 1)
            work += p.work;
        if (rc != 0)
            break;
        work += p.work;
        if (w == 0) {
            if (!at0)
                at0 = arrangement_of(p.terms, c, n);
            *first = p;
        }
        for (int k = 0; k < c; k++) {
            terms[w * c + k] = p.terms[k];
            hist[in->n_history + (size_t)w * c + k] = p.terms[k];
            p.terms[k].groups = NULL;
        }
        if (w > 0)
            rota_plan_free(&p);
    }
    first->work = work;
    free(at0);
    free(hist);
    return rc;
}

/* The terms of a cycle for in->terms: those asked for, then the terms after the last of them,
 * to whole windows of c. Returns the count; *ids is owned. */
static int cycle_ids(const struct rota_input *in, int c, struct rota_term_id **ids)
{
    int t = (int)in->n_terms, total = (t + c - 1) / c * c;
    *ids = xmalloc(sizeof **ids * (size_t)total);
    memcpy(*ids, in->terms, sizeof **ids * (size_t)t);
    qsort(*ids, (size_t)t, sizeof **ids, term_id_cmp);
    int last = rota_term_index((*ids)[t - 1]);
    for (int k = t; k < total; k++) {
        int when = last + (k - t) + 1;
        (*ids)[k].year = when / 3;
        (*ids)[k].term = when % 3;
    }
    return total;
}

/* Plans the cycle(s) covering in->terms and keeps the terms asked for. With want (see
 * plan_windows), returns 1 with only out->work set when the plan is not wanted. */
static int plan_cycle(const struct rota_input *in, const struct rota_options *opt, const int *seed,
                      const struct cycle_want *want, struct rota_plan *out, struct mat_errors *err)
{
    int n = (int)in->n_schools, t = (int)in->n_terms, c = rota_cycle_length(n, t);
    struct rota_term_id *ids;
    int total = cycle_ids(in, c, &ids);
    struct rota_term *terms = xcalloc((size_t)total, sizeof *terms);
    struct rota_plan first;
    memset(&first, 0, sizeof first);
    int rc = plan_windows(in, opt, ids, total, c, seed, want, terms, &first, err);
    if (rc == 1)
        out->work = first.work;
    if (rc == 0) {
        out->n_cycle = (size_t)total;
        out->cycle = xmalloc(sizeof *out->cycle * (size_t)total);
        for (int k = 0; k < total; k++) {
            out->cycle[k] = terms[k];
            out->cycle[k].groups = xmalloc(sizeof *terms[k].groups * (terms[k].n_groups + 1));
            memcpy(out->cycle[k].groups, terms[k].groups,
                   sizeof *terms[k].groups * terms[k].n_groups);
        }
        out->mode = first.mode;
        out->cycle_terms = c;
        out->work = first.work;
        snprintf(out->method, sizeof out->method, "%s", first.method);
        out->n_terms = (size_t)t;
        out->terms = terms;
        out->term_metrics = xcalloc((size_t)t, sizeof *out->term_metrics);
        rota_metrics_compute(in, out->terms, out->n_terms, out->term_metrics, &out->total);
    }
    for (int k = rc == 0 ? t : 0; k < total; k++)
        free(terms[k].groups);
    if (rc != 0)
        free(terms);
    rota_plan_free(&first);
    free(ids);
    return rc;
}

/* Does a history term have the shape of a planned term of these schools (every school once,
 * the layout's group sizes)? */
static bool term_plannable(const struct rota_term *tm, int n)
{
    int sizes[ROTA_MAX_SCHOOLS / 3 + 2], want[ROTA_GROUP_MAX + 1] = {0},
                                                               got[ROTA_GROUP_MAX + 1] = {0};
    int ng = rota_group_sizes(n, sizes);
    if ((int)tm->n_groups != ng)
        return false;
    for (int g = 0; g < ng; g++)
        want[sizes[g]]++;
    uint8_t *seen = xcalloc((size_t)n, 1);
    bool ok = true;
    for (size_t g = 0; ok && g < tm->n_groups; g++) {
        const struct rota_group *gr = &tm->groups[g];
        got[gr->size]++;
        for (int i = 0; ok && i < gr->size; i++)
            ok = !seen[gr->members[i]]++;
    }
    free(seen);
    return ok && memcmp(want, got, sizeof want) == 0;
}

/* Same groups (as sets of schools) with the same hosts, whatever their order? */
static bool same_groups(const struct rota_term *a, const struct rota_term *b, int n)
{
    if (a->n_groups != b->n_groups)
        return false;
    int *group_of = xmalloc(sizeof *group_of * (size_t)n);
    for (size_t g = 0; g < a->n_groups; g++)
        for (int i = 0; i < a->groups[g].size; i++)
            group_of[a->groups[g].members[i]] = (int)g;
    bool same = true;
    for (size_t g = 0; same && g < b->n_groups; g++) {
        const struct rota_group *gr = &b->groups[g];
        int ga = group_of[gr->members[0]];
        same = a->groups[ga].size == gr->size && a->groups[ga].host == gr->host;
        for (int i = 1; same && i < gr->size; i++)
            same = group_of[gr->members[i]] == ga;
    }
    free(group_of);
    return same;
}

/* The plan for in->terms as the continuation of a cycle that began at history term `start`
 * (chronological order), if the history from there is what the planner plans (and cancel, when
 * not NULL, is not set on the way: the answer is then false). */
static bool continue_from(const struct rota_input *in, const struct rota_options *opt,
                          const struct rota_term *sorted, int start, const atomic_int *cancel,
                          struct rota_plan *out, uint64_t *work)
{
    int m = (int)in->n_history, t = (int)in->n_terms, own = m - start;
    if (own + t > ROTA_MAX_TERMS)
        return false;
    struct rota_input sub = *in;
    sub.history = (struct rota_term *)(uintptr_t)sorted;
    sub.n_history = (size_t)start;
    sub.n_terms = (size_t)(own + t);
    sub.terms = xmalloc(sizeof *sub.terms * sub.n_terms);
    for (int k = 0; k < own; k++)
        sub.terms[k] = sorted[start + k].id;
    memcpy(sub.terms + own, in->terms, sizeof *sub.terms * (size_t)t);
    struct rota_plan p;
    struct mat_errors err;
    mat_errors_init(&err);
    /* the history's terms from start are what the plan must begin with: a plan whose search
     * shows that it cannot is not finished (most starts of a hand-made past end so) */
    struct cycle_want want = {.match = sorted + start, .n = own, .cancel = cancel};
    int rc = plan_cycle(&sub, opt, NULL, &want, &p, &err);
    mat_errors_free(&err);
    free(sub.terms);
    if (rc == 1)
        *work += p.work;
    if (rc != 0)
        return false;
    bool match = true;
    *work += p.work;
    for (int k = 0; match && k < own; k++)
        match = same_groups(&sorted[start + k], &p.terms[k], (int)in->n_schools);
    if (match) {
        *out = p;
        out->n_terms = (size_t)t;
        out->terms = xmalloc(sizeof *out->terms * (size_t)t);
        memcpy(out->terms, p.terms + own, sizeof *out->terms * (size_t)t);
        for (int k = 0; k < own; k++)
            free(p.terms[k].groups);
        free(p.terms);
        free(p.term_metrics);
        out->term_metrics = xcalloc((size_t)t, sizeof *out->term_metrics);
        rota_metrics_compute(in, out->terms, out->n_terms, out->term_metrics, &out->total);
        out->mode = ROTA_MODE_CONTINUED;
        out->cycle_start = start;
    } else {
        rota_plan_free(&p);
    }
    return match;
}

/* Which history terms (chronological) could begin a cycle the planner planned after the terms
 * before them: cheap checks, run before any start is re-planned (each re-plan costs a whole
 * plan: most of a second for 60 schools). Returns the first term after the last one the
 * planner could not have written at all (every school once in the layout's group sizes, a host
 * in every group), and sets could_start[k] when term k also serves the hosting cycle as the
 * first term of a plan always does: a group with a school still waiting for its turn is hosted
 * by a waiting school. rota_hosting_plan matches waiting schools to the groups (the first
 * term's first) and lets the rule pick a waiting member where the matching leaves a group free;
 * its host search compares the terms' violations earliest first, so it never takes a change
 * that makes the first term serve fewer waiting schools (a later term can: a change earlier in
 * the plan moves who is waiting). The cycle is replayed through the history as rota_hosting
 * replays it. */
static int plannable_starts(const struct rota_input *in, const struct rota_term *sorted, int m,
                            bool *could_start)
{
    int n = (int)in->n_schools, from = 0;
    uint8_t *hosted = xcalloc((size_t)n, 1), *again = xcalloc((size_t)n, 1);
    for (int k = 0; k < m; k++) {
        const struct rota_term *tm = &sorted[k];
        bool written = term_plannable(tm, n), serves = true;
        int waiting = 0, waiting_hosting = 0;
        for (int i = 0; i < n; i++)
            waiting += !hosted[i];
        for (size_t g = 0; g < tm->n_groups; g++) {
            const struct rota_group *gr = &tm->groups[g];
            bool any_waiting = false;
            for (int i = 0; i < gr->size; i++)
                any_waiting |= !hosted[gr->members[i]];
            written = written && gr->host >= 0;
            serves = serves && (gr->host < 0 || !any_waiting || !hosted[gr->host]);
            waiting_hosting += gr->host >= 0 && !hosted[gr->host];
        }
        if (!written)
            from = k + 1;
        could_start[k] = written && serves;
        memset(again, 0, (size_t)n);
        for (size_t g = 0; g < tm->n_groups; g++) {
            int h = tm->groups[g].host;
            if (h >= 0 && waiting_hosting == waiting)
                again[h] = hosted[h]; /* the cycle completes: the next one starts */
            else if (h >= 0)
                hosted[h] = 1;
        }
        if (waiting_hosting == waiting)
            memcpy(hosted, again, (size_t)n);
    }
    free(hosted);
    free(again);
    return from;
}

/* Recognition's candidate starts, re-planned on several threads at once. Each start's re-plan
 * is independent of the others (its own input, search and seed), so they can run in any order
 * and at once; the answer is then read in order as one thread would have found it: the earliest
 * start that matched, among those tried before the work spent on the earlier ones passed the
 * cap. A start after one that matched is not needed: it is not begun, or cancelled. */
struct start_try {
    int start;
    bool run, matched;
    uint64_t work;
    struct rota_plan plan; /* when matched */
    atomic_int cancel;
};

struct recognition {
    const struct rota_input *in;
    const struct rota_options *opt;
    const struct rota_term *sorted;
    struct start_try *tries;
    int count;
    uint64_t cap;
    pthread_mutex_t lock;
    int next;   /* the next try to begin */
    int needed; /* the tries from this one on are not needed: they come after one that matched,
                 * or after finished ones whose work passed the cap (one thread stops there) */
};

/* After try i finished (under the lock): what is no longer needed, cancelled. */
static void recognition_settle(struct recognition *r, int i)
{
    if (r->tries[i].matched && i + 1 < r->needed)
        r->needed = i + 1;
    uint64_t spent = 0;
    for (int j = 0; j + 1 < r->needed && r->tries[j].run; j++) {
        spent += r->tries[j].work;
        if (spent > r->cap)
            r->needed = j + 1;
    }
    for (int j = r->needed; j < r->count; j++)
        atomic_store(&r->tries[j].cancel, 1);
}

static void *recognition_worker(void *arg)
{
    struct recognition *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int i = r->next < r->needed ? r->next++ : r->count;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->count)
            return NULL;
        struct start_try *tr = &r->tries[i];
        uint64_t work = 0;
        bool matched =
            continue_from(r->in, r->opt, r->sorted, tr->start, &tr->cancel, &tr->plan, &work);
        pthread_mutex_lock(&r->lock);
        tr->work = work;
        tr->matched = matched;
        tr->run = true;
        recognition_settle(r, i);
        pthread_mutex_unlock(&r->lock);
    }
}

static int recognition_threads(const struct rota_options *opt, int count)
{
    long want = opt && opt->threads > 0 ? opt->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (want > ROTA_MAX_THREADS)
        want = ROTA_MAX_THREADS;
    if (want > count)
        want = count;
    return want < 1 ? 1 : (int)want;
}

/* Is the history this planner's own earlier plan (from some start)? Tries the starts after
 * the last history term that it could not have planned, earliest first, at most
 * CYCLE_MAX_TRIES of them and while the work spent on the earlier ones is within the budget,
 * passing over those it could not have begun a plan with. */
static bool plan_continue(const struct rota_input *in, const struct rota_options *opt,
                          struct rota_plan *out)
{
    int m = (int)in->n_history;
    struct rota_term *sorted = xmalloc(sizeof *sorted * (size_t)m);
    memcpy(sorted, in->history, sizeof *sorted * (size_t)m);
    qsort(sorted, (size_t)m, sizeof *sorted, term_id_cmp); /* id is the first member */
    bool *could_start = xcalloc((size_t)m + 1, sizeof *could_start);
    int from = plannable_starts(in, sorted, m, could_start);
    struct recognition r = {.in = in, .opt = opt, .sorted = sorted, .cap = rota_plan_budget(opt)};
    r.tries = xcalloc(CYCLE_MAX_TRIES, sizeof *r.tries);
    for (int s = from; s < m && r.count < CYCLE_MAX_TRIES; s++)
        if (could_start[s]) {
            atomic_init(&r.tries[r.count].cancel, 0);
            r.tries[r.count++].start = s;
        }
    r.needed = r.count;
    pthread_mutex_init(&r.lock, NULL);
    pthread_t th[ROTA_MAX_THREADS];
    int spawned = 0, threads = recognition_threads(opt, r.count);
    for (int i = 1; i < threads; i++)
        if (pthread_create(&th[spawned], NULL, recognition_worker, &r) == 0)
            spawned++;
    recognition_worker(&r); /* the calling thread too: with no thread made, it does them all */
    for (int i = 0; i < spawned; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&r.lock);
    bool done = false;
    uint64_t work = 0;
    for (int i = 0; i < r.count && !done && work <= r.cap; i++) {
        work += r.tries[i].work;
        if (r.tries[i].matched) {
            *out = r.tries[i].plan;
            r.tries[i].matched = false;
            done = true;
        }
    }
    for (int i = 0; i < r.count; i++)
        if (r.tries[i].matched)
            rota_plan_free(&r.tries[i].plan);
    free(r.tries);
    free(could_start);
    free(sorted);
    return done;
}

static int school_urn_cmp(const struct rota_input *in, int a, int b)
{
    return strcmp(in->schools[a].urn, in->schools[b].urn);
}

/* A term's groups as the planner writes them: members by URN, groups by their first URN. */
static void term_canonical(const struct rota_input *in, struct rota_term *tm)
{
    for (size_t g = 0; g < tm->n_groups; g++) {
        struct rota_group *gr = &tm->groups[g];
        for (int i = 1; i < gr->size; i++)
            for (int j = i; j > 0 && school_urn_cmp(in, gr->members[j - 1], gr->members[j]) > 0;
                 j--) {
                int x = gr->members[j];
                gr->members[j] = gr->members[j - 1];
                gr->members[j - 1] = x;
            }
    }
    for (size_t g = 1; g < tm->n_groups; g++)
        for (size_t j = g; j > 0 && school_urn_cmp(in, tm->groups[j - 1].members[0],
                                                   tm->groups[j].members[0]) > 0;
             j--) {
            struct rota_group x = tm->groups[j];
            tm->groups[j] = tm->groups[j - 1];
            tm->groups[j - 1] = x;
        }
}

/* When the history ends, just before the first term asked for, with a whole cycle of these
 * schools (c consecutive terms, each a full term of the layout, no pair together twice), the
 * arrangement of that cycle (c x n, owned), else NULL: the next windows are that cycle again,
 * as one plan of all the terms plans them after its first window. */
static int *history_cycle(const struct rota_input *in, int c)
{
    int m = (int)in->n_history, n = (int)in->n_schools;
    if (m < c || c < 2 || n > 64)
        return NULL;
    struct rota_term *tail = xcalloc((size_t)c, sizeof *tail);
    int first = INT32_MAX, last = INT32_MIN;
    for (int k = 0; k < (int)in->n_terms; k++)
        first = rota_term_index(in->terms[k]) < first ? rota_term_index(in->terms[k]) : first;
    for (int h = 0; h < m; h++) /* the c latest history terms, in order */
        last =
            rota_term_index(in->history[h].id) > last ? rota_term_index(in->history[h].id) : last;
    bool ok = last + 1 == first;
    for (int k = 0; ok && k < c; k++) {
        int want = last - (c - 1) + k;
        const struct rota_term *found = NULL;
        for (int h = 0; h < m && !found; h++)
            if (rota_term_index(in->history[h].id) == want)
                found = &in->history[h];
        ok = found && term_plannable(found, n);
        if (ok) {
            tail[k] = *found;
            tail[k].groups = xmalloc(sizeof *tail[k].groups * (found->n_groups + 1));
            memcpy(tail[k].groups, found->groups, sizeof *tail[k].groups * found->n_groups);
            term_canonical(in, &tail[k]);
        }
    }
    uint8_t *met = ok ? xcalloc((size_t)n * n, 1) : NULL;
    for (int k = 0; ok && k < c; k++)
        for (size_t g = 0; ok && g < tail[k].n_groups; g++) {
            const struct rota_group *gr = &tail[k].groups[g];
            for (int i = 0; ok && i < gr->size; i++)
                for (int j = i + 1; ok && j < gr->size; j++)
                    ok = !met[gr->members[i] * n + gr->members[j]]++;
        }
    int *at = ok ? arrangement_of(tail, c, n) : NULL;
    for (int k = 0; k < c; k++)
        free(tail[k].groups);
    free(tail);
    free(met);
    return at;
}

int rota_plan(const struct rota_input *in, const struct rota_options *opt, struct rota_plan *out,
              struct mat_errors *err)
{
    memset(out, 0, sizeof *out);
    if (rota_validate(in, err) != 0)
        return -1;
    if (in->n_history > 0 && !(opt && opt->no_recognise) && plan_continue(in, opt, out))
        return 0;
    int c = rota_cycle_length((int)in->n_schools, (int)in->n_terms);
    int *seed = in->n_history > 0 ? history_cycle(in, c) : NULL;
    int rc = plan_cycle(in, opt, seed, NULL, out, err);
    if (rc == 0 && seed) {
        out->mode = ROTA_MODE_CONTINUED;
        out->cycle_start = (int)in->n_history - c;
        snprintf(out->method, sizeof out->method, "the cycle the history ends with, again");
    }
    free(seed);
    return rc;
}

/* A cycle term's groups by URN as groups of school indices, if they are exactly a term of
 * these schools (every school once, the layout's sizes, no excluded pair together, one phase
 * per group when phase is required). Returns false otherwise. */
static bool cycle_term_fits(const struct rota_input *in, const struct rota_prev_term *pt,
                            struct rota_term *out)
{
    int n = (int)in->n_schools;
    out->id = pt->id;
    out->n_groups = pt->n_groups;
    out->groups = xcalloc(pt->n_groups + 1, sizeof *out->groups);
    bool ok = true;
    for (size_t g = 0; ok && g < pt->n_groups; g++) {
        const struct rota_prev_group *pg = &pt->groups[g];
        struct rota_group *gr = &out->groups[g];
        gr->size = pg->size;
        gr->host = -1;
        for (int i = 0; ok && i < pg->size; i++) {
            gr->members[i] = -1;
            for (int s = 0; s < n && gr->members[i] < 0; s++)
                if (strcmp(in->schools[s].urn, pg->members[i]) == 0)
                    gr->members[i] = s;
            ok = gr->members[i] >= 0;
            if (ok && strcmp(pg->members[i], pg->host) == 0)
                gr->host = gr->members[i];
        }
        ok = ok && gr->host >= 0;
        for (size_t e = 0; ok && e < in->constraints.n_excluded; e++) {
            int hits = 0;
            for (int i = 0; i < gr->size; i++)
                hits += gr->members[i] == in->constraints.excluded[e].a ||
                        gr->members[i] == in->constraints.excluded[e].b;
            ok = hits < 2;
        }
        for (int i = 1; ok && in->constraints.phase == ROTA_PHASE_REQUIRE && i < gr->size; i++)
            ok = in->schools[gr->members[i]].phase == in->schools[gr->members[0]].phase;
    }
    ok = ok && term_plannable(out, n);
    if (!ok) {
        free(out->groups);
        out->groups = NULL;
    }
    return ok;
}

int rota_plan_from_cycle(const struct rota_input *in, const struct rota_prev_term *cycle,
                         size_t n_cycle, struct rota_plan *out)
{
    memset(out, 0, sizeof *out);
    size_t t = in->n_terms;
    struct rota_term_id *ids = xmalloc(sizeof *ids * (t + 1));
    memcpy(ids, in->terms, sizeof *ids * t);
    qsort(ids, t, sizeof *ids, term_id_cmp);
    const struct rota_prev_term **found = xcalloc(t + 1, sizeof *found);
    bool covered = true;
    for (size_t k = 0; covered && k < t; k++) {
        for (size_t c = 0; c < n_cycle && !found[k]; c++)
            if (rota_term_index(cycle[c].id) == rota_term_index(ids[k]))
                found[k] = &cycle[c];
        covered = found[k] != NULL;
    }
    int rc = covered ? 0 : -1;
    if (rc == 0) {
        out->terms = xcalloc(t, sizeof *out->terms);
        out->n_terms = t;
        for (size_t k = 0; rc == 0 && k < t; k++)
            if (!cycle_term_fits(in, found[k], &out->terms[k]))
                rc = 1;
    }
    if (rc == 0) { /* the cycle goes on: every term of it that still fits these schools */
        out->cycle = xcalloc(n_cycle + 1, sizeof *out->cycle);
        for (size_t c = 0; c < n_cycle; c++)
            if (cycle_term_fits(in, &cycle[c], &out->cycle[out->n_cycle]))
                out->n_cycle++;
        out->term_metrics = xcalloc(t, sizeof *out->term_metrics);
        rota_metrics_compute(in, out->terms, t, out->term_metrics, &out->total);
        out->mode = ROTA_MODE_KEPT;
        out->cycle_terms = (int)out->n_cycle;
        snprintf(out->method, sizeof out->method, "drafted from the kept cycle");
    } else {
        rota_plan_free(out);
    }
    free(found);
    free(ids);
    return rc;
}

static bool term_asked(const struct rota_input *in, struct rota_term_id id)
{
    for (size_t k = 0; k < in->n_terms; k++)
        if (rota_term_index(in->terms[k]) == rota_term_index(id))
            return true;
    return false;
}

int rota_replan_cycle(const struct rota_input *in, const struct rota_prev_term *cycle,
                      size_t n_cycle, const struct rota_options *opt, struct rota_plan *out,
                      struct rota_changes *changes, struct mat_errors *err)
{
    memset(out, 0, sizeof *out);
    memset(changes, 0, sizeof *changes);
    int first = INT32_MAX;
    for (size_t k = 0; k < in->n_terms; k++)
        first = rota_term_index(in->terms[k]) < first ? rota_term_index(in->terms[k]) : first;
    /* the terms asked for, then the cycle's later terms, earliest first, up to a plan's most */
    struct rota_input rest = *in;
    struct rota_term_id *ids = xmalloc(sizeof *ids * (in->n_terms + n_cycle + 1)),
                        *later = xmalloc(sizeof *later * (n_cycle + 1));
    size_t n_later = 0;
    for (size_t c = 0; c < n_cycle; c++)
        if (rota_term_index(cycle[c].id) > first && !term_asked(in, cycle[c].id))
            later[n_later++] = cycle[c].id;
    qsort(later, n_later, sizeof *later, term_id_cmp);
    memcpy(ids, in->terms, sizeof *ids * in->n_terms);
    rest.terms = ids;
    for (size_t c = 0; c < n_later && rest.n_terms < ROTA_MAX_TERMS; c++)
        if (c == 0 || term_id_cmp(&later[c - 1], &later[c]) != 0) /* each once */
            ids[rest.n_terms++] = later[c];
    free(later);
    struct rota_plan all;
    struct rota_changes all_changes;
    int rc = rota_replan(&rest, cycle, n_cycle, opt, &all, &all_changes, err);
    free(ids);
    if (rc != 0)
        return rc;
    *out = all; /* the method, work and mode; the terms asked for taken out of all of them */
    out->cycle = all.terms;
    out->n_cycle = all.n_terms;
    out->cycle_terms = (int)all.n_terms;
    out->terms = xcalloc(in->n_terms + 1, sizeof *out->terms);
    out->n_terms = 0;
    changes->terms = xcalloc(in->n_terms + 1, sizeof *changes->terms);
    for (size_t k = 0; k < all.n_terms; k++) {
        struct rota_term_change *tc = &all_changes.terms[k];
        if (!term_asked(in, all.terms[k].id))
            continue;
        struct rota_term *tm = &out->terms[out->n_terms++];
        *tm = all.terms[k];
        tm->groups = xmalloc(sizeof *tm->groups * (tm->n_groups + 1));
        memcpy(tm->groups, all.terms[k].groups, sizeof *tm->groups * tm->n_groups);
        changes->terms[changes->n_terms++] = *tc;
        changes->groups_kept += tc->kept;
        changes->groups_changed += tc->n_added;
        *tc = (struct rota_term_change){0}; /* moved */
    }
    rota_changes_free(&all_changes);
    free(all.term_metrics);
    out->term_metrics = xcalloc(out->n_terms + 1, sizeof *out->term_metrics);
    rota_metrics_compute(in, out->terms, out->n_terms, out->term_metrics, &out->total);
    return 0;
}
