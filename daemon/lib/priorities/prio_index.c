/* Indexing of the priorities input: string interning, validation of every
 * input row (errors name the row and field) and the dense cell index with each current
 * cell evaluated against its benchmark. */
#include "prio_index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* String interning: open addressing, FNV-1a; keys are borrowed                         */

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void prio_strtab_init(struct strtab *t)
{
    t->cap = 64;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
    t->names = NULL;
    t->count = t->names_cap = 0;
    t->last = -1;
}

void prio_strtab_free(struct strtab *t)
{
    free(t->slots);
    free(t->names);
}

int prio_strtab_find(struct strtab *t, const char *s)
{
    if (t->last >= 0 && !strcmp(t->names[t->last], s))
        return t->last;
    size_t mask = t->cap - 1;
    for (size_t i = str_hash(s) & mask;; i = (i + 1) & mask) {
        int v = t->slots[i];
        if (!v)
            return -1;
        if (!strcmp(t->names[v - 1], s))
            return t->last = v - 1;
    }
}

static void strtab_place(int *slots, size_t cap, const char *s, int id)
{
    size_t i = str_hash(s) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = id + 1;
}

int prio_strtab_intern(struct strtab *t, const char *s)
{
    int id = prio_strtab_find(t, s);
    if (id >= 0)
        return id;
    if ((t->count + 1) * 2 > t->cap) {
        size_t cap = t->cap * 2;
        int *slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < t->count; i++)
            strtab_place(slots, cap, t->names[i], (int)i);
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    if (t->count == t->names_cap) {
        t->names_cap = t->names_cap ? t->names_cap * 2 : 16;
        t->names = xrealloc(t->names, t->names_cap * sizeof *t->names);
    }
    t->names[t->count] = s;
    strtab_place(t->slots, t->cap, s, (int)t->count);
    return t->last = (int)t->count++;
}

/* ------------------------------------------------------------------------------------ */
/* SEF areas: the 2019 key judgements read as the 2025 area they became                 */

static const struct {
    const char *from, *to;
} sef_area_map[] = {
    {"quality_of_education", "curriculum_and_teaching"},
    {"behaviour_and_attitudes", "attendance_and_behaviour"},
    {"personal_development", "personal_development_and_wellbeing"},
    {"leadership_and_management", "leadership_and_governance"},
    {"sixth_form", "post_16"},
};

static const char *sef_canonical_area(const char *area)
{
    for (size_t i = 0; i < ARRAY_LEN(sef_area_map); i++)
        if (!strcmp(area, sef_area_map[i].from))
            return sef_area_map[i].to;
    return area;
}

static void cerr(struct ctx *c, const char *path, const char *msg)
{
    c->nerr++;
    if (c->err)
        mat_errors_add(c->err, path, "%s", msg);
}

static void cerrf(struct ctx *c, const char *list, size_t row, const char *field, const char *msg)
{
    char path[96];
    if (field)
        snprintf(path, sizeof path, "/%s/%zu/%s", list, row, field);
    else
        snprintf(path, sizeof path, "/%s/%zu", list, row);
    cerr(c, path, msg);
}

static int cmp_school_rec(const void *a, const void *b)
{
    const struct school_rec *x = a, *y = b;
    return strcmp(x->s->urn, y->s->urn);
}

/* ------------------------------------------------------------------------------------ */
/* Validation and indexing                                                              */

