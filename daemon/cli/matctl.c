/* matctl: the operator's command line — migrations, bootstrap tokens, demo data, the
 * offline rota planner and a terminal view of the priorities. Blocking libpq is fine
 * here: this is a short-lived command, not the daemon. */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "config_file.h"
#include "log.h"
#include "log_stderr.h"
#include "migrate.h"
#include "errors.h"
#include "util.h"
#include "rota_cli.h"
#include "demo.h"
#include "priorities_cli.h"
#include "push_cli.h"
#include "report_cli.h"
#include "secret.h"

extern char **environ;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: matctl -c FILE migrate\n"
            "       matctl -c FILE token create --role ROLE [--school URN | --schools URN,...]\n"
            "                                   [--name TEXT] [--expires-days N]\n"
            "       matctl -c FILE demo load [--seed N]\n"
            "       matctl rota plan --input FILE.json\n"
            "       matctl secret init FILE\n"
            "       matctl -c FILE priorities --year Y --term T [--school URN] [--json]\n"
            "       matctl -c FILE push --school URN --year Y --term T [--profile P] "
            "[--dry-run] PATH\n"
            "       matctl -c FILE report (--school URN | --trust) --year Y --term T --pdf FILE\n"
            "                             [--url https://HOST:PORT] [--chromium PATH]\n");
}

static PGconn *connect_db(const struct config *cfg)
{
    PGconn *pg = PQconnectdb(cfg->dsn);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "matctl: cannot connect to the database: %s", PQerrorMessage(pg));
        PQfinish(pg);
        exit(1);
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    return pg;
}

/* Connects, migrates and finds the trust: every database command starts here. */
static PGconn *open_trust(const struct config *cfg, long long *trust_id)
{
    PGconn *pg = connect_db(cfg);
    char err[512];
    int applied;
    if (migrate_apply(pg, &applied, err, sizeof err) != 0 ||
        migrate_ensure_trust(pg, cfg->trust_name, trust_id, err, sizeof err) != 0) {
        fprintf(stderr, "matctl: %s\n", err);
        PQfinish(pg);
        exit(1);
    }
    return pg;
}

static int cmd_migrate(const struct config *cfg)
{
    PGconn *pg = connect_db(cfg);
    char err[512];
    int applied;
    long long trust;
    if (migrate_apply(pg, &applied, err, sizeof err) != 0 ||
        migrate_ensure_trust(pg, cfg->trust_name, &trust, err, sizeof err) != 0) {
        fprintf(stderr, "matctl: %s\n", err);
        PQfinish(pg);
        return 1;
    }
    PQfinish(pg);
    fprintf(stderr, "matctl: %d migration(s) applied; schema at version %d\n", applied,
            migrate_latest());
    return 0;
}

