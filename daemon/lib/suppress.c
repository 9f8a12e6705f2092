/* Small-cohort suppression: primary cells, then (when the trust asks for complementary
 * suppression) secondary cells to a fixed point over every additive relation between the
 * published cells (docs/priorities.md, "Small cohorts"). */
#include "suppress.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The groups of progress_cells(), in the order the summaries list them; any other name
 * sorts after them and is in no relation. */
static const char *const known_groups[] = {
    "all",       "disadvantaged", "not_disadvantaged", "send",  "send_support",
    "ehcp",      "eal",           "looked_after",      "girls", "boys",
    "prior_low", "prior_middle",  "prior_high",
};
enum { G_ALL, G_DIS, G_ND, G_SEND, G_SS, G_EHCP, G_EAL, G_LA, G_GIRLS, G_BOYS, G_PL, G_PM, G_PH };
#define G_KNOWN ((int)ARRAY_LEN(known_groups))

/* A group and the disjoint groups inside it. Pupils in none of the parts (no SEND, not
 * EAL, sex or prior attainment not recorded) are the relation's remainder: never
 * published, but worked out from the others when they are. */
struct split {
    int total;
    int parts[3];
    size_t nparts;
};
static const struct split splits[] = {
    {G_ALL, {G_DIS, G_ND}, 2},
    {G_SEND, {G_SS, G_EHCP}, 2},
    {G_ALL, {G_SEND}, 1},
    {G_ALL, {G_EAL}, 1},
    {G_ALL, {G_LA}, 1},
    {G_ALL, {G_GIRLS, G_BOYS}, 2},
    {G_ALL, {G_PL, G_PM, G_PH}, 3},
};

/* What a reader of the published tables knows of a node. */
enum status {
    VISIBLE, /* published */
    HIDDEN,  /* a cell withheld (primary or secondary) */
    SECRET,  /* a remainder of fewer than min_cohort pupils: to be protected like a cell */
    OPAQUE,  /* a remainder of min_cohort or more: unknown, but no harm if worked out */
};

/* Stages, so that the subjects' cells over all year groups get the same mask with or
 * without their year groups (a summary has them, the priorities do not), and a subset's
 * mask withholds everything the mask without it does. */
enum {
    STAGE_TERM = 1,         /* subject cells over all year groups: the trust and its schools */
    STAGE_SUBSET = 2,       /* the same with the subset's row */
    STAGE_YEARS = 4,        /* year groups, with the subject cells fixed */
    STAGE_SUBSET_YEARS = 8, /* the same with the subset's row */
    STAGE_ALL = 15,
};

struct node {
    int32_t scope, subject, year, group; /* ids; year 0 = all year groups */
    long n;
    int32_t input; /* the input row (errors), -1 for derived nodes */
    uint8_t status;
    bool remainder;
    bool single; /* the one year group of its subject's cell: that cell again */
    bool pinned; /* in the year-group stages, known from the subject cells: never taken */
};

struct names {
    char **v;
    size_t n;
};

struct suppress_mask {
    struct names scopes, subjects, years, groups; /* years.v[0] is "all" */
    struct suppress_rule rule;
    struct node *nodes; /* the cells, then the subset's row (scope id scopes.n), sorted */
    size_t nreal, nkeyed;
    bool has_subset;
    struct suppress_stats stats;
};

/* ---- names ---- */

static int year_rank(const char *y)
{
    if (!strcmp(y, "N"))
        return -1;
    if (!strcmp(y, "R"))
        return 0;
    char *end;
    long v = strtol(y, &end, 10);
    return *y && !*end && v >= 1 && v <= 99 ? (int)v : 100;
}

static int group_rank(const char *g)
{
    for (int i = 0; i < G_KNOWN; i++)
        if (!strcmp(g, known_groups[i]))
            return i;
    return G_KNOWN;
}

static int cmp_str_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_year_p(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = year_rank(x), ry = year_rank(y);
    return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x, y);
}

static int cmp_group_p(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = group_rank(x), ry = group_rank(y);
    return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x, y);
}

