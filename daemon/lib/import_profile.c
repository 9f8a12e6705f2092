/* Import profiles: reading and checking one, and the lookups the CSV reader makes. */
#include "import_profile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s))
        (*s)++, (*len)--;
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static bool same_heading(const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a);
    trim(&a, &alen);
    trim(&b, &blen);
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* ---- personal data in headings ---- */

static const struct {
    const char *word; /* a whole word of the normalised heading */
    const char *kind;
} sensitive_words[] = {
    {"name", "names"},
    {"names", "names"},
    {"forename", "names"},
    {"forenames", "names"},
    {"surname", "names"},
    {"firstname", "names"},
    {"lastname", "names"},
    {"middlename", "names"},
    {"fullname", "names"},
    {"dob", "dates of birth"},
    {"birth", "dates of birth"},
    {"birthday", "dates of birth"},
    {"birthdate", "dates of birth"},
    {"address", "addresses"},
    {"street", "addresses"},
    {"postcode", "addresses"},
    {"town", "addresses"},
    {"email", "contact details"},
    {"phone", "contact details"},
    {"telephone", "contact details"},
    {"mobile", "contact details"},
    {"contact", "contact details"},
    {"contacts", "contact details"},
    {"comment", "free text"},
    {"comments", "free text"},
    {"note", "free text"},
    {"notes", "free text"},
    {"remarks", "free text"},
    {"observations", "free text"},
};

const char *import_heading_sensitive(const char *h, size_t len)
{
    char word[32];
    size_t w = 0;
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? h[i] : ' ';
        if (isalnum((unsigned char)ch)) {
            if (w + 1 < sizeof word)
                word[w++] = (char)tolower((unsigned char)ch);
            continue;
        }
        word[w] = '\0';
        for (size_t k = 0; w && k < ARRAY_LEN(sensitive_words); k++)
            if (strcmp(word, sensitive_words[k].word) == 0)
                return sensitive_words[k].kind;
        w = 0;
    }
    return NULL;
}

/* ---- the lookups ---- */

enum import_heading import_profile_heading(const struct import_profile *p, const char *h,
                                           size_t len, size_t *index)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (same_heading(p->col_heading[i], h, len))
            return *index = i, IMPORT_HEADING_FIELD;
    for (size_t i = 0; i < p->nsubj; i++)
        if (same_heading(p->subj[i].heading, h, len))
            return *index = i, IMPORT_HEADING_SUBJECT;
    for (size_t i = 0; i < p->ndrop; i++)
        if (same_heading(p->drop[i], h, len))
            return IMPORT_HEADING_DROP;
    return IMPORT_HEADING_UNKNOWN;
}

const char *import_profile_value(const struct import_profile *p, enum progress_field f,
                                 const char *s, size_t len, size_t *outlen)
{
    const char *t = s;
    size_t tlen = len;
    trim(&t, &tlen);
    for (size_t i = 0; i < p->nvalues[f]; i++) {
        const char *from = p->values[f][i].from;
        if (strlen(from) == tlen && strncasecmp(from, t, tlen) == 0) {
            *outlen = strlen(p->values[f][i].to);
            return p->values[f][i].to;
        }
    }
    *outlen = len;
    return s;
}

/* ---- reading a profile ---- */

struct seen {
    const char *heading; /* borrowed from the document */
    char *path;          /* owned */
};

static char *path2(const char *a, const char *b)
{
    char *p = json_pointer_join(a, b);
    return p;
}

/* Records a heading; an error when it was seen before (case-insensitively). */
static bool note_heading(struct seen *seen, size_t *nseen, const char *heading, char *path,
                         struct mat_errors *errs)
{
    for (size_t i = 0; i < *nseen; i++) {
        if (same_heading(seen[i].heading, heading, strlen(heading))) {
            mat_errors_add(errs, path, "column \"%s\" appears twice in the profile (also at %s)",
                           heading, seen[i].path);
            free(path);
            return false;
        }
    }
    seen[*nseen].heading = heading;
    seen[(*nseen)++].path = path;
    return true;
}

