/* JSON Schema (draft 2020-12 subset) validation over the compiled tree (schema_load.c),
 * and the strict body parser. Validation walks the tree and the instance together,
 * keeping the JSON pointer of the current value in one buffer. */
#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_tree.h"
#include "util.h"

/* ---------------------------------------------------------------- UTF-8 ---- */

bool schema_utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        uint64_t word;
        if (len - i >= 8 && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ull) == 0)) {
            i += 8; /* eight ASCII bytes at once: most bodies are all ASCII */
            continue;
        }
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
    if (s->pattern && !schema_pattern_match(s->pattern, str, bytes)) {
        if (s->description)
            verr_add(c, true, "must be %s (pattern %s)", s->description,
                     schema_pattern_source(s->pattern));
        else
            verr_add(c, true, "must match the pattern %s", schema_pattern_source(s->pattern));
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
            s->nprops ? bsearch(&probe, s->props, s->nprops, sizeof *s->props, schema_prop_cmp)
                      : NULL;
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

/* const and enum. */
static bool v_value(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    if (s->const_value && !json_equal(s->const_value, x)) {
        char *v = value_text(s->const_value);
        verr_add(c, true, "must be %s", v);
        free(v);
        FAIL();
    }
    if (!s->enum_values)
        return ok;
    size_t i;
    json_t *e;
    json_array_foreach(s->enum_values, i, e)
    {
        if (json_equal(e, x))
            return ok;
    }
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
    return false;
}

/* The keywords of the value's own JSON type. */
static bool v_typed(struct vctx *c, const struct snode *s, json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_STRING:
        return v_string(c, s, x);
    case JSON_INTEGER:
    case JSON_REAL:
        return s->numflags ? v_number(c, s, x) : true;
    case JSON_OBJECT:
        return v_object(c, s, x);
    case JSON_ARRAY:
        return v_array(c, s, x);
    default:
        return true;
    }
}

