/* The inputs of the priorities calculation, read from PostgreSQL: the SQL (one snapshot,
 * cells computed set-based by progress_cells) and the conversion of its results into a
 * priorities_input. Shared by matd (asynchronous pool) and matctl (blocking libpq). */
#ifndef MATD_PRIORITIES_LOAD_H
#define MATD_PRIORITIES_LOAD_H
#include <libpq-fe.h>
#include <stdbool.h>

#include "priorities.h"

enum priorities_query {
    PQ_META,    /* data version and thresholds: params trust */
    PQ_SCHOOLS, /* params trust */
    PQ_CELLS,   /* params trust, year, term (this term) */
    PQ_PREV,    /* params trust, last year, term */
    PQ_BENCH,   /* params trust, year */
    PQ_SEF,     /* params trust, year */
    PQ_THEMES,  /* params trust, year */
    PQ_STUCK,   /* params trust, year, term */
    PQ_GAPREFS, /* params trust, year: national gaps of every year up to it */
    PQ_COUNT
};

struct priorities_query_def {
    const char *name;
    const char *sql;
};
extern const struct priorities_query_def priorities_queries[PQ_COUNT];
/* The same inputs from the pupil rows rather than the aggregates (NULL: as above). */
extern const struct priorities_query_def priorities_queries_from_rows[PQ_COUNT];

/* Parameters of query q for (trust, year, term) into params (up to 7, pointing into
 * storage, which must outlive their use); returns the count. */
struct priorities_params_storage {
    char trust[24], prev_year[8];
};
/* The SQL of query q (last year's cells are this year's statement), from the aggregates
 * or, with from_rows, from the pupil rows. */
const char *priorities_query_sql(enum priorities_query q, bool from_rows);
int priorities_query_params(enum priorities_query q, const char *trust, const char *year,
                            const char *term, struct priorities_params_storage *storage,
                            const char *params[7]);

/* Builds in from the results (borrowed: keep them alive while in is used), with the
 * small-cohort masks of this term and last year's (cells withheld from everyone but their
 * school are marked in in->cells). The arrays and masks are owned by scratch (take the
 * masks by setting them NULL); free with priorities_input_free. *version gets the data
 * version. Returns -1 when the cells make no mask (a cell twice: a broken invariant). */
struct priorities_scratch {
    void *arrays[8];
    struct suppress_mask *now, *prev;
};
int priorities_input_from_results(PGresult *const res[PQ_COUNT], const char *year, const char *term,
                                  struct priorities_input *in, long long *version,
                                  struct priorities_scratch *scratch);
void priorities_input_free(struct priorities_scratch *scratch);

/* The small-cohort masks of a computed list's two terms (owned). */
struct priorities_masks {
    struct suppress_mask *now, *prev;
};

/* Blocking (matctl, the demo): runs the queries on pg, in whatever transaction the caller
 * holds, and computes the list; from_rows reads the pupil rows instead of the aggregates.
 * Returns 0, an owned list and its masks (free them with suppress_free; read the list as
 * anyone but a school reads it through priorities_cohort_view), or -1 with err filled. */
int priorities_load_blocking(PGconn *pg, const char *trust, const char *year, const char *term,
                             bool from_rows, struct priorities_list **out,
                             struct priorities_masks *masks, char *err, size_t errlen);

#endif
