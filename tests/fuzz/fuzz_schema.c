/* Fuzzes the strict body parser and the validator with every schema of proto/schemas
 * (first byte even), and the schema compiler itself (first byte odd: the rest is a
 * schema named t.json, validated against the SPEC bodies and itself when it loads). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct schema_registry *reg;

static const char *const bodies[] = {
    "{\"urn\": \"100001\", \"name\": \"Claremont Primary\", \"phase\": \"primary\"}",
    "{\"framework\": \"ofsted_2025\", \"safeguarding\": \"met\", \"areas\": {\"achievement\": "
    "{\"grade\": \"needs_attention\"}}}",
    "{\"records\": [{\"pupil\": \"B801200005001\", \"year_group\": \"6\", \"subject\": "
    "\"writing\", \"band\": \"towards\", \"score\": null}]}",
    "[1, \"x\", null, true, 2.5, {\"a\": []}]",
};

static void validate_all(const struct schema_registry *r, json_t *doc)
{
    for (const struct embedded_file *f = schemas_files; f->name; f++) {
        struct mat_errors errs;
        mat_errors_init(&errs);
        int rc = schema_validate(r, f->name, doc, &errs);
        if ((rc == 0) != (errs.count == 0 && errs.dropped == 0))
            abort(); /* the verdict and the error list must agree */
        for (size_t i = 0; i < errs.count; i++) {
            const struct mat_error *e = &errs.items[i];
            /* errors end up in a problem+json document: UTF-8, with a message */
            if (!e->message[0] || !schema_utf8_valid(e->path, strlen(e->path), NULL) ||
                !schema_utf8_valid(e->message, strlen(e->message), NULL))
                abort();
        }
        mat_errors_free(&errs);
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
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] % 2 == 0) {
        struct mat_errors errs;
        mat_errors_init(&errs);
        json_t *doc = NULL;
        if (schema_parse_body(text, len, &doc, &errs) == 0) {
            if (errs.count)
                abort();
            validate_all(reg, doc);
            json_decref(doc);
        } else if (doc || errs.count != 1 ||
                   !schema_utf8_valid(errs.items[0].message, strlen(errs.items[0].message), NULL)) {
            abort();
        }
        mat_errors_free(&errs);
        return 0;
    }
    char *copy = malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct embedded_file files[] = {{"t.json", copy, len}, {0, 0, 0}};
    char err[512];
    struct schema_registry *r = schema_registry_load(files, err, sizeof err);
    if (r) {
        for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
            json_t *doc = json_loads(bodies[i], 0, NULL);
            struct mat_errors errs;
            mat_errors_init(&errs);
            schema_validate(r, "t.json", doc, &errs);
            mat_errors_free(&errs);
            json_decref(doc);
        }
        json_t *self = json_loadb(copy, len, 0, NULL);
        if (self) {
            struct mat_errors errs;
            mat_errors_init(&errs);
            schema_validate(r, "t.json", self, &errs);
            mat_errors_free(&errs);
            json_decref(self);
        }
        schema_registry_free(r);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    free(copy);
    return 0;
}