/* Sorted, distinct, owned copies of items[0..n). */
static void names_build(struct names *out, const char **items, size_t n,
                        int (*cmp)(const void *, const void *))
{
    qsort(items, n, sizeof *items, cmp);
    out->v = xcalloc(n + 1, sizeof *out->v);
    out->n = 0;
    for (size_t i = 0; i < n; i++)
        if (!out->n || cmp(&items[i], &out->v[out->n - 1]))
            out->v[out->n++] = xstrdup(items[i]);
}

static void names_copy(struct names *out, const struct names *in)
{
    out->v = xcalloc(in->n + 1, sizeof *out->v);
    for (size_t i = 0; i < in->n; i++)
        out->v[i] = xstrdup(in->v[i]);
    out->n = in->n;
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static int32_t names_find(const struct names *ns, size_t from, const char *s,
                          int (*cmp)(const void *, const void *))
{
    char **hit = bsearch(&s, ns->v + from, ns->n - from, sizeof *ns->v, cmp);
    return hit ? (int32_t)(hit - ns->v) : -1;
}

static const char *scope_of(const char *s)
{
    return s ? s : SUPPRESS_TRUST;
}

static bool year_is_all(const char *y)
{
    return !y || !strcmp(y, "all");
}

static int32_t year_id(const struct suppress_mask *m, const char *y)
{
    return year_is_all(y) ? 0 : names_find(&m->years, 1, y, cmp_year_p);
}

static int cmp_node(const void *a, const void *b)
{
    const struct node *x = a, *y = b;
    if (x->scope != y->scope)
        return x->scope < y->scope ? -1 : 1;
    if (x->subject != y->subject)
        return x->subject < y->subject ? -1 : 1;
    if (x->year != y->year)
        return x->year < y->year ? -1 : 1;
    return x->group != y->group ? (x->group < y->group ? -1 : 1) : 0;
}

/* ---- the relations and the fixed point ---- */

struct work {
    struct suppress_mask *m;
    struct node *nodes; /* m's keyed nodes, then the remainders */
    size_t n, cap;
    int32_t *rel_off, *members;
    uint8_t *rel_stage;
    size_t nrel, rel_cap, nmem, mem_cap;
    int32_t *node_off, *node_rel; /* node -> the relations it is in */
    int32_t *heap;                /* relations to look at, smallest index first */
    size_t nheap;
    bool *queued;
    int group_at[G_KNOWN]; /* known group -> group id, -1 when absent */
};

static int32_t node_add(struct work *w, const struct node *nd)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->nodes = xrealloc(w->nodes, w->cap * sizeof *w->nodes);
    }
    w->nodes[w->n] = *nd;
    return (int32_t)w->n++;
}

static void member_add(struct work *w, int32_t node)
{
    if (w->nmem == w->mem_cap) {
        w->mem_cap = w->mem_cap ? w->mem_cap * 2 : 1024;
        w->members = xrealloc(w->members, w->mem_cap * sizeof *w->members);
    }
    w->members[w->nmem++] = node;
}

/* total = parts (+ the remainder, a node of its own): one relation, unless nothing but the
 * total is published or the counts do not add up. */
static void relation_add(struct work *w, int32_t total, const int32_t *parts, size_t nparts,
                         uint8_t stage, bool pin)
{
    if (total < 0 || nparts == 0)
        return;
    long sum = 0;
    for (size_t i = 0; i < nparts; i++)
        sum += w->nodes[parts[i]].n;
    long rest = w->nodes[total].n - sum;
    if (rest < 0)
        return;
    if (w->nrel + 1 >= w->rel_cap) {
        w->rel_cap = w->rel_cap ? w->rel_cap * 2 : 256;
        w->rel_off = xrealloc(w->rel_off, (w->rel_cap + 1) * sizeof *w->rel_off);
        w->rel_stage = xrealloc(w->rel_stage, w->rel_cap * sizeof *w->rel_stage);
    }
    w->rel_off[w->nrel] = (int32_t)w->nmem;
    member_add(w, total);
    for (size_t i = 0; i < nparts; i++)
        member_add(w, parts[i]);
    if (rest > 0) {
        struct node r = {.scope = -1, .n = rest, .input = -1, .remainder = true};
        r.status = rest < w->m->rule.min_cohort ? SECRET : OPAQUE;
        member_add(w, node_add(w, &r));
    }
    if (pin && nparts == 1 && rest == 0)
        w->nodes[parts[0]].single = true;
    w->rel_stage[w->nrel++] = stage;
    w->rel_off[w->nrel] = (int32_t)w->nmem;
}

