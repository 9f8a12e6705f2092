/* Reading a JSON progress push (progress_parse_json, declared in progress_parse.h) as a
 * stream: the records array one record at a time through json_stream, each record checked
 * member by member from its tokens when the schema allows a certain answer, else built alone
 * and validated in full; the rules beyond the schema are progress_rules.h's. */
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "progress_parse.h"
#include "progress_rules.h"
#include "schema.h"
#include "util.h"

static void jrec_from_tree(json_t *rec, struct progress_jrec *r)
{
    for (int f = 0; f < PROGRESS_F_COUNT; f++) {
        json_t *v = json_object_get(rec, progress_field_name((enum progress_field)f));
        struct progress_jval *jv = &r->v[f];
        memset(jv, 0, sizeof *jv);
        if (!v)
            jv->kind = PROGRESS_JK_ABSENT;
        else if (json_is_null(v))
            jv->kind = PROGRESS_JK_NULL;
        else if (json_is_boolean(v))
            jv->kind = PROGRESS_JK_BOOL, jv->b = json_is_true(v);
        else if (json_is_number(v))
            jv->kind = PROGRESS_JK_NUMBER, jv->num = json_number_value(v);
        else if (json_is_string(v))
            jv->kind = PROGRESS_JK_STRING, jv->s = json_string_value(v),
            jv->len = json_string_length(v);
        else
            jv->kind = PROGRESS_JK_OTHER;
    }
}

/* The field named exactly s[0..len) (JSON keys are case-sensitive), or -1. */
static int field_exact(const char *s, size_t len)
{
    for (int k = 0; k < PROGRESS_F_COUNT; k++)
        if (strlen(progress_field_name((enum progress_field)k)) == len &&
            memcmp(progress_field_name((enum progress_field)k), s, len) == 0)
            return k;
    return -1;
}

/* The body cannot be read as a JSON object. jansson names the problem, as for every other
 * JSON route, so the client sees the message it always has; only a refused body pays for
 * this second reading. */
static enum progress_result json_malformed(const char *buf, size_t len, const char *why,
                                           struct mat_errors *errs)
{
    json_t *doc = NULL;
    size_t before = errs->count + errs->dropped;
    if (schema_parse_body(buf, len, &doc, errs) == 0)
        json_decref(doc); /* the readers disagree: the fuzz target exists to prevent it */
    if (errs->count + errs->dropped == before)
        mat_errors_add(errs, "", "malformed JSON: %s", why);
    return PROGRESS_MALFORMED;
}

struct jctx {
    struct progress_ctx *p;
    struct json_stream js;
    const struct schema_registry *registry;
    const struct schema_node *items; /* the record schema, when member-wise checks apply */
    size_t guess[64];                /* the property index of the k-th member last time */
    struct json_stream_mark mark;    /* before the record being read */
    size_t nrecords, max;
    struct mat_errors rec_errs; /* the records' own, in record order */
};

/* One member's value as a scalar for the schema's member check, and as the rules read it;
 * false for an object or array. Strings decoded into the stream's scratch are copied into
 * text (they last only until the next token). */
static bool fast_value(const struct json_stream *js, enum json_tok t, struct schema_scalar *sc,
                       struct progress_jval *jv, char *text, size_t *used, size_t cap)
{
    memset(sc, 0, sizeof *sc);
    memset(jv, 0, sizeof *jv);
    switch (t) {
    case JSON_TOK_NULL:
        sc->type = SCHEMA_SCALAR_NULL, jv->kind = PROGRESS_JK_NULL;
        return true;
    case JSON_TOK_TRUE:
    case JSON_TOK_FALSE:
        sc->type = SCHEMA_SCALAR_BOOL, jv->kind = PROGRESS_JK_BOOL;
        sc->boolean = jv->b = t == JSON_TOK_TRUE;
        return true;
    case JSON_TOK_INTEGER:
        sc->type = SCHEMA_SCALAR_INTEGER, jv->kind = PROGRESS_JK_NUMBER;
        sc->integer = js->integer;
        jv->num = (double)js->integer;
        return true;
    case JSON_TOK_REAL:
        sc->type = SCHEMA_SCALAR_REAL, jv->kind = PROGRESS_JK_NUMBER;
        sc->real = jv->num = js->real;
        return true;
    case JSON_TOK_STRING:
        sc->type = SCHEMA_SCALAR_STRING, jv->kind = PROGRESS_JK_STRING;
        sc->str = jv->s = js->str;
        sc->len = jv->len = js->str_len;
        if (js->str == js->scratch) {
            if (*used + js->str_len > cap)
                return false;
            memcpy(text + *used, js->str, js->str_len);
            sc->str = jv->s = text + *used;
            *used += js->str_len;
        }
        return true;
    default:
        return false;
    }
}

/* The common case without building anything: a record of scalar members, each surely valid
 * by the record schema, checked by the rules straight from the tokens. False (nothing
 * reported, the stream to be rewound) whenever it cannot be sure: then the record is built
 * and validated in full, which names every error exactly. */
