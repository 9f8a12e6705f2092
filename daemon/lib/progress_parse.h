/* Parsing a termly pupil-progress push (SPEC 4.3) into plain records, from JSON
 * ({"records": [...]}, checked against progress.json) or from CSV with a header row.
 * Pupil references are pseudonymised as each record is read; every error is collected
 * (bounded) because a push is all or nothing. Also the COPY text the loader sends. */
#ifndef MATD_PROGRESS_PARSE_H
#define MATD_PROGRESS_PARSE_H
#include <stdbool.h>
#include <stddef.h>

#include "assessment_codes.h"
#include "errors.h"
#include "pupil_key.h"
#include "util.h"

struct schema_registry;
struct import_profile;

#define PROGRESS_SUBJECT_MAX 32
#define PROGRESS_MAX_RECORDS_DEFAULT 200000
#define PROGRESS_COPY_CHUNK (256 * 1024)

enum progress_send { PROGRESS_SEND_NONE, PROGRESS_SEND_SUPPORT, PROGRESS_SEND_EHCP };
enum progress_sex { PROGRESS_SEX_UNKNOWN, PROGRESS_SEX_F, PROGRESS_SEX_M, PROGRESS_SEX_X };
enum progress_prior {
    PROGRESS_PRIOR_UNKNOWN,
    PROGRESS_PRIOR_LOW,
    PROGRESS_PRIOR_MIDDLE,
    PROGRESS_PRIOR_HIGH,
};

/* The fields of a record, in the order of the CSV header message and the COPY text. */
enum progress_field {
    PROGRESS_F_PUPIL,
    PROGRESS_F_YEAR_GROUP,
    PROGRESS_F_SUBJECT,
    PROGRESS_F_BAND,
    PROGRESS_F_SCORE,
    PROGRESS_F_ATTENDANCE,
    PROGRESS_F_DISADVANTAGED,
    PROGRESS_F_SEND,
    PROGRESS_F_EAL,
    PROGRESS_F_LOOKED_AFTER,
    PROGRESS_F_SEX,
    PROGRESS_F_PRIOR,
    PROGRESS_F_COUNT
};

/* The field named s[0..len) (case-insensitively), or -1; and a field's name. */
int progress_field_lookup(const char *s, size_t len);
const char *progress_field_name(enum progress_field f);
/* Whether s[0..len) is a value the CSV reader accepts for field f (pupil and subject:
 * the shape only, since keys and the vocabulary come later); false with msg set. */
bool progress_field_value_ok(enum progress_field f, const char *s, size_t len, char *msg,
                             size_t msglen);

/* One pupil in one subject. Absent optional fields take the database defaults:
 * disadvantaged/eal/looked_after false, send none, sex and prior attainment unknown
 * (NULL), score and attendance unknown. */
struct progress_record {
    unsigned char pupil_key[PUPIL_KEY_LEN];
    char year_group[3]; /* "N", "R", "1".."13" */
    char subject[PROGRESS_SUBJECT_MAX + 1];
    enum progress_band band;   /* meaningful when code is ASSESS_CODE_NONE */
    enum assessment_code code; /* an other code (A, L, F, P, D) stored instead of a band */
    bool has_score, has_attendance;
    double score;          /* 80..120 (scaled score) or 1..9 (GCSE grade), see the .c */
    double attendance_pct; /* 0..100 */
    bool disadvantaged, eal, looked_after;
    enum progress_send send;
    enum progress_sex sex;
    enum progress_prior prior_attainment;
};

struct progress_set {
    struct progress_record *records; /* owned */
    size_t *origin; /* owned, per record: its CSV row (header = row 1) or JSON index */
    size_t count, cap;
};

/* The subjects accepted when the caller passes no vocabulary. "rwm" (reading, writing and
 * maths combined) is deliberately absent: it is derived from the three, so pushing it
 * would store a figure twice; a trust that wants it configures it. */
extern const char *const progress_default_subjects[];
extern const size_t progress_default_subjects_count;

