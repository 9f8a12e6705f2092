/* RFC 9457 problem details (application/problem+json) with the "errors" array of
 * {path, message} that every matd 4xx carries. Pure. */
#ifndef MATD_PROBLEM_H
#define MATD_PROBLEM_H
#include "errors.h"

/* Reason phrase for a status code. */
const char *http_reason(int status);
/* Returns the owned JSON text. errs may be NULL; detail may be NULL. */
char *problem_json(int status, const char *detail, const struct mat_errors *errs,
                   const char *instance, const char *request_id);

#endif
