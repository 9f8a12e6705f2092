/* Reading the priorities inputs: SQL and result conversion. */
#include "priorities_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termly.h"
#include "util.h"

/* The year groups' rows only where the trust withholds complements (read once, as an
 * InitPlan). */
#define PRIO_YEAR_GROUPS_IF                                                                        \
    "WHERE year_group IS NULL OR (SELECT coalesce(bool_or(complementary_suppression), false) "     \
    "FROM priority_thresholds WHERE trust_id = $1)"

const struct priorities_query_def priorities_queries[PQ_COUNT] = {
    [PQ_META] = {"prio_meta",
                 "SELECT coalesce((SELECT version FROM trust_data_versions WHERE trust_id = $1), "
                 " 0), coalesce(t.min_cohort, 6), coalesce(t.z_crit, 1.96), "
                 " coalesce(t.gap_points, 10), coalesce(t.trend_points, 10), "
                 " coalesce(t.complementary_suppression, false) "
                 "FROM (SELECT 1) one LEFT JOIN priority_thresholds t ON t.trust_id = $1"},
    [PQ_SCHOOLS] = {"prio_schools",
                    "SELECT urn, name, phase, lat, lon FROM schools WHERE trust_id = $1 "
                    "AND (left_on IS NULL OR left_on > current_date) ORDER BY urn"},
    /* The subjects' cells over all year groups, which the priorities read; and, when the
     * trust withholds complements, the year groups' too, which its mask needs (suppress.h:
     * a subject's cell can be withheld for its year groups' sake). Under the default rule a
     * cell is withheld for its own n alone, so the year groups are not read (at 2,000
     * schools they are seven rows in eight). */
    [PQ_CELLS] = {"prio_cells", "SELECT coalesce(urn, ''), subject, grp, n, k, gd, year_group "
                                "FROM progress_cells($1, $2, $3, NULL) " PRIO_YEAR_GROUPS_IF},
    [PQ_PREV] = {"prio_cells", NULL}, /* the same statement for last year */
    [PQ_BENCH] = {"prio_bench",
                  "SELECT subject, grp, expected::float8 FROM benchmarks_for($1, $2)"},
    /* Each school's latest SEF up to this year. */
    [PQ_SEF] = {"prio_sef",
                "SELECT s.urn, a.key, sef_ordinal(a.value->>'grade'), a.value->>'grade', "
                " s.framework FROM (SELECT DISTINCT ON (urn) urn, framework, body "
                " FROM sef_versions WHERE trust_id = $1 AND year <= $2 "
                " ORDER BY urn, year DESC, version DESC) s, jsonb_each(s.body->'areas') a "
                "WHERE sef_ordinal(a.value->>'grade') IS NOT NULL"},
    [PQ_THEMES] = {"prio_themes",
                   "SELECT s.urn, t.theme FROM (SELECT DISTINCT ON (urn) urn, body "
                   " FROM sip_versions WHERE trust_id = $1 AND year = $2 "
                   " ORDER BY urn, version DESC) s, jsonb_array_elements(s.body->'priorities') p, "
                   " jsonb_array_elements_text(coalesce(p->'themes', '[]')) t(theme)"},
    /* Below expected in the same subject this term and the two terms before: kept by the
     * writers' transactions in progress_stuck (sql/010). */
    [PQ_STUCK] = {"prio_stuck", "SELECT urn, subject, encode(pupil_key, 'hex') FROM progress_stuck "
                                "WHERE trust_id = $1 AND year = $2 AND term = $3"},
    /* Every (subject, year) up to this year whose benchmark table in force has both the
     * disadvantaged and the other pupils' figure: the national gap references. */
    [PQ_GAPREFS] = {"prio_gap_refs",
                    "SELECT b.subject, y.year, "
                    " max(b.expected) FILTER (WHERE b.grp = 'disadvantaged')::float8, "
                    " max(b.expected) FILTER (WHERE b.grp = 'not_disadvantaged')::float8 "
                    "FROM (SELECT year FROM national_benchmarks WHERE year <= $2 UNION "
                    " SELECT year FROM benchmark_years WHERE trust_id = $1 AND year <= $2) y, "
                    " LATERAL benchmarks_for($1, y.year) b "
                    "WHERE b.grp IN ('disadvantaged', 'not_disadvantaged') "
                    "GROUP BY b.subject, y.year "
                    "HAVING count(DISTINCT b.grp) = 2 ORDER BY b.subject, y.year"},
};

/* The same inputs computed from the pupil rows instead of the aggregates the writers keep:
 * what `matctl priorities --from-rows` reads, so that tests can show both give the same
 * list, byte for byte. NULL: the statement of priorities_queries. */