static int cmd_token_create(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},         {"school", required_argument, NULL, 's'},
        {"schools", required_argument, NULL, 'S'},      {"name", required_argument, NULL, 'n'},
        {"expires-days", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
    const char *role_s = NULL, *schools = NULL, *name = "", *expires = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            role_s = optarg;
            break;
        case 's':
        case 'S':
            schools = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'e':
            expires = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    enum role role;
    if (!role_s || role_parse(role_s, &role) != 0) {
        fprintf(stderr, "matctl: --role must be admin, ceo, executive_head or school\n");
        return 2;
    }
    struct principal p = {0};
    char err[256];
    if (principal_set_urns(&p, schools, err, sizeof err) != 0) {
        fprintf(stderr, "matctl: --schools: %s\n", err);
        return 2;
    }
    if ((role == ROLE_SCHOOL && p.nurns != 1) || (role == ROLE_EXECUTIVE_HEAD && p.nurns < 1) ||
        ((role == ROLE_ADMIN || role == ROLE_CEO) && p.nurns > 0)) {
        fprintf(stderr, "matctl: a school token needs --school URN, an executive_head token "
                        "--schools URN,...; admin and ceo tokens take neither\n");
        principal_free(&p);
        return 2;
    }
    long days = 0;
    if (expires && !parse_long(expires, 1, 3650, &days)) {
        fprintf(stderr, "matctl: --expires-days must be from 1 to 3650\n");
        principal_free(&p);
        return 2;
    }
    long long trust;
    PGconn *pg = open_trust(cfg, &trust);
    char token[AUTH_TOKEN_LEN + 1], hexhash[2 * AUTH_HASH_LEN + 1], trust_s[24], days_s[24];
    unsigned char hash[AUTH_HASH_LEN];
    if (auth_token_generate(token) != 0 || auth_token_hash(token, hash) != 0) {
        fprintf(stderr, "matctl: no randomness available\n");
        return 1;
    }
    hex_encode(hash, AUTH_HASH_LEN, hexhash);
    snprintf(trust_s, sizeof trust_s, "%lld", trust);
    snprintf(days_s, sizeof days_s, "%ld", days);
    struct strbuf arr;
    strbuf_init(&arr);
    strbuf_puts(&arr, "{");
    for (int i = 0; i < p.nurns; i++)
        strbuf_printf(&arr, "%s%s", i ? "," : "", p.urns[i]);
    strbuf_puts(&arr, "}");
    const char *params[6] = {trust_s, hexhash,  role_name(role),
                             name,    arr.data, expires ? days_s : NULL};
    PGresult *r = PQexecParams(
        pg,
        "WITH missing AS (SELECT u FROM unnest($5::text[]) u WHERE NOT EXISTS "
        " (SELECT 1 FROM schools s WHERE s.trust_id = $1 AND s.urn = u)) "
        "INSERT INTO tokens (trust_id, token_hash, role, name, urns, expires_at) "
        "SELECT $1, decode($2, 'hex'), $3, $4, $5::text[], "
        " CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(days => $6::int) END "
        "WHERE NOT EXISTS (SELECT 1 FROM missing) RETURNING id",
        6, NULL, params, NULL, NULL, 0);
    strbuf_free(&arr);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "matctl: %s", PQresultErrorMessage(r));
        rc = 1;
    } else if (PQntuples(r) != 1) {
        fprintf(stderr, "matctl: every school in --school/--schools must be registered first\n");
        rc = 1;
    } else {
        printf("%s\n", token);
        fprintf(stderr, "matctl: token %s created (role %s); it is shown only this once\n",
                PQgetvalue(r, 0, 0), role_name(role));
    }
    PQclear(r);
    PQfinish(pg);
    principal_free(&p);
    return rc;
}

int main(int argc, char **argv)
{
    log_stderr_install();
    const char *config_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else
            break;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    log_set_level(LOG_WARN);
    const char *cmd = argv[i];
    const char *sub = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(cmd, "rota") == 0 && strcmp(sub, "plan") == 0)
        return rota_cli_plan(argc - i - 2, argv + i + 2);
    if (strcmp(cmd, "secret") == 0 && strcmp(sub, "init") == 0) {
        char serr[512];
        if (i + 2 >= argc) {
            usage(stderr);
            return 2;
        }
        if (secret_init_file(argv[i + 2], serr, sizeof serr) != 0) {
            fprintf(stderr, "matctl: %s\n", serr);
            return 1;
        }
        return 0;
    }
    struct config cfg;
    config_defaults(&cfg);
    char err[512];
    if (config_load_file(&cfg, config_path, environ, err, sizeof err) != 0) {
        fprintf(stderr, "matctl: %s\n", err);
        return 2;
    }
    int rc = 2;
    if (strcmp(cmd, "migrate") == 0) {
        rc = cmd_migrate(&cfg);
    } else if (strcmp(cmd, "token") == 0 && strcmp(sub, "create") == 0) {
        rc = cmd_token_create(&cfg, argc - i - 1, argv + i + 1);
    } else if (strcmp(cmd, "demo") == 0 && strcmp(sub, "load") == 0) {
        long long trust;
        PGconn *pg = open_trust(&cfg, &trust);
        rc = demo_load_cli(pg, &cfg, trust, argc - i - 1, argv + i + 1);
        PQfinish(pg);
    } else if (strcmp(cmd, "push") == 0) {
        rc = push_cli(&cfg, argc - i, argv + i);
    } else if (strcmp(cmd, "priorities") == 0) {
        long long trust;
        PGconn *pg = open_trust(&cfg, &trust);
        rc = priorities_cli(pg, &cfg, trust, argc - i, argv + i);
        PQfinish(pg);
    } else if (strcmp(cmd, "report") == 0) {
        long long trust;
        PGconn *pg = open_trust(&cfg, &trust);
        rc = report_cli(pg, &cfg, trust, argc - i, argv + i);
        PQfinish(pg);
    } else {
        fprintf(stderr, "matctl: unknown command \"%s%s%s\"\n", cmd, *sub ? " " : "", sub);
        usage(stderr);
    }
    config_free(&cfg);
    return rc;
}
