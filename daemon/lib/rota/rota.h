/* Triad peer-review rota planner (SPEC §7): each term every active school goes into one
 * group of three (or four, when the count is not a multiple of three), excluded pairs stay
 * apart, pairs do not meet again, hosting rotates fairly, and phase, balance and travel
 * are weighed. Pure: plain structs in, plain structs out, deterministic for a seed. */
#ifndef MATD_ROTA_H
#define MATD_ROTA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define ROTA_URN_LEN 7       /* six digits and the NUL */
#define ROTA_GROUP_MAX 8     /* members a stored (history) group may have */
#define ROTA_MAX_SCHOOLS 500 /* active schools in one plan */
#define ROTA_MAX_TERMS 60    /* terms planned in one run (20 years) */
#define ROTA_MAX_HISTORY 600 /* past terms remembered */
#define ROTA_DEFAULT_BUDGET_MS 5000

enum rota_phase {
    ROTA_PHASE_NURSERY,
    ROTA_PHASE_PRIMARY,
    ROTA_PHASE_MIDDLE,
    ROTA_PHASE_SECONDARY,
    ROTA_PHASE_ALL_THROUGH,
    ROTA_PHASE_SPECIAL,
    ROTA_PHASE_ALTERNATIVE_PROVISION,
    ROTA_PHASE_COUNT
};

/* How the same-phase preference is applied. */
enum rota_phase_rule { ROTA_PHASE_IGNORE, ROTA_PHASE_PREFER, ROTA_PHASE_REQUIRE };

struct rota_school {
    char urn[ROTA_URN_LEN];
    enum rota_phase phase;
    bool has_location;
    double lat, lon; /* degrees, when has_location */
    int strength;    /* SEF leadership ordinal 1..5; 0 = unknown (not strong) */
    bool category;   /* held to non-negotiables: at most one per group */
};

/* An academic year by its first calendar year (2025 = "2025-26") and a term
 * (0 autumn, 1 spring, 2 summer). */
struct rota_term_id {
    int year;
    int term;
};

/* A group: members are indices into rota_input.schools. host is a member index or -1. */
struct rota_group {
    int size;
    int members[ROTA_GROUP_MAX];
    int host;
};

struct rota_term {
    struct rota_term_id id;
    struct rota_group *groups;
    size_t n_groups;
};

struct rota_pair {
    int a, b; /* school indices */
};

struct rota_constraints {
    enum rota_phase_rule phase; /* default prefer */
    double phase_weight;        /* per member out of its group's main phase; default 1 */
    bool balance;               /* at least one strong (>= 4) and at most one category school */
    double balance_weight;      /* per unbalanced group; default 1 */
    double travel_weight;       /* per km of a group's longest member-to-host trip; default 0 */
    double decay;               /* repeat cost 2^(-(t-1)/decay) for a pair that met t terms ago */
    struct rota_pair *excluded; /* never in one group (hard) */
    size_t n_excluded;
};

struct rota_input {
    struct rota_school *schools; /* the active schools */
    size_t n_schools;
    struct rota_term *history; /* past terms, any order; groups of 2..ROTA_GROUP_MAX */
    size_t n_history;
    struct rota_term_id *terms; /* terms to plan, any order (planned chronologically) */
    size_t n_terms;
    struct rota_constraints constraints;
    uint64_t seed;
};

/* Per term, or summed over the plan (most_recent_repeat: the minimum; max_km: the max). */
struct rota_metrics {
    int repeat_pairs;       /* pairs in a group that met before (history or earlier in the plan) */
    int most_recent_repeat; /* terms since the most recent such meeting; 0 = no repeat */
    double repeat_cost;     /* sum of 2^(-(t-1)/decay) over the repeat pairs */
    int phase_mismatches;   /* members whose phase is not their group's most common one */
    int unbalanced_groups;  /* no strong member, or two or more category schools */
    double max_km;          /* longest member-to-host distance */
    double total_km;        /* sum of member-to-host distances */
    int hosting_violations; /* schools still waiting in the hosting cycle passed over for a
                             * turn while another school hosted again */
    int excluded_together;  /* excluded pairs in one group: always 0 in a returned plan */
    int hosting_spread;     /* plan total only: most hosts minus fewest hosts per school */
};

/* How a plan was made (the output's planner.mode). */
enum rota_planner_mode {
    ROTA_MODE_CYCLE,     /* no history: a new cycle */
    ROTA_MODE_CONTINUED, /* the history is this planner's own earlier plan: continued */
    ROTA_MODE_SEARCHED,  /* other history: the continuation searched with its pairs costed */
    ROTA_MODE_REPLAN,    /* re-plan of a previous plan after schools joined or left */
    ROTA_MODE_GREEDY,    /* the baseline */
    ROTA_MODE_KEPT       /* drafted from the cycle kept with an earlier rota */
};

