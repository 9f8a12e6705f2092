/* A push's rows of progress_counts (sql/010), computed from its records as the parse
 * accepted them, so that PostgreSQL is handed 36-odd rows instead of re-reading 30,000 to
 * count them. The C twin of progress_base_school: per subject x year group, for each of
 * the 13 groups, n (pupils in the cohort), k (at expected or greater depth) and g (at
 * greater depth). The tests compare both ways on random trusts (test_aggregates). Pure. */
#ifndef MATD_PROGRESS_COUNTS_H
#define MATD_PROGRESS_COUNTS_H
#include "progress_parse.h"
#include "util.h"

#define PROGRESS_COUNT_GROUPS 13

/* Appends one COPY line per subject x year group holding a record in a cell's cohort:
 *   <line_prefix>subject year_group n0 k0 g0 ... n12 k12 g12
 * the groups in the columns' order: all, disadvantaged, not disadvantaged, SEND (support or
 * EHCP), SEND support, EHCP, EAL, looked after, girls, boys, prior low, middle, high.
 * for COPY progress_counts (trust_id, urn, year, term, subject, year_group, n0, ...), with
 * line_prefix (may be NULL) as in progress_records_to_copy. Lines come in no set order. */
void progress_counts_to_copy(const struct progress_set *s, const char *line_prefix,
                             struct strbuf *out);

/* The column list of that COPY, after "trust_id, urn, year, term, ". */
extern const char progress_counts_copy_columns[];

#endif