/* Within each (scope, subject, year group): the splits of a group into its parts. */
static void within_relations(struct work *w, size_t from, size_t to)
{
    int32_t subset = (int32_t)w->m->scopes.n;
    for (size_t i = from; i < to;) {
        size_t j = i;
        int32_t at[G_KNOWN];
        for (int g = 0; g < G_KNOWN; g++)
            at[g] = -1;
        const struct node *a = &w->nodes[i];
        for (; j < to && w->nodes[j].scope == a->scope && w->nodes[j].subject == a->subject &&
               w->nodes[j].year == a->year;
             j++)
            for (int g = 0; g < G_KNOWN; g++)
                if (w->group_at[g] == w->nodes[j].group)
                    at[g] = (int32_t)j;
        bool sub = a->scope == subset;
        uint8_t stage =
            a->year ? (sub ? STAGE_SUBSET_YEARS : STAGE_YEARS) : (sub ? STAGE_SUBSET : STAGE_TERM);
        for (size_t s = 0; s < ARRAY_LEN(splits); s++) {
            int32_t parts[3];
            size_t np = 0;
            for (size_t p = 0; p < splits[s].nparts; p++)
                if (at[splits[s].parts[p]] >= 0)
                    parts[np++] = at[splits[s].parts[p]];
            relation_add(w, at[splits[s].total], parts, np, stage, false);
        }
        i = j;
    }
}

/* Within each (scope, subject, group): the cell over all year groups = its year groups. */
static void year_relations(struct work *w, size_t from, size_t to)
{
    size_t ng = w->m->groups.n;
    int32_t *total = xcalloc(ng + 1, sizeof *total);
    int32_t *count = xcalloc(ng + 1, sizeof *count), *off = xcalloc(ng + 2, sizeof *off);
    int32_t *list = xcalloc(to - from + 1, sizeof *list);
    for (size_t i = from; i < to;) {
        size_t j = i;
        const struct node *a = &w->nodes[i];
        memset(count, 0, (ng + 1) * sizeof *count);
        for (size_t g = 0; g < ng; g++)
            total[g] = -1;
        for (; j < to && w->nodes[j].scope == a->scope && w->nodes[j].subject == a->subject; j++) {
            if (w->nodes[j].year == 0)
                total[w->nodes[j].group] = (int32_t)j;
            else
                count[w->nodes[j].group]++;
        }
        off[0] = 0;
        for (size_t g = 0; g < ng; g++)
            off[g + 1] = off[g] + count[g];
        memset(count, 0, (ng + 1) * sizeof *count);
        for (size_t k = i; k < j; k++)
            if (w->nodes[k].year != 0) {
                int32_t g = w->nodes[k].group;
                list[off[g] + count[g]++] = (int32_t)k;
            }
        uint8_t stage = a->scope == (int32_t)w->m->scopes.n ? STAGE_SUBSET_YEARS : STAGE_YEARS;
        for (size_t g = 0; g < ng; g++)
            relation_add(w, total[g], list + off[g], (size_t)(off[g + 1] - off[g]), stage, true);
        i = j;
    }
    free(total);
    free(count);
    free(off);
    free(list);
}

/* The cells of each (subject, year group, group) across scopes: the trust's, and its
 * schools' in off[s] .. off[s + 1] of list. */
struct slots {
    size_t n;
    int32_t *trust_at, *off, *list;
};

static size_t slot_of(const struct suppress_mask *m, const struct node *nd)
{
    return ((size_t)nd->subject * m->years.n + (size_t)nd->year) * m->groups.n + (size_t)nd->group;
}

/* Indexes the cells by slot and makes the subset's row (its schools' counts summed), in
 * key order after the cells. */