static void read_columns(json_t *doc, struct import_profile *p, struct seen *seen, size_t *nseen,
                         int *field_at, struct mat_errors *errs)
{
    json_t *cols = json_object_get(doc, "columns"), *v;
    const char *heading;
    size_t n = json_object_size(cols);
    p->col_heading = xcalloc(n ? n : 1, sizeof *p->col_heading);
    p->col_field = xcalloc(n ? n : 1, sizeof *p->col_field);
    json_object_foreach(cols, heading, v)
    {
        char *path = path2("/columns", heading);
        const char *name = json_string_value(v);
        int f = name ? progress_field_lookup(name, strlen(name)) : -1;
        if (f < 0) {
            mat_errors_add(errs, path, "unknown field \"%s\"", name ? name : "");
            free(path);
            continue;
        }
        if (p->wide && (f == PROGRESS_F_BAND || f == PROGRESS_F_SCORE || f == PROGRESS_F_SUBJECT)) {
            mat_errors_add(errs, path,
                           "a wide profile takes %s from subject_columns, not from a column", name);
            free(path);
            continue;
        }
        if (field_at[f] >= 0) {
            mat_errors_add(errs, path, "field %s is already taken by column \"%s\"", name,
                           p->col_heading[field_at[f]]);
            free(path);
            continue;
        }
        if (!note_heading(seen, nseen, heading, path, errs))
            continue;
        field_at[f] = (int)p->ncols;
        p->col_heading[p->ncols] = xstrdup(heading);
        p->col_field[p->ncols++] = (enum progress_field)f;
    }
}

static void read_subject_columns(json_t *doc, struct import_profile *p, struct seen *seen,
                                 size_t *nseen, struct mat_errors *errs)
{
    json_t *subj = json_object_get(doc, "subject_columns"), *v;
    const char *heading;
    if (!p->wide) {
        if (subj)
            mat_errors_add(errs, "/subject_columns", "subject_columns needs layout \"wide\"");
        return;
    }
    if (json_object_size(subj) == 0) {
        mat_errors_add(errs, "/subject_columns",
                       "a wide profile needs subject_columns: the column of each subject");
        return;
    }
    p->subj = xcalloc(json_object_size(subj), sizeof *p->subj);
    json_object_foreach(subj, heading, v)
    {
        char *path = path2("/subject_columns", heading);
        if (!note_heading(seen, nseen, heading, path, errs))
            continue;
        struct import_subject_column *c = &p->subj[p->nsubj++];
        c->heading = xstrdup(heading);
        const char *s = json_string_value(json_object_get(v, "subject"));
        snprintf(c->subject, sizeof c->subject, "%s", s ? s : "");
        const char *f = json_string_value(json_object_get(v, "field"));
        c->field = f && strcmp(f, "score") == 0 ? PROGRESS_F_SCORE : PROGRESS_F_BAND;
    }
}

static void read_drop(json_t *doc, struct import_profile *p, struct seen *seen, size_t *nseen,
                      struct mat_errors *errs)
{
    json_t *drop = json_object_get(doc, "drop");
    p->drop = xcalloc(json_array_size(drop) + 1, sizeof *p->drop);
    for (size_t i = 0; i < json_array_size(drop); i++) {
        const char *heading = json_string_value(json_array_get(drop, i));
        char *path = xmalloc(32);
        snprintf(path, 32, "/drop/%zu", i);
        if (!heading) {
            free(path);
            continue;
        }
        if (!note_heading(seen, nseen, heading, path, errs))
            continue;
        p->drop[p->ndrop++] = xstrdup(heading);
    }
}

static void read_values(json_t *doc, struct import_profile *p, struct mat_errors *errs)
{
    json_t *values = json_object_get(doc, "values"), *map, *to;
    const char *field, *from;
    json_object_foreach(values, field, map)
    {
        int f = progress_field_lookup(field, strlen(field));
        char *fpath = path2("/values", field);
        if (f < 0 || f == PROGRESS_F_PUPIL) {
            mat_errors_add(errs, fpath, f < 0 ? "unknown field \"%s\"" : "%s cannot be mapped",
                           field);
            free(fpath);
            continue;
        }
        p->values[f] = xcalloc(json_object_size(map) + 1, sizeof *p->values[f]);
        json_object_foreach(map, from, to)
        {
            char *path = path2(fpath, from);
            const char *target = json_string_value(to);
            char msg[400];
            if (!target || !progress_field_value_ok((enum progress_field)f, target, strlen(target),
                                                    msg, sizeof msg)) {
                mat_errors_add(errs, path, "\"%s\" is not a valid %s: %s", target ? target : "",
                               field, target ? msg : "a string is needed");
            } else {
                const char *s = from;
                size_t len = strlen(from);
                trim(&s, &len);
                struct import_value *iv = &p->values[f][p->nvalues[f]++];
                iv->from = xmalloc(len + 1);
                memcpy(iv->from, s, len);
                iv->from[len] = '\0';
                iv->to = xstrdup(target);
            }
            free(path);
        }
        free(fpath);
    }
}

