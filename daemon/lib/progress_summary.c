/* The dry-run summary of a parsed push, and its warnings. */
#include "progress_summary.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pupil_slot {
    const struct progress_record *r; /* first record seen for the pupil; NULL = empty */
    size_t origin;
    bool multi;
};

static size_t key_hash(const unsigned char *k)
{
    size_t h;
    memcpy(&h, k, sizeof h); /* an HMAC output: already uniform */
    return h;
}

static struct progress_subject_counts *subject_of(struct progress_summary *out, const char *name)
{
    for (size_t i = 0; i < out->nsubjects; i++)
        if (strcmp(out->subjects[i].subject, name) == 0)
            return &out->subjects[i];
    out->subjects = xrealloc(out->subjects, (out->nsubjects + 1) * sizeof *out->subjects);
    struct progress_subject_counts *c = &out->subjects[out->nsubjects++];
    memset(c, 0, sizeof *c);
    snprintf(c->subject, sizeof c->subject, "%s", name);
    return c;
}

static int by_subject(const void *a, const void *b)
{
    return strcmp(((const struct progress_subject_counts *)a)->subject,
                  ((const struct progress_subject_counts *)b)->subject);
}

static void note_pupil(struct progress_summary *out, struct pupil_slot *table, size_t mask,
                       const struct progress_record *r, size_t origin)
{
    size_t i = key_hash(r->pupil_key) & mask;
    while (table[i].r && memcmp(table[i].r->pupil_key, r->pupil_key, PUPIL_KEY_LEN) != 0)
        i = (i + 1) & mask;
    struct pupil_slot *slot = &table[i];
    if (!slot->r) {
        slot->r = r;
        slot->origin = origin;
        out->pupils++;
        return;
    }
    if (slot->multi || strcmp(slot->r->year_group, r->year_group) == 0)
        return;
    slot->multi = true;
    out->multi_year_pupils++;
    if (out->nexamples < PROGRESS_SUMMARY_EXAMPLES) {
        struct progress_year_example *e = &out->examples[out->nexamples++];
        e->first = slot->origin;
        e->second = origin;
        snprintf(e->year_first, sizeof e->year_first, "%s", slot->r->year_group);
        snprintf(e->year_second, sizeof e->year_second, "%s", r->year_group);
    }
}

void progress_summary_compute(const struct progress_set *s, struct progress_summary *out)
{
    memset(out, 0, sizeof *out);
    out->rows = s->count;
    size_t cap = 16;
    while (cap < 2 * s->count)
        cap *= 2;
    struct pupil_slot *table = xcalloc(cap, sizeof *table);
    for (size_t i = 0; i < s->count; i++) {
        const struct progress_record *r = &s->records[i];
        struct progress_subject_counts *c = subject_of(out, r->subject);
        c->rows++;
        if (r->code == ASSESS_CODE_NONE)
            c->band[r->band]++;
        else
            c->code[r->code]++, out->code[r->code]++;
        if (assessment_code_in_cohort(r->code))
            c->in_cohort++;
        note_pupil(out, table, cap - 1, r, s->origin ? s->origin[i] : i);
    }
    free(table);
    if (out->nsubjects > 1)
        qsort(out->subjects, out->nsubjects, sizeof *out->subjects, by_subject);
}

void progress_summary_free(struct progress_summary *s)
{
    free(s->subjects);
    s->subjects = NULL;
    s->nsubjects = 0;
}

static json_t *subject_json(const struct progress_subject_counts *c)
{
    json_t *bands = json_object(), *codes = json_object();
    for (int b = 0; b < PROGRESS_NBANDS; b++)
        json_object_set_new(bands, assessment_band_name((enum progress_band)b),
                            json_integer((json_int_t)c->band[b]));
    for (int k = ASSESS_CODE_A; k < ASSESS_NCODES; k++)
        if (c->code[k])
            json_object_set_new(codes, assessment_code_name((enum assessment_code)k),
                                json_integer((json_int_t)c->code[k]));
    return json_pack("{s:s, s:I, s:I, s:o, s:o}", "subject", c->subject, "rows",
                     (json_int_t)c->rows, "n", (json_int_t)c->in_cohort, "bands", bands, "codes",
                     codes);
}

