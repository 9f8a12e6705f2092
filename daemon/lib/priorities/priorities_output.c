/* Serialisation of priorities lists: JSON and CSV of the items and of the support
 * matches. Hand-written writers: the same list gives the same bytes, and a 60-school
 * trust's few thousand items print in a millisecond or two. */
#include "priorities_output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prio_index.h"

static bool visible(const struct priorities_output_opts *o, const char *urn)
{
    if (!o || !o->visible_schools)
        return true;
    for (size_t i = 0; i < o->n_visible_schools; i++)
        if (!strcmp(o->visible_schools[i], urn))
            return true;
    return false;
}

static void json_str(struct strbuf *sb, const char *s)
{
    strbuf_json_string(sb, s);
}

/* Fixed decimals, trailing zeros dropped, never "-0": the same double prints the same.
 * Formatting is C-locale (matd never calls setlocale). */
static void put_fixed(struct strbuf *sb, double x, int decimals)
{
    if (!isfinite(x)) {
        SB_LIT(sb, "null");
        return;
    }
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.*f", decimals, x);
    if (n < 0 || (size_t)n >= sizeof buf) {
        SB_LIT(sb, "null");
        return;
    }
    char *end = buf + n;
    if (memchr(buf, '.', (size_t)n)) {
        while (end[-1] == '0')
            end--;
        if (end[-1] == '.')
            end--;
    }
    if (end - buf == 2 && buf[0] == '-' && buf[1] == '0')
        SB_LIT(sb, "0");
    else
        sb_put(sb, buf, (size_t)(end - buf));
}

static void put_score(struct strbuf *sb, int64_t hundredths)
{
    sb_long(sb, (long)(hundredths / 100));
    long frac = (long)(hundredths % 100);
    if (frac) {
        char d[3] = {'.', (char)('0' + frac / 10), (char)('0' + frac % 10)};
        sb_put(sb, d, frac % 10 ? 3 : 2);
    }
}

/* ,"key": (or "key": first) */
static void json_key(struct strbuf *sb, bool *first, const char *key)
{
    if (!*first)
        SB_LIT(sb, ",");
    *first = false;
    SB_LIT(sb, "\"");
    sb_str(sb, key);
    SB_LIT(sb, "\":");
}

static void json_int(struct strbuf *sb, bool *first, const char *key, long v)
{
    json_key(sb, first, key);
    sb_long(sb, v);
}

static void json_fixed(struct strbuf *sb, bool *first, const char *key, bool has, double v,
                       int decimals)
{
    json_key(sb, first, key);
    if (has)
        put_fixed(sb, v, decimals);
    else
        SB_LIT(sb, "null");
}

static void json_cell_metrics(struct strbuf *sb, bool *first,
                              const struct priorities_cell_metrics *m)
{
    json_int(sb, first, "n", m->n);
    json_int(sb, first, "k", m->k);
    json_fixed(sb, first, "p", true, m->p, 4);
    json_fixed(sb, first, "b", m->has_b, m->b, 4);
    json_fixed(sb, first, "gap", m->has_b, m->gap, 4);
    json_fixed(sb, first, "z", m->has_z, m->z, 3);
    json_key(sb, first, "deficit");
    if (m->has_b)
        sb_long(sb, m->deficit);
    else
        SB_LIT(sb, "null");
}

static const char *benchmark_source(const struct priorities_cell_metrics *m)
{
    return !m->has_b ? NULL : (m->b_fallback ? "trust_average" : "national");
}

static const char *gap_source_name(enum priorities_gap_source s)
{
    switch (s) {
    case PRIORITIES_GAP_THIS_YEAR:
        return "benchmarks";
    case PRIORITIES_GAP_EARLIER_YEAR:
        return "earlier_benchmarks";
    case PRIORITIES_GAP_RWM:
        return "rwm_combined";
    }
    return "benchmarks";
}

