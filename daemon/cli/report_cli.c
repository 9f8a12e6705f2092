/* matctl report (--school URN | --trust) --year Y --term T --pdf FILE [--url URL]
 *                [--chromium PATH]
 *
 * Chromium is driven over --remote-debugging-pipe (DevTools protocol, NUL-separated JSON
 * on fds 3 and 4): no port is opened and nothing is fetched from another host. The page
 * is signed in by a cookie for a session made here for an executive-head principal of
 * that one school (a CEO principal for --trust), expiring in five minutes and ended when
 * the print is done; its token has a random hash nobody holds, so no one else can use it. */
#include "report_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "termly.h"
#include "util.h"

#define REPORT_TIMEOUT_MS 60000
#define COOKIE_NAME "__Host-matd_session"

struct cdp {
    int to, from; /* pipe fds: we write commands to `to`, read replies from `from` */
    int next_id;
    char *buf;
    size_t len, cap;
};

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until one NUL-terminated message is buffered; returns it parsed, or NULL. */
static json_t *cdp_read(struct cdp *c, long long deadline)
{
    for (;;) {
        char *nul = c->len ? memchr(c->buf, '\0', c->len) : NULL;
        if (nul) {
            json_t *msg = json_loadb(c->buf, (size_t)(nul - c->buf), 0, NULL);
            size_t used = (size_t)(nul - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return msg;
        }
        long long left = deadline - ms_now();
        struct pollfd p = {c->from, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 1 << 20;
            c->buf = xrealloc(c->buf, c->cap);
        }
        ssize_t n = read(c->from, c->buf + c->len, c->cap - c->len);
        if (n <= 0 && errno != EINTR)
            return NULL;
        if (n > 0)
            c->len += (size_t)n;
    }
}

/* Sends method(params) (params stolen) to the browser or a page session; returns the
 * result object (owned), or NULL naming the error on stderr. */
static json_t *cdp_call(struct cdp *c, const char *session, const char *method, json_t *params,
                        long long deadline)
{
    int id = ++c->next_id;
    json_t *msg = json_pack("{s:i, s:s, s:o}", "id", id, "method", method, "params",
                            params ? params : json_object());
    if (session)
        json_object_set_new(msg, "sessionId", json_string(session));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    size_t n = strlen(text) + 1, off = 0;
    while (off < n) {
        ssize_t w = write(c->to, text + off, n - off);
        if (w < 0 && errno != EINTR) {
            free(text);
            fprintf(stderr, "matctl report: chromium went away (%s)\n", method);
            return NULL;
        }
        off += w > 0 ? (size_t)w : 0;
    }
    free(text);
    for (;;) {
        json_t *r = cdp_read(c, deadline);
        if (!r) {
            fprintf(stderr, "matctl report: no answer from chromium to %s\n", method);
            return NULL;
        }
        if (json_integer_value(json_object_get(r, "id")) != id) {
            json_decref(r); /* an event, or another reply */
            continue;
        }
        json_t *res = json_incref(json_object_get(r, "result"));
        if (!res)
            fprintf(stderr, "matctl report: %s failed: %s\n", method,
                    json_string_value(json_object_get(json_object_get(r, "error"), "message")));
        json_decref(r);
        return res;
    }
}

/* base64(SHA-256(SubjectPublicKeyInfo)) of the server certificate: Chromium trusts exactly
 * this key for the print, not every certificate. */
static int server_spki(const char *cert_path, char out[64])
{
    FILE *f = fopen(cert_path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!x)
        return -1;
    unsigned char *der = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1;
    if (ok)
        EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    OPENSSL_free(der);
    X509_free(x);
    return ok ? 0 : -1;
}

/* A principal for the print: an executive head of this one school (urn NULL: the CEO),
 * five minutes. Writes the session id (hex) to sid; returns the token id or -1. */
static long long make_session(PGconn *pg, long long trust, const char *urn, char sid[65])
{
    unsigned char raw[32], tok[32];
    char tokhex[65], sidhash[65], trust_s[24];
    if (RAND_bytes(raw, sizeof raw) != 1 || RAND_bytes(tok, sizeof tok) != 1)
        return -1;
    hex_encode(raw, sizeof raw, sid);
    hex_encode(tok, sizeof tok, tokhex);
    sha256_hex(sid, 64, sidhash);
    snprintf(trust_s, sizeof trust_s, "%lld", trust);
    const char *params[4] = {trust_s, tokhex, urn, sidhash};
    PGresult *r = PQexecParams(
        pg,
        "WITH t AS (INSERT INTO tokens (trust_id, token_hash, role, name, urns, expires_at) "
        " SELECT $1, decode($2, 'hex'), CASE WHEN $3::text IS NULL THEN 'ceo' ELSE "
        " 'executive_head' END, 'matctl report', CASE WHEN $3::text IS NULL THEN '{}' ELSE "
        " ARRAY[$3::text] END, now() + interval '5 minutes' WHERE $3::text IS NULL OR EXISTS "
        " (SELECT 1 FROM schools WHERE trust_id = $1 AND urn = $3) RETURNING id) "
        "INSERT INTO sessions (trust_id, session_hash, token_id, expires_at) "
        "SELECT $1, decode($4, 'hex'), id, now() + interval '5 minutes' FROM t RETURNING token_id",
        4, NULL, params, NULL, NULL, 0);
    long long id =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "matctl report: %s", PQerrorMessage(pg));
    PQclear(r);
    return id;
}

