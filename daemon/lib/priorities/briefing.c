/* The CEO's briefing: selection (diversity), headline sums, schools of concern, and the
 * document. docs/priorities.md describes every field. */
#include "briefing.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prio_index.h"
#include "util.h"

/* ---- diversity (SPEC 6.3) ---- */

/* Same subject (or SEF area, or theme: each compared only with its own kind of topic) and
 * the same scope. A shared "writing" theme is not the trust's writing attainment. */
static bool same_topic_and_scope(const struct priorities_item *a, const struct priorities_item *b)
{
    if (a->level != b->level)
        return false;
    if (a->level == PRIORITIES_LEVEL_SCHOOL && strcmp(a->urn, b->urn))
        return false;
    if (a->subject && b->subject)
        return !strcmp(a->subject, b->subject);
    if (a->area && b->area)
        return !strcmp(a->area, b->area);
    return a->theme && b->theme && !strcmp(a->theme, b->theme);
}

struct priorities_list *briefing_diverse(const struct priorities_list *list, size_t limit,
                                         size_t per_kind)
{
    struct priorities_filter all = {0};
    struct priorities_list *v = priorities_filter(list, &all);
    size_t kept = 0, per[PRIORITIES_KIND_STUCK_PUPILS + 1] = {0};
    for (size_t i = 0; i < v->count && kept < limit; i++) {
        struct priorities_item *it = v->items[i];
        if ((size_t)it->kind < ARRAY_LEN(per) && per[it->kind] >= per_kind)
            continue;
        bool clash = false;
        for (size_t j = 0; j < kept && !clash; j++)
            clash = same_topic_and_scope(v->items[j], it);
        if (clash)
            continue;
        if ((size_t)it->kind < ARRAY_LEN(per))
            per[it->kind]++;
        v->items[kept++] = it;
    }
    v->count = kept;
    return v;
}

/* ---- headline ---- */

struct hl_row {
    char *urn; /* NULL: the trust */
    char *subject;
    char *key; /* urn (or "" for the trust), US, subject: its name in the index */
    int n, k;
    bool has_prev;
    int pn, pk;
};

struct hl_bench {
    char *subject;
    double b;
};

struct briefing_headline {
    struct hl_row *rows;
    size_t n, cap;
    int min_cohort;
    struct strtab index; /* key -> row: 2,000 schools make 12,000 rows, looked up twice each */
    struct hl_bench *bench;
    size_t nb;
};

static bool is_trust_scope(const char *scope)
{
    return !scope || !*scope;
}

static char *hl_key(const char *scope, const char *subject, char *buf, size_t len)
{
    snprintf(buf, len, "%s\x1f%s", is_trust_scope(scope) ? "" : scope, subject);
    return buf;
}

static struct hl_row *hl_find(struct briefing_headline *h, const char *scope, const char *subject)
{
    char key[256];
    int id = prio_strtab_find(&h->index, hl_key(scope, subject, key, sizeof key));
    return id < 0 ? NULL : &h->rows[id];
}

static struct hl_row *hl_add(struct briefing_headline *h, const char *scope, const char *subject)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->rows = xrealloc(h->rows, h->cap * sizeof *h->rows);
    }
    struct hl_row *r = &h->rows[h->n++];
    memset(r, 0, sizeof *r);
    r->urn = is_trust_scope(scope) ? NULL : xstrdup(scope);
    r->subject = xstrdup(subject);
    char key[256];
    r->key = xstrdup(hl_key(scope, subject, key, sizeof key));
    prio_strtab_intern(&h->index, r->key); /* its id is the row's index */
    return r;
}

struct briefing_headline *briefing_headline_collect(const struct priorities_input *in)
{
    struct briefing_headline *h = xcalloc(1, sizeof *h);
    h->min_cohort = in->thresholds.min_cohort;
    prio_strtab_init(&h->index);
    for (size_t i = 0; i < in->n_cells; i++) {
        const struct priorities_cell *c = &in->cells[i];
        if (!c->subject || !c->group || strcmp(c->group, "all") || c->n <= 0)
            continue;
        if (!hl_find(h, c->scope, c->subject)) {
            struct hl_row *r = hl_add(h, c->scope, c->subject);
            r->n = c->n;
            r->k = c->k;
        }
    }
    for (size_t i = 0; i < in->n_prev_cells; i++) {
        const struct priorities_cell *c = &in->prev_cells[i];
        if (!c->subject || !c->group || strcmp(c->group, "all") || c->n <= 0)
            continue;
        struct hl_row *r = hl_find(h, c->scope, c->subject);
        if (r && !r->has_prev) {
            r->has_prev = true;
            r->pn = c->n;
            r->pk = c->k;
        }
    }
    h->bench = xcalloc(in->n_benchmarks + 1, sizeof *h->bench);
    for (size_t i = 0; i < in->n_benchmarks; i++) {
        const struct priorities_benchmark *b = &in->benchmarks[i];
        if (b->subject && b->group && !strcmp(b->group, "all")) {
            h->bench[h->nb].subject = xstrdup(b->subject);
            h->bench[h->nb++].b = b->expected;
        }
    }
    return h;
}

