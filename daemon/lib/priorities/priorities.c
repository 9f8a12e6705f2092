/* Trust-wide priorities: attainment cells, SEF grades, SIP themes and stuck pupils in;
 * scored, explained and ranked items with school-to-school support matches out.
 * docs/priorities.md states the formulas and every reading of the SPEC taken here. */
#include "priorities.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "geo.h"
#include "prio_index.h"
#include "prio_items.h"
#include "prio_support.h"
#include "prio_text.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Names                                                                                */

static const char *const level_names[] = {
    [PRIORITIES_LEVEL_ANY] = "any",
    [PRIORITIES_LEVEL_TRUST] = "trust",
    [PRIORITIES_LEVEL_SCHOOL] = "school",
};

static const char *const kind_names[] = {
    [PRIORITIES_KIND_ANY] = "any",
    [PRIORITIES_KIND_ATTAINMENT] = "attainment",
    [PRIORITIES_KIND_GAP] = "gap",
    [PRIORITIES_KIND_TREND] = "trend",
    [PRIORITIES_KIND_SEF] = "sef",
    [PRIORITIES_KIND_SHARED_THEME] = "shared_theme",
    [PRIORITIES_KIND_STUCK_PUPILS] = "stuck_pupils",
};

const char *priorities_level_name(enum priorities_level level)
{
    if ((size_t)level < ARRAY_LEN(level_names))
        return level_names[level];
    return "any";
}

const char *priorities_kind_name(enum priorities_kind kind)
{
    if ((size_t)kind < ARRAY_LEN(kind_names))
        return kind_names[kind];
    return "any";
}

bool priorities_level_parse(const char *s, enum priorities_level *out)
{
    for (size_t i = 1; s && i < ARRAY_LEN(level_names); i++)
        if (!strcmp(s, level_names[i])) {
            *out = (enum priorities_level)i;
            return true;
        }
    return false;
}

bool priorities_kind_parse(const char *s, enum priorities_kind *out)
{
    for (size_t i = 1; s && i < ARRAY_LEN(kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *out = (enum priorities_kind)i;
            return true;
        }
    return false;
}

/* ------------------------------------------------------------------------------------ */
/* Formulas (SPEC 6.1)                                                                  */

void priorities_thresholds_default(struct priorities_thresholds *t)
{
    t->min_cohort = 6;
    t->z_crit = 1.96;
    t->gap_points = 10.0;
    t->trend_points = 10.0;
    t->complementary_suppression = false;
}

int priorities_deficit(double b, int n, int k)
{
    /* b * n is often an integer that binary floating point misses by one ulp
     * (0.56 * 100 = 56.00000000000001); benchmarks carry at most a few decimals, so a
     * true fractional part is never within 1e-9 of an integer. */
    double need = ceil(b * (double)n - PRIO_EPS);
    double d = need - (double)k;
    return d > 0 ? (int)d : 0;
}

void priorities_cell_eval(int n, int k, bool has_b, double b, bool b_fallback,
                          const struct priorities_thresholds *t,
                          struct priorities_cell_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = k;
    out->p = n > 0 ? (double)k / (double)n : 0.0;
    if (!has_b)
        return;
    out->has_b = true;
    out->b_fallback = b_fallback;
    out->b = b;
    out->gap = out->p - b;
    out->deficit = priorities_deficit(b, n, k);
    if (n > 0 && b > 0.0 && b < 1.0) {
        out->has_z = true;
        out->z = (out->p - b) / sqrt(b * (1.0 - b) / (double)n);
        if (n >= t->min_cohort) {
            out->below = out->z <= -t->z_crit + PRIO_EPS;
            out->above = out->z >= t->z_crit - PRIO_EPS;
        }
    }
}

double priorities_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    return geo_haversine_km(lat1, lon1, lat2, lon2);
}

/* The id with a digest context that the caller may reuse (NULL: a one-off). */
static void item_id_with(EVP_MD_CTX *ctx, const EVP_MD *md, const char *kind, const char *scope,
                         const char *topic, const char *group, char out[17])
{
    const char *parts[] = {kind, scope, topic, group};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *own = ctx ? NULL : EVP_MD_CTX_new();
    if (!ctx)
        ctx = own;
    if (!ctx || !EVP_DigestInit_ex(ctx, md ? md : EVP_sha256(), NULL))
        fatal("SHA-256 unavailable");
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        if (i)
            EVP_DigestUpdate(ctx, "|", 1);
        if (parts[i])
            EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
    }
    if (!EVP_DigestFinal_ex(ctx, digest, &len) || len < 8)
        fatal("SHA-256 failed");
    EVP_MD_CTX_free(own);
    hex_encode(digest, 8, out);
}

