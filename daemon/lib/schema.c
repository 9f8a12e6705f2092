/* JSON Schema (draft 2020-12 subset) compiler and validator, and the strict body parser.
 * Schemas compile once into a tree of plain nodes; validation walks the tree and the
 * instance together, keeping the JSON pointer of the current value in one buffer. */
#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
/* Schema nesting followed for one instance value; our schemas are far shallower. */
#define MAX_DEPTH 256
/* uniqueItems is quadratic: a schema using it must bound the array this tightly. */
#define MAX_UNIQUE_ITEMS 1000
/* Longest string the pattern fast path handles (longer ones go to regexec). */
#define FAST_MAX_LEN 1024

enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_OBJECT = 1 << 2,
    T_ARRAY = 1 << 3,
    T_NUMBER = 1 << 4,
    T_INTEGER = 1 << 5,
    T_STRING = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT}, {"array", T_ARRAY},
    {"number", T_NUMBER}, {"integer", T_INTEGER}, {"string", T_STRING},
};

enum additional { ADD_ANY, ADD_FORBID, ADD_SCHEMA };
enum format { FMT_NONE, FMT_DATE };
enum { NUM_MIN = 1, NUM_MAX = 2, NUM_XMIN = 4, NUM_XMAX = 8 };

/* One atom of a pattern the fast matcher handles: a byte class repeated min..max times. */
struct atom {
    unsigned char set[32]; /* bitmap over bytes */
    unsigned min, max;
};

struct pattern {
    char *source;
    regex_t re;
    struct atom *atoms; /* NULL: no fast path, regexec only */
    size_t natoms;
};

struct snode;
struct prop {
    char *name;
    struct snode *schema;
};

struct snode {
    bool is_bool, bool_value;
    unsigned types; /* 0: no "type" keyword */
    /* objects */
    struct prop *props; /* sorted by name */
    size_t nprops;
    char **required;
    size_t nrequired;
    enum additional additional;
    struct snode *additional_schema, *property_names;
    long min_props, max_props; /* -1: not set */
    /* arrays */
    struct snode *items;
    long min_items, max_items;
    bool unique_items;
    /* strings */
    long min_len, max_len;
    struct pattern *pattern;
    enum format format;
    /* numbers */
    unsigned numflags;
    double minimum, maximum, xminimum, xmaximum;
    /* any type */
    json_t *enum_values; /* owned array */
    json_t *const_value; /* owned */
    struct snode **all_of, **any_of, **one_of;
    size_t nall, nany, none;
    struct snode *not_, *if_, *then_, *else_;
    char *ref; /* "#/$defs/x" until resolved */
    struct snode *ref_target;
    char *description;
    /* load-time only */
    char *where;
    int color;
};

struct def {
    char *name;
    struct snode *node;
};

struct doc {
    char *name;
    struct snode *root;
};

struct schema_registry {
    struct doc *docs;
    size_t ndocs;
    struct snode **nodes; /* every node, for freeing */
    size_t nnodes, capnodes;
};

/* ---------------------------------------------------------------- UTF-8 ---- */

bool schema_utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        if (len - i <= need)
            goto bad;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}

size_t schema_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* ------------------------------------------------------------ patterns ---- */

static void set_add(unsigned char *set, unsigned c)
{
    set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

static bool set_has(const unsigned char *set, unsigned char c)
{
    return set[c >> 3] & (1u << (c & 7));
}

static bool parse_count(const char **pp, unsigned *out)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return false;
    unsigned v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 1000)
            return false;
        p++;
    }
    *pp = p;
    *out = v;
    return true;
}

/* Recognises "^atom atom ... $" where an atom is an ASCII literal, an escaped special
 * character or a bracket expression of ASCII literals and ranges, each optionally
 * quantified (?, *, +, {n}, {n,}, {n,m}). For these the language is a sequence of byte
 * classes, matched exactly by a position-set walk (see fast_match) instead of regexec,
 * which is an order of magnitude slower on the hot path of a 30,000-record push. The
 * unit tests check both agree. Anything else returns false: regexec handles it. */
