/* The items of the priorities (SPEC 6.2): which cells, SEF areas, SIP themes and stuck
 * pupils become a priority, at school and trust level, with their figures and scores.
 * The sentences come from prio_text. */
#include "prio_items.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prio_text.h"

static struct priorities_item *add_item(struct ctx *c, enum priorities_kind kind, int scope)
{
    struct priorities_item *it = arena_alloc(c->arena, sizeof *it);
    it->kind = kind;
    it->level = scope ? PRIORITIES_LEVEL_SCHOOL : PRIORITIES_LEVEL_TRUST;
    if (scope) {
        it->urn = c->sch[scope - 1].urn;
        it->schools = arena_alloc(c->arena, sizeof *it->schools);
        it->schools[0] = it->urn;
        it->n_schools = 1;
    }
    if (c->nitems == c->items_cap) {
        c->items_cap = c->items_cap ? c->items_cap * 2 : 256;
        c->items = xrealloc(c->items, c->items_cap * sizeof *c->items);
    }
    c->items[c->nitems++] = it;
    return it;
}

/* Trust-level breadth from c->tmp[0..n). */
static void set_breadth(struct ctx *c, struct priorities_item *it, size_t n)
{
    it->schools = arena_alloc(c->arena, (n + 1) * sizeof *it->schools);
    for (size_t i = 0; i < n; i++)
        it->schools[i] = c->sch[c->tmp[i]].urn;
    it->n_schools = n;
}

static void set_score(struct priorities_item *it, double score)
{
    it->score = score;
    it->score_hundredths = (int64_t)llround(score * 100.0);
}

static void attainment_items(struct ctx *c)
{
    for (int subj = 0; subj < (int)c->nsubj; subj++)
        for (int grp = 0; grp < (int)c->ngrp; grp++) {
            size_t breadth = 0;
            for (int scope = 1; scope < (int)c->nscope; scope++) {
                const struct priorities_cell_metrics *m = cur_metrics(c, subj, grp, scope);
                if (!m || !m->below)
                    continue;
                c->tmp[breadth++] = scope - 1;
                struct priorities_item *it = add_item(c, PRIORITIES_KIND_ATTAINMENT, scope);
                it->subject = c->subj_name[subj];
                it->group = c->grp_name[grp];
                it->cell = *m;
                set_score(it, m->deficit);
                prio_text_attainment(c, it, subj, grp, scope);
            }
            const struct priorities_cell_metrics *m = cur_metrics(c, subj, grp, 0);
            if (!m || !m->below)
                continue;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_ATTAINMENT, 0);
            it->subject = c->subj_name[subj];
            it->group = c->grp_name[grp];
            it->cell = *m;
            set_breadth(c, it, breadth);
            set_score(it, m->deficit);
            prio_text_attainment(c, it, subj, grp, 0);
        }
}

/* The national gap a subject's gaps are measured against (SPEC 6.2). */
struct gap_ref {
    enum priorities_gap_source source;
    const char *year, *subject; /* arena copies */
    double dis, nd;
};

struct gap_eval {
    const struct priorities_cell_metrics *dis, *nd;
    const struct gap_ref *ref;
    double group_gap, national_gap, excess;
};

/* The most recent reference row for subject up to this year (strictly before it when
 * earlier). A fallback never stands in with a gap of zero or less. */
static const struct priorities_gap_reference *latest_reference(const struct ctx *c,
                                                               const char *subject, bool earlier)
{
    const struct priorities_gap_reference *best = NULL;
    for (size_t i = 0; i < c->in->n_gap_refs; i++) {
        const struct priorities_gap_reference *r = &c->in->gap_refs[i];
        if (!str_ok(r->subject) || !str_ok(r->year) || strcmp(r->subject, subject))
            continue;
        int cmp = strcmp(r->year, c->in->year);
        if (cmp > 0 || (earlier && cmp == 0))
            continue;
        if (r->not_disadvantaged - r->disadvantaged <= PRIO_EPS)
            continue;
        if (!best || strcmp(r->year, best->year) > 0)
            best = r;
    }
    return best;
}

/* This year's benchmarks of both groups; else the most recent earlier year with both;
 * else the most recent national reading, writing and maths gap; else 2023-24's. */
