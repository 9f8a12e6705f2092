/* Progress push parsing: the record rules both readers share (progress_rules.h; JSON is
 * read as a stream in progress_json.c, schema-checked, then these rules) and CSV (libcsv in
 * strict mode, every rule here), into the same plain records.
 *
 * Score rule (SPEC 4.3: "KS2 scaled score 80..120 or GCSE grade 1..9"), decided by year
 * group: N, R and Years 1-6 take a scaled score 80-120; Years 10-13 take a GCSE grade
 * 1-9; Years 7-9 take either, because secondary trackers use both (KS2-style scaled
 * scores and GCSE "flight path" grades). Decimals are allowed (fine grades such as 5.5).
 *
 * A (pupil, subject) pair may appear once per push; the error names both records. */
#include "progress_parse.h"

#include <csv.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import_profile.h"
#include "progress_rules.h"
#include "schema.h"
#include "upn.h"

const char *const progress_default_subjects[] = {"reading", "writing", "maths",
                                                 "science", "gps",     "english"};
const size_t progress_default_subjects_count = ARRAY_LEN(progress_default_subjects);

static const struct {
    const char *name;
    bool required;
} fields[PROGRESS_F_COUNT] = {
    [PROGRESS_F_PUPIL] = {"pupil", true},
    [PROGRESS_F_YEAR_GROUP] = {"year_group", true},
    [PROGRESS_F_SUBJECT] = {"subject", true},
    [PROGRESS_F_BAND] = {"band", false},
    [PROGRESS_F_SCORE] = {"score", false},
    [PROGRESS_F_ATTENDANCE] = {"attendance_pct", false},
    [PROGRESS_F_DISADVANTAGED] = {"disadvantaged", false},
    [PROGRESS_F_SEND] = {"send", false},
    [PROGRESS_F_EAL] = {"eal", false},
    [PROGRESS_F_LOOKED_AFTER] = {"looked_after", false},
    [PROGRESS_F_SEX] = {"sex", false},
    [PROGRESS_F_PRIOR] = {"prior_attainment", false},
};

static const char *const year_groups[] = {"N", "R", "1", "2",  "3",  "4",  "5", "6",
                                          "7", "8", "9", "10", "11", "12", "13"};
static const char *const sends[] = {"none", "support", "ehcp"};
static const char *const sexes[] = {"f", "m", "x"}; /* index + 1 = enum progress_sex */
static const char *const priors[] = {"low", "middle", "high"};

/* Index of s[0..len) in list (case-insensitively), or -1. */
static int lookup(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)
            return (int)i;
    return -1;
}

static char *list_text(const char *const *list, size_t n)
{
    struct strbuf sb;
    strbuf_init(&sb);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&sb, "%s%s", i ? ", " : "", list[i]);
    return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ shared ---- */

struct dup_slot {
    uint64_t hash;
    size_t index; /* record index + 1; 0 = empty */
};

struct progress_ctx {
    const char *const *subjects;
    size_t nsubjects;
    size_t max_records;
    struct pupil_keyer *keyer;
    struct progress_set *out;
    struct dup_slot *table;
    size_t tcap, tcount;
    struct strbuf *copy; /* opts->copy: each accepted record's COPY line, as it comes */
    const char *copy_prefix;
    size_t copy_prefix_len;
    void (*copy_flush)(void *arg, struct strbuf *copy);
    void *copy_arg;
};

static void copy_line(const struct progress_record *r, const char *prefix, size_t plen,
                      struct strbuf *out);

static void pctx_init(struct progress_ctx *p, const struct progress_parse_opts *o,
                      struct progress_set *out)
{
    memset(p, 0, sizeof *p);
    p->subjects = o->subjects ? o->subjects : progress_default_subjects;
    p->nsubjects = o->subjects ? o->nsubjects : progress_default_subjects_count;
    p->max_records = o->max_records ? o->max_records : PROGRESS_MAX_RECORDS_DEFAULT;
    p->keyer = pupil_keyer_new(o->secret, o->secret_len);
    p->out = out;
    p->copy = o->copy;
    p->copy_prefix = o->copy_prefix;
    p->copy_prefix_len = o->copy_prefix ? strlen(o->copy_prefix) : 0;
    p->copy_flush = o->copy_flush;
    p->copy_arg = o->copy_arg;
    out->records = NULL;
    out->origin = NULL;
    out->count = out->cap = 0;
}

static void pctx_free(struct progress_ctx *p)
{
    pupil_keyer_free(p->keyer);
    free(p->table);
}

struct progress_ctx *progress_ctx_new(const struct progress_parse_opts *o, struct progress_set *out)
{
    struct progress_ctx *p = xmalloc(sizeof *p);
    pctx_init(p, o, out);
    return p;
}

void progress_ctx_free(struct progress_ctx *p)
{
    if (!p)
        return;
    pctx_free(p);
    free(p);
}