static void read_constants(json_t *doc, struct import_profile *p, const int *field_at,
                           struct mat_errors *errs)
{
    json_t *consts = json_object_get(doc, "constants"), *v;
    const char *field;
    json_object_foreach(consts, field, v)
    {
        int f = progress_field_lookup(field, strlen(field));
        char *path = path2("/constants", field);
        const char *value = json_string_value(v);
        char msg[400];
        if (f < 0 || f == PROGRESS_F_PUPIL) {
            mat_errors_add(errs, path, f < 0 ? "unknown field \"%s\"" : "%s cannot be a constant",
                           field);
        } else if (field_at[f] >= 0) {
            mat_errors_add(errs, path, "%s is both a constant and column \"%s\"", field,
                           p->col_heading[field_at[f]]);
        } else if (p->wide && f == PROGRESS_F_SUBJECT) {
            mat_errors_add(errs, path, "a wide profile takes subject from subject_columns");
        } else if (!value || !progress_field_value_ok((enum progress_field)f, value, strlen(value),
                                                      msg, sizeof msg)) {
            mat_errors_add(errs, path, "\"%s\" is not a valid %s: %s", value ? value : "", field,
                           value ? msg : "a string is needed");
        } else {
            p->constant[f] = xstrdup(value);
        }
        free(path);
    }
}

int import_profile_parse(json_t *doc, struct import_profile **out, struct mat_errors *errs)
{
    size_t before = errs->count + errs->dropped;
    struct import_profile *p = xcalloc(1, sizeof *p);
    const char *layout = json_string_value(json_object_get(doc, "layout"));
    p->wide = layout && strcmp(layout, "wide") == 0;
    size_t cap = json_object_size(json_object_get(doc, "columns")) +
                 json_object_size(json_object_get(doc, "subject_columns")) +
                 json_array_size(json_object_get(doc, "drop")) + 1;
    struct seen *seen = xcalloc(cap, sizeof *seen);
    size_t nseen = 0;
    int field_at[PROGRESS_F_COUNT];
    for (int f = 0; f < PROGRESS_F_COUNT; f++)
        field_at[f] = -1;
    read_columns(doc, p, seen, &nseen, field_at, errs);
    read_subject_columns(doc, p, seen, &nseen, errs);
    read_drop(doc, p, seen, &nseen, errs);
    read_values(doc, p, errs);
    read_constants(doc, p, field_at, errs);
    for (size_t i = 0; i < nseen; i++)
        free(seen[i].path);
    free(seen);
    if (field_at[PROGRESS_F_PUPIL] < 0)
        mat_errors_add(errs, "/columns", "no column is mapped to pupil");
    if (field_at[PROGRESS_F_YEAR_GROUP] < 0 && !p->constant[PROGRESS_F_YEAR_GROUP])
        mat_errors_add(errs, "/columns",
                       "year_group needs a column or a constant (constants/year_group)");
    if (!p->wide && field_at[PROGRESS_F_SUBJECT] < 0 && !p->constant[PROGRESS_F_SUBJECT])
        mat_errors_add(errs, "/columns",
                       "a long profile needs a subject column or a constant subject");
    if (errs->count + errs->dropped != before) {
        import_profile_free(p);
        *out = NULL;
        return -1;
    }
    *out = p;
    return 0;
}

void import_profile_free(struct import_profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncols; i++)
        free(p->col_heading[i]);
    free(p->col_heading);
    free(p->col_field);
    for (size_t i = 0; i < p->nsubj; i++)
        free(p->subj[i].heading);
    free(p->subj);
    for (size_t i = 0; i < p->ndrop; i++)
        free(p->drop[i]);
    free(p->drop);
    for (int f = 0; f < PROGRESS_F_COUNT; f++) {
        free(p->constant[f]);
        for (size_t i = 0; i < p->nvalues[f]; i++) {
            free(p->values[f][i].from);
            free(p->values[f][i].to);
        }
        free(p->values[f]);
    }
    free(p);
}
