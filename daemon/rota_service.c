/* Interim rota planner behind rota_service_plan(): seeded local search per term (swap
 * moves, restarts) over the SPEC §7 objective: pair repeats weighted by recency, excluded
 * pairs as a hard constraint, phase, balance and travel as weighted soft terms, hosting
 * by least recent and least often. It serves the API and the scheduler until the libmat
 * planner (designs for the longest repeat-free runs) takes its place behind this function. */
#include "rota_service.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HARD 1e9
/* The joint search stops after a number of moves that depends only on the instance (so the
 * plan is a function of the input and seed), with a wall-clock guard for slow machines. */
#define PLAN_WORK 200000000.0
#define PLAN_GUARD_MS 3000

struct school {
    const char *urn, *phase;
    double lat, lon;
    bool has_loc, strong, category;
    int hosted, last_hosted; /* -1: never */
};

struct plan_ctx {
    int n;
    struct school *s;
    int *met;   /* n*n: index of the last term a pair met, -1 never */
    bool *excl; /* n*n */
    double decay, travel_weight;
    int phase_mode; /* 0 ignore, 1 prefer, 2 require */
    bool balance;
    uint64_t rng;
    unsigned char *keep; /* n*n, re-planning: pairs together in the previous plan of this term */
};

/* Re-planning keeps as many planned triads as it can (SPEC §7): keeping a pair of the
 * previous plan together outweighs every soft cost and repeat, but not the hard constraints
 * (an excluded pair, a required phase). */
#define KEEP_BONUS 1e5

static uint64_t next_rand(struct plan_ctx *c)
{
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int find_school(const struct plan_ctx *c, const char *urn)
{
    for (int i = 0; urn && i < c->n; i++)
        if (strcmp(c->s[i].urn, urn) == 0)
            return i;
    return -1;
}

static double km(const struct school *a, const struct school *b)
{
    if (!a->has_loc || !b->has_loc)
        return 0;
    double r = M_PI / 180.0, dlat = (b->lat - a->lat) * r, dlon = (b->lon - a->lon) * r;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a->lat * r) * cos(b->lat * r) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0088 * asin(sqrt(h));
}

static double pair_cost(const struct plan_ctx *c, int a, int b, int now)
{
    if (c->excl[a * c->n + b])
        return HARD;
    double cost = 0;
    int m = c->met[a * c->n + b];
    if (m >= 0)
        cost += 1000.0 * pow(2.0, -((double)(now - m) - 1.0) / c->decay);
    if (c->phase_mode && strcmp(c->s[a].phase, c->s[b].phase) != 0)
        cost += c->phase_mode == 2 ? 1e6 : 1.0;
    if (c->keep && c->keep[a * c->n + b])
        cost -= KEEP_BONUS;
    return cost;
}

/* Host: the member who hosted least often, then least recently, then by URN. */
static int choose_host(const struct plan_ctx *c, const int *g, int size)
{
    int best = g[0];
    for (int i = 1; i < size; i++) {
        const struct school *x = &c->s[g[i]], *b = &c->s[best];
        if (x->hosted < b->hosted ||
            (x->hosted == b->hosted &&
             (x->last_hosted < b->last_hosted ||
              (x->last_hosted == b->last_hosted && strcmp(x->urn, b->urn) < 0))))
            best = g[i];
    }
    return best;
}

/* Balance and travel of one group (everything but its pairs). */
static double soft_cost(const struct plan_ctx *c, const int *g, int size)
{
    double cost = 0;
    int strong = 0, category = 0;
    for (int i = 0; i < size; i++) {
        strong += c->s[g[i]].strong;
        category += c->s[g[i]].category;
    }
    if (c->balance && (strong == 0 || category > 1))
        cost += 2.0;
    if (c->travel_weight > 0) {
        int host = choose_host(c, g, size);
        double worst = 0;
        for (int i = 0; i < size; i++)
            worst = fmax(worst, km(&c->s[g[i]], &c->s[host]));
        cost += c->travel_weight * worst / 100.0;
    }
    return cost;
}

static double group_cost(const struct plan_ctx *c, const int *g, int size, int now)
{
    double cost = soft_cost(c, g, size);
    for (int i = 0; i < size; i++)
        for (int j = i + 1; j < size; j++)
            cost += pair_cost(c, g[i], g[j], now);
    return cost;
}