static void index_schools(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    c->sch = xcalloc(in->n_schools + 1, sizeof *c->sch);
    size_t ns = 0;
    for (size_t i = 0; i < in->n_schools; i++) {
        const struct priorities_school *s = &in->schools[i];
        if (!str_ok(s->urn)) {
            cerrf(c, "schools", i, "urn", "a school needs a URN");
            continue;
        }
        if (s->has_location && (!isfinite(s->lat) || !isfinite(s->lon) || s->lat < -90 ||
                                s->lat > 90 || s->lon < -180 || s->lon > 180)) {
            cerrf(c, "schools", i, "lat", "latitude/longitude out of range");
            continue;
        }
        c->sch[ns++].s = s;
    }
    qsort(c->sch, ns, sizeof *c->sch, cmp_school_rec);
    c->ns = ns;
    for (size_t i = 0; i < ns; i++) {
        struct school_rec *r = &c->sch[i];
        if (i > 0 && !strcmp(r->s->urn, c->sch[i - 1].s->urn))
            cerr(c, "/schools", "duplicate school URN");
        prio_strtab_intern(&c->urns, r->s->urn);
        r->phase = str_ok(r->s->phase) ? prio_strtab_intern(&c->phases, r->s->phase) : -1;
        r->urn = arena_strdup(c->arena, r->s->urn);
        r->display = str_ok(r->s->name) ? arena_strdup(c->arena, r->s->name) : r->urn;
        if (r->s->has_location) {
            double la = r->s->lat * DEG_TO_RAD, lo = r->s->lon * DEG_TO_RAD;
            r->ux = cos(la) * cos(lo);
            r->uy = cos(la) * sin(lo);
            r->uz = sin(la);
        }
    }
    c->nscope = ns + 1;
    c->tmp = xcalloc(ns + 1, sizeof *c->tmp);
}

/* Scope index of a cell row: 0 trust, s + 1 school s, -1 a school not in the list. */
static int scope_index(struct ctx *c, const char *scope)
{
    if (!scope || !*scope)
        return 0;
    int s = prio_strtab_find(&c->urns, scope);
    return s < 0 ? -1 : s + 1;
}

static void intern_cells(struct ctx *c, const char *list, const struct priorities_cell *cells,
                         size_t n, struct cell_row *rows)
{
    for (size_t i = 0; i < n; i++) {
        const struct priorities_cell *cl = &cells[i];
        rows[i].subj = -1;
        if (!str_ok(cl->subject)) {
            cerrf(c, list, i, "subject", "a cell needs a subject");
            continue;
        }
        if (!str_ok(cl->group)) {
            cerrf(c, list, i, "group", "a cell needs a group");
            continue;
        }
        if (cl->n < 0 || cl->k < 0 || cl->k > cl->n) {
            cerrf(c, list, i, "k", "a cell needs 0 <= k <= n");
            continue;
        }
        if (cl->gd < 0 || cl->gd > cl->n) {
            cerrf(c, list, i, "gd", "a cell needs 0 <= gd <= n");
            continue;
        }
        int scope = scope_index(c, cl->scope);
        if (scope < 0)
            continue;
        rows[i].subj = prio_strtab_intern(&c->subjects, cl->subject);
        rows[i].grp = prio_strtab_intern(&c->groups, cl->group);
        rows[i].scope = scope;
    }
}

static void place_cells(struct ctx *c, const char *list, const struct cell_row *rows, size_t n,
                        int32_t *dense)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i].subj < 0)
            continue;
        size_t slot = cell_slot(c, rows[i].subj, rows[i].grp, rows[i].scope);
        if (dense[slot] >= 0) {
            cerrf(c, list, i, NULL, "duplicate cell for this scope, subject and group");
            continue;
        }
        dense[slot] = (int32_t)i;
    }
}

