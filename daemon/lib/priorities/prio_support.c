/* School-to-school support (SPEC 6.4): for each school-level item, up to three other
 * schools strong where it is weak, same phase first, then nearest. Candidates are
 * indexed once per (cell or SEF area, phase) so a trust of thousands stays linear. */
#include "prio_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prio_text.h"

/* Significantly above, and shown to others: a giver's reason gives its figures. */
static bool cell_above(const struct ctx *c, size_t key, size_t s)
{
    int32_t row = c->cur[key * c->nscope + s + 1];
    return row >= 0 && c->cm[row].above && !c->in->cells[row].withheld;
}

static bool sef_strong(const struct ctx *c, size_t key, size_t s)
{
    int32_t row = c->sef_row[key * c->ns + s];
    return row >= 0 && c->in->sef[row].ordinal >= 4;
}

static size_t cand_slot(const struct ctx *c, const struct cand_index *ix, size_t key, int s)
{
    int ph = c->sch[s].phase;
    return key * (ix->nphase + 1) + (ph < 0 ? ix->nphase : (size_t)ph);
}

static void cand_index_build(const struct ctx *c, struct cand_index *ix, size_t nkeys,
                             bool (*pred)(const struct ctx *, size_t, size_t))
{
    ix->nphase = c->phases.count;
    size_t nslots = nkeys * (ix->nphase + 1);
    ix->off = xcalloc(nslots + 2, sizeof *ix->off);
    for (size_t key = 0; key < nkeys; key++)
        for (size_t s = 0; s < c->ns; s++)
            if (pred(c, key, s))
                ix->off[cand_slot(c, ix, key, (int)s) + 2]++;
    for (size_t i = 2; i < nslots + 2; i++)
        ix->off[i] += ix->off[i - 1];
    ix->list = xcalloc((size_t)ix->off[nslots + 1] + 1, sizeof *ix->list);
    for (size_t key = 0; key < nkeys; key++)
        for (size_t s = 0; s < c->ns; s++)
            if (pred(c, key, s))
                ix->list[ix->off[cand_slot(c, ix, key, (int)s) + 1]++] = (int32_t)s;
    /* off[i + 1] is now the end of slot i, off[i] its start */
}

void prio_support_index_free(struct cand_index *ix)
{
    free(ix->off);
    free(ix->list);
}

void prio_support_build(struct ctx *c)
{
    cand_index_build(c, &c->above, c->nsubj * c->ngrp, cell_above);
    cand_index_build(c, &c->strong, c->areas.count, sef_strong);
    c->reason_cell = xcalloc(c->in->n_cells + 1, sizeof *c->reason_cell);
    c->reason_cell_plain = xcalloc(c->in->n_cells + 1, sizeof *c->reason_cell_plain);
    c->reason_sef = xcalloc(c->in->n_sef + 1, sizeof *c->reason_sef);
}

struct cand {
    int school;
    bool same_phase, has_distance;
    double chord2; /* squared chord between unit vectors: monotonic in distance */
};

/* Same phase first, then shortest distance (unknown last), then URN. */
static bool cand_better(const struct cand *a, const struct cand *b)
{
    if (a->same_phase != b->same_phase)
        return a->same_phase;
    if (a->has_distance != b->has_distance)
        return a->has_distance;
    if (a->has_distance && a->chord2 != b->chord2)
        return a->chord2 < b->chord2;
    return a->school < b->school;
}

