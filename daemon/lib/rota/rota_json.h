/* The rota planner's JSON (SPEC §11): the planner input (shared by `matctl rota plan` and
 * POST /v1/rotas) into rota structs with JSON-pointer errors, and plans, previous plans and
 * re-plan changes to and from JSON with a fixed key order (same input, same bytes). */
#ifndef MATD_ROTA_JSON_H
#define MATD_ROTA_JSON_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "rota.h"

#define ROTA_JSON_LENIENT_HISTORY                                                                  \
    1u                        /* the database's history: URNs not among the schools                \
                               * (schools that have left) and terms at or after the                \
                               * first planned term are passed over, not errors */
#define ROTA_JSON_PREVIOUS 2u /* accept "previous": a plan to re-plan (see below) */

/* Parses and validates planner input text (strict: an unknown field or a history URN not
 * among the schools is an error). Returns 0 and fills out (owned: rota_input_free), or -1
 * with errors naming the JSON pointer of each problem ("" for malformed JSON). */
int rota_json_parse_input(const char *text, size_t len, struct rota_input *out,
                          struct mat_errors *err);
/* The same from an already parsed body (borrows root). */
int rota_json_input_from_value(const json_t *root, struct rota_input *out, struct mat_errors *err);
/* The same with ROTA_JSON_* flags; with ROTA_JSON_PREVIOUS a "previous" member (a plan as
 * rota_json_plan writes it) is parsed into *prev (owned; NULL when absent). */
int rota_json_parse_request(const json_t *root, unsigned flags, struct rota_input *out,
                            struct rota_prev_term **prev, size_t *n_prev, struct mat_errors *err);

/* {"terms": [{"year", "term", "groups": [{"members", "host"}], "metrics": {...}}],
 *  "metrics": {...summed..., "hosting_spread"}, "planner": {"method", "seed", "work"}}.
 * Members are sorted by URN, groups by their first member. Returns a new reference. */
json_t *rota_json_plan(const struct rota_input *in, const struct rota_plan *plan);
/* Per re-planned term: {"year", "term", "kept_triads", "changed_triads", "moved": [URN],
 * "joined": [URN], "left": [URN], "removed": [previous groups], "added": [new groups]}.
 * Returns a new reference (an array). */
json_t *rota_json_changes(const struct rota_changes *changes, const struct rota_prev_term *prev,
                          size_t n_prev, const struct rota_input *in, const struct rota_plan *plan);
/* The plan (with a "changes" member when changes is not NULL) as JSON text, indented or
 * compact, with a final newline. Returns owned text. */
char *rota_json_plan_dump(const struct rota_input *in, const struct rota_plan *plan,
                          const struct rota_changes *changes, const struct rota_prev_term *prev,
                          size_t n_prev, bool pretty);

/* Parses a stored plan (the output above, or any object with its "terms") as the previous
 * plan of a re-plan. Members are kept as URNs: schools that have left are expected. Returns
 * 0 and fills *out (owned: rota_prev_terms_free), or -1 with errors. */
int rota_json_parse_previous(const json_t *plan, struct rota_prev_term **out, size_t *n_out,
                             struct mat_errors *err);

/* Input text to plan text in one call (what the API, the scheduler and matctl need): parse
 * with flags, plan (or re-plan when a "previous" plan is given), serialise. Returns 0 with
 * *out_json owned, or -1 with the problems in err. opt may be NULL (defaults). */
int rota_json_run(const char *text, size_t len, unsigned flags, const struct rota_options *opt,
                  bool pretty, char **out_json, struct mat_errors *err);

#endif
