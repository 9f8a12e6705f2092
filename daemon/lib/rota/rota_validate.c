/* Validation of a rota input before planning: sizes, indices, duplicates, ranges, term order,
 * and what can be seen to be infeasible without a search. Errors carry JSON pointers. */
#include "rota_validate.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* Validation. */

static bool urn_ok(const char *s)
{
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[6] == '\0';
}

static bool term_id_ok(struct rota_term_id id)
{
    return id.year >= 1990 && id.year <= 2200 && id.term >= 0 && id.term <= 2;
}

/* Can the schools of each phase form groups on their own (phase "require")? Each phase's
 * count must be 3a + 4b with the fours adding up to the layout's fours; 3..5 schools must
 * all share one phase. */
static bool phases_partitionable(const struct rota_input *in, char *why, size_t len)
{
    int n = (int)in->n_schools, count[ROTA_PHASE_COUNT] = {0};
    for (int i = 0; i < n; i++)
        count[in->schools[i].phase]++;
    if (n <= 5) {
        for (int p = 0; p < ROTA_PHASE_COUNT; p++)
            if (count[p] && count[p] != n) {
                snprintf(why, len, "the %d schools form one group but are of more than one phase",
                         n);
                return false;
            }
        return true;
    }
    int fours = n % 3 == 0 ? 0 : n % 3 == 1 ? 1 : 2;
    bool reach[3] = {true, false, false}; /* fours used so far */
    for (int p = 0; p < ROTA_PHASE_COUNT; p++) {
        if (!count[p])
            continue;
        bool next[3] = {false, false, false};
        for (int f = 0; f <= 2; f++)
            for (int b = 0; b <= 2 && f + b <= 2; b++)
                if (reach[f] && count[p] >= 4 * b && (count[p] - 4 * b) % 3 == 0)
                    next[f + b] = true;
        memcpy(reach, next, sizeof reach);
        if (!reach[0] && !reach[1] && !reach[2]) {
            snprintf(why, len, "%d %s school%s cannot form groups of 3 or 4 on their own", count[p],
                     rota_phase_name((enum rota_phase)p), count[p] == 1 ? "" : "s");
            return false;
        }
    }
    if (!reach[fours]) {
        snprintf(why, len, "the phases cannot be split into groups of 3 with exactly %d of 4",
                 fours);
        return false;
    }
    return true;
}

static void validate_schools(const struct rota_input *in, struct mat_errors *err)
{
    char path[128];
    for (size_t i = 0; i < in->n_schools; i++) {
        const struct rota_school *s = &in->schools[i];
        if (!urn_ok(s->urn)) {
            snprintf(path, sizeof path, "/schools/%zu/urn", i);
            mat_errors_add(err, path, "must be a URN of six digits");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->schools[j].urn, s->urn) == 0) {
                snprintf(path, sizeof path, "/schools/%zu/urn", i);
                mat_errors_add(err, path, "duplicate school %s (also /schools/%zu)", s->urn, j);
                break;
            }
        if ((unsigned)s->phase >= ROTA_PHASE_COUNT) {
            snprintf(path, sizeof path, "/schools/%zu/phase", i);
            mat_errors_add(err, path, "unknown phase");
        }
        if (s->strength < 0 || s->strength > 5) {
            snprintf(path, sizeof path, "/schools/%zu/strength", i);
            mat_errors_add(err, path, "must be 1..5");
        }
        if (s->has_location &&
            (!isfinite(s->lat) || !isfinite(s->lon) || fabs(s->lat) > 90 || fabs(s->lon) > 180)) {
            snprintf(path, sizeof path, "/schools/%zu/lat", i);
            mat_errors_add(err, path, "latitude must be -90..90 and longitude -180..180");
        }
    }
}

/* The history's terms and groups; returns the latest history term on the timeline. */
static int validate_history(const struct rota_input *in, struct mat_errors *err)
{
    char path[128];
    int n = (int)in->n_schools, latest = INT_MIN;
    uint8_t *seen = xcalloc((size_t)(n > 0 ? n : 1), 1);
    for (size_t h = 0; h < in->n_history && h < ROTA_MAX_HISTORY; h++) {
        const struct rota_term *ht = &in->history[h];
        if (!term_id_ok(ht->id)) {
            snprintf(path, sizeof path, "/history/%zu", h);
            mat_errors_add(err, path, "not a valid year and term");
            continue;
        }
        int when = rota_term_index(ht->id);
        latest = when > latest ? when : latest;
        for (size_t j = 0; j < h; j++)
            if (rota_term_index(in->history[j].id) == when) {
                char label[32];
                rota_term_label(ht->id, label, sizeof label);
                snprintf(path, sizeof path, "/history/%zu", h);
                mat_errors_add(err, path, "%s appears twice in the history (also /history/%zu)",
                               label, j);
                break;
            }
        memset(seen, 0, (size_t)(n > 0 ? n : 1));
        for (size_t g = 0; g < ht->n_groups; g++) {
            const struct rota_group *gr = &ht->groups[g];
            if (gr->size < 2 || gr->size > ROTA_GROUP_MAX) {
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/members", h, g);
                mat_errors_add(err, path, "a group has 2 to %d members; got %d", ROTA_GROUP_MAX,
                               gr->size);
                continue;
            }
            bool host_in = gr->host == -1;
            for (int i = 0; i < gr->size; i++) {
                int m = gr->members[i];
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/members/%d", h, g, i);
                if (m < 0 || m >= n) {
                    mat_errors_add(err, path, "unknown school");
                    continue;
                }
                if (seen[m])
                    mat_errors_add(err, path, "school %s is in two groups of the same term",
                                   in->schools[m].urn);
                seen[m] = 1;
                host_in |= m == gr->host;
            }
            if (!host_in) {
                snprintf(path, sizeof path, "/history/%zu/groups/%zu/host", h, g);
                mat_errors_add(err, path, "the host must be a member of the group");
            }
        }
    }
    free(seen);
    return latest;
}

