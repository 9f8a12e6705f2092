/* Trusts for the rota planner's bench and tests, generated deterministically (shared by
 * bench/rota_bench.c, tests/unit/test_rota_soft.c and test_rota.c, so both measure the same
 * trusts). */
#ifndef MATD_ROTA_TRUST_H
#define MATD_ROTA_TRUST_H
#include "rota.h"

/* n primary schools (URNs 100001...), terms consecutive from 2025-26 autumn, no history, only
 * the no-repeat and hosting objectives (phase ignore, balance off, travel 0). Free the input
 * with rota_input_free. */
void rota_trust_plain(struct rota_input *in, int n, int terms, unsigned long long seed);

/* A realistic county trust: schools in eight towns across a county about 110 km by 65 km
 * (Lincolnshire's towns), of every twelve 8 primary, 3 secondary and one special, all-through
 * or alternative provision in turn, strengths 1..5 (about 40 % strong), schools 6 and 18
 * category; the default constraints (phase prefer, balance on, travel 0, decay 6). */
void rota_trust_county(struct rota_input *in, int n, int terms, unsigned long long seed);

/* `terms` past terms (from 2022-23 autumn) of n schools drawn at random from seed: each a
 * random grouping in the layout's sizes, the first member drawn hosting — a trust's
 * hand-made years, not the planner's own. Replaces in's history. */
void rota_trust_random_history(struct rota_input *in, int n, int terms, unsigned long long seed);

/* The same groupings, hosted as the hosting cycle has it (each school hosts once before any
 * school hosts twice): in each group the first member still waiting for its turn, else the
 * first member — hand-made years whose every term could begin one of the planner's plans, so
 * recognition has to look at each of them. Replaces in's history. */
void rota_trust_hosted_history(struct rota_input *in, int n, int terms, unsigned long long seed);

#endif
