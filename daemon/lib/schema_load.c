/* The schema loader: compiles the JSON Schemas of proto/schemas/ (embedded in the binary)
 * into the node tree of schema_tree.h once at start-up, refusing any keyword, reference
 * or combination the validator would not honour. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_tree.h"
#include "util.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT}, {"array", T_ARRAY},
    {"number", T_NUMBER}, {"integer", T_INTEGER}, {"string", T_STRING},
};

struct loader {
    struct schema_registry *reg;
    const char *file;
    json_t *doc;
    struct def *defs;
    size_t ndefs;
    struct snode **refs; /* nodes of this file with a $ref to resolve */
    size_t nrefs;
    char *err;
    size_t errlen;
    bool failed;
};

static void load_error(struct loader *L, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void load_error(struct loader *L, const char *where, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "schema %s#%s: %s", L->file, where, msg);
}

static struct snode *node_new(struct loader *L, const char *where)
{
    struct schema_registry *reg = L->reg;
    struct snode *n = xcalloc(1, sizeof *n);
    n->min_props = n->max_props = n->min_items = n->max_items = -1;
    n->min_len = n->max_len = -1;
    n->where = xstrdup(where);
    if (reg->nnodes == reg->capnodes) {
        reg->capnodes = reg->capnodes ? 2 * reg->capnodes : 64;
        reg->nodes = xrealloc(reg->nodes, reg->capnodes * sizeof *reg->nodes);
    }
    reg->nodes[reg->nnodes++] = n;
    return n;
}

static struct snode *compile(struct loader *L, json_t *s, const char *where, bool root);

static struct snode *compile_child(struct loader *L, json_t *s, const char *where,
                                   const char *token)
{
    char *w = json_pointer_join(where, token);
    struct snode *n = compile(L, s, w, false);
    free(w);
    return n;
}

static bool nonneg_int(json_t *v, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
        return false;
    *out = (long)json_integer_value(v);
    return true;
}

int schema_prop_cmp(const void *a, const void *b)
{
    return strcmp(((const struct prop *)a)->name, ((const struct prop *)b)->name);
}

static struct snode **compile_list(struct loader *L, json_t *v, const char *where, const char *kw,
                                   size_t *n)
{
    char *w = json_pointer_join(where, kw);
    struct snode **list = NULL;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        load_error(L, w, "%s must be a non-empty array of schemas", kw);
    } else {
        *n = json_array_size(v);
        list = xcalloc(*n, sizeof *list);
        for (size_t i = 0; i < *n && !L->failed; i++) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            list[i] = compile_child(L, json_array_get(v, i), w, idx);
        }
    }
    free(w);
    return list;
}

static void compile_pattern(struct loader *L, struct snode *n, json_t *v, const char *where)
{
    if (!json_is_string(v)) {
        load_error(L, where, "pattern must be a string");
        return;
    }
    char buf[128];
    n->pattern = schema_pattern_compile(json_string_value(v), buf, sizeof buf);
    if (!n->pattern)
        load_error(L, where, "pattern \"%s\" does not compile: %s", json_string_value(v), buf);
}