static void gap_reference(struct ctx *c, int subj, struct gap_ref *g)
{
    size_t bd = (size_t)subj * c->ngrp + (size_t)c->grp_dis;
    size_t bn = (size_t)subj * c->ngrp + (size_t)c->grp_nd;
    const char *subject = c->subj_name[subj];
    const struct priorities_gap_reference *r = NULL;
    if (c->has_bench[bd] && c->has_bench[bn]) {
        g->source = PRIORITIES_GAP_THIS_YEAR;
        g->year = arena_strdup(c->arena, c->in->year);
        g->subject = subject;
        g->dis = c->bench[bd];
        g->nd = c->bench[bn];
        return;
    }
    if ((r = latest_reference(c, subject, true)) != NULL) {
        g->source = PRIORITIES_GAP_EARLIER_YEAR;
    } else {
        g->source = PRIORITIES_GAP_RWM;
        r = latest_reference(c, "rwm", false);
    }
    g->year = arena_strdup(c->arena, r ? r->year : PRIORITIES_RWM_YEAR);
    g->subject = r ? arena_strdup(c->arena, r->subject) : "rwm";
    g->dis = r ? r->disadvantaged : PRIORITIES_RWM_DISADVANTAGED;
    g->nd = r ? r->not_disadvantaged : PRIORITIES_RWM_NOT_DISADVANTAGED;
}

static bool gap_check(const struct ctx *c, int subj, int scope, struct gap_eval *g)
{
    g->dis = cur_metrics(c, subj, c->grp_dis, scope);
    g->nd = cur_metrics(c, subj, c->grp_nd, scope);
    if (!g->dis || !g->nd || g->dis->n < c->t->min_cohort || g->nd->n < c->t->min_cohort)
        return false;
    g->group_gap = g->nd->p - g->dis->p;
    g->national_gap = g->ref->nd - g->ref->dis;
    g->excess = g->group_gap - g->national_gap;
    /* Only a gap that disadvantaged pupils are on the wrong side of. */
    return g->group_gap > PRIO_EPS && g->excess * 100.0 >= c->t->gap_points - PRIO_EPS;
}

static void fill_gap_item(struct ctx *c, struct priorities_item *it, int subj,
                          const struct gap_eval *g)
{
    it->subject = c->subj_name[subj];
    it->group = c->grp_name[c->grp_dis];
    it->cell = *g->dis;
    it->other = *g->nd;
    it->group_gap = g->group_gap;
    it->national_gap = g->national_gap;
    it->excess = g->excess;
    it->gap_source = g->ref->source;
    it->gap_year = g->ref->year;
    it->gap_subject = g->ref->subject;
    it->national_dis = g->ref->dis;
    it->national_nd = g->ref->nd;
    /* excess points x n(disadvantaged) / 100 */
    set_score(it, g->excess * 100.0 * (double)g->dis->n / 100.0);
}

static void gap_items(struct ctx *c)
{
    for (int subj = 0; subj < (int)c->nsubj; subj++) {
        size_t breadth = 0;
        struct gap_ref ref;
        gap_reference(c, subj, &ref);
        struct gap_eval g = {.ref = &ref};
        for (int scope = 1; scope < (int)c->nscope; scope++) {
            if (!gap_check(c, subj, scope, &g))
                continue;
            c->tmp[breadth++] = scope - 1;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_GAP, scope);
            fill_gap_item(c, it, subj, &g);
            prio_text_gap(c, it, subj, scope);
        }
        if (!gap_check(c, subj, 0, &g))
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_GAP, 0);
        fill_gap_item(c, it, subj, &g);
        set_breadth(c, it, breadth);
        prio_text_gap(c, it, subj, 0);
    }
}

static bool trend_check(const struct ctx *c, int subj, int grp, int scope,
                        const struct priorities_cell_metrics **now,
                        const struct priorities_cell **before)
{
    *now = cur_metrics(c, subj, grp, scope);
    if (!*now || (*now)->n < c->t->min_cohort)
        return false;
    *before = prev_cell(c, subj, grp, scope);
    if (!*before || (*before)->n < c->t->min_cohort)
        return false;
    double drop = (double)(*before)->k / (double)(*before)->n - (*now)->p;
    return drop > PRIO_EPS && drop * 100.0 >= c->t->trend_points - PRIO_EPS;
}

static void fill_trend_item(struct ctx *c, struct priorities_item *it, int subj, int grp,
                            const struct priorities_cell_metrics *now,
                            const struct priorities_cell *before)
{
    it->subject = c->subj_name[subj];
    it->group = c->grp_name[grp];
    it->cell = *now;
    priorities_cell_eval(before->n, before->k, false, 0, false, c->t, &it->other);
    it->trend = now->p - it->other.p;
    /* drop points x n / 100 */
    set_score(it, -it->trend * 100.0 * (double)now->n / 100.0);
}