static void consider(const struct school_rec *rs, const struct ctx *c, int r, const int32_t *cands,
                     size_t n, bool same, struct cand best[PRIORITIES_MAX_SUPPORT], size_t *nbest)
{
    for (size_t i = 0; i < n; i++) {
        int s = cands[i];
        if (s == r)
            continue;
        const struct school_rec *gs = &c->sch[s];
        struct cand cd = {.school = s,
                          .same_phase = same,
                          .has_distance = rs->s->has_location && gs->s->has_location};
        if (cd.has_distance) {
            double dx = rs->ux - gs->ux, dy = rs->uy - gs->uy, dz = rs->uz - gs->uz;
            cd.chord2 = dx * dx + dy * dy + dz * dz;
        }
        if (*nbest == PRIORITIES_MAX_SUPPORT && !cand_better(&cd, &best[*nbest - 1]))
            continue;
        size_t pos = *nbest < PRIORITIES_MAX_SUPPORT ? (*nbest)++ : *nbest - 1;
        while (pos > 0 && cand_better(&cd, &best[pos - 1])) {
            best[pos] = best[pos - 1];
            pos--;
        }
        best[pos] = cd;
    }
}

/* The best up to three givers for receiver r among the key's candidates, best first.
 * Same-phase schools always rank first, so the other phases are looked at only when
 * fewer than three of them qualify. */
static size_t pick_givers(const struct ctx *c, int r, const struct cand_index *ix, size_t key,
                          struct cand best[PRIORITIES_MAX_SUPPORT])
{
    const struct school_rec *rs = &c->sch[r];
    size_t nbest = 0, base = key * (ix->nphase + 1);
    if (rs->phase >= 0) {
        size_t slot = base + (size_t)rs->phase;
        consider(rs, c, r, ix->list + ix->off[slot], (size_t)(ix->off[slot + 1] - ix->off[slot]),
                 true, best, &nbest);
    }
    if (nbest == PRIORITIES_MAX_SUPPORT)
        return nbest;
    for (size_t q = 0; q <= ix->nphase; q++) {
        if (rs->phase >= 0 && q == (size_t)rs->phase)
            continue;
        size_t slot = base + q;
        consider(rs, c, r, ix->list + ix->off[slot], (size_t)(ix->off[slot + 1] - ix->off[slot]),
                 false, best, &nbest);
    }
    return nbest;
}

static void set_giver(const struct ctx *c, struct priorities_giver *g, int r, const struct cand *cd,
                      char *reason, char *reason_plain)
{
    const struct school_rec *gs = &c->sch[cd->school], *rs = &c->sch[r];
    g->urn = gs->urn;
    g->name = gs->display;
    g->reason = reason;
    g->reason_plain = reason_plain;
    g->same_phase = cd->same_phase;
    g->has_distance = cd->has_distance;
    if (cd->has_distance)
        g->distance_km = priorities_haversine_km(rs->s->lat, rs->s->lon, gs->s->lat, gs->s->lon);
}

void prio_support_for_item(struct ctx *c, struct priorities_item *it)
{
    int r = prio_strtab_find(&c->urns, it->urn);
    struct cand best[PRIORITIES_MAX_SUPPORT];
    if (it->kind == PRIORITIES_KIND_SEF) {
        int area = prio_strtab_find(&c->areas, it->area);
        it->n_support = pick_givers(c, r, &c->strong, (size_t)area, best);
        for (size_t i = 0; i < it->n_support;
             i++) { /* a grade is a word, not a figure: the same reason for every reader */
            char *reason = prio_text_sef_reason(c, area, best[i].school);
            set_giver(c, &it->support[i], r, &best[i], reason, reason);
        }
        return;
    }
    /* Cell kinds: the same cell significantly above benchmark. A gap is matched on the
     * disadvantaged cell, stuck pupils on the subject's "all" cell. */
    int subj = prio_strtab_find(&c->subjects, it->subject);
    int grp = it->kind == PRIORITIES_KIND_STUCK_PUPILS ? c->grp_all
                                                       : prio_strtab_find(&c->groups, it->group);
    if (subj < 0 || grp < 0)
        return;
    size_t sg = (size_t)subj * c->ngrp + (size_t)grp;
    it->n_support = pick_givers(c, r, &c->above, sg, best);
    for (size_t i = 0; i < it->n_support; i++)
        set_giver(c, &it->support[i], r, &best[i],
                  prio_text_cell_reason(c, subj, grp, best[i].school),
                  prio_text_cell_reason_plain(c, subj, grp, best[i].school));
}