/* Type-specific keywords that can never apply under the node's "type" are a schema bug. */
static void lint_node(struct loader *L, struct snode *n, json_t *s, const char *where)
{
    static const struct {
        const char *kw;
        unsigned types;
    } family[] = {
        {"properties", T_OBJECT},
        {"required", T_OBJECT},
        {"additionalProperties", T_OBJECT},
        {"propertyNames", T_OBJECT},
        {"minProperties", T_OBJECT},
        {"maxProperties", T_OBJECT},
        {"items", T_ARRAY},
        {"minItems", T_ARRAY},
        {"maxItems", T_ARRAY},
        {"uniqueItems", T_ARRAY},
        {"minLength", T_STRING},
        {"maxLength", T_STRING},
        {"pattern", T_STRING},
        {"format", T_STRING},
        {"minimum", T_NUMBER | T_INTEGER},
        {"maximum", T_NUMBER | T_INTEGER},
        {"exclusiveMinimum", T_NUMBER | T_INTEGER},
        {"exclusiveMaximum", T_NUMBER | T_INTEGER},
    };
    if (n->types)
        for (size_t i = 0; i < ARRAY_LEN(family); i++)
            if (json_object_get(s, family[i].kw) && !(n->types & family[i].types))
                load_error(L, where, "%s has no effect: the type excludes it", family[i].kw);
    if ((n->then_ || n->else_) && !n->if_)
        load_error(L, where, "then/else without if");
    if (n->additional == ADD_FORBID)
        for (size_t i = 0; i < n->nrequired; i++) {
            struct prop key = {n->required[i], NULL};
            if (!n->nprops ||
                !bsearch(&key, n->props, n->nprops, sizeof *n->props, schema_prop_cmp))
                load_error(L, where, "required \"%s\" is not among the allowed properties",
                           n->required[i]);
        }
    if ((n->min_len >= 0 && n->max_len >= 0 && n->min_len > n->max_len) ||
        (n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items) ||
        (n->min_props >= 0 && n->max_props >= 0 && n->min_props > n->max_props) ||
        ((n->numflags & NUM_MIN) && (n->numflags & NUM_MAX) && n->minimum > n->maximum))
        load_error(L, where, "a lower bound exceeds its upper bound");
    if (n->unique_items && (n->max_items < 0 || n->max_items > SCHEMA_MAX_UNIQUE_ITEMS))
        load_error(L, where, "uniqueItems needs maxItems <= %d", SCHEMA_MAX_UNIQUE_ITEMS);
}

/* One keyword of a schema object: L, the node being built, the keyword's value, the
 * node's location (where), the keyword's location (w), and whether this is the root. */
struct kw_ctx {
    struct loader *L;
    struct snode *n;
    const char *k;
    json_t *v;
    const char *where, *w;
    bool root;
};

static void kw_schema(const struct kw_ctx *c)
{
    if (!c->root || !json_is_string(c->v) || strcmp(json_string_value(c->v), DRAFT_2020_12) != 0)
        load_error(c->L, c->w, "$schema must be \"%s\", at the root only", DRAFT_2020_12);
}

static void kw_id(const struct kw_ctx *c)
{
    if (!c->root || !json_is_string(c->v) || strcmp(json_string_value(c->v), c->L->file) != 0)
        load_error(c->L, c->w, "$id must equal the file name \"%s\", at the root only", c->L->file);
}

static void kw_defs(const struct kw_ctx *c)
{
    if (!c->root || !json_is_object(c->v))
        load_error(c->L, c->w, "$defs must be an object, at the root only");
    /* compiled by load_one before the root */
}

static void kw_description(const struct kw_ctx *c)
{
    if (!json_is_string(c->v))
        load_error(c->L, c->w, "description must be a string");
    else
        c->n->description = xstrdup(json_string_value(c->v));
}

static void kw_annotation(const struct kw_ctx *c)
{
    (void)c; /* no effect on validation */
}

static void kw_type(const struct kw_ctx *c)
{
    json_t *list = json_is_string(c->v) ? json_pack("[O]", c->v) : json_incref(c->v);
    if (!json_is_array(list) || json_array_size(list) == 0)
        load_error(c->L, c->w, "type must be a type name or a non-empty array of them");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        unsigned bit = 0;
        for (size_t j = 0; j < ARRAY_LEN(type_names); j++)
            if (json_is_string(t) && strcmp(json_string_value(t), type_names[j].name) == 0)
                bit = type_names[j].bit;
        if (!bit || (c->n->types & bit))
            load_error(c->L, c->w, "unknown or repeated type name");
        c->n->types |= bit;
    }
    json_decref(list);
}

static void kw_properties(const struct kw_ctx *c)
{
    struct snode *n = c->n;
    if (!json_is_object(c->v)) {
        load_error(c->L, c->w, "properties must be an object");
        return;
    }
    n->nprops = json_object_size(c->v);
    n->props = xcalloc(n->nprops, sizeof *n->props);
    size_t i = 0;
    const char *pk;
    json_t *pv;
    json_object_foreach(c->v, pk, pv)
    {
        n->props[i].name = xstrdup(pk);
        n->props[i].schema = compile_child(c->L, pv, c->w, pk);
        i++;
    }
    qsort(n->props, n->nprops, sizeof *n->props, schema_prop_cmp);
}