#define ROTA_METHOD_LEN 160 /* rota_plan.method: the longest design name and its run */

struct rota_plan {
    enum rota_planner_mode mode;
    int cycle_terms;         /* terms in the planned cycle (the repeat-free run aimed at) */
    int cycle_start;         /* continued: history terms before the cycle began */
    struct rota_term *terms; /* chronological; groups with hosts */
    size_t n_terms;
    struct rota_term *cycle; /* every term planned (the cycle and what follows), or NULL */
    size_t n_cycle;
    struct rota_metrics *term_metrics; /* n_terms */
    struct rota_metrics total;
    char method[ROTA_METHOD_LEN]; /* how the first terms were built, for the curious */
    uint64_t work;                /* search effort spent (deterministic units) */
};

struct rota_options {
    long time_budget_ms;  /* approximate: converted to a deterministic work budget */
    uint64_t work_budget; /* if non-zero, used as is (moves evaluated) */
    bool no_recognise;    /* do not look for the planner's own cycle in the history (matd keeps
                           * its cycle with the rota instead: see rota_json "cycle") */
    int threads; /* recognition re-plans its candidate starts on this many threads at once (0:
                  * one per online core, at most ROTA_MAX_THREADS; 1: the calling thread only).
                  * The plan is the same whatever the count: only the time changes. */
};
#define ROTA_MAX_THREADS 4

/* A group of a previously planned rota, by URN (schools may have left since). */
struct rota_prev_group {
    int size;
    char members[ROTA_GROUP_MAX][ROTA_URN_LEN];
    char host[ROTA_URN_LEN]; /* "" when none */
};

struct rota_prev_term {
    struct rota_term_id id;
    struct rota_prev_group *groups;
    size_t n_groups;
};

/* What a re-plan changed in one term: indices into the previous term's groups that are
 * gone and into the new term's groups that are new; kept = groups identical in both. */
struct rota_term_change {
    struct rota_term_id id;
    size_t *removed, n_removed;
    size_t *added, n_added;
    size_t kept;
};

struct rota_changes {
    struct rota_term_change *terms; /* one per planned term */
    size_t n_terms;
    size_t groups_kept, groups_changed; /* changed = new groups not in the previous plan */
};

void rota_constraints_default(struct rota_constraints *c);
void rota_options_default(struct rota_options *o);
/* Frees what an input owns (arrays and history groups) and zeroes it. */
void rota_input_free(struct rota_input *in);
void rota_plan_free(struct rota_plan *plan);
void rota_changes_free(struct rota_changes *ch);
void rota_prev_terms_free(struct rota_prev_term *prev, size_t n);

const char *rota_phase_name(enum rota_phase phase);
/* Returns the phase for a name, or -1. */
int rota_phase_parse(const char *name);
const char *rota_term_name(int term);
/* "cycle", "continued", "searched", "re-plan", "greedy", "kept". */
const char *rota_planner_mode_name(enum rota_planner_mode mode);
/* "2025-26" into out[8]. */
void rota_year_format(int year, char out[8]);
/* Position on the termly timeline: 3 * year + term. */
int rota_term_index(struct rota_term_id id);

/* The group sizes for n schools (n >= 3): threes, then one or two fours when n mod 3 is 1
 * or 2; 3..5 schools are one group. Writes up to n / 3 + 1 sizes; returns the count. */
int rota_group_sizes(int n, int *sizes);
/* The longest repeat-free run the planner is expected to reach from an empty history:
 * SPEC §7 (Kirkman, nearly Kirkman, and the table for groups of four). */
int rota_repeat_free_target(int n);
/* The counting bound: no run of T terms without a repeat exists for T above it. */
int rota_repeat_free_bound(int n);

/* Helpers the planner's modules share. */
struct prng;
/* Fisher-Yates shuffle with the shared PRNG. */
void rota_shuffle_ints(struct prng *r, int *a, int n);
void rota_sort_ints(int *a, int n);
/* "2025-26 autumn" into out. */
void rota_term_label(struct rota_term_id id, char *out, size_t len);
/* Pairs that meet in one term of n schools. */
int rota_pairs_per_term(int n);

/* The planner's public functions, one header per module. */
#include "rota_cycle.h"
#include "rota_design.h"
#include "rota_metrics.h"
#include "rota_plan.h"
#include "rota_validate.h"

#endif
