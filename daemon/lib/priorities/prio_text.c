/* The plain-English sentences of the priorities: how subjects, groups and percentages
 * read, and the one-sentence rationale of each kind of item and each support reason.
 * Every sentence is built in the context's scratch buffer and kept in the arena. */
#include "prio_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scratch sentence, copied into the arena; the scratch is reset. */
static char *sb_take(struct ctx *c)
{
    char *p = arena_strndup(c->arena, c->sb.data ? c->sb.data : "", c->sb.len);
    sb_reset(&c->sb);
    return p;
}

/* How a vocabulary word reads inside a sentence; anything else reads with '_' as ' '. */
static const struct {
    const char *key, *text;
} display_words[] = {
    {"gps", "grammar, punctuation and spelling"},
    {"spag", "spelling, punctuation and grammar"},
    {"english", "English"},
    {"english_language", "English language"},
    {"english_literature", "English literature"},
    {"french", "French"},
    {"german", "German"},
    {"spanish", "Spanish"},
    {"ict", "ICT"},
    {"pe", "PE"},
    {"re", "RE"},
    {"pshe", "PSHE"},
    {"rse", "RSE"},
    {"send", "SEND"},
    {"sen", "SEN"},
    {"cpd", "CPD"},
    {"eal", "EAL"},
    {"ehcp", "EHCP"},
    {"post_16", "post-16"},
    {"rwm", "reading, writing and maths"},
};

static void put_words(struct strbuf *sb, const char *s, bool capital)
{
    const char *text = NULL;
    for (size_t i = 0; i < ARRAY_LEN(display_words); i++)
        if (!strcmp(s, display_words[i].key))
            text = display_words[i].text;
    size_t start = sb->len;
    if (text)
        sb_str(sb, text);
    else
        for (const char *p = s; *p; p++)
            sb_put(sb, *p == '_' ? " " : p, 1);
    if (capital && sb->len > start && sb->data[start] >= 'a' && sb->data[start] <= 'z')
        sb->data[start] = (char)(sb->data[start] - 'a' + 'A');
}

static void put_group(struct strbuf *sb, const char *group)
{
    static const struct {
        const char *key, *text;
    } groups[] = {
        {"all", "pupils"},
        {"disadvantaged", "disadvantaged pupils"},
        {"not_disadvantaged", "non-disadvantaged pupils"},
        {"send", "pupils with SEND"},
        {"send_support", "pupils on SEN support"},
        {"ehcp", "pupils with an EHC plan"},
        {"eal", "pupils with English as an additional language"},
        {"looked_after", "looked-after children"},
        {"girls", "girls"},
        {"boys", "boys"},
        {"prior_low", "low prior attainers"},
        {"prior_middle", "middle prior attainers"},
        {"prior_high", "high prior attainers"},
    };
    for (size_t i = 0; i < ARRAY_LEN(groups); i++)
        if (!strcmp(group, groups[i].key)) {
            sb_str(sb, groups[i].text);
            return;
        }
    SB_LIT(sb, "pupils in the group ");
    put_words(sb, group, false);
}

/* A percentage to whole points, or to one decimal when that is needed to tell it from
 * the figure it is compared with. */
static void put_pct(struct strbuf *sb, double x, double versus)
{
    double a = floor(x * 100.0 + 0.5), b = floor(versus * 100.0 + 0.5);
    if (a == b && fabs(x - versus) > PRIO_EPS) {
        strbuf_printf(sb, "%.1f%%", floor(x * 1000.0 + 0.5) / 10.0);
    } else {
        sb_long(sb, (long)a);
        SB_LIT(sb, "%");
    }
}

static long points(double fraction)
{
    return lround(fraction * 100.0);
}

static void put_count(struct strbuf *sb, long n, const char *one, const char *many)
{
    sb_long(sb, n);
    SB_LIT(sb, " ");
    sb_str(sb, n == 1 ? one : many);
}

static void put_school(struct strbuf *sb, const struct ctx *c, int s)
{
    const char *name = c->sch[s].s->name;
    if (str_ok(name)) {
        sb_str(sb, name);
    } else {
        SB_LIT(sb, "school ");
        sb_str(sb, c->sch[s].urn);
    }
}

/* "Writing at Claremont Primary" or "Writing". */
static void put_subject_scope(struct strbuf *sb, const struct ctx *c, int subj, int scope)
{
    sb_str(sb, c->subj_title[subj]);
    if (scope) {
        SB_LIT(sb, " at ");
        put_school(sb, c, scope - 1);
    }
}

/* "59% nationally" or "the trust average of 59% for all pupils (no national benchmark is
 * set for this group)". */
