/* The CEO's briefing (SPEC 6.5): the trust's priorities after the diversity rules of
 * SPEC 6.3, headline figures per subject, the schools causing concern, monitoring counts
 * and this term's triads, as one document. Pure: the caller reads the database and the
 * computed priorities; this module only selects, sums and writes. */
#ifndef MATD_BRIEFING_H
#define MATD_BRIEFING_H

#include <stdbool.h>
#include <stddef.h>

#include "priorities.h"

#define BRIEFING_ITEMS 10
#define BRIEFING_PER_KIND 3
#define BRIEFING_REASONS 3

/* The first `limit` items of list, in order, skipping an item when `per_kind` items of its
 * kind are already taken or a taken item has the same topic (subject, area or theme) and
 * scope (the trust, or the school). Returns an owned view borrowing list's items. */
struct priorities_list *briefing_diverse(const struct priorities_list *list, size_t limit,
                                         size_t per_kind);

/* The (subject, all) cells of every scope this term and last year, the national
 * (subject, all) benchmarks and the trust's min_cohort: what the headline is summed from.
 * Owned copies. */
struct briefing_headline;
struct briefing_headline *briefing_headline_collect(const struct priorities_input *in);
void briefing_headline_free(struct briefing_headline *h);

struct briefing_school {
    const char *urn, *name;
    bool category;
    long overdue; /* the school's overdue milestones and criteria this year */
};

struct briefing_triad {
    long rota_id;
    int triad;
    const char *host;
    const char *const *members;
    size_t n_members;
    bool review_in; /* a review report on the host has been written */
};

struct briefing_monitoring {
    long overdue, due_this_term, at_risk;
};

/* Everything is borrowed. */
struct briefing_input {
    const char *year, *term;
    const struct priorities_list *list; /* the full list, already narrowed to the scope */
    const struct briefing_headline *headline;
    const char *const *scope; /* the executive head's schools; NULL for the whole trust */
    size_t n_scope;
    const struct briefing_school *schools; /* the schools in scope */
    size_t n_schools;
    struct briefing_monitoring monitoring;
    const struct briefing_triad *triads; /* this term's published triads in scope */
    size_t n_triads;
    const struct priorities_output_opts *opts; /* how the priority items are written */
    /* the cells withheld from the reader (SPEC §8): the headline's, of the trust or (with
     * scope) of the schools summed (SUPPRESS_SUBSET), show n as "<min_cohort" and no
     * figures; NULL withholds those under min_cohort only. The list is already a
     * priorities_cohort_view. */
    const struct priorities_cohort *cohort;
};

/* {"year","term","scope","headline":[...],"priorities":[...],"schools_of_concern":[...],
 * "monitoring":{...},"triads":[...]} as owned NUL-terminated bytes (*len if not NULL).
 * The same input gives the same bytes. */
char *briefing_to_json(const struct briefing_input *in, size_t *len);

#endif
