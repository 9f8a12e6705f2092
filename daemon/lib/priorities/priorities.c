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
#include "util.h"

/* Tolerance for comparisons against thresholds: 0.25 - 0.15 lands a hair under 0.1 in
 * binary floating point, and a trust's "10 points" must mean 10 points. */
#define PRIO_EPS 1e-9
#define DEG_TO_RAD (3.14159265358979323846 / 180.0)
/* Bound on the dense (subject, group, scope) index: 2,000 schools x 6 subjects x 13
 * groups is 156k; this allows two orders of magnitude more. */
#define MAX_DENSE_CELLS (64u * 1024u * 1024u)

/* Appends without a call when the buffer has room: the writers make millions of tiny
 * appends. */
static inline void sb_put(struct strbuf *sb, const char *p, size_t n)
{
    if (sb->len + n < sb->cap) {
        memcpy(sb->data + sb->len, p, n);
        sb->len += n;
        sb->data[sb->len] = '\0';
    } else {
        strbuf_append(sb, p, n);
    }
}

static inline void sb_str(struct strbuf *sb, const char *s)
{
    sb_put(sb, s, strlen(s));
}

/* Appends a string literal without a strlen. */
#define SB_LIT(sb, lit) sb_put((sb), (lit), sizeof(lit) - 1)

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
/* Arena: every item, string and array of a list lives here and goes in one free        */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct priorities_arena {
    struct arena_chunk *head;
};

