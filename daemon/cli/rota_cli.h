/* `matctl rota plan`: the triad rota planner offline (SPEC §7, §11), so a trust can try
 * settings before publishing, or re-plan against an earlier plan. No database: planner
 * input JSON in, plan JSON out, the same contract as POST /v1/rotas. */
#ifndef MATD_ROTA_CLI_H
#define MATD_ROTA_CLI_H

/* `matctl rota plan --input FILE.json [--time-budget-ms N] [--previous PLAN.json]
 * [--greedy]`; argv starts after "rota plan". Prints the plan on stdout. Returns 0, 2 for
 * bad usage or input (a message per problem on stderr), 1 for I/O errors. */
int rota_cli_plan(int argc, char **argv);

#endif
