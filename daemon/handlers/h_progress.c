/* Pupil progress: the termly push (JSON or CSV, all-or-nothing, COPY in one transaction,
 * idempotent), the school and trust summaries (cells from progress_cells() in SQL), and
 * the submissions history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(MATD_WITH_MIMALLOC)
#include <mimalloc.h>
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#include "ctf.h"
#include "handlers.h"
#include "http_server.h"
#include "import_profile.h"
#include "log.h"
#include "progress_counts.h"
#include "progress_parse.h"
#include "progress_summary.h"
#include "suppress.h"
#include "metrics.h"
#include "offload.h"
#include "termly.h"
#include "util.h"

static int stmt_cells, stmt_cells_all, stmt_submissions;
static void push_init(void);

/* Cells joined to the benchmark in force; one row per cell, ordered for reading. Columns 9
 * and 11 are the trust's small-cohort rule (min_cohort, complementary suppression); column
 * 10 is true for the rows of an executive head's schools summed ($4), which stand for their
 * "trust". */
/* Does the trust withhold complements (its thresholds; off when it has none)? */
#define COMPLEMENTS_SQL                                                                            \
    "(SELECT coalesce(bool_or(t.complementary_suppression), false) FROM priority_thresholds t "    \
    " WHERE t.trust_id = $1)"
#define CELLS_COLUMNS                                                                              \
    "SELECT c.urn, c.subject, coalesce(c.year_group, 'all'), c.grp, c.n, "                         \
    " round(c.k::numeric / c.n, 4), round(c.gd::numeric / c.n, 4), b.expected, "                   \
    " round(c.k::numeric / c.n - b.expected, 4), "                                                 \
    " coalesce((SELECT t.min_cohort FROM priority_thresholds t WHERE t.trust_id = $1), 6), "       \
    " c.subset, " COMPLEMENTS_SQL " "
#define CELLS_ORDER                                                                                \
    "LEFT JOIN benchmarks_for($1, $2) b ON b.subject = c.subject AND b.grp = c.grp "               \
    "ORDER BY c.urn NULLS FIRST, c.subset, c.subject, CASE c.year_group WHEN 'N' THEN -1 "         \
    " WHEN 'R' THEN 0 ELSE coalesce(c.year_group::int, 99) END, array_position(ARRAY['all', "      \
    " 'disadvantaged', 'not_disadvantaged', 'send', 'send_support', 'ehcp', 'eal', "               \
    " 'looked_after', 'girls', 'boys', 'prior_low', 'prior_middle', 'prior_high'], c.grp)"
/* A school's own cells, as it reads them: nothing withheld. */
#define CELLS_SQL                                                                                  \
    CELLS_COLUMNS "FROM (SELECT false AS subset, * FROM progress_cells($1, $2, $3, $4::text[]) "   \
                  " WHERE urn IS NOT NULL) c " CELLS_ORDER
/* Everyone else reads the cells shown ($5: the school, an executive head's schools, or NULL:
 * the trust and every school), and the subset's rows if any; where the trust withholds
 * complements, the trust's whole term, every school and year group (what decides which
 * cells are withheld, the same on every route). Under the default rule a cell is withheld
 * for its own n alone, so nothing else is read. */
#define CELLS_ALL_SQL                                                                              \
    CELLS_COLUMNS "FROM (SELECT false AS subset, * FROM progress_cells($1, $2, $3, "               \
                  " CASE WHEN " COMPLEMENTS_SQL " THEN NULL ELSE $5::text[] END) "                 \
                  " UNION ALL SELECT true, * FROM progress_cells($1, $2, $3, $4::text[]) "         \
                  " WHERE urn IS NULL AND $4::text[] IS NOT NULL) c " CELLS_ORDER

void h_progress_init(void)
{
    push_init();
    h_import_profiles_init();
    stmt_cells = db_stmt_register("progress_cells", CELLS_SQL);
    stmt_cells_all = db_stmt_register("progress_cells_all", CELLS_ALL_SQL);
    stmt_submissions = db_stmt_register(
        "submissions_list",
        "SELECT coalesce(json_agg(submission_json(t) ORDER BY t.id DESC), '[]')::text, count(*), "
        " min(t.id) FROM (SELECT * FROM submissions s WHERE s.trust_id = $1 AND s.id < $2 "
        " AND ($4::text[] IS NULL OR s.urn = ANY($4::text[])) AND ($5::text IS NULL OR s.urn = $5) "
        " AND ($6::text IS NULL OR s.kind = $6) ORDER BY s.id DESC LIMIT $3) t");
}

/* A summary as asked: everything the bytes depend on, copied so that it renders off the
 * loop. */
struct summary_state {
    char year[8], term[8], school[7];
    bool trust_view, by_school, csv;
    bool suppress;     /* small cohorts withheld: everyone but the school itself */
    char (*subset)[7]; /* an executive head's schools (their "trust"); NULL otherwise */
    size_t nsubset;
    PGresult *res; /* owned, from the job */
    char *bytes;   /* the answer */
    size_t len;
    bool failed; /* the cells did not add up to a mask (a broken invariant) */
};

