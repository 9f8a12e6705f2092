/* Config table (in the manner of Redis' config.c): one row per key with its type,
 * default and bounds; INI values first, then MATD_SECTION_KEY environment overrides. */
#include "config.h"

#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum opt_type { OPT_STRING, OPT_INT, OPT_BOOL };

/* When a change takes effect: LIVE keys are applied by SIGHUP (TLS files, limits, log
 * level); RESTART keys are read once at start, and a reload names each one it cannot
 * apply (config_each_restart_only_change). */
enum opt_when { RESTART, LIVE };

struct opt {
    const char *section;
    const char *key;
    enum opt_type type;
    size_t offset;
    const char *def;
    long min, max;
    enum opt_when when;
};

#define S(sec, k, field, d, when)                                                                  \
    {                                                                                              \
        sec, k, OPT_STRING, offsetof(struct config, field), d, 0, 0, when                          \
    }
#define I(sec, k, field, d, lo, hi, when)                                                          \
    {                                                                                              \
        sec, k, OPT_INT, offsetof(struct config, field), d, lo, hi, when                           \
    }
#define B(sec, k, field, d, when)                                                                  \
    {                                                                                              \
        sec, k, OPT_BOOL, offsetof(struct config, field), d, 0, 1, when                            \
    }

static const struct opt opts[] = {
    S("server", "listen", listen, "127.0.0.1:8443", RESTART),
    I("server", "workers", workers, "0", 0, 256, RESTART),
    S("server", "tls_cert", tls_cert, "/etc/matd/tls/server.crt", LIVE),
    S("server", "tls_key", tls_key, "/etc/matd/tls/server.key", LIVE),
    S("server", "tls_client_ca", tls_client_ca, "", LIVE),
    I("server", "max_connections", max_connections, "4096", 1, 1000000, LIVE),
    I("server", "request_timeout_ms", request_timeout_ms, "30000", 100, 3600000, LIVE),
    I("server", "idle_timeout_s", idle_timeout_s, "60", 1, 86400, LIVE),
    I("server", "drain_timeout_ms", drain_timeout_ms, "10000", 0, 600000, LIVE),
    I("server", "max_connections_per_address", max_connections_per_address, "256", 1, 1000000,
      RESTART),
    I("server", "header_timeout_ms", header_timeout_ms, "10000", 100, 600000, RESTART),
    I("server", "body_min_bytes_per_s", body_min_bytes_per_s, "16384", 1, 1073741824, RESTART),
    I("server", "denial_flush_s", denial_flush_s, "60", 1, 3600, RESTART),
    I("server", "offload_queue_max", offload_queue_max, "256", 1, 1000000, RESTART),
    S("server", "proxy_from", proxy_from, "", RESTART),
    I("limits", "max_header_bytes", max_header_bytes, "16384", 1024, 1048576, RESTART),
    I("limits", "max_body_bytes", max_body_bytes, "1048576", 1024, 67108864, LIVE),
    I("limits", "max_push_bytes", max_push_bytes, "33554432", 1024, 1073741824, LIVE),
    I("limits", "max_records_per_push", max_records_per_push, "200000", 1, 10000000, LIVE),
    I("limits", "rate_limit_per_minute", rate_limit_per_minute, "6000", 0, 100000000, LIVE),
    I("limits", "rate_limit_burst", rate_limit_burst, "1000", 1, 100000000, LIVE),
    I("limits", "push_busy_share_pct", push_busy_share_pct, "15", 1, 100, LIVE),
    S("database", "dsn", dsn, "host=/run/postgresql dbname=matd", RESTART),
    S("database", "replica_dsn", replica_dsn, "", RESTART),
    I("database", "replica_max_lag_ms", replica_max_lag_ms, "2000", 100, 20000, RESTART),
    I("database", "replica_max_lag_bytes", replica_max_lag_bytes, "67108864", 0, 2147483647,
      RESTART),
    I("database", "pool_size", pool_size, "8", 1, 256, RESTART),
    I("database", "queue_max", queue_max, "1024", 1, 1000000, RESTART),
    I("database", "connect_timeout_ms", connect_timeout_ms, "5000", 100, 600000, RESTART),
    I("database", "statement_timeout_ms", statement_timeout_ms, "30000", 0, 3600000, RESTART),
    S("trust", "name", trust_name, "Example Learning Trust", RESTART),
    S("trust", "secret_file", secret_file, "/etc/matd/trust.secret", RESTART),
    S("trust", "subjects", subjects, "reading,writing,maths,science,gps,english", RESTART),
    S("trust", "themes", themes,
      "writing,maths,reading,send,attendance,behaviour,curriculum,early_years,disadvantaged,"
      "leadership,cpd",
      RESTART),
    I("rota", "lead_days", rota_lead_days, "21", 0, 365, RESTART),
    I("rota", "check_interval_s", rota_check_interval_s, "600", 1, 86400, RESTART),
    S("rota", "scheduler_now", scheduler_now, "", RESTART),
    S("log", "level", log_level, "info", LIVE),
    B("metrics", "public", metrics_public, "false", LIVE),
};

