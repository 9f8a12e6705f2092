/* A re-plan's seed when schools joined or left (issue 10: "a school joining changes only the
 * triads it must"): the previous groups stay whole where they fit, and the joiners (with what is
 * left of broken groups) wait in the larger slots; which kept group each term puts beside them
 * decides how often they meet schools again. Internal to the planner. */
#ifndef MATD_ROTA_JOIN_H
#define MATD_ROTA_JOIN_H

#include "rota_search.h"

/* Chooses, term by term, which kept groups go to the heads of the larger slots (beside the
 * joiners, or the partners of a school that left): exactly when the combinations are few, else
 * by a branch and bound on the hard, kept and repeat levels beside a descent with random kicks,
 * the better kept. s->st holds the seed and is left with the choice. */
void rota_join_seed(struct rota_search *s);

#endif