/* Group boundaries: groups of 3, one or two of 4; a trust of 3 to 5 is one group. */
static int group_sizes(int n, int *sizes)
{
    if (n <= 5) {
        sizes[0] = n;
        return 1;
    }
    int groups = n / 3, fours = n % 3;
    for (int i = 0; i < groups; i++)
        sizes[i] = 3 + (i < fours);
    return groups;
}

/* Plans one term into order (schools laid out group after group). */
static double plan_term(struct plan_ctx *c, int now, int *order, const int *sizes, int ngroups,
                        const int *seed)
{
    int n = c->n, *cur = xcalloc((size_t)n, sizeof *cur),
        *start = xcalloc((size_t)ngroups + 1, sizeof *start);
    for (int g = 0; g < ngroups; g++)
        start[g + 1] = start[g] + sizes[g];
    double best = HUGE_VAL;
    for (int restart = 0; restart < (seed ? 1 : 8); restart++) {
        for (int i = 0; i < n; i++)
            cur[i] = seed ? seed[i] : i;
        for (int i = n - 1; !seed && i > 0; i--) {
            int j = (int)(next_rand(c) % (uint64_t)(i + 1));
            int t = cur[i];
            cur[i] = cur[j];
            cur[j] = t;
        }
        double total = 0;
        for (int g = 0; g < ngroups; g++)
            total += group_cost(c, cur + start[g], sizes[g], now);
        int stale = 0;
        for (int it = 0; it < 40000 && stale < 4000 && ngroups > 1; it++) {
            int ga = (int)(next_rand(c) % (uint64_t)ngroups),
                gb = (int)(next_rand(c) % (uint64_t)ngroups);
            if (ga == gb)
                continue;
            int a = start[ga] + (int)(next_rand(c) % (uint64_t)sizes[ga]);
            int b = start[gb] + (int)(next_rand(c) % (uint64_t)sizes[gb]);
            double before = group_cost(c, cur + start[ga], sizes[ga], now) +
                            group_cost(c, cur + start[gb], sizes[gb], now);
            int t = cur[a];
            cur[a] = cur[b];
            cur[b] = t;
            double after = group_cost(c, cur + start[ga], sizes[ga], now) +
                           group_cost(c, cur + start[gb], sizes[gb], now);
            if (after <= before) {
                stale = after < before ? 0 : stale + 1;
                total += after - before;
            } else {
                cur[b] = cur[a];
                cur[a] = t;
                stale++;
            }
        }
        if (total < best) {
            best = total;
            memcpy(order, cur, (size_t)n * sizeof *cur);
        }
        if (best < 1e-9)
            break;
    }
    free(cur);
    free(start);
    return best;
}

/* ---- joint search over all planned terms ----
 * Per-term planning is greedy in time: it cannot give up a little now to avoid a forced
 * repeat later. This tabu search (in the manner of Dotu and Van Hentenryck's for the social
 * golfer problem) swaps two schools of one term at a time, preferring schools in a repeated
 * pair, scoring each pair over the whole timeline (history, then the planned terms). */

struct joint {
    const struct plan_ctx *c;
    int n, T, nhist, ngroups;
    const int *sizes, *start, *hist_last;
    int *orders;         /* T x n */
    int *group_of;       /* T x n */
    unsigned char *meet; /* T x n x n */
};

static double timeline_pair_cost(const struct joint *j, int a, int b)
{
    const struct plan_ctx *c = j->c;
    int n = j->n, prev = j->hist_last[a * n + b];
    double cost = 0;
    for (int w = 0; w < j->T; w++) {
        if (!j->meet[((size_t)w * n + a) * n + b])
            continue;
        if (c->excl[a * n + b])
            cost += HARD;
        if (prev >= 0)
            cost += 1000.0 * pow(2.0, -((double)(j->nhist + w - prev) - 1.0) / c->decay);
        if (c->phase_mode && strcmp(c->s[a].phase, c->s[b].phase) != 0)
            cost += c->phase_mode == 2 ? 1e6 : 1.0;
        prev = j->nhist + w;
    }
    return cost;
}

