/* Import profiles (SPEC 4.3): how to read a school's own CSV export as a progress push -
 * headings mapped to fields, value maps per field, a wide layout with a column per
 * subject, constant fields and columns dropped unread - and the rule that a column
 * holding names, dates of birth, addresses or free text is refused unless dropped. Pure. */
#ifndef MATD_IMPORT_PROFILE_H
#define MATD_IMPORT_PROFILE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "progress_parse.h"

struct import_value {
    char *from, *to; /* owned; from is trimmed */
};

struct import_subject_column {
    char *heading; /* owned */
    char subject[PROGRESS_SUBJECT_MAX + 1];
    enum progress_field field; /* PROGRESS_F_BAND or PROGRESS_F_SCORE */
};

struct import_profile {
    bool wide;
    char **col_heading; /* owned; ncols headings mapped to col_field */
    enum progress_field *col_field;
    size_t ncols;
    struct import_subject_column *subj; /* wide layout */
    size_t nsubj;
    char **drop;
    size_t ndrop;
    char *constant[PROGRESS_F_COUNT]; /* owned or NULL */
    struct import_value *values[PROGRESS_F_COUNT];
    size_t nvalues[PROGRESS_F_COUNT];
};

/* Reads a profile body (already checked against import_profile.json) and checks the
 * rules the schema cannot say; errors carry the JSON pointer of what is wrong. Returns 0
 * with *out owned, or -1. */
int import_profile_parse(json_t *doc, struct import_profile **out, struct mat_errors *errs);
void import_profile_free(struct import_profile *p);

enum import_heading {
    IMPORT_HEADING_FIELD,
    IMPORT_HEADING_SUBJECT,
    IMPORT_HEADING_DROP,
    IMPORT_HEADING_UNKNOWN
};
/* What the profile does with a heading (trimmed, case-insensitive); *index is the
 * column (FIELD) or subject column (SUBJECT). */
enum import_heading import_profile_heading(const struct import_profile *p, const char *h,
                                           size_t len, size_t *index);
/* The value a cell of field f stands for: the value map's target, or the cell itself. */
const char *import_profile_value(const struct import_profile *p, enum progress_field f,
                                 const char *s, size_t len, size_t *outlen);

/* When a heading names personal data matd never keeps, what kind ("names", "dates of
 * birth", "addresses", "contact details", "free text"); NULL otherwise. */
const char *import_heading_sensitive(const char *h, size_t len);

#endif