static bool fast_compile(struct pattern *pt)
{
    const char *p = pt->source;
    size_t n = strlen(p);
    if (n < 2 || p[0] != '^' || p[n - 1] != '$' || (n >= 3 && p[n - 2] == '\\'))
        return false;
    const char *end = p + n - 1;
    p++;
    struct atom *atoms = NULL;
    size_t count = 0;
    static const char specials[] = ".[]{}()*+?^$|\\";
    while (p < end) {
        struct atom a;
        memset(&a, 0, sizeof a);
        a.min = a.max = 1;
        unsigned char c = (unsigned char)*p;
        if (c == '[') {
            p++;
            bool negate = false;
            if (*p == '^') {
                negate = true;
                p++;
            }
            bool first = true;
            while (p < end && (*p != ']' || first)) {
                unsigned char lo = (unsigned char)*p;
                if (lo == '\\' || lo >= 0x80 || lo < 0x20 ||
                    (lo == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')))
                    goto fail;
                if (p + 2 < end && p[1] == '-' && p[2] != ']') {
                    unsigned char hi = (unsigned char)p[2];
                    if (hi == '\\' || hi >= 0x80 || hi < 0x20 || hi < lo || hi == '[')
                        goto fail;
                    for (unsigned k = lo; k <= hi; k++)
                        set_add(a.set, k);
                    p += 3;
                } else {
                    set_add(a.set, lo);
                    p++;
                }
                first = false;
            }
            if (p >= end || *p != ']')
                goto fail;
            p++;
            if (negate) {
                for (size_t k = 0; k < sizeof a.set; k++)
                    a.set[k] = (unsigned char)~a.set[k];
                /* Bytes above ASCII are multibyte in the daemon's strings; keep the
                 * negated class to ASCII so both matchers agree in any locale. */
                for (unsigned k = 0x80; k < 0x100; k++)
                    a.set[k >> 3] &= (unsigned char)~(1u << (k & 7));
                a.set[0] &= (unsigned char)~1u; /* never NUL */
            }
        } else if (c == '\\') {
            if (p + 1 >= end || !strchr(specials, p[1]) || p[1] == '\0')
                goto fail;
            set_add(a.set, (unsigned char)p[1]);
            p += 2;
        } else if (c >= 0x20 && c < 0x7f && !strchr(specials, c)) {
            set_add(a.set, c);
            p++;
        } else {
            goto fail;
        }
        if (p < end) {
            if (*p == '?') {
                a.min = 0;
                p++;
            } else if (*p == '*') {
                a.min = 0, a.max = FAST_MAX_LEN;
                p++;
            } else if (*p == '+') {
                a.max = FAST_MAX_LEN;
                p++;
            } else if (*p == '{') {
                p++;
                if (!parse_count(&p, &a.min))
                    goto fail;
                a.max = a.min;
                if (*p == ',') {
                    p++;
                    a.max = FAST_MAX_LEN;
                    if (*p != '}' && !parse_count(&p, &a.max))
                        goto fail;
                }
                if (*p != '}' || a.max < a.min)
                    goto fail;
                p++;
            }
            if (p < end && (*p == '?' || *p == '*' || *p == '+' || *p == '{'))
                goto fail; /* stacked quantifiers: leave to regcomp */
        }
        atoms = xrealloc(atoms, (count + 1) * sizeof *atoms);
        atoms[count++] = a;
    }
    pt->atoms = atoms;
    pt->natoms = count;
    if (!atoms) /* "^$" */
        pt->atoms = xcalloc(1, sizeof *atoms), pt->natoms = 0;
    return true;
fail:
    free(atoms);
    return false;
}

/* Exact match of s against the atom sequence: the set of positions reachable after each
 * atom, using run lengths so each atom costs O(len). */
static bool fast_match(const struct pattern *pt, const char *s, size_t len)
{
    unsigned char cur[FAST_MAX_LEN + 2], nxt[FAST_MAX_LEN + 2];
    int diff[FAST_MAX_LEN + 3];
    unsigned run[FAST_MAX_LEN + 2];
    memset(cur, 0, len + 1);
    cur[0] = 1;
    for (size_t a = 0; a < pt->natoms; a++) {
        const struct atom *at = &pt->atoms[a];
        run[len] = 0;
        for (size_t i = len; i-- > 0;)
            run[i] = set_has(at->set, (unsigned char)s[i]) ? run[i + 1] + 1 : 0;
        memset(diff, 0, (len + 2) * sizeof *diff);
        bool any = false;
        for (size_t i = 0; i <= len; i++) {
            if (!cur[i])
                continue;
            unsigned hi = run[i] < at->max ? run[i] : at->max;
            if (hi < at->min)
                continue;
            diff[i + at->min]++;
            diff[i + hi + 1]--;
            any = true;
        }
        if (!any)
            return false;
        int acc = 0;
        for (size_t i = 0; i <= len; i++) {
            acc += diff[i];
            nxt[i] = acc > 0;
        }
        memcpy(cur, nxt, len + 1);
    }
    return cur[len];
}

static bool pattern_match(const struct pattern *pt, const char *s, size_t len)
{
    if (strlen(s) != len)
        return false; /* an embedded NUL never matches */
    if (pt->atoms && len <= FAST_MAX_LEN)
        return fast_match(pt, s, len);
    return regexec(&pt->re, s, 0, NULL, 0) == 0;
}

/* ------------------------------------------------------------- loading ---- */

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

static int prop_cmp(const void *a, const void *b)
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
    struct pattern *pt = xcalloc(1, sizeof *pt);
    pt->source = xstrdup(json_string_value(v));
    int rc = regcomp(&pt->re, pt->source, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char buf[128];
        regerror(rc, &pt->re, buf, sizeof buf);
        load_error(L, where, "pattern \"%s\" does not compile: %s", pt->source, buf);
        free(pt->source);
        free(pt);
        return;
    }
    fast_compile(pt);
    n->pattern = pt;
}

static bool is_annotation(const char *k)
{
    static const char *const names[] = {"$comment",   "title",    "default",  "examples",
                                        "deprecated", "readOnly", "writeOnly"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return false;
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
            if (!n->nprops || !bsearch(&key, n->props, n->nprops, sizeof *n->props, prop_cmp))
                load_error(L, where, "required \"%s\" is not among the allowed properties",
                           n->required[i]);
        }
    if ((n->min_len >= 0 && n->max_len >= 0 && n->min_len > n->max_len) ||
        (n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items) ||
        (n->min_props >= 0 && n->max_props >= 0 && n->min_props > n->max_props) ||
        ((n->numflags & NUM_MIN) && (n->numflags & NUM_MAX) && n->minimum > n->maximum))
        load_error(L, where, "a lower bound exceeds its upper bound");
    if (n->unique_items && (n->max_items < 0 || n->max_items > MAX_UNIQUE_ITEMS))
        load_error(L, where, "uniqueItems needs maxItems <= %d", MAX_UNIQUE_ITEMS);
}

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
        if (strcmp(k, "$schema") == 0) {
            if (!root || !json_is_string(v) || strcmp(json_string_value(v), DRAFT_2020_12) != 0)
                load_error(L, w, "$schema must be \"%s\", at the root only", DRAFT_2020_12);
        } else if (strcmp(k, "$id") == 0) {
            if (!root || !json_is_string(v) || strcmp(json_string_value(v), L->file) != 0)
                load_error(L, w, "$id must equal the file name \"%s\", at the root only", L->file);
        } else if (strcmp(k, "$defs") == 0) {
            if (!root || !json_is_object(v))
                load_error(L, w, "$defs must be an object, at the root only");
            /* compiled by load_one before the root */
        } else if (strcmp(k, "description") == 0) {
            if (!json_is_string(v))
                load_error(L, w, "description must be a string");
            else
                n->description = xstrdup(json_string_value(v));
        } else if (is_annotation(k)) {
            /* annotations: no effect on validation */
        } else if (strcmp(k, "type") == 0) {
            json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
            if (!json_is_array(list) || json_array_size(list) == 0)
                load_error(L, w, "type must be a type name or a non-empty array of them");
            size_t i;
            json_t *t;
            json_array_foreach(list, i, t)
            {
                unsigned bit = 0;
                for (size_t j = 0; j < ARRAY_LEN(type_names); j++)
                    if (json_is_string(t) && strcmp(json_string_value(t), type_names[j].name) == 0)
                        bit = type_names[j].bit;
                if (!bit || (n->types & bit))
                    load_error(L, w, "unknown or repeated type name");
                n->types |= bit;
            }
            json_decref(list);
        } else if (strcmp(k, "properties") == 0) {
            if (!json_is_object(v)) {
                load_error(L, w, "properties must be an object");
            } else {
                n->nprops = json_object_size(v);
                n->props = xcalloc(n->nprops, sizeof *n->props);
                size_t i = 0;
                const char *pk;
                json_t *pv;
                json_object_foreach(v, pk, pv)
                {
                    n->props[i].name = xstrdup(pk);
                    n->props[i].schema = compile_child(L, pv, w, pk);
                    i++;
                }
                qsort(n->props, n->nprops, sizeof *n->props, prop_cmp);
            }
        } else if (strcmp(k, "required") == 0) {
            if (!json_is_array(v)) {
                load_error(L, w, "required must be an array of strings");
            } else {
                n->nrequired = json_array_size(v);
                n->required = xcalloc(n->nrequired, sizeof *n->required);
                for (size_t i = 0; i < n->nrequired; i++) {
                    json_t *r = json_array_get(v, i);
                    if (!json_is_string(r)) {
                        load_error(L, w, "required must be an array of strings");
                        n->required[i] = xstrdup("");
                        continue;
                    }
                    n->required[i] = xstrdup(json_string_value(r));
                    for (size_t j = 0; j < i; j++)
                        if (strcmp(n->required[j], n->required[i]) == 0)
                            load_error(L, w, "\"%s\" is required twice", n->required[i]);
                }
            }
        } else if (strcmp(k, "additionalProperties") == 0) {
            if (json_is_false(v))
                n->additional = ADD_FORBID;
            else if (json_is_true(v))
                n->additional = ADD_ANY;
            else {
                n->additional = ADD_SCHEMA;
                n->additional_schema = compile(L, v, w, false);
            }
        } else if (strcmp(k, "propertyNames") == 0) {
            n->property_names = compile(L, v, w, false);
        } else if (strcmp(k, "minProperties") == 0) {
            if (!nonneg_int(v, &n->min_props))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "maxProperties") == 0) {
            if (!nonneg_int(v, &n->max_props))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "items") == 0) {
            if (json_is_array(v))
                load_error(L, w,
                           "items must be one schema (2020-12); prefixItems is not "
                           "supported");
            else
                n->items = compile(L, v, w, false);
        } else if (strcmp(k, "minItems") == 0) {
            if (!nonneg_int(v, &n->min_items))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "maxItems") == 0) {
            if (!nonneg_int(v, &n->max_items))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "uniqueItems") == 0) {
            if (!json_is_boolean(v))
                load_error(L, w, "must be a boolean");
            n->unique_items = json_is_true(v);
        } else if (strcmp(k, "minLength") == 0) {
            if (!nonneg_int(v, &n->min_len))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "maxLength") == 0) {
            if (!nonneg_int(v, &n->max_len))
                load_error(L, w, "must be a non-negative integer");
        } else if (strcmp(k, "pattern") == 0) {
            compile_pattern(L, n, v, w);
        } else if (strcmp(k, "format") == 0) {
            if (json_is_string(v) && strcmp(json_string_value(v), "date") == 0)
                n->format = FMT_DATE;
            else
                load_error(L, w, "only format \"date\" is supported");
        } else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0 ||
                   strcmp(k, "exclusiveMinimum") == 0 || strcmp(k, "exclusiveMaximum") == 0) {
            if (!json_is_number(v)) {
                load_error(L, w, "%s must be a number", k);
            } else {
                double d = json_number_value(v);
                if (k[0] == 'm' && k[1] == 'i')
                    n->minimum = d, n->numflags |= NUM_MIN;
                else if (k[0] == 'm')
                    n->maximum = d, n->numflags |= NUM_MAX;
                else if (strcmp(k, "exclusiveMinimum") == 0)
                    n->xminimum = d, n->numflags |= NUM_XMIN;
                else
                    n->xmaximum = d, n->numflags |= NUM_XMAX;
            }
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                load_error(L, w, "enum must be a non-empty array");
            else
                n->enum_values = json_deep_copy(v);
        } else if (strcmp(k, "const") == 0) {
            n->const_value = json_deep_copy(v);
        } else if (strcmp(k, "allOf") == 0) {
            n->all_of = compile_list(L, v, where, k, &n->nall);
        } else if (strcmp(k, "anyOf") == 0) {
            n->any_of = compile_list(L, v, where, k, &n->nany);
        } else if (strcmp(k, "oneOf") == 0) {
            n->one_of = compile_list(L, v, where, k, &n->none);
        } else if (strcmp(k, "not") == 0) {
            n->not_ = compile(L, v, w, false);
        } else if (strcmp(k, "if") == 0) {
            n->if_ = compile(L, v, w, false);
        } else if (strcmp(k, "then") == 0) {
            n->then_ = compile(L, v, w, false);
        } else if (strcmp(k, "else") == 0) {
            n->else_ = compile(L, v, w, false);
        } else if (strcmp(k, "$ref") == 0) {
            if (!json_is_string(v) || strncmp(json_string_value(v), "#/$defs/", 8) != 0 ||
                !json_string_value(v)[8] || strchr(json_string_value(v) + 8, '/') ||
                strchr(json_string_value(v) + 8, '~')) {
                load_error(L, w, "only local references \"#/$defs/<name>\" are supported");
            } else {
                n->ref = xstrdup(json_string_value(v));
                L->refs = xrealloc(L->refs, (L->nrefs + 1) * sizeof *L->refs);
                L->refs[L->nrefs++] = n;
            }
        } else {
            load_error(L, w, "unsupported keyword \"%s\"", k);
        }
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
    if (n->pattern) {
        regfree(&n->pattern->re);
        free(n->pattern->source);
        free(n->pattern->atoms);
        free(n->pattern);
    }
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

