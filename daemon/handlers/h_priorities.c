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

#include "briefing.h"
#include "h_priorities.h"
#include "h_priorities_views.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "priorities.h"
#include "priorities_load.h"
#include "rendered.h"
#include "termly.h"
#include "util.h"

static int stmt_query[PQ_COUNT], stmt_thresholds_put;

void h_priorities_init(void)
{
    /* The other handlers of SPEC 6 register here, beside the priorities they build on. */
    h_briefing_init();
    h_pupils_init();
    h_experts_init();
    h_deployments_init();
    for (int q = 0; q < PQ_COUNT; q++)
        stmt_query[q] = priorities_queries[q].sql ? db_stmt_register(priorities_queries[q].name,
                                                                     priorities_queries[q].sql)
                                                  : stmt_query[PQ_CELLS];
    stmt_thresholds_put = db_stmt_register(
        "prio_thresholds_put",
        "INSERT INTO priority_thresholds AS t (trust_id, min_cohort, z_crit, gap_points, "
        " trend_points, complementary_suppression) SELECT $1, "
        " coalesce((b->>'min_cohort')::int, 6), coalesce((b->>'z_crit')::float8, 1.96), "
        " coalesce((b->>'gap_points')::float8, 10), coalesce((b->>'trend_points')::float8, 10), "
        " coalesce((b->>'complementary_suppression')::boolean, false) "
        "FROM (SELECT $2::jsonb AS b) x "
        "ON CONFLICT (trust_id) DO UPDATE SET min_cohort = EXCLUDED.min_cohort, z_crit = "
        " EXCLUDED.z_crit, gap_points = EXCLUDED.gap_points, trend_points = "
        " EXCLUDED.trend_points, complementary_suppression = EXCLUDED.complementary_suppression, "
        " updated_at = now()");
}

/* ---- the cache ---- */

/* The small-cohort masks an executive head reads the list through: their schools summed
 * are their "trust" (suppress.h), computed once per list and scope. */
struct scoped_masks {
    atomic_int refs;
    char *key; /* the schools, sorted, comma-separated */
    struct suppress_mask *now, *prev;
};

static void scoped_release(struct scoped_masks *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        free(m->key);
        suppress_free(m->now);
        suppress_free(m->prev);
        free(m);
    }
}

#define SCOPED_SLOTS 32

struct prio_cached {
    atomic_int refs;
    char year[8], term[8];
    long long version;
    struct priorities_list *list;
    /* the unfiltered trust-wide view: rendered, hashed and compressed once, sent by
     * reference */
    struct rendered *json_all;
    struct briefing_headline *headline; /* the briefing's headline cells */
    /* small cohorts: the cells withheld from everyone but their school, this term and the
     * same term last year (every reader but an executive head) */
    struct suppress_mask *now, *prev;
    pthread_mutex_t scoped_lock;
    struct scoped_masks *scoped[SCOPED_SLOTS]; /* executive heads', each holding a ref */
};

#define CACHE_SLOTS 16
static struct prio_cached *cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void cached_release(struct prio_cached *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        priorities_list_free(c->list);
        rendered_release(c->json_all);
        briefing_headline_free(c->headline);
        suppress_free(c->now);
        suppress_free(c->prev);
        for (int i = 0; i < SCOPED_SLOTS; i++)
            scoped_release(c->scoped[i]);
        pthread_mutex_destroy(&c->scoped_lock);
        free(c);
    }
}

static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* The executive head's masks if c has them, with a reference for the caller. */
static struct scoped_masks *scoped_get(struct prio_cached *c, const char *key)
{
    struct scoped_masks *hit = NULL;
    pthread_mutex_lock(&c->scoped_lock);
    struct scoped_masks *m = c->scoped[key_hash(key) % SCOPED_SLOTS];
    if (m && strcmp(m->key, key) == 0) {
        atomic_fetch_add(&m->refs, 1);
        hit = m;
    }
    pthread_mutex_unlock(&c->scoped_lock);
    return hit;
}

