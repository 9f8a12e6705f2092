/* Filters and views of a computed priorities list: a school's, an executive head's, by
 * level, kind, subject or school. A view borrows the list's items. */
#include "priorities_views.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

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