static const struct snode *registry_find(const struct schema_registry *reg, const char *name)
{
    for (size_t i = 0; reg && name && i < reg->ndocs; i++)
        if (strcmp(reg->docs[i].name, name) == 0)
            return reg->docs[i].root;
    return NULL;
}

bool schema_registry_has(const struct schema_registry *reg, const char *name)
{
    return registry_find(reg, name) != NULL;
}

/* ---------------------------------------------------------- validation ---- */

struct verr {
    char *path;
    char *text;
    bool named; /* prefix the field's name when reported */
};

struct vctx {
    struct verr *items;
    size_t n, keep, total;
    bool quick; /* only the verdict matters: stop at the first failure */
    struct strbuf *path;
    int depth;
};

static void ctx_init(struct vctx *c, struct strbuf *path, size_t keep, bool quick, int depth)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->keep = keep;
    c->quick = quick;
    c->depth = depth;
    if (keep)
        c->items = xcalloc(keep, sizeof *c->items);
}

static void ctx_free(struct vctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].path);
        free(c->items[i].text);
    }
    free(c->items);
    c->items = NULL;
    c->n = 0;
}

static void verr_add(struct vctx *c, bool named, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr_add(struct vctx *c, bool named, const char *fmt, ...)
{
    c->total++;
    if (c->n >= c->keep)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = xstrdup("is invalid");
    va_end(ap);
    c->items[c->n].path = xstrdup(c->path->data ? c->path->data : "");
    c->items[c->n].text = text;
    c->items[c->n].named = named;
    c->n++;
}

/* Moves sub's errors into c. */
static void ctx_merge(struct vctx *c, struct vctx *sub)
{
    for (size_t i = 0; i < sub->n; i++) {
        if (c->n < c->keep) {
            c->items[c->n++] = sub->items[i];
        } else {
            free(sub->items[i].path);
            free(sub->items[i].text);
        }
    }
    c->total += sub->total;
    sub->n = 0;
}

static size_t path_push(struct strbuf *p, const char *token)
{
    size_t old = p->len;
    strbuf_append(p, "/", 1);
    for (const char *t = token; *t;) {
        size_t run = strcspn(t, "~/");
        strbuf_append(p, t, run);
        t += run;
        if (*t) {
            strbuf_append(p, *t == '~' ? "~0" : "~1", 2);
            t++;
        }
    }
    return old;
}

static size_t path_push_index(struct strbuf *p, size_t i)
{
    size_t old = p->len;
    strbuf_printf(p, "/%zu", i);
    return old;
}

static void path_pop(struct strbuf *p, size_t old)
{
    p->len = old;
    if (p->data)
        p->data[old] = '\0';
}

/* A field name for messages, from a JSON pointer: "/a/0/b" -> "b", "/themes/2" ->
 * "themes[2]", "" -> "the body". */
static char *field_name(const char *path)
{
    if (!*path)
        return xstrdup("the body");
    struct strbuf suffix, out;
    strbuf_init(&suffix);
    strbuf_init(&out);
    const char *end = path + strlen(path);
    while (end > path) {
        const char *start = end;
        while (start > path && start[-1] != '/')
            start--;
        size_t len = (size_t)(end - start);
        bool numeric = len > 0 && strspn(start, "0123456789") >= len;
        if (!numeric || start - 1 == path) {
            for (const char *q = start; q < end; q++) {
                if (q[0] == '~' && q + 1 < end) {
                    strbuf_append(&out, q[1] == '1' ? "/" : "~", 1);
                    q++;
                } else {
                    strbuf_append(&out, q, 1);
                }
            }
            if (numeric) {
                /* a top-level array: "item[i]" */
                strbuf_free(&out);
                strbuf_printf(&out, "item[%.*s]", (int)len, start);
            }
            break;
        }
        char *tmp = xasprintf("[%.*s]%s", (int)len, start, suffix.data ? suffix.data : "");
        strbuf_free(&suffix);
        strbuf_puts(&suffix, tmp);
        free(tmp);
        end = start - 1;
    }
    if (suffix.data)
        strbuf_puts(&out, suffix.data);
    strbuf_free(&suffix);
    return strbuf_detach(&out, NULL);
}

/* Quoted, bounded rendering of a client-supplied key for messages. */
static char *quote_key(const char *k)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "\"");
    size_t n = 0; /* code points so far: cut only between two, so the text stays UTF-8 */
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if ((*p & 0xc0) != 0x80 && n++ >= 64) {
            strbuf_puts(&sb, "...");
            break;
        }
        if (*p == '"' || *p == '\\')
            strbuf_printf(&sb, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            strbuf_printf(&sb, "\\u%04x", *p);
        else
            strbuf_append(&sb, p, 1);
    }
    strbuf_puts(&sb, "\"");
    return strbuf_detach(&sb, NULL);
}