static void put_benchmark(struct strbuf *sb, const struct priorities_cell_metrics *m)
{
    if (!m->b_fallback) {
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " nationally");
    } else {
        SB_LIT(sb, "the trust average of ");
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " for all pupils (no national benchmark is set for this group)");
    }
}

static void put_breadth(struct strbuf *sb, size_t n, const char *what)
{
    if (n == 0) {
        SB_LIT(sb, ", though no single school is ");
        sb_str(sb, what);
        SB_LIT(sb, " on its own");
    } else {
        SB_LIT(sb, ", with ");
        put_count(sb, (long)n, "school ", "schools ");
        sb_str(sb, what);
        sb_str(sb, n == 1 ? " on its own" : " on their own");
    }
}

/* "2024-25" from "2025-26"; false when the year does not parse. */
static bool previous_year(const char *year, char out[16])
{
    int y, yy;
    char tail;
    if (!year || sscanf(year, "%4d-%2d%c", &y, &yy, &tail) != 2 || y < 1901 || y > 9999)
        return false;
    snprintf(out, 16, "%d-%02d", y - 1, y % 100);
    return true;
}

static void put_grade(struct strbuf *sb, const struct priorities_sef_area *a)
{
    if (str_ok(a->grade))
        put_words(sb, a->grade, false);
    else
        strbuf_printf(sb, "grade %d", a->ordinal);
}

static char **arena_names(struct ctx *c, const struct strtab *t)
{
    char **v = arena_alloc(c->arena, (t->count + 1) * sizeof *v);
    for (size_t i = 0; i < t->count; i++)
        v[i] = arena_strdup(c->arena, t->names[i]);
    return v;
}

void prio_text_names(struct ctx *c)
{
    c->subj_name = arena_names(c, &c->subjects);
    c->grp_name = arena_names(c, &c->groups);
    c->area_name = arena_names(c, &c->areas);
    c->theme_name = arena_names(c, &c->themes);
    c->subj_title = arena_alloc(c->arena, (c->nsubj + 1) * sizeof *c->subj_title);
    c->subj_lower = arena_alloc(c->arena, (c->nsubj + 1) * sizeof *c->subj_lower);
    for (size_t i = 0; i < c->nsubj; i++) {
        put_words(&c->sb, c->subj_name[i], true);
        c->subj_title[i] = sb_take(c);
        put_words(&c->sb, c->subj_name[i], false);
        c->subj_lower[i] = sb_take(c);
    }
    c->grp_phrase = arena_alloc(c->arena, (c->ngrp + 1) * sizeof *c->grp_phrase);
    for (size_t i = 0; i < c->ngrp; i++) {
        put_group(&c->sb, c->grp_name[i]);
        c->grp_phrase[i] = sb_take(c);
    }
}

/* "<Subject>[ at <school>]: P% of <group>[ across the trust] (k of n) reach the expected
 * standard" -- the opening every cell-based rationale shares. versus is the other figure
 * put_pct rounds against. */
static void put_cell_opening(struct ctx *c, int subj, const char *group_phrase, int scope,
                             const struct priorities_cell_metrics *m, double versus)
{
    struct strbuf *sb = &c->sb;
    put_subject_scope(sb, c, subj, scope);
    SB_LIT(sb, ": ");
    put_pct(sb, m->p, versus);
    SB_LIT(sb, " of ");
    sb_str(sb, group_phrase);
    if (!scope)
        SB_LIT(sb, " across the trust");
    SB_LIT(sb, " (");
    sb_long(sb, m->k);
    SB_LIT(sb, " of ");
    sb_long(sb, m->n);
    SB_LIT(sb, ") reach the expected standard");
}

void prio_text_attainment(struct ctx *c, struct priorities_item *it, int subj, int grp, int scope)
{
    const struct priorities_cell_metrics *m = &it->cell;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, c->grp_phrase[grp], scope, m, m->b);
    SB_LIT(sb, " against ");
    put_benchmark(sb, m);
    SB_LIT(sb, " — ");
    put_count(sb, m->deficit, "pupil", "pupils");
    SB_LIT(sb, " short");
    if (!scope)
        put_breadth(sb, it->n_schools, "significantly below");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