static void *arena_alloc(struct priorities_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct arena_chunk *ch = a->head;
    if (!ch || ch->cap - ch->used < n) {
        size_t cap = ch ? ch->cap * 2 : 16384;
        if (cap > 1024 * 1024)
            cap = 1024 * 1024;
        if (cap < n)
            cap = n;
        ch = xmalloc(sizeof *ch + cap);
        ch->next = a->head;
        ch->used = 0;
        ch->cap = cap;
        a->head = ch;
    }
    void *p = (char *)ch->data + ch->used;
    ch->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(struct priorities_arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

static char *arena_strdup(struct priorities_arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

static void arena_free(struct priorities_arena *a)
{
    if (!a)
        return;
    for (struct arena_chunk *ch = a->head, *next; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    free(a);
}

/* ------------------------------------------------------------------------------------ */
/* String interning: open addressing, FNV-1a; keys are borrowed                         */

struct strtab {
    int *slots; /* id + 1; 0 = empty */
    size_t cap; /* power of two, at least twice count */
    const char **names;
    size_t count, names_cap;
    int last; /* the last id returned: input rows repeat a value many times in a row */
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void strtab_init(struct strtab *t)
{
    t->cap = 64;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
    t->names = NULL;
    t->count = t->names_cap = 0;
    t->last = -1;
}

static void strtab_free(struct strtab *t)
{
    free(t->slots);
    free(t->names);
}

static int strtab_find(struct strtab *t, const char *s)
{
    if (t->last >= 0 && !strcmp(t->names[t->last], s))
        return t->last;
    size_t mask = t->cap - 1;
    for (size_t i = str_hash(s) & mask;; i = (i + 1) & mask) {
        int v = t->slots[i];
        if (!v)
            return -1;
        if (!strcmp(t->names[v - 1], s))
            return t->last = v - 1;
    }
}

static void strtab_place(int *slots, size_t cap, const char *s, int id)
{
    size_t i = str_hash(s) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = id + 1;
}

static int strtab_intern(struct strtab *t, const char *s)
{
    int id = strtab_find(t, s);
    if (id >= 0)
        return id;
    if ((t->count + 1) * 2 > t->cap) {
        size_t cap = t->cap * 2;
        int *slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < t->count; i++)
            strtab_place(slots, cap, t->names[i], (int)i);
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    if (t->count == t->names_cap) {
        t->names_cap = t->names_cap ? t->names_cap * 2 : 16;
        t->names = xrealloc(t->names, t->names_cap * sizeof *t->names);
    }
    t->names[t->count] = s;
    strtab_place(t->slots, t->cap, s, (int)t->count);
    return t->last = (int)t->count++;
}

/* ------------------------------------------------------------------------------------ */
/* SEF areas: the 2019 key judgements read as the 2025 area they became                 */

static const struct {
    const char *from, *to;
} sef_area_map[] = {
    {"quality_of_education", "curriculum_and_teaching"},
    {"behaviour_and_attitudes", "attendance_and_behaviour"},
    {"personal_development", "personal_development_and_wellbeing"},
    {"leadership_and_management", "leadership_and_governance"},
    {"sixth_form", "post_16"},
};

static const char *sef_canonical_area(const char *area)
{
    for (size_t i = 0; i < ARRAY_LEN(sef_area_map); i++)
        if (!strcmp(area, sef_area_map[i].from))
            return sef_area_map[i].to;
    return area;
}

/* ------------------------------------------------------------------------------------ */
/* Computation context                                                                  */

struct school_rec {
    const struct priorities_school *s;
    int phase;         /* id in ctx.phases, -1 unknown */
    double ux, uy, uz; /* unit vector, for ranking by distance without trigonometry */
    char *urn;         /* arena copies shared by every item */
    char *display;     /* name, or the URN when there is none */
};

/* Schools per (key, phase), URN order within each: CSR with one slot per key and phase,
 * unknown phase last. */
struct cand_index {
    size_t nphase; /* known phases; slots per key = nphase + 1 */
    int32_t *off;
    int32_t *list;
};

struct cell_row {
    int subj, grp, scope; /* scope 0 = trust, s + 1 = school s; subj -1 = row ignored */
};

struct ctx {
    const struct priorities_input *in;
    const struct priorities_thresholds *t;
    struct mat_errors *err;
    size_t nerr;
    struct priorities_arena *arena;
    struct strbuf sb; /* scratch for sentences */
    EVP_MD *md;
    EVP_MD_CTX *mdctx;

    size_t ns; /* schools, sorted by URN */
    struct school_rec *sch;
    struct strtab urns, subjects, groups, phases, areas, themes;
    size_t nsubj, ngrp, nscope;
    int grp_all, grp_dis, grp_nd;
    /* arena copies of the names, by id, and how subjects and groups read in a sentence */
    char **subj_name, **subj_title, **subj_lower, **grp_name, **grp_phrase, **area_name,
        **theme_name;

    struct cell_row *cur_rows, *prev_rows;
    int32_t *cur, *prev;                /* (subj, grp, scope) -> row, -1 none */
    struct priorities_cell_metrics *cm; /* per current row */
    double *bench;                      /* (subj, grp) */
    unsigned char *has_bench;

    int32_t *sef_row;       /* (area, school) -> row of in->sef, -1 none */
    const char **sef_canon; /* per row of in->sef: canonical area or NULL (ignored) */

    /* support candidates: cells significantly above, SEF areas graded 4 or 5 */
    struct cand_index above, strong;
    char **reason_cell; /* per current row: why that school gives support (lazily) */
    char **reason_sef;  /* per SEF row */

    int *tmp; /* scratch, ns */

    struct priorities_item **items;
    size_t nitems, items_cap;
};

static void cerr(struct ctx *c, const char *path, const char *msg)
{
    c->nerr++;
    if (c->err)
        mat_errors_add(c->err, path, "%s", msg);
}

static void cerrf(struct ctx *c, const char *list, size_t row, const char *field, const char *msg)
{
    char path[96];
    if (field)
        snprintf(path, sizeof path, "/%s/%zu/%s", list, row, field);
    else
        snprintf(path, sizeof path, "/%s/%zu", list, row);
    cerr(c, path, msg);
}

static size_t cell_slot(const struct ctx *c, int subj, int grp, int scope)
{
    return ((size_t)subj * c->ngrp + (size_t)grp) * c->nscope + (size_t)scope;
}

static int32_t cur_row(const struct ctx *c, int subj, int grp, int scope)
{
    if (subj < 0 || grp < 0)
        return -1;
    return c->cur[cell_slot(c, subj, grp, scope)];
}

static const struct priorities_cell_metrics *cur_metrics(const struct ctx *c, int subj, int grp,
                                                         int scope)
{
    int32_t row = cur_row(c, subj, grp, scope);
    return row < 0 ? NULL : &c->cm[row];
}

static const struct priorities_cell *prev_cell(const struct ctx *c, int subj, int grp, int scope)
{
    if (subj < 0 || grp < 0)
        return NULL;
    int32_t row = c->prev[cell_slot(c, subj, grp, scope)];
    return row < 0 ? NULL : &c->in->prev_cells[row];
}

static int cmp_school_rec(const void *a, const void *b)
{
    const struct school_rec *x = a, *y = b;
    return strcmp(x->s->urn, y->s->urn);
}

static bool str_ok(const char *s)
{
    return s && *s;
}

/* ------------------------------------------------------------------------------------ */
/* Text                                                                                 */

static void sb_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

/* The scratch sentence, copied into the arena; the scratch is reset. */
static char *sb_take(struct ctx *c)
{
    char *p = arena_strndup(c->arena, c->sb.data ? c->sb.data : "", c->sb.len);
    sb_reset(&c->sb);
    return p;
}

static void sb_long(struct strbuf *sb, long v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    sb_put(sb, p, (size_t)(buf + sizeof buf - p));
}

/* How a vocabulary word reads inside a sentence; anything else reads with '_' as ' '. */
static const struct {
    const char *key, *text;
} display_words[] = {
    {"gps", "grammar, punctuation and spelling"},
    {"spag", "spelling, punctuation and grammar"},
    {"english", "English"},
    {"english_language", "English language"},
    {"english_literature", "English literature"},
    {"french", "French"},
    {"german", "German"},
    {"spanish", "Spanish"},
    {"ict", "ICT"},
    {"pe", "PE"},
    {"re", "RE"},
    {"pshe", "PSHE"},
    {"rse", "RSE"},
    {"send", "SEND"},
    {"sen", "SEN"},
    {"cpd", "CPD"},
    {"eal", "EAL"},
    {"ehcp", "EHCP"},
    {"post_16", "post-16"},
    {"rwm", "reading, writing and maths"},
};

static void put_words(struct strbuf *sb, const char *s, bool capital)
{
    const char *text = NULL;
    for (size_t i = 0; i < ARRAY_LEN(display_words); i++)
        if (!strcmp(s, display_words[i].key))
            text = display_words[i].text;
    size_t start = sb->len;
    if (text)
        sb_str(sb, text);
    else
        for (const char *p = s; *p; p++)
            sb_put(sb, *p == '_' ? " " : p, 1);
    if (capital && sb->len > start && sb->data[start] >= 'a' && sb->data[start] <= 'z')
        sb->data[start] = (char)(sb->data[start] - 'a' + 'A');
}

static void put_group(struct strbuf *sb, const char *group)
{
    static const struct {
        const char *key, *text;
    } groups[] = {
        {"all", "pupils"},
        {"disadvantaged", "disadvantaged pupils"},
        {"not_disadvantaged", "non-disadvantaged pupils"},
        {"send", "pupils with SEND"},
        {"send_support", "pupils on SEN support"},
        {"ehcp", "pupils with an EHC plan"},
        {"eal", "pupils with English as an additional language"},
        {"looked_after", "looked-after children"},
        {"girls", "girls"},
        {"boys", "boys"},
        {"prior_low", "low prior attainers"},
        {"prior_middle", "middle prior attainers"},
        {"prior_high", "high prior attainers"},
    };
    for (size_t i = 0; i < ARRAY_LEN(groups); i++)
        if (!strcmp(group, groups[i].key)) {
            sb_str(sb, groups[i].text);
            return;
        }
    SB_LIT(sb, "pupils in the group ");
    put_words(sb, group, false);
}

/* A percentage to whole points, or to one decimal when that is needed to tell it from
 * the figure it is compared with. */
static void put_pct(struct strbuf *sb, double x, double versus)
{
    double a = floor(x * 100.0 + 0.5), b = floor(versus * 100.0 + 0.5);
    if (a == b && fabs(x - versus) > PRIO_EPS) {
        strbuf_printf(sb, "%.1f%%", floor(x * 1000.0 + 0.5) / 10.0);
    } else {
        sb_long(sb, (long)a);
        SB_LIT(sb, "%");
    }
}

static long points(double fraction)
{
    return lround(fraction * 100.0);
}

static void put_count(struct strbuf *sb, long n, const char *one, const char *many)
{
    sb_long(sb, n);
    SB_LIT(sb, " ");
    sb_str(sb, n == 1 ? one : many);
}

static void put_school(struct strbuf *sb, const struct ctx *c, int s)
{
    const char *name = c->sch[s].s->name;
    if (str_ok(name)) {
        sb_str(sb, name);
    } else {
        SB_LIT(sb, "school ");
        sb_str(sb, c->sch[s].urn);
    }
}

/* "Writing at Claremont Primary" or "Writing". */
static void put_subject_scope(struct strbuf *sb, const struct ctx *c, int subj, int scope)
{
    sb_str(sb, c->subj_title[subj]);
    if (scope) {
        SB_LIT(sb, " at ");
        put_school(sb, c, scope - 1);
    }
}

/* "59% nationally" or "the trust average of 59% for all pupils (no national benchmark is
 * set for this group)". */
static void put_benchmark(struct strbuf *sb, const struct priorities_cell_metrics *m)
{
    if (!m->b_fallback) {
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " nationally");
    } else {
        SB_LIT(sb, "the trust average of ");
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " for all pupils (no national benchmark is set for this group)");
    }
}

static void put_breadth(struct strbuf *sb, size_t n, const char *what)
{
    if (n == 0) {
        SB_LIT(sb, ", though no single school is ");
        sb_str(sb, what);
        SB_LIT(sb, " on its own");
    } else {
        SB_LIT(sb, ", with ");
        put_count(sb, (long)n, "school ", "schools ");
        sb_str(sb, what);
        sb_str(sb, n == 1 ? " on its own" : " on their own");
    }
}

/* "2024-25" from "2025-26"; false when the year does not parse. */
static bool previous_year(const char *year, char out[16])
{
    int y, yy;
    char tail;
    if (!year || sscanf(year, "%4d-%2d%c", &y, &yy, &tail) != 2 || y < 1901 || y > 9999)
        return false;
    snprintf(out, 16, "%d-%02d", y - 1, y % 100);
    return true;
}

static void put_grade(struct strbuf *sb, const struct priorities_sef_area *a)
{
    if (str_ok(a->grade))
        put_words(sb, a->grade, false);
    else
        strbuf_printf(sb, "grade %d", a->ordinal);
}

/* ------------------------------------------------------------------------------------ */
/* Validation and indexing                                                              */

static void index_schools(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    c->sch = xcalloc(in->n_schools + 1, sizeof *c->sch);
    size_t ns = 0;
    for (size_t i = 0; i < in->n_schools; i++) {
        const struct priorities_school *s = &in->schools[i];
        if (!str_ok(s->urn)) {
            cerrf(c, "schools", i, "urn", "a school needs a URN");
            continue;
        }
        if (s->has_location && (!isfinite(s->lat) || !isfinite(s->lon) || s->lat < -90 ||
                                s->lat > 90 || s->lon < -180 || s->lon > 180)) {
            cerrf(c, "schools", i, "lat", "latitude/longitude out of range");
            continue;
        }
        c->sch[ns++].s = s;
    }
    qsort(c->sch, ns, sizeof *c->sch, cmp_school_rec);
    c->ns = ns;
    for (size_t i = 0; i < ns; i++) {
        struct school_rec *r = &c->sch[i];
        if (i > 0 && !strcmp(r->s->urn, c->sch[i - 1].s->urn))
            cerr(c, "/schools", "duplicate school URN");
        strtab_intern(&c->urns, r->s->urn);
        r->phase = str_ok(r->s->phase) ? strtab_intern(&c->phases, r->s->phase) : -1;
        r->urn = arena_strdup(c->arena, r->s->urn);
        r->display = str_ok(r->s->name) ? arena_strdup(c->arena, r->s->name) : r->urn;
        if (r->s->has_location) {
            double la = r->s->lat * DEG_TO_RAD, lo = r->s->lon * DEG_TO_RAD;
            r->ux = cos(la) * cos(lo);
            r->uy = cos(la) * sin(lo);
            r->uz = sin(la);
        }
    }
    c->nscope = ns + 1;
    c->tmp = xcalloc(ns + 1, sizeof *c->tmp);
}

/* Scope index of a cell row: 0 trust, s + 1 school s, -1 a school not in the list. */
static int scope_index(struct ctx *c, const char *scope)
{
    if (!scope || !*scope)
        return 0;
    int s = strtab_find(&c->urns, scope);
    return s < 0 ? -1 : s + 1;
}

static void intern_cells(struct ctx *c, const char *list, const struct priorities_cell *cells,
                         size_t n, struct cell_row *rows)
{
    for (size_t i = 0; i < n; i++) {
        const struct priorities_cell *cl = &cells[i];
        rows[i].subj = -1;
        if (!str_ok(cl->subject)) {
            cerrf(c, list, i, "subject", "a cell needs a subject");
            continue;
        }
        if (!str_ok(cl->group)) {
            cerrf(c, list, i, "group", "a cell needs a group");
            continue;
        }
        if (cl->n < 0 || cl->k < 0 || cl->k > cl->n) {
            cerrf(c, list, i, "k", "a cell needs 0 <= k <= n");
            continue;
        }
        if (cl->gd < 0 || cl->gd > cl->n) {
            cerrf(c, list, i, "gd", "a cell needs 0 <= gd <= n");
            continue;
        }
        int scope = scope_index(c, cl->scope);
        if (scope < 0)
            continue;
        rows[i].subj = strtab_intern(&c->subjects, cl->subject);
        rows[i].grp = strtab_intern(&c->groups, cl->group);
        rows[i].scope = scope;
    }
}

static void place_cells(struct ctx *c, const char *list, const struct cell_row *rows, size_t n,
                        int32_t *dense)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i].subj < 0)
            continue;
        size_t slot = cell_slot(c, rows[i].subj, rows[i].grp, rows[i].scope);
        if (dense[slot] >= 0) {
            cerrf(c, list, i, NULL, "duplicate cell for this scope, subject and group");
            continue;
        }
        dense[slot] = (int32_t)i;
    }
}

static char **arena_names(struct ctx *c, const struct strtab *t)
{
    char **v = arena_alloc(c->arena, (t->count + 1) * sizeof *v);
    for (size_t i = 0; i < t->count; i++)
        v[i] = arena_strdup(c->arena, t->names[i]);
    return v;
}

static void name_tables(struct ctx *c)
{
    c->subj_name = arena_names(c, &c->subjects);
    c->grp_name = arena_names(c, &c->groups);
    c->area_name = arena_names(c, &c->areas);
    c->theme_name = arena_names(c, &c->themes);
    c->subj_title = arena_alloc(c->arena, (c->nsubj + 1) * sizeof *c->subj_title);
    c->subj_lower = arena_alloc(c->arena, (c->nsubj + 1) * sizeof *c->subj_lower);
    for (size_t i = 0; i < c->nsubj; i++) {
        put_words(&c->sb, c->subj_name[i], true);
        c->subj_title[i] = sb_take(c);
        put_words(&c->sb, c->subj_name[i], false);
        c->subj_lower[i] = sb_take(c);
    }
    c->grp_phrase = arena_alloc(c->arena, (c->ngrp + 1) * sizeof *c->grp_phrase);
    for (size_t i = 0; i < c->ngrp; i++) {
        put_group(&c->sb, c->grp_name[i]);
        c->grp_phrase[i] = sb_take(c);
    }
}