const char *schema_json_type_name(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static bool type_ok(unsigned types, const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        return types & T_OBJECT;
    case JSON_ARRAY:
        return types & T_ARRAY;
    case JSON_STRING:
        return types & T_STRING;
    case JSON_INTEGER:
        return types & (T_INTEGER | T_NUMBER);
    case JSON_REAL:
        return types & T_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return types & T_BOOLEAN;
    default:
        return types & T_NULL;
    }
}

static char *types_text(unsigned types)
{
    static const char *const articles[] = {"null",     "a boolean",  "an object", "an array",
                                           "a number", "an integer", "a string"};
    struct strbuf sb;
    strbuf_init(&sb);
    size_t count = 0, total = 0;
    for (size_t i = 0; i < ARRAY_LEN(articles); i++)
        total += (types >> i) & 1;
    /* strings and numbers first, null last: "a string or null" */
    static const size_t order[] = {6, 5, 4, 1, 2, 3, 0};
    for (size_t j = 0; j < ARRAY_LEN(order); j++) {
        size_t i = order[j];
        if (!((types >> i) & 1))
            continue;
        if (count)
            strbuf_puts(&sb, count + 1 == total ? " or " : ", ");
        strbuf_puts(&sb, articles[i]);
        count++;
    }
    return strbuf_detach(&sb, NULL);
}