void priorities_item_id(const char *kind, const char *scope, const char *topic, const char *group,
                        char out[17])
{
    item_id_with(NULL, NULL, kind, scope, topic, group, out);
}

/* ------------------------------------------------------------------------------------ */
/* Ordering, ids, lists                                                                 */

static void item_set_id(struct ctx *c, struct priorities_item *it)
{
    const char *topic = it->subject ? it->subject : (it->area ? it->area : it->theme);
    item_id_with(c->mdctx, c->md, priorities_kind_name(it->kind),
                 it->level == PRIORITIES_LEVEL_TRUST ? "trust" : it->urn, topic, it->group, it->id);
}

/* Sorting on a contiguous copy of the keys: the items themselves are scattered. */
struct sort_key {
    int64_t score;
    char id[17];
    struct priorities_item *item;
};

static int cmp_sort_key(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return memcmp(x->id, y->id, sizeof x->id);
}

static void sort_items(struct ctx *c)
{
    if (!c->nitems)
        return;
    struct sort_key *keys = xmalloc(c->nitems * sizeof *keys);
    for (size_t i = 0; i < c->nitems; i++) {
        keys[i].score = c->items[i]->score_hundredths;
        memcpy(keys[i].id, c->items[i]->id, sizeof keys[i].id);
        keys[i].item = c->items[i];
    }
    qsort(keys, c->nitems, sizeof *keys, cmp_sort_key);
    for (size_t i = 0; i < c->nitems; i++)
        c->items[i] = keys[i].item;
    free(keys);
}

void priorities_list_free(struct priorities_list *list)
{
    if (!list)
        return;
    if (list->owns_items)
        arena_free(list->arena);
    arena_free(list->copies);
    free(list->items);
    free(list->year);
    free(list->term);
    free(list);
}

static void ctx_free(struct ctx *c)
{
    prio_strtab_free(&c->urns);
    prio_strtab_free(&c->subjects);
    prio_strtab_free(&c->groups);
    prio_strtab_free(&c->phases);
    prio_strtab_free(&c->areas);
    prio_strtab_free(&c->themes);
    strbuf_free(&c->sb);
    EVP_MD_CTX_free(c->mdctx);
    EVP_MD_free(c->md);
    free(c->sch);
    free(c->cur_rows);
    free(c->prev_rows);
    free(c->cur);
    free(c->prev);
    free(c->cm);
    free(c->bench);
    free(c->has_bench);
    free(c->sef_row);
    free(c->sef_canon);
    prio_support_index_free(&c->above);
    prio_support_index_free(&c->strong);
    free(c->reason_cell);
    free(c->reason_cell_plain);
    free(c->reason_sef);
    free(c->tmp);
    free(c->items);
    arena_free(c->arena);
}

int priorities_compute(const struct priorities_input *in, struct priorities_list **out,
                       struct mat_errors *err)
{
    *out = NULL;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.t = &in->thresholds;
    c.err = err;
    c.arena = arena_new();
    strbuf_init(&c.sb);
    prio_strtab_init(&c.urns);
    prio_strtab_init(&c.subjects);
    prio_strtab_init(&c.groups);
    prio_strtab_init(&c.phases);
    prio_strtab_init(&c.areas);
    prio_strtab_init(&c.themes);
    if (!prio_index_inputs(&c)) {
        ctx_free(&c);
        return -1;
    }
    c.md = EVP_MD_fetch(NULL, "SHA256", NULL);
    c.mdctx = EVP_MD_CTX_new();
    if (!c.md || !c.mdctx)
        fatal("SHA-256 unavailable");
    prio_text_names(&c);
    prio_index_evaluate(&c);
    prio_items_build(&c);
    prio_support_build(&c);
    for (size_t i = 0; i < c.nitems; i++) {
        struct priorities_item *it = c.items[i];
        if (it->level == PRIORITIES_LEVEL_SCHOOL)
            prio_support_for_item(&c, it);
        item_set_id(&c, it);
    }
    sort_items(&c);

    struct priorities_list *list = xcalloc(1, sizeof *list);
    list->year = xstrdup(in->year);
    list->term = xstrdup(in->term);
    list->items = c.items;
    list->count = c.nitems;
    list->owns_items = true;
    list->arena = c.arena;
    c.items = NULL;
    c.arena = NULL;
    ctx_free(&c);
    *out = list;
    return 0;
}