static void summary_state_free(void *p)
{
    struct summary_state *st = p;
    free(st->subset);
    db_result_free(st->res);
    free(st->bytes);
    free(st);
}

static bool in_subset(const struct summary_state *st, const char *urn)
{
    for (size_t i = 0; i < st->nsubset; i++)
        if (strcmp(st->subset[i], urn) == 0)
            return true;
    return false;
}

/* The scope a row of the result is shown as (SUPPRESS_TRUST, SUPPRESS_SUBSET or its URN),
 * or NULL when this summary does not show it. */
static const char *row_scope(const struct summary_state *st, const PGresult *res, int i)
{
    const char *urn = db_val(res, i, 0);
    bool subset_row = strcmp(db_val(res, i, 10), "t") == 0;
    if (!st->trust_view)
        return !subset_row && urn && strcmp(urn, st->school) == 0 ? urn : NULL;
    if (st->subset) { /* an executive head: their schools, summed and one by one */
        if (subset_row)
            return urn ? NULL : SUPPRESS_SUBSET;
        return urn && st->by_school && in_subset(st, urn) ? urn : NULL;
    }
    if (subset_row)
        return NULL;
    return !urn ? SUPPRESS_TRUST : st->by_school ? urn : NULL;
}

/* Small cohorts (SPEC §8, docs/priorities.md): withheld cells show n as "<min_cohort" and
 * no figures, primary and secondary alike, so that a reader cannot tell them apart. */
static bool withheld(const struct summary_state *st, const struct suppress_mask *mask,
                     const PGresult *res, int i, const char *scope)
{
    if (!st->suppress)
        return false;
    if (atol(db_val(res, i, 4)) < atol(db_val(res, i, 9)))
        return true;
    return suppress_withheld(mask, scope, db_val(res, i, 1), db_val(res, i, 2), db_val(res, i, 3));
}

static void csv_field(struct strbuf *sb, const char *v)
{
    strbuf_puts(sb, v ? v : "");
}

static void render_csv(const struct summary_state *st, const struct suppress_mask *mask,
                       struct strbuf *sb)
{
    static const char *const cols[] = {"school",     "subject",         "year_group", "group", "n",
                                       "p_expected", "p_greater_depth", "benchmark",  "gap"};
    const PGresult *res = st->res;
    for (size_t c = 0; c < ARRAY_LEN(cols); c++)
        strbuf_printf(sb, "%s%s", c ? "," : "", cols[c]);
    strbuf_puts(sb, "\r\n");
    for (int i = 0; i < db_nrows(res); i++) {
        const char *scope = row_scope(st, res, i);
        if (!scope)
            continue;
        bool hide = withheld(st, mask, res, i, scope);
        for (int c = 0; c < 9; c++) {
            if (c)
                strbuf_puts(sb, ",");
            const char *v = db_val(res, i, c);
            if (hide && c == 4)
                strbuf_printf(sb, "<%s", db_val(res, i, 9));
            else
                csv_field(sb, c == 0 && !v ? "trust" : hide && c != 7 && c > 4 ? "" : v);
        }
        strbuf_puts(sb, "\r\n");
    }
}

static void render_json(const struct summary_state *st, const struct suppress_mask *mask,
                        struct strbuf *sb)
{
    const PGresult *res = st->res;
    strbuf_printf(sb, "{\"year\":\"%s\",\"term\":\"%s\",", st->year, st->term);
    if (!st->trust_view)
        strbuf_printf(sb, "\"school\":\"%s\",", st->school);
    strbuf_puts(sb, "\"cells\":[");
    bool first = true;
    for (int i = 0; i < db_nrows(res); i++) {
        const char *scope = row_scope(st, res, i);
        if (!scope)
            continue;
        const char *urn = db_val(res, i, 0);
        strbuf_printf(sb, "%s{", first ? "" : ",");
        first = false;
        if (st->trust_view) {
            if (urn)
                strbuf_printf(sb, "\"school\":\"%s\",", urn);
            else
                strbuf_puts(sb, "\"school\":null,");
        }
        bool hide = withheld(st, mask, res, i, scope);
        strbuf_printf(sb, "\"subject\":\"%s\",\"year_group\":\"%s\",\"group\":\"%s\",",
                      db_val(res, i, 1), db_val(res, i, 2), db_val(res, i, 3));
        if (hide)
            strbuf_printf(sb, "\"n\":\"<%s\",\"p_expected\":null,\"p_greater_depth\":null,",
                          db_val(res, i, 9));
        else
            strbuf_printf(sb, "\"n\":%s,\"p_expected\":%s,\"p_greater_depth\":%s,",
                          db_val(res, i, 4), db_val(res, i, 5), db_val(res, i, 6));
        strbuf_printf(sb, "\"benchmark\":%s,\"gap\":%s}",
                      db_val(res, i, 7) ? db_val(res, i, 7) : "null",
                      !hide && db_val(res, i, 8) ? db_val(res, i, 8) : "null");
    }
    strbuf_puts(sb, "]}");
}

