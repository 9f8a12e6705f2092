/* GET /v1/briefing (SPEC 6.5): the CEO's first screen. The priorities come from the cache
 * h_priorities.c keeps (or one computation); one more statement reads the schools,
 * monitoring counts and this term's triads in the caller's scope; libmat's briefing
 * module selects and writes the document. An executive head gets it over their schools. */
#include <stdlib.h>
#include <string.h>

#include "briefing.h"
#include "h_priorities.h"
#include "handlers.h"
#include "util.h"

static int stmt_extras;

void h_briefing_init(void)
{
    stmt_extras = db_stmt_register(
        "briefing_extras",
        "WITH sc AS (SELECT urn, name, category FROM schools WHERE trust_id = $1 "
        "  AND (left_on IS NULL OR left_on > current_date) "
        "  AND ($4::text[] IS NULL OR urn = ANY ($4::text[]))), "
        " mi AS (SELECT m.urn, m.due, m.status, m.done FROM monitoring_items m JOIN sc "
        "  USING (urn) WHERE m.trust_id = $1 AND m.year = $2), "
        " win AS (SELECT term_start($1, $2, $3) AS lo, CASE $3 "
        "  WHEN 'autumn' THEN term_start($1, $2, 'spring') "
        "  WHEN 'spring' THEN term_start($1, $2, 'summer') "
        "  ELSE term_start($1, (substr($2, 1, 4)::int + 1)::text || '-' || "
        "   lpad(((substr($2, 1, 4)::int + 2) % 100)::text, 2, '0'), 'autumn') END AS hi) "
        "SELECT (SELECT coalesce(json_agg(json_build_object('urn', sc.urn, 'name', sc.name, "
        "  'category', sc.category, 'overdue', (SELECT count(*) FROM mi WHERE mi.urn = sc.urn "
        "  AND NOT mi.done AND mi.due < current_date)) ORDER BY sc.urn), '[]') FROM sc)::text, "
        " (SELECT count(*) FROM mi WHERE NOT done AND due < current_date), "
        " (SELECT count(*) FROM mi, win WHERE NOT done AND due >= win.lo AND due < win.hi), "
        " (SELECT count(*) FROM mi WHERE NOT done AND status IN ('at_risk', 'off_track')), "
        " (SELECT coalesce(json_agg(json_build_object('rota_id', t.rota_id, 'triad', t.triad, "
        "  'host', t.host, 'members', t.members, 'review_in', EXISTS (SELECT 1 FROM "
        "  triad_reviews v WHERE v.trust_id = t.trust_id AND v.rota_id = t.rota_id AND "
        "  v.triad = t.triad AND v.urn = t.host)) ORDER BY t.rota_id, t.triad), '[]') "
        "  FROM triads t JOIN rota_terms rt ON rt.trust_id = t.trust_id AND "
        "  rt.rota_id = t.rota_id AND rt.year = t.year AND rt.term = t.term AND rt.published "
        "  WHERE t.trust_id = $1 AND t.year = $2 AND t.term = $3 "
        "  AND ($4::text[] IS NULL OR t.members && $4::text[]))::text");
}

/* The briefing's own state: the caller's scope and view of the list. */
struct briefing_state {
    struct prio_cached *c; /* held by the request */
    const char **scope;    /* NULL for trust-wide principals */
    size_t n_scope;
    struct priorities_cohort cohort; /* what the reader may see (SPEC §8) */
    struct priorities_list *seen;    /* the list without items on withheld cells */
    struct priorities_list *view;    /* that, narrowed to the scope */
    struct priorities_output_opts opts;
};

static void briefing_state_free(void *p)
{
    struct briefing_state *st = p;
    priorities_list_free(st->view);
    priorities_list_free(st->seen);
    free(st->scope);
    free(st);
}

static long lval(PGresult *res, int col)
{
    const char *v = db_val(res, 0, col);
    return v ? atol(v) : 0;
}

static size_t read_schools(json_t *a, struct briefing_school **out)
{
    size_t n = json_array_size(a);
    *out = xcalloc(n + 1, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(a, i);
        (*out)[i].urn = json_string_value(json_object_get(o, "urn"));
        (*out)[i].name = json_string_value(json_object_get(o, "name"));
        (*out)[i].category = json_is_true(json_object_get(o, "category"));
        (*out)[i].overdue = (long)json_integer_value(json_object_get(o, "overdue"));
    }
    return n;
}