static void end_session(PGconn *pg, long long trust, long long token_id)
{
    char trust_s[24], id_s[24];
    snprintf(trust_s, sizeof trust_s, "%lld", trust);
    snprintf(id_s, sizeof id_s, "%lld", token_id);
    const char *params[2] = {trust_s, id_s};
    PQclear(PQexecParams(pg,
                         "WITH s AS (UPDATE sessions SET ended_at = now() WHERE trust_id = $1 "
                         "AND token_id = $2) UPDATE tokens SET revoked_at = now() WHERE "
                         "trust_id = $1 AND id = $2",
                         2, NULL, params, NULL, NULL, 0));
}

struct print_job {
    const char *base, *urn, *year, *term, *pdf, *sid;
};

/* Drives the page to the report, waits for it to render, prints it. */
static int print_report(struct cdp *c, const struct print_job *j)
{
    long long deadline = ms_now() + REPORT_TIMEOUT_MS;
    int rc = 1;
    json_t *t = cdp_call(c, NULL, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"),
                         deadline);
    json_t *a = t ? cdp_call(c, NULL, "Target.attachToTarget",
                             json_pack("{s:O, s:b}", "targetId", json_object_get(t, "targetId"),
                                       "flatten", 1),
                             deadline)
                  : NULL;
    const char *session = a ? json_string_value(json_object_get(a, "sessionId")) : NULL;
    json_t *ck = session ? cdp_call(c, NULL, "Storage.setCookies",
                                    json_pack("{s:[{s:s, s:s, s:s, s:b, s:b, s:s}]}", "cookies",
                                              "name", COOKIE_NAME, "value", j->sid, "url", j->base,
                                              "secure", 1, "httpOnly", 1, "sameSite", "Strict"),
                                    deadline)
                         : NULL;
    char url[1024];
    snprintf(url, sizeof url, "%s#/report/%s?year=%s&term=%s", j->base, j->urn ? j->urn : "trust",
             j->year, j->term);
    json_t *nav =
        ck ? cdp_call(c, session, "Page.navigate", json_pack("{s:s}", "url", url), deadline) : NULL;
    const char *ready = "";
    json_t *ev = NULL;
    while (nav && strcmp(ready, "report") != 0 && strcmp(ready, "signin") != 0 &&
           ms_now() < deadline) {
        usleep(100000);
        json_decref(ev);
        ev = cdp_call(c, session, "Runtime.evaluate",
                      json_pack("{s:s, s:b}", "expression",
                                "(document.querySelector('main') || {dataset: {}}).dataset.ready "
                                "|| ''",
                                "returnByValue", 1),
                      deadline);
        ready =
            ev ? json_string_value(json_object_get(json_object_get(ev, "result"), "value")) : NULL;
        if (!ready)
            ready = "";
    }
    if (strcmp(ready, "report") != 0) {
        fprintf(stderr, "matctl report: the report page did not render (%s)\n",
                *ready ? "the session was refused" : "timed out");
    } else {
        json_t *pdf = cdp_call(
            c, session, "Page.printToPDF",
            json_pack("{s:b, s:b}", "printBackground", 1, "preferCSSPageSize", 1), deadline);
        const char *b64 = pdf ? json_string_value(json_object_get(pdf, "data")) : NULL;
        if (b64) {
            size_t n = strlen(b64);
            unsigned char *bytes = xmalloc(n / 4 * 3 + 4);
            int len = EVP_DecodeBlock(bytes, (const unsigned char *)b64, (int)n);
            while (len > 0 && n > 0 && b64[--n] == '=') /* DecodeBlock counts the padding */
                len--;
            FILE *f = fopen(j->pdf, "wb");
            if (f && len > 0 && fwrite(bytes, 1, (size_t)len, f) == (size_t)len && fclose(f) == 0) {
                fprintf(stderr, "matctl report: wrote %s (%d bytes)\n", j->pdf, len);
                rc = 0;
            } else {
                fprintf(stderr, "matctl report: cannot write %s\n", j->pdf);
                if (f)
                    fclose(f);
            }
            free(bytes);
        }
        json_decref(pdf);
    }
    json_decref(ev);
    json_decref(nav);
    json_decref(ck);
    json_decref(a);
    json_decref(t);
    return rc;
}

