/* Views of a computed priorities list: filtered by level, kind, subject or school, a
 * school's own view and an executive head's. A view borrows the list's items (keep the
 * owner alive until the view is freed with priorities_list_free). */
#ifndef MATD_PRIORITIES_VIEWS_H
#define MATD_PRIORITIES_VIEWS_H

#include "priorities.h"
#include "suppress.h"

/* ---- filters and views: return an owned view borrowing list's items ---- */

struct priorities_filter {
    enum priorities_level level; /* PRIORITIES_LEVEL_ANY for any */
    enum priorities_kind kind;   /* PRIORITIES_KIND_ANY for any */
    const char *subject;         /* NULL for any; matches an item's subject or theme */
    const char *school;          /* NULL for any; items concerning this URN */
};

/* True when the item is about the school: its own school-level item, or a trust-level
 * item whose schools include it. */
bool priorities_item_concerns(const struct priorities_item *it, const char *urn);
struct priorities_list *priorities_filter(const struct priorities_list *list,
                                          const struct priorities_filter *f);
/* GET /v1/schools/{urn}/priorities: the items concerning urn. */
struct priorities_list *priorities_school_view(const struct priorities_list *list, const char *urn);
/* An executive head's view: every trust-level item plus the school-level items of the
 * given schools. */
struct priorities_list *priorities_scope_view(const struct priorities_list *list,
                                              const char *const *urns, size_t n_urns);

/* ---- small cohorts (SPEC §8): what a reader may see of the cells behind the items ---- */

struct priorities_cohort {
    const struct suppress_mask *now;  /* this term's cells withheld from the reader; NULL: none */
    const struct suppress_mask *prev; /* the same term last year's (trend items); NULL: none */
    const char *subset_scope;         /* the scope the reader's "trust" headline is: SUPPRESS_TRUST,
                                       * or SUPPRESS_SUBSET for an executive head's schools */
    const char *own;                  /* the reader's own school: its cells are never withheld */
};

/* Marks cells[i].withheld from the mask of their term (NULL: none withheld). */
void priorities_mark_withheld(struct priorities_cell *cells, size_t n,
                              const struct suppress_mask *m);
/* True when an item's figures stand on a cell withheld from the reader: its own cell, the
 * other cell of a gap or a trend, the trust's (subject, all) cell its benchmark falls back
 * to, the cohort its stuck pupils are a share of. */
bool priorities_item_withheld(const struct priorities_item *it, const struct priorities_cohort *co);
/* The items a reader may see: those standing on withheld cells left out; an item naming a
 * giver whose cell is withheld, or counting stuck pupils in a school whose cohort is,
 * copied without them. Returns an owned view (keep list alive until it is freed). */
struct priorities_list *priorities_cohort_view(const struct priorities_list *list,
                                               const struct priorities_cohort *co);

#endif