/* The mask of the term's cells (every school and year group, the trust's row; not the
 * subset's rows, which it sums itself) under the trust's rule, as the priorities compute it
 * for the same term. */
static struct suppress_mask *summary_mask(const struct summary_state *st,
                                          const struct suppress_rule *rule)
{
    const PGresult *res = st->res;
    int rows = db_nrows(res);
    struct suppress_cell *cells = xcalloc((size_t)rows + 1, sizeof *cells);
    size_t n = 0;
    for (int i = 0; i < rows; i++) {
        if (strcmp(db_val(res, i, 10), "t") == 0)
            continue;
        cells[n++] = (struct suppress_cell){.scope = db_val(res, i, 0),
                                            .subject = db_val(res, i, 1),
                                            .year_group = db_val(res, i, 2),
                                            .group = db_val(res, i, 3),
                                            .n = atol(db_val(res, i, 4))};
    }
    const char **subset = st->subset ? xcalloc(st->nsubset + 1, sizeof *subset) : NULL;
    for (size_t i = 0; subset && i < st->nsubset; i++)
        subset[i] = st->subset[i];
    struct suppress_mask *mask = suppress_compute(cells, n, rule, subset, st->nsubset, NULL);
    free(subset);
    free(cells);
    return mask;
}

/* Off the loop: the mask (for everyone but the school itself) and the bytes. */
static void summary_render(void *p)
{
    struct summary_state *st = p;
    struct suppress_mask *mask = NULL;
    const PGresult *res = st->res;
    struct suppress_rule rule = {.min_cohort = 6};
    if (db_nrows(res) > 0) {
        rule.min_cohort = atoi(db_val(res, 0, 9));
        rule.complements = strcmp(db_val(res, 0, 11), "t") == 0;
    }
    /* under the default rule withheld() decides by a cell's own n: no mask to make */
    if (st->suppress && rule.complements && !(mask = summary_mask(st, &rule))) {
        st->failed = true;
        return;
    }
    struct strbuf sb;
    strbuf_init(&sb);
    if (st->csv)
        render_csv(st, mask, &sb);
    else
        render_json(st, mask, &sb);
    suppress_free(mask);
    st->bytes = strbuf_detach(&sb, &st->len);
}

static void summary_rendered(struct req *r, void *p)
{
    struct summary_state *st = p;
    if (st->failed) {
        log_error("msg=\"progress cells rejected by the small-cohort mask\" request_id=%s", r->id);
        req_reply_problem(r, 500, "the stored cells could not be summarised; see the server log",
                          NULL);
    } else
        req_reply_bytes(r, 200,
                        st->csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
                        st->bytes, st->len);
    summary_state_free(st);
}

static void on_cells(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct summary_state *st = r->hstate;
    r->hstate = NULL; /* the offloaded work owns it now */
    r->hstate_free = NULL;
    st->res = db_job_take_result(job, 0);
    req_offload(r, summary_render, summary_rendered, summary_state_free, st);
}

static void submit_cells(struct req *r, struct summary_state *st)
{
    r->hstate = st;
    r->hstate_free = summary_state_free;
    st->csv = req_wants_csv(r);
    const struct principal *p = &r->principal;
    if (st->suppress && !auth_trust_wide(p)) { /* an executive head */
        st->nsubset = (size_t)p->nurns;
        st->subset = xcalloc(st->nsubset + 1, sizeof *st->subset);
        memcpy(st->subset, p->urns, st->nsubset * sizeof *st->subset);
    }
    char one[16];
    snprintf(one, sizeof one, "{%s}", st->school);
    /* $4: the school itself; else the executive head's schools, for their summed rows */
    const char *urns = !st->suppress ? one : st->trust_view ? req_scope_urns(r) : NULL;
    /* $5: the schools whose cells are shown (the default rule reads no others) */
    const char *shown = st->trust_view ? urns : one;
    const char *params[5] = {req_trust_str(r), st->year, st->term, urns, shown};
    if (st->suppress)
        req_submit_one(r, stmt_cells_all, 5, params, on_cells);
    else
        req_submit_one(r, stmt_cells, 4, params, on_cells);
}

void h_progress_school_summary(struct req *r)
{
    const char *year = req_param(r, "year"), *term = req_param(r, "term");
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return;
    struct summary_state *st = xcalloc(1, sizeof *st);
    snprintf(st->year, sizeof st->year, "%s", year);
    snprintf(st->term, sizeof st->term, "%s", term);
    snprintf(st->school, sizeof st->school, "%s", req_param(r, "urn"));
    const struct principal *p = &r->principal;
    st->suppress =
        !(p->role == ROLE_SCHOOL && p->nurns == 1 && strcmp(p->urns[0], st->school) == 0);
    submit_cells(r, st);
}