/* allOf, anyOf, oneOf, not, if/then/else. */
static bool v_combinators(struct vctx *c, const struct snode *s, json_t *x)
{
    bool ok = true;
    for (size_t i = 0; i < s->nall; i++)
        if (!v_node(c, s->all_of[i], x))
            FAIL();
    if (s->nany) {
        bool any = false;
        for (size_t i = 0; i < s->nany && !any; i++)
            any = passes(c, s->any_of[i], x);
        if (!any) {
            FAIL();
            report_alternatives_for(c, s->any_of, s->nany, x);
        }
    }
    if (s->none) {
        size_t matched = 0;
        for (size_t i = 0; i < s->none; i++)
            matched += passes(c, s->one_of[i], x);
        if (matched != 1) {
            FAIL();
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
        FAIL();
    }
    if (s->if_) {
        const struct snode *branch = passes(c, s->if_, x) ? s->then_ : s->else_;
        if (branch && !v_node(c, branch, x))
            ok = false;
    }
    return ok;
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
    if (c->depth >= SCHEMA_MAX_DEPTH) {
        verr_add(c, true, "is nested too deeply");
        return false;
    }
    if (s->types && !type_ok(s->types, x)) {
        char *want = types_text(s->types);
        verr_add(c, true, "must be %s, not %s", want, schema_json_type_name(x));
        free(want);
        return false;
    }
    /* Each step below runs only while the verdict is still open in quick mode. */
    c->depth++;
    bool ok = !s->ref_target || v_node(c, s->ref_target, x);
    if (ok || !c->quick)
        ok = v_value(c, s, x) && ok;
    if (ok || !c->quick)
        ok = v_typed(c, s, x) && ok;
    if (ok || !c->quick)
        ok = v_combinators(c, s, x) && ok;
    c->depth--;
    return ok;
}

/* Validates x against s with the pointer starting at base, reporting into errs as
 * schema_validate documents. */
static int validate_node(const struct snode *s, const char *base, json_t *x,
                         struct mat_errors *errs)
{
    struct strbuf path;
    strbuf_init(&path);
    strbuf_puts(&path, base);
    size_t keep = errs->count < MAT_ERRORS_MAX ? MAT_ERRORS_MAX - errs->count : 0;
    struct vctx c;
    ctx_init(&c, &path, keep, false, 0);
    bool ok = v_node(&c, s, x);
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

int schema_validate(const struct schema_registry *reg, const char *name, json_t *instance,
                    struct mat_errors *errs)
{
    const struct snode *root = schema_registry_find(reg, name);
    if (!root || !instance) {
        mat_errors_add(errs, "", "internal error: no schema named \"%s\"", name ? name : "");
        return -1;
    }
    return validate_node(root, "", instance, errs);
}

int schema_validate_item(const struct schema_registry *reg, const char *name, const char *prop,
                         size_t index, json_t *item, struct mat_errors *errs)
{
    const struct snode *root = schema_registry_find(reg, name);
    const struct snode *items = NULL;
    if (root && item) {
        struct prop probe = {(char *)(uintptr_t)prop, NULL};
        const struct prop *p = root->nprops ? bsearch(&probe, root->props, root->nprops,
                                                      sizeof *root->props, schema_prop_cmp)
                                            : NULL;
        const struct snode *arr = p ? p->schema : NULL;
        while (arr && !arr->items && arr->ref_target)
            arr = arr->ref_target;
        items = arr ? arr->items : NULL;
    }
    if (!items) {
        mat_errors_add(errs, "", "internal error: no items schema for \"%s\" in \"%s\"", prop,
                       name ? name : "");
        return -1;
    }
    char *token = json_pointer_join("", prop);
    char *base = xasprintf("%s/%zu", token, index);
    int rc = validate_node(items, base, item, errs);
    free(base);
    free(token);
    return rc;
}

/* ------------------------------------------------- member-wise checks ---- */

/* A node that only points elsewhere ({"$ref": ...}): its target. */
static const struct snode *through_ref(const struct snode *s)
{
    while (s && s->ref_target && !s->is_bool && !s->types && !s->enum_values && !s->const_value &&
           !s->nprops && !s->nrequired && s->additional == ADD_ANY && !s->property_names &&
           s->min_props < 0 && s->max_props < 0 && !s->nall && !s->nany && !s->none && !s->not_ &&
           !s->if_ && !s->items && s->min_items < 0 && s->max_items < 0 && !s->pattern &&
           s->min_len < 0 && s->max_len < 0 && !s->numflags && s->format == FMT_NONE)
        s = s->ref_target;
    return s;
}

/* Keywords that the member-wise check does not judge itself. */
static bool has_hard_keywords(const struct snode *s)
{
    return s->ref_target || s->const_value || s->nall || s->nany || s->none || s->not_ || s->if_ ||
           s->format != FMT_NONE;
}

const struct schema_node *schema_items_of(const struct schema_registry *reg, const char *name,
                                          const char *prop)
{
    const struct snode *root = schema_registry_find(reg, name);
    if (!root)
        return NULL;
    struct prop probe = {(char *)(uintptr_t)prop, NULL};
    const struct prop *p = root->nprops ? bsearch(&probe, root->props, root->nprops,
                                                  sizeof *root->props, schema_prop_cmp)
                                        : NULL;
    const struct snode *arr = p ? through_ref(p->schema) : NULL;
    const struct snode *items = arr ? through_ref(arr->items) : NULL;
    /* only an object node judged by its own properties qualifies */
    if (!items || items->is_bool || has_hard_keywords(items) || items->enum_values ||
        !(items->types & T_OBJECT) || items->property_names || items->nprops > 64)
        return NULL;
    return (const struct schema_node *)items;
}

static bool scalar_type_ok(unsigned types, const struct schema_scalar *v)
{
    switch (v->type) {
    case SCHEMA_SCALAR_NULL:
        return types & T_NULL;
    case SCHEMA_SCALAR_BOOL:
        return types & T_BOOLEAN;
    case SCHEMA_SCALAR_INTEGER:
        return types & (T_INTEGER | T_NUMBER);
    case SCHEMA_SCALAR_REAL:
        return types & T_NUMBER;
    case SCHEMA_SCALAR_STRING:
        return types & T_STRING;
    }
    return false;
}

static bool scalar_equal(const json_t *e, const struct schema_scalar *v)
{
    switch (v->type) {
    case SCHEMA_SCALAR_NULL:
        return json_is_null(e);
    case SCHEMA_SCALAR_BOOL:
        return json_is_boolean(e) && json_is_true(e) == v->boolean;
    case SCHEMA_SCALAR_INTEGER:
        return json_is_integer(e) && json_integer_value(e) == v->integer;
    case SCHEMA_SCALAR_REAL:
        return json_is_real(e) && json_real_value(e) == v->real;
    case SCHEMA_SCALAR_STRING:
        return json_is_string(e) && json_string_length(e) == v->len &&
               memcmp(json_string_value(e), v->str, v->len) == 0;
    }
    return false;
}

/* v_node for a scalar, certain answers only: false also when unsure. */
static bool scalar_surely_ok(const struct snode *s, const struct schema_scalar *v)
{
    if (s->is_bool)
        return s->bool_value;
    if (has_hard_keywords(s) || (s->types && !scalar_type_ok(s->types, v)))
        return false;
    if (s->enum_values) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(s->enum_values) && !found; i++)
            found = scalar_equal(json_array_get(s->enum_values, i), v);
        if (!found)
            return false;
    }
    if (v->type == SCHEMA_SCALAR_STRING) {
        if (s->min_len >= 0 || s->max_len >= 0) {
            size_t cps = schema_utf8_length(v->str, v->len);
            if ((s->min_len >= 0 && cps < (size_t)s->min_len) ||
                (s->max_len >= 0 && cps > (size_t)s->max_len))
                return false;
        }
        if (!s->pattern)
            return true;
        char text[256]; /* the matcher wants s[len] == '\0' (a stream's strings lie in the body) */
        if (v->len >= sizeof text)
            return false;
        memcpy(text, v->str, v->len);
        text[v->len] = '\0';
        return schema_pattern_match(s->pattern, text, v->len);
    }
    if (v->type == SCHEMA_SCALAR_INTEGER || v->type == SCHEMA_SCALAR_REAL) {
        double d = v->type == SCHEMA_SCALAR_INTEGER ? (double)v->integer : v->real;
        return !((s->numflags & NUM_MIN && d < s->minimum) ||
                 (s->numflags & NUM_MAX && d > s->maximum) ||
                 (s->numflags & NUM_XMIN && d <= s->xminimum) ||
                 (s->numflags & NUM_XMAX && d >= s->xmaximum));
    }
    return true;
}