static char *value_text(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return s ? s : xstrdup("?");
}

static char *number_text(double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
        return xasprintf("%.0f", d);
    return xasprintf("%g", d);
}

static bool v_node(struct vctx *c, const struct snode *s, json_t *x);

#define FAIL()                                                                                     \
    do {                                                                                           \
        ok = false;                                                                                \
        if (c->quick)                                                                              \
            return false;                                                                          \
    } while (0)

static bool v_string(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    const char *str = json_string_value(x);
    size_t bytes = json_string_length(x);
    if (s->min_len >= 0 || s->max_len >= 0) {
        size_t cps = schema_utf8_length(str, bytes);
        if (s->min_len >= 0 && cps < (size_t)s->min_len) {
            if (s->min_len == 1)
                verr_add(c, true, "must not be empty");
            else
                verr_add(c, true, "must be at least %ld characters long", s->min_len);
            FAIL();
        }
        if (s->max_len >= 0 && cps > (size_t)s->max_len) {
            verr_add(c, true, "must be at most %ld characters long (it has %zu)", s->max_len, cps);
            FAIL();
        }
    }
    if (s->pattern && !pattern_match(s->pattern, str, bytes)) {
        if (s->description)
            verr_add(c, true, "must be %s (pattern %s)", s->description, s->pattern->source);
        else
            verr_add(c, true, "must match the pattern %s", s->pattern->source);
        FAIL();
    }
    if (s->format == FMT_DATE && (strlen(str) != bytes || !parse_date(str, NULL, NULL, NULL))) {
        verr_add(c, true, "must be a real calendar date written YYYY-MM-DD");
        FAIL();
    }
    return ok;
}