static void kw_required(const struct kw_ctx *c)
{
    struct snode *n = c->n;
    if (!json_is_array(c->v)) {
        load_error(c->L, c->w, "required must be an array of strings");
        return;
    }
    n->nrequired = json_array_size(c->v);
    n->required = xcalloc(n->nrequired, sizeof *n->required);
    for (size_t i = 0; i < n->nrequired; i++) {
        json_t *r = json_array_get(c->v, i);
        if (!json_is_string(r)) {
            load_error(c->L, c->w, "required must be an array of strings");
            n->required[i] = xstrdup("");
            continue;
        }
        n->required[i] = xstrdup(json_string_value(r));
        for (size_t j = 0; j < i; j++)
            if (strcmp(n->required[j], n->required[i]) == 0)
                load_error(c->L, c->w, "\"%s\" is required twice", n->required[i]);
    }
}

static void kw_additional(const struct kw_ctx *c)
{
    if (json_is_false(c->v)) {
        c->n->additional = ADD_FORBID;
    } else if (json_is_true(c->v)) {
        c->n->additional = ADD_ANY;
    } else {
        c->n->additional = ADD_SCHEMA;
        c->n->additional_schema = compile(c->L, c->v, c->w, false);
    }
}

/* The keyword's one subschema, into the node field it names. */
static void kw_subschema(const struct kw_ctx *c)
{
    struct snode *n = c->n, **slot = NULL;
    if (strcmp(c->k, "propertyNames") == 0)
        slot = &n->property_names;
    else if (strcmp(c->k, "not") == 0)
        slot = &n->not_;
    else if (strcmp(c->k, "if") == 0)
        slot = &n->if_;
    else if (strcmp(c->k, "then") == 0)
        slot = &n->then_;
    else
        slot = &n->else_;
    *slot = compile(c->L, c->v, c->w, false);
}

static void kw_items(const struct kw_ctx *c)
{
    if (json_is_array(c->v))
        load_error(c->L, c->w, "items must be one schema (2020-12); prefixItems is not supported");
    else
        c->n->items = compile(c->L, c->v, c->w, false);
}

/* minProperties ... maxLength: a non-negative integer into the node field it names. */
static void kw_count(const struct kw_ctx *c)
{
    struct snode *n = c->n;
    static const char *const names[] = {"minProperties", "maxProperties", "minItems",
                                        "maxItems",      "minLength",     "maxLength"};
    long *slots[] = {&n->min_props, &n->max_props, &n->min_items,
                     &n->max_items, &n->min_len,   &n->max_len};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(c->k, names[i]) == 0 && !nonneg_int(c->v, slots[i]))
            load_error(c->L, c->w, "must be a non-negative integer");
}

static void kw_unique(const struct kw_ctx *c)
{
    if (!json_is_boolean(c->v))
        load_error(c->L, c->w, "must be a boolean");
    c->n->unique_items = json_is_true(c->v);
}

static void kw_pattern(const struct kw_ctx *c)
{
    compile_pattern(c->L, c->n, c->v, c->w);
}

static void kw_format(const struct kw_ctx *c)
{
    if (json_is_string(c->v) && strcmp(json_string_value(c->v), "date") == 0)
        c->n->format = FMT_DATE;
    else
        load_error(c->L, c->w, "only format \"date\" is supported");
}

static void kw_bound(const struct kw_ctx *c)
{
    struct snode *n = c->n;
    if (!json_is_number(c->v)) {
        load_error(c->L, c->w, "%s must be a number", c->k);
        return;
    }
    double d = json_number_value(c->v);
    if (strcmp(c->k, "minimum") == 0)
        n->minimum = d, n->numflags |= NUM_MIN;
    else if (strcmp(c->k, "maximum") == 0)
        n->maximum = d, n->numflags |= NUM_MAX;
    else if (strcmp(c->k, "exclusiveMinimum") == 0)
        n->xminimum = d, n->numflags |= NUM_XMIN;
    else
        n->xmaximum = d, n->numflags |= NUM_XMAX;
}

static void kw_enum(const struct kw_ctx *c)
{
    if (!json_is_array(c->v) || json_array_size(c->v) == 0)
        load_error(c->L, c->w, "enum must be a non-empty array");
    else
        c->n->enum_values = json_deep_copy(c->v);
}

static void kw_const(const struct kw_ctx *c)
{
    c->n->const_value = json_deep_copy(c->v);
}