static uint64_t record_hash(const struct progress_record *r)
{
    uint64_t h;
    memcpy(&h, r->pupil_key, sizeof h); /* already uniform: an HMAC output */
    for (const char *s = r->subject; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static void table_insert(struct progress_ctx *p, uint64_t h, size_t index)
{
    size_t mask = p->tcap - 1;
    size_t i = (size_t)h & mask;
    while (p->table[i].index)
        i = (i + 1) & mask;
    p->table[i].hash = h;
    p->table[i].index = index + 1;
}

/* Adds r; returns the index of an earlier record with the same pupil and subject, or
 * SIZE_MAX (r is then not added: the push fails anyway). */
static size_t add_record(struct progress_ctx *p, const struct progress_record *r, size_t origin)
{
    if (2 * (p->tcount + 1) > p->tcap) {
        size_t old = p->tcap;
        struct dup_slot *prev = p->table;
        p->tcap = old ? 2 * old : 1024;
        p->table = xcalloc(p->tcap, sizeof *p->table);
        for (size_t i = 0; i < old; i++)
            if (prev[i].index)
                table_insert(p, prev[i].hash, prev[i].index - 1);
        free(prev);
    }
    uint64_t h = record_hash(r);
    size_t mask = p->tcap - 1;
    for (size_t i = (size_t)h & mask; p->table[i].index; i = (i + 1) & mask) {
        const struct progress_record *o = &p->out->records[p->table[i].index - 1];
        if (p->table[i].hash == h && memcmp(o->pupil_key, r->pupil_key, PUPIL_KEY_LEN) == 0 &&
            strcmp(o->subject, r->subject) == 0)
            return p->out->origin[p->table[i].index - 1];
    }
    struct progress_set *s = p->out;
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->records = xrealloc(s->records, s->cap * sizeof *s->records);
        p->out->origin = xrealloc(p->out->origin, s->cap * sizeof *p->out->origin);
    }
    s->records[s->count] = *r;
    p->out->origin[s->count] = origin;
    table_insert(p, h, s->count);
    s->count++;
    if (p->copy) {
        copy_line(r, p->copy_prefix, p->copy_prefix_len, p->copy);
        if (p->copy_flush && p->copy->len >= PROGRESS_COPY_CHUNK)
            p->copy_flush(p->copy_arg, p->copy);
    }
    p->tcount++;
    return SIZE_MAX;
}

static void record_defaults(struct progress_record *r)
{
    memset(r, 0, sizeof *r);
    r->send = PROGRESS_SEND_NONE;
    r->code = ASSESS_CODE_NONE;
    r->sex = PROGRESS_SEX_UNKNOWN;
    r->prior_attainment = PROGRESS_PRIOR_UNKNOWN;
}

/* Keys a checked reference; the canonical copy is wiped. Returns false with msg set. */
static bool key_pupil(struct progress_ctx *p, const char *ref, size_t len,
                      struct progress_record *r, enum pupil_ref_status *status, char *msg,
                      size_t msglen)
{
    char canon[PUPIL_REF_MAX + 1];
    *status = pupil_ref_check(ref, len, canon, msg, msglen);
    if (*status != PUPIL_REF_OK)
        return false;
    pupil_keyer_key(p->keyer, canon, strlen(canon), r->pupil_key);
    explicit_bzero(canon, sizeof canon);
    return true;
}

static bool subject_slug(const char *s, size_t len)
{
    if (len < 1 || len > PROGRESS_SUBJECT_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Finds the subject (case-insensitively) in the vocabulary and copies the vocabulary's
 * spelling; false with msg set when it is not there. */
static bool subject_check(struct progress_ctx *p, const char *s, size_t len,
                          struct progress_record *r, char *msg, size_t msglen)
{
    int i = lookup(p->subjects, p->nsubjects, s, len);
    if (i >= 0 && subject_slug(p->subjects[i], strlen(p->subjects[i]))) {
        memcpy(r->subject, p->subjects[i], strlen(p->subjects[i]) + 1);
        return true;
    }
    char *list = list_text(p->subjects, p->nsubjects);
    bool echo = len <= PROGRESS_SUBJECT_MAX;
    for (size_t k = 0; k < len && echo; k++)
        echo = s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' && s[k] != '\\';
    if (echo)
        snprintf(msg, msglen, "subject \"%.*s\" is not one of the trust's subjects: %s", (int)len,
                 s, list);
    else
        snprintf(msg, msglen, "subject must be one of the trust's subjects: %s", list);
    free(list);
    return false;
}

/* The score rule of the file comment; NULL when score fits year_group. */
static const char *score_rule(const char *year_group, double score)
{
    int y = year_group[0] == 'N' || year_group[0] == 'R' ? 0 : atoi(year_group);
    bool scaled = score >= 80 && score <= 120, grade = score >= 1 && score <= 9;
    if (y <= 6 && !scaled)
        return "must be a KS2 scaled score from 80 to 120 for Nursery, Reception and Years 1-6";
    if (y >= 10 && !grade)
        return "must be a GCSE grade from 1 to 9 for Years 10-13";
    if (y >= 7 && y <= 9 && !scaled && !grade)
        return "must be a scaled score (80-120) or a GCSE grade (1-9) for Years 7-9";
    return NULL;
}

/* A record with no band and no other code takes its band from a KS2 scaled score in a
 * tested subject (SPEC 4.3); NULL when the record has what it needs, else the reason. */
static const char *band_rule(struct progress_record *r, bool band_given, bool subject_ok)
{
    if (band_given)
        return NULL;
    if (r->has_score && subject_ok && assessment_scaled_subject(r->subject) &&
        assessment_band_from_scaled(r->score, &r->band))
        return NULL;
    if (!subject_ok)
        return NULL; /* the subject's own error says enough */
    if (r->has_score && assessment_scaled_subject(r->subject))
        return "band is missing and the score is not a KS2 scaled score (80-120), so it "
               "cannot give the band";
    return "band is missing; give a band or assessment code, or a KS2 scaled score "
           "(80-120) for reading, maths or gps";
}

/* The band cell: true with r's band or code set, or false (unknown word). */
static bool band_cell(const char *s, size_t len, struct progress_record *r)
{
    enum assessment_kind k = assessment_parse(s, len, &r->band, &r->code);
    return k != ASSESS_UNKNOWN;
}

/* --------------------------------------------------------------- JSON ---- */

static const char *json_str(const struct progress_jrec *rec, enum progress_field f, size_t *len)
{
    if (rec->v[f].kind != PROGRESS_JK_STRING)
        return NULL;
    *len = rec->v[f].len;
    return rec->v[f].s;
}

void progress_json_rules(struct progress_ctx *p, const struct progress_jrec *rec, size_t i,
                         struct mat_errors *errs)
{
    struct progress_record r;
    record_defaults(&r);
    char msg[256], path[64];
    size_t len;
    const char *s;
    bool pupil_ok = false, subject_ok = false, year_ok = false;

    if ((s = json_str(rec, PROGRESS_F_PUPIL, &len))) {
        enum pupil_ref_status st;
        pupil_ok = key_pupil(p, s, len, &r, &st, msg, sizeof msg);
        if (st == PUPIL_REF_BAD_UPN) {
            snprintf(path, sizeof path, "/records/%zu/pupil", i);
            mat_errors_add(errs, path, "%s", msg);
        }
    }
    if ((s = json_str(rec, PROGRESS_F_YEAR_GROUP, &len))) {
        int k = lookup(year_groups, ARRAY_LEN(year_groups), s, len);
        if (k >= 0 && memcmp(year_groups[k], s, len) == 0) { /* exact case; s may not end in NUL */
            memcpy(r.year_group, year_groups[k], strlen(year_groups[k]) + 1);
            year_ok = true;
        }
    }
    if ((s = json_str(rec, PROGRESS_F_SUBJECT, &len)) && subject_slug(s, len)) {
        subject_ok = subject_check(p, s, len, &r, msg, sizeof msg);
        if (!subject_ok) {
            snprintf(path, sizeof path, "/records/%zu/subject", i);
            mat_errors_add(errs, path, "%s", msg);
        }
    }
    int k;
    bool band_given = false;
    if ((s = json_str(rec, PROGRESS_F_BAND, &len))) {
        band_given = true; /* a bad word is named here, and a missing band not again */
        if (!band_cell(s, len, &r)) {
            snprintf(path, sizeof path, "/records/%zu/band", i);
            mat_errors_add(errs, path, "band must be one of: %s", assessment_accepted_text);
        }
    }
    const struct progress_jval *v = &rec->v[PROGRESS_F_SCORE];
    if (v->kind == PROGRESS_JK_NUMBER && v->num >= 1 && v->num <= 120) {
        r.has_score = true;
        r.score = v->num;
        const char *why = year_ok ? score_rule(r.year_group, r.score) : NULL;
        if (why) {
            snprintf(path, sizeof path, "/records/%zu/score", i);
            mat_errors_add(errs, path, "score %s", why);
        }
    }
    v = &rec->v[PROGRESS_F_ATTENDANCE];
    if (v->kind == PROGRESS_JK_NUMBER) {
        r.has_attendance = true;
        r.attendance_pct = v->num;
    }
    r.disadvantaged = rec->v[PROGRESS_F_DISADVANTAGED].kind == PROGRESS_JK_BOOL &&
                      rec->v[PROGRESS_F_DISADVANTAGED].b;
    r.eal = rec->v[PROGRESS_F_EAL].kind == PROGRESS_JK_BOOL && rec->v[PROGRESS_F_EAL].b;
    r.looked_after = rec->v[PROGRESS_F_LOOKED_AFTER].kind == PROGRESS_JK_BOOL &&
                     rec->v[PROGRESS_F_LOOKED_AFTER].b;
    if ((s = json_str(rec, PROGRESS_F_SEND, &len)) && (k = lookup(sends, 3, s, len)) >= 0)
        r.send = (enum progress_send)k;
    if ((s = json_str(rec, PROGRESS_F_SEX, &len)) && (k = lookup(sexes, 3, s, len)) >= 0)
        r.sex = (enum progress_sex)(k + 1);
    if ((s = json_str(rec, PROGRESS_F_PRIOR, &len)) && (k = lookup(priors, 3, s, len)) >= 0)
        r.prior_attainment = (enum progress_prior)(k + 1);
    enum progress_jkind score = rec->v[PROGRESS_F_SCORE].kind;
    bool score_bad =
        score != PROGRESS_JK_ABSENT && score != PROGRESS_JK_NULL && !r.has_score; /* the schema's */
    const char *why = score_bad ? NULL : band_rule(&r, band_given, subject_ok);
    if (why) {
        snprintf(path, sizeof path, "/records/%zu/band", i);
        mat_errors_add(errs, path, "%s", why);
    }

    if (pupil_ok && subject_ok) {
        size_t first = add_record(p, &r, i);
        if (first != SIZE_MAX) {
            snprintf(path, sizeof path, "/records/%zu/pupil", i);
            mat_errors_add(errs, path,
                           "the same pupil already has a %s record at /records/%zu; a pupil "
                           "appears once per subject",
                           r.subject, first);
        }
    }
    explicit_bzero(&r, sizeof r);
}

/* ---------------------------------------------------------------- CSV ---- */

#define CSV_MAX_COLUMNS 64
#define CSV_CELL_MAX 256
#define CSV_CHUNK 65536

/* A column of the file: a field of the record, a subject column of a wide profile, or
 * dropped unread; with its heading as errors name it. */
struct csv_col {
    int field; /* enum progress_field, or -1 */
    int subj;  /* index into the profile's subject columns, or -1 */
    char heading[48];
};

struct csv_state {
    struct progress_ctx *p;
    struct mat_errors *errs;
    const struct import_profile *profile; /* NULL: matd's own columns */
    struct csv_col cols[CSV_MAX_COLUMNS];
    size_t ncols;
    bool header_done, stop;
    const char *heading[PROGRESS_F_COUNT]; /* the record's fields as errors name them */
    bool quiet_shared; /* a wide row's later subjects: its shared cells were judged once */
    /* the row being read */
    char cells[CSV_MAX_COLUMNS][CSV_CELL_MAX + 1];
    size_t cell_len[CSV_MAX_COLUMNS];
    bool cell_long[CSV_MAX_COLUMNS];
    size_t ncells;
    bool in_record, prev_cr;
    size_t line, rec_line; /* current line; line the record started on */
    size_t nrecords;
};

/* One record's cells by field (NULL: not in the file), after any value map. */
struct row_cells {
    const char *v[PROGRESS_F_COUNT];
    size_t len[PROGRESS_F_COUNT];
    bool toolong[PROGRESS_F_COUNT];
};

static void cell_error(struct csv_state *c, size_t row, enum progress_field f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cell_error(struct csv_state *c, size_t row, enum progress_field f, const char *fmt, ...)
{
    if (c->quiet_shared && f != PROGRESS_F_BAND && f != PROGRESS_F_SCORE && f != PROGRESS_F_SUBJECT)
        return;
    char path[96], msg[512];
    snprintf(path, sizeof path, "row %zu:%s", row, c->heading[f] ? c->heading[f] : fields[f].name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mat_errors_add(c->errs, path, "%s", msg);
}

/* Cell name for header errors: the text as given (valid UTF-8: the body was checked),
 * cut between code points at about 40 bytes, quotes and controls shown as '?'. */
static void header_name(const char *s, size_t len, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < outlen; i++) {
        if (i >= 40 && ((unsigned char)s[i] & 0xc0) != 0x80)
            break;
        out[j++] = (s[i] == '"' || (unsigned char)s[i] < 0x20) ? '?' : s[i];
    }
    out[j] = '\0';
}

static void personal_data_error(struct csv_state *c, size_t row, const char *name, const char *kind)
{
    char path[96];
    snprintf(path, sizeof path, "row %zu:%s", row, name);
    mat_errors_add(c->errs, path,
                   "column \"%s\" looks like it holds %s, which matd never stores: remove it "
                   "from the file, or push through an import profile that drops it",
                   name, kind);
}

/* What column i of the header is; false (with the error added) when it cannot be read. */
static bool header_column(struct csv_state *c, size_t row, size_t i, char **known)
{
    const char *s = c->cells[i];
    size_t len = c->cell_len[i];
    struct csv_col *col = &c->cols[i];
    col->field = col->subj = -1;
    header_name(s, len, col->heading, sizeof col->heading);
    char path[96];
    if (len == 0) {
        snprintf(path, sizeof path, "row %zu:column %zu", row, i + 1);
        mat_errors_add(c->errs, path, "column %zu of the header has no name", i + 1);
        return false;
    }
    const char *kind = c->cell_long[i] ? NULL : import_heading_sensitive(s, len);
    if (c->profile) {
        size_t idx = 0;
        switch (import_profile_heading(c->profile, s, len, &idx)) {
        case IMPORT_HEADING_FIELD:
            col->field = (int)c->profile->col_field[idx];
            return true;
        case IMPORT_HEADING_SUBJECT:
            col->subj = (int)idx;
            return true;
        case IMPORT_HEADING_DROP:
            return true;
        case IMPORT_HEADING_UNKNOWN:
            break;
        }
        if (kind) {
            personal_data_error(c, row, col->heading, kind);
        } else {
            snprintf(path, sizeof path, "row %zu:%s", row, col->heading);
            mat_errors_add(c->errs, path,
                           "column \"%s\" is not in the import profile: map it to a field, or "
                           "add it to the profile's drop list",
                           col->heading);
        }
        return false;
    }
    col->field = c->cell_long[i] ? -1 : progress_field_lookup(s, len);
    if (col->field >= 0) {
        snprintf(col->heading, sizeof col->heading, "%s", fields[col->field].name);
        return true;
    }
    if (kind) {
        personal_data_error(c, row, col->heading, kind);
        return false;
    }
    if (!*known) {
        const char *names[PROGRESS_F_COUNT];
        for (size_t k = 0; k < PROGRESS_F_COUNT; k++)
            names[k] = fields[k].name;
        *known = list_text(names, PROGRESS_F_COUNT);
    }
    snprintf(path, sizeof path, "row %zu:%s", row, col->heading);
    mat_errors_add(c->errs, path, "unknown column \"%s\"; the columns are: %s", col->heading,
                   *known);
    return false;
}

/* A field the file must carry (a profile's constant stands in for it). */
static bool header_requires(const struct csv_state *c, enum progress_field f)
{
    if (!fields[f].required)
        return false;
    if (c->profile && (c->profile->constant[f] || (c->profile->wide && f == PROGRESS_F_SUBJECT)))
        return false;
    return true;
}

static void csv_header(struct csv_state *c, size_t row)
{
    int col_of_field[PROGRESS_F_COUNT];
    for (size_t f = 0; f < PROGRESS_F_COUNT; f++)
        col_of_field[f] = -1;
    bool bad = false, any_subject = false;
    char path[96];
    if (c->ncells > CSV_MAX_COLUMNS) {
        snprintf(path, sizeof path, "row %zu", row);
        mat_errors_add(c->errs, path, "the header has %zu columns; at most %d are allowed",
                       c->ncells, CSV_MAX_COLUMNS);
        c->stop = true;
        return;
    }
    char *known = NULL;
    for (size_t i = 0; i < c->ncells; i++) {
        if (!header_column(c, row, i, &known)) {
            bad = true;
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            if (c->cell_len[j] == c->cell_len[i] &&
                strncasecmp(c->cells[j], c->cells[i], c->cell_len[i]) == 0) {
                snprintf(path, sizeof path, "row %zu:%s", row, c->cols[i].heading);
                mat_errors_add(c->errs, path, "column \"%s\" appears twice (columns %zu and %zu)",
                               c->cols[i].heading, j + 1, i + 1);
                bad = true;
            }
        }
        int f = c->cols[i].field;
        if (f >= 0 && col_of_field[f] >= 0 && c->profile == NULL)
            bad = true; /* named above as a repeated heading */
        if (f >= 0)
            col_of_field[f] = (int)i;
        any_subject |= c->cols[i].subj >= 0;
    }
    free(known);
    for (size_t f = 0; f < PROGRESS_F_COUNT; f++) {
        if (header_requires(c, (enum progress_field)f) && col_of_field[f] < 0) {
            const char *name = fields[f].name;
            for (size_t k = 0; c->profile && k < c->profile->ncols; k++)
                if (c->profile->col_field[k] == f)
                    name = c->profile->col_heading[k];
            snprintf(path, sizeof path, "row %zu:%s", row, name);
            mat_errors_add(c->errs, path, "required column \"%s\" is missing from the header",
                           name);
            bad = true;
        }
    }
    if (c->profile && c->profile->wide && !any_subject) {
        snprintf(path, sizeof path, "row %zu", row);
        mat_errors_add(c->errs, path, "none of the profile's subject columns is in the header");
        bad = true;
    }
    c->ncols = c->ncells;
    c->header_done = true;
    if (bad)
        c->stop = true; /* rows cannot be read without a sound header */
}

/* Strict decimal: -?digits(.digits)?, no exponent, no "nan"/"inf". */
static bool parse_decimal(const char *s, size_t len, double *out)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == start || i - start > 12)
        return false;
    if (i < len && s[i] == '.') {
        size_t frac = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == frac || i - frac > 12)
            return false;
    }
    if (i != len)
        return false;
    *out = strtod(s, NULL);
    return true;
}

static int parse_bool(const char *s, size_t len)
{
    static const char *const yes[] = {"true", "1", "yes", "y"};
    static const char *const no[] = {"false", "0", "no", "n"};
    if (lookup(yes, 4, s, len) >= 0)
        return 1;
    if (lookup(no, 4, s, len) >= 0)
        return 0;
    return -1;
}

int progress_field_lookup(const char *s, size_t len)
{
    for (int k = 0; k < PROGRESS_F_COUNT; k++)
        if (strlen(fields[k].name) == len && strncasecmp(fields[k].name, s, len) == 0)
            return k;
    return -1;
}

const char *progress_field_name(enum progress_field f)
{
    return (unsigned)f < PROGRESS_F_COUNT ? fields[f].name : "";
}

static bool enum_ok(const char *const *list, size_t n, const char *s, size_t len, char *msg,
                    size_t msglen)
{
    if (lookup(list, n, s, len) >= 0)
        return true;
    char *t = list_text(list, n);
    snprintf(msg, msglen, "one of: %s", t);
    free(t);
    return false;
}

bool progress_field_value_ok(enum progress_field f, const char *s, size_t len, char *msg,
                             size_t msglen)
{
    double d;
    enum progress_band b;
    enum assessment_code code;
    switch (f) {
    case PROGRESS_F_YEAR_GROUP:
        return enum_ok(year_groups, ARRAY_LEN(year_groups), s, len, msg, msglen);
    case PROGRESS_F_SUBJECT:
        for (size_t i = 0; i < len; i++)
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                len = 0;
        if (len >= 1 && len <= PROGRESS_SUBJECT_MAX)
            return true;
        snprintf(msg, msglen, "a subject is 1-32 letters, digits or _");
        return false;
    case PROGRESS_F_BAND:
        if (assessment_parse(s, len, &b, &code) != ASSESS_UNKNOWN)
            return true;
        snprintf(msg, msglen, "one of: %s", assessment_accepted_text);
        return false;
    case PROGRESS_F_SCORE:
    case PROGRESS_F_ATTENDANCE:
        if (parse_decimal(s, len, &d) && d >= (f == PROGRESS_F_SCORE ? 1 : 0) &&
            d <= (f == PROGRESS_F_SCORE ? 120 : 100))
            return true;
        snprintf(msg, msglen, "a number from %s", f == PROGRESS_F_SCORE ? "1 to 120" : "0 to 100");
        return false;
    case PROGRESS_F_DISADVANTAGED:
    case PROGRESS_F_EAL:
    case PROGRESS_F_LOOKED_AFTER:
        if (parse_bool(s, len) >= 0)
            return true;
        snprintf(msg, msglen, "true or false (or 1/0, yes/no, y/n)");
        return false;
    case PROGRESS_F_SEND:
        return enum_ok(sends, ARRAY_LEN(sends), s, len, msg, msglen);
    case PROGRESS_F_SEX:
        return enum_ok(sexes, ARRAY_LEN(sexes), s, len, msg, msglen);
    case PROGRESS_F_PRIOR:
        return enum_ok(priors, ARRAY_LEN(priors), s, len, msg, msglen);
    case PROGRESS_F_PUPIL:
    case PROGRESS_F_COUNT:
        break;
    }
    return len > 0;
}

static void csv_enum_error(struct csv_state *c, size_t row, enum progress_field f,
                           const char *const *list, size_t n)
{
    char *t = list_text(list, n);
    cell_error(c, row, f, "%s must be one of: %s", fields[f].name, t);
    free(t);
}

/* A pupil's group flags (disadvantaged, eal, looked_after, send, sex, prior attainment). */
static void group_cell(struct csv_state *c, size_t row, enum progress_field f, const char *s,
                       size_t len, struct progress_record *r)
{
    int k;
    switch (f) {
    case PROGRESS_F_DISADVANTAGED:
    case PROGRESS_F_EAL:
    case PROGRESS_F_LOOKED_AFTER:
        if ((k = parse_bool(s, len)) < 0) {
            cell_error(c, row, f, "%s must be true or false (or 1/0, yes/no, y/n)", fields[f].name);
        } else {
            bool b = k == 1;
            if (f == PROGRESS_F_DISADVANTAGED)
                r->disadvantaged = b;
            else if (f == PROGRESS_F_EAL)
                r->eal = b;
            else
                r->looked_after = b;
        }
        break;
    case PROGRESS_F_SEND:
        if ((k = lookup(sends, 3, s, len)) >= 0)
            r->send = (enum progress_send)k;
        else
            csv_enum_error(c, row, f, sends, 3);
        break;
    case PROGRESS_F_SEX:
        if ((k = lookup(sexes, 3, s, len)) >= 0)
            r->sex = (enum progress_sex)(k + 1);
        else
            csv_enum_error(c, row, f, sexes, 3);
        break;
    case PROGRESS_F_PRIOR:
        if ((k = lookup(priors, 3, s, len)) >= 0)
            r->prior_attainment = (enum progress_prior)(k + 1);
        else
            csv_enum_error(c, row, f, priors, 3);
        break;
    default:
        break;
    }
}

/* Reads one record's cells into a record: every rule of the file comment, every error
 * named by row and the heading the file used. */
static void record_from_cells(struct csv_state *c, size_t row, const struct row_cells *rc)
{
    char msg[256];
    struct progress_record r;
    record_defaults(&r);
    bool pupil_ok = false, subject_ok = false, year_ok = false, band_given = false;
    for (int fi = 0; fi < PROGRESS_F_COUNT; fi++) {
        enum progress_field f = (enum progress_field)fi;
        const char *s = rc->v[f];
        size_t len = rc->len[f];
        if (!s) {
            if (fields[f].required)
                cell_error(c, row, f, "%s is empty; it is required", fields[f].name);
            continue;
        }
        if (f == PROGRESS_F_BAND && (len || rc->toolong[f]))
            band_given = true; /* a bad cell is named once, not also as missing */
        if (rc->toolong[f]) {
            cell_error(c, row, f, "%s is too long (over %d characters)", fields[f].name,
                       CSV_CELL_MAX);
            continue;
        }
        if (len == 0) {
            if (fields[f].required)
                cell_error(c, row, f, "%s is empty; it is required", fields[f].name);
            continue;
        }
        int k;
        double d;
        switch (f) {
        case PROGRESS_F_PUPIL: {
            enum pupil_ref_status st;
            pupil_ok = key_pupil(c->p, s, len, &r, &st, msg, sizeof msg);
            if (!pupil_ok)
                cell_error(c, row, f, "%s", msg);
            break;
        }
        case PROGRESS_F_YEAR_GROUP:
            if ((k = lookup(year_groups, ARRAY_LEN(year_groups), s, len)) >= 0) {
                memcpy(r.year_group, year_groups[k], strlen(year_groups[k]) + 1);
                year_ok = true;
            } else {
                csv_enum_error(c, row, f, year_groups, ARRAY_LEN(year_groups));
            }
            break;
        case PROGRESS_F_SUBJECT:
            subject_ok = subject_check(c->p, s, len, &r, msg, sizeof msg);
            if (!subject_ok)
                cell_error(c, row, f, "%s", msg);
            break;
        case PROGRESS_F_BAND:
            band_given = true;
            if (!band_cell(s, len, &r))
                cell_error(c, row, f, "band must be one of: %s", assessment_accepted_text);
            break;
        case PROGRESS_F_SCORE:
            if (!parse_decimal(s, len, &d))
                cell_error(c, row, f, "score must be a number such as 104 or 5.5");
            else if (d < 1 || d > 120)
                cell_error(c, row, f, "score must be between 1 and 120");
            else
                r.has_score = true, r.score = d;
            break;
        case PROGRESS_F_ATTENDANCE:
            if (!parse_decimal(s, len, &d))
                cell_error(c, row, f, "attendance_pct must be a number such as 94.5");
            else if (d < 0 || d > 100)
                cell_error(c, row, f, "attendance_pct must be between 0 and 100");
            else
                r.has_attendance = true, r.attendance_pct = d;
            break;
        default:
            group_cell(c, row, f, s, len, &r);
            break;
        }
    }
    if (r.has_score && year_ok) {
        const char *why = score_rule(r.year_group, r.score);
        if (why)
            cell_error(c, row, PROGRESS_F_SCORE, "score %s", why);
    }
    bool score_bad = rc->v[PROGRESS_F_SCORE] && rc->len[PROGRESS_F_SCORE] && !r.has_score;
    const char *band_why = score_bad ? NULL : band_rule(&r, band_given, subject_ok);
    if (band_why)
        cell_error(c, row, PROGRESS_F_BAND, "%s", band_why);
    if (pupil_ok && subject_ok) {
        size_t first = add_record(c->p, &r, row);
        c->quiet_shared = false; /* a repeat is the subject's own error */
        if (first != SIZE_MAX)
            cell_error(c, row, PROGRESS_F_PUPIL,
                       "the same pupil already has a %s record in row %zu; a pupil appears "
                       "once per subject",
                       r.subject, first);
    }
    explicit_bzero(&r, sizeof r);
}

/* The cell of column i as field f reads it (through the profile's value map). */
static void put_cell(const struct csv_state *c, size_t i, enum progress_field f,
                     struct row_cells *rc)
{
    rc->v[f] = c->cells[i];
    rc->len[f] = c->cell_len[i];
    rc->toolong[f] = c->cell_long[i];
    if (c->profile && !c->cell_long[i])
        rc->v[f] = import_profile_value(c->profile, f, c->cells[i], c->cell_len[i], &rc->len[f]);
}

/* A wide row: one record per subject with a non-empty cell, the pupil's own fields
 * shared. Errors on a subject's band or score name that subject's column. */
static void wide_records(struct csv_state *c, size_t row, const struct row_cells *base)
{
    const struct import_profile *p = c->profile;
    for (size_t i = 0; i < c->ncols; i++) {
        int si = c->cols[i].subj;
        if (si < 0)
            continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            if (c->cols[j].subj >= 0 &&
                strcmp(p->subj[c->cols[j].subj].subject, p->subj[si].subject) == 0)
                first = false;
        if (!first)
            continue; /* read with the subject's first column */
        struct row_cells rc = *base;
        bool any = false;
        c->heading[PROGRESS_F_SUBJECT] = c->cols[i].heading;
        c->heading[PROGRESS_F_BAND] = c->heading[PROGRESS_F_SCORE] = c->cols[i].heading;
        for (size_t j = i; j < c->ncols; j++) {
            int sj = c->cols[j].subj;
            if (sj < 0 || strcmp(p->subj[sj].subject, p->subj[si].subject) != 0)
                continue;
            enum progress_field f = p->subj[sj].field;
            if (c->cell_len[j] == 0 && !c->cell_long[j])
                continue;
            put_cell(c, j, f, &rc);
            c->heading[f] = c->cols[j].heading;
            any = true;
        }
        if (!any)
            continue; /* no result in this subject for this pupil */
        rc.v[PROGRESS_F_SUBJECT] = p->subj[si].subject;
        rc.len[PROGRESS_F_SUBJECT] = strlen(p->subj[si].subject);
        rc.toolong[PROGRESS_F_SUBJECT] = false;
        record_from_cells(c, row, &rc);
        c->quiet_shared = true;
    }
    c->quiet_shared = false;
}

/* A line of spaces, or of separators only (",,,": spreadsheets write them below the data):
 * blank, skipped like an empty line. */
static bool row_blank(const struct csv_state *c)
{
    for (size_t i = 0; i < c->ncells && i < CSV_MAX_COLUMNS; i++)
        if (c->cell_len[i] != 0)
            return false;
    return c->ncells <= CSV_MAX_COLUMNS;
}

static void csv_row(struct csv_state *c, size_t row)
{
    char path[64];
    if (row_blank(c))
        return;
    if (!c->header_done) {
        csv_header(c, row);
        return;
    }
    if (++c->nrecords > c->p->max_records) {
        snprintf(path, sizeof path, "row %zu", row);
        mat_errors_add(c->errs, path, "the push has more than %zu records", c->p->max_records);
        c->stop = true;
        return;
    }
    if (c->ncells != c->ncols) {
        snprintf(path, sizeof path, "row %zu", row);
        mat_errors_add(c->errs, path, "the row has %zu cells; the header has %zu", c->ncells,
                       c->ncols);
        return;
    }
    struct row_cells rc;
    memset(&rc, 0, sizeof rc);
    for (int f = 0; f < PROGRESS_F_COUNT; f++)
        c->heading[f] = NULL;
    for (size_t i = 0; i < c->ncols; i++) {
        int f = c->cols[i].field;
        if (f < 0)
            continue;
        put_cell(c, i, (enum progress_field)f, &rc);
        c->heading[f] = c->cols[i].heading;
    }
    for (int f = 0; c->profile && f < PROGRESS_F_COUNT; f++) {
        if (c->profile->constant[f] && !rc.v[f]) {
            rc.v[f] = c->profile->constant[f];
            rc.len[f] = strlen(rc.v[f]);
        }
    }
    if (c->profile && c->profile->wide)
        wide_records(c, row, &rc);
    else
        record_from_cells(c, row, &rc);
}

static void on_field(void *data, size_t len, void *arg)
{
    struct csv_state *c = arg;
    if (c->stop)
        return;
    if (!c->in_record) {
        c->in_record = true;
        c->rec_line = c->line;
        c->ncells = 0;
    }
    const char *s = data ? data : ""; /* libcsv may pass NULL for an empty cell */
    if (!data)
        len = 0;
    for (const char *q = s; (q = memchr(q, '\n', len - (size_t)(q - s))); q++)
        c->line++; /* a line break inside a quoted cell */
    if (c->ncells < CSV_MAX_COLUMNS) {
        size_t i = c->ncells;
        c->cell_long[i] = len > CSV_CELL_MAX;
        c->cell_len[i] = len > CSV_CELL_MAX ? CSV_CELL_MAX : len;
        memcpy(c->cells[i], s, c->cell_len[i]);
        c->cells[i][c->cell_len[i]] = '\0';
    }
    c->ncells++;
}

static void on_row(int ch, void *arg)
{
    struct csv_state *c = arg;
    if (ch == '\n' && c->prev_cr && !c->in_record) {
        c->prev_cr = false; /* the LF of a CRLF */
        return;
    }
    c->prev_cr = ch == '\r';
    if (c->in_record) {
        if (!c->stop)
            csv_row(c, c->rec_line);
        c->in_record = false;
        c->ncells = 0;
    }
    if (ch == '\n' || ch == '\r')
        c->line++;
}

enum progress_result progress_parse_csv(const char *buf, size_t len,
                                        const struct progress_parse_opts *opts,
                                        struct progress_set *out, struct mat_errors *errs)
{
    out->records = NULL;
    out->origin = NULL;
    out->count = out->cap = 0;
    size_t bom = utf8_bom_len(buf, len);
    buf += bom, len -= bom;
    size_t bad;
    if (!schema_utf8_valid(buf, len, &bad)) {
        mat_errors_add(errs, "",
                       "the CSV is not valid UTF-8 (byte offset %zu); save it as "
                       "CSV UTF-8",
                       bad);
        return PROGRESS_MALFORMED;
    }
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        mat_errors_add(errs, "", "the CSV contains a NUL byte (byte offset %zu)",
                       (size_t)(nul - buf));
        return PROGRESS_MALFORMED;
    }
    size_t before = errs->count + errs->dropped;
    struct progress_ctx p;
    pctx_init(&p, opts, out);
    struct csv_state *c = xcalloc(1, sizeof *c);
    c->p = &p;
    c->errs = errs;
    c->profile = opts->profile;
    c->line = 1;
    struct csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
        fatal("libcsv cannot initialise");
    bool syntax = false;
    for (size_t off = 0; off < len && !c->stop && !syntax;) {
        size_t n = len - off < CSV_CHUNK ? len - off : CSV_CHUNK;
        if (csv_parse(&parser, buf + off, n, on_field, on_row, c) != n)
            syntax = true;
        off += n;
    }
    if (!c->stop && !syntax && csv_fini(&parser, on_field, on_row, c) != 0)
        syntax = true;
    if (syntax && !c->stop) {
        size_t row = c->in_record ? c->rec_line : c->line;
        char path[96];
        if (csv_error(&parser) != CSV_EPARSE) {
            snprintf(path, sizeof path, "row %zu", row);
            mat_errors_add(errs, path, "the CSV cannot be read: %s",
                           csv_strerror(csv_error(&parser)));
        } else {
            size_t col = c->in_record ? c->ncells : 0;
            if (c->header_done && col < c->ncols)
                snprintf(path, sizeof path, "row %zu:%s", row, c->cols[col].heading);
            else
                snprintf(path, sizeof path, "row %zu", row);
            mat_errors_add(errs, path,
                           "broken quoting: a quoted cell is never closed, or a \" appears "
                           "inside an unquoted cell or after a closing quote (write \"\" for "
                           "a quote inside a quoted cell)");
        }
    }
    if (!c->header_done && errs->count + errs->dropped == before)
        mat_errors_add(errs, "row 1", "the CSV is empty; it needs a header row and records");
    else if (c->nrecords == 0 && !opts->allow_empty && errs->count + errs->dropped == before)
        mat_errors_add(errs, "row 2", PROGRESS_EMPTY_PUSH);
    if (parser.entry_buf)
        explicit_bzero(parser.entry_buf, parser.entry_size);
    csv_free(&parser);
    explicit_bzero(c, sizeof *c);
    free(c);
    pctx_free(&p);
    if (errs->count + errs->dropped != before) {
        progress_set_free(out);
        return PROGRESS_INVALID;
    }
    return PROGRESS_OK;
}