/* ,"stuck":{"count","n","share","by_school":[{"urn","count"}]} on a trust item. */
static void json_trust_stuck(struct strbuf *sb, bool *first, const struct priorities_stuck *st,
                             const struct priorities_output_opts *o)
{
    json_key(sb, first, "stuck");
    SB_LIT(sb, "{\"count\":");
    sb_long(sb, st->count);
    SB_LIT(sb, ",\"n\":");
    sb_long(sb, st->n);
    SB_LIT(sb, ",\"share\":");
    put_fixed(sb, st->share, 4);
    SB_LIT(sb, ",\"by_school\":[");
    bool sep = false;
    for (size_t i = 0; i < st->n_by_school; i++) {
        if (!visible(o, st->by_school[i].urn))
            continue;
        if (sep)
            SB_LIT(sb, ",");
        sep = true;
        SB_LIT(sb, "{\"urn\":");
        json_str(sb, st->by_school[i].urn);
        SB_LIT(sb, ",\"count\":");
        sb_long(sb, st->by_school[i].count);
        SB_LIT(sb, "}");
    }
    SB_LIT(sb, "]}");
}

static void json_metrics(struct strbuf *sb, const struct priorities_item *it,
                         const struct priorities_output_opts *o)
{
    bool first = true;
    SB_LIT(sb, "{");
    switch (it->kind) {
    case PRIORITIES_KIND_ATTAINMENT:
    case PRIORITIES_KIND_GAP:
    case PRIORITIES_KIND_TREND:
        json_cell_metrics(sb, &first, &it->cell);
        if (it->kind == PRIORITIES_KIND_TREND)
            json_fixed(sb, &first, "trend", true, it->trend, 4);
        json_key(sb, &first, "benchmark");
        json_str(sb, benchmark_source(&it->cell));
        if (it->kind == PRIORITIES_KIND_GAP) {
            json_int(sb, &first, "n_not_disadvantaged", it->other.n);
            json_int(sb, &first, "k_not_disadvantaged", it->other.k);
            json_fixed(sb, &first, "p_not_disadvantaged", true, it->other.p, 4);
            json_fixed(sb, &first, "b_not_disadvantaged", true, it->other.b, 4);
            json_fixed(sb, &first, "group_gap", true, it->group_gap, 4);
            json_fixed(sb, &first, "national_gap", true, it->national_gap, 4);
            json_fixed(sb, &first, "excess", true, it->excess, 4);
            json_key(sb, &first, "national_gap_source");
            json_str(sb, gap_source_name(it->gap_source));
            json_key(sb, &first, "national_gap_year");
            json_str(sb, it->gap_year);
            json_key(sb, &first, "national_gap_subject");
            json_str(sb, it->gap_subject);
            json_fixed(sb, &first, "national_disadvantaged", true, it->national_dis, 4);
            json_fixed(sb, &first, "national_not_disadvantaged", true, it->national_nd, 4);
        }
        if (it->kind == PRIORITIES_KIND_TREND) {
            json_int(sb, &first, "n_prev", it->other.n);
            json_int(sb, &first, "k_prev", it->other.k);
            json_fixed(sb, &first, "p_prev", true, it->other.p, 4);
        }
        if (it->stuck)
            json_trust_stuck(sb, &first, it->stuck, o);
        break;
    case PRIORITIES_KIND_SEF:
        if (it->level == PRIORITIES_LEVEL_SCHOOL) {
            json_int(sb, &first, "ordinal", it->ordinal);
            json_key(sb, &first, "grade");
            json_str(sb, it->grade);
            json_key(sb, &first, "framework");
            json_str(sb, it->framework);
            json_key(sb, &first, "sef_area");
            json_str(sb, it->sef_area);
        } else {
            json_int(sb, &first, "schools", it->count);
            json_int(sb, &first, "of_schools", it->of_schools);
        }
        break;
    case PRIORITIES_KIND_SHARED_THEME:
        json_int(sb, &first, "schools", it->count);
        break;
    case PRIORITIES_KIND_STUCK_PUPILS:
        json_int(sb, &first, "count", it->count);
        if (it->stuck) {
            json_int(sb, &first, "n", it->stuck->n);
            json_fixed(sb, &first, "share", true, it->stuck->share, 4);
        }
        break;
    case PRIORITIES_KIND_ANY:
        break;
    }
    SB_LIT(sb, "}");
}