static bool index_inputs(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    const struct priorities_thresholds *t = c->t;
    if (t->min_cohort < 1)
        cerr(c, "/thresholds/min_cohort", "min_cohort must be at least 1");
    if (!isfinite(t->z_crit) || t->z_crit <= 0)
        cerr(c, "/thresholds/z_crit", "z_crit must be positive");
    if (!isfinite(t->gap_points) || t->gap_points < 0 || t->gap_points > 100)
        cerr(c, "/thresholds/gap_points", "gap_points must be 0..100");
    if (!isfinite(t->trend_points) || t->trend_points < 0 || t->trend_points > 100)
        cerr(c, "/thresholds/trend_points", "trend_points must be 0..100");
    if (!str_ok(in->year))
        cerr(c, "/year", "a year is needed");
    if (!str_ok(in->term))
        cerr(c, "/term", "a term is needed");

    index_schools(c);

    c->cur_rows = xcalloc(in->n_cells + 1, sizeof *c->cur_rows);
    c->prev_rows = xcalloc(in->n_prev_cells + 1, sizeof *c->prev_rows);
    intern_cells(c, "cells", in->cells, in->n_cells, c->cur_rows);
    intern_cells(c, "prev_cells", in->prev_cells, in->n_prev_cells, c->prev_rows);
    for (size_t i = 0; i < in->n_benchmarks; i++) {
        const struct priorities_benchmark *b = &in->benchmarks[i];
        if (!str_ok(b->subject) || !str_ok(b->group)) {
            cerrf(c, "benchmarks", i, NULL, "a benchmark needs a subject and a group");
            continue;
        }
        if (!isfinite(b->expected) || b->expected < 0 || b->expected > 1) {
            cerrf(c, "benchmarks", i, "expected", "a benchmark is a fraction 0..1");
            continue;
        }
        strtab_intern(&c->subjects, b->subject);
        strtab_intern(&c->groups, b->group);
    }
    for (size_t i = 0; i < in->n_stuck; i++) {
        const struct priorities_stuck_pupil *sp = &in->stuck[i];
        if (!str_ok(sp->urn) || !str_ok(sp->subject) || !str_ok(sp->pupil_key))
            cerrf(c, "stuck", i, NULL, "a stuck pupil needs a URN, a subject and a key");
        else
            strtab_intern(&c->subjects, sp->subject);
    }
    /* So that the gap and fallback lookups always have an id. */
    c->grp_all = strtab_intern(&c->groups, "all");
    c->grp_dis = strtab_intern(&c->groups, "disadvantaged");
    c->grp_nd = strtab_intern(&c->groups, "not_disadvantaged");
    c->nsubj = c->subjects.count;
    c->ngrp = c->groups.count;

    size_t dense = c->nsubj * c->ngrp * c->nscope;
    if (c->nsubj && dense / c->nsubj / c->ngrp != c->nscope) /* overflow */
        dense = SIZE_MAX;
    if (dense > MAX_DENSE_CELLS) {
        cerr(c, "/cells", "too many distinct subjects x groups x schools");
        return false;
    }
    c->cur = xmalloc((dense + 1) * sizeof *c->cur);
    c->prev = xmalloc((dense + 1) * sizeof *c->prev);
    memset(c->cur, 0xff, (dense + 1) * sizeof *c->cur); /* -1 */
    memset(c->prev, 0xff, (dense + 1) * sizeof *c->prev);
    place_cells(c, "cells", c->cur_rows, in->n_cells, c->cur);
    place_cells(c, "prev_cells", c->prev_rows, in->n_prev_cells, c->prev);

    size_t nb = c->nsubj * c->ngrp + 1;
    c->bench = xcalloc(nb, sizeof *c->bench);
    c->has_bench = xcalloc(nb, 1);
    for (size_t i = 0; i < in->n_benchmarks; i++) {
        const struct priorities_benchmark *b = &in->benchmarks[i];
        if (!str_ok(b->subject) || !str_ok(b->group) || !isfinite(b->expected) || b->expected < 0 ||
            b->expected > 1)
            continue;
        size_t slot = (size_t)strtab_find(&c->subjects, b->subject) * c->ngrp +
                      (size_t)strtab_find(&c->groups, b->group);
        if (c->has_bench[slot]) {
            cerrf(c, "benchmarks", i, NULL, "duplicate benchmark for this subject and group");
            continue;
        }
        c->has_bench[slot] = 1;
        c->bench[slot] = b->expected;
    }

    /* SEF: one row per (school, area) after the 2019 areas are read as 2025 ones. */
    c->sef_canon = xcalloc(in->n_sef + 1, sizeof *c->sef_canon);
    for (size_t i = 0; i < in->n_sef; i++) {
        const struct priorities_sef_area *a = &in->sef[i];
        if (!str_ok(a->urn) || !str_ok(a->area)) {
            cerrf(c, "sef", i, NULL, "a SEF area needs a URN and an area");
            continue;
        }
        if (a->ordinal < 1 || a->ordinal > 5) {
            cerrf(c, "sef", i, "ordinal", "a SEF ordinal is 1..5");
            continue;
        }
        if (strtab_find(&c->urns, a->urn) < 0)
            continue;
        c->sef_canon[i] = sef_canonical_area(a->area);
        strtab_intern(&c->areas, c->sef_canon[i]);
    }
    size_t nsef = c->areas.count * c->ns + 1;
    c->sef_row = xmalloc(nsef * sizeof *c->sef_row);
    memset(c->sef_row, 0xff, nsef * sizeof *c->sef_row);
    for (size_t i = 0; i < in->n_sef; i++) {
        if (!c->sef_canon[i])
            continue;
        size_t slot = (size_t)strtab_find(&c->areas, c->sef_canon[i]) * c->ns +
                      (size_t)strtab_find(&c->urns, in->sef[i].urn);
        if (c->sef_row[slot] >= 0) {
            cerrf(c, "sef", i, "area", "duplicate SEF area for this school");
            continue;
        }
        c->sef_row[slot] = (int32_t)i;
    }

    for (size_t i = 0; i < in->n_themes; i++) {
        const struct priorities_sip_theme *th = &in->themes[i];
        if (!str_ok(th->urn) || !str_ok(th->theme))
            cerrf(c, "themes", i, NULL, "a SIP theme needs a URN and a theme");
        else if (strtab_find(&c->urns, th->urn) >= 0)
            strtab_intern(&c->themes, th->theme);
    }
    return c->nerr == 0;
}

