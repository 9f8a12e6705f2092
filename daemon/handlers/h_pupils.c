/* POST /v1/schools/{urn}/pupils/lookup (SPEC 6.6): a school turns pseudonymous keys back
 * into its own pupils for pupil progress meetings. matd stores no reference, so the school
 * sends its list; each reference is checked and keyed here with the trust secret, the
 * keys go to PostgreSQL, and the answer pairs each reference with its key, bands, groups
 * and stuck subjects. The references live only in this request's memory: never in a
 * table, a statement parameter or a log line (the keys are the parameters). */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http_server.h"
#include "pupil_key.h"
#include "upn.h"
#include "util.h"

static int stmt_latest, stmt_pupils;

void h_pupils_init(void)
{
    /* The school's latest term held: the stuck window ends there. */
    stmt_latest = db_stmt_register(
        "pupils_latest",
        "SELECT (SELECT true FROM schools WHERE trust_id = $1 AND urn = $2), l.year, l.term "
        "FROM (SELECT 1) one LEFT JOIN (SELECT year, term FROM submissions s WHERE "
        " trust_id = $1 AND urn = $2 AND kind = 'progress' AND outcome IN ('accepted', "
        " 'unchanged') ORDER BY substr(s.year, 1, 4)::int * 3 + CASE s.term WHEN 'autumn' "
        " THEN 0 WHEN 'spring' THEN 1 ELSE 2 END DESC LIMIT 1) l ON true");
    /* Per key found: its groups in its latest term, and per subject its bands over the terms
     * held and whether it is below expected in the school's latest term and the two before. */
    stmt_pupils = db_stmt_register(
        "pupils_lookup",
        "WITH k AS (SELECT DISTINCT decode(h, 'hex') AS key FROM "
        "  unnest(string_to_array($3, ',')) h), "
        " r AS (SELECT p.pupil_key, p.year, p.term, p.subject, p.band, p.year_group, "
        "  p.disadvantaged, p.send, p.eal, p.looked_after, p.sex, "
        "  substr(p.year, 1, 4)::int * 3 + CASE p.term WHEN 'autumn' THEN 0 "
        "  WHEN 'spring' THEN 1 ELSE 2 END AS ti "
        "  FROM progress p JOIN k ON p.pupil_key = k.key WHERE p.trust_id = $1 AND p.urn = $2), "
        " s AS (SELECT pupil_key, subject, json_agg(json_build_object('year', year, 'term', "
        "  term, 'band', band) ORDER BY ti) AS bands, count(*) FILTER (WHERE band IN "
        "  ('below', 'towards') AND ti BETWEEN $4::int - 2 AND $4::int) = 3 AS stuck "
        "  FROM r GROUP BY pupil_key, subject), "
        " g AS (SELECT DISTINCT ON (pupil_key) * FROM r ORDER BY pupil_key, ti DESC, subject) "
        "SELECT encode(g.pupil_key, 'hex'), json_build_object('year', g.year, 'term', g.term, "
        " 'year_group', g.year_group, 'disadvantaged', g.disadvantaged, 'send', g.send, 'eal', "
        " g.eal, 'looked_after', g.looked_after, 'sex', g.sex)::text, "
        " (SELECT json_agg(json_build_object('subject', s.subject, 'bands', s.bands, 'stuck', "
        "  s.stuck) ORDER BY s.subject) FROM s WHERE s.pupil_key = g.pupil_key)::text "
        "FROM g ORDER BY 1");
}

struct lookup_state {
    size_t n;
    char (*hex)[2 * PUPIL_KEY_LEN + 1]; /* per reference, in request order */
    char *keys_param;                   /* the distinct keys, comma-joined */
    char latest_year[8], latest_term[8];
    bool has_latest;
};

static void lookup_state_free(void *p)
{
    struct lookup_state *st = p;
    free(st->hex);
    free(st->keys_param);
    free(st);
}

static json_t *latest_json(const struct lookup_state *st)
{
    return st->has_latest
               ? json_pack("{s:s, s:s}", "year", st->latest_year, "term", st->latest_term)
               : json_null();
}

