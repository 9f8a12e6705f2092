/* Views of a computed priorities list: filtered by level, kind, subject or school, a
 * school's own view and an executive head's. A view borrows the list's items (keep the
 * owner alive until the view is freed with priorities_list_free). */
#ifndef MATD_PRIORITIES_VIEWS_H
#define MATD_PRIORITIES_VIEWS_H

#include "priorities.h"

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

#endif
