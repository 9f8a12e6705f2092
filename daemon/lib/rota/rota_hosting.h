/* Hosting: the fairness cycle of SPEC §7 (each school hosts once before any school hosts
 * twice), replayed through history; the host of each planned group, and swaps that let the
 * groups give the schools still waiting their turn. Internal to the planner. */
#ifndef MATD_ROTA_HOSTING_H
#define MATD_ROTA_HOSTING_H
#include <stdint.h>

#include "rota_search.h"

/* Marks the schools the history leaves waiting in the hosting cycle (cx->wait0), which the
 * first planned term's groups should give a turn. */
void rota_hosting_set_waiting(struct rota_ctx *cx);
/* Chooses hosts (t x ng) for the planned groups at (t x n positions); prefer: a previous host
 * per group to keep (re-plan), or NULL. */
void rota_hosting_plan(const struct rota_ctx *cx, const int *at, const int *prefer, int *hosts,
                       struct prng *r, uint64_t budget);
/* Swaps that keep the hard, kept and repeat levels and lower the hosting violations. */
void rota_hosting_search(struct rota_search *s, const int *prefer, uint64_t budget);

#endif