/* Takes one reference of m for c (replacing whatever held its slot). */
static void scoped_put(struct prio_cached *c, struct scoped_masks *m)
{
    pthread_mutex_lock(&c->scoped_lock);
    struct scoped_masks **slot = &c->scoped[key_hash(m->key) % SCOPED_SLOTS];
    struct scoped_masks *old = *slot;
    *slot = m;
    pthread_mutex_unlock(&c->scoped_lock);
    scoped_release(old);
}

/* Each worker keeps its own table of the lists it served last, one per (year, term), each
 * holding a reference: a hit takes no lock shared with another worker (the shared table
 * above, under cache_lock, is looked at only on a worker's miss). A worker's table can
 * hold a list the shared table has replaced until that (year, term) is asked for again:
 * at most CACHE_SLOTS lists per worker. The tables stay reachable from worker_tables. */
struct worker_table {
    struct prio_cached *slot[CACHE_SLOTS];
    struct worker_table *next;
};
static _Thread_local struct worker_table *own_table;
static struct worker_table *worker_tables; /* under cache_lock */

static int slot_for(struct prio_cached *const *slots, const char *year, const char *term,
                    long long version)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (slots[i] && strcmp(slots[i]->year, year) == 0 && strcmp(slots[i]->term, term) == 0)
            return i;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (!slots[i])
            return i;
    return (int)(version % CACHE_SLOTS);
}

