/* Small cohorts (SPEC §8): which cells of the published tables are withheld from everyone
 * but the school itself — the primary cells of fewer than min_cohort pupils and, when the
 * trust asks for it, the secondary cells withheld so that no withheld cell is left the one
 * unknown part of a published total. Pure: the same cells give the same mask, whatever
 * their order. */
#ifndef MATD_SUPPRESS_H
#define MATD_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* The scope of the trust's row, every school pooled (NULL reads the same). */
#define SUPPRESS_TRUST ""
/* The scope of an executive head's row: the schools of the subset summed. */
#define SUPPRESS_SUBSET "*"

/* One cell of a term: n pupils, and the figures published with them (k, greater depth,
 * p), which are withheld with it. */
struct suppress_cell {
    const char *scope;      /* a school's URN, or SUPPRESS_TRUST */
    const char *subject;    /* reading, writing, ... */
    const char *year_group; /* NULL or "all": the subject's cell over every year group */
    const char *group;      /* all, disadvantaged, not_disadvantaged, send, send_support, ... */
    long n;                 /* 0: no pupils, nothing published (ignored) */
};

/* The trust's rule (its priority thresholds). */
struct suppress_rule {
    int min_cohort; /* a cell of 0 < n < min_cohort pupils is withheld (primary) */
    /* complementary (secondary) suppression: also withhold, relation by relation, the
     * cells that would let a withheld one be worked out by subtraction; false (the
     * default): the primary cells only */
    bool complements;
};

struct suppress_stats {
    size_t cells;     /* cells with pupils (the subset's row included) */
    size_t primary;   /* of them under min_cohort pupils */
    size_t secondary; /* of them withheld so that a primary cell cannot be worked out */
    size_t forced;    /* of them subject cells withheld for their year groups' sake */
    /* secondary and forced are 0 without complements */
};

struct suppress_mask;

/* Computes the mask of one term's cells (borrowed for the call) under rule: the cells of
 * fewer than min_cohort pupils and, with complements, the cells withheld to protect them.
 * The relations between the cells come from their keys: a group and its parts (all =
 * disadvantaged + not_disadvantaged, send = send_support + ehcp, all = send + the pupils
 * without SEND, ...), a subject's cell and its year groups, the trust's row and its
 * schools', and, with a subset (an executive head's schools, URNs; NULL for none), the
 * subset's row (SUPPRESS_SUBSET) and its schools' and the trust's row and the subset's.
 * Give every cell of the term, year groups and all, even where only subject cells are
 * shown: with complements a subject cell can be withheld for its year groups' sake, and
 * every route must withhold the same. Returns an owned mask, or NULL with the bad rows in
 * err ("/cells/3": a cell given twice; "/cells/3/n": a negative n; err may be NULL). */
struct suppress_mask *suppress_compute(const struct suppress_cell *cells, size_t ncells,
                                       const struct suppress_rule *rule, const char *const *subset,
                                       size_t nsubset, struct mat_errors *err);

/* The same cells and rule as base (which stays the caller's) with another subset: an owned
 * mask. */
struct suppress_mask *suppress_for_subset(const struct suppress_mask *base,
                                          const char *const *subset, size_t nsubset);

/* True when the cell is withheld (shown as "<min_cohort" with no figures). A cell the mask
 * does not hold has no pupils and is never withheld. */
bool suppress_withheld(const struct suppress_mask *m, const char *scope, const char *subject,
                       const char *year_group, const char *group);

int suppress_min_cohort(const struct suppress_mask *m);
void suppress_get_stats(const struct suppress_mask *m, struct suppress_stats *out);
void suppress_free(struct suppress_mask *m);

#endif
