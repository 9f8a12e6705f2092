/* Trust-wide priorities and school-to-school support (SPEC §6). PostgreSQL computes the
 * cells in one set-based query (progress_cells) inside one REPEATABLE READ snapshot with
 * the other inputs; libmat's priorities module scores, ranks and explains. Results are
 * cached per (year, term) and tagged with the trust's data version, which every write to
 * an input bumps in the writer's transaction: a cached list is served only while its
 * version is current, on this instance or any other sharing the database. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "priorities.h"
#include "termly.h"
#include "util.h"

enum { Q_BEGIN, Q_META, Q_SCHOOLS, Q_CELLS, Q_PREV, Q_BENCH, Q_SEF, Q_THEMES, Q_STUCK, Q_COMMIT };

static int stmt_meta, stmt_schools, stmt_cells, stmt_bench, stmt_sef, stmt_themes, stmt_stuck,
    stmt_thresholds_put;

#define META_SQL                                                                                  \
    "SELECT coalesce((SELECT version FROM trust_data_versions WHERE trust_id = $1), 0), "         \
    " coalesce(t.min_cohort, 6), coalesce(t.z_crit, 1.96), coalesce(t.gap_points, 10), "           \
    " coalesce(t.trend_points, 10) FROM (SELECT 1) one LEFT JOIN priority_thresholds t "          \
    " ON t.trust_id = $1"

void h_priorities_init(void)
{
    stmt_meta = db_stmt_register("prio_meta", META_SQL);
    stmt_schools = db_stmt_register(
        "prio_schools", "SELECT urn, name, phase, lat, lon FROM schools WHERE trust_id = $1 "
                        "AND (left_on IS NULL OR left_on > current_date) ORDER BY urn");
    stmt_cells = db_stmt_register("prio_cells",
                                  "SELECT coalesce(urn, ''), subject, grp, n, k, gd "
                                  "FROM progress_cells($1, $2, $3, NULL) WHERE year_group IS NULL");
    stmt_bench = db_stmt_register("prio_bench",
                                  "SELECT subject, grp, expected::float8 FROM benchmarks_for($1, $2)");
    /* Each school's latest SEF up to this year. */
    stmt_sef = db_stmt_register(
        "prio_sef",
        "SELECT s.urn, a.key, sef_ordinal(a.value->>'grade'), a.value->>'grade', s.framework "
        "FROM (SELECT DISTINCT ON (urn) urn, framework, body FROM sef_versions "
        "      WHERE trust_id = $1 AND year <= $2 ORDER BY urn, year DESC, version DESC) s, "
        " jsonb_each(s.body->'areas') a WHERE sef_ordinal(a.value->>'grade') IS NOT NULL");
    stmt_themes = db_stmt_register(
        "prio_themes",
        "SELECT s.urn, t.theme FROM (SELECT DISTINCT ON (urn) urn, body FROM sip_versions "
        "      WHERE trust_id = $1 AND year = $2 ORDER BY urn, version DESC) s, "
        " jsonb_array_elements(s.body->'priorities') p, "
        " jsonb_array_elements_text(coalesce(p->'themes', '[]')) t(theme)");
    /* Below expected in the same subject this term and the two terms before. */
    stmt_stuck = db_stmt_register(
        "prio_stuck",
        "SELECT urn, subject, encode(pupil_key, 'hex') FROM progress WHERE trust_id = $1 "
        " AND band IN ('below', 'towards') AND ((year = $2 AND term = $3) OR "
        " (year = $4 AND term = $5) OR (year = $6 AND term = $7)) "
        "GROUP BY urn, subject, pupil_key HAVING count(DISTINCT (year, term)) = 3");
    stmt_thresholds_put = db_stmt_register(
        "prio_thresholds_put",
        "INSERT INTO priority_thresholds AS t (trust_id, min_cohort, z_crit, gap_points, "
        " trend_points) SELECT $1, coalesce((b->>'min_cohort')::int, 6), "
        " coalesce((b->>'z_crit')::float8, 1.96), coalesce((b->>'gap_points')::float8, 10), "
        " coalesce((b->>'trend_points')::float8, 10) FROM (SELECT $2::jsonb AS b) x "
        "ON CONFLICT (trust_id) DO UPDATE SET min_cohort = EXCLUDED.min_cohort, z_crit = "
        " EXCLUDED.z_crit, gap_points = EXCLUDED.gap_points, trend_points = "
        " EXCLUDED.trend_points, updated_at = now()");
}