void h_progress_trust_summary(struct req *r)
{
    const char *year = req_query(r, "year"), *term = req_query(r, "term");
    const char *by = req_query(r, "by");
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return;
    if (by && strcmp(by, "school") != 0) {
        req_reply_field_error(r, 422, "by", "by must be \"school\" (or left out)");
        return;
    }
    struct summary_state *st = xcalloc(1, sizeof *st);
    snprintf(st->year, sizeof st->year, "%s", year);
    snprintf(st->term, sizeof st->term, "%s", term);
    st->trust_view = true;
    st->by_school = by != NULL;
    st->suppress = true; /* never the school itself */
    submit_cells(r, st);
}

void h_submissions_list(struct req *r)
{
    struct req_page pg;
    if (!req_page_open(r, "9223372036854775807", true, &pg))
        return;
    const char *school = req_query(r, "school"), *kind = req_query(r, "kind");
    if (!req_school_filter_ok(r, school))
        return;
    if (kind && strcmp(kind, "progress") != 0 && strcmp(kind, "sef") != 0 &&
        strcmp(kind, "sip") != 0) {
        req_reply_field_error(r, 422, "kind", "kind must be progress, sef or sip");
        return;
    }
    const char *scope = req_scope_urns(r);
    const char *params[6] = {req_trust_str(r), pg.after, pg.limit_text, scope, school, kind};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_submissions, 6, params);
    req_submit(r, job, req_on_page);
}

/* ---- the push ---- */

static int stmt_push_latest, stmt_push_delete, stmt_push_refresh, stmt_push_submission,
    stmt_push_rejected, stmt_push_previous, stmt_push_profile;

#define PUSH_COPY_SQL                                                                              \
    "COPY progress (trust_id, urn, year, term, pupil_key, year_group, subject, band, code, "       \
    "score, attendance_pct, disadvantaged, send, eal, looked_after, sex, prior_attainment) "       \
    "FROM STDIN"

static char push_counts_copy_sql[512];

static void push_init(void)
{
    snprintf(push_counts_copy_sql, sizeof push_counts_copy_sql,
             "COPY progress_counts (trust_id, urn, year, term, %s) FROM STDIN",
             progress_counts_copy_columns);
    stmt_push_latest = db_stmt_register(
        "push_latest", "SELECT submission_json(s)::text, s.body_sha256 FROM submissions s "
                       "WHERE s.trust_id = $1 AND s.urn = $2 AND s.kind = 'progress' AND "
                       "s.year = $3 AND s.term = $4 AND s.outcome = 'accepted' "
                       "ORDER BY s.id DESC LIMIT 1");
    stmt_push_delete = db_stmt_register(
        "push_delete", "WITH counts AS (DELETE FROM progress_counts WHERE trust_id = $1 AND "
                       "year = $3 AND term = $4 AND urn = $2) DELETE FROM progress WHERE "
                       "trust_id = $1 AND year = $3 AND term = $4 AND urn = $2");
    /* The school's stuck pupils, once, after the COPYs (sql/015, sql/016): the push's
     * statements leave them to it, and its counts come from the parse. */
    stmt_push_refresh =
        db_stmt_register("push_refresh", "SELECT progress_stuck_refresh($1, $2, $3, $4)");
    stmt_push_submission = db_stmt_register(
        "push_submission",
        "INSERT INTO submissions AS s (trust_id, urn, kind, year, term, principal_id, "
        " body_sha256, row_count, outcome, content_type) VALUES ($1, $2, 'progress', $3, $4, $5, "
        " $6, (SELECT count(*) FROM progress p WHERE p.trust_id = $1 AND p.urn = $2 AND "
        " p.year = $3 AND p.term = $4), 'accepted', $7) RETURNING submission_json(s)::text, "
        " s.row_count");
    stmt_push_rejected = db_stmt_register(
        "push_rejected",
        "INSERT INTO submissions (trust_id, urn, kind, year, term, principal_id, body_sha256, "
        " row_count, outcome, content_type) SELECT $1, $2, 'progress', $3, $4, $5, $6, $7, "
        " 'rejected', $8 WHERE EXISTS (SELECT 1 FROM schools WHERE trust_id = $1 AND urn = $2)");
    stmt_push_profile = db_stmt_register(
        "push_profile", "SELECT body::text FROM import_profiles WHERE trust_id = $1 AND name = $2");
    /* A dry run's one read: does the school exist, and what did the previous term hold. */
    stmt_push_previous = db_stmt_register(
        "push_previous",
        "SELECT EXISTS (SELECT 1 FROM schools WHERE trust_id = $1 AND urn = $2), "
        " count(DISTINCT p.pupil_key), coalesce(string_agg(DISTINCT p.subject, ',' "
        " ORDER BY p.subject), '') FROM progress p WHERE p.trust_id = $1 AND p.urn = $2 "
        " AND p.year = $3 AND p.term = $4");
}

