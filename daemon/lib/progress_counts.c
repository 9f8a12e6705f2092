/* A push's progress_counts rows from its records (see the header). */
#include "progress_counts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char progress_counts_copy_columns[] =
    "subject, year_group, n0, k0, g0, n1, k1, g1, n2, k2, g2, n3, k3, g3, n4, k4, g4, n5, k5, "
    "g5, n6, k6, g6, n7, k7, g7, n8, k8, g8, n9, k9, g9, n10, k10, g10, n11, k11, g11, n12, "
    "k12, g12";

/* The groups a record belongs to, in the columns' order (n0..n12). */
static void count_groups(const struct progress_record *r, bool in[PROGRESS_COUNT_GROUPS])
{
    in[0] = true;
    in[1] = r->disadvantaged;
    in[2] = !r->disadvantaged;
    in[3] = r->send != PROGRESS_SEND_NONE;
    in[4] = r->send == PROGRESS_SEND_SUPPORT;
    in[5] = r->send == PROGRESS_SEND_EHCP;
    in[6] = r->eal;
    in[7] = r->looked_after;
    in[8] = r->sex == PROGRESS_SEX_F;
    in[9] = r->sex == PROGRESS_SEX_M;
    in[10] = r->prior_attainment == PROGRESS_PRIOR_LOW;
    in[11] = r->prior_attainment == PROGRESS_PRIOR_MIDDLE;
    in[12] = r->prior_attainment == PROGRESS_PRIOR_HIGH;
}

struct count_cell {
    const char *subject, *year_group; /* borrowed from the set's first record of the cell */
    unsigned long n[PROGRESS_COUNT_GROUPS], k[PROGRESS_COUNT_GROUPS], g[PROGRESS_COUNT_GROUPS];
};

/* Open addressing on (subject, year group); a set has a few dozen cells. */
struct count_table {
    struct count_cell *cells;
    size_t count, cap; /* cap a power of two, at most half full */
};

static uint64_t cell_hash(const char *subject, const char *year_group)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = subject; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ '\t') * 1099511628211ull;
    for (const char *p = year_group; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static struct count_cell *slot_of(struct count_cell *cells, size_t cap, const char *subject,
                                  const char *year_group)
{
    size_t i = (size_t)cell_hash(subject, year_group) & (cap - 1);
    while (cells[i].subject &&
           (strcmp(cells[i].subject, subject) != 0 || strcmp(cells[i].year_group, year_group) != 0))
        i = (i + 1) & (cap - 1);
    return &cells[i];
}

static struct count_cell *cell_for(struct count_table *t, const char *subject,
                                   const char *year_group)
{
    if (2 * (t->count + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        struct count_cell *cells = xcalloc(cap, sizeof *cells);
        for (size_t i = 0; i < t->cap; i++)
            if (t->cells[i].subject)
                *slot_of(cells, cap, t->cells[i].subject, t->cells[i].year_group) = t->cells[i];
        free(t->cells);
        t->cells = cells;
        t->cap = cap;
    }
    struct count_cell *c = slot_of(t->cells, t->cap, subject, year_group);
    if (!c->subject) {
        c->subject = subject;
        c->year_group = year_group;
        t->count++;
    }
    return c;
}

void progress_counts_to_copy(const struct progress_set *s, const char *line_prefix,
                             struct strbuf *out)
{
    struct count_table t = {0};
    for (size_t i = 0; i < s->count; i++) {
        const struct progress_record *r = &s->records[i];
        if (r->code != ASSESS_CODE_NONE && !assessment_code_in_cohort(r->code))
            continue; /* outside every cohort (L, F, P, M) */
        bool meets = r->code == ASSESS_CODE_NONE &&
                     (r->band == PROGRESS_BAND_EXPECTED || r->band == PROGRESS_BAND_GREATER_DEPTH);
        bool deep = r->code == ASSESS_CODE_NONE && r->band == PROGRESS_BAND_GREATER_DEPTH;
        bool in[PROGRESS_COUNT_GROUPS];
        count_groups(r, in);
        struct count_cell *c = cell_for(&t, r->subject, r->year_group);
        for (int g = 0; g < PROGRESS_COUNT_GROUPS; g++) {
            c->n[g] += in[g];
            c->k[g] += in[g] && meets;
            c->g[g] += in[g] && deep;
        }
    }
    for (size_t i = 0; i < t.cap; i++) {
        const struct count_cell *c = &t.cells[i];
        if (!c->subject)
            continue;
        if (line_prefix)
            strbuf_append(out, line_prefix, strlen(line_prefix));
        strbuf_printf(out, "%s\t%s", c->subject, c->year_group);
        for (int g = 0; g < PROGRESS_COUNT_GROUPS; g++)
            strbuf_printf(out, "\t%lu\t%lu\t%lu", c->n[g], c->k[g], c->g[g]);
        strbuf_append(out, "\n", 1);
    }
    free(t.cells);
}