static bool fast_record(struct jctx *j, size_t i)
{
    struct progress_jrec rec;
    for (int f = 0; f < PROGRESS_F_COUNT; f++)
        rec.v[f] = (struct progress_jval){.kind = PROGRESS_JK_ABSENT};
    bool seen[64] = {false};
    char text[1024], key[64];
    size_t used = 0;
    for (size_t k = 0;; k++) {
        enum json_tok t = json_stream_next(&j->js);
        if (t == JSON_TOK_OBJECT_END)
            break;
        if (t != JSON_TOK_KEY || j->js.str_len >= sizeof key || k >= ARRAY_LEN(j->guess))
            return false;
        size_t klen = j->js.str_len, idx = j->guess[k];
        memcpy(key, j->js.str, klen);
        struct schema_scalar sc;
        struct progress_jval jv;
        t = json_stream_next(&j->js);
        if (!fast_value(&j->js, t, &sc, &jv, text, &used, sizeof text) ||
            !schema_member_surely_ok(j->items, key, klen, &sc, &idx) || seen[idx])
            return false;
        seen[idx] = true;
        j->guess[k] = idx;
        int f = klen < 32 ? field_exact(key, klen) : -1;
        if (f >= 0)
            rec.v[f] = jv;
    }
    if (!schema_object_surely_ok(j->items, seen))
        return false;
    progress_json_rules(j->p, &rec, i, &j->rec_errs);
    return true;
}

/* The records array, one record at a time: each is built alone (a dozen fields), checked
 * against the record schema and the rules beyond it, keyed, and dropped. Records past the
 * limit are read (the syntax must hold to the end) but not checked. */
static bool json_records(struct jctx *j)
{
    for (;;) {
        json_stream_mark(&j->js, &j->mark);
        enum json_tok t = json_stream_next(&j->js);
        if (t == JSON_TOK_ARRAY_END)
            return true;
        size_t i = j->nrecords++;
        if (t == JSON_TOK_OBJECT && i < j->max && j->items && fast_record(j, i))
            continue;
        if (t == JSON_TOK_OBJECT && i < j->max && j->items) { /* read it again, built */
            json_stream_rewind(&j->js, &j->mark);
            t = json_stream_next(&j->js);
        }
        json_t *rec;
        if (json_stream_build(&j->js, t, &rec) != 0)
            return false;
        if (i < j->max) {
            schema_validate_item(j->registry, "progress.json", "records", i, rec, &j->rec_errs);
            if (json_is_object(rec)) {
                struct progress_jrec jr;
                jrec_from_tree(rec, &jr);
                progress_json_rules(j->p, &jr, i, &j->rec_errs);
            }
        }
        json_decref(rec);
    }
}

/* The top-level object: "records" streamed, any other member built into shell (checked
 * against the schema's top level afterwards, with "records" standing as an empty array). */
static bool json_document(struct jctx *j, json_t *shell)
{
    for (;;) {
        enum json_tok t = json_stream_next(&j->js);
        if (t == JSON_TOK_OBJECT_END)
            return json_stream_next(&j->js) == JSON_TOK_END;
        if (t != JSON_TOK_KEY || json_object_getn(shell, j->js.str, j->js.str_len))
            return false; /* a syntax error, or a repeated key */
        char *key = xstrndup(j->js.str, j->js.str_len);
        size_t klen = j->js.str_len;
        t = json_stream_next(&j->js);
        json_t *v = NULL;
        bool ok;
        if (klen == 7 && memcmp(key, "records", 7) == 0 && t == JSON_TOK_ARRAY) {
            v = json_array();
            ok = json_records(j);
        } else {
            ok = json_stream_build(&j->js, t, &v) == 0;
        }
        if (v)
            json_object_setn_new_nocheck(shell, key, klen, v);
        free(key);
        if (!ok)
            return false;
    }
}

enum progress_result progress_parse_json(const char *buf, size_t len,
                                         const struct progress_parse_opts *opts,
                                         struct progress_set *out, struct mat_errors *errs)
{
    out->records = NULL;
    out->origin = NULL;
    out->count = out->cap = 0;
    size_t bom = utf8_bom_len(buf, len); /* as schema_parse_body */
    const char *doc = buf + bom;
    size_t dlen = len - bom;
    size_t bad_at;
    if (!schema_utf8_valid(doc, dlen, &bad_at))
        return json_malformed(buf, len, "not UTF-8", errs);
    struct jctx *j = xcalloc(1, sizeof *j);
    j->registry = opts->registry;
    j->items = opts->json_tree_per_record
                   ? NULL
                   : schema_items_of(opts->registry, "progress.json", "records");
    j->max = opts->max_records ? opts->max_records : PROGRESS_MAX_RECORDS_DEFAULT;
    mat_errors_init(&j->rec_errs);
    j->p = progress_ctx_new(opts, out);
    json_stream_init(&j->js, doc, dlen);
    json_t *shell = json_object();
    bool read = json_stream_next(&j->js) == JSON_TOK_OBJECT && json_document(j, shell);
    enum progress_result rc = PROGRESS_OK;
    if (!read) {
        rc = json_malformed(buf, len, j->js.error, errs);
    } else if (j->nrecords > j->max) {
        mat_errors_add(errs, "/records", "the push has %zu records; the limit is %zu", j->nrecords,
                       j->max);
        rc = PROGRESS_INVALID;
    } else {
        /* The body's own errors first (an unknown member, no records), then the records'. */
        bool bad = schema_validate(opts->registry, "progress.json", shell, errs) != 0;
        bad = bad || j->rec_errs.count || j->rec_errs.dropped;
        for (size_t i = 0; i < j->rec_errs.count; i++)
            mat_errors_add(errs, j->rec_errs.items[i].path, "%s", j->rec_errs.items[i].message);
        errs->dropped += j->rec_errs.dropped;
        if (!bad && j->nrecords == 0 && !opts->allow_empty) {
            mat_errors_add(errs, "/records", PROGRESS_EMPTY_PUSH);
            bad = true;
        }
        if (bad)
            rc = PROGRESS_INVALID;
    }
    json_decref(shell);
    json_stream_free(&j->js);
    progress_ctx_free(j->p);
    mat_errors_free(&j->rec_errs);
    free(j);
    if (rc != PROGRESS_OK)
        progress_set_free(out);
    return rc;
}
