/* Fuzzes the progress push parser (JSON, CSV or CTF: PROGRESS_PARSER names the function). Checks
 * the contract: a success has no errors and a COPY line per record; a failure has errors and no
 * records; the COPY text written as records pass equals the text of the final set. For JSON
 * (FUZZ_JSON_TWO_WAYS) the member-wise fast path and the full per-record validation agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctf.h"
#include "embedded.h"
#include "progress_parse.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_CTF
/* The CTF reader, for the academic year the seed files carry. */
static enum progress_result parse_ctf(const char *buf, size_t len,
                                      const struct progress_parse_opts *o, struct progress_set *s,
                                      struct mat_errors *e)
{
    return progress_parse_ctf(buf, len, o, "2025-26", s, e);
}
#endif

static struct schema_registry *reg;

/* Errors end up in a problem+json document: they must be UTF-8, with a message. */
static void check_errors(const struct mat_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        const struct mat_error *e = &errs->items[i];
        if (!e->message[0] || !schema_utf8_valid(e->path, strlen(e->path), NULL) ||
            !schema_utf8_valid(e->message, strlen(e->message), NULL))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reg) {
        char err[256];
        reg = schema_registry_load(schemas_files, err, sizeof err);
        if (!reg)
            abort();
    }
    static const unsigned char secret[] = "fuzz-secret";
    struct strbuf streamed;
    strbuf_init(&streamed);
    struct progress_parse_opts o = {.secret = secret,
                                    .secret_len = sizeof secret - 1,
                                    .max_records = 500,
                                    .registry = reg,
                                    .copy = &streamed,
                                    .copy_prefix = "1\t100001\t2025-26\tautumn\t"};
    struct progress_set s;
    struct mat_errors errs;
    mat_errors_init(&errs);
    enum progress_result rc = PROGRESS_PARSER((const char *)data, size, &o, &s, &errs);
    if (rc == PROGRESS_OK) {
        if (errs.count || errs.dropped || s.count > 500)
            abort();
        struct strbuf sb;
        strbuf_init(&sb);
        progress_records_to_copy(&s, "1\t100001\t2025-26\tautumn\t", &sb);
        size_t lines = 0;
        for (size_t i = 0; i < sb.len; i++)
            lines += sb.data[i] == '\n';
        if (lines != s.count)
            abort();
        /* the COPY text written as records passed equals the text of the final set */
        if (streamed.len != sb.len || (sb.len && memcmp(streamed.data, sb.data, sb.len) != 0))
            abort();
        strbuf_free(&sb);
    } else if (errs.count == 0 || s.records || s.count) {
        abort();
    }
    check_errors(&errs);
#ifdef FUZZ_JSON_TWO_WAYS
    /* Every record built and validated in full must give the very same answer as the
     * member-wise fast path: result, errors in order, COPY text. */
    struct strbuf full_copy;
    strbuf_init(&full_copy);
    struct progress_parse_opts full = o;
    full.copy = &full_copy;
    full.json_tree_per_record = true;
    struct progress_set s2;
    struct mat_errors errs2;
    mat_errors_init(&errs2);
    if (PROGRESS_PARSER((const char *)data, size, &full, &s2, &errs2) != rc ||
        errs2.count != errs.count || errs2.dropped != errs.dropped || s2.count != s.count)
        abort();
    for (size_t i = 0; i < errs.count; i++)
        if (strcmp(errs.items[i].path, errs2.items[i].path) != 0 ||
            strcmp(errs.items[i].message, errs2.items[i].message) != 0)
            abort();
    if (rc == PROGRESS_OK &&
        (full_copy.len != streamed.len || memcmp(full_copy.data, streamed.data, streamed.len) != 0))
        abort();
    strbuf_free(&full_copy);
    progress_set_free(&s2);
    mat_errors_free(&errs2);
#endif
    strbuf_free(&streamed);
    progress_set_free(&s);
    mat_errors_free(&errs);
    return 0;
}