int rota_validate(const struct rota_input *in, struct mat_errors *err)
{
    size_t before = err->count + err->dropped;
    char path[128];
    int n = (int)in->n_schools;
    if (in->n_schools < 3)
        mat_errors_add(err, "/schools", "a rota needs at least 3 active schools; got %zu",
                       in->n_schools);
    if (in->n_schools > ROTA_MAX_SCHOOLS)
        mat_errors_add(err, "/schools", "at most %d schools; got %zu", ROTA_MAX_SCHOOLS,
                       in->n_schools);
    validate_schools(in, err);
    if (in->n_terms < 1 || in->n_terms > ROTA_MAX_TERMS)
        mat_errors_add(err, "/terms", "plan 1 to %d terms; got %zu", ROTA_MAX_TERMS, in->n_terms);
    if (in->n_history > ROTA_MAX_HISTORY)
        mat_errors_add(err, "/history", "at most %d past terms; got %zu", ROTA_MAX_HISTORY,
                       in->n_history);
    int latest_history = validate_history(in, err);
    for (size_t k = 0; k < in->n_terms && k < ROTA_MAX_TERMS; k++) {
        snprintf(path, sizeof path, "/terms/%zu", k);
        if (!term_id_ok(in->terms[k])) {
            mat_errors_add(err, path, "not a valid year and term");
            continue;
        }
        int when = rota_term_index(in->terms[k]);
        char label[32];
        rota_term_label(in->terms[k], label, sizeof label);
        for (size_t j = 0; j < k; j++)
            if (rota_term_index(in->terms[j]) == when) {
                mat_errors_add(err, path, "%s is listed twice (also /terms/%zu)", label, j);
                break;
            }
        if (when <= latest_history)
            mat_errors_add(err, path, "%s is not after the latest term in the history", label);
    }
    const struct rota_constraints *c = &in->constraints;
    if (c->phase != ROTA_PHASE_IGNORE && c->phase != ROTA_PHASE_PREFER &&
        c->phase != ROTA_PHASE_REQUIRE)
        mat_errors_add(err, "/constraints/phase", "must be prefer, require or ignore");
    if (!isfinite(c->decay) || c->decay <= 0 || c->decay > 1000)
        mat_errors_add(err, "/constraints/decay", "must be a number above 0 and at most 1000");
    if (!isfinite(c->travel_weight) || c->travel_weight < 0 || c->travel_weight > 1e6)
        mat_errors_add(err, "/constraints/travel_weight", "must be a number from 0 to 1000000");
    if (!isfinite(c->phase_weight) || c->phase_weight < 0 || c->phase_weight > 1e6)
        mat_errors_add(err, "/constraints/phase_weight", "must be a number from 0 to 1000000");
    if (!isfinite(c->balance_weight) || c->balance_weight < 0 || c->balance_weight > 1e6)
        mat_errors_add(err, "/constraints/balance_weight", "must be a number from 0 to 1000000");
    for (size_t e = 0; e < c->n_excluded; e++) {
        const struct rota_pair *p = &c->excluded[e];
        snprintf(path, sizeof path, "/constraints/excluded_pairs/%zu", e);
        if (p->a < 0 || p->a >= n || p->b < 0 || p->b >= n)
            mat_errors_add(err, path, "unknown school");
        else if (p->a == p->b)
            mat_errors_add(err, path, "a school cannot be excluded from itself");
    }
    if (err->count + err->dropped > before)
        return -1;
    /* what can be seen to be infeasible without a search */
    if (n <= 5 && c->n_excluded > 0) {
        const struct rota_pair *p = &c->excluded[0];
        mat_errors_add(err, "/constraints/excluded_pairs/0",
                       "cannot keep %s and %s apart: %d schools form a single group",
                       in->schools[p->a].urn, in->schools[p->b].urn, n);
        return -1;
    }
    char why[160];
    if (c->phase == ROTA_PHASE_REQUIRE && !phases_partitionable(in, why, sizeof why)) {
        mat_errors_add(err, "/constraints/phase", "phase \"require\" cannot be met: %s", why);
        return -1;
    }
    return 0;
}
