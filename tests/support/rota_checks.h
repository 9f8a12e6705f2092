/* The planner's self-checks in the rota tests: turned on before the tests run, and their
 * mismatches added to the result after (rota_search_checks). */
#ifndef MATD_TEST_ROTA_CHECKS_H
#define MATD_TEST_ROTA_CHECKS_H
#include <stdatomic.h>
#include <stdio.h>

#include "rota_search.h"

static inline void rota_checks_on(void)
{
    rota_search_checks = true; /* the repair's incremental bookkeeping against a full scan */
}

/* failed (the tests' result), one more if a self-check found a mismatch. */
static inline int rota_checks_result(int failed)
{
    long mismatches = atomic_load(&rota_search_check_failures);
    if (mismatches != 0) {
        fprintf(stderr, "the repair's conflict flags differed from a full scan %ld times\n",
                mismatches);
        failed++;
    }
    return failed;
}

#endif