bool schema_member_surely_ok(const struct schema_node *node, const char *key, size_t klen,
                             const struct schema_scalar *v, size_t *index)
{
    const struct snode *s = (const struct snode *)node;
    if (*index < s->nprops && strncmp(s->props[*index].name, key, klen) == 0 &&
        s->props[*index].name[klen] == '\0' && !memchr(key, '\0', klen))
        return scalar_surely_ok(s->props[*index].schema, v); /* the caller's guess was right */
    char name[128];
    if (klen >= sizeof name || memchr(key, '\0', klen))
        return false;
    memcpy(name, key, klen);
    name[klen] = '\0';
    struct prop probe = {name, NULL};
    const struct prop *p =
        s->nprops ? bsearch(&probe, s->props, s->nprops, sizeof *s->props, schema_prop_cmp) : NULL;
    if (!p)
        return false; /* additionalProperties decides: left to the full check */
    *index = (size_t)(p - s->props);
    return scalar_surely_ok(p->schema, v);
}

bool schema_object_surely_ok(const struct schema_node *node, const bool *seen)
{
    const struct snode *s = (const struct snode *)node;
    size_t n = 0;
    for (size_t i = 0; i < s->nprops; i++)
        n += seen[i];
    for (size_t r = 0; r < s->nrequired; r++) {
        struct prop probe = {s->required[r], NULL};
        const struct prop *p =
            s->nprops ? bsearch(&probe, s->props, s->nprops, sizeof *s->props, schema_prop_cmp)
                      : NULL;
        if (!p || !seen[p - s->props])
            return false;
    }
    return !(s->min_props >= 0 && n < (size_t)s->min_props) &&
           !(s->max_props >= 0 && n > (size_t)s->max_props);
}

const char *schema_node_prop_name(const struct schema_node *node, size_t i)
{
    const struct snode *s = (const struct snode *)node;
    return i < s->nprops ? s->props[i].name : NULL;
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
    size_t bom = utf8_bom_len(buf, len);
    buf += bom, len -= bom;
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