static void set_meet(struct joint *j, int w, int a, int b, unsigned char v)
{
    size_t base = (size_t)w * j->n * j->n;
    j->meet[base + (size_t)a * j->n + b] = j->meet[base + (size_t)b * j->n + a] = v;
}

static double joint_total(struct joint *j)
{
    double total = 0;
    for (int a = 0; a < j->n; a++)
        for (int b = a + 1; b < j->n; b++)
            total += timeline_pair_cost(j, a, b);
    for (int w = 0; w < j->T; w++)
        for (int g = 0; g < j->ngroups; g++)
            total += soft_cost(j->c, j->orders + w * j->n + j->start[g], j->sizes[g]);
    return total;
}

/* Cost change of swapping slots sa and sb (different groups) in term w; applies it when
 * apply is set, otherwise leaves everything as it was. */
static double swap_delta(struct joint *j, int w, int sa, int sb, bool apply)
{
    int n = j->n, *ord = j->orders + w * n;
    int a = ord[sa], b = ord[sb];
    int ga = j->group_of[w * n + a], gb = j->group_of[w * n + b];
    const int *GA = ord + j->start[ga], *GB = ord + j->start[gb];
    int na = j->sizes[ga], nb = j->sizes[gb];
    double before = soft_cost(j->c, GA, na) + soft_cost(j->c, GB, nb);
    for (int i = 0; i < na; i++)
        if (GA[i] != a)
            before += timeline_pair_cost(j, a, GA[i]) + timeline_pair_cost(j, b, GA[i]);
    for (int i = 0; i < nb; i++)
        if (GB[i] != b)
            before += timeline_pair_cost(j, a, GB[i]) + timeline_pair_cost(j, b, GB[i]);
    /* swap */
    for (int i = 0; i < na; i++)
        if (GA[i] != a) {
            set_meet(j, w, a, GA[i], 0);
            set_meet(j, w, b, GA[i], 1);
        }
    for (int i = 0; i < nb; i++)
        if (GB[i] != b) {
            set_meet(j, w, b, GB[i], 0);
            set_meet(j, w, a, GB[i], 1);
        }
    ord[sa] = b;
    ord[sb] = a;
    j->group_of[w * n + a] = gb;
    j->group_of[w * n + b] = ga;
    double after = soft_cost(j->c, GA, na) + soft_cost(j->c, GB, nb);
    for (int i = 0; i < na; i++)
        if (GA[i] != b)
            after += timeline_pair_cost(j, b, GA[i]) + timeline_pair_cost(j, a, GA[i]);
    for (int i = 0; i < nb; i++)
        if (GB[i] != a)
            after += timeline_pair_cost(j, a, GB[i]) + timeline_pair_cost(j, b, GB[i]);
    if (!apply) { /* undo */
        for (int i = 0; i < na; i++)
            if (GA[i] != b) {
                set_meet(j, w, b, GA[i], 0);
                set_meet(j, w, a, GA[i], 1);
            }
        for (int i = 0; i < nb; i++)
            if (GB[i] != a) {
                set_meet(j, w, a, GB[i], 0);
                set_meet(j, w, b, GB[i], 1);
            }
        ord[sa] = a;
        ord[sb] = b;
        j->group_of[w * n + a] = ga;
        j->group_of[w * n + b] = gb;
    }
    return after - before;
}

/* Does school a (in term w) share a group with someone it meets elsewhere too? */
static bool in_conflict(const struct joint *j, int w, int a)
{
    int n = j->n, g = j->group_of[w * n + a];
    const int *G = j->orders + w * n + j->start[g];
    for (int i = 0; i < j->sizes[g]; i++) {
        int x = G[i];
        if (x == a)
            continue;
        if (j->hist_last[a * n + x] >= 0)
            return true;
        for (int v = 0; v < j->T; v++)
            if (v != w && j->meet[((size_t)v * n + a) * n + x])
                return true;
    }
    return false;
}

