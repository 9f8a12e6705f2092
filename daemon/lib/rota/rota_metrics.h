/* Metrics of a planned rota (SPEC §7 output), recomputed from the input and the groups alone,
 * independently of how they were planned: the reference the tests hold the planner to. */
#ifndef MATD_ROTA_METRICS_H
#define MATD_ROTA_METRICS_H
#include <stddef.h>

#include "rota.h"

/* Recomputes every metric of terms (groups with hosts, chronological, after in->history)
 * from the input alone. per_term has n_terms entries. Returns 0, or -1 if a group names a
 * school index out of range. */
int rota_metrics_compute(const struct rota_input *in, const struct rota_term *terms, size_t n_terms,
                         struct rota_metrics *per_term, struct rota_metrics *total);

#endif