struct push_state {
    char trust[24], principal[24], sha[65], rows[24];
    /* A real push loads while it parses: the COPY is fed by the parse (feed, borrowed from
     * the load job, which holds a reference while it runs); the reply waits for both. The
     * parse ends by feeding the school's progress_counts rows (counts) to a second COPY. */
    struct db_copy_feed *feed, *counts;
    bool parsed;       /* the parse succeeded and its answer came back */
    bool load_started; /* the load job was submitted (else it waits for the parse) */
    char *submitted;   /* the load succeeded: the submission document, until parsed */
    long long stored;
    size_t nrecords;
    bool dry_run;     /* ?dry_run=true: validate and answer, write nothing */
    bool allow_empty; /* ?allow_empty=true: a push without records empties the term */
    struct progress_summary summary; /* what is (dry run: would be) stored, for the warnings */
    char prev_year[8], prev_term[8];
    int prev_cmd;        /* a real push: its load job's command reading the previous term */
    char *prev_subjects; /* ... and what it held: subjects (comma-separated), pupils */
    size_t prev_pupils;
    struct import_profile *profile; /* ?profile=NAME, until the parse takes it */
};

static void push_state_free(void *p)
{
    struct push_state *st = p;
    free(st->submitted);
    free(st->prev_subjects);
    progress_summary_free(&st->summary);
    import_profile_free(st->profile);
    free(st);
}

static const char *content_type_of(const struct req *r)
{
    return r->body_csv ? "text/csv" : r->body_xml ? "application/xml" : "application/json";
}

/* The previous term's facts for the warnings: subjects split from list (modified in place
 * into subjects, at most 64). */
static struct progress_previous previous_of(const struct push_state *st, char *list, size_t pupils,
                                            const char *subjects[64])
{
    size_t nsubjects = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && nsubjects < 64;
         t = strtok_r(NULL, ",", &save))
        subjects[nsubjects++] = t;
    return (struct progress_previous){.year = st->prev_year,
                                      .term = st->prev_term,
                                      .pupils = pupils,
                                      .subjects = subjects,
                                      .nsubjects = nsubjects};
}

/* A stored push answers its submission and the warnings a dry run would have given (a subject
 * the previous term had and this push lacks, a cohort that shrank, a pupil in two year groups):
 * the push is kept, but whoever sent it sees what looks wrong. */
static void reply_pushed(struct req *r)
{
    struct push_state *st = r->hstate;
    metrics_add(METRIC_ROWS_INGESTED, (unsigned long long)st->stored);
    metrics_add(METRIC_PUSHES, 1);
    const char *subjects[64]; /* prev_subjects: set by on_pushed, which answers no sooner */
    struct progress_previous prev = previous_of(st, st->prev_subjects, st->prev_pupils, subjects);
    json_t *warnings = progress_summary_warnings(&st->summary, &prev, r->body_csv);
    char *text = json_dumps(warnings, JSON_COMPACT);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "{\"submission\":%s,\"unchanged\":false,\"warnings\":%s}", st->submitted,
                  text);
    req_reply_bytes(r, 201, "application/json; charset=utf-8", sb.data, sb.len);
    strbuf_free(&sb);
    free(text);
    json_decref(warnings);
}

/* The load ended. A COPY the parse refused is answered by the parse (push_parsed, with the
 * errors); a success waits for the parse's own answer if it has not come back yet. */
static void on_pushed(struct req *r, struct db_job *job)
{
    struct push_state *st = r->hstate;
    if (db_job_status(job) == DB_ERROR && db_copy_feed_aborted(st->feed))
        return;
    if (db_job_status(job) == DB_ERROR && strcmp(db_job_sqlstate(job), "23503") == 0) {
        req_reply_problem(r, 404, "no such school in this trust", NULL);
        return;
    }
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, db_job_ncmds(job) - 2);
    st->submitted = xstrdup(db_val(res, 0, 0));
    st->stored = atoll(db_val(res, 0, 1));
    PGresult *prev = db_job_result(job, st->prev_cmd);
    st->prev_pupils = (size_t)strtoull(db_val(prev, 0, 1), NULL, 10);
    st->prev_subjects = xstrdup(db_val(prev, 0, 2));
    if (st->parsed)
        reply_pushed(r);
}

static void start_parse(struct req *r, struct db_copy_feed *feed, struct db_copy_feed *counts);
static void start_push(struct req *r);

static void on_previous(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct push_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    if (strcmp(db_val(res, 0, 0), "t") != 0) {
        req_reply_problem(r, 404, "no such school in this trust", NULL);
        return;
    }
    char *list = xstrdup(db_val(res, 0, 2));
    const char *subjects[64];
    struct progress_previous prev =
        previous_of(st, list, (size_t)strtoull(db_val(res, 0, 1), NULL, 10), subjects);
    json_t *doc = progress_summary_json(&st->summary, &prev, r->body_csv);
    free(list);
    req_reply_json(r, 200, doc);
}

/* The previous term of (year, term): summer of the year before autumn, else the term
 * before in the same year. */
static void previous_term(const char *year, const char *term, char y[8], char t[8])
{
    int i = term_index(term);
    if (i == 0) {
        academic_year_previous(year, y);
        snprintf(t, 8, "summer");
    } else {
        snprintf(y, 8, "%s", year);
        snprintf(t, 8, "%s", i == 1 ? "autumn" : "spring");
    }
}