void briefing_headline_free(struct briefing_headline *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->rows[i].urn);
        free(h->rows[i].subject);
        free(h->rows[i].key);
    }
    prio_strtab_free(&h->index);
    for (size_t i = 0; i < h->nb; i++)
        free(h->bench[i].subject);
    free(h->rows);
    free(h->bench);
    free(h);
}

static bool in_scope(const struct briefing_input *in, const char *urn)
{
    if (!in->scope)
        return true;
    for (size_t i = 0; i < in->n_scope; i++)
        if (!strcmp(in->scope[i], urn))
            return true;
    return false;
}

/* A fraction rounded to 4 decimals, as every figure of the priorities is. */
static json_t *frac(double x)
{
    return json_real(round(x * 10000.0) / 10000.0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A headline cohort withheld from the reader: under min_cohort, or withheld to protect
 * another (the mask of its term; the trust's row, or the executive head's schools summed). */
static bool headline_withheld(const struct briefing_input *in, const struct suppress_mask *m,
                              const char *subject, long n)
{
    if (n < in->headline->min_cohort)
        return true;
    const char *scope = in->scope ? SUPPRESS_SUBSET : SUPPRESS_TRUST;
    return in->cohort && suppress_withheld(m, scope, subject, NULL, "all");
}

/* n, or "<min_cohort" when withheld (as the summaries show it). */
static json_t *cohort_n(const struct briefing_input *in, long n, bool withheld)
{
    if (!withheld)
        return json_integer(n);
    char text[16];
    snprintf(text, sizeof text, "<%d", in->headline->min_cohort);
    return json_string(text);
}

/* One subject's row summed over the scope: the trust's own row, or the schools'. The
 * figures of a withheld cohort, and everything worked out from them (the difference from
 * the national figure, the change), are left out. */
static json_t *headline_subject(const struct briefing_input *in, const char *subject)
{
    const struct briefing_headline *h = in->headline;
    long n = 0, k = 0, pn = 0, pk = 0;
    bool prev = true;
    for (size_t i = 0; i < h->n; i++) {
        const struct hl_row *r = &h->rows[i];
        if (strcmp(r->subject, subject))
            continue;
        if (in->scope ? !r->urn || !in_scope(in, r->urn) : r->urn != NULL)
            continue;
        n += r->n;
        k += r->k;
        prev = prev && r->has_prev;
        pn += r->pn;
        pk += r->pk;
    }
    if (n == 0)
        return NULL;
    bool hide = headline_withheld(in, in->cohort ? in->cohort->now : NULL, subject, n);
    double p = (double)k / (double)n;
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:o}", "subject", subject, "n", cohort_n(in, n, hide), "k",
                  hide ? json_null() : json_integer(k), "p", hide ? json_null() : frac(p));
    const struct hl_bench *b = NULL;
    for (size_t i = 0; i < h->nb && !b; i++)
        if (!strcmp(h->bench[i].subject, subject))
            b = &h->bench[i];
    json_object_set_new(o, "b", b ? frac(b->b) : json_null());
    json_object_set_new(o, "vs_national", b && !hide ? frac(p - b->b) : json_null());
    bool has_prev = prev && pn > 0;
    bool hide_prev =
        has_prev && headline_withheld(in, in->cohort ? in->cohort->prev : NULL, subject, pn);
    double pp = has_prev ? (double)pk / (double)pn : 0;
    json_object_set_new(o, "n_prev", has_prev ? cohort_n(in, pn, hide_prev) : json_null());
    json_object_set_new(o, "p_prev", has_prev && !hide_prev ? frac(pp) : json_null());
    json_object_set_new(o, "change", has_prev && !hide && !hide_prev ? frac(p - pp) : json_null());
    return o;
}

static json_t *headline_json(const struct briefing_input *in)
{
    const struct briefing_headline *h = in->headline;
    const char **subjects = xcalloc(h->n + 1, sizeof *subjects);
    size_t ns = 0;
    for (size_t i = 0; i < h->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < ns && !seen; j++)
            seen = !strcmp(subjects[j], h->rows[i].subject);
        if (!seen)
            subjects[ns++] = h->rows[i].subject;
    }
    qsort(subjects, ns, sizeof *subjects, cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < ns; i++) {
        json_t *row = headline_subject(in, subjects[i]);
        if (row)
            json_array_append_new(a, row);
    }
    free(subjects);
    return a;
}