static void improve_jointly(struct plan_ctx *c, int *orders, int T, int nhist, const int *hist_last,
                            const int *sizes, int ngroups)
{
    int n = c->n;
    if (T < 2 || ngroups < 2)
        return;
    struct joint j = {c, n, T, nhist, ngroups, sizes, NULL, hist_last, orders, NULL, NULL};
    int *start = xcalloc((size_t)ngroups + 1, sizeof *start);
    for (int g = 0; g < ngroups; g++)
        start[g + 1] = start[g] + sizes[g];
    j.start = start;
    j.group_of = xcalloc((size_t)T * n, sizeof *j.group_of);
    j.meet = xcalloc((size_t)T * n * n, 1);
    for (int w = 0; w < T; w++)
        for (int g = 0; g < ngroups; g++)
            for (int x = start[g]; x < start[g + 1]; x++) {
                j.group_of[w * n + orders[w * n + x]] = g;
                for (int y = start[g]; y < start[g + 1]; y++)
                    if (x != y)
                        set_meet(&j, w, orders[w * n + x], orders[w * n + y], 1);
            }
    int *best = xcalloc((size_t)T * n, sizeof *best);
    memcpy(best, orders, (size_t)T * n * sizeof *best);
    long *tabu = xcalloc((size_t)T * n, sizeof *tabu);
    double total = joint_total(&j), best_total = total;
    uint64_t deadline = now_ms() + PLAN_GUARD_MS;
    double moves = PLAN_WORK / ((double)n * T * 8.0);
    long max_it = moves < 2000 ? 2000 : moves > 100000 ? 100000 : (long)moves;
    long stale = 0, last_better = 0;
    for (long it = 1; it <= max_it && best_total > 1e-9 && it - last_better < 20000; it++) {
        if ((it & 255) == 0 && now_ms() > deadline)
            break;
        int w = (int)(next_rand(c) % (uint64_t)T), sa = -1;
        for (int tries = 0; tries < 24; tries++) {
            int cand = (int)(next_rand(c) % (uint64_t)n);
            sa = cand;
            if (in_conflict(&j, w, orders[w * n + cand]))
                break;
        }
        int a = orders[w * n + sa], ga = j.group_of[w * n + a];
        double best_delta = HUGE_VAL;
        int best_sb = -1;
        for (int sb = 0; sb < n; sb++) {
            int b = orders[w * n + sb];
            if (j.group_of[w * n + b] == ga)
                continue;
            double d = swap_delta(&j, w, sa, sb, false);
            bool is_tabu = tabu[w * n + a] > it || tabu[w * n + b] > it;
            if (is_tabu && total + d >= best_total - 1e-9)
                continue;
            if (d < best_delta || (d == best_delta && (next_rand(c) & 1))) {
                best_delta = d;
                best_sb = sb;
            }
        }
        if (best_sb < 0)
            continue;
        int b = orders[w * n + best_sb];
        total += swap_delta(&j, w, sa, best_sb, true);
        tabu[w * n + a] = tabu[w * n + b] = it + 4 + (long)(next_rand(c) % 8);
        if (total < best_total - 1e-9) {
            best_total = total;
            memcpy(best, orders, (size_t)T * n * sizeof *best);
            stale = 0;
            last_better = it;
        } else if (++stale > 3000) { /* shake: a few random swaps */
            for (int k = 0; k < 3; k++) {
                int ww = (int)(next_rand(c) % (uint64_t)T);
                int x = (int)(next_rand(c) % (uint64_t)n), y = (int)(next_rand(c) % (uint64_t)n);
                if (j.group_of[ww * n + orders[ww * n + x]] !=
                    j.group_of[ww * n + orders[ww * n + y]])
                    total += swap_delta(&j, ww, x, y, true);
            }
            stale = 0;
        }
    }
    memcpy(orders, best, (size_t)T * n * sizeof *best);
    free(best);
    free(tabu);
    free(j.meet);
    free(j.group_of);
    free(start);
}

/* Re-planning: the previous groups of a term, without the schools that left, resized to the
 * group sizes the current number of schools needs, with joining schools filling the gaps.
 * Writes order (groups laid out as sizes says) and marks kept pairs in c->keep. */