struct load_ctx {
    struct config *cfg;
    char *err;
    size_t errlen;
    int failed;
};

static const struct opt *find_opt(const char *section, const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(opts); i++)
        if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0)
            return &opts[i];
    return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* Returns 0, or -1 with err filled; origin says where the value came from. */
static int set_opt(struct config *cfg, const struct opt *o, const char *value, const char *origin,
                   char *err, size_t errlen)
{
    char *base = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: {
        char **slot = (char **)(void *)base;
        free(*slot);
        *slot = xstrdup(value);
        return 0;
    }
    case OPT_INT: {
        long v;
        if (!parse_long(value, o->min, o->max, &v)) {
            snprintf(err, errlen, "%s: [%s] %s must be an integer from %ld to %ld, got \"%s\"",
                     origin, o->section, o->key, o->min, o->max, value);
            return -1;
        }
        *(int *)(void *)base = (int)v;
        return 0;
    }
    case OPT_BOOL: {
        bool b;
        if (!parse_bool(value, &b)) {
            snprintf(err, errlen, "%s: [%s] %s must be true or false, got \"%s\"", origin,
                     o->section, o->key, value);
            return -1;
        }
        *(bool *)(void *)base = b;
        return 0;
    }
    }
    return -1;
}

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[256];
    for (size_t i = 0; i < ARRAY_LEN(opts); i++)
        if (set_opt(cfg, &opts[i], opts[i].def, "default", err, sizeof err) != 0)
            fatal("bad default for %s.%s", opts[i].section, opts[i].key);
}