static void warn(json_t *warnings, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(json_t *warnings, const char *kind, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_pack("{s:s, s:s}", "kind", kind, "message", msg));
}

static bool has_subject(const struct progress_summary *s, const char *name)
{
    for (size_t i = 0; i < s->nsubjects; i++)
        if (strcmp(s->subjects[i].subject, name) == 0)
            return true;
    return false;
}

static void warnings_of(const struct progress_summary *s, const struct progress_previous *prev,
                        bool csv, json_t *warnings)
{
    const char *unit = csv ? "rows" : "records";
    for (size_t i = 0; i < s->nexamples; i++)
        warn(warnings, "pupil_in_two_year_groups",
             "the pupil in %s %zu and %zu is in year %s and year %s", unit, s->examples[i].first,
             s->examples[i].second, s->examples[i].year_first, s->examples[i].year_second);
    if (s->multi_year_pupils > s->nexamples)
        warn(warnings, "pupil_in_two_year_groups", "%zu more pupils are in two year groups",
             s->multi_year_pupils - s->nexamples);
    if (!prev || prev->pupils == 0)
        return;
    for (size_t i = 0; i < prev->nsubjects; i++)
        if (!has_subject(s, prev->subjects[i]))
            warn(warnings, "subject_missing",
                 "%s was pushed for %s %s but is absent from this push", prev->subjects[i],
                 prev->term, prev->year);
    if ((double)s->pupils < 0.9 * (double)prev->pupils)
        warn(warnings, "cohort_shrank", "this push has %zu pupils; %s %s had %zu (%.0f%% fewer)",
             s->pupils, prev->term, prev->year, prev->pupils,
             100.0 * (double)(prev->pupils - s->pupils) / (double)prev->pupils);
}

json_t *progress_summary_warnings(const struct progress_summary *s,
                                  const struct progress_previous *prev, bool csv)
{
    json_t *warnings = json_array();
    warnings_of(s, prev, csv, warnings);
    return warnings;
}

json_t *progress_summary_json(const struct progress_summary *s,
                              const struct progress_previous *prev, bool csv)
{
    json_t *subjects = json_array(), *codes = json_array(), *warnings = json_array();
    for (size_t i = 0; i < s->nsubjects; i++)
        json_array_append_new(subjects, subject_json(&s->subjects[i]));
    for (int k = ASSESS_CODE_A; k < ASSESS_NCODES; k++)
        if (s->code[k])
            json_array_append_new(
                codes, json_pack("{s:s, s:I, s:b, s:s}", "code",
                                 assessment_code_name((enum assessment_code)k), "rows",
                                 (json_int_t)s->code[k], "in_n",
                                 assessment_code_in_cohort((enum assessment_code)k), "treatment",
                                 assessment_code_treatment((enum assessment_code)k)));
    warnings_of(s, prev, csv, warnings);
    json_t *doc = json_pack("{s:b, s:I, s:I, s:o, s:o, s:o}", "dry_run", 1, "rows",
                            (json_int_t)s->rows, "pupils", (json_int_t)s->pupils, "subjects",
                            subjects, "other_codes", codes, "warnings", warnings);
    if (prev && prev->year) {
        json_t *ps = json_array();
        for (size_t i = 0; i < prev->nsubjects; i++)
            json_array_append_new(ps, json_string(prev->subjects[i]));
        json_object_set_new(doc, "previous_term",
                            json_pack("{s:s, s:s, s:I, s:o}", "year", prev->year, "term",
                                      prev->term, "pupils", (json_int_t)prev->pupils, "subjects",
                                      ps));
    }
    return doc;
}
