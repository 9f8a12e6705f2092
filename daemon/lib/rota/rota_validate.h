/* Validation of a rota input: what the planner checks before it searches, with JSON pointers
 * into the input for every error. */
#ifndef MATD_ROTA_VALIDATE_H
#define MATD_ROTA_VALIDATE_H
#include "errors.h"
#include "rota.h"

/* Checks the input (sizes, indices, duplicates, ranges, term order, feasibility that can be
 * seen without searching). Returns 0, or -1 with errors (JSON pointers into the input). */
int rota_validate(const struct rota_input *in, struct mat_errors *err);

#endif