static int config_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    if (ctx->failed)
        return 0;
    const struct opt *o = find_opt(section, name);
    if (!o) {
        snprintf(ctx->err, ctx->errlen, "config: unknown key [%s] %s", section, name);
        ctx->failed = 1;
        return 0;
    }
    if (set_opt(ctx->cfg, o, value, "config", ctx->err, ctx->errlen) != 0) {
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

static int apply_env(struct config *cfg, char *const *envp, char *err, size_t errlen)
{
    if (!envp)
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(opts); i++) {
        char name[96];
        int n = snprintf(name, sizeof name, "MATD_%s_%s=", opts[i].section, opts[i].key);
        for (int j = 0; j < n; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        for (char *const *e = envp; *e; e++)
            if (strncmp(*e, name, (size_t)n) == 0) {
                name[n - 1] = '\0';
                if (set_opt(cfg, &opts[i], *e + n, name, err, errlen) != 0)
                    return -1;
            }
    }
    return 0;
}

static void free_vocabulary(char ***list, size_t *n)
{
    for (size_t i = 0; *list && i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

/* "reading, writing,maths" -> lower-case slugs; each [a-z][a-z0-9_]{0,31}, no repeats. what:
 * the key, for messages ("subjects"), one: a member of it ("subject"). */
static int parse_vocabulary(const char *text, char ***list, size_t *n, const char *what,
                            const char *one, char *err, size_t errlen)
{
    free_vocabulary(list, n);
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    *list = xcalloc(cap + 1, sizeof **list);
    for (const char *s = text; *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t len = strcspn(s, ",");
        while (len && s[len - 1] == ' ')
            len--;
        if (!len)
            break;
        bool ok = len <= 32 && s[0] >= 'a' && s[0] <= 'z';
        for (size_t i = 0; ok && i < len; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
        for (size_t i = 0; ok && i < *n; i++)
            ok = !(strlen((*list)[i]) == len && strncmp((*list)[i], s, len) == 0);
        if (!ok) {
            snprintf(err, errlen,
                     "config: [trust] %s: \"%.*s\" is not a lower-case %s name (a-z, 0-9, _) or "
                     "is listed twice",
                     what, (int)(len > 40 ? 40 : len), s, one);
            return -1;
        }
        (*list)[(*n)++] = xstrndup(s, len);
        s += strcspn(s, ",");
    }
    if (!*n) {
        snprintf(err, errlen, "config: [trust] %s must name at least one %s", what, one);
        return -1;
    }
    return 0;
}

bool config_vocabulary_has(char *const *list, size_t n, const char *word)
{
    for (size_t i = 0; word && i < n; i++)
        if (strcmp(list[i], word) == 0)
            return true;
    return false;
}

static int validate(struct config *cfg, char *err, size_t errlen)
{
    free(cfg->listen_host);
    cfg->listen_host = NULL;
    const char *colon = strrchr(cfg->listen, ':');
    long port;
    if (!colon || colon == cfg->listen || !parse_long(colon + 1, 1, 65535, &port)) {
        snprintf(err, errlen, "config: [server] listen must be host:port, got \"%s\"", cfg->listen);
        return -1;
    }
    const char *h = cfg->listen;
    size_t hlen = (size_t)(colon - h);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') /* [::1]:8443 */
        h++, hlen -= 2;
    cfg->listen_host = xstrndup(h, hlen);
    cfg->listen_port = (int)port;
    if (!*cfg->tls_cert || !*cfg->tls_key) {
        snprintf(err, errlen, "config: [server] tls_cert and tls_key are required (TLS only)");
        return -1;
    }
    if (!*cfg->dsn) {
        snprintf(err, errlen, "config: [database] dsn is required");
        return -1;
    }
    enum log_level lvl;
    if (log_level_parse(cfg->log_level, &lvl) != 0) {
        snprintf(err, errlen, "config: [log] level must be debug, info, warn or error, got \"%s\"",
                 cfg->log_level);
        return -1;
    }
    if (*cfg->scheduler_now && !parse_date(cfg->scheduler_now, NULL, NULL, NULL)) {
        snprintf(err, errlen, "config: [rota] scheduler_now must be a date YYYY-MM-DD");
        return -1;
    }
    if (parse_vocabulary(cfg->subjects, &cfg->subject_list, &cfg->nsubjects, "subjects", "subject",
                         err, errlen) != 0 ||
        parse_vocabulary(cfg->themes, &cfg->theme_list, &cfg->nthemes, "themes", "theme", err,
                         errlen) != 0)
        return -1;
    if (cfg->max_push_bytes < cfg->max_body_bytes) {
        snprintf(err, errlen, "config: [limits] max_push_bytes must be >= max_body_bytes");
        return -1;
    }
    return 0;
}

int config_load_string(struct config *cfg, const char *ini, char *const *envp, char *err,
                       size_t errlen)
{
    struct load_ctx ctx = {cfg, err, errlen, 0};
    if (ini) {
        int line = ini_parse_string(ini, config_ini_entry, &ctx);
        if (ctx.failed) {
            if (line > 0) {
                size_t len = strlen(err);
                snprintf(err + len, errlen - len, " (line %d)", line);
            }
            return -1;
        }
        if (line != 0) {
            snprintf(err, errlen, "config: syntax error on line %d", line);
            return -1;
        }
    }
    if (apply_env(cfg, envp, err, errlen) != 0)
        return -1;
    return validate(cfg, err, errlen);
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < ARRAY_LEN(opts); i++)
        if (opts[i].type == OPT_STRING) {
            char **slot = (char **)(void *)((char *)cfg + opts[i].offset);
            free(*slot);
            *slot = NULL;
        }
    free(cfg->listen_host);
    cfg->listen_host = NULL;
    free_vocabulary(&cfg->subject_list, &cfg->nsubjects);
    free_vocabulary(&cfg->theme_list, &cfg->nthemes);
}

void config_each_restart_only_change(const struct config *running, const struct config *next,
                                     config_change_fn fn, void *arg)
{
    for (size_t i = 0; i < ARRAY_LEN(opts); i++) {
        const struct opt *o = &opts[i];
        if (o->when == LIVE)
            continue;
        const char *a = (const char *)running + o->offset, *b = (const char *)next + o->offset;
        bool changed;
        switch (o->type) {
        case OPT_STRING: {
            const char *sa = *(char *const *)(const void *)a, *sb = *(char *const *)(const void *)b;
            changed = strcmp(sa ? sa : "", sb ? sb : "") != 0;
            break;
        }
        case OPT_INT:
            changed = *(const int *)(const void *)a != *(const int *)(const void *)b;
            break;
        default:
            changed = *(const bool *)(const void *)a != *(const bool *)(const void *)b;
            break;
        }
        if (changed)
            fn(o->section, o->key, arg);
    }
}
