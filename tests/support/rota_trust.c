/* Trusts for the rota planner's bench and tests, generated deterministically. */
#include "rota_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rota_trust_plain(struct rota_input *in, int n, int terms, unsigned long long seed)
{
    memset(in, 0, sizeof *in);
    rota_constraints_default(&in->constraints);
    in->constraints.phase = ROTA_PHASE_IGNORE;
    in->constraints.balance = false;
    in->constraints.travel_weight = 0;
    in->seed = seed;
    in->n_schools = (size_t)n;
    in->schools = calloc((size_t)n, sizeof *in->schools);
    for (int i = 0; i < n; i++) {
        char urn[16];
        snprintf(urn, sizeof urn, "%06d", (100001 + i) % 1000000);
        memcpy(in->schools[i].urn, urn, sizeof in->schools[i].urn - 1);
        in->schools[i].phase = ROTA_PHASE_PRIMARY;
    }
    in->n_terms = (size_t)terms;
    in->terms = calloc((size_t)terms, sizeof *in->terms);
    for (int k = 0; k < terms; k++) {
        in->terms[k].year = 2025 + k / 3;
        in->terms[k].term = k % 3;
    }
}

void rota_trust_county(struct rota_input *in, int n, int terms, unsigned long long seed)
{
    static const double towns[][2] = {{53.23, -0.54}, {52.98, -0.02}, {53.57, -0.08},
                                      {52.91, -0.64}, {53.14, 0.34},  {52.79, -0.15},
                                      {53.40, -0.34}, {53.08, -0.30}};
    rota_trust_plain(in, n, terms, seed);
    rota_constraints_default(&in->constraints);
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < n; i++) {
        struct rota_school *s = &in->schools[i];
        int k = i % 12;
        s->phase = k < 8               ? ROTA_PHASE_PRIMARY
                   : k < 11            ? ROTA_PHASE_SECONDARY
                   : (i / 12) % 3 == 0 ? ROTA_PHASE_SPECIAL
                   : (i / 12) % 3 == 1 ? ROTA_PHASE_ALL_THROUGH
                                       : ROTA_PHASE_ALTERNATIVE_PROVISION;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const double *c = towns[(x >> 33) % 8];
        s->has_location = true;
        s->lat = c[0] + ((double)((x >> 20) % 1000) / 1000 - 0.5) * 0.12;
        s->lon = c[1] + ((double)((x >> 40) % 1000) / 1000 - 0.5) * 0.20;
        s->strength = 1 + (int)((x >> 50) % 5);
        s->category = i == 5 || i == 17;
    }
}

/* `terms` past terms of n schools drawn at random (each term a random grouping in the layout's
 * sizes, the first member drawn hosting), as a trust's hand-made years: not the planner's own. */
void rota_trust_random_history(struct rota_input *in, int n, int terms, unsigned long long seed)
{
    int sizes[ROTA_MAX_SCHOOLS / 3 + 2], ng = rota_group_sizes(n, sizes),
                                         *perm = malloc(sizeof *perm * (size_t)n);
    unsigned long long x = seed * 0x9e3779b97f4a7c15ULL + 7;
    in->n_history = (size_t)terms;
    in->history = calloc((size_t)terms, sizeof *in->history);
    for (int h = 0; h < terms; h++) {
        struct rota_term *tm = &in->history[h];
        tm->id.year = 2022 + h / 3;
        tm->id.term = h % 3;
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((x >> 33) % (unsigned long long)(i + 1)), v = perm[i];
            perm[i] = perm[j];
            perm[j] = v;
        }
        tm->n_groups = (size_t)ng;
        tm->groups = calloc((size_t)ng, sizeof *tm->groups);
        for (int g = 0, at = 0; g < ng; at += sizes[g++]) {
            tm->groups[g].size = sizes[g];
            memcpy(tm->groups[g].members, perm + at, sizeof *perm * (size_t)sizes[g]);
            tm->groups[g].host = perm[at];
        }
    }
    free(perm);
}

void rota_trust_hosted_history(struct rota_input *in, int n, int terms, unsigned long long seed)
{
    rota_trust_random_history(in, n, terms, seed);
    unsigned char *hosted = calloc((size_t)n, 1);
    for (int h = 0; h < terms; h++) {
        struct rota_term *tm = &in->history[h];
        int waiting = 0, waiting_hosting = 0;
        for (int i = 0; i < n; i++)
            waiting += !hosted[i];
        for (size_t g = 0; g < tm->n_groups; g++) {
            struct rota_group *gr = &tm->groups[g];
            gr->host = gr->members[0];
            for (int i = gr->size - 1; i >= 0; i--)
                if (!hosted[gr->members[i]])
                    gr->host = gr->members[i];
            waiting_hosting += !hosted[gr->host];
        }
        /* the cycle ends in the term that gives every school still waiting its turn; that
         * term's other hosts are the first of the next cycle */
        unsigned char *again = calloc((size_t)n, 1);
        for (size_t g = 0; g < tm->n_groups; g++) {
            int x = tm->groups[g].host;
            if (waiting_hosting == waiting)
                again[x] = hosted[x];
            else
                hosted[x] = 1;
        }
        if (waiting_hosting == waiting)
            memcpy(hosted, again, (size_t)n);
        free(again);
    }
    free(hosted);
}
