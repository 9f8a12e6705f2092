/* matctl rota plan: read the planner input (and optionally a previous plan to re-plan),
 * run the same planner as POST /v1/rotas, print the plan and its metrics as JSON. */
#include "rota_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rota.h"
#include "rota_json.h"
#include "util.h"

#define ROTA_CLI_MAX_INPUT (16u << 20)

static const char usage_text[] =
    "usage: matctl rota plan --input FILE.json [--time-budget-ms N] [--previous PLAN.json] "
    "[--greedy] [--threads N]\n"
    "  --input FILE         planner input (SPEC section 11); - reads standard input\n"
    "  --time-budget-ms N   search effort, about N milliseconds (default 5000)\n"
    "  --previous PLAN      re-plan: keep as many groups of this earlier plan as possible\n"
    "  --greedy             the term-by-term greedy baseline instead of the planner\n"
    "  --threads N          recognising its own earlier plan in the history, re-plan up to N\n"
    "                       starts at once (1..4; default one per core, at most 4); the plan\n"
    "                       is the same for any N\n";

/* Reads a whole file ("-" = stdin) into *out. Returns 0, or -1 with errno-style message. */
static int read_all(const char *path, char **out, size_t *len, char *why, size_t whylen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    struct strbuf sb;
    strbuf_init(&sb);
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        strbuf_append(&sb, buf, n);
        if (sb.len > ROTA_CLI_MAX_INPUT) {
            snprintf(why, whylen, "larger than %u bytes", ROTA_CLI_MAX_INPUT);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(why, whylen, "%s", strerror(errno));
        rc = -1;
    }
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        strbuf_free(&sb);
        return -1;
    }
    *out = strbuf_detach(&sb, len);
    return 0;
}

static void print_errors(const char *what, const struct mat_errors *err)
{
    for (size_t i = 0; i < err->count; i++)
        fprintf(stderr, "matctl rota plan: %s: %s: %s\n", what,
                err->items[i].path[0] ? err->items[i].path : "(document)", err->items[i].message);
    if (err->dropped)
        fprintf(stderr, "matctl rota plan: %s: %zu more problems not shown\n", what, err->dropped);
}

int rota_cli_plan(int argc, char **argv)
{
    static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                         {"time-budget-ms", required_argument, NULL, 't'},
                                         {"previous", required_argument, NULL, 'p'},
                                         {"greedy", no_argument, NULL, 'g'},
                                         {"threads", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    /* getopt wants a program name in front */
    char **args = xcalloc((size_t)argc + 2, sizeof *args);
    args[0] = (char *)(uintptr_t) "matctl rota plan";
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    const char *input = NULL, *previous = NULL;
    bool greedy = false;
    struct rota_options opt;
    rota_options_default(&opt);
    int c, rc = 0;
    optind = 1;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc + 1, args, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            input = optarg;
            break;
        case 'p':
            previous = optarg;
            break;
        case 'g':
            greedy = true;
            break;
        case 't': {
            long ms;
            if (!parse_long(optarg, 1, 3600000, &ms)) {
                fprintf(stderr, "matctl rota plan: --time-budget-ms must be 1..3600000\n");
                rc = 2;
            }
            opt.time_budget_ms = ms;
            break;
        }
        case 'n': {
            long threads;
            if (!parse_long(optarg, 1, ROTA_MAX_THREADS, &threads)) {
                fprintf(stderr, "matctl rota plan: --threads must be 1..%d\n", ROTA_MAX_THREADS);
                rc = 2;
            }
            opt.threads = (int)threads;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            free(args);
            return 0;
        default:
            fprintf(stderr, "matctl rota plan: unknown or incomplete option %s\n",
                    args[optind - 1]);
            rc = 2;
        }
    }
    if (rc == 0 && optind < argc + 1) {
        fprintf(stderr, "matctl rota plan: unexpected argument %s\n", args[optind]);
        rc = 2;
    }
    if (rc == 0 && !input) {
        fprintf(stderr, "matctl rota plan: --input is required\n");
        rc = 2;
    }
    free(args);
    if (rc != 0) {
        fputs(usage_text, stderr);
        return rc;
    }
    char *text = NULL, why[128];
    size_t len = 0;
    if (read_all(input, &text, &len, why, sizeof why) != 0) {
        fprintf(stderr, "matctl rota plan: cannot read %s: %s\n", input, why);
        return 1;
    }
    struct mat_errors err;
    mat_errors_init(&err);
    struct rota_input in;
    if (rota_json_parse_input(text, len, &in, &err) != 0) {
        print_errors(input, &err);
        mat_errors_free(&err);
        free(text);
        return 2;
    }
    char *input_text = text; /* a plain plan goes through rota_json_run ("cycle" included) */
    size_t input_len = len;
    struct rota_prev_term *prev = NULL;
    size_t n_prev = 0;
    if (previous) {
        if (read_all(previous, &text, &len, why, sizeof why) != 0) {
            fprintf(stderr, "matctl rota plan: cannot read %s: %s\n", previous, why);
            rota_input_free(&in);
            free(input_text);
            return 1;
        }
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        free(text);
        if (!root)
            mat_errors_add(&err, "", "not a JSON object: malformed JSON at line %d, column %d: %s",
                           je.line, je.column, je.text);
        else
            rota_json_parse_previous(root, &prev, &n_prev, &err);
        json_decref(root);
        if (err.count) {
            print_errors(previous, &err);
            mat_errors_free(&err);
            rota_input_free(&in);
            free(input_text);
            return 2;
        }
    }
    if (!greedy && !previous) {
        char *out = NULL;
        if (rota_json_run(input_text, input_len, 0, &opt, true, &out, &err) != 0) {
            print_errors(input, &err);
            rc = 2;
        } else if (fwrite(out, 1, strlen(out), stdout) != strlen(out) || fflush(stdout) != 0) {
            fprintf(stderr, "matctl rota plan: cannot write the plan: %s\n", strerror(errno));
            rc = 1;
        }
        free(out);
        free(input_text);
        mat_errors_free(&err);
        rota_input_free(&in);
        return rc;
    }
    free(input_text);
    struct rota_plan plan;
    struct rota_changes changes;
    int prc = greedy ? rota_plan_greedy(&in, &plan, &err)
                     : rota_replan(&in, prev, n_prev, &opt, &plan, &changes, &err);
    if (prc != 0) {
        print_errors(input, &err);
        rc = 2;
    } else {
        char *out = rota_json_plan_dump(&in, &plan, previous && !greedy ? &changes : NULL, prev,
                                        n_prev, true);
        size_t n = strlen(out);
        if (fwrite(out, 1, n, stdout) != n || fflush(stdout) != 0) {
            fprintf(stderr, "matctl rota plan: cannot write the plan: %s\n", strerror(errno));
            rc = 1;
        }
        free(out);
        if (previous && !greedy)
            rota_changes_free(&changes);
        rota_plan_free(&plan);
    }
    mat_errors_free(&err);
    rota_prev_terms_free(prev, n_prev);
    rota_input_free(&in);
    return rc;
}