static void trend_items(struct ctx *c)
{
    const struct priorities_cell_metrics *now;
    const struct priorities_cell *before;
    for (int subj = 0; subj < (int)c->nsubj; subj++)
        for (int grp = 0; grp < (int)c->ngrp; grp++) {
            size_t breadth = 0;
            for (int scope = 1; scope < (int)c->nscope; scope++) {
                if (!trend_check(c, subj, grp, scope, &now, &before))
                    continue;
                c->tmp[breadth++] = scope - 1;
                struct priorities_item *it = add_item(c, PRIORITIES_KIND_TREND, scope);
                fill_trend_item(c, it, subj, grp, now, before);
                prio_text_trend(c, it, subj, grp, scope);
            }
            if (!trend_check(c, subj, grp, 0, &now, &before))
                continue;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_TREND, 0);
            fill_trend_item(c, it, subj, grp, now, before);
            set_breadth(c, it, breadth);
            prio_text_trend(c, it, subj, grp, 0);
        }
}

/* Trust-level reach for SEF areas: two or more schools, or a quarter. */
static bool trust_wide(const struct ctx *c, size_t schools)
{
    return schools >= 2 || (schools >= 1 && schools * 4 >= c->ns);
}

static void sef_school_item(struct ctx *c, int area, int s, const struct priorities_sef_area *a)
{
    struct priorities_item *it = add_item(c, PRIORITIES_KIND_SEF, s + 1);
    it->area = c->area_name[area];
    it->ordinal = a->ordinal;
    it->grade = arena_strdup(c->arena, str_ok(a->grade) ? a->grade : NULL);
    it->framework = arena_strdup(c->arena, str_ok(a->framework) ? a->framework : NULL);
    it->sef_area = arena_strdup(c->arena, a->area);
    set_score(it, (3 - a->ordinal) * 10);
    prio_text_sef_school(c, it, s, a);
}

static void sef_items(struct ctx *c)
{
    for (int area = 0; area < (int)c->areas.count; area++) {
        size_t weak = 0;
        int sum = 0;
        for (int s = 0; s < (int)c->ns; s++) {
            const struct priorities_sef_area *a = sef_at(c, area, s);
            if (!a || a->ordinal > 2)
                continue;
            c->tmp[weak++] = s;
            sum += (3 - a->ordinal) * 10;
            sef_school_item(c, area, s, a);
        }
        if (!trust_wide(c, weak))
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_SEF, 0);
        it->area = c->area_name[area];
        it->count = (int)weak;
        it->of_schools = (int)c->ns;
        set_breadth(c, it, weak);
        it->detail = arena_alloc(c->arena, (weak + 1) * sizeof *it->detail);
        it->n_detail = weak;
        for (size_t i = 0; i < weak; i++) {
            const struct priorities_sef_area *a = sef_at(c, area, c->tmp[i]);
            it->detail[i].urn = c->sch[c->tmp[i]].urn;
            it->detail[i].count = a->ordinal;
            it->detail[i].grade = arena_strdup(c->arena, str_ok(a->grade) ? a->grade : NULL);
        }
        set_score(it, sum);
        prio_text_sef_trust(c, it, area, weak);
    }
}

static void theme_items(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    size_t nt = c->themes.count;
    unsigned char *named = xcalloc(nt * c->ns + 1, 1);
    for (size_t i = 0; i < in->n_themes; i++) {
        const struct priorities_sip_theme *th = &in->themes[i];
        if (!str_ok(th->urn) || !str_ok(th->theme))
            continue;
        int s = prio_strtab_find(&c->urns, th->urn);
        if (s >= 0)
            named[(size_t)prio_strtab_find(&c->themes, th->theme) * c->ns + (size_t)s] = 1;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t count = 0;
        for (size_t s = 0; s < c->ns; s++)
            if (named[t * c->ns + s])
                c->tmp[count++] = (int)s;
        if (count < 3)
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_SHARED_THEME, 0);
        it->theme = c->theme_name[t];
        it->count = (int)count;
        set_breadth(c, it, count);
        set_score(it, (double)count * 5.0);
        prio_text_theme(c, it);
    }
    free(named);
}

struct stuck_ref {
    int school, subj;
    const char *key;
};