/* Evaluates every current cell against its benchmark (or the trust fallback). */
static void evaluate_cells(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    c->cm = xcalloc(in->n_cells + 1, sizeof *c->cm);
    for (size_t i = 0; i < in->n_cells; i++) {
        const struct cell_row *r = &c->cur_rows[i];
        if (r->subj < 0)
            continue;
        size_t bslot = (size_t)r->subj * c->ngrp + (size_t)r->grp;
        bool has_b = c->has_bench[bslot], fallback = false;
        double b = c->bench[bslot];
        if (!has_b) {
            int32_t trow = cur_row(c, r->subj, c->grp_all, 0);
            if (trow >= 0 && in->cells[trow].n > 0) {
                has_b = fallback = true;
                b = (double)in->cells[trow].k / (double)in->cells[trow].n;
            }
        }
        priorities_cell_eval(in->cells[i].n, in->cells[i].k, has_b, b, fallback, c->t, &c->cm[i]);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Items                                                                                */

static struct priorities_item *add_item(struct ctx *c, enum priorities_kind kind, int scope)
{
    struct priorities_item *it = arena_alloc(c->arena, sizeof *it);
    it->kind = kind;
    it->level = scope ? PRIORITIES_LEVEL_SCHOOL : PRIORITIES_LEVEL_TRUST;
    if (scope) {
        it->urn = c->sch[scope - 1].urn;
        it->schools = arena_alloc(c->arena, sizeof *it->schools);
        it->schools[0] = it->urn;
        it->n_schools = 1;
    }
    if (c->nitems == c->items_cap) {
        c->items_cap = c->items_cap ? c->items_cap * 2 : 256;
        c->items = xrealloc(c->items, c->items_cap * sizeof *c->items);
    }
    c->items[c->nitems++] = it;
    return it;
}

/* Trust-level breadth from c->tmp[0..n). */
static void set_breadth(struct ctx *c, struct priorities_item *it, size_t n)
{
    it->schools = arena_alloc(c->arena, (n + 1) * sizeof *it->schools);
    for (size_t i = 0; i < n; i++)
        it->schools[i] = c->sch[c->tmp[i]].urn;
    it->n_schools = n;
}

static void set_score(struct priorities_item *it, double score)
{
    it->score = score;
    it->score_hundredths = (int64_t)llround(score * 100.0);
}

/* "<Subject>[ at <school>]: P% of <group>[ across the trust] (k of n) reach the expected
 * standard" -- the opening every cell-based rationale shares. versus is the other figure
 * put_pct rounds against. */
static void put_cell_opening(struct ctx *c, int subj, const char *group_phrase, int scope,
                             const struct priorities_cell_metrics *m, double versus)
{
    struct strbuf *sb = &c->sb;
    put_subject_scope(sb, c, subj, scope);
    SB_LIT(sb, ": ");
    put_pct(sb, m->p, versus);
    SB_LIT(sb, " of ");
    sb_str(sb, group_phrase);
    if (!scope)
        SB_LIT(sb, " across the trust");
    SB_LIT(sb, " (");
    sb_long(sb, m->k);
    SB_LIT(sb, " of ");
    sb_long(sb, m->n);
    SB_LIT(sb, ") reach the expected standard");
}

static void attainment_rationale(struct ctx *c, struct priorities_item *it, int subj, int grp,
                                 int scope)
{
    const struct priorities_cell_metrics *m = &it->cell;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, c->grp_phrase[grp], scope, m, m->b);
    SB_LIT(sb, " against ");
    put_benchmark(sb, m);
    SB_LIT(sb, " — ");
    put_count(sb, m->deficit, "pupil", "pupils");
    SB_LIT(sb, " short");
    if (!scope)
        put_breadth(sb, it->n_schools, "significantly below");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

static void attainment_items(struct ctx *c)
{
    for (int subj = 0; subj < (int)c->nsubj; subj++)
        for (int grp = 0; grp < (int)c->ngrp; grp++) {
            size_t breadth = 0;
            for (int scope = 1; scope < (int)c->nscope; scope++) {
                const struct priorities_cell_metrics *m = cur_metrics(c, subj, grp, scope);
                if (!m || !m->below)
                    continue;
                c->tmp[breadth++] = scope - 1;
                struct priorities_item *it = add_item(c, PRIORITIES_KIND_ATTAINMENT, scope);
                it->subject = c->subj_name[subj];
                it->group = c->grp_name[grp];
                it->cell = *m;
                set_score(it, m->deficit);
                attainment_rationale(c, it, subj, grp, scope);
            }
            const struct priorities_cell_metrics *m = cur_metrics(c, subj, grp, 0);
            if (!m || !m->below)
                continue;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_ATTAINMENT, 0);
            it->subject = c->subj_name[subj];
            it->group = c->grp_name[grp];
            it->cell = *m;
            set_breadth(c, it, breadth);
            set_score(it, m->deficit);
            attainment_rationale(c, it, subj, grp, 0);
        }
}

struct gap_eval {
    const struct priorities_cell_metrics *dis, *nd;
    double group_gap, national_gap, excess;
};

static bool gap_check(const struct ctx *c, int subj, int scope, struct gap_eval *g)
{
    g->dis = cur_metrics(c, subj, c->grp_dis, scope);
    g->nd = cur_metrics(c, subj, c->grp_nd, scope);
    if (!g->dis || !g->nd || g->dis->n < c->t->min_cohort || g->nd->n < c->t->min_cohort ||
        !g->dis->has_b || !g->nd->has_b)
        return false;
    g->group_gap = g->nd->p - g->dis->p;
    g->national_gap = g->nd->b - g->dis->b;
    g->excess = g->group_gap - g->national_gap;
    /* Only a gap that disadvantaged pupils are on the wrong side of. */
    return g->group_gap > PRIO_EPS && g->excess * 100.0 >= c->t->gap_points - PRIO_EPS;
}

static void gap_rationale(struct ctx *c, struct priorities_item *it, int subj, int scope)
{
    const struct priorities_cell_metrics *d = &it->cell, *nd = &it->other;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, "disadvantaged pupils", scope, d, nd->p);
    SB_LIT(sb, " against ");
    put_pct(sb, nd->p, d->p);
    SB_LIT(sb, " of their peers, a gap of ");
    sb_long(sb, points(it->group_gap));
    SB_LIT(sb, " points — ");
    sb_long(sb, points(it->excess));
    SB_LIT(sb, " points wider than ");
    if (!d->b_fallback && !nd->b_fallback) {
        SB_LIT(sb, "the national gap of ");
        sb_long(sb, points(it->national_gap));
        SB_LIT(sb, " points");
    } else {
        SB_LIT(sb, "the benchmark gap of ");
        sb_long(sb, points(it->national_gap));
        SB_LIT(sb, " points (the trust average stands in for the missing national benchmark "
                   "for ");
        sb_str(sb, d->b_fallback && nd->b_fallback
                       ? "both groups"
                       : (d->b_fallback ? "disadvantaged pupils" : "their peers"));
        SB_LIT(sb, ")");
    }
    if (!scope)
        put_breadth(sb, it->n_schools, "past the threshold");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

static void fill_gap_item(struct ctx *c, struct priorities_item *it, int subj,
                          const struct gap_eval *g)
{
    it->subject = c->subj_name[subj];
    it->group = c->grp_name[c->grp_dis];
    it->cell = *g->dis;
    it->other = *g->nd;
    it->group_gap = g->group_gap;
    it->national_gap = g->national_gap;
    it->excess = g->excess;
    /* excess points x n(disadvantaged) / 100 */
    set_score(it, g->excess * 100.0 * (double)g->dis->n / 100.0);
}

static void gap_items(struct ctx *c)
{
    for (int subj = 0; subj < (int)c->nsubj; subj++) {
        size_t breadth = 0;
        struct gap_eval g;
        for (int scope = 1; scope < (int)c->nscope; scope++) {
            if (!gap_check(c, subj, scope, &g))
                continue;
            c->tmp[breadth++] = scope - 1;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_GAP, scope);
            fill_gap_item(c, it, subj, &g);
            gap_rationale(c, it, subj, scope);
        }
        if (!gap_check(c, subj, 0, &g))
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_GAP, 0);
        fill_gap_item(c, it, subj, &g);
        set_breadth(c, it, breadth);
        gap_rationale(c, it, subj, 0);
    }
}

static bool trend_check(const struct ctx *c, int subj, int grp, int scope,
                        const struct priorities_cell_metrics **now,
                        const struct priorities_cell **before)
{
    *now = cur_metrics(c, subj, grp, scope);
    if (!*now || (*now)->n < c->t->min_cohort)
        return false;
    *before = prev_cell(c, subj, grp, scope);
    if (!*before || (*before)->n < c->t->min_cohort)
        return false;
    double drop = (double)(*before)->k / (double)(*before)->n - (*now)->p;
    return drop > PRIO_EPS && drop * 100.0 >= c->t->trend_points - PRIO_EPS;
}

static void trend_rationale(struct ctx *c, struct priorities_item *it, int subj, int grp, int scope)
{
    const struct priorities_cell_metrics *m = &it->cell, *o = &it->other;
    struct strbuf *sb = &c->sb;
    put_cell_opening(c, subj, c->grp_phrase[grp], scope, m, o->p);
    SB_LIT(sb, " this ");
    sb_str(sb, c->in->term);
    SB_LIT(sb, ", down ");
    sb_long(sb, -points(it->trend));
    SB_LIT(sb, " points from ");
    put_pct(sb, o->p, m->p);
    char prev[16];
    if (previous_year(c->in->year, prev)) {
        SB_LIT(sb, " in ");
        sb_str(sb, c->in->term);
        SB_LIT(sb, " ");
        sb_str(sb, prev);
    } else {
        SB_LIT(sb, " in the same term last year");
    }
    if (!scope) {
        char what[64];
        snprintf(what, sizeof what, "down %g points or more", c->t->trend_points);
        put_breadth(sb, it->n_schools, what);
    }
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

static void fill_trend_item(struct ctx *c, struct priorities_item *it, int subj, int grp,
                            const struct priorities_cell_metrics *now,
                            const struct priorities_cell *before)
{
    it->subject = c->subj_name[subj];
    it->group = c->grp_name[grp];
    it->cell = *now;
    priorities_cell_eval(before->n, before->k, false, 0, false, c->t, &it->other);
    it->trend = now->p - it->other.p;
    /* drop points x n / 100 */
    set_score(it, -it->trend * 100.0 * (double)now->n / 100.0);
}

static void trend_items(struct ctx *c)
{
    const struct priorities_cell_metrics *now;
    const struct priorities_cell *before;
    for (int subj = 0; subj < (int)c->nsubj; subj++)
        for (int grp = 0; grp < (int)c->ngrp; grp++) {
            size_t breadth = 0;
            for (int scope = 1; scope < (int)c->nscope; scope++) {
                if (!trend_check(c, subj, grp, scope, &now, &before))
                    continue;
                c->tmp[breadth++] = scope - 1;
                struct priorities_item *it = add_item(c, PRIORITIES_KIND_TREND, scope);
                fill_trend_item(c, it, subj, grp, now, before);
                trend_rationale(c, it, subj, grp, scope);
            }
            if (!trend_check(c, subj, grp, 0, &now, &before))
                continue;
            struct priorities_item *it = add_item(c, PRIORITIES_KIND_TREND, 0);
            fill_trend_item(c, it, subj, grp, now, before);
            set_breadth(c, it, breadth);
            trend_rationale(c, it, subj, grp, 0);
        }
}

/* Trust-level reach for SEF areas and stuck pupils: two or more schools, or a quarter. */
static bool trust_wide(const struct ctx *c, size_t schools)
{
    return schools >= 2 || (schools >= 1 && schools * 4 >= c->ns);
}

static const struct priorities_sef_area *sef_at(const struct ctx *c, int area, int s)
{
    int32_t row = c->sef_row[(size_t)area * c->ns + (size_t)s];
    return row < 0 ? NULL : &c->in->sef[row];
}

static void sef_school_item(struct ctx *c, int area, int s, const struct priorities_sef_area *a)
{
    struct priorities_item *it = add_item(c, PRIORITIES_KIND_SEF, s + 1);
    it->area = c->area_name[area];
    it->ordinal = a->ordinal;
    it->grade = arena_strdup(c->arena, str_ok(a->grade) ? a->grade : NULL);
    it->framework = arena_strdup(c->arena, str_ok(a->framework) ? a->framework : NULL);
    it->sef_area = arena_strdup(c->arena, a->area);
    set_score(it, (3 - a->ordinal) * 10);
    struct strbuf *sb = &c->sb;
    put_school(sb, c, s);
    SB_LIT(sb, " self-evaluates ");
    put_words(sb, a->area, false);
    SB_LIT(sb, " as ");
    put_grade(sb, a);
    SB_LIT(sb, " in its latest SEF");
    if (a->framework && !strcmp(a->framework, "ofsted_2019"))
        SB_LIT(sb, " (2019 framework)");
    SB_LIT(sb, ".");
    it->rationale = sb_take(c);
}

/* "1 urgent improvement, 2 needs attention": the weak schools of c->tmp[0..n) tallied by
 * grade label as printed, worst ordinal first. */
static void put_grade_tally(struct ctx *c, int area, size_t n)
{
    bool *done = xcalloc(n + 1, 1);
    struct strbuf label, other;
    strbuf_init(&label);
    strbuf_init(&other);
    bool first = true;
    for (int ord = 1; ord <= 2; ord++)
        for (size_t i = 0; i < n; i++) {
            const struct priorities_sef_area *a = sef_at(c, area, c->tmp[i]);
            if (done[i] || a->ordinal != ord)
                continue;
            sb_reset(&label);
            put_grade(&label, a);
            long same = 0;
            for (size_t j = i; j < n; j++) {
                const struct priorities_sef_area *b = sef_at(c, area, c->tmp[j]);
                if (done[j] || b->ordinal != ord)
                    continue;
                sb_reset(&other);
                put_grade(&other, b);
                if (!strcmp(other.data, label.data)) {
                    done[j] = true;
                    same++;
                }
            }
            if (!first)
                SB_LIT(&c->sb, ", ");
            sb_long(&c->sb, same);
            SB_LIT(&c->sb, " ");
            sb_str(&c->sb, label.data);
            first = false;
        }
    strbuf_free(&label);
    strbuf_free(&other);
    free(done);
}

static void sef_items(struct ctx *c)
{
    for (int area = 0; area < (int)c->areas.count; area++) {
        size_t weak = 0;
        int sum = 0;
        for (int s = 0; s < (int)c->ns; s++) {
            const struct priorities_sef_area *a = sef_at(c, area, s);
            if (!a || a->ordinal > 2)
                continue;
            c->tmp[weak++] = s;
            sum += (3 - a->ordinal) * 10;
            sef_school_item(c, area, s, a);
        }
        if (!trust_wide(c, weak))
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_SEF, 0);
        it->area = c->area_name[area];
        it->count = (int)weak;
        it->of_schools = (int)c->ns;
        set_breadth(c, it, weak);
        it->detail = arena_alloc(c->arena, (weak + 1) * sizeof *it->detail);
        it->n_detail = weak;
        for (size_t i = 0; i < weak; i++) {
            const struct priorities_sef_area *a = sef_at(c, area, c->tmp[i]);
            it->detail[i].urn = c->sch[c->tmp[i]].urn;
            it->detail[i].count = a->ordinal;
            it->detail[i].grade = arena_strdup(c->arena, str_ok(a->grade) ? a->grade : NULL);
        }
        set_score(it, sum);
        put_words(&c->sb, c->area_name[area], true);
        SB_LIT(&c->sb, " is self-evaluated as a weakness by ");
        sb_long(&c->sb, (long)weak);
        SB_LIT(&c->sb, " of ");
        sb_long(&c->sb, (long)c->ns);
        SB_LIT(&c->sb, " schools in their latest SEFs (");
        put_grade_tally(c, area, weak);
        SB_LIT(&c->sb, ").");
        it->rationale = sb_take(c);
    }
}