static void kw_combinator(const struct kw_ctx *c)
{
    struct snode *n = c->n;
    if (strcmp(c->k, "allOf") == 0)
        n->all_of = compile_list(c->L, c->v, c->where, c->k, &n->nall);
    else if (strcmp(c->k, "anyOf") == 0)
        n->any_of = compile_list(c->L, c->v, c->where, c->k, &n->nany);
    else
        n->one_of = compile_list(c->L, c->v, c->where, c->k, &n->none);
}

static void kw_ref(const struct kw_ctx *c)
{
    const char *ref = json_is_string(c->v) ? json_string_value(c->v) : NULL;
    if (!ref || strncmp(ref, "#/$defs/", 8) != 0 || !ref[8] || strchr(ref + 8, '/') ||
        strchr(ref + 8, '~')) {
        load_error(c->L, c->w, "only local references \"#/$defs/<name>\" are supported");
        return;
    }
    c->n->ref = xstrdup(ref);
    c->L->refs = xrealloc(c->L->refs, (c->L->nrefs + 1) * sizeof *c->L->refs);
    c->L->refs[c->L->nrefs++] = c->n;
}

/* Every keyword the loader accepts; anything else is a load error. */
static const struct {
    const char *keyword;
    void (*compile)(const struct kw_ctx *c);
} keywords[] = {
    {"$schema", kw_schema},
    {"$id", kw_id},
    {"$defs", kw_defs},
    {"description", kw_description},
    {"$comment", kw_annotation},
    {"title", kw_annotation},
    {"default", kw_annotation},
    {"examples", kw_annotation},
    {"deprecated", kw_annotation},
    {"readOnly", kw_annotation},
    {"writeOnly", kw_annotation},
    {"type", kw_type},
    {"properties", kw_properties},
    {"required", kw_required},
    {"additionalProperties", kw_additional},
    {"propertyNames", kw_subschema},
    {"minProperties", kw_count},
    {"maxProperties", kw_count},
    {"items", kw_items},
    {"minItems", kw_count},
    {"maxItems", kw_count},
    {"uniqueItems", kw_unique},
    {"minLength", kw_count},
    {"maxLength", kw_count},
    {"pattern", kw_pattern},
    {"format", kw_format},
    {"minimum", kw_bound},
    {"maximum", kw_bound},
    {"exclusiveMinimum", kw_bound},
    {"exclusiveMaximum", kw_bound},
    {"enum", kw_enum},
    {"const", kw_const},
    {"allOf", kw_combinator},
    {"anyOf", kw_combinator},
    {"oneOf", kw_combinator},
    {"not", kw_subschema},
    {"if", kw_subschema},
    {"then", kw_subschema},
    {"else", kw_subschema},
    {"$ref", kw_ref},
};

static struct snode *compile(struct loader *L, json_t *s, const char *where, bool root)
{
    if (L->failed)
        return NULL;
    struct snode *n = node_new(L, where);
    if (json_is_boolean(s)) {
        n->is_bool = true;
        n->bool_value = json_is_true(s);
        return n;
    }
    if (!json_is_object(s)) {
        load_error(L, where, "a schema must be an object or a boolean");
        return n;
    }
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v)
    {
        if (L->failed)
            break;
        char *w = json_pointer_join(where, k);
        struct kw_ctx c = {L, n, k, v, where, w, root};
        size_t i = 0;
        while (i < ARRAY_LEN(keywords) && strcmp(keywords[i].keyword, k) != 0)
            i++;
        if (i < ARRAY_LEN(keywords))
            keywords[i].compile(&c);
        else
            load_error(L, w, "unsupported keyword \"%s\"", k);
        free(w);
    }
    if (!L->failed)
        lint_node(L, n, s, where);
    return n;
}

/* Edges along which validation stays on the same instance value: a cycle among them
 * would recurse for ever, so it is a load error. */
static bool find_cycle(struct loader *L, struct snode *n)
{
    if (!n || n->is_bool)
        return false;
    if (n->color == 1) {
        load_error(L, n->where, "reference cycle that never descends into the instance");
        return true;
    }
    if (n->color == 2)
        return false;
    n->color = 1;
    struct snode *one[] = {n->ref_target, n->not_, n->if_, n->then_, n->else_};
    for (size_t i = 0; i < ARRAY_LEN(one); i++)
        if (find_cycle(L, one[i]))
            return true;
    struct snode **lists[] = {n->all_of, n->any_of, n->one_of};
    size_t counts[] = {n->nall, n->nany, n->none};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (find_cycle(L, lists[l][i]))
                return true;
    n->color = 2;
    return false;
}