static void json_giver(struct strbuf *sb, const struct priorities_giver *g,
                       const struct priorities_output_opts *o)
{
    SB_LIT(sb, "{\"urn\":");
    json_str(sb, g->urn);
    SB_LIT(sb, ",\"name\":");
    json_str(sb, g->name);
    SB_LIT(sb, ",\"reason\":");
    json_str(sb, o && o->givers_without_figures && g->reason_plain ? g->reason_plain : g->reason);
    if (g->same_phase)
        SB_LIT(sb, ",\"same_phase\":true,\"distance_km\":");
    else
        SB_LIT(sb, ",\"same_phase\":false,\"distance_km\":");
    if (g->has_distance)
        put_fixed(sb, g->distance_km, 1);
    else
        SB_LIT(sb, "null");
    SB_LIT(sb, "}");
}

static void json_givers(struct strbuf *sb, const struct priorities_item *it,
                        const struct priorities_output_opts *o)
{
    SB_LIT(sb, "[");
    for (size_t i = 0; i < it->n_support; i++) {
        if (i)
            SB_LIT(sb, ",");
        json_giver(sb, &it->support[i], o);
    }
    SB_LIT(sb, "]");
}

static void json_topic(struct strbuf *sb, const struct priorities_item *it)
{
    if (it->area) {
        SB_LIT(sb, ",\"area\":");
        json_str(sb, it->area);
    } else if (it->theme) {
        SB_LIT(sb, ",\"theme\":");
        json_str(sb, it->theme);
    } else {
        SB_LIT(sb, ",\"subject\":");
        json_str(sb, it->subject);
    }
    SB_LIT(sb, ",\"group\":");
    json_str(sb, it->group);
}

static bool shows_pupils(const struct priorities_item *it, const struct priorities_output_opts *o)
{
    return it->kind == PRIORITIES_KIND_STUCK_PUPILS && it->level == PRIORITIES_LEVEL_SCHOOL && o &&
           o->include_pupil_keys && visible(o, it->urn);
}

static void json_item(struct strbuf *sb, const struct priorities_item *it,
                      const struct priorities_output_opts *o)
{
    SB_LIT(sb, "{\"id\":");
    json_str(sb, it->id);
    SB_LIT(sb, ",\"level\":\"");
    sb_str(sb, priorities_level_name(it->level));
    SB_LIT(sb, "\",\"kind\":\"");
    sb_str(sb, priorities_kind_name(it->kind));
    SB_LIT(sb, "\"");
    json_topic(sb, it);
    SB_LIT(sb, ",\"schools\":[");
    bool first = true;
    for (size_t i = 0; i < it->n_schools; i++)
        if (visible(o, it->schools[i])) {
            if (!first)
                SB_LIT(sb, ",");
            json_str(sb, it->schools[i]);
            first = false;
        }
    SB_LIT(sb, "],\"metrics\":");
    json_metrics(sb, it, o);
    SB_LIT(sb, ",\"score\":");
    put_score(sb, it->score_hundredths);
    SB_LIT(sb, ",\"rationale\":");
    json_str(sb, it->rationale);
    SB_LIT(sb, ",\"support\":");
    json_givers(sb, it, o);
    if (it->level == PRIORITIES_LEVEL_TRUST && it->kind == PRIORITIES_KIND_SEF) {
        SB_LIT(sb, ",\"by_school\":[");
        first = true;
        for (size_t i = 0; i < it->n_detail; i++) {
            const struct priorities_school_detail *d = &it->detail[i];
            if (!visible(o, d->urn))
                continue;
            if (!first)
                SB_LIT(sb, ",");
            first = false;
            SB_LIT(sb, "{\"urn\":");
            json_str(sb, d->urn);
            SB_LIT(sb, ",\"ordinal\":");
            sb_long(sb, d->count);
            SB_LIT(sb, ",\"grade\":");
            json_str(sb, d->grade);
            SB_LIT(sb, "}");
        }
        SB_LIT(sb, "]");
    }
    if (shows_pupils(it, o)) {
        SB_LIT(sb, ",\"pupils\":[");
        for (size_t i = 0; i < it->n_pupils; i++) {
            if (i)
                SB_LIT(sb, ",");
            json_str(sb, it->pupils[i]);
        }
        SB_LIT(sb, "]");
    }
    SB_LIT(sb, "}");
}