static void theme_items(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    size_t nt = c->themes.count;
    unsigned char *named = xcalloc(nt * c->ns + 1, 1);
    for (size_t i = 0; i < in->n_themes; i++) {
        const struct priorities_sip_theme *th = &in->themes[i];
        if (!str_ok(th->urn) || !str_ok(th->theme))
            continue;
        int s = strtab_find(&c->urns, th->urn);
        if (s >= 0)
            named[(size_t)strtab_find(&c->themes, th->theme) * c->ns + (size_t)s] = 1;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t count = 0;
        for (size_t s = 0; s < c->ns; s++)
            if (named[t * c->ns + s])
                c->tmp[count++] = (int)s;
        if (count < 3)
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_SHARED_THEME, 0);
        it->theme = c->theme_name[t];
        it->count = (int)count;
        set_breadth(c, it, count);
        set_score(it, (double)count * 5.0);
        put_words(&c->sb, it->theme, true);
        SB_LIT(&c->sb, " is a theme of SIP priorities in ");
        sb_long(&c->sb, (long)count);
        SB_LIT(&c->sb, " schools — a case for one trust-wide work group.");
        it->rationale = sb_take(c);
    }
    free(named);
}

struct stuck_ref {
    int school, subj;
    const char *key;
};

static int cmp_stuck(const void *a, const void *b)
{
    const struct stuck_ref *x = a, *y = b;
    if (x->school != y->school)
        return x->school < y->school ? -1 : 1;
    if (x->subj != y->subj)
        return x->subj < y->subj ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void stuck_school_item(struct ctx *c, const struct stuck_ref *refs, size_t n,
                              size_t distinct)
{
    int s = refs[0].school, subj = refs[0].subj;
    struct priorities_item *it = add_item(c, PRIORITIES_KIND_STUCK_PUPILS, s + 1);
    it->subject = c->subj_name[subj];
    it->pupils = arena_alloc(c->arena, (distinct + 1) * sizeof *it->pupils);
    for (size_t k = 0; k < n; k++)
        if (k == 0 || strcmp(refs[k].key, refs[k - 1].key))
            it->pupils[it->n_pupils++] = arena_strdup(c->arena, refs[k].key);
    it->count = (int)distinct;
    set_score(it, (double)distinct);
    put_subject_scope(&c->sb, c, subj, s + 1);
    SB_LIT(&c->sb, ": ");
    put_count(&c->sb, (long)distinct, "pupil has", "pupils have");
    SB_LIT(&c->sb, " been below the expected standard in each of the last three terms.");
    it->rationale = sb_take(c);
}

static void stuck_items(struct ctx *c)
{
    const struct priorities_input *in = c->in;
    struct stuck_ref *refs = xcalloc(in->n_stuck + 1, sizeof *refs);
    size_t n = 0;
    for (size_t i = 0; i < in->n_stuck; i++) {
        const struct priorities_stuck_pupil *sp = &in->stuck[i];
        if (!str_ok(sp->urn) || !str_ok(sp->subject) || !str_ok(sp->pupil_key))
            continue;
        int s = strtab_find(&c->urns, sp->urn);
        if (s < 0)
            continue;
        refs[n].school = s;
        refs[n].subj = strtab_find(&c->subjects, sp->subject);
        refs[n].key = sp->pupil_key;
        n++;
    }
    qsort(refs, n, sizeof *refs, cmp_stuck);
    int *count = xcalloc(c->nsubj * c->ns + 1, sizeof *count);
    for (size_t i = 0; i < n;) {
        size_t j = i, distinct = 0;
        while (j < n && refs[j].school == refs[i].school && refs[j].subj == refs[i].subj) {
            if (j == i || strcmp(refs[j].key, refs[j - 1].key))
                distinct++;
            j++;
        }
        count[(size_t)refs[i].subj * c->ns + (size_t)refs[i].school] = (int)distinct;
        stuck_school_item(c, refs + i, j - i, distinct);
        i = j;
    }
    for (size_t subj = 0; subj < c->nsubj; subj++) {
        size_t schools = 0;
        long total = 0;
        for (size_t s = 0; s < c->ns; s++)
            if (count[subj * c->ns + s] > 0) {
                c->tmp[schools++] = (int)s;
                total += count[subj * c->ns + s];
            }
        if (!trust_wide(c, schools))
            continue;
        struct priorities_item *it = add_item(c, PRIORITIES_KIND_STUCK_PUPILS, 0);
        it->subject = c->subj_name[subj];
        it->count = (int)total;
        set_breadth(c, it, schools);
        it->detail = arena_alloc(c->arena, (schools + 1) * sizeof *it->detail);
        it->n_detail = schools;
        for (size_t i = 0; i < schools; i++) {
            it->detail[i].urn = c->sch[c->tmp[i]].urn;
            it->detail[i].count = count[subj * c->ns + (size_t)c->tmp[i]];
        }
        set_score(it, (double)total);
        sb_str(&c->sb, c->subj_title[subj]);
        SB_LIT(&c->sb, ": ");
        put_count(&c->sb, total, "pupil", "pupils");
        SB_LIT(&c->sb, " across ");
        put_count(&c->sb, (long)schools, "school", "schools");
        sb_str(&c->sb, total == 1 ? " has" : " have");
        SB_LIT(&c->sb, " been below the expected standard in each of the last three terms.");
        it->rationale = sb_take(c);
    }
    free(count);
    free(refs);
}

/* ------------------------------------------------------------------------------------ */
/* Support (SPEC 6.4)                                                                   */

static bool cell_above(const struct ctx *c, size_t key, size_t s)
{
    int32_t row = c->cur[key * c->nscope + s + 1];
    return row >= 0 && c->cm[row].above;
}

static bool sef_strong(const struct ctx *c, size_t key, size_t s)
{
    int32_t row = c->sef_row[key * c->ns + s];
    return row >= 0 && c->in->sef[row].ordinal >= 4;
}

static size_t cand_slot(const struct ctx *c, const struct cand_index *ix, size_t key, int s)
{
    int ph = c->sch[s].phase;
    return key * (ix->nphase + 1) + (ph < 0 ? ix->nphase : (size_t)ph);
}

static void cand_index_build(const struct ctx *c, struct cand_index *ix, size_t nkeys,
                             bool (*pred)(const struct ctx *, size_t, size_t))
{
    ix->nphase = c->phases.count;
    size_t nslots = nkeys * (ix->nphase + 1);
    ix->off = xcalloc(nslots + 2, sizeof *ix->off);
    for (size_t key = 0; key < nkeys; key++)
        for (size_t s = 0; s < c->ns; s++)
            if (pred(c, key, s))
                ix->off[cand_slot(c, ix, key, (int)s) + 2]++;
    for (size_t i = 2; i < nslots + 2; i++)
        ix->off[i] += ix->off[i - 1];
    ix->list = xcalloc((size_t)ix->off[nslots + 1] + 1, sizeof *ix->list);
    for (size_t key = 0; key < nkeys; key++)
        for (size_t s = 0; s < c->ns; s++)
            if (pred(c, key, s))
                ix->list[ix->off[cand_slot(c, ix, key, (int)s) + 1]++] = (int32_t)s;
    /* off[i + 1] is now the end of slot i, off[i] its start */
}

static void cand_index_free(struct cand_index *ix)
{
    free(ix->off);
    free(ix->list);
}

static void build_support_lists(struct ctx *c)
{
    cand_index_build(c, &c->above, c->nsubj * c->ngrp, cell_above);
    cand_index_build(c, &c->strong, c->areas.count, sef_strong);
    c->reason_cell = xcalloc(c->in->n_cells + 1, sizeof *c->reason_cell);
    c->reason_sef = xcalloc(c->in->n_sef + 1, sizeof *c->reason_sef);
}

struct cand {
    int school;
    bool same_phase, has_distance;
    double chord2; /* squared chord between unit vectors: monotonic in distance */
};

/* Same phase first, then shortest distance (unknown last), then URN. */
static bool cand_better(const struct cand *a, const struct cand *b)
{
    if (a->same_phase != b->same_phase)
        return a->same_phase;
    if (a->has_distance != b->has_distance)
        return a->has_distance;
    if (a->has_distance && a->chord2 != b->chord2)
        return a->chord2 < b->chord2;
    return a->school < b->school;
}

static void consider(const struct school_rec *rs, const struct ctx *c, int r, const int32_t *cands,
                     size_t n, bool same, struct cand best[PRIORITIES_MAX_SUPPORT], size_t *nbest)
{
    for (size_t i = 0; i < n; i++) {
        int s = cands[i];
        if (s == r)
            continue;
        const struct school_rec *gs = &c->sch[s];
        struct cand cd = {.school = s,
                          .same_phase = same,
                          .has_distance = rs->s->has_location && gs->s->has_location};
        if (cd.has_distance) {
            double dx = rs->ux - gs->ux, dy = rs->uy - gs->uy, dz = rs->uz - gs->uz;
            cd.chord2 = dx * dx + dy * dy + dz * dz;
        }
        if (*nbest == PRIORITIES_MAX_SUPPORT && !cand_better(&cd, &best[*nbest - 1]))
            continue;
        size_t pos = *nbest < PRIORITIES_MAX_SUPPORT ? (*nbest)++ : *nbest - 1;
        while (pos > 0 && cand_better(&cd, &best[pos - 1])) {
            best[pos] = best[pos - 1];
            pos--;
        }
        best[pos] = cd;
    }
}

/* The best up to three givers for receiver r among the key's candidates, best first.
 * Same-phase schools always rank first, so the other phases are looked at only when
 * fewer than three of them qualify. */
static size_t pick_givers(const struct ctx *c, int r, const struct cand_index *ix, size_t key,
                          struct cand best[PRIORITIES_MAX_SUPPORT])
{
    const struct school_rec *rs = &c->sch[r];
    size_t nbest = 0, base = key * (ix->nphase + 1);
    if (rs->phase >= 0) {
        size_t slot = base + (size_t)rs->phase;
        consider(rs, c, r, ix->list + ix->off[slot], (size_t)(ix->off[slot + 1] - ix->off[slot]),
                 true, best, &nbest);
    }
    if (nbest == PRIORITIES_MAX_SUPPORT)
        return nbest;
    for (size_t q = 0; q <= ix->nphase; q++) {
        if (rs->phase >= 0 && q == (size_t)rs->phase)
            continue;
        size_t slot = base + q;
        consider(rs, c, r, ix->list + ix->off[slot], (size_t)(ix->off[slot + 1] - ix->off[slot]),
                 false, best, &nbest);
    }
    return nbest;
}

static void set_giver(const struct ctx *c, struct priorities_giver *g, int r, const struct cand *cd,
                      char *reason)
{
    const struct school_rec *gs = &c->sch[cd->school], *rs = &c->sch[r];
    g->urn = gs->urn;
    g->name = gs->display;
    g->reason = reason;
    g->same_phase = cd->same_phase;
    g->has_distance = cd->has_distance;
    if (cd->has_distance)
        g->distance_km = priorities_haversine_km(rs->s->lat, rs->s->lon, gs->s->lat, gs->s->lon);
}

/* Why a school's cell makes it a giver; the same words for every receiver, so made once. */
static char *cell_reason(struct ctx *c, int subj, int grp, int s)
{
    int32_t row = cur_row(c, subj, grp, s + 1);
    if (c->reason_cell[row])
        return c->reason_cell[row];
    const struct priorities_cell_metrics *m = &c->cm[row];
    struct strbuf *sb = &c->sb;
    put_pct(sb, m->p, m->b);
    SB_LIT(sb, " of ");
    sb_str(sb, c->grp_phrase[grp]);
    SB_LIT(sb, " (");
    sb_long(sb, m->k);
    SB_LIT(sb, " of ");
    sb_long(sb, m->n);
    SB_LIT(sb, ") reach the expected standard in ");
    sb_str(sb, c->subj_lower[subj]);
    SB_LIT(sb, " against ");
    if (m->b_fallback) {
        SB_LIT(sb, "the trust average of ");
        put_pct(sb, m->b, m->p);
    } else {
        put_pct(sb, m->b, m->p);
        SB_LIT(sb, " nationally");
    }
    return c->reason_cell[row] = sb_take(c);
}

static char *sef_reason(struct ctx *c, int area, int s)
{
    int32_t row = c->sef_row[(size_t)area * c->ns + (size_t)s];
    if (c->reason_sef[row])
        return c->reason_sef[row];
    const struct priorities_sef_area *a = &c->in->sef[row];
    put_words(&c->sb, a->area, true);
    SB_LIT(&c->sb, " graded ");
    put_grade(&c->sb, a);
    SB_LIT(&c->sb, " in its latest SEF");
    return c->reason_sef[row] = sb_take(c);
}

static void support_for_item(struct ctx *c, struct priorities_item *it)
{
    int r = strtab_find(&c->urns, it->urn);
    struct cand best[PRIORITIES_MAX_SUPPORT];
    if (it->kind == PRIORITIES_KIND_SEF) {
        int area = strtab_find(&c->areas, it->area);
        it->n_support = pick_givers(c, r, &c->strong, (size_t)area, best);
        for (size_t i = 0; i < it->n_support; i++)
            set_giver(c, &it->support[i], r, &best[i], sef_reason(c, area, best[i].school));
        return;
    }
    /* Cell kinds: the same cell significantly above benchmark. A gap is matched on the
     * disadvantaged cell, stuck pupils on the subject's "all" cell. */
    int subj = strtab_find(&c->subjects, it->subject);
    int grp =
        it->kind == PRIORITIES_KIND_STUCK_PUPILS ? c->grp_all : strtab_find(&c->groups, it->group);
    if (subj < 0 || grp < 0)
        return;
    size_t sg = (size_t)subj * c->ngrp + (size_t)grp;
    it->n_support = pick_givers(c, r, &c->above, sg, best);
    for (size_t i = 0; i < it->n_support; i++)
        set_giver(c, &it->support[i], r, &best[i], cell_reason(c, subj, grp, best[i].school));
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
    free(list->items);
    free(list->year);
    free(list->term);
    free(list);
}

static void ctx_free(struct ctx *c)
{
    strtab_free(&c->urns);
    strtab_free(&c->subjects);
    strtab_free(&c->groups);
    strtab_free(&c->phases);
    strtab_free(&c->areas);
    strtab_free(&c->themes);
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
    cand_index_free(&c->above);
    cand_index_free(&c->strong);
    free(c->reason_cell);
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
    c.arena = xcalloc(1, sizeof *c.arena);
    strbuf_init(&c.sb);
    strtab_init(&c.urns);
    strtab_init(&c.subjects);
    strtab_init(&c.groups);
    strtab_init(&c.phases);
    strtab_init(&c.areas);
    strtab_init(&c.themes);
    if (!index_inputs(&c)) {
        ctx_free(&c);
        return -1;
    }
    c.md = EVP_MD_fetch(NULL, "SHA256", NULL);
    c.mdctx = EVP_MD_CTX_new();
    if (!c.md || !c.mdctx)
        fatal("SHA-256 unavailable");
    name_tables(&c);
    evaluate_cells(&c);
    attainment_items(&c);
    gap_items(&c);
    trend_items(&c);
    sef_items(&c);
    theme_items(&c);
    stuck_items(&c);
    build_support_lists(&c);
    for (size_t i = 0; i < c.nitems; i++) {
        struct priorities_item *it = c.items[i];
        if (it->level == PRIORITIES_LEVEL_SCHOOL)
            support_for_item(&c, it);
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

/* ------------------------------------------------------------------------------------ */
/* Filters and views                                                                    */

static int cmp_str_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(char *const *)elem);
}

bool priorities_item_concerns(const struct priorities_item *it, const char *urn)
{
    if (!urn)
        return false;
    if (it->level == PRIORITIES_LEVEL_SCHOOL)
        return it->urn && !strcmp(it->urn, urn);
    return it->n_schools &&
           bsearch(urn, it->schools, it->n_schools, sizeof *it->schools, cmp_str_key) != NULL;
}

static struct priorities_list *view_new(const struct priorities_list *list)
{
    struct priorities_list *v = xcalloc(1, sizeof *v);
    v->year = xstrdup(list->year);
    v->term = xstrdup(list->term);
    v->items = xcalloc(list->count + 1, sizeof *v->items);
    v->owns_items = false;
    return v;
}

struct priorities_list *priorities_filter(const struct priorities_list *list,
                                          const struct priorities_filter *f)
{
    struct priorities_list *v = view_new(list);
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        if (f->level != PRIORITIES_LEVEL_ANY && it->level != f->level)
            continue;
        if (f->kind != PRIORITIES_KIND_ANY && it->kind != f->kind)
            continue;
        if (f->subject && !(it->subject && !strcmp(it->subject, f->subject)) &&
            !(it->theme && !strcmp(it->theme, f->subject)))
            continue;
        if (f->school && !priorities_item_concerns(it, f->school))
            continue;
        v->items[v->count++] = list->items[i];
    }
    return v;
}

