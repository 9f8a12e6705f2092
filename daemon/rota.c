/* The triad rota planner (SPEC §7). Three layers:
 *  1. the design engine builds runs of terms in which no pair meets twice, from direct
 *     constructions (affine plane, tripled and 1-rotational Kirkman systems) and a local
 *     search over base classes developed under a cyclic group (difference methods);
 *  2. the planner maps such a design onto the schools and improves it with local search
 *     under the lexicographic objective (hard constraints, groups kept on a re-plan,
 *     repeats with decay, then soft constraints), against history and constraints;
 *  3. hosting is chosen by the fairness cycle, and metrics are recomputed from scratch.
 * Everything is deterministic for the input seed: budgets count work, not wall time. */
#include "rota.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64. Never rand(). */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n) for n >= 1 (Lemire's multiply; the bias is below 2^-32). */
static int rng_below(struct rng *r, int n)
{
    return (int)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static void shuffle_ints(struct rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rng_below(r, i + 1);
        int x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Names and small helpers. */

static const char *const phase_names[ROTA_PHASE_COUNT] = {
    "nursery", "primary", "middle", "secondary", "all_through", "special", "alternative_provision"};

const char *rota_phase_name(enum rota_phase phase)
{
    return (unsigned)phase < ROTA_PHASE_COUNT ? phase_names[phase] : "unknown";
}

int rota_phase_parse(const char *name)
{
    for (int i = 0; name && i < ROTA_PHASE_COUNT; i++)
        if (strcmp(name, phase_names[i]) == 0)
            return i;
    return -1;
}

const char *rota_term_name(int term)
{
    static const char *const names[] = {"autumn", "spring", "summer"};
    return term >= 0 && term < 3 ? names[term] : "unknown";
}

void rota_year_format(int year, char out[8])
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d", year, (year + 1) % 100);
    memcpy(out, tmp, 7);
    out[7] = '\0';
}

int rota_term_index(struct rota_term_id id)
{
    return 3 * id.year + id.term;
}

static void term_label(struct rota_term_id id, char *out, size_t len)
{
    char y[8];
    rota_year_format(id.year, y);
    snprintf(out, len, "%s %s", y, rota_term_name(id.term));
}

void rota_constraints_default(struct rota_constraints *c)
{
    memset(c, 0, sizeof *c);
    c->phase = ROTA_PHASE_PREFER;
    c->phase_weight = 1.0;
    c->balance = true;
    c->balance_weight = 1.0;
    c->travel_weight = 0.0;
    c->decay = 6.0;
}

void rota_options_default(struct rota_options *o)
{
    o->time_budget_ms = ROTA_DEFAULT_BUDGET_MS;
    o->work_budget = 0;
}

void rota_input_free(struct rota_input *in)
{
    free(in->schools);
    for (size_t i = 0; i < in->n_history; i++)
        free(in->history[i].groups);
    free(in->history);
    free(in->terms);
    free(in->constraints.excluded);
    memset(in, 0, sizeof *in);
}

void rota_plan_free(struct rota_plan *plan)
{
    for (size_t i = 0; i < plan->n_terms; i++)
        free(plan->terms[i].groups);
    free(plan->terms);
    free(plan->term_metrics);
    memset(plan, 0, sizeof *plan);
}

void rota_changes_free(struct rota_changes *ch)
{
    for (size_t i = 0; i < ch->n_terms; i++) {
        free(ch->terms[i].removed);
        free(ch->terms[i].added);
    }
    free(ch->terms);
    memset(ch, 0, sizeof *ch);
}

void rota_prev_terms_free(struct rota_prev_term *prev, size_t n)
{
    for (size_t i = 0; prev && i < n; i++)
        free(prev[i].groups);
    free(prev);
}

double rota_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1.0)
        a = 1.0;
    return 2.0 * r * asin(sqrt(a));
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void sort_ints(int *a, int n)
{
    qsort(a, (size_t)n, sizeof *a, int_cmp);
}