static struct snode *load_one(struct loader *L, const struct embedded_file *f)
{
    json_error_t jerr;
    json_t *doc = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        load_error(L, "", "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                   jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        load_error(L, "", "the root must be an object");
        json_decref(doc);
        return NULL;
    }
    if (!json_is_string(json_object_get(doc, "$id")))
        load_error(L, "", "the root needs \"$id\": \"%s\"", f->name);
    json_t *defs = json_object_get(doc, "$defs");
    if (json_is_object(defs)) {
        const char *k;
        json_t *v;
        L->ndefs = json_object_size(defs);
        L->defs = xcalloc(L->ndefs, sizeof *L->defs);
        size_t i = 0;
        json_object_foreach(defs, k, v)
        {
            L->defs[i].name = xstrdup(k);
            L->defs[i].node = compile_child(L, v, "/$defs", k);
            i++;
        }
    }
    struct snode *root = compile(L, doc, "", true);
    for (size_t i = 0; i < L->nrefs && !L->failed; i++) {
        struct snode *n = L->refs[i];
        const char *name = n->ref + 8;
        for (size_t d = 0; d < L->ndefs; d++)
            if (strcmp(L->defs[d].name, name) == 0)
                n->ref_target = L->defs[d].node;
        if (!n->ref_target)
            load_error(L, n->where, "unresolved $ref \"%s\"", n->ref);
    }
    for (size_t i = 0; i < L->reg->nnodes && !L->failed; i++)
        find_cycle(L, L->reg->nodes[i]);
    for (size_t d = 0; d < L->ndefs; d++)
        free(L->defs[d].name);
    free(L->defs);
    free(L->refs);
    L->defs = NULL;
    L->refs = NULL;
    L->ndefs = L->nrefs = 0;
    json_decref(doc);
    return L->failed ? NULL : root;
}

static void node_free(struct snode *n)
{
    for (size_t i = 0; i < n->nprops; i++)
        free(n->props[i].name);
    free(n->props);
    for (size_t i = 0; i < n->nrequired; i++)
        free(n->required[i]);
    free(n->required);
    schema_pattern_free(n->pattern);
    json_decref(n->enum_values);
    json_decref(n->const_value);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n->ref);
    free(n->description);
    free(n->where);
    free(n);
}

void schema_registry_free(struct schema_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nnodes; i++)
        node_free(reg->nodes[i]);
    free(reg->nodes);
    for (size_t i = 0; i < reg->ndocs; i++)
        free(reg->docs[i].name);
    free(reg->docs);
    free(reg);
}

struct schema_registry *schema_registry_load(const struct embedded_file *files, char *err,
                                             size_t errlen)
{
    struct schema_registry *reg = xcalloc(1, sizeof *reg);
    char dummy[8];
    struct loader L = {.reg = reg, .err = err ? err : dummy, .errlen = err ? errlen : 0};
    for (const struct embedded_file *f = files; f && f->name; f++) {
        L.file = f->name;
        for (size_t i = 0; i < reg->ndocs; i++)
            if (strcmp(reg->docs[i].name, f->name) == 0)
                load_error(&L, "", "a second schema with this name");
        struct snode *root = L.failed ? NULL : load_one(&L, f);
        if (!root) {
            schema_registry_free(reg);
            return NULL;
        }
        reg->docs = xrealloc(reg->docs, (reg->ndocs + 1) * sizeof *reg->docs);
        reg->docs[reg->ndocs].name = xstrdup(f->name);
        reg->docs[reg->ndocs].root = root;
        reg->ndocs++;
    }
    for (size_t i = 0; i < reg->nnodes; i++) {
        free(reg->nodes[i]->where);
        reg->nodes[i]->where = NULL;
    }
    return reg;
}

const struct snode *schema_registry_find(const struct schema_registry *reg, const char *name)
{
    for (size_t i = 0; reg && name && i < reg->ndocs; i++)
        if (strcmp(reg->docs[i].name, name) == 0)
            return reg->docs[i].root;
    return NULL;
}

bool schema_registry_has(const struct schema_registry *reg, const char *name)
{
    return schema_registry_find(reg, name) != NULL;
}
