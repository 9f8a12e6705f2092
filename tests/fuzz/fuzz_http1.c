/* Fuzzes what every client sends first: the request head (then its query string), and a
 * chunked body fed in pieces of every size. Nothing read outside the input, every string
 * handed back inside the parsed copy and terminated, the decoder always moving on. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *s, const char *buf, size_t len)
{
    if (s < buf || s >= buf + len || !memchr(s, '\0', (size_t)(buf + len - s)))
        abort();
}

static void fuzz_head(const char *in, size_t size)
{
    size_t end = http1_head_end(in, size);
    if (end == 0)
        return;
    char *text = xmalloc(end);
    memcpy(text, in, end);
    size_t max = http1_max_fields(text, end);
    struct http1_field *fields = xcalloc(max + 1, sizeof *fields);
    struct http1_head h;
    http1_parse_head(text, end, &h, fields, (int)max);
    if (h.nfields > (int)max)
        abort();
    for (int i = 0; i < h.nfields; i++) {
        inside(h.fields[i].name, text, end);
        inside(h.fields[i].value, text, end);
    }
    if (!h.bad) {
        inside(h.method, text, end);
        if (strcmp(h.path, "/") != 0) /* an absolute form without a path: a constant "/" */
            inside(h.path, text, end);
        if (h.query) {
            inside(h.query, text, end);
            char *q = xstrdup(h.query);
            struct http1_field kv[16];
            int n = http1_query_split(q, kv, 16);
            for (int i = 0; i < n; i++) {
                inside(kv[i].name, q, strlen(h.query) + 1);
                inside(kv[i].value, q, strlen(h.query) + 1);
            }
            free(q);
        }
    }
    free(fields);
    free(text);
}

static void fuzz_chunked(const char *in, size_t size, size_t step)
{
    struct http1_chunked st = {0};
    size_t at = 0, body = 0;
    while (at < size && !st.bad && !http1_chunked_done(&st)) {
        size_t n = size - at < step ? size - at : step;
        const char *data;
        size_t len;
        size_t used = http1_chunked_feed(&st, in + at, n, &data, &len);
        if (used > n || (used == 0 && !st.bad && !http1_chunked_done(&st)))
            abort(); /* overran, or stalled */
        if (len && (data < in + at || data + len > in + at + used))
            abort();
        body += len;
        at += used;
    }
    if (body > size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    fuzz_head(in, size);
    size_t step = size ? (size_t)data[0] % 17 + 1 : 1;
    fuzz_chunked(in, size, step);
    fuzz_chunked(in, size, size ? size : 1);
    return 0;
}
