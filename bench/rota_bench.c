/* Rota planner bench (SPEC §7, §10): for every trust size N, the longest repeat-free run of
 * terms the planner reaches from an empty history with only the no-repeat objective on,
 * against the SPEC target and the counting bound, with its time; and the same for the
 * greedy term-by-term baseline, measured in the same run as the anchor.
 * Usage: rota_bench [--from N] [--to N] [--seed S] [--budget-ms MS] [--search-only] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rota.h"

static double now_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* N schools, no history, only the no-repeat and hosting objectives. */
static void make_input(struct rota_input *in, int n, int terms, unsigned long long seed)
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

/* Leading terms without a repeated pair. */
static int repeat_free_run(const struct rota_plan *plan)
{
    int run = 0;
    while ((size_t)run < plan->n_terms && plan->term_metrics[run].repeat_pairs == 0)
        run++;
    return run;
}

int main(int argc, char **argv)
{
    int from = 6, to = 60;
    unsigned long long seed = 1;
    long budget_ms = 60000;
    int search_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = atoi(argv[++i]);
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--budget-ms") == 0 && i + 1 < argc)
            budget_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--search-only") == 0)
            search_only = 1;
        else {
            fprintf(stderr, "usage: rota_bench [--from N] [--to N] [--seed S] [--budget-ms MS] "
                            "[--search-only]\n");
            return 2;
        }
    }
    if (search_only) {
        /* The design engine alone, stored base classes skipped: what the search finds. */
        printf("| N | target | search-only run | ms | construction |\n|---|---|---|---|---|\n");
        for (int n = from; n <= to; n++) {
            int target = rota_repeat_free_target(n);
            int *classes = malloc(sizeof *classes * (size_t)n * (size_t)target);
            char method[128];
            double t0 = now_ms_f();
            int rep = rota_design(n, target, seed, (unsigned long long)budget_ms * 20000,
                                  ROTA_DESIGN_SEARCH_ONLY, classes, method, sizeof method);
            printf("| %d | %d | %s | %.1f | %s |\n", n, target, rep == 0 ? "reached" : "missed",
                   now_ms_f() - t0, method);
            fflush(stdout);
            free(classes);
        }
        return 0;
    }
    printf("| N | target | bound | planner run | planner ms | greedy run | greedy ms | "
           "construction |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int met = 0, total = 0;
    double sum_plan = 0, sum_greedy = 0;
    for (int n = from; n <= to; n++) {
        int target = rota_repeat_free_target(n), bound = rota_repeat_free_bound(n);
        struct rota_input in;
        struct rota_options opt;
        rota_options_default(&opt);
        opt.time_budget_ms = budget_ms;
        struct mat_errors err;
        mat_errors_init(&err);
        make_input(&in, n, target, seed);
        struct rota_plan plan, greedy;
        double t0 = now_ms_f();
        if (rota_plan(&in, &opt, &plan, &err) != 0) {
            fprintf(stderr, "N=%d: %s\n", n, err.count ? err.items[0].message : "failed");
            return 1;
        }
        double plan_ms = now_ms_f() - t0;
        int run = repeat_free_run(&plan);
        rota_input_free(&in);
        make_input(&in, n, target + 2, seed); /* room to see where greedy's run ends */
        t0 = now_ms_f();
        if (rota_plan_greedy(&in, &greedy, &err) != 0)
            return 1;
        double greedy_ms = now_ms_f() - t0;
        int grun = repeat_free_run(&greedy);
        char method[sizeof plan.method];
        memcpy(method, plan.method, sizeof method);
        char *cut = strchr(method, ';');
        if (cut)
            *cut = '\0';
        printf("| %d | %d | %d | %d%s | %.1f | %d | %.1f | %s |\n", n, target, bound, run,
               run >= target ? "" : " (missed)", plan_ms, grun, greedy_ms, method);
        fflush(stdout);
        met += run >= target;
        total++;
        sum_plan += plan_ms;
        sum_greedy += greedy_ms;
        rota_plan_free(&plan);
        rota_plan_free(&greedy);
        rota_input_free(&in);
        mat_errors_free(&err);
    }
    printf("\nTarget reached for %d of %d sizes; planner %.0f ms in all, greedy anchor %.1f ms "
           "(ratio %.0f).\n",
           met, total, sum_plan, sum_greedy, sum_greedy > 0 ? sum_plan / sum_greedy : 0.0);
    return met == total ? 0 : 1;
}