static void slots_build(struct work *w, const bool *in_subset, struct slots *sl)
{
    struct suppress_mask *m = w->m;
    int32_t trust = names_find(&m->scopes, 0, SUPPRESS_TRUST, cmp_str_p);
    sl->n = m->subjects.n * m->years.n * m->groups.n;
    sl->trust_at = xcalloc(sl->n + 1, sizeof *sl->trust_at);
    sl->off = xcalloc(sl->n + 2, sizeof *sl->off);
    sl->list = xcalloc(m->nreal + 1, sizeof *sl->list);
    for (size_t s = 0; s < sl->n; s++)
        sl->trust_at[s] = -1;
    for (size_t i = 0; i < m->nreal; i++) {
        if (w->nodes[i].scope == trust)
            sl->trust_at[slot_of(m, &w->nodes[i])] = (int32_t)i;
        else
            sl->off[slot_of(m, &w->nodes[i]) + 2]++;
    }
    for (size_t s = 2; s < sl->n + 2; s++)
        sl->off[s] += sl->off[s - 1];
    for (size_t i = 0; i < m->nreal; i++)
        if (w->nodes[i].scope != trust)
            sl->list[sl->off[slot_of(m, &w->nodes[i]) + 1]++] = (int32_t)i;
    for (size_t s = 0; m->has_subset && s < sl->n; s++) {
        long n = 0;
        for (int32_t k = sl->off[s]; k < sl->off[s + 1]; k++)
            if (in_subset[w->nodes[sl->list[k]].scope])
                n += w->nodes[sl->list[k]].n;
        if (n <= 0)
            continue;
        struct node nd = {.scope = (int32_t)m->scopes.n,
                          .subject = (int32_t)(s / (m->years.n * m->groups.n)),
                          .year = (int32_t)(s / m->groups.n % m->years.n),
                          .group = (int32_t)(s % m->groups.n),
                          .n = n,
                          .input = -1};
        node_add(w, &nd);
    }
    m->nkeyed = w->n;
}

static void slots_free(struct slots *sl)
{
    free(sl->trust_at);
    free(sl->off);
    free(sl->list);
}

/* Across scopes, per slot: the trust's row = its schools'; with a subset, the subset's row
 * = its schools', and the trust's = the subset's + the others. */
static void scope_relations(struct work *w, const bool *in_subset, const struct slots *sl)
{
    struct suppress_mask *m = w->m;
    int32_t *sub = xcalloc(m->nreal + 1, sizeof *sub);
    size_t next = m->nreal;
    for (size_t s = 0; s < sl->n; s++) {
        bool year0 = s / m->groups.n % m->years.n == 0;
        relation_add(w, sl->trust_at[s], sl->list + sl->off[s],
                     (size_t)(sl->off[s + 1] - sl->off[s]), year0 ? STAGE_TERM : STAGE_YEARS,
                     false);
        if (next >= m->nkeyed || slot_of(m, &w->nodes[next]) != s)
            continue;
        int32_t at = (int32_t)next++;
        size_t ns = 0;
        for (int32_t k = sl->off[s]; k < sl->off[s + 1]; k++)
            if (in_subset[w->nodes[sl->list[k]].scope])
                sub[ns++] = sl->list[k];
        uint8_t stage = year0 ? STAGE_SUBSET : STAGE_SUBSET_YEARS;
        relation_add(w, at, sub, ns, stage, false);
        relation_add(w, sl->trust_at[s], &at, 1, stage, false);
    }
    free(sub);
}

static void index_relations(struct work *w)
{
    w->node_off = xcalloc(w->n + 2, sizeof *w->node_off);
    for (size_t k = 0; k < w->nmem; k++)
        w->node_off[w->members[k] + 2]++;
    for (size_t i = 2; i < w->n + 2; i++)
        w->node_off[i] += w->node_off[i - 1];
    w->node_rel = xcalloc(w->nmem + 1, sizeof *w->node_rel);
    for (size_t r = 0; r < w->nrel; r++)
        for (int32_t k = w->rel_off[r]; k < w->rel_off[r + 1]; k++)
            w->node_rel[w->node_off[w->members[k] + 1]++] = (int32_t)r;
    w->heap = xcalloc(w->nrel + 1, sizeof *w->heap);
    w->queued = xcalloc(w->nrel + 1, sizeof *w->queued);
}

static void heap_push(struct work *w, int32_t r)
{
    if (w->queued[r])
        return;
    w->queued[r] = true;
    size_t i = w->nheap++;
    while (i > 0 && w->heap[(i - 1) / 2] > r) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = r;
}

static int32_t heap_pop(struct work *w)
{
    int32_t top = w->heap[0], last = w->heap[--w->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->nheap)
            break;
        if (c + 1 < w->nheap && w->heap[c + 1] < w->heap[c])
            c++;
        if (w->heap[c] >= last)
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->nheap)
        w->heap[i] = last;
    w->queued[top] = false;
    return top;
}