const struct priorities_query_def priorities_queries_from_rows[PQ_COUNT] = {
    [PQ_CELLS] =
        {"prio_cells_rows",
         "SELECT coalesce(urn, ''), subject, grp, n, k, gd, "
         "year_group FROM progress_cells_from_rows($1, $2, $3, NULL) " PRIO_YEAR_GROUPS_IF},
    [PQ_STUCK] = {"prio_stuck_rows", "SELECT urn, subject, encode(pupil_key, 'hex') "
                                     "FROM progress_stuck_from_rows($1, $2, $3, NULL)"},
};

const char *priorities_query_sql(enum priorities_query q, bool from_rows)
{
    enum priorities_query stmt = q == PQ_PREV ? PQ_CELLS : q;
    if (from_rows && priorities_queries_from_rows[stmt].sql)
        return priorities_queries_from_rows[stmt].sql;
    return priorities_queries[stmt].sql;
}

int priorities_query_params(enum priorities_query q, const char *trust, const char *year,
                            const char *term, struct priorities_params_storage *st,
                            const char *params[7])
{
    snprintf(st->trust, sizeof st->trust, "%s", trust);
    if (!academic_year_previous(year, st->prev_year))
        st->prev_year[0] = '\0';
    params[0] = st->trust;
    switch (q) {
    case PQ_META:
    case PQ_SCHOOLS:
        return 1;
    case PQ_CELLS:
        params[1] = year;
        params[2] = term;
        return 3;
    case PQ_PREV:
        params[1] = st->prev_year;
        params[2] = term;
        return 3;
    case PQ_BENCH:
    case PQ_GAPREFS:
    case PQ_SEF:
    case PQ_THEMES:
        params[1] = year;
        return 2;
    case PQ_STUCK:
        params[1] = year;
        params[2] = term;
        return 3;
    case PQ_COUNT:
        break;
    }
    return 0;
}

