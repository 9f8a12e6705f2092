/* Pupil-progress sets for the unit tests (see the header). */
#include "progress_sets.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static const unsigned char test_secret[] = "trust-secret-for-tests";

void progress_test_parse_csv(const char *csv, struct progress_set *set)
{
    struct progress_parse_opts o = {.secret = test_secret, .secret_len = sizeof test_secret - 1};
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_csv(csv, strlen(csv), &o, set, &errs), PROGRESS_OK);
    mat_errors_free(&errs);
}