/* ---- the cache ---- */

struct cached {
    atomic_int refs;
    char year[8], term[8];
    long long version;
    struct priorities_list *list;
    char *json_all; /* the unfiltered trust-wide view, ready to send */
    size_t json_all_len;
};

#define CACHE_SLOTS 16
static struct cached *cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void cached_release(struct cached *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        priorities_list_free(c->list);
        free(c->json_all);
        free(c);
    }
}

static struct cached *cache_get(const char *year, const char *term, long long version)
{
    struct cached *hit = NULL;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cached *c = cache[i];
        if (c && c->version == version && strcmp(c->year, year) == 0 &&
            strcmp(c->term, term) == 0) {
            atomic_fetch_add(&c->refs, 1);
            hit = c;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

/* Takes one reference of c for the cache. */
static void cache_put(struct cached *c)
{
    pthread_mutex_lock(&cache_lock);
    int slot = -1;
    for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
        if (cache[i] && strcmp(cache[i]->year, c->year) == 0 && strcmp(cache[i]->term, c->term) == 0)
            slot = i;
    for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
        if (!cache[i])
            slot = i;
    if (slot < 0)
        slot = (int)(c->version % CACHE_SLOTS);
    struct cached *old = cache[slot];
    cache[slot] = c;
    pthread_mutex_unlock(&cache_lock);
    cached_release(old);
}

/* ---- request state ---- */

enum prio_view { VIEW_TRUST, VIEW_SCHOOL, VIEW_SUPPORT };

struct prio_state {
    enum prio_view view;
    char year[8], term[8];
    struct priorities_filter filter;
    char subject[64], school[7];
    long long version;
    struct priorities_thresholds thresholds;
};

static void prio_state_free(void *p)
{
    free(p);
}

/* Serves a computed list in the shape the route and principal call for. */
static void serve(struct req *r, struct cached *c)
{
    struct prio_state *st = r->hstate;
    const struct principal *p = &r->principal;
    bool csv = req_wants_csv(r);
    bool unfiltered = st->filter.level == PRIORITIES_LEVEL_ANY &&
                      st->filter.kind == PRIORITIES_KIND_ANY && !st->filter.subject &&
                      !st->filter.school;
    if (st->view == VIEW_TRUST && auth_trust_wide(p) && unfiltered && !csv) {
        req_reply_bytes(r, 200, "application/json; charset=utf-8", c->json_all, c->json_all_len);
        return;
    }
    const char *urns_one[1] = {st->school};
    const char *const *scope = NULL;
    size_t nscope = 0;
    const char **head_urns = NULL;
    if (!auth_trust_wide(p)) {
        head_urns = xcalloc((size_t)p->nurns + 1, sizeof *head_urns);
        for (int i = 0; i < p->nurns; i++)
            head_urns[i] = p->urns[i];
        scope = head_urns;
        nscope = (size_t)p->nurns;
    }
    struct priorities_list *view = NULL;
    struct priorities_output_opts opts = {0};
    if (st->view == VIEW_SCHOOL) {
        view = priorities_school_view(c->list, st->school);
        /* Pupil keys only for the school itself and admin. */
        opts.include_pupil_keys =
            p->role == ROLE_ADMIN || (p->role == ROLE_SCHOOL && auth_can_write_school(p, st->school));
        if (p->role == ROLE_SCHOOL) {
            opts.visible_schools = urns_one;
            opts.n_visible_schools = 1;
        } else if (scope) {
            opts.visible_schools = scope;
            opts.n_visible_schools = nscope;
        }
    } else {
        view = scope ? priorities_scope_view(c->list, scope, nscope)
                     : priorities_filter(c->list, &(struct priorities_filter){0});
        if (scope) {
            opts.visible_schools = scope;
            opts.n_visible_schools = nscope;
        }
    }
    struct priorities_list *filtered = priorities_filter(view, &st->filter);
    size_t len = 0;
    char *bytes;
    const char *ctype = "application/json; charset=utf-8";
    if (st->view == VIEW_SUPPORT) {
        bytes = priorities_support_to_json(filtered, &len);
    } else if (csv) {
        bytes = priorities_to_csv(filtered, &opts, &len);
        ctype = "text/csv; charset=utf-8";
    } else {
        bytes = priorities_to_json(filtered, &opts, &len);
    }
    req_reply_bytes(r, 200, ctype, bytes, len);
    free(bytes);
    priorities_list_free(filtered);
    priorities_list_free(view);
    free(head_urns);
}

static int ival(PGresult *res, int row, int col)
{
    const char *v = db_val(res, row, col);
    return v ? atoi(v) : 0;
}

static double dval(PGresult *res, int row, int col)
{
    const char *v = db_val(res, row, col);
    return v ? atof(v) : 0;
}

static struct priorities_cell *read_cells(PGresult *res, size_t *n)
{
    *n = (size_t)PQntuples(res);
    struct priorities_cell *cells = xcalloc(*n, sizeof *cells);
    for (size_t i = 0; i < *n; i++) {
        cells[i].scope = db_val(res, (int)i, 0);
        cells[i].subject = db_val(res, (int)i, 1);
        cells[i].group = db_val(res, (int)i, 2);
        cells[i].n = ival(res, (int)i, 3);
        cells[i].k = ival(res, (int)i, 4);
        cells[i].gd = ival(res, (int)i, 5);
    }
    return cells;
}

static void on_loaded(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct prio_state *st = r->hstate;
    uint64_t t0 = now_ms();
    PGresult *meta = db_job_result(job, Q_META);
    struct priorities_input in = {0};
    in.year = st->year;
    in.term = st->term;
    in.thresholds.min_cohort = ival(meta, 0, 1);
    in.thresholds.z_crit = dval(meta, 0, 2);
    in.thresholds.gap_points = dval(meta, 0, 3);
    in.thresholds.trend_points = dval(meta, 0, 4);
    long long version = atoll(db_val(meta, 0, 0));

    PGresult *res = db_job_result(job, Q_SCHOOLS);
    in.n_schools = (size_t)PQntuples(res);
    struct priorities_school *schools = xcalloc(in.n_schools, sizeof *schools);
    for (int i = 0; i < (int)in.n_schools; i++) {
        schools[i].urn = db_val(res, i, 0);
        schools[i].name = db_val(res, i, 1);
        schools[i].phase = db_val(res, i, 2);
        schools[i].has_location = db_val(res, i, 3) && db_val(res, i, 4);
        schools[i].lat = dval(res, i, 3);
        schools[i].lon = dval(res, i, 4);
    }
    in.schools = schools;
    struct priorities_cell *cells = read_cells(db_job_result(job, Q_CELLS), &in.n_cells);
    struct priorities_cell *prev = read_cells(db_job_result(job, Q_PREV), &in.n_prev_cells);
    in.cells = cells;
    in.prev_cells = prev;
    res = db_job_result(job, Q_BENCH);
    in.n_benchmarks = (size_t)PQntuples(res);
    struct priorities_benchmark *bench = xcalloc(in.n_benchmarks, sizeof *bench);
    for (int i = 0; i < (int)in.n_benchmarks; i++) {
        bench[i].subject = db_val(res, i, 0);
        bench[i].group = db_val(res, i, 1);
        bench[i].expected = dval(res, i, 2);
    }
    in.benchmarks = bench;
    res = db_job_result(job, Q_SEF);
    in.n_sef = (size_t)PQntuples(res);
    struct priorities_sef_area *sef = xcalloc(in.n_sef, sizeof *sef);
    for (int i = 0; i < (int)in.n_sef; i++) {
        sef[i].urn = db_val(res, i, 0);
        sef[i].area = db_val(res, i, 1);
        sef[i].ordinal = ival(res, i, 2);
        sef[i].grade = db_val(res, i, 3);
        sef[i].framework = db_val(res, i, 4);
    }
    in.sef = sef;
    res = db_job_result(job, Q_THEMES);
    in.n_themes = (size_t)PQntuples(res);
    struct priorities_sip_theme *themes = xcalloc(in.n_themes, sizeof *themes);
    for (int i = 0; i < (int)in.n_themes; i++) {
        themes[i].urn = db_val(res, i, 0);
        themes[i].theme = db_val(res, i, 1);
    }
    in.themes = themes;
    res = db_job_result(job, Q_STUCK);
    in.n_stuck = (size_t)PQntuples(res);
    struct priorities_stuck_pupil *stuck = xcalloc(in.n_stuck, sizeof *stuck);
    for (int i = 0; i < (int)in.n_stuck; i++) {
        stuck[i].urn = db_val(res, i, 0);
        stuck[i].subject = db_val(res, i, 1);
        stuck[i].pupil_key = db_val(res, i, 2);
    }
    in.stuck = stuck;

    struct mat_errors errs;
    mat_errors_init(&errs);
    struct priorities_list *list = NULL;
    int rc = priorities_compute(&in, &list, &errs);
    free(schools);
    free(cells);
    free(prev);
    free(bench);
    free(sef);
    free(themes);
    free(stuck);
    if (rc != 0) {
        log_error("msg=\"priorities input rejected\" request_id=%s first=\"%s: %s\"", r->id,
                  errs.count ? errs.items[0].path : "", errs.count ? errs.items[0].message : "");
        mat_errors_free(&errs);
        req_reply_problem(r, 500, "the stored data could not be scored; see the server log", NULL);
        return;
    }
    mat_errors_free(&errs);
    struct cached *c = xcalloc(1, sizeof *c);
    atomic_store(&c->refs, 2); /* the cache's and ours */
    snprintf(c->year, sizeof c->year, "%s", st->year);
    snprintf(c->term, sizeof c->term, "%s", st->term);
    c->version = version;
    c->list = list;
    c->json_all = priorities_to_json(list, NULL, &c->json_all_len);
    cache_put(c);
    metrics_add(METRIC_PRIORITIES_COMPUTED, 1);
    log_info("msg=\"priorities computed\" year=%s term=%s version=%lld items=%zu compute_ms=%llu",
             st->year, st->term, version, list->count, (unsigned long long)(now_ms() - t0));
    serve(r, c);
    cached_release(c);
}

/* The two terms before (year, term), for stuck pupils. */
static void previous_terms(const char *year, const char *term, char y1[8], const char **t1,
                           char y2[8], const char **t2)
{
    static const char *const names[] = {"autumn", "spring", "summer"};
    char prev_year[8];
    academic_year_previous(year, prev_year);
    int ti = term_index(term);
    if (ti == 0) { /* autumn: last summer and spring */
        snprintf(y1, 8, "%s", prev_year);
        snprintf(y2, 8, "%s", prev_year);
        *t1 = names[2];
        *t2 = names[1];
    } else {
        snprintf(y1, 8, "%s", year);
        *t1 = names[ti - 1];
        snprintf(y2, 8, "%s", ti == 1 ? prev_year : year);
        *t2 = ti == 1 ? names[2] : names[0];
    }
}

static void load_and_serve(struct req *r)
{
    struct prio_state *st = r->hstate;
    char trust[24], prev_year[8], y1[8], y2[8];
    const char *t1, *t2;
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    academic_year_previous(st->year, prev_year);
    previous_terms(st->year, st->term, y1, &t1, y2, &t2);
    const char *one[1] = {trust};
    const char *two[2] = {trust, st->year};
    const char *now[3] = {trust, st->year, st->term};
    const char *last[3] = {trust, prev_year, st->term};
    const char *stuck[7] = {trust, st->year, st->term, y1, t1, y2, t2};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    db_job_add(job, stmt_meta, 1, one);
    db_job_add(job, stmt_schools, 1, one);
    db_job_add(job, stmt_cells, 3, now);
    db_job_add(job, stmt_cells, 3, last);
    db_job_add(job, stmt_bench, 2, two);
    db_job_add(job, stmt_sef, 2, two);
    db_job_add(job, stmt_themes, 2, two);
    db_job_add(job, stmt_stuck, 7, stuck);
    db_job_add_sql(job, "COMMIT");
    req_submit(r, job, on_loaded);
}

static void on_meta(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct prio_state *st = r->hstate;
    long long version = atoll(db_val(db_job_result(job, 0), 0, 0));
    struct cached *c = cache_get(st->year, st->term, version);
    if (c) {
        metrics_add(METRIC_PRIORITIES_CACHE_HITS, 1);
        serve(r, c);
        cached_release(c);
        return;
    }
    load_and_serve(r);
}

/* Parses the shared query parameters; answers 4xx itself and returns NULL on a bad one. */
static struct prio_state *parse_params(struct req *r, enum prio_view view)
{
    const char *year = req_query(r, "year"), *term = req_query(r, "term");
    if (!req_year_ok(r, year) || !req_term_ok(r, term))
        return NULL;
    struct prio_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = prio_state_free;
    st->view = view;
    snprintf(st->year, sizeof st->year, "%s", year);
    snprintf(st->term, sizeof st->term, "%s", term);
    const char *level = req_query(r, "level"), *kind = req_query(r, "kind");
    const char *subject = req_query(r, "subject"), *school = req_query(r, "school");
    if (level && !priorities_level_parse(level, &st->filter.level)) {
        req_reply_field_error(r, 422, "level", "level must be trust or school");
        return NULL;
    }
    if (kind && !priorities_kind_parse(kind, &st->filter.kind)) {
        req_reply_field_error(r, 422, "kind",
                              "kind must be attainment, gap, trend, sef, shared_theme or "
                              "stuck_pupils");
        return NULL;
    }
    if (subject) {
        if (strlen(subject) >= sizeof st->subject) {
            req_reply_field_error(r, 422, "subject", "subject is too long");
            return NULL;
        }
        snprintf(st->subject, sizeof st->subject, "%s", subject);
        st->filter.subject = st->subject;
    }
    const char *urn = view == VIEW_SCHOOL ? req_param(r, "urn") : school;
    if (urn) {
        if (!urn_valid(urn)) {
            req_reply_field_error(r, 422, "school", "school must be a URN (six digits)");
            return NULL;
        }
        if (!auth_can_read_school(&r->principal, urn)) {
            req_reply_problem(r, 403, "that school is outside this token's scope", NULL);
            return NULL;
        }
        snprintf(st->school, sizeof st->school, "%s", urn);
        if (view != VIEW_SCHOOL)
            st->filter.school = st->school;
    }
    return st;
}

static void start(struct req *r, enum prio_view view)
{
    if (!parse_params(r, view))
        return;
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    const char *one[1] = {trust};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_meta, 1, one);
    req_submit(r, job, on_meta);
}

void h_priorities(struct req *r)
{
    start(r, VIEW_TRUST);
}

void h_school_priorities(struct req *r)
{
    start(r, VIEW_SCHOOL);
}

void h_support(struct req *r)
{
    start(r, VIEW_SUPPORT);
}

/* ---- thresholds ---- */

static void on_thresholds(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, db_job_ncmds(job) - 1);
    json_t *o = json_pack("{s:i, s:f, s:f, s:f}", "min_cohort", ival(res, 0, 1), "z_crit",
                          dval(res, 0, 2), "gap_points", dval(res, 0, 3), "trend_points",
                          dval(res, 0, 4));
    req_reply_json(r, 200, o);
}

void h_thresholds_get(struct req *r)
{
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    const char *one[1] = {trust};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_meta, 1, one);
    req_submit(r, job, on_thresholds);
}

void h_thresholds_put(struct req *r)
{
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *put[2] = {trust, body};
    const char *one[1] = {trust};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_thresholds_put, 2, put);
    db_job_add(job, stmt_meta, 1, one);
    free(body);
    req_submit(r, job, on_thresholds);
}
