/* matctl push: PUT /v1/schools/{urn}/progress/{year}/{term} with libcurl. The URL comes
 * from --url (or MATD_URL), else the config's [server] listen; the token from MATD_TOKEN
 * or --token-file (never the command line, where ps would show it); the CA from --cacert
 * (or MATD_CACERT), else the system's. */
#include "push_cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

#define PUSH_BAR_MIN_BYTES (256 * 1024) /* smaller files go too fast for a bar */

struct push_args {
    const char *school, *year, *term, *profile, *token_file, *url, *cacert, *path;
    bool dry_run, progress;
};

static void push_usage(void)
{
    fprintf(stderr, "usage: matctl -c FILE push --school URN --year Y --term T [--profile P] "
                    "[--dry-run]\n"
                    "                  [--token-file FILE] [--url URL] [--cacert FILE] "
                    "[--progress] PATH\n"
                    "       the token is read from MATD_TOKEN or --token-file\n");
}

static int parse_args(int argc, char **argv, struct push_args *a)
{
    static const struct option opts[] = {
        {"school", required_argument, NULL, 's'}, {"year", required_argument, NULL, 'y'},
        {"term", required_argument, NULL, 't'},   {"profile", required_argument, NULL, 'p'},
        {"dry-run", no_argument, NULL, 'd'},      {"token-file", required_argument, NULL, 'k'},
        {"url", required_argument, NULL, 'u'},    {"cacert", required_argument, NULL, 'c'},
        {"progress", no_argument, NULL, 'P'},     {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            a->school = optarg;
            break;
        case 'y':
            a->year = optarg;
            break;
        case 't':
            a->term = optarg;
            break;
        case 'p':
            a->profile = optarg;
            break;
        case 'd':
            a->dry_run = true;
            break;
        case 'k':
            a->token_file = optarg;
            break;
        case 'u':
            a->url = optarg;
            break;
        case 'c':
            a->cacert = optarg;
            break;
        case 'P':
            a->progress = true;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc - 1 || !a->school || !a->year || !a->term)
        return -1;
    a->path = argv[optind];
    return 0;
}

/* The token: MATD_TOKEN, or the first line of --token-file. Returns owned or NULL. */
static char *read_token(const struct push_args *a)
{
    const char *env = getenv("MATD_TOKEN");
    if (!a->token_file && env && *env)
        return xstrdup(env);
    if (!a->token_file)
        return NULL;
    FILE *f = fopen(a->token_file, "r");
    if (!f)
        return NULL;
    char line[256] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok)
        return NULL;
    line[strcspn(line, "\r\n \t")] = '\0';
    return line[0] ? xstrdup(line) : NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct strbuf sb;
    strbuf_init(&sb);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_append(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb, len);
}

/* By extension, else by the first character: '<' a CTF, '{' JSON, else CSV. */
static const char *content_type_for(const char *path, const char *body, size_t len)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".csv") == 0)
        return "text/csv";
    if (dot && strcasecmp(dot, ".xml") == 0)
        return "application/xml";
    if (dot && strcasecmp(dot, ".json") == 0)
        return "application/json";
    size_t i = utf8_bom_len(body, len);
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    return i < len && body[i] == '<'   ? "application/xml"
           : i < len && body[i] == '{' ? "application/json"
                                       : "text/csv";
}

static char *base_url(const struct config *cfg, const struct push_args *a)
{
    const char *u = a->url ? a->url : getenv("MATD_URL");
    if (u && *u) {
        size_t n = strlen(u);
        char *s = xstrdup(u);
        if (n && s[n - 1] == '/')
            s[n - 1] = '\0';
        return s;
    }
    const char *host = cfg->listen_host && *cfg->listen_host ? cfg->listen_host : "localhost";
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "127.0.0.1") == 0)
        host = "localhost";
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "https://%s:%d", host, cfg->listen_port ? cfg->listen_port : 8443);
    return strbuf_detach(&sb, NULL);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    strbuf_append(arg, data, size * n);
    return size * n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    int *last = arg;
    if (ultotal <= 0)
        return 0;
    int pct = (int)(100 * ulnow / ultotal);
    if (pct == *last)
        return 0;
    *last = pct;
    char bar[41];
    int fill = pct * 40 / 100;
    for (int i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r  sending [%s] %3d%% of %.1f MB", bar, pct, (double)ultotal / 1e6);
    if (pct == 100)
        fprintf(stderr, " - matd is checking it\n");
    return 0;
}

/* A column of at most width characters, cut with "..." (bytes; paths and messages are
 * short ASCII in practice). */
static void print_cell(const char *s, int width)
{
    int n = (int)strlen(s);
    if (n <= width)
        printf("%-*s", width, s);
    else
        printf("%.*s...", width - 3, s);
}

static void print_errors(json_t *doc)
{
    json_t *errors = json_object_get(doc, "errors"), *e;
    size_t i;
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    printf("%s\n\n", detail ? detail : "the push was refused");
    printf("%-32s  %s\n", "WHERE", "PROBLEM");
    printf("%-32s  %s\n", "-----", "-------");
    json_array_foreach(errors, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        print_cell(path && *path ? path : "(the file)", 32);
        printf("  %s\n", json_string_value(json_object_get(e, "message")));
    }
    json_t *omitted = json_object_get(doc, "errors_omitted");
    if (json_integer_value(omitted) > 0)
        printf("... and %lld more\n", (long long)json_integer_value(omitted));
}