static void seed_from_previous(struct plan_ctx *c, json_t *prev_groups, const int *sizes,
                               int ngroups, int *order)
{
    int n = c->n;
    int *group = xcalloc((size_t)n, sizeof *group); /* previous group of each school, -1 new */
    for (int i = 0; i < n; i++)
        group[i] = -1;
    memset(c->keep, 0, (size_t)n * n);
    size_t g;
    json_t *grp;
    int nprev = (int)json_array_size(prev_groups);
    json_array_foreach(prev_groups, g, grp)
    {
        json_t *m = json_object_get(grp, "members");
        for (size_t a = 0; a < json_array_size(m); a++) {
            int x = find_school(c, json_string_value(json_array_get(m, a)));
            if (x < 0)
                continue;
            group[x] = (int)g;
            for (size_t b = 0; b < json_array_size(m); b++) {
                int y = find_school(c, json_string_value(json_array_get(m, b)));
                if (y >= 0 && y != x)
                    c->keep[x * n + y] = 1;
            }
        }
    }
    /* Slots: previous groups, largest first, one per group needed; the rest dissolve. */
    int *count = xcalloc((size_t)(nprev > 0 ? nprev : 1), sizeof *count);
    for (int i = 0; i < n; i++)
        if (group[i] >= 0)
            count[group[i]]++;
    int *slot_of_prev = xcalloc((size_t)(nprev > 0 ? nprev : 1), sizeof *slot_of_prev);
    for (int p = 0; p < nprev; p++)
        slot_of_prev[p] = -1;
    for (int slot = 0; slot < ngroups; slot++) {
        int pick = -1;
        for (int p = 0; p < nprev; p++)
            if (slot_of_prev[p] < 0 && count[p] > 0 && (pick < 0 || count[p] > count[pick]))
                pick = p;
        if (pick >= 0)
            slot_of_prev[pick] = slot;
    }
    int *start = xcalloc((size_t)ngroups + 1, sizeof *start),
        *fill = xcalloc((size_t)ngroups, sizeof *fill);
    for (int k = 0; k < ngroups; k++)
        start[k + 1] = start[k] + sizes[k];
    int *pool = xcalloc((size_t)n, sizeof *pool), npool = 0;
    for (int i = 0; i < n; i++) {
        int slot = group[i] >= 0 ? slot_of_prev[group[i]] : -1;
        if (slot >= 0 && fill[slot] < sizes[slot])
            order[start[slot] + fill[slot]++] = i;
        else
            pool[npool++] = i;
    }
    for (int k = 0, p = 0; k < ngroups; k++)
        while (fill[k] < sizes[k] && p < npool)
            order[start[k] + fill[k]++] = pool[p++];
    free(group);
    free(count);
    free(slot_of_prev);
    free(start);
    free(fill);
    free(pool);
}

/* What a re-plan changed in one term: triads kept whole, schools whose triad changed, and
 * the schools that left or joined since the previous plan. */
static json_t *term_changes(const struct plan_ctx *c, json_t *term, json_t *prev_groups,
                            const int *order, const int *sizes, int ngroups)
{
    int n = c->n, kept = 0;
    json_t *moved = json_array(), *left = json_array(), *joined = json_array();
    unsigned char *prev_together = xcalloc((size_t)n * n, 1), *known = xcalloc((size_t)n, 1);
    size_t g;
    json_t *grp;
    json_array_foreach(prev_groups, g, grp)
    {
        json_t *m = json_object_get(grp, "members");
        for (size_t a = 0; a < json_array_size(m); a++) {
            const char *urn = json_string_value(json_array_get(m, a));
            int x = find_school(c, urn);
            if (x < 0) {
                json_array_append_new(left, json_string(urn ? urn : ""));
                continue;
            }
            known[x] = 1;
            for (size_t b = 0; b < json_array_size(m); b++) {
                int y = find_school(c, json_string_value(json_array_get(m, b)));
                if (y >= 0)
                    prev_together[x * n + y] = 1;
            }
        }
    }
    for (int k = 0, at = 0; k < ngroups; at += sizes[k], k++) {
        /* Kept whole: some previous triad had exactly these members. */
        bool whole = false;
        json_array_foreach(prev_groups, g, grp)
        {
            json_t *m = json_object_get(grp, "members");
            bool same = json_array_size(m) == (size_t)sizes[k];
            for (int a = 0; a < sizes[k] && same; a++) {
                bool found = false;
                for (size_t b = 0; b < json_array_size(m) && !found; b++)
                    found = strcmp(c->s[order[at + a]].urn,
                                   json_string_value(json_array_get(m, b))
                                       ? json_string_value(json_array_get(m, b))
                                       : "") == 0;
                same = found;
            }
            whole |= same;
        }
        kept += whole;
        for (int a = 0; a < sizes[k] && !whole; a++) {
            int x = order[at + a];
            bool same = known[x];
            for (int b = 0; b < sizes[k] && same; b++)
                same = prev_together[x * n + order[at + b]] != 0;
            if (!known[x])
                json_array_append_new(joined, json_string(c->s[x].urn));
            else if (!same)
                json_array_append_new(moved, json_string(c->s[x].urn));
        }
    }
    free(prev_together);
    free(known);
    return json_pack("{s:O, s:O, s:i, s:i, s:o, s:o, s:o}", "year", json_object_get(term, "year"),
                     "term", json_object_get(term, "term"), "kept_triads", kept, "changed_triads",
                     ngroups - kept, "moved", moved, "joined", joined, "left", left);
}

