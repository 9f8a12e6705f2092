/* Deploying the trust's experts against its school-level priorities (SPEC 6.7), and
 * moderation groups. The solver is an exact lexicographic optimum: most receiving schools
 * whose highest-scored priority is served, then most priorities served, then least cost
 * (fewest phase mismatches, then least distance). Pure: plain structs in, owned out. */
#ifndef MATD_DEPLOY_H
#define MATD_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "priorities.h"

/* ---- the abstract problem (what the unit tests check against brute force) ---- */

#define DEPLOY_NO_FIT INT64_MIN

struct deploy_problem {
    size_t n_experts, n_priorities;
    const int *capacity; /* per expert, >= 0: priorities it can take (one day each) */
    const int *school;   /* per priority: its receiving school (any integer id) */
    const bool *top;     /* per priority: the highest-scored of its school */
    const int64_t *cost; /* n_experts x n_priorities, row per expert: >= 0, or DEPLOY_NO_FIT */
    const int *fixed;    /* per priority: an expert kept from a published plan, or -1; NULL none */
};

/* The objective, compared lexicographically: tops (more), served (more), cost (less). */
struct deploy_score {
    long tops, served;
    int64_t cost;
};

/* Fills assign[n_priorities] with an expert index or -1 and *score with the objective.
 * Fixed pairs are kept when they fit and the expert has capacity left (in priority
 * order); the rest is optimal given them. Costs must be below DEPLOY_MAX_COST. Returns 0,
 * or -1 when the problem is too large (n_priorities > DEPLOY_MAX_PRIORITIES). */
#define DEPLOY_MAX_PRIORITIES 20000
#define DEPLOY_MAX_COST ((int64_t)1 << 32)
int deploy_solve(const struct deploy_problem *p, int *assign, struct deploy_score *score);
/* -1, 0, 1 as a is worse, equal or better than b. */
int deploy_score_cmp(const struct deploy_score *a, const struct deploy_score *b);
/* The objective of an assignment (for tests and callers that check one). */
void deploy_score_of(const struct deploy_problem *p, const int *assign, struct deploy_score *out);

/* ---- the trust's problem ---- */

struct deploy_school {
    const char *urn, *name, *phase;
    bool has_location;
    double lat, lon;
    int pupils; /* on roll (moderation balance) */
};

struct deploy_expert {
    const char *id, *name, *role, *home_urn;
    const char *const *subjects, *const *sef_areas, *const *phases, *const *groups;
    size_t n_subjects, n_sef_areas, n_phases, n_groups;
    int days; /* per term */
};

/* A published assignment to keep where it still fits. */
struct deploy_kept {
    const char *expert_id, *priority_id;
};

struct deploy_input {
    const char *year, *term;
    const struct deploy_school *schools;
    size_t n_schools;
    const struct deploy_expert *experts;
    size_t n_experts;
    const struct priorities_list *list; /* school-level items are the candidates */
    const struct deploy_kept *kept;
    size_t n_kept;
    /* the reader's view of the cells (SPEC §8): items on cells withheld from them are left
     * out of the plan they are shown; NULL: none */
    const struct priorities_cohort *cohort;
};

struct deploy_assignment {
    size_t expert;                      /* index in input experts */
    const struct priorities_item *item; /* borrowed from the list */
    bool same_phase, has_distance, kept;
    double distance_km;
    char *sentence; /* owned */
};

struct deploy_plan {
    struct deploy_assignment *assignments; /* by receiving school, then priority order */
    size_t n_assignments;
    const struct priorities_item **unmet; /* school-level items no expert serves, list order */
    size_t n_unmet;
    int *used; /* per expert: days used */
    struct deploy_score score;
};

/* True when the expert can serve the item: its subject (or SEF area) and group (if the
 * item has one other than "all") are in the expertise, and it is not the home school. */
bool deploy_fits(const struct deploy_expert *e, const struct priorities_item *it);

/* Returns 0 and an owned plan, or -1 when the problem is too large. */
int deploy_plan_make(const struct deploy_input *in, struct deploy_plan **out);
void deploy_plan_free(struct deploy_plan *plan);

/* {"year","term","published_at","assignments":[...],"unmet":[...],"capacity":[...],
 * "objective":{...}}. published_at: when the term's plan was last published, or NULL.
 * visible: NULL for every school, else only assignments to and unmet items of these (and
 * no capacity list). */
char *deploy_plan_to_json(const struct deploy_input *in, const struct deploy_plan *plan,
                          const char *published_at, const char *const *visible, size_t n_visible,
                          size_t *len);

/* ---- moderation (SPEC 6.7) ---- */

struct deploy_moderation {
    int *moderator; /* per school: index of the input expert, or -1 (no moderator possible) */
    long *load;     /* per expert: pupils on roll moderated */
};

/* Each school gets a moderator (role "moderator", with the subject in their expertise
 * when subject is not NULL) from another school; schools by pupils on roll descending,
 * each to the least-loaded eligible moderator (then id). Owned; free with _free. */
struct deploy_moderation *deploy_moderate(const struct deploy_input *in, const char *subject);
void deploy_moderation_free(struct deploy_moderation *m);
char *deploy_moderation_to_json(const struct deploy_input *in, const struct deploy_moderation *m,
                                const char *subject, size_t *len);

#endif