static bool v_number(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    double d = json_number_value(x);
    struct {
        unsigned flag;
        bool bad;
        const char *op;
        double bound;
    } checks[] = {
        {NUM_MIN, d < s->minimum, ">=", s->minimum},
        {NUM_MAX, d > s->maximum, "<=", s->maximum},
        {NUM_XMIN, d <= s->xminimum, ">", s->xminimum},
        {NUM_XMAX, d >= s->xmaximum, "<", s->xmaximum},
    };
    for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
        if ((s->numflags & checks[i].flag) && checks[i].bad) {
            char *b = number_text(checks[i].bound);
            verr_add(c, true, "must be %s %s", checks[i].op, b);
            free(b);
            FAIL();
        }
    }
    return ok;
}

static bool v_property_name(struct vctx *c, const struct snode *s, const char *key)
{
    json_t *k = json_string(key);
    if (!k)
        return false;
    struct vctx sub;
    ctx_init(&sub, c->path, c->quick ? 0 : 4, c->quick, c->depth);
    bool ok = v_node(&sub, s, k);
    json_decref(k);
    if (!ok && !c->quick) {
        char *q = quote_key(key);
        verr_add(c, false, "field name %s is not allowed", q);
        free(q);
    }
    ctx_free(&sub);
    return ok;
}

static bool v_object(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    const char *key;
    json_t *val;
    json_object_foreach(x, key, val)
    {
        size_t mark = path_push(c->path, key);
        struct prop probe = {(char *)(uintptr_t)key, NULL};
        const struct prop *p =
            s->nprops ? bsearch(&probe, s->props, s->nprops, sizeof *s->props, prop_cmp) : NULL;
        bool good = true;
        if (p) {
            good = v_node(c, p->schema, val);
        } else if (s->additional == ADD_FORBID) {
            char *q = quote_key(key);
            verr_add(c, false, "unknown field %s", q);
            free(q);
            good = false;
        } else if (s->additional == ADD_SCHEMA) {
            good = v_node(c, s->additional_schema, val);
        }
        if (good && s->property_names)
            good = v_property_name(c, s->property_names, key);
        path_pop(c->path, mark);
        if (!good)
            FAIL();
    }
    for (size_t i = 0; i < s->nrequired; i++) {
        if (json_object_get(x, s->required[i]))
            continue;
        size_t mark = path_push(c->path, s->required[i]);
        verr_add(c, false, "required field \"%s\" is missing", s->required[i]);
        path_pop(c->path, mark);
        FAIL();
    }
    size_t n = json_object_size(x);
    if (s->min_props >= 0 && n < (size_t)s->min_props) {
        verr_add(c, true, "must have at least %ld field%s", s->min_props,
                 s->min_props == 1 ? "" : "s");
        FAIL();
    }
    if (s->max_props >= 0 && n > (size_t)s->max_props) {
        verr_add(c, true, "must have at most %ld field%s", s->max_props,
                 s->max_props == 1 ? "" : "s");
        FAIL();
    }
    return ok;
}