/* SEF: one row per (school, area) after the 2019 areas are read as 2025 ones. */
static void index_sef(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    c->sef_canon = xcalloc(in->n_sef + 1, sizeof *c->sef_canon);
    for (size_t i = 0; i < in->n_sef; i++) {
        const struct priorities_sef_area *a = &in->sef[i];
        if (!str_ok(a->urn) || !str_ok(a->area)) {
            cerrf(c, "sef", i, NULL, "a SEF area needs a URN and an area");
            continue;
        }
        if (a->ordinal < 1 || a->ordinal > 5) {
            cerrf(c, "sef", i, "ordinal", "a SEF ordinal is 1..5");
            continue;
        }
        if (prio_strtab_find(&c->urns, a->urn) < 0)
            continue;
        c->sef_canon[i] = sef_canonical_area(a->area);
        prio_strtab_intern(&c->areas, c->sef_canon[i]);
    }
    size_t nsef = c->areas.count * c->ns + 1;
    c->sef_row = xmalloc(nsef * sizeof *c->sef_row);
    memset(c->sef_row, 0xff, nsef * sizeof *c->sef_row);
    for (size_t i = 0; i < in->n_sef; i++) {
        if (!c->sef_canon[i])
            continue;
        size_t slot = (size_t)prio_strtab_find(&c->areas, c->sef_canon[i]) * c->ns +
                      (size_t)prio_strtab_find(&c->urns, in->sef[i].urn);
        if (c->sef_row[slot] >= 0) {
            cerrf(c, "sef", i, "area", "duplicate SEF area for this school");
            continue;
        }
        c->sef_row[slot] = (int32_t)i;
    }
}

/* National gap references: checked here, read by the gap items. */
static void check_gap_refs(struct ctx *c)
{
    for (size_t i = 0; i < c->in->n_gap_refs; i++) {
        const struct priorities_gap_reference *r = &c->in->gap_refs[i];
        if (!str_ok(r->subject) || !str_ok(r->year))
            cerrf(c, "gap_refs", i, NULL, "a gap reference needs a subject and a year");
        else if (!isfinite(r->disadvantaged) || r->disadvantaged < 0 || r->disadvantaged > 1 ||
                 !isfinite(r->not_disadvantaged) || r->not_disadvantaged < 0 ||
                 r->not_disadvantaged > 1)
            cerrf(c, "gap_refs", i, NULL, "a gap reference holds two fractions 0..1");
    }
}