/* " points in maths in 2025-26": the national gap a gap item is measured against, named. */
static void put_gap_reference(struct ctx *c, const struct priorities_item *it, int subj)
{
    struct strbuf *sb = &c->sb;
    switch (it->gap_source) {
    case PRIORITIES_GAP_THIS_YEAR:
    case PRIORITIES_GAP_EARLIER_YEAR:
        SB_LIT(sb, " points in ");
        sb_str(sb, c->subj_lower[subj]);
        SB_LIT(sb, " in ");
        sb_str(sb, it->gap_year);
        if (it->gap_source == PRIORITIES_GAP_EARLIER_YEAR)
            SB_LIT(sb, ", the latest year with national figures for both groups");
        break;
    case PRIORITIES_GAP_RWM:
        SB_LIT(sb, " points for ");
        put_words(sb, it->gap_subject, false);
        SB_LIT(sb, " combined in ");
        sb_str(sb, it->gap_year);
        SB_LIT(sb, " (disadvantaged ");
        put_pct(sb, it->national_dis, it->national_nd);
        SB_LIT(sb, ", other pupils ");
        put_pct(sb, it->national_nd, it->national_dis);
        SB_LIT(sb, "; no national figures for both groups in ");
        sb_str(sb, c->subj_lower[subj]);
        SB_LIT(sb, ")");
        break;
    }
}

void prio_text_gap(struct ctx *c, struct priorities_item *it, int subj, int scope)
{
    const struct priorities_cell_metrics *d = &it->cell, *nd = &it->other;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, "disadvantaged pupils", scope, d, nd->p);
    SB_LIT(sb, " against ");
    put_pct(sb, nd->p, d->p);
    SB_LIT(sb, " of their peers, a gap of ");
    sb_long(sb, points(it->group_gap));
    SB_LIT(sb, " points — ");
    sb_long(sb, points(it->excess));
    SB_LIT(sb, " points wider than the national gap of ");
    sb_long(sb, points(it->national_gap));
    put_gap_reference(c, it, subj);
    if (!scope)
        put_breadth(sb, it->n_schools, "past the threshold");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

void prio_text_trend(struct ctx *c, struct priorities_item *it, int subj, int grp, int scope)
{
    const struct priorities_cell_metrics *m = &it->cell, *o = &it->other;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, c->grp_phrase[grp], scope, m, o->p);
    SB_LIT(sb, " this ");
    sb_str(sb, c->in->term);
    SB_LIT(sb, ", down ");
    sb_long(sb, -points(it->trend));
    SB_LIT(sb, " points from ");
    put_pct(sb, o->p, m->p);
    char prev[16];
    if (previous_year(c->in->year, prev)) {
        SB_LIT(sb, " in ");
        sb_str(sb, c->in->term);
        SB_LIT(sb, " ");
        sb_str(sb, prev);
    } else {
        SB_LIT(sb, " in the same term last year");
    }
    if (!scope) {
        char what[64];
        snprintf(what, sizeof what, "down %g points or more", c->t->trend_points);
        put_breadth(sb, it->n_schools, what);
    }
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

/* "1 urgent improvement, 2 needs attention": the weak schools of c->tmp[0..n) tallied by
 * grade label as printed, worst ordinal first. */
static void put_grade_tally(struct ctx *c, int area, size_t n)
{
    bool *done = xcalloc(n + 1, 1);
    struct strbuf label, other;
    strbuf_init(&label);
    strbuf_init(&other);
    bool first = true;
    for (int ord = 1; ord <= 2; ord++)
        for (size_t i = 0; i < n; i++) {
            const struct priorities_sef_area *a = sef_at(c, area, c->tmp[i]);
            if (done[i] || a->ordinal != ord)
                continue;
            sb_reset(&label);
            put_grade(&label, a);
            long same = 0;
            for (size_t j = i; j < n; j++) {
                const struct priorities_sef_area *b = sef_at(c, area, c->tmp[j]);
                if (done[j] || b->ordinal != ord)
                    continue;
                sb_reset(&other);
                put_grade(&other, b);
                if (!strcmp(other.data, label.data)) {
                    done[j] = true;
                    same++;
                }
            }
            if (!first)
                SB_LIT(&c->sb, ", ");
            sb_long(&c->sb, same);
            SB_LIT(&c->sb, " ");
            sb_str(&c->sb, label.data);
            first = false;
        }
    strbuf_free(&label);
    strbuf_free(&other);
    free(done);
}

/* Why a school's cell makes it a giver; the same words for every receiver, so made once. */
char *prio_text_cell_reason(struct ctx *c, int subj, int grp, int s)
{
    int32_t row = cur_row(c, subj, grp, s + 1);
    if (c->reason_cell[row])
        return c->reason_cell[row];
    const struct priorities_cell_metrics *m = &c->cm[row];
    struct strbuf *sb = &c->sb;
    put_pct(sb, m->p, m->b);
    SB_LIT(sb, " of ");
    sb_str(sb, c->grp_phrase[grp]);
    SB_LIT(sb, " (");
    sb_long(sb, m->k);
    SB_LIT(sb, " of ");
    sb_long(sb, m->n);
    SB_LIT(sb, ") reach the expected standard in ");
    sb_str(sb, c->subj_lower[subj]);
    SB_LIT(sb, " against ");
    if (m->b_fallback) {
        SB_LIT(sb, "the trust average of ");
        put_pct(sb, m->b, m->p);
    } else {
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " nationally");
    }
    return c->reason_cell[row] = sb_take(c);
}