static bool v_array(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    size_t n = json_array_size(x);
    if (s->min_items >= 0 && n < (size_t)s->min_items) {
        verr_add(c, true, "must have at least %ld item%s", s->min_items,
                 s->min_items == 1 ? "" : "s");
        FAIL();
    }
    if (s->max_items >= 0 && n > (size_t)s->max_items) {
        verr_add(c, true, "must have at most %ld item%s", s->max_items,
                 s->max_items == 1 ? "" : "s");
        FAIL();
    }
    if (s->items) {
        for (size_t i = 0; i < n; i++) {
            size_t mark = path_push_index(c->path, i);
            bool good = v_node(c, s->items, json_array_get(x, i));
            path_pop(c->path, mark);
            if (!good)
                FAIL();
        }
    }
    if (s->unique_items && n <= (size_t)s->max_items) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < i; j++) {
                if (json_equal(json_array_get(x, i), json_array_get(x, j))) {
                    size_t mark = path_push_index(c->path, i);
                    verr_add(c, true, "repeats item %zu", j);
                    path_pop(c->path, mark);
                    FAIL();
                    break;
                }
            }
        }
    }
    return ok;
}

static bool passes(struct vctx *c, const struct snode *s, json_t *x)
{
    struct vctx q;
    ctx_init(&q, c->path, 0, true, c->depth);
    return v_node(&q, s, x);
}

/* No alternative of anyOf/oneOf matched. If one alternative failed only below this
 * value (its shape fits, a nested field is wrong), its errors are the useful ones;
 * otherwise one error listing what each alternative wanted here. */
static void report_alternatives_for(struct vctx *c, struct snode *const *alts, size_t nalts,
                                    json_t *x)
{
    struct vctx *subs = xcalloc(nalts, sizeof *subs);
    size_t here = c->path->len, best = nalts;
    for (size_t i = 0; i < nalts; i++) {
        ctx_init(&subs[i], c->path, MAT_ERRORS_MAX, false, c->depth);
        v_node(&subs[i], alts[i], x);
        bool deeper = subs[i].n > 0;
        for (size_t e = 0; e < subs[i].n; e++)
            if (strlen(subs[i].items[e].path) <= here)
                deeper = false;
        if (deeper && (best == nalts || subs[i].total < subs[best].total))
            best = i;
    }
    if (best < nalts) {
        ctx_merge(c, &subs[best]);
    } else {
        struct strbuf sb;
        strbuf_init(&sb);
        size_t shown = 0;
        for (size_t i = 0; i < nalts; i++) {
            for (size_t e = 0; e < subs[i].n; e++) {
                if (strlen(subs[i].items[e].path) != here || !subs[i].items[e].named)
                    continue;
                strbuf_printf(&sb, "%s%s", shown ? ", or " : "", subs[i].items[e].text);
                shown++;
                break;
            }
        }
        if (shown)
            verr_add(c, true, "%s", sb.data);
        else
            verr_add(c, true, "does not match any of the allowed forms");
        strbuf_free(&sb);
    }
    for (size_t i = 0; i < nalts; i++)
        ctx_free(&subs[i]);
    free(subs);
}

