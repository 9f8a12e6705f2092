/* Bounded list of input errors with the path of each bad field. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "util.h"

void mat_errors_init(struct mat_errors *e)
{
    e->items = NULL;
    e->count = e->dropped = 0;
}

void mat_errors_free(struct mat_errors *e)
{
    for (size_t i = 0; i < e->count; i++) {
        free(e->items[i].path);
        free(e->items[i].message);
    }
    free(e->items);
    mat_errors_init(e);
}

void mat_errors_add(struct mat_errors *e, const char *path, const char *fmt, ...)
{
    if (e->count >= MAT_ERRORS_MAX) {
        e->dropped++;
        return;
    }
    if (!e->items)
        e->items = xcalloc(MAT_ERRORS_MAX, sizeof *e->items);
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = xstrdup("invalid");
    va_end(ap);
    e->items[e->count].path = xstrdup(path ? path : "");
    e->items[e->count].message = msg;
    e->count++;
}

char *json_pointer_join(const char *base, const char *token)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, base ? base : "");
    strbuf_puts(&sb, "/");
    for (const char *p = token; *p; p++) {
        if (*p == '~')
            strbuf_puts(&sb, "~0");
        else if (*p == '/')
            strbuf_puts(&sb, "~1");
        else
            strbuf_append(&sb, p, 1);
    }
    return strbuf_detach(&sb, NULL);
}
