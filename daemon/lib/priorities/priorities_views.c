/* Filters and views of a computed priorities list: a school's, an executive head's, by
 * level, kind, subject or school. A view borrows the list's items. */
#include "priorities_views.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
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

/* ---- small cohorts ---- */

void priorities_mark_withheld(struct priorities_cell *cells, size_t n,
                              const struct suppress_mask *m)
{
    for (size_t i = 0; i < n; i++)
        cells[i].withheld =
            suppress_withheld(m, cells[i].scope, cells[i].subject, NULL, cells[i].group);
}

static bool cell_withheld(const struct priorities_cohort *co, const struct suppress_mask *m,
                          const char *urn, const char *subject, const char *group)
{
    if (urn && co->own && !strcmp(urn, co->own))
        return false;
    return suppress_withheld(m, urn ? urn : SUPPRESS_TRUST, subject, NULL, group);
}

bool priorities_item_withheld(const struct priorities_item *it, const struct priorities_cohort *co)
{
    if (!it->subject || (it->urn && co->own && !strcmp(it->urn, co->own)))
        return false; /* no cell behind it (SEF, themes), or the reader's own */
    const char *urn = it->level == PRIORITIES_LEVEL_SCHOOL ? it->urn : NULL;
    const char *all = "all";
    switch (it->kind) {
    case PRIORITIES_KIND_STUCK_PUPILS:
        return cell_withheld(co, co->now, urn, it->subject, all);
    case PRIORITIES_KIND_GAP:
        if (cell_withheld(co, co->now, urn, it->subject, "not_disadvantaged") ||
            (it->other.b_fallback && cell_withheld(co, co->now, NULL, it->subject, all)))
            return true;
        break;
    case PRIORITIES_KIND_TREND:
        if (cell_withheld(co, co->prev, urn, it->subject, it->group))
            return true;
        break;
    default:
        break;
    }
    return cell_withheld(co, co->now, urn, it->subject, it->group) ||
           (it->cell.b_fallback && cell_withheld(co, co->now, NULL, it->subject, all)) ||
           (it->stuck && cell_withheld(co, co->now, urn, it->subject, all));
}

/* The cell a giver's reason shows: the same cell at the giver's school (for a gap the
 * disadvantaged one, for stuck pupils the subject's "all"); SEF areas have none. */
static bool giver_withheld(const struct priorities_item *it, const struct priorities_giver *g,
                           const struct priorities_cohort *co)
{
    if (it->kind == PRIORITIES_KIND_SEF || !it->subject)
        return false;
    const char *group = it->kind == PRIORITIES_KIND_STUCK_PUPILS ? "all" : it->group;
    return group && cell_withheld(co, co->now, g->urn, it->subject, group);
}

/* A trust count of stuck pupils with a school whose cohort is withheld: the count per
 * school, and the total beside the other schools' own items, would give that school's. */
static bool stuck_withheld(const struct priorities_item *it, const struct priorities_cohort *co)
{
    if (it->level != PRIORITIES_LEVEL_TRUST || !it->stuck)
        return false;
    for (size_t i = 0; i < it->stuck->n_by_school; i++)
        if (cell_withheld(co, co->now, it->stuck->by_school[i].urn, it->subject, "all"))
            return true;
    return false;
}

struct priorities_list *priorities_cohort_view(const struct priorities_list *list,
                                               const struct priorities_cohort *co)
{
    struct priorities_list *v = view_new(list);
    for (size_t i = 0; i < list->count; i++) {
        struct priorities_item *it = list->items[i];
        if (priorities_item_withheld(it, co))
            continue;
        size_t kept = 0;
        for (size_t g = 0; g < it->n_support; g++)
            kept += !giver_withheld(it, &it->support[g], co);
        bool stuck = stuck_withheld(it, co);
        if (kept < it->n_support || stuck) {
            if (!v->copies)
                v->copies = arena_new();
            struct priorities_item *copy = arena_alloc(v->copies, sizeof *copy);
            *copy = *it;
            copy->n_support = 0;
            for (size_t g = 0; g < it->n_support; g++)
                if (!giver_withheld(it, &it->support[g], co))
                    copy->support[copy->n_support++] = it->support[g];
            if (stuck) {
                copy->stuck = NULL;
                copy->rationale = it->rationale_without_stuck;
            }
            it = copy;
        }
        v->items[v->count++] = it;
    }
    return v;
}