/* A relation leaves a protected node (a withheld cell, a small remainder) the one unknown. */
static bool exposes(const struct work *w, int32_t r)
{
    int unknown = 0;
    uint8_t lone = VISIBLE;
    for (int32_t k = w->rel_off[r]; k < w->rel_off[r + 1] && unknown < 2; k++) {
        uint8_t st = w->nodes[w->members[k]].status;
        if (st != VISIBLE) {
            unknown++;
            lone = st;
        }
    }
    return unknown == 1 && lone != OPAQUE;
}

/* In the year-group stages (years_only), the subject cells stay as decided before. */
static bool can_take(const struct work *w, int32_t node, bool years_only)
{
    const struct node *nd = &w->nodes[node];
    if (nd->status != VISIBLE || nd->remainder)
        return false;
    return !years_only || (nd->year != 0 && !nd->pinned);
}

/* The node to withhold next in relation r: the smallest part (fewest pupils, then the
 * first in key order); the total only when no part can be; -1 when nothing can. */
static int32_t pick(const struct work *w, int32_t r, bool years_only)
{
    int32_t best = -1;
    for (int32_t k = w->rel_off[r] + 1; k < w->rel_off[r + 1]; k++) {
        int32_t c = w->members[k];
        if (can_take(w, c, years_only) && (best < 0 || w->nodes[c].n < w->nodes[best].n ||
                                           (w->nodes[c].n == w->nodes[best].n && c < best)))
            best = c;
    }
    int32_t total = w->members[w->rel_off[r]];
    return best >= 0 ? best : can_take(w, total, years_only) ? total : -1;
}

/* Withholds a further cell in the first relation (of the stages) that exposes one, until
 * none does. Returns how many it took. */
static size_t fixed_point(struct work *w, uint8_t stages, bool years_only)
{
    size_t taken = 0;
    for (size_t r = 0; r < w->nrel; r++)
        if (w->rel_stage[r] & stages)
            heap_push(w, (int32_t)r);
    while (w->nheap) {
        int32_t r = heap_pop(w);
        if (!exposes(w, r))
            continue;
        int32_t c = pick(w, r, years_only);
        if (c < 0)
            continue; /* the stage cannot; the pass after it will */
        w->nodes[c].status = HIDDEN;
        taken++;
        for (int32_t k = w->node_off[c]; k < w->node_off[c + 1]; k++)
            if (w->rel_stage[w->node_rel[k]] & stages)
                heap_push(w, w->node_rel[k]);
    }
    return taken;
}

/* Before a year-group stage: the year groups the subject cells already decide. One that
 * holds every pupil of its subject's cell is that cell again, withheld with it; one that a
 * relation works out from shown subject cells (and such year groups) is known whatever is
 * done. Neither is taken in the stage: taking them would protect nothing, or reach back to
 * the subject cells the earlier stages fixed. */
static void pin(struct work *w, uint8_t stages)
{
    for (size_t i = 0; i < w->m->nkeyed; i++)
        w->nodes[i].pinned = w->nodes[i].single;
    for (size_t r = 0; r < w->nrel; r++) {
        int32_t total = w->members[w->rel_off[r]], part = w->members[w->rel_off[r] + 1];
        if ((w->rel_stage[r] & stages) && w->nodes[part].single && w->nodes[total].year == 0 &&
            w->nodes[total].status == HIDDEN)
            w->nodes[part].status = HIDDEN;
    }
    for (bool more = true; more;) {
        more = false;
        for (size_t r = 0; r < w->nrel; r++) {
            if (!(w->rel_stage[r] & stages))
                continue;
            int32_t open = -1, nopen = 0;
            for (int32_t k = w->rel_off[r]; k < w->rel_off[r + 1] && nopen < 2; k++) {
                const struct node *x = &w->nodes[w->members[k]];
                if (x->status != VISIBLE || (x->year != 0 && !x->pinned)) {
                    open = w->members[k];
                    nopen++;
                }
            }
            if (nopen == 1 && w->nodes[open].status == VISIBLE && !w->nodes[open].remainder) {
                w->nodes[open].pinned = true;
                more = true;
            }
        }
    }
}