struct priorities_list *priorities_school_view(const struct priorities_list *list, const char *urn)
{
    struct priorities_filter f = {.school = urn};
    return priorities_filter(list, &f);
}

struct priorities_list *priorities_scope_view(const struct priorities_list *list,
                                              const char *const *urns, size_t n_urns)
{
    struct priorities_list *v = view_new(list);
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        bool keep = it->level == PRIORITIES_LEVEL_TRUST;
        for (size_t j = 0; !keep && j < n_urns; j++)
            keep = !strcmp(it->urn, urns[j]);
        if (keep)
            v->items[v->count++] = list->items[i];
    }
    return v;
}

/* ------------------------------------------------------------------------------------ */
/* Serialisation                                                                        */

static bool visible(const struct priorities_output_opts *o, const char *urn)
{
    if (!o || !o->visible_schools)
        return true;
    for (size_t i = 0; i < o->n_visible_schools; i++)
        if (!strcmp(o->visible_schools[i], urn))
            return true;
    return false;
}

static void json_str(struct strbuf *sb, const char *s)
{
    if (!s) {
        SB_LIT(sb, "null");
        return;
    }
    SB_LIT(sb, "\"");
    const char *run = s, *p = s;
    for (;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        sb_put(sb, run, (size_t)(p - run));
        if (!ch)
            break;
        run = p + 1;
        switch (ch) {
        case '"':
            SB_LIT(sb, "\\\"");
            break;
        case '\\':
            SB_LIT(sb, "\\\\");
            break;
        case '\n':
            SB_LIT(sb, "\\n");
            break;
        case '\r':
            SB_LIT(sb, "\\r");
            break;
        case '\t':
            SB_LIT(sb, "\\t");
            break;
        default: {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            sb_put(sb, esc, sizeof esc);
        }
        }
    }
    SB_LIT(sb, "\"");
}