char *prio_text_cell_reason_plain(struct ctx *c, int subj, int grp, int s)
{
    int32_t row = cur_row(c, subj, grp, s + 1);
    if (c->reason_cell_plain[row])
        return c->reason_cell_plain[row];
    struct strbuf *sb = &c->sb;
    sb_str(sb, c->grp_phrase[grp]);
    SB_LIT(sb, " reach the expected standard in ");
    sb_str(sb, c->subj_lower[subj]);
    if (c->cm[row].b_fallback)
        SB_LIT(sb, " significantly more often than across the trust");
    else
        SB_LIT(sb, " significantly more often than nationally");
    return c->reason_cell_plain[row] = sb_take(c);
}

char *prio_text_sef_reason(struct ctx *c, int area, int s)
{
    int32_t row = c->sef_row[(size_t)area * c->ns + (size_t)s];
    if (c->reason_sef[row])
        return c->reason_sef[row];
    const struct priorities_sef_area *a = &c->in->sef[row];
    put_words(&c->sb, a->area, true);
    SB_LIT(&c->sb, " graded ");
    put_grade(&c->sb, a);
    SB_LIT(&c->sb, " in its latest SEF");
    return c->reason_sef[row] = sb_take(c);
}

void prio_text_sef_school(struct ctx *c, struct priorities_item *it, int s,
                          const struct priorities_sef_area *a)
{
    struct strbuf *sb = &c->sb;
    put_school(sb, c, s);
    SB_LIT(sb, " self-evaluates ");
    put_words(sb, a->area, false);
    SB_LIT(sb, " as ");
    put_grade(sb, a);
    SB_LIT(sb, " in its latest SEF");
    if (a->framework && !strcmp(a->framework, "ofsted_2019"))
        SB_LIT(sb, " (2019 framework)");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

void prio_text_sef_trust(struct ctx *c, struct priorities_item *it, int area, size_t weak)
{
    put_words(&c->sb, c->area_name[area], true);
    SB_LIT(&c->sb, " is self-evaluated as a weakness by ");
    sb_long(&c->sb, (long)weak);
    SB_LIT(&c->sb, " of ");
    sb_long(&c->sb, (long)c->ns);
    SB_LIT(&c->sb, " schools in their latest SEFs (");
    put_grade_tally(c, area, weak);
    SB_LIT(&c->sb, ").");
    it->rationale = sb_take(c);
}

void prio_text_theme(struct ctx *c, struct priorities_item *it)
{
    put_words(&c->sb, it->theme, true);
    SB_LIT(&c->sb, " is a theme of SIP priorities in ");
    sb_long(&c->sb, (long)it->count);
    SB_LIT(&c->sb, " schools — a case for one trust-wide work group.");
    it->rationale = sb_take(c);
}

void prio_text_stuck_school(struct ctx *c, struct priorities_item *it, int subj, int s)
{
    put_subject_scope(&c->sb, c, subj, s + 1);
    SB_LIT(&c->sb, ": ");
    put_count(&c->sb, (long)it->count, "pupil", "pupils");
    SB_LIT(&c->sb, " (");
    put_pct(&c->sb, it->stuck->share, it->stuck->share);
    SB_LIT(&c->sb, " of ");
    sb_long(&c->sb, it->stuck->n);
    sb_str(&c->sb, it->count == 1 ? ") has" : ") have");
    SB_LIT(&c->sb, " been below the expected standard in each of the last three terms.");
    it->rationale = sb_take(c);
}

void prio_text_stuck_trust(struct ctx *c, struct priorities_item *it, size_t schools)
{
    const struct priorities_stuck *st = it->stuck;
    size_t len = strlen(it->rationale);
    if (len && it->rationale[len - 1] == '.')
        len--;
    sb_put(&c->sb, it->rationale, len);
    SB_LIT(&c->sb, "; ");
    put_count(&c->sb, st->count, "pupil", "pupils");
    SB_LIT(&c->sb, " (");
    put_pct(&c->sb, st->share, st->share);
    SB_LIT(&c->sb, ") in ");
    put_count(&c->sb, (long)schools, "school", "schools");
    sb_str(&c->sb, st->count == 1 ? " has" : " have");
    SB_LIT(&c->sb, " been below the expected standard in each of the last three terms.");
    it->rationale_without_stuck = it->rationale;
    it->rationale = sb_take(c);
}