/* Triads borrow their strings from a; member arrays go in *members (owned). */
static size_t read_triads(json_t *a, struct briefing_triad **out, const char ***members)
{
    size_t n = json_array_size(a), total = 0;
    for (size_t i = 0; i < n; i++)
        total += json_array_size(json_object_get(json_array_get(a, i), "members"));
    *out = xcalloc(n + 1, sizeof **out);
    *members = xcalloc(total + 1, sizeof **members);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(a, i), *m = json_object_get(o, "members");
        struct briefing_triad *t = &(*out)[i];
        t->rota_id = (long)json_integer_value(json_object_get(o, "rota_id"));
        t->triad = (int)json_integer_value(json_object_get(o, "triad"));
        t->host = json_string_value(json_object_get(o, "host"));
        t->review_in = json_is_true(json_object_get(o, "review_in"));
        t->members = *members + at;
        for (size_t k = 0; k < json_array_size(m); k++)
            (*members)[at++] = json_string_value(json_array_get(m, k));
        t->n_members = json_array_size(m);
    }
    return n;
}

static void on_extras(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct briefing_state *st = prio_extra(r);
    PGresult *res = db_job_result(job, 0);
    json_error_t err;
    json_t *schools = json_loads(db_val(res, 0, 0), 0, &err);
    json_t *triads = json_loads(db_val(res, 0, 4), 0, &err);
    if (!schools || !triads) {
        json_decref(schools);
        json_decref(triads);
        req_reply_problem(r, 500, "the briefing could not be read", NULL);
        return;
    }
    struct briefing_input in = {
        .year = prio_year(r),
        .term = prio_term(r),
        .list = st->view,
        .headline = prio_cached_headline(st->c),
        .scope = st->scope,
        .n_scope = st->n_scope,
        .monitoring = {lval(res, 1), lval(res, 2), lval(res, 3)},
        .opts = &st->opts,
        .cohort = &st->cohort,
    };
    struct briefing_school *bs;
    struct briefing_triad *bt;
    const char **members;
    in.n_schools = read_schools(schools, &bs);
    in.schools = bs;
    in.n_triads = read_triads(triads, &bt, &members);
    in.triads = bt;
    size_t len = 0;
    char *bytes = briefing_to_json(&in, &len);
    req_reply_bytes(r, 200, "application/json; charset=utf-8", bytes, len);
    free(bytes);
    free(bs);
    free(bt);
    free(members);
    json_decref(schools);
    json_decref(triads);
}

void h_briefing_serve(struct req *r, struct prio_cached *c)
{
    const struct principal *p = &r->principal;
    struct briefing_state *st = xcalloc(1, sizeof *st);
    prio_set_extra(r, st, briefing_state_free);
    prio_hold(r, c);
    st->c = c;
    prio_cohort(r, c, &st->cohort);
    const struct priorities_list *list = st->seen =
        priorities_cohort_view(prio_cached_list(c), &st->cohort);
    if (auth_trust_wide(p)) {
        st->view = priorities_filter(list, &(struct priorities_filter){0});
    } else {
        st->scope = xcalloc((size_t)p->nurns + 1, sizeof *st->scope);
        for (int i = 0; i < p->nurns; i++)
            st->scope[i] = p->urns[i];
        st->n_scope = (size_t)p->nurns;
        st->view = priorities_scope_view(list, st->scope, st->n_scope);
        st->opts.visible_schools = st->scope;
        st->opts.n_visible_schools = st->n_scope;
    }
    if (req_wants_csv(r)) {
        struct priorities_list *top = briefing_diverse(st->view, BRIEFING_ITEMS, BRIEFING_PER_KIND);
        size_t len = 0;
        char *bytes = priorities_to_csv(top, &st->opts, &len);
        req_reply_bytes(r, 200, "text/csv; charset=utf-8", bytes, len);
        free(bytes);
        priorities_list_free(top);
        return;
    }
    const char *urns = req_scope_urns(r);
    const char *params[4] = {req_trust_str(r), prio_year(r), prio_term(r), urns};
    req_submit_one(r, stmt_extras, 4, params, on_extras);
}

void h_briefing(struct req *r)
{
    prio_start_briefing(r);
}