void progress_set_free(struct progress_set *s)
{
    if (s->records)
        explicit_bzero(s->records, s->cap * sizeof *s->records);
    free(s->records);
    free(s->origin);
    s->records = NULL;
    s->origin = NULL;
    s->count = s->cap = 0;
}

/* ---------------------------------------------------------------- COPY ---- */

/* n >= 0 with two decimals, without printf on the hot path. */
static char *put_fixed2(char *p, double v)
{
    uint64_t cents = (uint64_t)llround(v * 100.0);
    char tmp[24];
    int n = 0;
    uint64_t whole = cents / 100;
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    while (n)
        *p++ = tmp[--n];
    *p++ = '.';
    *p++ = (char)('0' + (cents / 10) % 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static void copy_line(const struct progress_record *r, const char *prefix, size_t plen,
                      struct strbuf *out)
{
    static const char *const sex_text[] = {"\\N", "f", "m", "x"};
    static const char *const prior_text[] = {"\\N", "low", "middle", "high"};
    char line[512];
    char *p = line;
    p = put_str(p, "\\\\x");
    hex_encode(r->pupil_key, PUPIL_KEY_LEN, p);
    p += 2 * PUPIL_KEY_LEN;
    *p++ = '\t';
    p = put_str(p, r->year_group);
    *p++ = '\t';
    p = put_str(p, r->subject);
    *p++ = '\t';
    if (r->code == ASSESS_CODE_NONE) {
        p = put_str(p, assessment_band_name(r->band));
        p = put_str(p, "\t\\N");
    } else {
        p = put_str(p, "\\N\t");
        p = put_str(p, assessment_code_name(r->code));
    }
    *p++ = '\t';
    p = r->has_score ? put_fixed2(p, r->score) : put_str(p, "\\N");
    *p++ = '\t';
    p = r->has_attendance ? put_fixed2(p, r->attendance_pct) : put_str(p, "\\N");
    *p++ = '\t';
    *p++ = r->disadvantaged ? 't' : 'f';
    *p++ = '\t';
    p = put_str(p, sends[r->send]);
    *p++ = '\t';
    *p++ = r->eal ? 't' : 'f';
    *p++ = '\t';
    *p++ = r->looked_after ? 't' : 'f';
    *p++ = '\t';
    p = put_str(p, sex_text[r->sex]);
    *p++ = '\t';
    p = put_str(p, prior_text[r->prior_attainment]);
    *p++ = '\n';
    if (plen)
        strbuf_append(out, prefix, plen);
    strbuf_append(out, line, (size_t)(p - line));
}

void progress_records_to_copy(const struct progress_set *s, const char *line_prefix,
                              struct strbuf *out)
{
    size_t plen = line_prefix ? strlen(line_prefix) : 0;
    for (size_t i = 0; i < s->count; i++)
        copy_line(&s->records[i], line_prefix, plen, out);
}