static bool v_node(struct vctx *c, const struct snode *s, json_t *x)
{
    if (!s)
        return true;
    if (s->is_bool) {
        if (!s->bool_value)
            verr_add(c, true, "is not allowed here");
        return s->bool_value;
    }
    if (c->depth >= MAX_DEPTH) {
        verr_add(c, true, "is nested too deeply");
        return false;
    }
    bool ok = true;
    if (s->types && !type_ok(s->types, x)) {
        char *want = types_text(s->types);
        verr_add(c, true, "must be %s, not %s", want, schema_json_type_name(x));
        free(want);
        return false;
    }
    c->depth++;
    if (s->ref_target && !v_node(c, s->ref_target, x)) {
        ok = false;
        if (c->quick)
            goto out;
    }
    if (s->const_value && !json_equal(s->const_value, x)) {
        char *v = value_text(s->const_value);
        verr_add(c, true, "must be %s", v);
        free(v);
        ok = false;
        if (c->quick)
            goto out;
    }
    if (s->enum_values) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(s->enum_values, i, e)
        {
            if (json_equal(e, x)) {
                found = true;
                break;
            }
        }
        if (!found) {
            struct strbuf sb;
            strbuf_init(&sb);
            json_array_foreach(s->enum_values, i, e)
            {
                char *v = value_text(e);
                strbuf_printf(&sb, "%s%s", i ? ", " : "", v);
                free(v);
            }
            verr_add(c, true, "must be one of: %s", sb.data);
            strbuf_free(&sb);
            ok = false;
            if (c->quick)
                goto out;
        }
    }
    bool good = true;
    switch (json_typeof(x)) {
    case JSON_STRING:
        good = v_string(c, s, x);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        good = s->numflags ? v_number(c, s, x) : true;
        break;
    case JSON_OBJECT:
        good = v_object(c, s, x);
        break;
    case JSON_ARRAY:
        good = v_array(c, s, x);
        break;
    default:
        break;
    }
    if (!good) {
        ok = false;
        if (c->quick)
            goto out;
    }
    for (size_t i = 0; i < s->nall; i++) {
        if (!v_node(c, s->all_of[i], x)) {
            ok = false;
            if (c->quick)
                goto out;
        }
    }
    if (s->nany) {
        bool any = false;
        for (size_t i = 0; i < s->nany && !any; i++)
            any = passes(c, s->any_of[i], x);
        if (!any) {
            ok = false;
            if (c->quick)
                goto out;
            report_alternatives_for(c, s->any_of, s->nany, x);
        }
    }
    if (s->none) {
        size_t matched = 0;
        for (size_t i = 0; i < s->none; i++)
            matched += passes(c, s->one_of[i], x);
        if (matched != 1) {
            ok = false;
            if (c->quick)
                goto out;
            if (matched == 0)
                report_alternatives_for(c, s->one_of, s->none, x);
            else
                verr_add(c, true, "matches %zu of the alternatives; exactly one is allowed",
                         matched);
        }
    }
    if (s->not_ && passes(c, s->not_, x)) {
        verr_add(c, true, "must not be %s",
                 s->not_->description ? s->not_->description : "of the excluded form");
        ok = false;
        if (c->quick)
            goto out;
    }
    if (s->if_) {
        const struct snode *branch = passes(c, s->if_, x) ? s->then_ : s->else_;
        if (branch && !v_node(c, branch, x))
            ok = false;
    }
out:
    c->depth--;
    return ok;
}

int schema_validate(const struct schema_registry *reg, const char *name, json_t *instance,
                    struct mat_errors *errs)
{
    const struct snode *root = registry_find(reg, name);
    if (!root || !instance) {
        mat_errors_add(errs, "", "internal error: no schema named \"%s\"", name ? name : "");
        return -1;
    }
    struct strbuf path;
    strbuf_init(&path);
    strbuf_puts(&path, "");
    size_t keep = errs->count < MAT_ERRORS_MAX ? MAT_ERRORS_MAX - errs->count : 0;
    struct vctx c;
    ctx_init(&c, &path, keep, false, 0);
    bool ok = v_node(&c, root, instance);
    for (size_t i = 0; i < c.n; i++) {
        if (c.items[i].named) {
            char *field = field_name(c.items[i].path);
            mat_errors_add(errs, c.items[i].path, "%s %s", field, c.items[i].text);
            free(field);
        } else {
            mat_errors_add(errs, c.items[i].path, "%s", c.items[i].text);
        }
    }
    errs->dropped += c.total - c.n;
    ctx_free(&c);
    strbuf_free(&path);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------- body parse ---- */

/* jansson's "near '...'" excerpt can end inside a multibyte character; the message goes
 * into a JSON document, so any byte that is not part of valid UTF-8 becomes '?'. */
static void utf8_scrub(char *s)
{
    size_t len = strlen(s), off = 0, bad;
    while (!schema_utf8_valid(s + off, len - off, &bad)) {
        s[off + bad] = '?';
        off += bad + 1;
    }
}

int schema_parse_body(const char *buf, size_t len, json_t **out, struct mat_errors *errs)
{
    *out = NULL;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        buf += 3, len -= 3;
    size_t ws = 0;
    while (ws < len && strchr(" \t\r\n", buf[ws]) && buf[ws])
        ws++;
    if (ws == len) {
        mat_errors_add(errs, "", "the body is empty; send a JSON object");
        return -1;
    }
    size_t bad;
    if (!schema_utf8_valid(buf, len, &bad)) {
        mat_errors_add(errs, "", "the body is not valid UTF-8 (byte offset %zu)", bad);
        return -1;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc) {
        utf8_scrub(jerr.text);
        mat_errors_add(errs, "", "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                       jerr.text);
        return -1;
    }
    if (!json_is_object(doc)) {
        mat_errors_add(errs, "", "the body must be a JSON object, not %s",
                       schema_json_type_name(doc));
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}