static void add_error(struct mat_errors *errs, const char *path, const char *msg)
{
    mat_errors_add(errs, path, "%s", msg);
}

int rota_service_plan(const char *input_json, size_t len, bool strict, char **plan_json,
                      struct mat_errors *errs)
{
    json_error_t jerr;
    json_t *in = json_loadb(input_json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(in)) {
        mat_errors_add(errs, "", "the planner input is not a JSON object: %s", jerr.text);
        json_decref(in);
        return -1;
    }
    struct plan_ctx c = {0};
    json_t *schools = json_object_get(in, "schools"), *cons = json_object_get(in, "constraints");
    c.n = (int)json_array_size(schools);
    if (c.n < 3) {
        add_error(errs, "/schools", "a rota needs at least 3 active schools");
        json_decref(in);
        return -1;
    }
    c.s = xcalloc((size_t)c.n, sizeof *c.s);
    c.met = xcalloc((size_t)c.n * (size_t)c.n, sizeof *c.met);
    c.excl = xcalloc((size_t)c.n * (size_t)c.n, sizeof *c.excl);
    for (int i = 0; i < c.n * c.n; i++)
        c.met[i] = -1;
    for (int i = 0; i < c.n; i++) {
        json_t *o = json_array_get(schools, (size_t)i);
        struct school *s = &c.s[i];
        s->urn = json_string_value(json_object_get(o, "urn"));
        s->phase = json_string_value(json_object_get(o, "phase"));
        if (!s->phase)
            s->phase = "";
        json_t *lat = json_object_get(o, "lat"), *lon = json_object_get(o, "lon");
        s->has_loc = json_is_number(lat) && json_is_number(lon);
        s->lat = json_number_value(lat);
        s->lon = json_number_value(lon);
        s->strong = json_integer_value(json_object_get(o, "strength")) >= 4;
        s->category = json_is_true(json_object_get(o, "category"));
        s->last_hosted = -1;
        if (!s->urn || find_school(&c, s->urn) != i) {
            char path[48];
            snprintf(path, sizeof path, "/schools/%d/urn", i);
            add_error(errs, path, s->urn ? "this school is listed twice" : "urn is missing");
        }
    }
    const char *phase = json_string_value(json_object_get(cons, "phase"));
    c.phase_mode = !phase || strcmp(phase, "prefer") == 0 ? 1
                   : strcmp(phase, "require") == 0        ? 2
                                                          : 0;
    c.balance = !json_is_false(json_object_get(cons, "balance"));
    json_t *tw = json_object_get(cons, "travel_weight"), *decay = json_object_get(cons, "decay");
    c.travel_weight = tw ? json_number_value(tw) : 1.0;
    c.decay = decay && json_number_value(decay) > 0 ? json_number_value(decay) : 6.0;
    c.rng = (uint64_t)json_integer_value(json_object_get(in, "seed")) * 2654435761u + 1;
    size_t i;
    json_t *pair;
    json_array_foreach(json_object_get(cons, "excluded_pairs"), i, pair)
    {
        int a = find_school(&c, json_string_value(json_array_get(pair, 0)));
        int b = find_school(&c, json_string_value(json_array_get(pair, 1)));
        if (a >= 0 && b >= 0)
            c.excl[a * c.n + b] = c.excl[b * c.n + a] = true;
    }
    /* History, oldest first: schools no longer active are passed over. */
    json_t *history = json_object_get(in, "history"), *h;
    int nhist = (int)json_array_size(history);
    json_array_foreach(history, i, h)
    {
        size_t j;
        json_t *g;
        json_array_foreach(json_object_get(h, "groups"), j, g)
        {
            json_t *m = json_object_get(g, "members");
            for (size_t a = 0; strict && a < json_array_size(m); a++)
                if (find_school(&c, json_string_value(json_array_get(m, a))) < 0) {
                    char path[128];
                    snprintf(path, sizeof path, "/history/%zu/groups/%zu/members/%zu", i, j, a);
                    mat_errors_add(errs, path, "URN %s is not among the schools",
                                   json_string_value(json_array_get(m, a))
                                       ? json_string_value(json_array_get(m, a))
                                       : "(missing)");
                }
            for (size_t a = 0; a < json_array_size(m); a++)
                for (size_t b = 0; b < json_array_size(m); b++) {
                    int x = find_school(&c, json_string_value(json_array_get(m, a)));
                    int y = find_school(&c, json_string_value(json_array_get(m, b)));
                    if (x >= 0 && y >= 0 && x != y)
                        c.met[x * c.n + y] = (int)i;
                }
            int host = find_school(&c, json_string_value(json_object_get(g, "host")));
            if (host >= 0) {
                c.s[host].hosted++;
                c.s[host].last_hosted = (int)i;
            }
        }
    }
    if (json_array_size(json_object_get(in, "terms")) == 0)
        add_error(errs, "/terms", "name at least one term to plan");
    if (errs->count) {
        free(c.s);
        free(c.met);
        free(c.excl);
        json_decref(in);
        return -1;
    }
    int *sizes = xcalloc((size_t)c.n, sizeof *sizes), *order = xcalloc((size_t)c.n, sizeof *order);
    int ngroups = group_sizes(c.n, sizes);
    json_t *out_terms = json_array(), *changes = json_array();
    int sum_repeats = 0, sum_phase = 0, sum_unbalanced = 0;
    double sum_max = 0, sum_total = 0;
    json_t *terms = json_object_get(in, "terms"), *t;
    int T = (int)json_array_size(terms);
    /* 1. term by term, 2. all terms jointly, 3. hosts and metrics in time order. */
    int *hist_last = xcalloc((size_t)c.n * (size_t)c.n, sizeof *hist_last);
    memcpy(hist_last, c.met, (size_t)c.n * (size_t)c.n * sizeof *hist_last);
    int *orders = xcalloc((size_t)T * (size_t)c.n, sizeof *orders);
    json_t *previous = json_object_get(json_object_get(in, "previous"), "terms");
    int *seed = previous ? xcalloc((size_t)c.n, sizeof *seed) : NULL;
    if (previous)
        c.keep = xcalloc((size_t)c.n * (size_t)c.n, 1);
    for (int w = 0; w < T; w++) {
        int now = nhist + w;
        json_t *term = json_array_get(terms, (size_t)w), *prev_groups = NULL, *p;
        size_t k;
        json_array_foreach(previous, k, p)
        {
            if (json_equal(json_object_get(p, "year"), json_object_get(term, "year")) &&
                json_equal(json_object_get(p, "term"), json_object_get(term, "term")))
                prev_groups = json_object_get(p, "groups");
        }
        if (prev_groups)
            seed_from_previous(&c, prev_groups, sizes, ngroups, seed);
        else if (c.keep)
            memset(c.keep, 0, (size_t)c.n * (size_t)c.n);
        if (plan_term(&c, now, orders + w * c.n, sizes, ngroups, prev_groups ? seed : NULL) >=
            HARD) {
            add_error(errs, "/constraints/excluded_pairs",
                      "no grouping keeps every excluded pair apart (or phase is required and "
                      "cannot be met)");
            break;
        }
        for (int g = 0, at = 0; g < ngroups; at += sizes[g], g++)
            for (int a = 0; a < sizes[g]; a++)
                for (int b = 0; b < sizes[g]; b++)
                    if (a != b)
                        c.met[orders[w * c.n + at + a] * c.n + orders[w * c.n + at + b]] = now;
    }
    /* A re-plan keeps what it can term by term; the joint search would not weigh that. */
    if (!errs->count && !previous)
        improve_jointly(&c, orders, T, nhist, hist_last, sizes, ngroups);
    memcpy(c.met, hist_last, (size_t)c.n * (size_t)c.n * sizeof *hist_last);
    json_array_foreach(terms, i, t)
    {
        if (errs->count)
            break;
        int now = nhist + (int)i;
        memcpy(order, orders + i * (size_t)c.n, (size_t)c.n * sizeof *order);
        json_t *p;
        size_t k;
        json_array_foreach(previous, k, p)
        {
            if (json_equal(json_object_get(p, "year"), json_object_get(t, "year")) &&
                json_equal(json_object_get(p, "term"), json_object_get(t, "term")))
                json_array_append_new(changes, term_changes(&c, t, json_object_get(p, "groups"),
                                                            order, sizes, ngroups));
        }
        json_t *groups = json_array();
        int repeats = 0, most_recent = -1, phase_mm = 0, unbalanced = 0;
        double max_km = 0, total_km = 0;
        for (int g = 0, at = 0; g < ngroups; at += sizes[g], g++) {
            const int *m = order + at;
            int host = choose_host(&c, m, sizes[g]);
            json_t *members = json_array();
            int strong = 0, category = 0;
            bool mixed = false;
            for (int a = 0; a < sizes[g]; a++) {
                json_array_append_new(members, json_string(c.s[m[a]].urn));
                strong += c.s[m[a]].strong;
                category += c.s[m[a]].category;
                mixed |= strcmp(c.s[m[a]].phase, c.s[m[0]].phase) != 0;
                double d = km(&c.s[m[a]], &c.s[host]);
                max_km = fmax(max_km, d);
                total_km += d;
                for (int b = a + 1; b < sizes[g]; b++) {
                    int met = c.met[m[a] * c.n + m[b]];
                    if (met >= 0) {
                        repeats++;
                        if (now - met < most_recent || most_recent < 0)
                            most_recent = now - met;
                    }
                }
            }
            for (int a = 0; a < sizes[g]; a++)
                for (int b = 0; b < sizes[g]; b++)
                    if (a != b)
                        c.met[m[a] * c.n + m[b]] = now;
            c.s[host].hosted++;
            c.s[host].last_hosted = now;
            phase_mm += mixed;
            unbalanced += strong == 0 || category > 1;
            json_array_append_new(
                groups, json_pack("{s:o, s:s}", "members", members, "host", c.s[host].urn));
        }
        sum_repeats += repeats;
        sum_phase += phase_mm;
        sum_unbalanced += unbalanced;
        sum_max = fmax(sum_max, max_km);
        sum_total += total_km;
        json_t *metrics =
            json_pack("{s:i, s:o, s:i, s:i, s:f, s:f}", "repeat_pairs", repeats,
                      "most_recent_repeat_terms_ago",
                      most_recent < 0 ? json_null() : json_integer(most_recent), "phase_mismatches",
                      phase_mm, "unbalanced_groups", unbalanced, "max_km", round(max_km * 10) / 10,
                      "total_km", round(total_km * 10) / 10);
        json_array_append_new(
            out_terms, json_pack("{s:O, s:O, s:o, s:o}", "year", json_object_get(t, "year"), "term",
                                 json_object_get(t, "term"), "groups", groups, "metrics", metrics));
    }
    int lo = 1 << 30, hi = 0;
    for (int k = 0; k < c.n; k++) {
        lo = c.s[k].hosted < lo ? c.s[k].hosted : lo;
        hi = c.s[k].hosted > hi ? c.s[k].hosted : hi;
    }
    int rc = errs->count ? -1 : 0;
    if (rc == 0) {
        json_t *out =
            json_pack("{s:o, s:{s:i, s:i, s:i, s:f, s:f, s:i}}", "terms", out_terms, "metrics",
                      "repeat_pairs", sum_repeats, "phase_mismatches", sum_phase,
                      "unbalanced_groups", sum_unbalanced, "max_km", round(sum_max * 10) / 10,
                      "total_km", round(sum_total * 10) / 10, "hosting_spread", hi - lo);
        if (previous)
            json_object_set(out, "changes", changes);
        *plan_json = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(out);
    } else {
        json_decref(out_terms);
    }
    free(sizes);
    free(order);
    free(orders);
    free(hist_last);
    json_decref(changes);
    free(seed);
    free(c.keep);
    free(c.s);
    free(c.met);
    free(c.excl);
    json_decref(in);
    return rc;
}