static void work_free(struct work *w)
{
    free(w->rel_off);
    free(w->members);
    free(w->rel_stage);
    free(w->node_off);
    free(w->node_rel);
    free(w->heap);
    free(w->queued);
}

/* Secondary suppression: the relations between the cells (w's primary cells withheld),
 * each to a fixed point. */
static void withhold_complements(struct work *w, const bool *in_subset, const struct slots *sl)
{
    struct suppress_mask *m = w->m;
    /* A school's own splits come first: the cells they take often settle the trust's row. */
    within_relations(w, 0, m->nkeyed);
    scope_relations(w, in_subset, sl);
    year_relations(w, 0, m->nkeyed);
    index_relations(w);

    /* The subject cells first, then their year groups, each to a fixed point; the year
     * groups reach back to a subject cell only where nothing else protects (forced). With
     * a subset, the same again from there, so that it withholds all the trust-wide mask
     * does. */
    fixed_point(w, STAGE_TERM, false);
    pin(w, STAGE_YEARS);
    fixed_point(w, STAGE_YEARS, true);
    m->stats.forced = fixed_point(w, STAGE_TERM | STAGE_YEARS, false);
    if (m->has_subset) {
        fixed_point(w, STAGE_TERM | STAGE_SUBSET, false);
        pin(w, STAGE_YEARS | STAGE_SUBSET_YEARS);
        fixed_point(w, STAGE_YEARS | STAGE_SUBSET_YEARS, true);
        m->stats.forced += fixed_point(w, STAGE_ALL, false);
    }
}

/* m holds its names and its cells (nodes[0..nreal), sorted); adds the subset's row and
 * decides every node's status. */
static void compute(struct suppress_mask *m, const char *const *subset, size_t nsubset)
{
    struct work w = {.m = m, .nodes = m->nodes, .n = m->nreal, .cap = m->nreal};
    for (int g = 0; g < G_KNOWN; g++)
        w.group_at[g] = names_find(&m->groups, 0, known_groups[g], cmp_group_p);
    bool *in_subset = xcalloc(m->scopes.n + 1, sizeof *in_subset);
    m->has_subset = subset != NULL;
    for (size_t i = 0; subset && i < nsubset; i++) {
        int32_t s = subset[i] ? names_find(&m->scopes, 0, subset[i], cmp_str_p) : -1;
        if (s >= 0 && strcmp(subset[i], SUPPRESS_TRUST))
            in_subset[s] = true;
    }
    struct slots sl;
    slots_build(&w, in_subset, &sl);
    for (size_t i = 0; i < m->nkeyed; i++) {
        w.nodes[i].status = w.nodes[i].n < m->rule.min_cohort ? HIDDEN : VISIBLE;
        w.nodes[i].single = w.nodes[i].pinned = false;
    }
    if (m->rule.complements)
        withhold_complements(&w, in_subset, &sl);
    slots_free(&sl);
    free(in_subset);

    m->nodes = w.nodes;
    m->stats.cells = m->nkeyed;
    for (size_t i = 0; i < m->nkeyed; i++) {
        if (m->nodes[i].n < m->rule.min_cohort)
            m->stats.primary++;
        else if (m->nodes[i].status == HIDDEN)
            m->stats.secondary++;
    }
    work_free(&w);
}

/* ---- the interface ---- */

