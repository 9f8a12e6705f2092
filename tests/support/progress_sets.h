/* Pupil-progress sets for the unit tests (shared by test_progress_summary.c and
 * test_progress_counts.c). */
#ifndef MATD_PROGRESS_SETS_H
#define MATD_PROGRESS_SETS_H
#include "progress_parse.h"

/* Parses a CSV push with a fixed test secret into set; the test fails unless it parses. */
void progress_test_parse_csv(const char *csv, struct progress_set *set);

#endif
