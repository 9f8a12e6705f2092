/* The priorities calculator's working state, shared by its modules (never by callers):
 * the arena that owns every output item, string interning, the dense cell index and the
 * validation of the input. priorities.c drives; prio_items, prio_text and prio_support
 * read this state and add to it. */
#ifndef MATD_PRIO_INDEX_H
#define MATD_PRIO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "priorities.h"
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

static inline void sb_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

static inline void sb_long(struct strbuf *sb, long v)
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

static inline bool str_ok(const char *s)
{
    return s && *s;
}

/* Every item, string and array of a list lives in the list's arena (lib/arena.h) and goes
 * in one free. */

/* ---- string interning: open addressing, FNV-1a; keys are borrowed ---- */

struct strtab {
    int *slots; /* id + 1; 0 = empty */
    size_t cap; /* power of two, at least twice count */
    const char **names;
    size_t count, names_cap;
    int last; /* the last id returned: input rows repeat a value many times in a row */
};

void prio_strtab_init(struct strtab *t);
void prio_strtab_free(struct strtab *t);
int prio_strtab_find(struct strtab *t, const char *s); /* id, or -1 */
int prio_strtab_intern(struct strtab *t, const char *s);

/* ---- the computation context ---- */

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
    struct arena *arena;
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
    char **reason_cell;       /* per current row: why that school gives support (lazily) */
    char **reason_cell_plain; /* the same without its figures */
    char **reason_sef;        /* per SEF row */

    int *tmp; /* scratch, ns */

    struct priorities_item **items;
    size_t nitems, items_cap;
};

static inline size_t cell_slot(const struct ctx *c, int subj, int grp, int scope)
{
    return ((size_t)subj * c->ngrp + (size_t)grp) * c->nscope + (size_t)scope;
}

static inline int32_t cur_row(const struct ctx *c, int subj, int grp, int scope)
{
    if (subj < 0 || grp < 0)
        return -1;
    return c->cur[cell_slot(c, subj, grp, scope)];
}

static inline const struct priorities_cell_metrics *cur_metrics(const struct ctx *c, int subj,
                                                                int grp, int scope)
{
    int32_t row = cur_row(c, subj, grp, scope);
    return row < 0 ? NULL : &c->cm[row];
}

static inline const struct priorities_cell *prev_cell(const struct ctx *c, int subj, int grp,
                                                      int scope)
{
    if (subj < 0 || grp < 0)
        return NULL;
    int32_t row = c->prev[cell_slot(c, subj, grp, scope)];
    return row < 0 ? NULL : &c->in->prev_cells[row];
}

/* School s's row of in->sef for the (canonical) area, or NULL. */
static inline const struct priorities_sef_area *sef_at(const struct ctx *c, int area, int s)
{
    int32_t row = c->sef_row[(size_t)area * c->ns + (size_t)s];
    return row < 0 ? NULL : &c->in->sef[row];
}

/* Validates and indexes c->in (c->t, c->err, c->arena and the string tables set up).
 * False when the input has errors (each one added to c->err). */
bool prio_index_inputs(struct ctx *c);
/* Evaluates every current cell against its benchmark (or the trust fallback): c->cm. */
void prio_index_evaluate(struct ctx *c);

#endif