/* Fixed decimals, trailing zeros dropped, never "-0": the same double prints the same.
 * Formatting is C-locale (matd never calls setlocale). */
static void put_fixed(struct strbuf *sb, double x, int decimals)
{
    if (!isfinite(x)) {
        SB_LIT(sb, "null");
        return;
    }
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.*f", decimals, x);
    if (n < 0 || (size_t)n >= sizeof buf) {
        SB_LIT(sb, "null");
        return;
    }
    char *end = buf + n;
    if (memchr(buf, '.', (size_t)n)) {
        while (end[-1] == '0')
            end--;
        if (end[-1] == '.')
            end--;
    }
    if (end - buf == 2 && buf[0] == '-' && buf[1] == '0')
        SB_LIT(sb, "0");
    else
        sb_put(sb, buf, (size_t)(end - buf));
}

static void put_score(struct strbuf *sb, int64_t hundredths)
{
    sb_long(sb, (long)(hundredths / 100));
    long frac = (long)(hundredths % 100);
    if (frac) {
        char d[3] = {'.', (char)('0' + frac / 10), (char)('0' + frac % 10)};
        sb_put(sb, d, frac % 10 ? 3 : 2);
    }
}

/* ,"key": (or "key": first) */
static void json_key(struct strbuf *sb, bool *first, const char *key)
{
    if (!*first)
        SB_LIT(sb, ",");
    *first = false;
    SB_LIT(sb, "\"");
    sb_str(sb, key);
    SB_LIT(sb, "\":");
}

static void json_int(struct strbuf *sb, bool *first, const char *key, long v)
{
    json_key(sb, first, key);
    sb_long(sb, v);
}

static void json_fixed(struct strbuf *sb, bool *first, const char *key, bool has, double v,
                       int decimals)
{
    json_key(sb, first, key);
    if (has)
        put_fixed(sb, v, decimals);
    else
        SB_LIT(sb, "null");
}

static void json_cell_metrics(struct strbuf *sb, bool *first,
                              const struct priorities_cell_metrics *m)
{
    json_int(sb, first, "n", m->n);
    json_int(sb, first, "k", m->k);
    json_fixed(sb, first, "p", true, m->p, 4);
    json_fixed(sb, first, "b", m->has_b, m->b, 4);
    json_fixed(sb, first, "gap", m->has_b, m->gap, 4);
    json_fixed(sb, first, "z", m->has_z, m->z, 3);
    json_key(sb, first, "deficit");
    if (m->has_b)
        sb_long(sb, m->deficit);
    else
        SB_LIT(sb, "null");
}

static const char *benchmark_source(const struct priorities_cell_metrics *m)
{
    return !m->has_b ? NULL : (m->b_fallback ? "trust_average" : "national");
}

static void json_metrics(struct strbuf *sb, const struct priorities_item *it)
{
    bool first = true;
    SB_LIT(sb, "{");
    switch (it->kind) {
    case PRIORITIES_KIND_ATTAINMENT:
    case PRIORITIES_KIND_GAP:
    case PRIORITIES_KIND_TREND:
        json_cell_metrics(sb, &first, &it->cell);
        if (it->kind == PRIORITIES_KIND_TREND)
            json_fixed(sb, &first, "trend", true, it->trend, 4);
        json_key(sb, &first, "benchmark");
        json_str(sb, benchmark_source(&it->cell));
        if (it->kind == PRIORITIES_KIND_GAP) {
            json_int(sb, &first, "n_not_disadvantaged", it->other.n);
            json_int(sb, &first, "k_not_disadvantaged", it->other.k);
            json_fixed(sb, &first, "p_not_disadvantaged", true, it->other.p, 4);
            json_fixed(sb, &first, "b_not_disadvantaged", true, it->other.b, 4);
            json_fixed(sb, &first, "group_gap", true, it->group_gap, 4);
            json_fixed(sb, &first, "national_gap", true, it->national_gap, 4);
            json_fixed(sb, &first, "excess", true, it->excess, 4);
        }
        if (it->kind == PRIORITIES_KIND_TREND) {
            json_int(sb, &first, "n_prev", it->other.n);
            json_int(sb, &first, "k_prev", it->other.k);
            json_fixed(sb, &first, "p_prev", true, it->other.p, 4);
        }
        break;
    case PRIORITIES_KIND_SEF:
        if (it->level == PRIORITIES_LEVEL_SCHOOL) {
            json_int(sb, &first, "ordinal", it->ordinal);
            json_key(sb, &first, "grade");
            json_str(sb, it->grade);
            json_key(sb, &first, "framework");
            json_str(sb, it->framework);
            json_key(sb, &first, "sef_area");
            json_str(sb, it->sef_area);
        } else {
            json_int(sb, &first, "schools", it->count);
            json_int(sb, &first, "of_schools", it->of_schools);
        }
        break;
    case PRIORITIES_KIND_SHARED_THEME:
        json_int(sb, &first, "schools", it->count);
        break;
    case PRIORITIES_KIND_STUCK_PUPILS:
        json_int(sb, &first, "count", it->count);
        if (it->level == PRIORITIES_LEVEL_TRUST)
            json_int(sb, &first, "schools", (long)it->n_schools);
        break;
    case PRIORITIES_KIND_ANY:
        break;
    }
    SB_LIT(sb, "}");
}

static void json_giver(struct strbuf *sb, const struct priorities_giver *g)
{
    SB_LIT(sb, "{\"urn\":");
    json_str(sb, g->urn);
    SB_LIT(sb, ",\"name\":");
    json_str(sb, g->name);
    SB_LIT(sb, ",\"reason\":");
    json_str(sb, g->reason);
    if (g->same_phase)
        SB_LIT(sb, ",\"same_phase\":true,\"distance_km\":");
    else
        SB_LIT(sb, ",\"same_phase\":false,\"distance_km\":");
    if (g->has_distance)
        put_fixed(sb, g->distance_km, 1);
    else
        SB_LIT(sb, "null");
    SB_LIT(sb, "}");
}

static void json_givers(struct strbuf *sb, const struct priorities_item *it)
{
    SB_LIT(sb, "[");
    for (size_t i = 0; i < it->n_support; i++) {
        if (i)
            SB_LIT(sb, ",");
        json_giver(sb, &it->support[i]);
    }
    SB_LIT(sb, "]");
}

static void json_topic(struct strbuf *sb, const struct priorities_item *it)
{
    if (it->area) {
        SB_LIT(sb, ",\"area\":");
        json_str(sb, it->area);
    } else if (it->theme) {
        SB_LIT(sb, ",\"theme\":");
        json_str(sb, it->theme);
    } else {
        SB_LIT(sb, ",\"subject\":");
        json_str(sb, it->subject);
    }
    SB_LIT(sb, ",\"group\":");
    json_str(sb, it->group);
}

static bool shows_pupils(const struct priorities_item *it, const struct priorities_output_opts *o)
{
    return it->kind == PRIORITIES_KIND_STUCK_PUPILS && it->level == PRIORITIES_LEVEL_SCHOOL && o &&
           o->include_pupil_keys && visible(o, it->urn);
}

