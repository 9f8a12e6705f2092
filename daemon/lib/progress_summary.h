/* What a progress push would store, for ?dry_run=true (SPEC 4.3): rows, pupils, counts per
 * subject x band and per other code (with how each code counts), and the warnings a data
 * manager wants before the real push: a pupil in two year groups, a subject present last
 * term and absent now, a cohort that shrank by more than 10%. Pure: the previous term's
 * facts come from the caller. */
#ifndef MATD_PROGRESS_SUMMARY_H
#define MATD_PROGRESS_SUMMARY_H
#include <jansson.h>
#include <stddef.h>

#include "progress_parse.h"

#define PROGRESS_SUMMARY_EXAMPLES 10

struct progress_subject_counts {
    char subject[PROGRESS_SUBJECT_MAX + 1];
    size_t rows, in_cohort;
    size_t band[PROGRESS_NBANDS];
    size_t code[ASSESS_NCODES];
};

struct progress_year_example {
    size_t first, second; /* rows (or JSON indexes) of two disagreeing records */
    char year_first[3], year_second[3];
};

struct progress_summary {
    size_t rows, pupils;
    struct progress_subject_counts *subjects; /* owned, sorted by name */
    size_t nsubjects;
    size_t code[ASSESS_NCODES];
    /* pupils whose records carry more than one year group, with up to ten examples */
    size_t multi_year_pupils;
    struct progress_year_example examples[PROGRESS_SUMMARY_EXAMPLES];
    size_t nexamples;
};

/* The previous term's set for the same school, as the database holds it. */
struct progress_previous {
    const char *year, *term; /* borrowed */
    size_t pupils;           /* distinct pupils; 0 = nothing held */
    const char *const *subjects;
    size_t nsubjects;
};

void progress_summary_compute(const struct progress_set *s, struct progress_summary *out);
void progress_summary_free(struct progress_summary *s);

/* The dry-run answer. csv: whether origins are CSV rows (else JSON record indexes).
 * Returns a new reference. */
json_t *progress_summary_json(const struct progress_summary *s,
                              const struct progress_previous *prev, bool csv);
/* The warnings alone ([{kind, message}]), as a stored push answers them. New reference. */
json_t *progress_summary_warnings(const struct progress_summary *s,
                                  const struct progress_previous *prev, bool csv);

#endif