static void json_header(struct strbuf *sb, const struct priorities_list *list)
{
    SB_LIT(sb, "{\"year\":");
    json_str(sb, list->year);
    SB_LIT(sb, ",\"term\":");
    json_str(sb, list->term);
    SB_LIT(sb, ",\"items\":[");
}

char *priorities_to_json(const struct priorities_list *list,
                         const struct priorities_output_opts *opts, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    json_header(&sb, list);
    for (size_t i = 0; i < list->count; i++) {
        if (i)
            SB_LIT(&sb, ",");
        json_item(&sb, list->items[i], opts);
    }
    SB_LIT(&sb, "]}");
    return strbuf_detach(&sb, len);
}

char *priorities_support_to_json(const struct priorities_list *list, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    json_header(&sb, list);
    bool first = true;
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        if (it->level != PRIORITIES_LEVEL_SCHOOL)
            continue;
        if (!first)
            SB_LIT(&sb, ",");
        first = false;
        SB_LIT(&sb, "{\"receiver\":");
        json_str(&sb, it->urn);
        SB_LIT(&sb, ",\"priority_id\":");
        json_str(&sb, it->id);
        SB_LIT(&sb, ",\"kind\":\"");
        sb_str(&sb, priorities_kind_name(it->kind));
        SB_LIT(&sb, "\"");
        json_topic(&sb, it);
        SB_LIT(&sb, ",\"score\":");
        put_score(&sb, it->score_hundredths);
        SB_LIT(&sb, ",\"givers\":");
        json_givers(&sb, it, NULL); /* the trust's route: ceo, admin, executive heads */
        SB_LIT(&sb, "}");
    }
    SB_LIT(&sb, "]}");
    return strbuf_detach(&sb, len);
}

/* One CSV field (RFC 4180). Text that a spreadsheet would run as a formula is prefixed
 * with an apostrophe. */
static void csv_text(struct strbuf *sb, const char *s)
{
    if (!s)
        return;
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        sb_str(sb, s);
        return;
    }
    if (formula)
        SB_LIT(sb, "\"'");
    else
        SB_LIT(sb, "\"");
    for (const char *run = s, *q;; run = q + 1) {
        q = strchr(run, '"');
        if (!q) {
            sb_str(sb, run);
            break;
        }
        sb_put(sb, run, (size_t)(q - run));
        SB_LIT(sb, "\"\"");
    }
    SB_LIT(sb, "\"");
}

/* URNs and keys joined with ';' (they never need quoting). */
static void csv_join(struct strbuf *sb, char *const *v, size_t n,
                     const struct priorities_output_opts *o)
{
    bool first = true;
    for (size_t i = 0; i < n; i++)
        if (visible(o, v[i])) {
            if (!first)
                SB_LIT(sb, ";");
            first = false;
            csv_text(sb, v[i]);
        }
}