static const char *val(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int ival(const PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? atoi(v) : 0;
}

static double dval(const PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? atof(v) : 0;
}

/* The subjects' cells over all year groups (the rows without a year group). */
static struct priorities_cell *read_cells(const PGresult *res, size_t *n)
{
    int rows = PQntuples(res);
    struct priorities_cell *cells = xcalloc((size_t)rows + 1, sizeof *cells);
    *n = 0;
    for (int i = 0; i < rows; i++) {
        if (val(res, i, 6))
            continue;
        struct priorities_cell *c = &cells[(*n)++];
        c->scope = val(res, i, 0);
        c->subject = val(res, i, 1);
        c->group = val(res, i, 2);
        c->n = ival(res, i, 3);
        c->k = ival(res, i, 4);
        c->gd = ival(res, i, 5);
    }
    return cells;
}

/* The small-cohort mask of a term, from all its cells, under the trust's rule. */
static struct suppress_mask *read_mask(const PGresult *res, const struct priorities_thresholds *t)
{
    int rows = PQntuples(res);
    struct suppress_cell *cells = xcalloc((size_t)rows + 1, sizeof *cells);
    for (int i = 0; i < rows; i++)
        cells[i] = (struct suppress_cell){.scope = val(res, i, 0),
                                          .subject = val(res, i, 1),
                                          .year_group = val(res, i, 6),
                                          .group = val(res, i, 2),
                                          .n = ival(res, i, 3)};
    const struct suppress_rule rule = {.min_cohort = t->min_cohort,
                                       .complements = t->complementary_suppression};
    struct suppress_mask *m = suppress_compute(cells, (size_t)rows, &rule, NULL, 0, NULL);
    free(cells);
    return m;
}

int priorities_input_from_results(PGresult *const res[PQ_COUNT], const char *year, const char *term,
                                  struct priorities_input *in, long long *version,
                                  struct priorities_scratch *scratch)
{
    memset(in, 0, sizeof *in);
    memset(scratch, 0, sizeof *scratch);
    in->year = year;
    in->term = term;
    const PGresult *meta = res[PQ_META];
    *version = atoll(val(meta, 0, 0));
    in->thresholds.min_cohort = ival(meta, 0, 1);
    in->thresholds.z_crit = dval(meta, 0, 2);
    in->thresholds.gap_points = dval(meta, 0, 3);
    in->thresholds.trend_points = dval(meta, 0, 4);
    const char *complements = val(meta, 0, 5);
    in->thresholds.complementary_suppression = complements && strcmp(complements, "t") == 0;

    const PGresult *r = res[PQ_SCHOOLS];
    in->n_schools = (size_t)PQntuples(r);
    struct priorities_school *schools = xcalloc(in->n_schools, sizeof *schools);
    for (int i = 0; i < (int)in->n_schools; i++) {
        schools[i].urn = val(r, i, 0);
        schools[i].name = val(r, i, 1);
        schools[i].phase = val(r, i, 2);
        schools[i].has_location = val(r, i, 3) && val(r, i, 4);
        schools[i].lat = dval(r, i, 3);
        schools[i].lon = dval(r, i, 4);
    }
    in->schools = scratch->arrays[0] = schools;
    struct priorities_cell *cells = read_cells(res[PQ_CELLS], &in->n_cells);
    in->cells = scratch->arrays[1] = cells;
    in->prev_cells = scratch->arrays[2] = read_cells(res[PQ_PREV], &in->n_prev_cells);
    scratch->now = read_mask(res[PQ_CELLS], &in->thresholds);
    scratch->prev = read_mask(res[PQ_PREV], &in->thresholds);
    priorities_mark_withheld(cells, in->n_cells, scratch->now);

    r = res[PQ_BENCH];
    in->n_benchmarks = (size_t)PQntuples(r);
    struct priorities_benchmark *bench = xcalloc(in->n_benchmarks, sizeof *bench);
    for (int i = 0; i < (int)in->n_benchmarks; i++) {
        bench[i].subject = val(r, i, 0);
        bench[i].group = val(r, i, 1);
        bench[i].expected = dval(r, i, 2);
    }
    in->benchmarks = scratch->arrays[3] = bench;

    r = res[PQ_SEF];
    in->n_sef = (size_t)PQntuples(r);
    struct priorities_sef_area *sef = xcalloc(in->n_sef, sizeof *sef);
    for (int i = 0; i < (int)in->n_sef; i++) {
        sef[i].urn = val(r, i, 0);
        sef[i].area = val(r, i, 1);
        sef[i].ordinal = ival(r, i, 2);
        sef[i].grade = val(r, i, 3);
        sef[i].framework = val(r, i, 4);
    }
    in->sef = scratch->arrays[4] = sef;

    r = res[PQ_THEMES];
    in->n_themes = (size_t)PQntuples(r);
    struct priorities_sip_theme *themes = xcalloc(in->n_themes, sizeof *themes);
    for (int i = 0; i < (int)in->n_themes; i++) {
        themes[i].urn = val(r, i, 0);
        themes[i].theme = val(r, i, 1);
    }
    in->themes = scratch->arrays[5] = themes;

    r = res[PQ_STUCK];
    in->n_stuck = (size_t)PQntuples(r);
    struct priorities_stuck_pupil *stuck = xcalloc(in->n_stuck, sizeof *stuck);
    for (int i = 0; i < (int)in->n_stuck; i++) {
        stuck[i].urn = val(r, i, 0);
        stuck[i].subject = val(r, i, 1);
        stuck[i].pupil_key = val(r, i, 2);
    }
    in->stuck = scratch->arrays[6] = stuck;

    r = res[PQ_GAPREFS];
    in->n_gap_refs = (size_t)PQntuples(r);
    struct priorities_gap_reference *refs = xcalloc(in->n_gap_refs + 1, sizeof *refs);
    for (int i = 0; i < (int)in->n_gap_refs; i++) {
        refs[i].subject = val(r, i, 0);
        refs[i].year = val(r, i, 1);
        refs[i].disadvantaged = dval(r, i, 2);
        refs[i].not_disadvantaged = dval(r, i, 3);
    }
    in->gap_refs = scratch->arrays[7] = refs;
    return scratch->now && scratch->prev ? 0 : -1; /* progress_cells gives each cell once */
}

void priorities_input_free(struct priorities_scratch *scratch)
{
    for (size_t i = 0; i < ARRAY_LEN(scratch->arrays); i++)
        free(scratch->arrays[i]);
    suppress_free(scratch->now);
    suppress_free(scratch->prev);
    memset(scratch, 0, sizeof *scratch);
}

int priorities_load_blocking(PGconn *pg, const char *trust, const char *year, const char *term,
                             bool from_rows, struct priorities_list **out,
                             struct priorities_masks *masks, char *err, size_t errlen)
{
    *out = NULL;
    PGresult *res[PQ_COUNT] = {0};
    int rc = 0;
    for (int q = 0; q < PQ_COUNT && rc == 0; q++) {
        struct priorities_params_storage storage;
        const char *params[7];
        int n = priorities_query_params(q, trust, year, term, &storage, params);
        const char *sql = priorities_query_sql(q, from_rows);
        res[q] = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res[q]) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(res[q]));
            rc = -1;
        }
    }
    if (rc == 0) {
        struct priorities_input in;
        struct priorities_scratch scratch;
        long long version;
        struct mat_errors errs;
        mat_errors_init(&errs);
        if (priorities_input_from_results(res, year, term, &in, &version, &scratch) != 0) {
            snprintf(err, errlen, "stored cells rejected by the small-cohort mask");
            rc = -1;
        } else if (priorities_compute(&in, out, &errs) != 0) {
            snprintf(err, errlen, "stored data rejected: %s: %s",
                     errs.count ? errs.items[0].path : "", errs.count ? errs.items[0].message : "");
            rc = -1;
        } else {
            masks->now = scratch.now;
            masks->prev = scratch.prev;
            scratch.now = scratch.prev = NULL;
        }
        mat_errors_free(&errs);
        priorities_input_free(&scratch);
    }
    for (int q = 0; q < PQ_COUNT; q++)
        PQclear(res[q]);
    return rc;
}