struct progress_parse_opts {
    const unsigned char *secret; /* trust secret for pupil keys (borrowed, non-empty) */
    size_t secret_len;
    const char *const *subjects; /* vocabulary, lower case; NULL: the default */
    size_t nsubjects;
    size_t max_records;                     /* 0: PROGRESS_MAX_RECORDS_DEFAULT */
    const struct schema_registry *registry; /* JSON pushes: holds progress.json */
    const struct import_profile *profile;   /* CSV pushes: read through it (or NULL) */
    /* When set, each record's COPY line (progress_records_to_copy's format, copy_prefix
     * first) is appended here as the record is accepted, so the loader's text is ready
     * when the parse ends; on any failure the text is incomplete: discard it. */
    struct strbuf *copy;
    const char *copy_prefix;
    /* When set, called with copy once it holds PROGRESS_COPY_CHUNK bytes or more, to take
     * them (and empty it): the loader can send records while later ones are being read. */
    void (*copy_flush)(void *arg, struct strbuf *copy);
    void *copy_arg;
    /* JSON: build and validate every record in full, never the member-wise fast path (the
     * fuzz target compares the two ways; the answers must be identical). */
    bool json_tree_per_record;
    /* An empty push (a header row alone, "records": []) empties the term; without this it is
     * refused (PROGRESS_EMPTY_PUSH): an empty export must not delete a term by accident. */
    bool allow_empty;
};

/* Outcomes: PROGRESS_OK; PROGRESS_INVALID (content errors: answer 422 with errs);
 * PROGRESS_MALFORMED (the body cannot be read at all - not UTF-8, not JSON, a NUL
 * byte: answer 400 with errs). On any failure out is left empty. */
enum progress_result { PROGRESS_OK = 0, PROGRESS_INVALID = -1, PROGRESS_MALFORMED = -2 };

/* A push replaces the term's set, so one without records would delete it: unless asked for
 * (allow_empty), an empty export is refused rather than taken as "no pupils". */
#define PROGRESS_EMPTY_PUSH                                                                        \
    "the push has no records; a push replaces the term's set, so an empty one would delete "       \
    "it: nothing was changed (to empty the term on purpose, push again with ?allow_empty=true)"

/* JSON push. Error paths are JSON pointers: "/records/<i>/<field>" (i from 0). */
enum progress_result progress_parse_json(const char *buf, size_t len,
                                         const struct progress_parse_opts *opts,
                                         struct progress_set *out, struct mat_errors *errs);

/* CSV push: a header row naming the columns (the JSON field names, any order, any case;
 * pupil, year_group and subject required), then one record per row. band takes matd's
 * bands, the statutory TA codes or the other codes (assessment_codes.h); a row without
 * a band needs a KS2 scaled score in reading, maths or gps, which then gives it. Error paths
 * are "row <r>:<column>" or "row <r>" for the whole row, where r is the 1-based line
 * number in the file with the header as row 1 (a quoted cell spanning lines counts its
 * line breaks; blank lines count and are skipped). Rules in docs/validation.md. */
enum progress_result progress_parse_csv(const char *buf, size_t len,
                                        const struct progress_parse_opts *opts,
                                        struct progress_set *out, struct mat_errors *errs);

void progress_set_free(struct progress_set *s);

/* Appends the records to out in PostgreSQL COPY text format, one line each:
 *   <line_prefix>pupil_key year_group subject band code score attendance_pct disadvantaged
 *   send eal looked_after sex prior_attainment
 * (band is \N and a code column follows it holding A, L, F, P or D for an other code;
 * \N otherwise), tab-separated, \N for NULL, pupil_key as bytea hex (\\x..., escaped for COPY),
 * booleans t/f, numbers with two decimals. line_prefix (borrowed, may be NULL) is written as is at
 * the start of every line, e.g. "trust\turn\tyear\tterm\t" for a COPY into progress (trust_id, urn,
 * year, term, pupil_key, ...). */
void progress_records_to_copy(const struct progress_set *s, const char *line_prefix,
                              struct strbuf *out);

#endif