char *priorities_to_csv(const struct priorities_list *list,
                        const struct priorities_output_opts *opts, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    SB_LIT(&sb, "year,term,id,level,kind,subject,area,theme,group,schools,n,k,p,b,gap,z,"
                "deficit,trend,benchmark,score,rationale,support,pupils\r\n");
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        const struct priorities_cell_metrics *m = &it->cell;
        bool cellish = it->kind == PRIORITIES_KIND_ATTAINMENT || it->kind == PRIORITIES_KIND_GAP ||
                       it->kind == PRIORITIES_KIND_TREND;
        csv_text(&sb, list->year);
        SB_LIT(&sb, ",");
        csv_text(&sb, list->term);
        SB_LIT(&sb, ",");
        sb_str(&sb, it->id);
        SB_LIT(&sb, ",");
        sb_str(&sb, priorities_level_name(it->level));
        SB_LIT(&sb, ",");
        sb_str(&sb, priorities_kind_name(it->kind));
        SB_LIT(&sb, ",");
        csv_text(&sb, it->subject);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->area);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->theme);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->group);
        SB_LIT(&sb, ",");
        csv_join(&sb, it->schools, it->n_schools, opts);
        if (cellish) {
            SB_LIT(&sb, ",");
            sb_long(&sb, m->n);
            SB_LIT(&sb, ",");
            sb_long(&sb, m->k);
            SB_LIT(&sb, ",");
            put_fixed(&sb, m->p, 4);
            SB_LIT(&sb, ",");
            if (m->has_b)
                put_fixed(&sb, m->b, 4);
            SB_LIT(&sb, ",");
            if (m->has_b)
                put_fixed(&sb, m->gap, 4);
            SB_LIT(&sb, ",");
            if (m->has_z)
                put_fixed(&sb, m->z, 3);
            SB_LIT(&sb, ",");
            if (m->has_b)
                sb_long(&sb, m->deficit);
            SB_LIT(&sb, ",");
            if (it->kind == PRIORITIES_KIND_TREND)
                put_fixed(&sb, it->trend, 4);
            SB_LIT(&sb, ",");
            csv_text(&sb, benchmark_source(m));
            SB_LIT(&sb, ",");
        } else {
            SB_LIT(&sb, ",,,,,,,,,,"); /* n .. benchmark, empty */
        }
        put_score(&sb, it->score_hundredths);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->rationale);
        SB_LIT(&sb, ",");
        char *givers[PRIORITIES_MAX_SUPPORT];
        for (size_t g = 0; g < it->n_support; g++)
            givers[g] = it->support[g].urn;
        csv_join(&sb, givers, it->n_support, NULL);
        SB_LIT(&sb, ",");
        if (shows_pupils(it, opts))
            csv_join(&sb, it->pupils, it->n_pupils, NULL);
        SB_LIT(&sb, "\r\n");
    }
    return strbuf_detach(&sb, len);
}

char *priorities_support_to_csv(const struct priorities_list *list, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    SB_LIT(&sb, "year,term,receiver,priority_id,kind,topic,group,score,giver,giver_name,reason,"
                "same_phase,distance_km\r\n");
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        if (it->level != PRIORITIES_LEVEL_SCHOOL)
            continue;
        const char *topic = it->subject ? it->subject : it->area ? it->area : it->theme;
        /* One row per giver; a need nobody can meet still gets its row. */
        for (size_t g = 0; g < (it->n_support ? it->n_support : 1); g++) {
            const struct priorities_giver *gv = it->n_support ? &it->support[g] : NULL;
            csv_text(&sb, list->year);
            SB_LIT(&sb, ",");
            csv_text(&sb, list->term);
            SB_LIT(&sb, ",");
            csv_text(&sb, it->urn);
            SB_LIT(&sb, ",");
            csv_text(&sb, it->id);
            SB_LIT(&sb, ",");
            csv_text(&sb, priorities_kind_name(it->kind));
            SB_LIT(&sb, ",");
            csv_text(&sb, topic ? topic : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, it->group ? it->group : "");
            SB_LIT(&sb, ",");
            put_score(&sb, it->score_hundredths);
            SB_LIT(&sb, ",");
            csv_text(&sb, gv ? gv->urn : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, gv && gv->name ? gv->name : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, gv && gv->reason ? gv->reason : "");
            SB_LIT(&sb, ",");
            strbuf_puts(&sb, gv ? (gv->same_phase ? "true" : "false") : "");
            SB_LIT(&sb, ",");
            if (gv && gv->has_distance)
                strbuf_printf(&sb, "%.1f", gv->distance_km);
            SB_LIT(&sb, "\r\n");
        }
    }
    return strbuf_detach(&sb, len);
}