bool prio_index_inputs(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    const struct priorities_thresholds *t = c->t;
    if (t->min_cohort < 1)
        cerr(c, "/thresholds/min_cohort", "min_cohort must be at least 1");
    if (!isfinite(t->z_crit) || t->z_crit <= 0)
        cerr(c, "/thresholds/z_crit", "z_crit must be positive");
    if (!isfinite(t->gap_points) || t->gap_points < 0 || t->gap_points > 100)
        cerr(c, "/thresholds/gap_points", "gap_points must be 0..100");
    if (!isfinite(t->trend_points) || t->trend_points < 0 || t->trend_points > 100)
        cerr(c, "/thresholds/trend_points", "trend_points must be 0..100");
    if (!str_ok(in->year))
        cerr(c, "/year", "a year is needed");
    if (!str_ok(in->term))
        cerr(c, "/term", "a term is needed");

    index_schools(c);
    check_gap_refs(c);

    c->cur_rows = xcalloc(in->n_cells + 1, sizeof *c->cur_rows);
    c->prev_rows = xcalloc(in->n_prev_cells + 1, sizeof *c->prev_rows);
    intern_cells(c, "cells", in->cells, in->n_cells, c->cur_rows);
    intern_cells(c, "prev_cells", in->prev_cells, in->n_prev_cells, c->prev_rows);
    for (size_t i = 0; i < in->n_benchmarks; i++) {
        const struct priorities_benchmark *b = &in->benchmarks[i];
        if (!str_ok(b->subject) || !str_ok(b->group)) {
            cerrf(c, "benchmarks", i, NULL, "a benchmark needs a subject and a group");
            continue;
        }
        if (!isfinite(b->expected) || b->expected < 0 || b->expected > 1) {
            cerrf(c, "benchmarks", i, "expected", "a benchmark is a fraction 0..1");
            continue;
        }
        prio_strtab_intern(&c->subjects, b->subject);
        prio_strtab_intern(&c->groups, b->group);
    }
    for (size_t i = 0; i < in->n_stuck; i++) {
        const struct priorities_stuck_pupil *sp = &in->stuck[i];
        if (!str_ok(sp->urn) || !str_ok(sp->subject) || !str_ok(sp->pupil_key))
            cerrf(c, "stuck", i, NULL, "a stuck pupil needs a URN, a subject and a key");
        else
            prio_strtab_intern(&c->subjects, sp->subject);
    }
    /* So that the gap and fallback lookups always have an id. */
    c->grp_all = prio_strtab_intern(&c->groups, "all");
    c->grp_dis = prio_strtab_intern(&c->groups, "disadvantaged");
    c->grp_nd = prio_strtab_intern(&c->groups, "not_disadvantaged");
    c->nsubj = c->subjects.count;
    c->ngrp = c->groups.count;

    size_t dense = c->nsubj * c->ngrp * c->nscope;
    if (c->nsubj && dense / c->nsubj / c->ngrp != c->nscope) /* overflow */
        dense = SIZE_MAX;
    if (dense > MAX_DENSE_CELLS) {
        cerr(c, "/cells", "too many distinct subjects x groups x schools");
        return false;
    }
    c->cur = xmalloc((dense + 1) * sizeof *c->cur);
    c->prev = xmalloc((dense + 1) * sizeof *c->prev);
    memset(c->cur, 0xff, (dense + 1) * sizeof *c->cur); /* -1 */
    memset(c->prev, 0xff, (dense + 1) * sizeof *c->prev);
    place_cells(c, "cells", c->cur_rows, in->n_cells, c->cur);
    place_cells(c, "prev_cells", c->prev_rows, in->n_prev_cells, c->prev);

    size_t nb = c->nsubj * c->ngrp + 1;
    c->bench = xcalloc(nb, sizeof *c->bench);
    c->has_bench = xcalloc(nb, 1);
    for (size_t i = 0; i < in->n_benchmarks; i++) {
        const struct priorities_benchmark *b = &in->benchmarks[i];
        if (!str_ok(b->subject) || !str_ok(b->group) || !isfinite(b->expected) || b->expected < 0 ||
            b->expected > 1)
            continue;
        size_t slot = (size_t)prio_strtab_find(&c->subjects, b->subject) * c->ngrp +
                      (size_t)prio_strtab_find(&c->groups, b->group);
        if (c->has_bench[slot]) {
            cerrf(c, "benchmarks", i, NULL, "duplicate benchmark for this subject and group");
            continue;
        }
        c->has_bench[slot] = 1;
        c->bench[slot] = b->expected;
    }

    index_sef(c);

    for (size_t i = 0; i < in->n_themes; i++) {
        const struct priorities_sip_theme *th = &in->themes[i];
        if (!str_ok(th->urn) || !str_ok(th->theme))
            cerrf(c, "themes", i, NULL, "a SIP theme needs a URN and a theme");
        else if (prio_strtab_find(&c->urns, th->urn) >= 0)
            prio_strtab_intern(&c->themes, th->theme);
    }
    return c->nerr == 0;
}

void prio_index_evaluate(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    c->cm = xcalloc(in->n_cells + 1, sizeof *c->cm);
    for (size_t i = 0; i < in->n_cells; i++) {
        const struct cell_row *r = &c->cur_rows[i];
        if (r->subj < 0)
            continue;
        size_t bslot = (size_t)r->subj * c->ngrp + (size_t)r->grp;
        bool has_b = c->has_bench[bslot], fallback = false;
        double b = c->bench[bslot];
        if (!has_b) {
            int32_t trow = cur_row(c, r->subj, c->grp_all, 0);
            if (trow >= 0 && in->cells[trow].n > 0) {
                has_b = fallback = true;
                b = (double)in->cells[trow].k / (double)in->cells[trow].n;
            }
        }
        priorities_cell_eval(in->cells[i].n, in->cells[i].k, has_b, b, fallback, c->t, &c->cm[i]);
    }
}