static void start_dry_answer(struct req *r)
{
    struct push_state *st = r->hstate;
    previous_term(req_param(r, "year"), req_param(r, "term"), st->prev_year, st->prev_term);
    const char *params[4] = {st->trust, req_param(r, "urn"), st->prev_year, st->prev_term};
    req_submit_one(r, stmt_push_previous, 4, params, on_previous);
}

static void on_latest(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct push_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    if (db_nrows(res) == 1 && strcmp(db_val(res, 0, 1), st->sha) == 0) {
        /* Identical re-push: a no-op answering the original submission. */
        struct strbuf sb;
        strbuf_init(&sb);
        strbuf_printf(&sb, "{\"submission\":%s,\"unchanged\":true}", db_val(res, 0, 0));
        req_reply_bytes(r, 200, "application/json; charset=utf-8", sb.data, sb.len);
        strbuf_free(&sb);
        return;
    }
    start_push(r);
}

/* One transaction (an advisory lock per school and term): the term's rows deleted, the new
 * ones copied from the feed the parse fills, the submission recorded. */
static bool submit_load(struct req *r)
{
    struct push_state *st = r->hstate;
    const char *urn = req_param(r, "urn"), *year = req_param(r, "year");
    const char *term = req_param(r, "term");
    char lock[96];
    snprintf(lock, sizeof lock, "progress:%s:%s:%s:%s", st->trust, urn, year, term);
    const char *key[4] = {st->trust, urn, year, term};
    const char *sub[7] = {st->trust, urn, year, term, st->principal, st->sha, content_type_of(r)};
    struct db_job *push = req_locked_job(lock);
    previous_term(year, term, st->prev_year, st->prev_term); /* for the answer's warnings */
    const char *prev[4] = {st->trust, urn, st->prev_year, st->prev_term};
    st->prev_cmd = db_job_ncmds(push);
    db_job_add(push, stmt_push_previous, 4, prev);
    db_job_add_sql(push, "SET LOCAL matd.aggregates = 'deferred'");
    db_job_add(push, stmt_push_delete, 4, key);
    db_job_add_copy_feed(push, PUSH_COPY_SQL, st->feed);
    db_job_add_copy_feed(push, push_counts_copy_sql, st->counts);
    db_job_add(push, stmt_push_refresh, 4, key);
    db_job_add(push, stmt_push_submission, 7, sub);
    st->load_started = true;
    return req_submit_locked(r, push, on_pushed) == 0; /* else answered 503 */
}

/* With a free offload thread the load starts with the parse, so the COPY runs while later
 * records are read; when pushes queue for the pool, the load waits for its parse (a
 * connection is not held idle in a transaction meanwhile). A refused record aborts the
 * COPY and nothing is written. */
static void start_push(struct req *r)
{
    struct push_state *st = r->hstate;
    /* borrowed: the load job holds references while it runs */
    st->feed = db_copy_feed_new();
    st->counts = db_copy_feed_new();
    if (offload_idle(OFFLOAD_BULK) && !submit_load(r)) {
        db_copy_feed_release(st->feed);
        db_copy_feed_release(st->counts);
        return;
    }
    start_parse(r, st->feed, st->counts); /* the parse takes the creator's references */
}

/* The CPU part of a push, run on the offload pool: parse and validate every row (JSON or
 * CSV), pseudonymise pupil references, and render COPY text. Owns its inputs so that it
 * never touches the request. */
struct push_work {
    char *body;
    size_t body_len;
    bool csv, xml;
    char year[8]; /* a CTF keeps the results of this academic year */
    struct progress_parse_opts opts;
    char prefix[64];
    enum progress_result result;
    struct mat_errors errs;
    struct db_copy_feed *feed;   /* a real push: the COPY its records go to (owned reference) */
    struct db_copy_feed *counts; /* and the COPY of its progress_counts rows (the same) */
    size_t nrecords;
    bool dry_run;
    struct progress_summary summary; /* dry run */
    struct import_profile *profile;  /* owned */
};

static void push_work_free(void *p)
{
    struct push_work *w = p;
    free(w->body);
    for (int i = 0; i < 2; i++) {
        struct db_copy_feed *f = i ? w->counts : w->feed;
        if (f) {
            db_copy_feed_end(f, false); /* not parsed to a good end: nothing is kept */
            db_copy_feed_release(f);
        }
    }
    mat_errors_free(&w->errs);
    progress_summary_free(&w->summary);
    import_profile_free(w->profile);
    free(w);
}

static void push_flush_to(struct db_copy_feed *f, struct strbuf *copy)
{
    size_t len;
    char *data = strbuf_detach(copy, &len);
    db_copy_feed_put(f, data, len);
}

/* A full chunk of COPY text goes to the load while the parse reads on. */
static void push_flush(void *arg, struct strbuf *copy)
{
    struct push_work *w = arg;
    push_flush_to(w->feed, copy);
}

