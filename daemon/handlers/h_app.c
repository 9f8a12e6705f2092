/* The web app (issue 15): GET / serves the page shell, GET /app/{version}/{file} its
 * scripts and styles, all compiled into matd from web/app (cmake/web_assets.cmake) with
 * a gzip variant made at build time. The version is a hash of every file, so an asset's
 * URL names its content and is cached for a year; the shell is revalidated by ETag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "embedded.h"
#include "handlers.h"
#include "rendered.h"
#include "util.h"

extern const struct embedded_file web_files[];
extern const size_t web_count;
extern const struct embedded_file web_gz_files[];
extern const size_t web_gz_count;

/* Nothing from another host, no inline script or style, no framing, no plugins. */
#define APP_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "form-action 'self'; frame-ancestors 'none'"
#define APP_VERSION_LEN 12

static char version[APP_VERSION_LEN + 1];
static char *shell;
static size_t shell_len;

static const struct embedded_file *find(const struct embedded_file *files, size_t n,
                                        const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* The shell with every "{{V}}" replaced by the version. Returns owned. */
static char *render_shell(const char *tmpl, size_t *len)
{
    struct strbuf sb;
    strbuf_init(&sb);
    for (const char *p = tmpl; *p;) {
        const char *mark = strstr(p, "{{V}}");
        if (!mark) {
            strbuf_puts(&sb, p);
            break;
        }
        strbuf_append(&sb, p, (size_t)(mark - p));
        strbuf_puts(&sb, version);
        p = mark + 5;
    }
    return strbuf_detach(&sb, len);
}

void h_app_init(void)
{
    struct strbuf all;
    strbuf_init(&all);
    for (size_t i = 0; i < web_count; i++) {
        strbuf_puts(&all, web_files[i].name);
        strbuf_append(&all, "", 1);
        strbuf_append(&all, web_files[i].data, web_files[i].len);
    }
    char hex[65];
    sha256_hex(all.data, all.len, hex);
    strbuf_free(&all);
    memcpy(version, hex, APP_VERSION_LEN);
    version[APP_VERSION_LEN] = '\0';
    const struct embedded_file *index = find(web_files, web_count, "index.html");
    if (!index)
        fatal("the web app has no index.html (web/app)");
    shell = render_shell(index->data, &shell_len);
}

static void security_headers(struct req *r)
{
    req_set_header(r, "Content-Security-Policy", APP_CSP);
    req_set_header(r, "Referrer-Policy", "no-referrer");
    req_set_header(r, "X-Frame-Options", "DENY");
    req_set_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    req_set_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    req_set_header(r, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

void h_app_index(struct req *r)
{
    security_headers(r);
    req_set_header(r, "Cache-Control", "no-cache");
    req_reply_bytes(r, 200, "text/html; charset=utf-8", shell, shell_len);
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"},    {".css", "text/css; charset=utf-8"},
        {".html", "text/html; charset=utf-8"},        {".svg", "image/svg+xml"},
        {".json", "application/json; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

void h_app_asset(struct req *r)
{
    const char *v = req_param(r, "version");
    const char *name = req_param(r, "file");
    const struct embedded_file *f = find(web_files, web_count, name);
    security_headers(r);
    if (strcmp(v, version) != 0 || !f || strcmp(name, "index.html") == 0) {
        req_reply_problem(r, 404, "no such file in this version of the web app", NULL);
        return;
    }
    req_set_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    req_set_header(r, "Vary", "Accept-Encoding");
    const struct embedded_file *gz = find(web_gz_files, web_gz_count, name);
    if (gz && gz->len < f->len && rendered_accepts(req_header(r, "Accept-Encoding"), "gzip")) {
        req_set_header(r, "Content-Encoding", "gzip");
        f = gz;
    }
    req_reply_bytes(r, 200, content_type(name), f->data, f->len);
}