static int gcd_int(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* ------------------------------------------------------------------------------------ */
/* Group sizes, targets and bounds. */

int rota_group_sizes(int n, int *sizes)
{
    if (n < 3)
        return 0;
    if (n <= 5) {
        sizes[0] = n;
        return 1;
    }
    int fours = n % 3 == 0 ? 0 : n % 3 == 1 ? 1 : 2;
    int threes = (n - 4 * fours) / 3, g = 0;
    for (int i = 0; i < threes; i++)
        sizes[g++] = 3;
    for (int i = 0; i < fours; i++)
        sizes[g++] = 4;
    return g;
}

/* SPEC §7's table for the orders that need groups of four. */
static const signed char four_targets[61] = {
    [7] = 1,   [8] = 1,   [10] = 1,  [11] = 1,  [13] = 4,  [14] = 4,  [16] = 6,  [17] = 5,
    [19] = 7,  [20] = 7,  [22] = 9,  [23] = 9,  [25] = 11, [26] = 10, [28] = 12, [29] = 11,
    [31] = 14, [32] = 13, [34] = 15, [35] = 15, [37] = 17, [38] = 16, [40] = 18, [41] = 18,
    [43] = 19, [44] = 19, [46] = 21, [47] = 21, [49] = 23, [50] = 22, [52] = 24, [53] = 23,
    [55] = 26, [56] = 25, [58] = 27, [59] = 27};

static int pairs_per_term(int n)
{
    int sizes[ROTA_MAX_SCHOOLS / 3 + 2];
    int g = rota_group_sizes(n, sizes), p = 0;
    for (int i = 0; i < g; i++)
        p += sizes[i] * (sizes[i] - 1) / 2;
    return p;
}

int rota_repeat_free_bound(int n)
{
    if (n < 3)
        return 0;
    if (n <= 5)
        return 1;
    int by_pairs = n * (n - 1) / 2 / pairs_per_term(n);
    int by_school = (n - 1) / 2; /* every school meets at least two new schools a term */
    return by_pairs < by_school ? by_pairs : by_school;
}

int rota_repeat_free_target(int n)
{
    if (n < 3)
        return 0;
    if (n <= 5)
        return 1;
    if (n % 6 == 3)
        return (n - 1) / 2;
    if (n % 6 == 0)
        return n == 6 ? 1 : n == 12 ? 4 : (n - 2) / 2;
    if (n <= 60)
        return four_targets[n];
    return rota_repeat_free_bound(n) - 1; /* beyond the table: aim just under the bound */
}

/* ------------------------------------------------------------------------------------ */
/* Layout: the groups of a term occupy consecutive positions 0..n-1. */

struct layout {
    int n, ng;
    int *size, *start, *group_of;
};

static void layout_init(struct layout *l, int n)
{
    l->n = n;
    l->size = xcalloc((size_t)n / 3 + 2, sizeof *l->size);
    l->start = xcalloc((size_t)n / 3 + 2, sizeof *l->start);
    l->group_of = xcalloc((size_t)n + 1, sizeof *l->group_of);
    l->ng = rota_group_sizes(n, l->size);
    for (int g = 0, p = 0; g < l->ng; g++) {
        l->start[g] = p;
        for (int i = 0; i < l->size[g]; i++)
            l->group_of[p++] = g;
    }
}

static void layout_free(struct layout *l)
{
    free(l->size);
    free(l->start);
    free(l->group_of);
}

/* Repeated pairs in a list of classes (points 0..n-1, layout order). */
static int classes_repeats(const struct layout *lay, const int *classes, int terms)
{
    int n = lay->n, rep = 0;
    uint8_t *met = xcalloc((size_t)n * n, 1);
    for (int t = 0; t < terms; t++) {
        const int *c = classes + (size_t)t * n;
        for (int g = 0; g < lay->ng; g++)
            for (int i = 0; i < lay->size[g]; i++)
                for (int j = i + 1; j < lay->size[g]; j++) {
                    int a = c[lay->start[g] + i], b = c[lay->start[g] + j];
                    if (met[a * n + b]++)
                        rep++;
                    met[b * n + a]++;
                }
    }
    free(met);
    return rep;
}

/* Every class a permutation of 0..n-1? */
static bool classes_valid(int n, const int *classes, int terms)
{
    uint8_t *seen = xmalloc((size_t)n);
    bool ok = true;
    for (int t = 0; ok && t < terms; t++) {
        memset(seen, 0, (size_t)n);
        for (int i = 0; i < n; i++) {
            int p = classes[(size_t)t * n + i];
            if (p < 0 || p >= n || seen[p]) {
                ok = false;
                break;
            }
            seen[p] = 1;
        }
    }
    free(seen);
    return ok;
}