static void print_dry_run(json_t *doc)
{
    printf("dry run: nothing was stored. %lld rows, %lld pupils would be stored.\n\n",
           (long long)json_integer_value(json_object_get(doc, "rows")),
           (long long)json_integer_value(json_object_get(doc, "pupils")));
    printf("%-14s %6s %6s %8s %8s %9s %6s  %s\n", "SUBJECT", "ROWS", "N", "BELOW", "TOWARDS",
           "EXPECTED", "GD", "OTHER CODES");
    json_t *s, *codes = json_object_get(doc, "other_codes"), *c, *w;
    size_t i;
    json_array_foreach(json_object_get(doc, "subjects"), i, s)
    {
        json_t *b = json_object_get(s, "bands");
        printf("%-14s %6lld %6lld %8lld %8lld %9lld %6lld  ",
               json_string_value(json_object_get(s, "subject")),
               (long long)json_integer_value(json_object_get(s, "rows")),
               (long long)json_integer_value(json_object_get(s, "n")),
               (long long)json_integer_value(json_object_get(b, "below")),
               (long long)json_integer_value(json_object_get(b, "towards")),
               (long long)json_integer_value(json_object_get(b, "expected")),
               (long long)json_integer_value(json_object_get(b, "greater_depth")));
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(s, "codes"), k, v)
            printf("%s=%lld ", k, (long long)json_integer_value(v));
        printf("\n");
    }
    json_array_foreach(codes, i, c)
        printf("\ncode %s (%lld rows): %s", json_string_value(json_object_get(c, "code")),
               (long long)json_integer_value(json_object_get(c, "rows")),
               json_string_value(json_object_get(c, "treatment")));
    if (json_array_size(codes))
        printf("\n");
    json_array_foreach(json_object_get(doc, "warnings"), i, w)
        printf("%swarning: %s\n", i ? "" : "\n", json_string_value(json_object_get(w, "message")));
}

static int report(long status, const char *body, size_t len, bool dry_run)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    int rc;
    if (status == 200 || status == 201) {
        if (dry_run) {
            print_dry_run(doc);
        } else {
            json_t *sub = json_object_get(doc, "submission");
            bool same = json_is_true(json_object_get(doc, "unchanged"));
            printf("%s: submission %lld, %lld rows\n",
                   same ? "unchanged (identical to the last push)" : "stored",
                   (long long)json_integer_value(json_object_get(sub, "id")),
                   (long long)json_integer_value(json_object_get(sub, "row_count")));
        }
        rc = 0;
    } else if (status == 400 || status == 422) {
        print_errors(doc);
        rc = 1;
    } else {
        const char *detail = json_string_value(json_object_get(doc, "detail"));
        fprintf(stderr, "matctl: matd answered %ld: %s\n", status, detail ? detail : "(no detail)");
        rc = 3;
    }
    json_decref(doc);
    return rc;
}

int push_cli(const struct config *cfg, int argc, char **argv)
{
    struct push_args a;
    if (parse_args(argc, argv, &a) != 0) {
        push_usage();
        return 2;
    }
    char *token = read_token(&a);
    if (!token) {
        fprintf(stderr, "matctl: no token: set MATD_TOKEN or give --token-file FILE\n");
        return 2;
    }
    size_t len = 0;
    char *body = read_file(a.path, &len);
    if (!body) {
        fprintf(stderr, "matctl: cannot read %s\n", a.path);
        free(token);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    char *base = base_url(cfg, &a);
    struct strbuf url, auth, ctype, reply;
    strbuf_init(&url);
    strbuf_init(&auth);
    strbuf_init(&ctype);
    strbuf_init(&reply);
    char *school = curl_easy_escape(curl, a.school, 0), *year = curl_easy_escape(curl, a.year, 0);
    char *term = curl_easy_escape(curl, a.term, 0);
    strbuf_printf(&url, "%s/v1/schools/%s/progress/%s/%s?dry_run=%s", base, school, year, term,
                  a.dry_run ? "true" : "false");
    if (a.profile) {
        char *p = curl_easy_escape(curl, a.profile, 0);
        strbuf_printf(&url, "&profile=%s", p);
        curl_free(p);
    }
    curl_free(school);
    curl_free(year);
    curl_free(term);
    strbuf_printf(&auth, "Authorization: Bearer %s", token);
    strbuf_printf(&ctype, "Content-Type: %s", content_type_for(a.path, body, len));
    struct curl_slist *hdrs = curl_slist_append(NULL, auth.data);
    hdrs = curl_slist_append(hdrs, ctype.data);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
    const char *cacert = a.cacert ? a.cacert : getenv("MATD_CACERT");
    if (cacert && *cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, cacert);
    int last = -1;
    if (a.progress || (len >= PUSH_BAR_MIN_BYTES && isatty(STDERR_FILENO))) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &last);
    }
    CURLcode cc = curl_easy_perform(curl);
    int rc;
    if (cc != CURLE_OK) {
        fprintf(stderr, "matctl: cannot reach matd at %s: %s\n", base, curl_easy_strerror(cc));
        rc = 3;
    } else {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        rc = report(status, reply.data ? reply.data : "", reply.len, a.dry_run);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    explicit_bzero(auth.data, auth.len);
    explicit_bzero(token, strlen(token));
    strbuf_free(&url);
    strbuf_free(&auth);
    strbuf_free(&ctype);
    strbuf_free(&reply);
    free(base);
    free(token);
    free(body);
    return rc;
}