static void json_item(struct strbuf *sb, const struct priorities_item *it,
                      const struct priorities_output_opts *o)
{
    SB_LIT(sb, "{\"id\":");
    json_str(sb, it->id);
    SB_LIT(sb, ",\"level\":\"");
    sb_str(sb, priorities_level_name(it->level));
    SB_LIT(sb, "\",\"kind\":\"");
    sb_str(sb, priorities_kind_name(it->kind));
    SB_LIT(sb, "\"");
    json_topic(sb, it);
    SB_LIT(sb, ",\"schools\":[");
    bool first = true;
    for (size_t i = 0; i < it->n_schools; i++)
        if (visible(o, it->schools[i])) {
            if (!first)
                SB_LIT(sb, ",");
            json_str(sb, it->schools[i]);
            first = false;
        }
    SB_LIT(sb, "],\"metrics\":");
    json_metrics(sb, it);
    SB_LIT(sb, ",\"score\":");
    put_score(sb, it->score_hundredths);
    SB_LIT(sb, ",\"rationale\":");
    json_str(sb, it->rationale);
    SB_LIT(sb, ",\"support\":");
    json_givers(sb, it);
    if (it->level == PRIORITIES_LEVEL_TRUST &&
        (it->kind == PRIORITIES_KIND_SEF || it->kind == PRIORITIES_KIND_STUCK_PUPILS)) {
        SB_LIT(sb, ",\"by_school\":[");
        first = true;
        for (size_t i = 0; i < it->n_detail; i++) {
            const struct priorities_school_detail *d = &it->detail[i];
            if (!visible(o, d->urn))
                continue;
            if (!first)
                SB_LIT(sb, ",");
            first = false;
            SB_LIT(sb, "{\"urn\":");
            json_str(sb, d->urn);
            if (it->kind == PRIORITIES_KIND_SEF) {
                SB_LIT(sb, ",\"ordinal\":");
                sb_long(sb, d->count);
                SB_LIT(sb, ",\"grade\":");
                json_str(sb, d->grade);
            } else {
                SB_LIT(sb, ",\"count\":");
                sb_long(sb, d->count);
            }
            SB_LIT(sb, "}");
        }
        SB_LIT(sb, "]");
    }
    if (shows_pupils(it, o)) {
        SB_LIT(sb, ",\"pupils\":[");
        for (size_t i = 0; i < it->n_pupils; i++) {
            if (i)
                SB_LIT(sb, ",");
            json_str(sb, it->pupils[i]);
        }
        SB_LIT(sb, "]");
    }
    SB_LIT(sb, "}");
}

static void json_header(struct strbuf *sb, const struct priorities_list *list)
{
    SB_LIT(sb, "{\"year\":");
    json_str(sb, list->year);
    SB_LIT(sb, ",\"term\":");
    json_str(sb, list->term);
    SB_LIT(sb, ",\"items\":[");
}

char *priorities_to_json(const struct priorities_list *list,
                         const struct priorities_output_opts *opts, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    json_header(&sb, list);
    for (size_t i = 0; i < list->count; i++) {
        if (i)
            SB_LIT(&sb, ",");
        json_item(&sb, list->items[i], opts);
    }
    SB_LIT(&sb, "]}");
    return strbuf_detach(&sb, len);
}

char *priorities_support_to_json(const struct priorities_list *list, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    json_header(&sb, list);
    bool first = true;
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        if (it->level != PRIORITIES_LEVEL_SCHOOL)
            continue;
        if (!first)
            SB_LIT(&sb, ",");
        first = false;
        SB_LIT(&sb, "{\"receiver\":");
        json_str(&sb, it->urn);
        SB_LIT(&sb, ",\"priority_id\":");
        json_str(&sb, it->id);
        SB_LIT(&sb, ",\"kind\":\"");
        sb_str(&sb, priorities_kind_name(it->kind));
        SB_LIT(&sb, "\"");
        json_topic(&sb, it);
        SB_LIT(&sb, ",\"score\":");
        put_score(&sb, it->score_hundredths);
        SB_LIT(&sb, ",\"givers\":");
        json_givers(&sb, it);
        SB_LIT(&sb, "}");
    }
    SB_LIT(&sb, "]}");
    return strbuf_detach(&sb, len);
}

/* One CSV field (RFC 4180). Text that a spreadsheet would run as a formula is prefixed
 * with an apostrophe. */
static void csv_text(struct strbuf *sb, const char *s)
{
    if (!s)
        return;
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        sb_str(sb, s);
        return;
    }
    if (formula)
        SB_LIT(sb, "\"'");
    else
        SB_LIT(sb, "\"");
    for (const char *run = s, *q;; run = q + 1) {
        q = strchr(run, '"');
        if (!q) {
            sb_str(sb, run);
            break;
        }
        sb_put(sb, run, (size_t)(q - run));
        SB_LIT(sb, "\"\"");
    }
    SB_LIT(sb, "\"");
}

/* URNs and keys joined with ';' (they never need quoting). */
static void csv_join(struct strbuf *sb, char *const *v, size_t n,
                     const struct priorities_output_opts *o)
{
    bool first = true;
    for (size_t i = 0; i < n; i++)
        if (visible(o, v[i])) {
            if (!first)
                SB_LIT(sb, ";");
            first = false;
            csv_text(sb, v[i]);
        }
}

char *priorities_to_csv(const struct priorities_list *list,
                        const struct priorities_output_opts *opts, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    SB_LIT(&sb, "year,term,id,level,kind,subject,area,theme,group,schools,n,k,p,b,gap,z,"
                "deficit,trend,benchmark,score,rationale,support,pupils\r\n");
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        const struct priorities_cell_metrics *m = &it->cell;
        bool cellish = it->kind == PRIORITIES_KIND_ATTAINMENT || it->kind == PRIORITIES_KIND_GAP ||
                       it->kind == PRIORITIES_KIND_TREND;
        csv_text(&sb, list->year);
        SB_LIT(&sb, ",");
        csv_text(&sb, list->term);
        SB_LIT(&sb, ",");
        sb_str(&sb, it->id);
        SB_LIT(&sb, ",");
        sb_str(&sb, priorities_level_name(it->level));
        SB_LIT(&sb, ",");
        sb_str(&sb, priorities_kind_name(it->kind));
        SB_LIT(&sb, ",");
        csv_text(&sb, it->subject);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->area);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->theme);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->group);
        SB_LIT(&sb, ",");
        csv_join(&sb, it->schools, it->n_schools, opts);
        if (cellish) {
            SB_LIT(&sb, ",");
            sb_long(&sb, m->n);
            SB_LIT(&sb, ",");
            sb_long(&sb, m->k);
            SB_LIT(&sb, ",");
            put_fixed(&sb, m->p, 4);
            SB_LIT(&sb, ",");
            if (m->has_b)
                put_fixed(&sb, m->b, 4);
            SB_LIT(&sb, ",");
            if (m->has_b)
                put_fixed(&sb, m->gap, 4);
            SB_LIT(&sb, ",");
            if (m->has_z)
                put_fixed(&sb, m->z, 3);
            SB_LIT(&sb, ",");
            if (m->has_b)
                sb_long(&sb, m->deficit);
            SB_LIT(&sb, ",");
            if (it->kind == PRIORITIES_KIND_TREND)
                put_fixed(&sb, it->trend, 4);
            SB_LIT(&sb, ",");
            csv_text(&sb, benchmark_source(m));
            SB_LIT(&sb, ",");
        } else {
            SB_LIT(&sb, ",,,,,,,,,,"); /* n .. benchmark, empty */
        }
        put_score(&sb, it->score_hundredths);
        SB_LIT(&sb, ",");
        csv_text(&sb, it->rationale);
        SB_LIT(&sb, ",");
        char *givers[PRIORITIES_MAX_SUPPORT];
        for (size_t g = 0; g < it->n_support; g++)
            givers[g] = it->support[g].urn;
        csv_join(&sb, givers, it->n_support, NULL);
        SB_LIT(&sb, ",");
        if (shows_pupils(it, opts))
            csv_join(&sb, it->pupils, it->n_pupils, NULL);
        SB_LIT(&sb, "\r\n");
    }
    return strbuf_detach(&sb, len);
}

char *priorities_support_to_csv(const struct priorities_list *list, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    SB_LIT(&sb, "year,term,receiver,priority_id,kind,topic,group,score,giver,giver_name,reason,"
                "same_phase,distance_km\r\n");
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        if (it->level != PRIORITIES_LEVEL_SCHOOL)
            continue;
        const char *topic = it->subject ? it->subject : it->area ? it->area : it->theme;
        /* One row per giver; a need nobody can meet still gets its row. */
        for (size_t g = 0; g < (it->n_support ? it->n_support : 1); g++) {
            const struct priorities_giver *gv = it->n_support ? &it->support[g] : NULL;
            csv_text(&sb, list->year);
            SB_LIT(&sb, ",");
            csv_text(&sb, list->term);
            SB_LIT(&sb, ",");
            csv_text(&sb, it->urn);
            SB_LIT(&sb, ",");
            csv_text(&sb, it->id);
            SB_LIT(&sb, ",");
            csv_text(&sb, priorities_kind_name(it->kind));
            SB_LIT(&sb, ",");
            csv_text(&sb, topic ? topic : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, it->group ? it->group : "");
            SB_LIT(&sb, ",");
            put_score(&sb, it->score_hundredths);
            SB_LIT(&sb, ",");
            csv_text(&sb, gv ? gv->urn : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, gv && gv->name ? gv->name : "");
            SB_LIT(&sb, ",");
            csv_text(&sb, gv && gv->reason ? gv->reason : "");
            SB_LIT(&sb, ",");
            strbuf_puts(&sb, gv ? (gv->same_phase ? "true" : "false") : "");
            SB_LIT(&sb, ",");
            if (gv && gv->has_distance)
                strbuf_printf(&sb, "%.1f", gv->distance_km);
            SB_LIT(&sb, "\r\n");
        }
    }
    return strbuf_detach(&sb, len);
}