static int cmp_stuck(const void *a, const void *b)
{
    const struct stuck_ref *x = a, *y = b;
    if (x->school != y->school)
        return x->school < y->school ? -1 : 1;
    if (x->subj != y->subj)
        return x->subj < y->subj ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The (subject, all) cohort of a scope this term, at least count. */
static int stuck_cohort(const struct ctx *c, int subj, int scope, int count)
{
    const struct priorities_cell_metrics *m = cur_metrics(c, subj, c->grp_all, scope);
    return m && m->n > count ? m->n : count;
}

static void stuck_school_item(struct ctx *c, const struct stuck_ref *refs, size_t n,
                              size_t distinct)
{
    int s = refs[0].school, subj = refs[0].subj;
    struct priorities_item *it = add_item(c, PRIORITIES_KIND_STUCK_PUPILS, s + 1);
    it->subject = c->subj_name[subj];
    it->pupils = arena_alloc(c->arena, (distinct + 1) * sizeof *it->pupils);
    for (size_t k = 0; k < n; k++)
        if (k == 0 || strcmp(refs[k].key, refs[k - 1].key))
            it->pupils[it->n_pupils++] = arena_strdup(c->arena, refs[k].key);
    it->count = (int)distinct;
    it->stuck = arena_alloc(c->arena, sizeof *it->stuck);
    it->stuck->count = (int)distinct;
    it->stuck->n = stuck_cohort(c, subj, s + 1, (int)distinct);
    it->stuck->share = (double)distinct / (double)it->stuck->n;
    /* the share of the cohort, in points */
    set_score(it, 100.0 * it->stuck->share);
    prio_text_stuck_school(c, it, subj, s);
}

/* Which trust item a subject's stuck pupils ride on: its attainment item for all pupils,
 * else its highest-scored trust attainment item, else the same for trend; NULL if none. */
static struct priorities_item *stuck_host(struct ctx *c, int subj)
{
    static const enum priorities_kind kinds[] = {PRIORITIES_KIND_ATTAINMENT, PRIORITIES_KIND_TREND};
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
        struct priorities_item *best = NULL;
        for (size_t i = 0; i < c->nitems; i++) {
            struct priorities_item *it = c->items[i];
            if (it->level != PRIORITIES_LEVEL_TRUST || it->kind != kinds[k] ||
                it->subject != c->subj_name[subj])
                continue;
            if (it->group == c->grp_name[c->grp_all])
                return it;
            if (!best || it->score_hundredths > best->score_hundredths ||
                (it->score_hundredths == best->score_hundredths &&
                 strcmp(it->group, best->group) < 0))
                best = it;
        }
        if (best)
            return best;
    }
    return NULL;
}

/* The trust count of a subject (schools in c->tmp[0..schools)) onto its host item. */
static void stuck_trust(struct ctx *c, int subj, const int *count, size_t schools, long total)
{
    struct priorities_item *host = stuck_host(c, subj);
    if (!host)
        return;
    struct priorities_stuck *st = arena_alloc(c->arena, sizeof *st);
    st->count = (int)total;
    st->n = stuck_cohort(c, subj, 0, (int)total);
    st->share = st->n ? (double)total / (double)st->n : 0.0;
    st->by_school = arena_alloc(c->arena, (schools + 1) * sizeof *st->by_school);
    st->n_by_school = schools;
    for (size_t i = 0; i < schools; i++) {
        st->by_school[i].urn = c->sch[c->tmp[i]].urn;
        st->by_school[i].count = count[(size_t)subj * c->ns + (size_t)c->tmp[i]];
    }
    host->stuck = st;
    prio_text_stuck_trust(c, host, schools);
}

static void stuck_items(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    struct stuck_ref *refs = xcalloc(in->n_stuck + 1, sizeof *refs);
    size_t n = 0;
    for (size_t i = 0; i < in->n_stuck; i++) {
        const struct priorities_stuck_pupil *sp = &in->stuck[i];
        if (!str_ok(sp->urn) || !str_ok(sp->subject) || !str_ok(sp->pupil_key))
            continue;
        int s = prio_strtab_find(&c->urns, sp->urn);
        if (s < 0)
            continue;
        refs[n].school = s;
        refs[n].subj = prio_strtab_find(&c->subjects, sp->subject);
        refs[n].key = sp->pupil_key;
        n++;
    }
    qsort(refs, n, sizeof *refs, cmp_stuck);
    int *count = xcalloc(c->nsubj * c->ns + 1, sizeof *count);
    for (size_t i = 0; i < n;) {
        size_t j = i, distinct = 0;
        while (j < n && refs[j].school == refs[i].school && refs[j].subj == refs[i].subj) {
            if (j == i || strcmp(refs[j].key, refs[j - 1].key))
                distinct++;
            j++;
        }
        count[(size_t)refs[i].subj * c->ns + (size_t)refs[i].school] = (int)distinct;
        stuck_school_item(c, refs + i, j - i, distinct);
        i = j;
    }
    for (size_t subj = 0; subj < c->nsubj; subj++) {
        size_t schools = 0;
        long total = 0;
        for (size_t s = 0; s < c->ns; s++)
            if (count[subj * c->ns + s] > 0) {
                c->tmp[schools++] = (int)s;
                total += count[subj * c->ns + s];
            }
        if (total > 0)
            stuck_trust(c, (int)subj, count, schools, total);
    }
    free(count);
    free(refs);
}

void prio_items_build(struct ctx *c)
{
    attainment_items(c);
    gap_items(c);
    trend_items(c);
    sef_items(c);
    theme_items(c);
    stuck_items(c);
}