/* One found pupil from the SQL row: {"groups":..., "subjects":[...]} (owned). */
static json_t *found_row(PGresult *res, int row)
{
    json_error_t err;
    json_t *groups = json_loads(db_val(res, row, 1), 0, &err);
    json_t *subjects = json_loads(db_val(res, row, 2), 0, &err);
    if (!groups || !subjects)
        fatal("pupils lookup: the database returned invalid JSON");
    json_t *stuck = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(subjects, i, s)
    {
        if (json_is_true(json_object_get(s, "stuck")))
            json_array_append(stuck, json_object_get(s, "subject"));
    }
    return json_pack("{s:o, s:o, s:o}", "groups", groups, "subjects", subjects, "stuck", stuck);
}

/* Binary search of the sorted result rows for a key. */
static int find_row(PGresult *res, int nrows, const char *hex)
{
    int lo = 0, hi = nrows - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(db_val(res, mid, 0), hex);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static void csv_bands(struct strbuf *sb, json_t *bands)
{
    size_t i;
    json_t *b;
    json_array_foreach(bands, i, b)
    {
        strbuf_printf(sb, "%s%s %s:%s", i ? ";" : "", json_string_value(json_object_get(b, "year")),
                      json_string_value(json_object_get(b, "term")),
                      json_string_value(json_object_get(b, "band")));
    }
}

/* One CSV field: a reference is letters, digits, '_' and '-' (checked), so only a leading
 * '-' needs the spreadsheet guard. */
static void csv_ref(struct strbuf *sb, const char *ref)
{
    strbuf_printf(sb, ref[0] == '-' ? "\"'%s\"" : "%s", ref);
}

static void csv_row(struct strbuf *sb, const char *ref, const char *hex, json_t *item, json_t *subj)
{
    json_t *g = item ? json_object_get(item, "groups") : NULL;
    csv_ref(sb, ref);
    strbuf_printf(sb, ",%s,%s", hex, item ? "true" : "false");
    if (g)
        strbuf_printf(sb, ",%s,%s %s,%s,%s,%s,%s,%s",
                      json_string_value(json_object_get(g, "year_group")),
                      json_string_value(json_object_get(g, "year")),
                      json_string_value(json_object_get(g, "term")),
                      json_is_true(json_object_get(g, "disadvantaged")) ? "true" : "false",
                      json_string_value(json_object_get(g, "send")),
                      json_is_true(json_object_get(g, "eal")) ? "true" : "false",
                      json_is_true(json_object_get(g, "looked_after")) ? "true" : "false",
                      json_string_value(json_object_get(g, "sex"))
                          ? json_string_value(json_object_get(g, "sex"))
                          : "");
    else
        strbuf_puts(sb, ",,,,,,,");
    if (subj) {
        strbuf_printf(sb, ",%s,%s,", json_string_value(json_object_get(subj, "subject")),
                      json_is_true(json_object_get(subj, "stuck")) ? "true" : "false");
        csv_bands(sb, json_object_get(subj, "bands"));
    } else {
        strbuf_puts(sb, ",,,");
    }
    strbuf_puts(sb, "\r\n");
}

static void on_pupils(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct lookup_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    int nrows = db_nrows(res);
    json_t *refs = json_object_get(r->json, "pupils");
    json_t **found = xcalloc((size_t)nrows + 1, sizeof *found);
    for (int i = 0; i < nrows; i++)
        found[i] = found_row(res, i);
    bool csv = req_wants_csv(r);
    struct strbuf sb;
    strbuf_init(&sb);
    json_t *items = json_array();
    if (csv)
        strbuf_puts(&sb, "pupil,key,found,year_group,latest_term,disadvantaged,send,eal,"
                         "looked_after,sex,subject,stuck,bands\r\n");
    for (size_t i = 0; i < st->n; i++) {
        const char *ref = json_string_value(json_array_get(refs, i));
        int row = find_row(res, nrows, st->hex[i]);
        json_t *item = row >= 0 ? found[row] : NULL;
        if (csv) {
            json_t *subjects = item ? json_object_get(item, "subjects") : NULL;
            if (!json_array_size(subjects))
                csv_row(&sb, ref, st->hex[i], item, NULL);
            for (size_t k = 0; k < json_array_size(subjects); k++)
                csv_row(&sb, ref, st->hex[i], item, json_array_get(subjects, k));
            continue;
        }
        json_t *o =
            json_pack("{s:s, s:s, s:b}", "pupil", ref, "key", st->hex[i], "found", item != NULL);
        json_object_set(o, "groups", item ? json_object_get(item, "groups") : json_null());
        json_object_set_new(o, "subjects",
                            item ? json_incref(json_object_get(item, "subjects")) : json_array());
        json_object_set_new(o, "stuck",
                            item ? json_incref(json_object_get(item, "stuck")) : json_array());
        json_array_append_new(items, o);
    }
    for (int i = 0; i < nrows; i++)
        json_decref(found[i]);
    free(found);
    if (csv) {
        json_decref(items);
        req_reply_bytes(r, 200, "text/csv; charset=utf-8", sb.data ? sb.data : "", sb.len);
        strbuf_free(&sb);
        return;
    }
    strbuf_free(&sb);
    req_reply_json(r, 200,
                   json_pack("{s:s, s:o, s:o}", "urn", req_param(r, "urn"), "latest",
                             latest_json(st), "items", items));
}

static void on_latest(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct lookup_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    if (!db_val(res, 0, 0)) {
        req_reply_problem(r, 404, "no such school in this trust", NULL);
        return;
    }
    char ti[24] = "-1000";
    if (db_val(res, 0, 1)) {
        st->has_latest = true;
        snprintf(st->latest_year, sizeof st->latest_year, "%s", db_val(res, 0, 1));
        snprintf(st->latest_term, sizeof st->latest_term, "%s", db_val(res, 0, 2));
        int t = !strcmp(st->latest_term, "autumn") ? 0 : !strcmp(st->latest_term, "spring") ? 1 : 2;
        snprintf(ti, sizeof ti, "%d", atoi(st->latest_year) * 3 + t);
    }
    if (st->n == 0) {
        req_reply_json(r, 200,
                       json_pack("{s:s, s:o, s:[]}", "urn", req_param(r, "urn"), "latest",
                                 latest_json(st), "items"));
        return;
    }
    const char *params[4] = {req_trust_str(r), req_param(r, "urn"), st->keys_param, ti};
    req_submit_one(r, stmt_pupils, 4, params, on_pupils);
}

static int cmp_hex(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks and keys every reference; answers 422 naming each bad one (never echoing it). */
static bool key_all(struct req *r, struct lookup_state *st)
{
    json_t *refs = json_object_get(r->json, "pupils");
    struct server *s = r->w->server;
    st->n = json_array_size(refs);
    st->hex = xcalloc(st->n + 1, sizeof *st->hex);
    struct mat_errors errs;
    mat_errors_init(&errs);
    struct pupil_keyer *keyer = pupil_keyer_new(s->secret, s->secret_len);
    for (size_t i = 0; i < st->n; i++) {
        const char *ref = json_string_value(json_array_get(refs, i));
        char canon[PUPIL_REF_MAX + 1], msg[200], path[32];
        if (pupil_ref_check(ref, strlen(ref), canon, msg, sizeof msg) != PUPIL_REF_OK) {
            snprintf(path, sizeof path, "/pupils/%zu", i);
            mat_errors_add(&errs, path, "%s", msg);
            continue;
        }
        unsigned char key[PUPIL_KEY_LEN];
        pupil_keyer_key(keyer, canon, strlen(canon), key);
        explicit_bzero(canon, sizeof canon);
        pupil_key_hex(key, st->hex[i]);
    }
    pupil_keyer_free(keyer);
    if (errs.count) {
        req_reply_problem(r, 422, "a pupil reference is not a UPN or an id of the school's own",
                          &errs);
        mat_errors_free(&errs);
        return false;
    }
    mat_errors_free(&errs);
    /* The distinct keys, sorted, as one parameter. */
    const char **sorted = xcalloc(st->n + 1, sizeof *sorted);
    for (size_t i = 0; i < st->n; i++)
        sorted[i] = st->hex[i];
    qsort(sorted, st->n, sizeof *sorted, cmp_hex);
    struct strbuf sb;
    strbuf_init(&sb);
    for (size_t i = 0; i < st->n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]))
            strbuf_printf(&sb, "%s%s", sb.len ? "," : "", sorted[i]);
    free(sorted);
    st->keys_param = strbuf_detach(&sb, NULL);
    return true;
}

void h_pupils_lookup(struct req *r)
{
    struct lookup_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = lookup_state_free;
    if (!key_all(r, st))
        return;
    const char *params[2] = {req_trust_str(r), req_param(r, "urn")};
    req_submit_one(r, stmt_latest, 2, params, on_latest);
}
