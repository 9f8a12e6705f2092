/* matctl priorities: the same inputs and calculation as GET /v1/priorities. */
#include "priorities_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "priorities_load.h"
#include "termly.h"
#include "util.h"

static void print_table(const struct priorities_list *list)
{
    printf("Priorities for %s %s: %zu item%s\n\n", list->year, list->term, list->count,
           list->count == 1 ? "" : "s");
    printf("%4s %9s  %-6s  %-12s  %-26s  %-17s  %s\n", "#", "score", "level", "kind",
           "subject / area / theme", "group", "schools");
    for (size_t i = 0; i < list->count; i++) {
        const struct priorities_item *it = list->items[i];
        const char *topic = it->subject ? it->subject : it->area ? it->area : it->theme;
        char schools[64] = "";
        size_t used = 0;
        for (size_t s = 0; s < it->n_schools && used + 8 < sizeof schools; s++)
            used += (size_t)snprintf(schools + used, sizeof schools - used, "%s%s", s ? " " : "",
                                     it->schools[s]);
        if (it->n_schools * 7 > sizeof schools - 1)
            snprintf(schools + sizeof schools - 5, 5, "...");
        printf("%4zu %9.2f  %-6s  %-12s  %-26.26s  %-17s  %s\n", i + 1,
               (double)it->score_hundredths / 100.0, priorities_level_name(it->level),
               priorities_kind_name(it->kind), topic ? topic : "-", it->group ? it->group : "-",
               schools);
        printf("%17s%s\n", "", it->rationale);
    }
}

int priorities_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv)
{
    (void)cfg;
    static const struct option opts[] = {
        {"year", required_argument, NULL, 'y'},   {"term", required_argument, NULL, 't'},
        {"school", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
        {"from-rows", no_argument, NULL, 'r'},    {NULL, 0, NULL, 0}};
    const char *year = NULL, *term = NULL, *school = NULL;
    bool json = false, from_rows = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'y':
            year = optarg;
            break;
        case 't':
            term = optarg;
            break;
        case 's':
            school = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'r': /* recompute the inputs from the pupil rows, not the aggregates */
            from_rows = true;
            break;
        default:
            fprintf(stderr, "usage: matctl -c FILE priorities --year Y --term T [--school URN] "
                            "[--json] [--from-rows]\n");
            return 2;
        }
    }
    if (!academic_year_valid(year)) {
        fprintf(stderr, "matctl priorities: --year must be an academic year like 2025-26\n");
        return 2;
    }
    if (term_index(term) < 0) {
        fprintf(stderr, "matctl priorities: --term must be autumn, spring or summer\n");
        return 2;
    }
    if (school && !urn_valid(school)) {
        fprintf(stderr, "matctl priorities: --school must be a URN (six digits)\n");
        return 2;
    }
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", trust_id);
    PQclear(PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    struct priorities_list *list = NULL;
    struct priorities_masks masks = {0};
    char err[512];
    int rc =
        priorities_load_blocking(pg, trust, year, term, from_rows, &list, &masks, err, sizeof err);
    PQclear(PQexec(pg, "COMMIT"));
    if (rc != 0) {
        fprintf(stderr, "matctl priorities: %s\n", err);
        return 1;
    }
    /* As admin reads it through the API: without the items on cells withheld from everyone
     * but their school (SPEC §8). */
    struct priorities_cohort co = {.now = masks.now, .prev = masks.prev};
    struct priorities_list *seen = priorities_cohort_view(list, &co);
    struct priorities_list *shown = school ? priorities_school_view(seen, school) : NULL;
    const struct priorities_list *out = shown ? shown : seen;
    if (json) {
        struct priorities_output_opts o = {.include_pupil_keys = school != NULL};
        size_t len;
        char *bytes = priorities_to_json(out, &o, &len);
        fwrite(bytes, 1, len, stdout);
        putchar('\n');
        free(bytes);
    } else {
        print_table(out);
    }
    priorities_list_free(shown);
    priorities_list_free(seen);
    priorities_list_free(list);
    suppress_free(masks.now);
    suppress_free(masks.prev);
    return 0;
}