static void push_parse(void *p)
{
    struct push_work *w = p;
    struct progress_set set = {0};
    struct strbuf copy;
    strbuf_init(&copy);
    if (w->feed) {
        w->opts.copy = &copy;
        w->opts.copy_prefix = w->prefix;
        w->opts.copy_flush = push_flush;
        w->opts.copy_arg = w;
    }
    if (w->xml)
        w->result = progress_parse_ctf(w->body, w->body_len, &w->opts, w->year, &set, &w->errs);
    else if (w->csv)
        w->result = progress_parse_csv(w->body, w->body_len, &w->opts, &set, &w->errs);
    else
        w->result = progress_parse_json(w->body, w->body_len, &w->opts, &set, &w->errs);
    w->nrecords = set.count;
    if (w->result == PROGRESS_OK) /* a dry run's answer, a push's warnings */
        progress_summary_compute(&set, &w->summary);
    if (w->feed) {
        if (w->result == PROGRESS_OK && copy.len)
            push_flush(w, &copy);
        db_copy_feed_end(w->feed, w->result == PROGRESS_OK);
        if (w->result == PROGRESS_OK) {
            progress_counts_to_copy(&set, w->prefix, &copy);
            if (copy.len)
                push_flush_to(w->counts, &copy);
        }
        db_copy_feed_end(w->counts, w->result == PROGRESS_OK);
    }
    strbuf_free(&copy);
    progress_set_free(&set);
    free(w->body); /* parsed: the raw references go no further */
    w->body = NULL;
    /* Hand the body's and the records' pages back now: this thread's heap (arena) would
     * otherwise keep them, and a push's peak RSS would sit on top of the last one's leftovers. */
#if defined(MATD_WITH_MIMALLOC)
    mi_collect(true);
#elif defined(__GLIBC__)
    malloc_trim(0);
#endif
}

static void push_parsed(struct req *r, void *p);
static void after_profile(struct req *r);
static void on_profile(struct req *r, struct db_job *job);

/* The push's identity for idempotency: SHA-256 of (profile text, newline,) body. A 30 MB
 * body takes tens of milliseconds to hash, so it is hashed on the offload pool; the body
 * travels with the work and comes back, so a request that ends meanwhile frees it. */
struct hash_work {
    char *body, *prefix;
    size_t body_len;
    char sha[65];
};

static void hash_run(void *p)
{
    struct hash_work *w = p;
    size_t plen = w->prefix ? strlen(w->prefix) : 0;
    if (plen)
        sha256_hex2(w->prefix, plen, w->body, w->body_len, w->sha);
    else
        sha256_hex(w->body, w->body_len, w->sha);
}

static void hash_work_free(void *p)
{
    struct hash_work *w = p;
    free(w->body);
    free(w->prefix);
    free(w);
}

static void hash_done(struct req *r, void *p)
{
    struct hash_work *w = p;
    struct push_state *st = r->hstate;
    r->body = w->body;
    w->body = NULL;
    memcpy(st->sha, w->sha, sizeof w->sha);
    hash_work_free(w);
    after_profile(r);
}

static void hash_then_continue(struct req *r, const char *profile_text)
{
    struct hash_work *w = xcalloc(1, sizeof *w);
    w->body = r->body;
    w->body_len = r->body_len;
    r->body = NULL;
    if (profile_text)
        w->prefix = xasprintf("%s\n", profile_text);
    req_offload_bulk(r, hash_run, hash_done, hash_work_free, w);
}

void h_progress_put(struct req *r)
{
    const char *year = req_param(r, "year");
    const char *term = req_param(r, "term");
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return;
    const char *dry = req_query(r, "dry_run");
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        req_reply_field_error(r, 422, "dry_run", "dry_run must be true or false");
        return;
    }
    const char *empty = req_query(r, "allow_empty");
    if (empty && strcmp(empty, "true") != 0 && strcmp(empty, "false") != 0) {
        req_reply_field_error(r, 422, "allow_empty", "allow_empty must be true or false");
        return;
    }
    struct push_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    st->allow_empty = empty && strcmp(empty, "true") == 0;
    r->hstate_free = push_state_free;
    st->dry_run = dry && strcmp(dry, "true") == 0;
    r->writes_nothing = st->dry_run;
    snprintf(st->trust, sizeof st->trust, "%lld", req_trust(r));
    snprintf(st->principal, sizeof st->principal, "%lld", r->principal.token_id);
    const char *profile = req_query(r, "profile");
    if (profile) {
        if (!h_import_profile_name_ok(profile)) {
            req_reply_field_error(r, 422, "profile", "profile must be an import profile's name");
            return;
        }
        if (!r->body_csv) { /* JSON is matd's own; a CTF follows the DfE's schema */
            req_reply_field_error(r, 422, "profile",
                                  "an import profile reads CSV: send the file as text/csv");
            return;
        }
        const char *params[2] = {st->trust, profile};
        req_submit_one(r, stmt_push_profile, 2, params, on_profile);
        return;
    }
    hash_then_continue(r, NULL);
}

