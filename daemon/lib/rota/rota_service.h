/* The rota planner as matd uses it: planner input JSON (SPEC §11, optionally with a
 * "previous" plan to re-plan) in, plan JSON out, so the API, the scheduler, the demo and
 * `matctl rota plan` share one contract. Pure; may take up to the planner's time budget, so
 * matd runs it on the offload pool or the scheduler thread. */
#ifndef MATD_ROTA_SERVICE_H
#define MATD_ROTA_SERVICE_H
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* Plans from input (SPEC §11 planner input). Returns 0 with *plan_json owned, or -1 with
 * the input's problems in errs (JSON pointers). strict: a history URN that is not among
 * the schools is an error (offline input); otherwise it is a school that has left and its
 * pairings are passed over (the database's history). */
int rota_service_plan(const char *input_json, size_t len, bool strict, char **plan_json,
                      struct mat_errors *errs);

#endif
