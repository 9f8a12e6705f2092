/* The design engine: runs of terms on points 0..n-1 in which no pair meets twice (the first
 * layer of the planner; rota_plan maps a design onto the schools). Each term is laid out as
 * the groups of rota_group_sizes, consecutive. */
#ifndef MATD_ROTA_DESIGN_H
#define MATD_ROTA_DESIGN_H
#include <stddef.h>
#include <stdint.h>

#include "rota.h"

struct prng;

/* Layout: the groups of a term occupy consecutive positions 0..n-1. */
struct rota_layout {
    int n, ng;
    int *size, *start, *group_of;
};

void rota_layout_init(struct rota_layout *l, int n);
void rota_layout_free(struct rota_layout *l);

/* Fills `terms` classes (terms x n points): a repeat-free run as long as the engine finds
 * (the whole target run where one is known), cycled when more terms are asked for. Returns
 * the length of the run that was built (its repeats in *repeats); work is added to *work.
 * The last few designs are remembered (process-wide, thread-safe) and replayed exactly when
 * asked for again with the same arguments and generator state. */
int rota_design_build(int n, int terms, struct prng *r, uint64_t budget, uint64_t *work,
                      bool use_stored, int *classes, int *repeats, char *method, size_t mlen);
/* Forgets the remembered designs (a bench timing a fresh process's plan; memory at exit). */
void rota_design_forget(void);

/* Three groups (n = 3m, m = 3 mod 6 and m >= 9: 27, 45, 63): the Kirkman run on points x + m g
 * (point x of group g) whose first *intra classes keep within the groups, so that a trust's
 * phases can fill whole groups. False when n has no such construction. */
bool rota_design_three_groups(int n, struct prng *r, uint64_t budget, uint64_t *work, int *classes,
                              int *intra, char *method, size_t mlen);

#define ROTA_DESIGN_SEARCH_ONLY 1u  /* rota_design: skip the stored base classes */
#define ROTA_DESIGN_THREE_GROUPS 2u /* rota_design: the three-groups construction only */

/* The design engine alone: `terms` parallel classes on points 0..n-1 in which no pair meets
 * twice, as far as the engine reaches (a shorter run is cycled). classes receives
 * terms * n points, each class laid out as rota_group_sizes groups in order. Returns the
 * number of repeated pairs (0 = repeat-free), -1 when ROTA_DESIGN_THREE_GROUPS is asked for
 * and n has none; describes the construction in method. */
int rota_design(int n, int terms, uint64_t seed, uint64_t work_budget, unsigned flags, int *classes,
                char *method, size_t method_len);

#endif