/* ---- schools of concern ---- */

struct concern {
    const struct briefing_school *school;
    int64_t score; /* hundredths */
    size_t items;
    const struct priorities_item *top[BRIEFING_REASONS];
    size_t ntop;
};

static int cmp_concern(const void *a, const void *b)
{
    const struct concern *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->school->category != y->school->category)
        return x->school->category ? -1 : 1;
    return strcmp(x->school->urn, y->school->urn);
}

static json_t *concern_json(const struct concern *c)
{
    json_t *reasons = json_array();
    for (size_t i = 0; i < c->ntop; i++)
        json_array_append_new(reasons, json_string(c->top[i]->rationale));
    return json_pack("{s:s, s:s, s:f, s:I, s:b, s:I, s:o}", "urn", c->school->urn, "name",
                     c->school->name ? c->school->name : c->school->urn, "score",
                     (double)c->score / 100.0, "items", (json_int_t)c->items, "category",
                     c->school->category, "overdue", (json_int_t)c->school->overdue, "reasons",
                     reasons);
}

/* Schools ranked by the summed score of their school-level items (the list is in score
 * order, so each school's first items are its top reasons); a school in category with no
 * item still appears, last. */
static json_t *concern_list(const struct briefing_input *in)
{
    struct concern *cs = xcalloc(in->n_schools + 1, sizeof *cs);
    for (size_t s = 0; s < in->n_schools; s++)
        cs[s].school = &in->schools[s];
    for (size_t i = 0; i < in->list->count; i++) {
        const struct priorities_item *it = in->list->items[i];
        if (it->level != PRIORITIES_LEVEL_SCHOOL)
            continue;
        for (size_t s = 0; s < in->n_schools; s++) {
            if (strcmp(cs[s].school->urn, it->urn))
                continue;
            cs[s].score += it->score_hundredths;
            cs[s].items++;
            if (cs[s].ntop < BRIEFING_REASONS)
                cs[s].top[cs[s].ntop++] = it;
            break;
        }
    }
    qsort(cs, in->n_schools, sizeof *cs, cmp_concern);
    json_t *a = json_array();
    for (size_t s = 0; s < in->n_schools; s++)
        if (cs[s].items || cs[s].school->category)
            json_array_append_new(a, concern_json(&cs[s]));
    free(cs);
    return a;
}

/* ---- the document ---- */

static json_t *triads_json(const struct briefing_input *in)
{
    json_t *a = json_array();
    for (size_t i = 0; i < in->n_triads; i++) {
        const struct briefing_triad *t = &in->triads[i];
        json_t *members = json_array();
        for (size_t m = 0; m < t->n_members; m++)
            json_array_append_new(members, json_string(t->members[m]));
        json_array_append_new(a, json_pack("{s:I, s:i, s:s, s:o, s:s}", "rota_id",
                                           (json_int_t)t->rota_id, "triad", t->triad, "host",
                                           t->host, "members", members, "review",
                                           t->review_in ? "in" : "awaited"));
    }
    return a;
}

static json_t *priorities_part(const struct briefing_input *in)
{
    struct priorities_list *top = briefing_diverse(in->list, BRIEFING_ITEMS, BRIEFING_PER_KIND);
    char *text = priorities_to_json(top, in->opts, NULL);
    priorities_list_free(top);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    free(text);
    if (!doc)
        fatal("briefing: the priorities writer produced invalid JSON");
    json_t *items = json_incref(json_object_get(doc, "items"));
    json_decref(doc);
    return items;
}

char *briefing_to_json(const struct briefing_input *in, size_t *len)
{
    json_t *scope = json_array();
    for (size_t i = 0; in->scope && i < in->n_scope; i++)
        json_array_append_new(scope, json_string(in->scope[i]));
    json_t *doc = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}, s:o}", "year", in->year, "term",
        in->term, "scope", in->scope ? scope : (json_decref(scope), json_string("trust")),
        "headline", headline_json(in), "priorities", priorities_part(in), "schools_of_concern",
        concern_list(in), "monitoring", "overdue", (json_int_t)in->monitoring.overdue,
        "due_this_term", (json_int_t)in->monitoring.due_this_term, "at_risk",
        (json_int_t)in->monitoring.at_risk, "triads", triads_json(in));
    if (!doc)
        fatal("briefing: bad document template");
    char *out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(doc);
    if (!out)
        fatal("briefing: json_dumps failed");
    if (len)
        *len = strlen(out);
    return out;
}