/* Starts chromium with the DevTools pipe on its fds 3 (in) and 4 (out). */
static pid_t start_chromium(const char *path, const char *spki, const char *profile, struct cdp *c)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 3);
        dup2(out[1], 4);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        char spki_arg[128], profile_arg[512];
        snprintf(spki_arg, sizeof spki_arg, "--ignore-certificate-errors-spki-list=%s", spki);
        snprintf(profile_arg, sizeof profile_arg, "--user-data-dir=%s", profile);
        execl(path, path, "--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", "--remote-debugging-pipe", spki_arg, profile_arg, "about:blank",
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
    return pid;
}

int report_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv)
{
    static const struct option opts[] = {
        {"school", required_argument, NULL, 's'}, {"year", required_argument, NULL, 'y'},
        {"term", required_argument, NULL, 't'},   {"pdf", required_argument, NULL, 'p'},
        {"url", required_argument, NULL, 'u'},    {"chromium", required_argument, NULL, 'c'},
        {"trust", no_argument, NULL, 'T'},        {NULL, 0, NULL, 0}};
    bool trust_report = false;
    const char *urn = NULL, *year = NULL, *term = NULL, *pdf = NULL, *url = NULL;
    const char *chromium = "/usr/bin/chromium";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char **slot[] = {['s'] = &urn, ['y'] = &year, ['t'] = &term,
                               ['p'] = &pdf, ['u'] = &url,  ['c'] = &chromium};
        if (opt == 'T')
            trust_report = true;
        else if (opt < (int)(sizeof slot / sizeof slot[0]) && slot[opt])
            *slot[opt] = optarg;
        else
            return 2;
    }
    if (trust_report == (urn != NULL) || (urn && !urn_valid(urn)) || !academic_year_valid(year) ||
        term_index(term) < 0 || !pdf) {
        fprintf(stderr, "matctl report: needs --school URN (six digits) or --trust, --year "
                        "2025-26, --term autumn|spring|summer and --pdf FILE\n");
        return 2;
    }
    char base[256], spki[64];
    if (url)
        snprintf(base, sizeof base, "%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/");
    else
        snprintf(base, sizeof base, "https://localhost:%d/", cfg->listen_port);
    if (server_spki(cfg->tls_cert, spki) != 0) {
        fprintf(stderr, "matctl report: cannot read the server certificate %s\n", cfg->tls_cert);
        return 1;
    }
    char sid[65];
    long long token_id = make_session(pg, trust_id, urn, sid);
    if (token_id < 0) {
        fprintf(stderr, "matctl report: no school %s in this trust\n", urn ? urn : "-");
        return 1;
    }
    char profile[] = "/tmp/matctl-report.XXXXXX";
    struct cdp c = {0};
    pid_t pid = mkdtemp(profile) ? start_chromium(chromium, spki, profile, &c) : -1;
    int rc = 1;
    if (pid > 0) {
        signal(SIGPIPE, SIG_IGN);
        struct print_job j = {base, urn, year, term, pdf, sid};
        rc = print_report(&c, &j);
        json_decref(cdp_call(&c, NULL, "Browser.close", NULL, ms_now() + 5000));
        close(c.to);
        close(c.from);
        int status;
        if (waitpid(pid, &status, WNOHANG) == 0) {
            usleep(500000);
            if (waitpid(pid, &status, WNOHANG) == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
            }
        }
    } else {
        fprintf(stderr, "matctl report: cannot start %s\n", chromium);
    }
    end_session(pg, trust_id, token_id);
    free(c.buf);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", profile);
    if (strncmp(profile, "/tmp/matctl-report.", 19) == 0 && system(rm) != 0)
        fprintf(stderr, "matctl report: could not remove %s\n", profile);
    return rc;
}