static struct prio_cached *cache_get(const char *year, const char *term, long long version)
{
    struct worker_table *t = own_table;
    for (int i = 0; t && i < CACHE_SLOTS; i++) {
        struct prio_cached *c = t->slot[i];
        if (c && c->version == version && strcmp(c->year, year) == 0 &&
            strcmp(c->term, term) == 0) {
            atomic_fetch_add(&c->refs, 1); /* the table's reference keeps c alive */
            return c;
        }
    }
    struct prio_cached *hit = NULL;
    pthread_mutex_lock(&cache_lock);
    if (!t) {
        t = own_table = xcalloc(1, sizeof *t);
        t->next = worker_tables;
        worker_tables = t;
    }
    for (int i = 0; i < CACHE_SLOTS && !hit; i++) {
        struct prio_cached *c = cache[i];
        if (c && c->version == version && strcmp(c->year, year) == 0 &&
            strcmp(c->term, term) == 0) {
            atomic_fetch_add(&c->refs, 2); /* the caller's and the worker table's */
            hit = c;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (hit) {
        int slot = slot_for(t->slot, year, term, version);
        struct prio_cached *old = t->slot[slot];
        t->slot[slot] = hit;
        cached_release(old);
    }
    return hit;
}

/* Takes one reference of c for the cache. */
static void cache_put(struct prio_cached *c)
{
    pthread_mutex_lock(&cache_lock);
    int slot = slot_for(cache, c->year, c->term, c->version);
    struct prio_cached *old = cache[slot];
    cache[slot] = c;
    pthread_mutex_unlock(&cache_lock);
    cached_release(old);
}

/* ---- request state ---- */

enum prio_view { VIEW_TRUST, VIEW_SCHOOL, VIEW_SUPPORT, VIEW_BRIEFING, VIEW_CUSTOM };

struct prio_state {
    enum prio_view view;
    char year[8], term[8];
    struct priorities_filter filter;
    char subject[64], school[7];
    long long version;
    struct priorities_thresholds thresholds;
    uint64_t load_started_ms, loaded_ms;
    struct prio_cached *held; /* kept for the request by prio_hold */
    prio_serve_fn custom;     /* VIEW_CUSTOM: who serves the list */
    void *extra;              /* another handler's state (the briefing's) */
    void (*extra_free)(void *);
    struct scoped_masks *scoped; /* an executive head's masks, held */
};

static void prio_state_free(void *p)
{
    struct prio_state *st = p;
    scoped_release(st->scoped);
    cached_release(st->held);
    if (st->extra_free)
        st->extra_free(st->extra);
    free(st);
}

const struct priorities_list *prio_cached_list(const struct prio_cached *c)
{
    return c->list;
}

const struct briefing_headline *prio_cached_headline(const struct prio_cached *c)
{
    return c->headline;
}

void prio_cached_cohort(const struct prio_cached *c, struct priorities_cohort *co)
{
    memset(co, 0, sizeof *co);
    co->now = c->now;
    co->prev = c->prev;
}

void prio_cohort(const struct req *r, const struct prio_cached *c, struct priorities_cohort *co)
{
    const struct prio_state *st = r->hstate;
    const struct principal *p = &r->principal;
    prio_cached_cohort(c, co);
    if (st->scoped) {
        co->now = st->scoped->now;
        co->prev = st->scoped->prev;
    }
    if (p->role == ROLE_SCHOOL && p->nurns == 1)
        co->own = p->urns[0];
}

void prio_hold(struct req *r, struct prio_cached *c)
{
    struct prio_state *st = r->hstate;
    atomic_fetch_add(&c->refs, 1);
    cached_release(st->held);
    st->held = c;
}

const char *prio_year(const struct req *r)
{
    return ((const struct prio_state *)r->hstate)->year;
}

const char *prio_term(const struct req *r)
{
    return ((const struct prio_state *)r->hstate)->term;
}

void prio_set_extra(struct req *r, void *extra, void (*extra_free)(void *))
{
    struct prio_state *st = r->hstate;
    if (st->extra_free)
        st->extra_free(st->extra);
    st->extra = extra;
    st->extra_free = extra_free;
}

void *prio_extra(const struct req *r)
{
    return ((const struct prio_state *)r->hstate)->extra;
}

/* A view of a cached list as one request asks for it: what decides its bytes (the key
 * of the view cache), copied so that it can be rendered off the loop. */
struct view_work {
    struct prio_cached *c; /* held */
    enum prio_view view;
    bool csv;
    struct priorities_filter filter;
    char subject[64], school[7], urn[7];
    bool include_pupil_keys;
    enum { VIS_ALL, VIS_ONE, VIS_SCOPE } vis; /* schools named in the output */
    bool scoped_view;                         /* an executive head: the scope view */
    char **urns;
    size_t nurns;
    char *key;
    struct rendered *out;
    struct scoped_masks *scoped;     /* held: an executive head's masks */
    struct priorities_cohort cohort; /* what the reader may see (masks of c or scoped) */
    char own[7];
};

static void view_work_free(void *p)
{
    struct view_work *v = p;
    scoped_release(v->scoped);
    cached_release(v->c);
    for (size_t i = 0; i < v->nurns; i++)
        free(v->urns[i]);
    free(v->urns);
    free(v->key);
    rendered_release(v->out);
    free(v);
}

static struct view_work *view_work_new(struct req *r, struct prio_cached *c)
{
    const struct prio_state *st = r->hstate;
    const struct principal *p = &r->principal;
    struct view_work *v = xcalloc(1, sizeof *v);
    atomic_fetch_add(&c->refs, 1);
    v->c = c;
    v->view = st->view;
    v->csv = req_wants_csv(r);
    v->filter = st->filter;
    snprintf(v->subject, sizeof v->subject, "%s", st->subject);
    snprintf(v->school, sizeof v->school, "%s", st->school);
    v->filter.subject = st->filter.subject ? v->subject : NULL;
    v->filter.school = st->filter.school ? v->school : NULL;
    v->scoped_view = !auth_trust_wide(p);
    if (v->scoped_view) {
        v->nurns = (size_t)p->nurns;
        v->urns = xcalloc(v->nurns + 1, sizeof *v->urns);
        for (size_t i = 0; i < v->nurns; i++)
            v->urns[i] = xstrdup(p->urns[i]);
    }
    v->vis = v->scoped_view ? VIS_SCOPE : VIS_ALL;
    prio_cohort(r, c, &v->cohort);
    if (st->scoped) {
        atomic_fetch_add(&st->scoped->refs, 1);
        v->scoped = st->scoped;
    }
    if (v->cohort.own) {
        snprintf(v->own, sizeof v->own, "%s", v->cohort.own);
        v->cohort.own = v->own;
    }
    if (st->view == VIEW_SCHOOL) {
        snprintf(v->urn, sizeof v->urn, "%s", st->school);
        /* Pupil keys only for the school itself and admin. */
        v->include_pupil_keys = p->role == ROLE_ADMIN ||
                                (p->role == ROLE_SCHOOL && auth_can_write_school(p, st->school));
        if (p->role == ROLE_SCHOOL)
            v->vis = VIS_ONE;
    }
    /* The key names everything the bytes depend on, and nothing else. */
    struct strbuf k;
    strbuf_init(&k);
    strbuf_printf(&k,
                  "view=%d csv=%d level=%d kind=%d subject=%d:%zu:%s school=%s urn=%s "
                  "keys=%d vis=%d own=%s scoped=%d urns=",
                  (int)v->view, v->csv, (int)v->filter.level, (int)v->filter.kind,
                  v->filter.subject != NULL, strlen(v->subject), v->subject, v->school, v->urn,
                  v->include_pupil_keys, (int)v->vis, v->own, v->scoped_view);
    for (size_t i = 0; i < v->nurns; i++)
        strbuf_printf(&k, "%s%s", i ? "," : "", v->urns[i]);
    v->key = xstrdup(k.data ? k.data : "");
    strbuf_free(&k);
    return v;
}

/* Renders one view: on the offload pool. */
static void view_render(void *p)
{
    struct view_work *v = p;
    const struct priorities_list *list = v->c->list;
    const char *one[1] = {v->urn};
    const char *const *scope = (const char *const *)v->urns;
    struct priorities_output_opts opts = {0};
    opts.include_pupil_keys = v->include_pupil_keys;
    if (v->vis == VIS_ONE) { /* a school's reader: other schools named, not their figures */
        opts.visible_schools = one;
        opts.n_visible_schools = 1;
        opts.givers_without_figures = true;
    } else if (v->vis == VIS_SCOPE) {
        opts.visible_schools = scope;
        opts.n_visible_schools = v->nurns;
    }
    /* Items standing on cells withheld from the reader go first (SPEC §8). */
    struct priorities_list *seen = priorities_cohort_view(list, &v->cohort);
    struct priorities_list *view = v->view == VIEW_SCHOOL ? priorities_school_view(seen, v->urn)
                                   : v->scoped_view
                                       ? priorities_scope_view(seen, scope, v->nurns)
                                       : priorities_filter(seen, &(struct priorities_filter){0});
    struct priorities_list *filtered = priorities_filter(view, &v->filter);
    size_t len = 0;
    char *bytes;
    const char *ctype = v->csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
    if (v->view == VIEW_SUPPORT)
        bytes = v->csv ? priorities_support_to_csv(filtered, &len)
                       : priorities_support_to_json(filtered, &len);
    else
        bytes = v->csv ? priorities_to_csv(filtered, &opts, &len)
                       : priorities_to_json(filtered, &opts, &len);
    v->out = rendered_new(ctype, bytes, len); /* compressed if asked again (rendered.h) */
    free(bytes);
    priorities_list_free(filtered);
    priorities_list_free(view);
    priorities_list_free(seen);
}

static void view_done(struct req *r, void *p)
{
    struct view_work *v = p;
    struct rendered *x = prio_views_put(v->c->year, v->c->term, v->c->version, v->key, v->out);
    rendered_reply(r, x);
    rendered_release(x);
    view_work_free(v);
}

/* An executive head's masks, made off the loop when the list has none for their schools. */
struct scoped_work {
    struct prio_cached *c; /* held */
    struct scoped_masks *m;
    char (*copy)[7]; /* the schools, copied from the principal */
    const char **urns;
    size_t nurns;
};

static void scoped_work_free(void *p)
{
    struct scoped_work *w = p;
    cached_release(w->c);
    scoped_release(w->m);
    free(w->copy);
    free(w->urns);
    free(w);
}

static void scoped_run(void *p)
{
    struct scoped_work *w = p;
    w->m->now = suppress_for_subset(w->c->now, w->urns, w->nurns);
    w->m->prev = suppress_for_subset(w->c->prev, w->urns, w->nurns);
}

static void serve_ready(struct req *r, struct prio_cached *c);

static void scoped_done(struct req *r, void *p)
{
    struct scoped_work *w = p;
    struct prio_state *st = r->hstate;
    atomic_fetch_add(&w->m->refs, 1);
    scoped_put(w->c, w->m); /* the cache's reference */
    st->scoped = w->m;      /* the request's */
    w->m = NULL;
    serve_ready(r, w->c);
    scoped_work_free(w);
}

static int cmp_urn(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Serves a computed list once the reader's masks are at hand: an executive head's are
 * made (off the loop) the first time their schools ask for this list. */
static void serve(struct req *r, struct prio_cached *c)
{
    struct prio_state *st = r->hstate;
    const struct principal *p = &r->principal;
    if (p->role != ROLE_EXECUTIVE_HEAD || st->scoped) {
        serve_ready(r, c);
        return;
    }
    char(*copy)[7] = xcalloc((size_t)p->nurns + 1, sizeof *copy);
    memcpy(copy, p->urns, (size_t)p->nurns * sizeof *copy);
    const char **urns = xcalloc((size_t)p->nurns + 1, sizeof *urns);
    for (int i = 0; i < p->nurns; i++)
        urns[i] = copy[i];
    qsort(urns, (size_t)p->nurns, sizeof *urns, cmp_urn);
    struct strbuf key;
    strbuf_init(&key);
    for (int i = 0; i < p->nurns; i++)
        strbuf_printf(&key, "%s%s", i ? "," : "", urns[i]);
    char *k = strbuf_detach(&key, NULL);
    if ((st->scoped = scoped_get(c, k ? k : "")) != NULL) {
        free(k);
        free(urns);
        free(copy);
        serve_ready(r, c);
        return;
    }
    struct scoped_work *w = xcalloc(1, sizeof *w);
    atomic_fetch_add(&c->refs, 1);
    w->c = c;
    w->m = xcalloc(1, sizeof *w->m);
    atomic_store(&w->m->refs, 1);
    w->m->key = k ? k : xstrdup("");
    w->copy = copy;
    w->urns = urns;
    w->nurns = (size_t)p->nurns;
    req_offload(r, scoped_run, scoped_done, scoped_work_free, w);
}

/* Serves a computed list in the shape the route and principal call for: the trust-wide
 * list as rendered with it, any other view from the view cache, or rendered off the loop
 * into it. */
static void serve_ready(struct req *r, struct prio_cached *c)
{
    struct prio_state *st = r->hstate;
    if (st->view == VIEW_BRIEFING || st->view == VIEW_CUSTOM) {
        (st->view == VIEW_BRIEFING ? h_briefing_serve : st->custom)(r, c);
        return;
    }
    req_set_header(r, "Vary", "Accept"); /* CSV or JSON (rendered_reply adds its own) */
    bool unfiltered = st->filter.level == PRIORITIES_LEVEL_ANY &&
                      st->filter.kind == PRIORITIES_KIND_ANY && !st->filter.subject &&
                      !st->filter.school;
    if (st->view == VIEW_TRUST && auth_trust_wide(&r->principal) && unfiltered &&
        !req_wants_csv(r)) {
        rendered_reply(r, c->json_all);
        return;
    }
    struct view_work *v = view_work_new(r, c);
    struct rendered *x = prio_views_get(c->year, c->term, c->version, v->key);
    if (x) {
        view_work_free(v);
        rendered_reply(r, x);
        rendered_release(x);
        return;
    }
    req_offload(r, view_render, view_done, view_work_free, v);
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

static bool bval(PGresult *res, int row, int col)
{
    const char *v = db_val(res, row, col);
    return v && strcmp(v, "t") == 0;
}

/* The calculation, run on the offload pool so a large trust never stalls a loop. It owns
 * the query results it reads. */
struct compute_work {
    PGresult *res[PQ_COUNT];
    char year[8], term[8];
    long long version;
    struct priorities_list *list;
    struct rendered *json_all;
    struct briefing_headline *headline;
    struct suppress_mask *now, *prev;
    struct mat_errors errs;
    uint64_t compute_ms;
};

static void compute_work_free(void *p)
{
    struct compute_work *w = p;
    for (int q = 0; q < PQ_COUNT; q++)
        db_result_free(w->res[q]);
    priorities_list_free(w->list);
    rendered_release(w->json_all);
    briefing_headline_free(w->headline);
    suppress_free(w->now);
    suppress_free(w->prev);
    mat_errors_free(&w->errs);
    free(w);
}

static void compute_run(void *p)
{
    struct compute_work *w = p;
    uint64_t t0 = now_ms();
    struct priorities_input in;
    struct priorities_scratch scratch;
    if (priorities_input_from_results(w->res, w->year, w->term, &in, &w->version, &scratch))
        mat_errors_add(&w->errs, "/cells", "the cells make no small-cohort mask");
    else if (priorities_compute(&in, &w->list, &w->errs) == 0) {
        w->now = scratch.now;
        w->prev = scratch.prev;
        scratch.now = scratch.prev = NULL;
        /* The trust-wide list as admin and ceo read it: without items on withheld cells. */
        struct priorities_cohort co = {.now = w->now, .prev = w->prev};
        struct priorities_list *seen = priorities_cohort_view(w->list, &co);
        size_t len;
        char *text = priorities_to_json(seen, NULL, &len);
        priorities_list_free(seen);
        /* rendered and hashed here, off the loop (compressed later, also off it) */
        w->json_all = rendered_new("application/json; charset=utf-8", text, len);
        free(text);
        w->headline = briefing_headline_collect(&in);
    }
    priorities_input_free(&scratch);
    w->compute_ms = now_ms() - t0;
}

static void compute_done(struct req *r, void *p)
{
    struct compute_work *w = p;
    struct prio_state *st = r->hstate;
    if (!w->list) {
        log_error("msg=\"priorities input rejected\" request_id=%s first=\"%s: %s\"", r->id,
                  w->errs.count ? w->errs.items[0].path : "",
                  w->errs.count ? w->errs.items[0].message : "");
        compute_work_free(w);
        req_reply_problem(r, 500, "the stored data could not be scored; see the server log", NULL);
        return;
    }
    struct prio_cached *c = xcalloc(1, sizeof *c);
    atomic_store(&c->refs, 2); /* the cache's and ours */
    snprintf(c->year, sizeof c->year, "%s", st->year);
    snprintf(c->term, sizeof c->term, "%s", st->term);
    c->version = w->version;
    c->list = w->list;
    c->json_all = w->json_all;
    c->headline = w->headline;
    c->now = w->now;
    c->prev = w->prev;
    pthread_mutex_init(&c->scoped_lock, NULL);
    w->list = NULL;
    w->json_all = NULL;
    w->headline = NULL;
    w->now = w->prev = NULL;
    uint64_t db_ms = st->loaded_ms - st->load_started_ms;
    log_info("msg=\"priorities computed\" year=%s term=%s version=%lld items=%zu db_ms=%llu "
             "compute_ms=%llu",
             st->year, st->term, c->version, c->list->count, (unsigned long long)db_ms,
             (unsigned long long)w->compute_ms);
    /* Where the time went, for operators and the bench. */
    char timing[96];
    snprintf(timing, sizeof timing, "db;dur=%llu, compute;dur=%llu", (unsigned long long)db_ms,
             (unsigned long long)w->compute_ms);
    req_set_header(r, "Server-Timing", timing);
    compute_work_free(w);
    /* Compressed on the pool while the first answer goes out as it is. */
    rendered_compress_later(c->json_all);
    cache_put(c);
    metrics_add(METRIC_PRIORITIES_COMPUTED, 1);
    serve(r, c);
    cached_release(c);
}

static void on_loaded(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct prio_state *st = r->hstate;
    st->loaded_ms = now_ms();
    struct compute_work *w = xcalloc(1, sizeof *w);
    for (int q = 0; q < PQ_COUNT; q++)
        w->res[q] = db_job_take_result(job, 1 + q); /* after BEGIN */
    snprintf(w->year, sizeof w->year, "%s", st->year);
    snprintf(w->term, sizeof w->term, "%s", st->term);
    mat_errors_init(&w->errs);
    req_offload(r, compute_run, compute_done, compute_work_free, w);
}

static void load_and_serve(struct req *r)
{
    struct prio_state *st = r->hstate;
    const char *trust = req_trust_str(r);
    st->load_started_ms = now_ms();
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add_sql(job, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (int q = 0; q < PQ_COUNT; q++) {
        struct priorities_params_storage storage;
        const char *params[7];
        int n = priorities_query_params(q, trust, st->year, st->term, &storage, params);
        db_job_add(job, stmt_query[q], n, params);
    }
    db_job_add_sql(job, "COMMIT");
    req_submit(r, job, on_loaded);
}

static void on_meta(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct prio_state *st = r->hstate;
    long long version = atoll(db_val(db_job_result(job, 0), 0, 0));
    struct prio_cached *c = cache_get(st->year, st->term, version);
    if (c) {
        metrics_add(METRIC_PRIORITIES_CACHE_HITS, 1);
        req_set_header(r, "Server-Timing", "cache;desc=hit");
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
        if (!req_school_filter_ok(r, urn))
            return NULL;
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
    const char *trust = req_trust_str(r);
    const char *one[1] = {trust};
    req_submit_shared(r, stmt_query[PQ_META], 1, one, on_meta);
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

void prio_start_briefing(struct req *r)
{
    start(r, VIEW_BRIEFING);
}

void prio_start_for(struct req *r, const char *year, const char *term, prio_serve_fn custom)
{
    struct prio_state *st = xcalloc(1, sizeof *st);
    r->hstate = st;
    r->hstate_free = prio_state_free;
    st->view = VIEW_CUSTOM;
    st->custom = custom;
    snprintf(st->year, sizeof st->year, "%s", year);
    snprintf(st->term, sizeof st->term, "%s", term);
    const char *one[1] = {req_trust_str(r)};
    req_submit_shared(r, stmt_query[PQ_META], 1, one, on_meta);
}

/* ---- thresholds ---- */

static void on_thresholds(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, db_job_ncmds(job) - 1);
    json_t *o = json_pack("{s:i, s:f, s:f, s:f, s:b}", "min_cohort", ival(res, 0, 1), "z_crit",
                          dval(res, 0, 2), "gap_points", dval(res, 0, 3), "trend_points",
                          dval(res, 0, 4), "complementary_suppression", bval(res, 0, 5));
    req_reply_json(r, 200, o);
}

void h_thresholds_get(struct req *r)
{
    const char *trust = req_trust_str(r);
    const char *one[1] = {trust};
    req_submit_one(r, stmt_query[PQ_META], 1, one, on_thresholds);
}

void h_thresholds_put(struct req *r)
{
    const char *trust = req_trust_str(r);
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *put[2] = {trust, body};
    const char *one[1] = {trust};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_thresholds_put, 2, put);
    db_job_add(job, stmt_query[PQ_META], 1, one);
    free(body);
    req_submit(r, job, on_thresholds);
}