/* With the profile (if any) in hand: a dry run parses at once; a push first checks for an
 * identical earlier push (no idempotency check for a dry run: it answers every time). */
static void after_profile(struct req *r)
{
    struct push_state *st = r->hstate;
    if (st->dry_run) {
        start_parse(r, NULL, NULL);
        return;
    }
    const char *params[4] = {st->trust, req_param(r, "urn"), req_param(r, "year"),
                             req_param(r, "term")};
    req_submit_one(r, stmt_push_latest, 4, params, on_latest);
}

static void on_profile(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct push_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    const char *name = req_query(r, "profile");
    if (db_nrows(res) == 0) {
        req_reply_field_error(r, 422, "profile", "there is no import profile named \"%s\"", name);
        return;
    }
    const char *text = db_val(res, 0, 0);
    json_t *doc = json_loads(text, 0, NULL);
    struct mat_errors errs;
    mat_errors_init(&errs);
    if (!doc || import_profile_parse(doc, &st->profile, &errs) != 0) {
        /* Stored profiles were checked on PUT; a rule tightened since makes them stale. */
        req_reply_problem(r, 422, "the import profile no longer passes its checks; PUT it again",
                          &errs);
        mat_errors_free(&errs);
        json_decref(doc);
        return;
    }
    mat_errors_free(&errs);
    json_decref(doc);
    /* The same bytes read through another profile are another push. */
    hash_then_continue(r, text);
}

static void start_parse(struct req *r, struct db_copy_feed *feed, struct db_copy_feed *counts)
{
    struct push_state *st = r->hstate;
    struct server *s = r->w->server;
    struct push_work *w = xcalloc(1, sizeof *w);
    w->body = r->body;
    w->body_len = r->body_len;
    r->body = NULL;
    w->csv = r->body_csv;
    w->xml = r->body_xml;
    snprintf(w->year, sizeof w->year, "%s", req_param(r, "year"));
    w->dry_run = st->dry_run;
    w->feed = feed;
    w->counts = counts;
    w->profile = st->profile;
    st->profile = NULL;
    w->opts.profile = w->profile;
    w->opts.secret = s->secret;
    w->opts.secret_len = s->secret_len;
    w->opts.max_records = (size_t)server_limits(s)->max_records_per_push;
    w->opts.allow_empty = st->allow_empty;
    w->opts.registry = s->schemas;
    w->opts.subjects = (const char *const *)s->cfg.subject_list;
    w->opts.nsubjects = s->cfg.nsubjects;
    mat_errors_init(&w->errs);
    snprintf(w->prefix, sizeof w->prefix, "%s\t%s\t%s\t%s\t", st->trust, req_param(r, "urn"),
             req_param(r, "year"), req_param(r, "term"));
    req_offload_bulk(r, push_parse, push_parsed, push_work_free, w);
}

static void push_parsed(struct req *r, void *p)
{
    struct push_work *w = p;
    struct push_state *st = r->hstate;
    const char *urn = req_param(r, "urn"), *year = req_param(r, "year");
    const char *term = req_param(r, "term");
    st->nrecords = w->nrecords;
    snprintf(st->rows, sizeof st->rows, "%zu", w->nrecords);
    if (w->result != PROGRESS_OK && st->dry_run) {
        bool malformed = w->result == PROGRESS_MALFORMED;
        req_reply_problem(r, malformed ? 400 : 422,
                          malformed ? "the body cannot be read (dry run: nothing was stored)"
                                    : "the push would be rejected (dry run: nothing was stored)",
                          &w->errs);
        push_work_free(w);
        return;
    }
    if (st->dry_run) {
        st->summary = w->summary;
        memset(&w->summary, 0, sizeof w->summary);
        push_work_free(w);
        start_dry_answer(r);
        return;
    }
    if (w->result != PROGRESS_OK) { /* the load is aborting: nothing is written */
        /* The parse aborted the feed: the load's COPY fails on it and its transaction rolls
         * back, so the load ends by itself, with no cancel (which would cost its connection,
         * see db_job_cancel). */
        req_abandon_job(r);
        const char *rej[8] = {st->trust,     urn,     year,     term,
                              st->principal, st->sha, st->rows, content_type_of(r)};
        struct db_job *record = db_job_new(NULL, NULL);
        db_job_add(record, stmt_push_rejected, 8, rej);
        req_submit_detached(r->w, record);
        bool malformed = w->result == PROGRESS_MALFORMED;
        req_reply_problem(r, malformed ? 400 : 422,
                          malformed ? "the body cannot be read; nothing was stored"
                                    : "the push was rejected; nothing was stored",
                          &w->errs);
        push_work_free(w);
        return;
    }
    st->parsed = true;
    st->summary = w->summary;
    memset(&w->summary, 0, sizeof w->summary);
    if (!st->load_started) { /* the feed is complete; the work's reference goes with it */
        submit_load(r);      /* false: it answered 503 */
        push_work_free(w);
        return;
    }
    push_work_free(w);
    if (st->submitted)
        reply_pushed(r); /* the load finished first */
}