struct suppress_mask *suppress_compute(const struct suppress_cell *cells, size_t ncells,
                                       const struct suppress_rule *rule, const char *const *subset,
                                       size_t nsubset, struct mat_errors *err)
{
    const char **tmp = xcalloc(ncells + 2, sizeof *tmp);
    struct suppress_mask *m = xcalloc(1, sizeof *m);
    m->rule = *rule;
    size_t k;
    for (k = 0; k < ncells; k++)
        tmp[k] = scope_of(cells[k].scope);
    names_build(&m->scopes, tmp, ncells, cmp_str_p);
    for (k = 0; k < ncells; k++)
        tmp[k] = cells[k].subject ? cells[k].subject : "";
    names_build(&m->subjects, tmp, ncells, cmp_str_p);
    size_t ny = 0;
    for (k = 0; k < ncells; k++)
        if (!year_is_all(cells[k].year_group))
            tmp[ny++] = cells[k].year_group;
    names_build(&m->years, tmp, ny, cmp_year_p);
    /* year id 0: the subject's cell over all year groups */
    memmove(m->years.v + 1, m->years.v, m->years.n * sizeof *m->years.v);
    m->years.v[0] = xstrdup("all");
    m->years.n++;
    for (k = 0; k < ncells; k++)
        tmp[k] = cells[k].group ? cells[k].group : "";
    names_build(&m->groups, tmp, ncells, cmp_group_p);
    free(tmp);

    m->nodes = xcalloc(ncells + 1, sizeof *m->nodes);
    bool ok = true;
    for (k = 0; k < ncells; k++) {
        const struct suppress_cell *c = &cells[k];
        if (c->n < 0) {
            if (err) {
                char path[40];
                snprintf(path, sizeof path, "/cells/%zu/n", k);
                mat_errors_add(err, path, "n must not be negative");
            }
            ok = false;
        }
        if (c->n <= 0)
            continue;
        struct node *nd = &m->nodes[m->nreal++];
        const char *subject = c->subject ? c->subject : "", *group = c->group ? c->group : "";
        nd->scope = names_find(&m->scopes, 0, scope_of(c->scope), cmp_str_p);
        nd->subject = names_find(&m->subjects, 0, subject, cmp_str_p);
        nd->year = year_id(m, c->year_group);
        nd->group = names_find(&m->groups, 0, group, cmp_group_p);
        nd->n = c->n;
        nd->input = (int32_t)k;
    }
    qsort(m->nodes, m->nreal, sizeof *m->nodes, cmp_node);
    for (k = 1; k < m->nreal; k++)
        if (!cmp_node(&m->nodes[k - 1], &m->nodes[k])) {
            if (err) {
                char path[32];
                int32_t a = m->nodes[k - 1].input, b = m->nodes[k].input;
                snprintf(path, sizeof path, "/cells/%d", (int)(a > b ? a : b));
                mat_errors_add(err, path, "the cell is given twice");
            }
            ok = false;
        }
    if (!ok) {
        suppress_free(m);
        return NULL;
    }
    compute(m, subset, nsubset);
    return m;
}

struct suppress_mask *suppress_for_subset(const struct suppress_mask *base,
                                          const char *const *subset, size_t nsubset)
{
    struct suppress_mask *m = xcalloc(1, sizeof *m);
    m->rule = base->rule;
    names_copy(&m->scopes, &base->scopes);
    names_copy(&m->subjects, &base->subjects);
    names_copy(&m->years, &base->years);
    names_copy(&m->groups, &base->groups);
    m->nreal = base->nreal;
    m->nodes = xcalloc(m->nreal + 1, sizeof *m->nodes);
    memcpy(m->nodes, base->nodes, m->nreal * sizeof *m->nodes);
    compute(m, subset, nsubset);
    return m;
}

bool suppress_withheld(const struct suppress_mask *m, const char *scope, const char *subject,
                       const char *year_group, const char *group)
{
    if (!m || !subject || !group)
        return false;
    struct node key = {0};
    scope = scope_of(scope);
    if (!strcmp(scope, SUPPRESS_SUBSET)) {
        if (!m->has_subset)
            return false;
        key.scope = (int32_t)m->scopes.n;
    } else {
        key.scope = names_find(&m->scopes, 0, scope, cmp_str_p);
    }
    key.subject = names_find(&m->subjects, 0, subject, cmp_str_p);
    key.year = year_id(m, year_group);
    key.group = names_find(&m->groups, 0, group, cmp_group_p);
    if (key.scope < 0 || key.subject < 0 || key.year < 0 || key.group < 0)
        return false;
    const struct node *hit = bsearch(&key, m->nodes, m->nkeyed, sizeof key, cmp_node);
    return hit && hit->status == HIDDEN;
}

int suppress_min_cohort(const struct suppress_mask *m)
{
    return m->rule.min_cohort;
}

void suppress_get_stats(const struct suppress_mask *m, struct suppress_stats *out)
{
    *out = m->stats;
}

void suppress_free(struct suppress_mask *m)
{
    if (!m)
        return;
    names_free(&m->scopes);
    names_free(&m->subjects);
    names_free(&m->years);
    names_free(&m->groups);
    free(m->nodes);
    free(m);
}
