/* Body validation: every keyword of the validator, load-time rejection of bad schemas,
 * the strict body parser, and every schema of proto/schemas against the SPEC section 11
 * bodies (tests/unit/fixtures) and against the mistakes a client makes, asserting the
 * JSON pointer and the message a user sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "schema.h"
#include "schema_pattern.h"
#include "util.h"

static struct schema_registry *reg; /* the embedded proto/schemas */

static char *read_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/%s", MAT_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    struct strbuf sb;
    strbuf_init(&sb);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_append(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb, NULL);
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("test JSON does not parse: %s (line %d)", e.text, e.line);
    return j;
}

struct exp {
    const char *path, *msg;
};

static void print_errors(const struct mat_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        print_message("  [%zu] %s : %s\n", i, errs->items[i].path, errs->items[i].message);
}

/* Validates text against schema in r and asserts exactly the errors e, in order. */
static void expect_in(struct schema_registry *r, const char *schema, const char *text,
                      const struct exp *e, size_t n)
{
    json_t *j = parse(text);
    struct mat_errors errs;
    mat_errors_init(&errs);
    int rc = schema_validate(r, schema, j, &errs);
    if (errs.count != n)
        print_errors(&errs);
    assert_int_equal(rc, n ? -1 : 0);
    assert_int_equal(errs.count, n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(errs.items[i].path, e[i].path) != 0 ||
            strcmp(errs.items[i].message, e[i].msg) != 0)
            print_errors(&errs);
        assert_string_equal(errs.items[i].path, e[i].path);
        assert_string_equal(errs.items[i].message, e[i].msg);
    }
    mat_errors_free(&errs);
    json_decref(j);
}

#define EXPECT(schema, text, ...)                                                                  \
    do {                                                                                           \
        const struct exp e_[] = {__VA_ARGS__};                                                     \
        expect_in(reg, schema, text, e_, ARRAY_LEN(e_));                                           \
    } while (0)
#define VALID(schema, text) expect_in(reg, schema, text, NULL, 0)

/* A registry of one inline schema "t.json" for the keyword tests. */
static struct schema_registry *one(const char *schema_text)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s", schema_text);
    struct embedded_file files[] = {{"t.json", buf, strlen(buf)}, {0, 0, 0}};
    char err[512];
    struct schema_registry *r = schema_registry_load(files, err, sizeof err);
    if (!r)
        fail_msg("inline schema does not load: %s", err);
    return r;
}

#define T_EXPECT(r, text, ...)                                                                     \
    do {                                                                                           \
        const struct exp e_[] = {__VA_ARGS__};                                                     \
        expect_in(r, "t.json", text, e_, ARRAY_LEN(e_));                                           \
    } while (0)
#define T_VALID(r, text) expect_in(r, "t.json", text, NULL, 0)

/* Asserts the schema fails to load with a message containing want. */
static void load_fails(const char *schema_text, const char *want)
{
    struct embedded_file files[] = {{"t.json", schema_text, strlen(schema_text)}, {0, 0, 0}};
    char err[512] = "";
    struct schema_registry *r = schema_registry_load(files, err, sizeof err);
    if (r || !strstr(err, want))
        print_message("schema: %s\nerror: %s\nwanted: %s\n", schema_text, err, want);
    assert_null(r);
    assert_non_null(strstr(err, want));
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    reg = schema_registry_load(schemas_files, err, sizeof err);
    if (!reg)
        fprintf(stderr, "schemas do not load: %s\n", err);
    return reg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    schema_registry_free(reg);
    return 0;
}

/* ---------------------------------------------------------- keywords ---- */

static void test_type(void **state)
{
    (void)state;
    struct schema_registry *r =
        one("{\"$id\": \"t.json\", \"type\": \"object\", \"properties\": {"
            "\"i\": {\"type\": \"integer\"}, \"n\": {\"type\": \"number\"},"
            "\"s\": {\"type\": [\"string\", \"null\"]},"
            "\"z\": {\"type\": \"null\"}, \"b\": {\"type\": \"boolean\"},"
            "\"a\": {\"type\": \"array\"}, \"o\": {\"type\": \"object\"}}}");
    T_VALID(r,
            "{\"i\": 3, \"n\": 3, \"s\": null, \"z\": null, \"b\": false, \"a\": [], \"o\": {}}");
    T_VALID(r, "{\"n\": 2.5, \"s\": \"x\"}");
    /* A JSON integer is a number; 1.0 is not an integer (stricter than 2020-12, so a
     * handler reading json_integer_value never sees a real). */
    T_EXPECT(r, "{\"i\": 1.0}", {"/i", "i must be an integer, not a number"});
    T_EXPECT(r, "{\"i\": \"3\", \"s\": 4, \"z\": 0, \"b\": \"true\", \"a\": {}, \"o\": []}",
             {"/i", "i must be an integer, not a string"},
             {"/s", "s must be a string or null, not an integer"},
             {"/z", "z must be null, not an integer"}, {"/b", "b must be a boolean, not a string"},
             {"/a", "a must be an array, not an object"},
             {"/o", "o must be an object, not an array"});
    T_EXPECT(r, "[]", {"", "the body must be an object, not an array"});
    schema_registry_free(r);
}

static void test_required_properties_additional(void **state)
{
    (void)state;
    struct schema_registry *r =
        one("{\"$id\": \"t.json\", \"type\": \"object\", \"additionalProperties\": false,"
            "\"required\": [\"urn\", \"name\"], \"properties\": {\"urn\": {\"type\": \"string\"},"
            "\"name\": {\"type\": \"string\"}, \"child\": {\"type\": \"object\", "
            "\"additionalProperties\": {\"type\": \"integer\"}, \"required\": [\"k\"]}}}");
    T_VALID(r, "{\"urn\": \"1\", \"name\": \"n\", \"child\": {\"k\": 1, \"other\": 2}}");
    T_EXPECT(r, "{\"colour\": \"blue\", \"name\": \"n\"}", {"/colour", "unknown field \"colour\""},
             {"/urn", "required field \"urn\" is missing"});
    T_EXPECT(r, "{\"urn\": \"1\", \"name\": \"n\", \"child\": {\"other\": \"x\"}}",
             {"/child/other", "other must be an integer, not a string"},
             {"/child/k", "required field \"k\" is missing"});
    /* RFC 6901 escaping of ~ and /, and a hostile key quoted safely in the message. */
    T_EXPECT(r, "{\"urn\": \"1\", \"name\": \"n\", \"a/b~c\": 1, \"q\\\"\\n\": 2}",
             {"/a~1b~0c", "unknown field \"a/b~c\""}, {"/q\"\n", "unknown field \"q\\\"\\u000a\""});
    /* A long key is cut between characters, so the message stays UTF-8. */
    struct strbuf key, body, want_path, want_msg;
    strbuf_init(&key);
    strbuf_init(&body);
    strbuf_init(&want_path);
    strbuf_init(&want_msg);
    for (int i = 0; i < 70; i++)
        strbuf_puts(&key, "\xc3\xa9");
    strbuf_printf(&body, "{\"urn\": \"1\", \"name\": \"n\", \"%s\": 1}", key.data);
    strbuf_printf(&want_path, "/%s", key.data);
    strbuf_printf(&want_msg, "unknown field \"%.*s...\"", 128, key.data);
    const struct exp long_key[] = {{want_path.data, want_msg.data}};
    expect_in(r, "t.json", body.data, long_key, 1);
    strbuf_free(&key);
    strbuf_free(&body);
    strbuf_free(&want_path);
    strbuf_free(&want_msg);
    schema_registry_free(r);
}

static void test_enum_const(void **state)
{
    (void)state;
    struct schema_registry *r =
        one("{\"$id\": \"t.json\", \"properties\": {\"band\": {\"enum\": [\"below\", \"towards\", "
            "\"expected\", \"greater_depth\"]}, \"rank\": {\"enum\": [1, 2, 3, null]},"
            "\"v\": {\"const\": \"ofsted_2025\"}, \"one\": {\"const\": 1}}}");
    T_VALID(r, "{\"band\": \"expected\", \"rank\": null, \"v\": \"ofsted_2025\", \"one\": 1}");
    T_EXPECT(r, "{\"band\": \"Expected\", \"rank\": 4, \"v\": \"ofsted_2019\", \"one\": 1.0}",
             {"/band", "band must be one of: below, towards, expected, greater_depth"},
             {"/rank", "rank must be one of: 1, 2, 3, null"}, {"/v", "v must be ofsted_2025"},
             {"/one", "one must be 1"});
    schema_registry_free(r);
}

static void test_strings(void **state)
{
    (void)state;
    struct schema_registry *r = one(
        "{\"$id\": \"t.json\", \"properties\": {"
        "\"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 3},"
        "\"two\": {\"type\": \"string\", \"minLength\": 2},"
        "\"urn\": {\"type\": \"string\", \"pattern\": \"^[0-9]{6}$\", \"description\": \"a URN\"},"
        "\"code\": {\"type\": \"string\", \"pattern\": \"[A-Z]+\"},"
        "\"d\": {\"type\": \"string\", \"format\": \"date\"}}}");
    /* Lengths count code points: "été" is 3 characters in 5 bytes. */
    T_VALID(r, "{\"name\": \"\xc3\xa9t\xc3\xa9\", \"two\": \"ab\", \"urn\": \"100001\", "
               "\"code\": \"xYz\", \"d\": \"2024-02-29\"}");
    T_EXPECT(r, "{\"name\": \"\", \"two\": \"a\", \"urn\": \"10001\", \"code\": \"abc\"}",
             {"/name", "name must not be empty"},
             {"/two", "two must be at least 2 characters long"},
             {"/urn", "urn must be a URN (pattern ^[0-9]{6}$)"},
             {"/code", "code must match the pattern [A-Z]+"});
    T_EXPECT(r, "{\"name\": \"abcd\"}",
             {"/name", "name must be at most 3 characters long (it has 4)"});
    const char *bad_dates[] = {"2025-02-30",           "2025-02-29", "2025-13-01", "2025-1-01",
                               "2025-01-01T00:00:00Z", "01/02/2025", "2025-00-10", "2025-04-31"};
    for (size_t i = 0; i < ARRAY_LEN(bad_dates); i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"d\": \"%s\"}", bad_dates[i]);
        T_EXPECT(r, body, {"/d", "d must be a real calendar date written YYYY-MM-DD"});
    }
    T_VALID(r, "{\"d\": \"2000-02-29\"}");
    T_VALID(r, "{\"d\": \"2025-12-31\"}");
    schema_registry_free(r);
}

static void test_numbers(void **state)
{
    (void)state;
    struct schema_registry *r =
        one("{\"$id\": \"t.json\", \"properties\": {"
            "\"p\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 100},"
            "\"z\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"exclusiveMaximum\": 10.5}}}");
    T_VALID(r, "{\"p\": 0, \"z\": 0.001}");
    T_VALID(r, "{\"p\": 100, \"z\": 10.4}");
    T_EXPECT(r, "{\"p\": -0.5, \"z\": 0}", {"/p", "p must be >= 0"}, {"/z", "z must be > 0"});
    T_EXPECT(r, "{\"p\": 100.01, \"z\": 10.5}", {"/p", "p must be <= 100"},
             {"/z", "z must be < 10.5"});
    schema_registry_free(r);
}

static void test_arrays(void **state)
{
    (void)state;
    struct schema_registry *r = one(
        "{\"$id\": \"t.json\", \"properties\": {\"themes\": {\"type\": \"array\", \"minItems\": 1,"
        "\"maxItems\": 3, \"uniqueItems\": true, \"items\": {\"type\": \"string\"}},"
        "\"grid\": {\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": "
        "{\"type\": \"integer\"}}}}}");
    T_VALID(r, "{\"themes\": [\"a\", \"b\"], \"grid\": [[1], [2, 3]]}");
    T_EXPECT(r, "{\"themes\": []}", {"/themes", "themes must have at least 1 item"});
    T_EXPECT(r, "{\"themes\": [\"a\", \"b\", \"a\", 4]}",
             {"/themes", "themes must have at most 3 items"},
             {"/themes/3", "themes[3] must be a string, not an integer"});
    T_EXPECT(r, "{\"themes\": [\"a\", \"b\", \"a\"]}", {"/themes/2", "themes[2] repeats item 0"});
    T_EXPECT(r, "{\"grid\": [[1], [2, \"x\"]]}",
             {"/grid/1/1", "grid[1][1] must be an integer, not a string"});
    schema_registry_free(r);
}

static void test_objects_size_and_names(void **state)
{
    (void)state;
    struct schema_registry *r = one(
        "{\"$id\": \"t.json\", \"type\": \"object\", \"minProperties\": 1, \"maxProperties\": 2,"
        "\"propertyNames\": {\"pattern\": \"^[a-z]+$\"}}");
    T_VALID(r, "{\"a\": 1, \"b\": 2}");
    T_EXPECT(r, "{}", {"", "the body must have at least 1 field"});
    T_EXPECT(r, "{\"a\": 1, \"b\": 2, \"c\": 3}", {"", "the body must have at most 2 fields"});
    T_EXPECT(r, "{\"A1\": 1}", {"/A1", "field name \"A1\" is not allowed"});
    schema_registry_free(r);
}

static void test_ref_and_combinators(void **state)
{
    (void)state;
    struct schema_registry *r = one(
        "{\"$id\": \"t.json\", \"type\": \"object\", \"properties\": {"
        "\"a\": {\"$ref\": \"#/$defs/urn\"},"
        "\"all\": {\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 5}]},"
        "\"any\": {\"anyOf\": [{\"type\": \"null\"}, {\"type\": \"string\", \"maxLength\": 2}]},"
        "\"obj\": {\"anyOf\": [{\"type\": \"null\"}, {\"$ref\": \"#/$defs/person\"}]},"
        "\"one\": {\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]},"
        "\"no\": {\"not\": {\"const\": \"admin\", \"description\": \"the reserved name admin\"}},"
        "\"f\": {\"type\": \"boolean\"}, \"g\": {\"type\": \"string\"}, \"never\": false, "
        "\"always\": true},"
        "\"if\": {\"required\": [\"f\"], \"properties\": {\"f\": {\"const\": true}}},"
        "\"then\": {\"required\": [\"g\"]}, \"else\": {\"properties\": {\"g\": {\"maxLength\": "
        "0}}},"
        "\"$defs\": {\"urn\": {\"type\": \"string\", \"pattern\": \"^[0-9]{6}$\"},"
        "\"person\": {\"type\": \"object\", \"required\": [\"name\"], \"properties\": "
        "{\"name\": {\"type\": \"string\"}}}}}");
    T_VALID(r, "{\"a\": \"123456\", \"all\": 7, \"any\": null, \"obj\": {\"name\": \"x\"}, "
               "\"one\": 1, \"no\": \"x\", \"always\": [1]}");
    T_VALID(r, "{\"any\": \"ab\", \"obj\": null, \"one\": 2.5, \"f\": true, \"g\": \"x\"}");
    T_EXPECT(r, "{\"a\": \"12345\"}", {"/a", "a must match the pattern ^[0-9]{6}$"});
    T_EXPECT(r, "{\"all\": 3}", {"/all", "all must be >= 5"});
    T_EXPECT(r, "{\"all\": 7.5}", {"/all", "all must be an integer, not a number"});
    /* anyOf: no branch fits the shape: say what each wanted. */
    T_EXPECT(r, "{\"any\": 5}",
             {"/any", "any must be null, not an integer, or must be a string, not an integer"});
    T_EXPECT(r, "{\"any\": \"abc\"}",
             {"/any",
              "any must be null, not a string, or must be at most 2 characters long (it has 3)"});
    /* anyOf: one branch fits the shape and fails deeper: its errors are the useful ones. */
    T_EXPECT(r, "{\"obj\": {}}", {"/obj/name", "required field \"name\" is missing"});
    T_EXPECT(r, "{\"one\": 3}",
             {"/one", "one matches 2 of the alternatives; exactly one is allowed"});
    T_EXPECT(r, "{\"one\": 1.5}",
             {"/one", "one must be an integer, not a number, or must be >= 2"});
    T_EXPECT(r, "{\"no\": \"admin\"}", {"/no", "no must not be the reserved name admin"});
    T_EXPECT(r, "{\"never\": 1}", {"/never", "never is not allowed here"});
    T_EXPECT(r, "{\"f\": true}", {"/g", "required field \"g\" is missing"});
    T_EXPECT(r, "{\"f\": false, \"g\": \"x\"}",
             {"/g", "g must be at most 0 characters long (it has 1)"});
    schema_registry_free(r);
}

static void test_every_violation_reported_and_bounded(void **state)
{
    (void)state;
    struct schema_registry *r =
        one("{\"$id\": \"t.json\", \"type\": \"array\", \"items\": {\"type\": \"object\", "
            "\"additionalProperties\": false, \"required\": [\"a\", \"b\"], "
            "\"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"integer\"}}}}");
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "[");
    for (int i = 0; i < 75; i++)
        strbuf_printf(&sb, "%s{\"a\": \"x\"}", i ? "," : "");
    strbuf_puts(&sb, "]");
    json_t *j = parse(sb.data);
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(schema_validate(r, "t.json", j, &errs), -1);
    assert_int_equal(errs.count, MAT_ERRORS_MAX);
    assert_int_equal(errs.dropped, 150 - MAT_ERRORS_MAX);
    assert_string_equal(errs.items[0].path, "/0/a");
    assert_string_equal(errs.items[0].message, "a must be an integer, not a string");
    assert_string_equal(errs.items[1].path, "/0/b");
    assert_string_equal(errs.items[99].path, "/49/b");
    assert_string_equal(errs.items[99].message, "required field \"b\" is missing");
    mat_errors_free(&errs);
    json_decref(j);
    strbuf_free(&sb);
    /* Unknown schema name: a programming error, reported, not a crash. */
    j = parse("{}");
    mat_errors_init(&errs);
    assert_int_equal(schema_validate(r, "nope.json", j, &errs), -1);
    assert_int_equal(errs.count, 1);
    assert_false(schema_registry_has(r, "nope.json"));
    assert_true(schema_registry_has(r, "t.json"));
    mat_errors_free(&errs);
    json_decref(j);
    schema_registry_free(r);
}

/* The pattern matcher against answers worked out by hand from POSIX ERE semantics (not
 * from any matcher), for patterns on both paths: the fast path must really be taken where
 * it should (else the random comparison below would compare regexec with itself). */
static void test_pattern_known_answers(void **state)
{
    (void)state;
    static const struct {
        const char *pattern;
        bool fast;
        const char *s;
        bool match;
    } cases[] = {
        {"^[0-9]{6}$", true, "100001", true},
        {"^[0-9]{6}$", true, "10001", false},
        {"^[0-9]{6}$", true, "1000011", false},
        {"^[0-9]{6}$", true, "10000a", false},
        {"^[A-Za-z0-9_-]{1,64}$", true, "B801200005001", true},
        {"^[A-Za-z0-9_-]{1,64}$", true, "a b", false},
        {"^[A-Za-z0-9_-]{1,64}$", true, "", false},
        {"^[a-z][a-z0-9_]{0,31}$", true, "writing", true},
        {"^[a-z][a-z0-9_]{0,31}$", true, "Writing", false},
        {"^[a-z][a-z0-9_]{0,31}$", true, "w", true},
        {"^[0-9]{4}-[0-9]{2}$", true, "2025-26", true},
        {"^[0-9]{4}-[0-9]{2}$", true, "2025-2", false},
        {"^a*a$", true, "a", true},
        {"^a*a$", true, "aaaa", true},
        {"^a*a$", true, "", false},
        {"^[ab]?b+[^a-c]{2,}$", true, "bbzz", true},
        {"^[ab]?b+[^a-c]{2,}$", true, "abzz", true},
        {"^[ab]?b+[^a-c]{2,}$", true, "abz", false},
        {"^[ab]?b+[^a-c]{2,}$", true, "bbcz", false},
        {"^x\\.y$", true, "x.y", true},
        {"^x\\.y$", true, "xzy", false},
        {"^[]a]+$", true, "]a]", true},
        {"^[]a]+$", true, "b", false},
        {"^$", true, "", true},
        {"^$", true, "a", false},
        {"ab", false, "xaby", true}, /* unanchored: regexec */
        {"ab", false, "ba", false},
        {"^(a|b)c$", false, "bc", true},
        {"^(a|b)c$", false, "cc", false},
        {"^.{2}$", false, "xy", true},
        {"^.{2}$", false, "xyz", false},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char err[128];
        struct schema_pattern *pt = schema_pattern_compile(cases[i].pattern, err, sizeof err);
        assert_non_null(pt);
        if (schema_pattern_is_fast(pt) != cases[i].fast)
            fail_msg("pattern %s: fast path %d, expected %d", cases[i].pattern,
                     schema_pattern_is_fast(pt), cases[i].fast);
        bool got = schema_pattern_match(pt, cases[i].s, strlen(cases[i].s));
        if (got != cases[i].match)
            fail_msg("pattern %s on \"%s\": %d, expected %d", cases[i].pattern, cases[i].s, got,
                     cases[i].match);
        assert_false(schema_pattern_match(pt, "a\0b", 3)); /* an embedded NUL never matches */
        schema_pattern_free(pt);
    }
    char err[128] = "";
    assert_null(schema_pattern_compile("^[a-$", err, sizeof err));
    assert_true(err[0]);
}

/* The fast pattern matcher must agree with regexec on every string (a differential test:
 * the known answers above show the fast path is the one being compared). */
static void test_pattern_fast_path_agrees_with_regexec(void **state)
{
    (void)state;
    static const char *const patterns[] = {
        "^[0-9]{6}$",
        "^[A-Za-z0-9_-]{1,64}$",
        "^[a-z][a-z0-9_]{0,31}$",
        "^[0-9]{4}-[0-9]{2}$",
        "^a*a$",
        "^[ab]?b+[^a-c]{2,}$",
        "^x\\.y$",
        "^[]a]+$",
        "^[-a]{0,3}z*$",
        "^$",
        "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$",
        "ab",
        "^(a|b)c$",
        "^.{2}$",
    };
    const char alphabet[] = "ab-z09AZ. ]_c\xc3\xa9";
    unsigned seed = 12345;
    for (size_t p = 0; p < ARRAY_LEN(patterns); p++) {
        char schema[512];
        json_t *pj = json_string(patterns[p]);
        char *quoted = json_dumps(pj, JSON_ENCODE_ANY);
        snprintf(schema, sizeof schema,
                 "{\"$id\": \"t.json\", \"type\": \"string\", \"pattern\": %s}", quoted);
        free(quoted);
        json_decref(pj);
        struct schema_registry *r = one(schema);
        regex_t re;
        assert_int_equal(regcomp(&re, patterns[p], REG_EXTENDED | REG_NOSUB), 0);
        for (int t = 0; t < 3000; t++) {
            char s[16];
            seed = seed * 1103515245u + 12345u;
            size_t len = (seed >> 16) % 12;
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                s[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            }
            s[len] = '\0';
            if (!schema_utf8_valid(s, len, NULL))
                continue;
            json_t *j = json_string(s);
            struct mat_errors errs;
            mat_errors_init(&errs);
            int got = schema_validate(r, "t.json", j, &errs);
            int want = regexec(&re, s, 0, NULL, 0) == 0 ? 0 : -1;
            if (got != want)
                print_message("pattern %s string \"%s\": validator %d regexec %d\n", patterns[p], s,
                              got, want);
            assert_int_equal(got, want);
            mat_errors_free(&errs);
            json_decref(j);
        }
        regfree(&re);
        schema_registry_free(r);
    }
}

/* -------------------------------------------------- schema load checks ---- */

static void test_bad_schemas_fail_to_load(void **state)
{
    (void)state;
    load_fails("{\"$id\": \"t.json\", \"contains\": {}}", "unsupported keyword \"contains\"");
    load_fails("{\"$id\": \"t.json\", \"properties\": {\"a\": {\"dependentRequired\": {}}}}",
               "t.json#/properties/a/dependentRequired: unsupported keyword");
    load_fails("{\"$id\": \"t.json\", \"type\": \"string\", \"format\": \"email\"}",
               "only format \"date\"");
    load_fails("{\"$id\": \"other.json\"}", "$id must equal the file name");
    load_fails("{\"type\": \"object\"}", "the root needs \"$id\"");
    load_fails("{\"$id\": \"t.json\", \"$schema\": \"http://json-schema.org/draft-07/schema#\"}",
               "$schema must be");
    load_fails("{\"$id\": \"t.json\", \"$ref\": \"other.json#/x\"}", "only local references");
    load_fails("{\"$id\": \"t.json\", \"$ref\": \"#/$defs/missing\"}", "unresolved $ref");
    load_fails("{\"$id\": \"t.json\", \"$ref\": \"#/$defs/a\", \"$defs\": {\"a\": "
               "{\"$ref\": \"#/$defs/b\"}, \"b\": {\"allOf\": [{\"$ref\": \"#/$defs/a\"}]}}}",
               "reference cycle");
    load_fails("{\"$id\": \"t.json\", \"type\": \"string\", \"pattern\": \"([a-z\"}",
               "does not compile");
    load_fails("{\"$id\": \"t.json\", \"type\": \"strin\"}", "unknown or repeated type");
    load_fails("{\"$id\": \"t.json\", \"type\": \"object\", \"additionalProperties\": false, "
               "\"required\": [\"a\"], \"properties\": {\"b\": true}}",
               "required \"a\" is not among the allowed properties");
    load_fails("{\"$id\": \"t.json\", \"minLength\": 3, \"maxLength\": 2}", "lower bound exceeds");
    load_fails("{\"$id\": \"t.json\", \"type\": \"integer\", \"maxLength\": 2}",
               "maxLength has no effect");
    load_fails("{\"$id\": \"t.json\", \"then\": {}}", "then/else without if");
    load_fails("{\"$id\": \"t.json\", \"type\": \"array\", \"uniqueItems\": true}",
               "uniqueItems needs maxItems");
    load_fails("{\"$id\": \"t.json\", \"a\": 1, \"a\": 2}", "malformed JSON");
    load_fails("{\"$id\": \"t.json\", \"items\": [{}]}", "items must be one schema");
    load_fails("{\"$id\": \"t.json\", \"enum\": []}", "enum must be a non-empty array");
    load_fails("{\"$id\": \"t.json\", \"minimum\": \"3\"}", "minimum must be a number");
    load_fails("{\"$id\": \"t.json\", \"properties\": {\"a\": 3}}",
               "must be an object or a boolean");
    load_fails("{\"$id\": \"t.json\", \"properties\": {\"a\": {\"$defs\": {}}}}",
               "at the root only");
}

/* ---------------------------------------------------------- body parse ---- */

static void parse_fails(const char *buf, size_t len, const char *want)
{
    struct mat_errors errs;
    mat_errors_init(&errs);
    json_t *doc = (json_t *)1;
    assert_int_equal(schema_parse_body(buf, len, &doc, &errs), -1);
    assert_null(doc);
    assert_int_equal(errs.count, 1);
    if (strcmp(errs.items[0].message, want) != 0)
        print_errors(&errs);
    assert_string_equal(errs.items[0].path, "");
    assert_string_equal(errs.items[0].message, want);
    mat_errors_free(&errs);
}

static void test_parse_body(void **state)
{
    (void)state;
    parse_fails("", 0, "the body is empty; send a JSON object");
    parse_fails(" \r\n", 3, "the body is empty; send a JSON object");
    parse_fails("{\"a\": \"\xc3\x28\"}", 10, "the body is not valid UTF-8 (byte offset 7)");
    parse_fails("{\"a\": \"\xed\xa0\x80\"}", 11, "the body is not valid UTF-8 (byte offset 7)");
    parse_fails("{\"a\": \"\xc0\xaf\"}", 10, "the body is not valid UTF-8 (byte offset 7)");
    const char *broken = "{\"urn\": \"100020\",\n \"name\": }";
    parse_fails(broken, strlen(broken),
                "malformed JSON at line 2, column 10: unexpected token near '}'");
    const char *dup = "{\"a\": 1, \"a\": 2}";
    parse_fails(dup, strlen(dup),
                "malformed JSON at line 1, column 12: duplicate object key near '\"a\"'");
    parse_fails("[1, 2]", 6, "the body must be a JSON object, not an array");
    parse_fails("\"x\"", 3, "the body must be a JSON object, not a string");
    const char *nul = "{\"a\": \"x\\u0000y\"}";
    assert_true(strlen(nul) > 0);
    struct mat_errors errs;
    mat_errors_init(&errs);
    json_t *doc = NULL;
    assert_int_equal(schema_parse_body(nul, strlen(nul), &doc, &errs), -1);
    assert_non_null(strstr(errs.items[0].message, "malformed JSON"));
    mat_errors_free(&errs);
    const char *bom = "\xef\xbb\xbf{\"a\": \"\xc3\xa9\"}";
    assert_int_equal(schema_parse_body(bom, strlen(bom), &doc, &errs), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "a")), "\xc3\xa9");
    assert_int_equal(errs.count, 0);
    json_decref(doc);
    /* jansson's excerpt can stop inside a character: the message must stay UTF-8 (found
     * by fuzz_progress_json). */
    const char *esc = "{\"re\\\xde\x9b\\d\": 1}";
    parse_fails(esc, strlen(esc),
                "malformed JSON at line 1, column 6: invalid escape near '\"re\\?'");
    /* Trailing garbage after the object is malformed too. */
    parse_fails("{} x", 4, "malformed JSON at line 1, column 4: end of file expected near 'x'");
}

static void test_utf8(void **state)
{
    (void)state;
    size_t off = 99;
    assert_true(schema_utf8_valid("\xf0\x9f\x98\x80 ok \xe2\x82\xac", 11, &off));
    assert_false(schema_utf8_valid("ab\xf4\x90\x80\x80", 6, &off)); /* > U+10FFFF */
    assert_int_equal(off, 2);
    assert_false(schema_utf8_valid("\xe2\x82", 2, &off)); /* truncated */
    assert_int_equal(off, 0);
    assert_false(schema_utf8_valid("a\x80", 2, &off));
    assert_int_equal(off, 1);
    assert_false(schema_utf8_valid("\xe0\x80\x80", 3, &off)); /* overlong */
    assert_int_equal(schema_utf8_length("\xc3\xa9t\xc3\xa9", 5), 3);
}

/* --------------------------------------- the product's schemas: accept ---- */

static void accepts_fixture(const char *schema, const char *fixture)
{
    char *text = read_fixture(fixture);
    expect_in(reg, schema, text, NULL, 0);
    free(text);
}

static void test_every_schema_loads(void **state)
{
    (void)state;
    static const char *const names[] = {"benchmarks.json",    "milestone_patch.json",
                                        "progress.json",      "review.json",
                                        "rota_create.json",   "school_create.json",
                                        "school_patch.json",  "sef.json",
                                        "sip.json",           "success_criterion_patch.json",
                                        "terms.json",         "thresholds.json",
                                        "token_create.json",  "import_profile.json",
                                        "pupils_lookup.json", "expert.json"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        assert_true(schema_registry_has(reg, names[i]));
    /* ... and every schema compiled into the binary, whatever routes add later. */
    for (size_t i = 0; i < schemas_count; i++)
        if (!schema_registry_has(reg, schemas_files[i].name))
            fail_msg("%s did not load", schemas_files[i].name);
}

static void test_spec_bodies_accepted(void **state)
{
    (void)state;
    /* SPEC section 11, verbatim (the SEF with its "…" area elided: see below). */
    accepts_fixture("school_create.json", "school_create.json");
    accepts_fixture("sef.json", "sef_2025.json");
    accepts_fixture("progress.json", "progress.json");
    accepts_fixture("sip.json", "sip.json");
    accepts_fixture("benchmarks.json", "benchmarks.json");
    accepts_fixture("terms.json", "terms.json");
    accepts_fixture("rota_create.json", "rota_create.json");
    /* The other bodies, as the SPEC describes them. */
    accepts_fixture("sef.json", "sef_2019.json");
    accepts_fixture("school_patch.json", "school_patch.json");
    accepts_fixture("milestone_patch.json", "milestone_patch.json");
    accepts_fixture("success_criterion_patch.json", "success_criterion_patch.json");
    accepts_fixture("token_create.json", "token_create.json");
    accepts_fixture("thresholds.json", "thresholds.json");
    accepts_fixture("review.json", "review.json");
    /* The SPEC's "…": {} stands for more areas; sent literally it is an unknown area. */
    EXPECT("sef.json",
           "{\"framework\": \"ofsted_2025\", \"safeguarding\": \"met\", \"areas\": "
           "{\"achievement\": {\"grade\": \"needs_attention\"}, \"\xe2\x80\xa6\": {}}}",
           {"/areas/\xe2\x80\xa6", "unknown field \"\xe2\x80\xa6\""});
    VALID("thresholds.json", "{}");
    VALID("thresholds.json", "{\"complementary_suppression\": true}");
    VALID("token_create.json", "{\"role\": \"admin\"}");
    VALID("token_create.json", "{\"role\": \"school\", \"schools\": [\"100001\"]}");
}

/* --------------------------------------- the product's schemas: reject ---- */

static void test_school_rejections(void **state)
{
    (void)state;
    /* One body with every mistake: every one is reported. */
    EXPECT("school_create.json",
           "{\"urn\": \"10002\", \"phase\": \"college\", \"laestab\": \"12\", \"colour\": \"blue\","
           " \"pupils_on_roll\": \"many\", \"lat\": 123.0, \"lon\": -1.5, \"joined_on\": "
           "\"2025-02-30\", \"postcode\": \"not a postcode\", \"category\": \"no\"}",
           {"/urn", "urn must be a URN: six digits (pattern ^[0-9]{6}$)"},
           {"/phase", "phase must be one of: nursery, primary, middle, secondary, all_through, "
                      "special, alternative_provision"},
           {"/laestab", "laestab must be an LAEstab: seven digits (pattern ^[0-9]{7}$)"},
           {"/colour", "unknown field \"colour\""},
           {"/pupils_on_roll", "pupils_on_roll must be an integer or null, not a string"},
           {"/lat", "lat must be <= 90"},
           {"/joined_on", "joined_on must be a real calendar date written YYYY-MM-DD"},
           {"/postcode", "postcode must be at most 8 characters long (it has 14)"},
           {"/postcode", "postcode must be a UK postcode such as CV1 2AB (pattern "
                         "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$)"},
           {"/category", "category must be a boolean, not a string"},
           {"/name", "required field \"name\" is missing"});
    EXPECT("school_patch.json", "{}", {"", "the body must have at least 1 field"});
    EXPECT("school_patch.json", "{\"urn\": \"100001\", \"name\": null}",
           {"/urn", "unknown field \"urn\""}, {"/name", "name must be a string, not null"});
}

static void test_sef_rejections(void **state)
{
    (void)state;
    /* Grades and area names are checked per framework. */
    EXPECT("sef.json",
           "{\"framework\": \"ofsted_2025\", \"safeguarding\": \"effective\", \"areas\": "
           "{\"achievement\": {\"grade\": \"good\"}, \"quality_of_education\": {\"grade\": "
           "\"good\"}, \"inclusion\": {\"strengths\": \"x\", \"colour\": 1}}}",
           {"/safeguarding", "safeguarding must be one of: met, not_met"},
           {"/areas/achievement/grade",
            "grade must be one of: urgent_improvement, needs_attention, expected_standard, "
            "strong_standard, exceptional"},
           {"/areas/quality_of_education", "unknown field \"quality_of_education\""},
           {"/areas/inclusion/colour", "unknown field \"colour\""},
           {"/areas/inclusion/grade", "required field \"grade\" is missing"});
    EXPECT("sef.json",
           "{\"framework\": \"ofsted_2019\", \"areas\": {\"inclusion\": {\"grade\": \"good\"}, "
           "\"sixth_form\": {\"grade\": \"exceptional\"}}}",
           {"/areas/inclusion", "unknown field \"inclusion\""},
           {"/areas/sixth_form/grade",
            "grade must be one of: inadequate, requires_improvement, good, outstanding"});
    EXPECT("sef.json",
           "{\"framework\": \"ofsted_2025\", \"areas\": {\"achievement\": {\"grade\": "
           "\"exceptional\"}}}",
           {"/safeguarding", "required field \"safeguarding\" is missing"});
    /* An unknown framework is one error, not a cascade over the areas. */
    EXPECT("sef.json", "{\"framework\": \"ofsted_2030\", \"areas\": {\"x\": {}}}",
           {"/framework", "framework must be one of: ofsted_2025, ofsted_2019"});
    EXPECT("sef.json", "{\"areas\": {}}", {"/areas", "areas must have at least 1 field"},
           {"/framework", "required field \"framework\" is missing"});
}

static void test_sip_rejections(void **state)
{
    (void)state;
    char *text = read_fixture("sip.json");
    json_t *sip = parse(text);
    free(text);
    json_t *p0 = json_array_get(json_object_get(sip, "priorities"), 0);
    json_t *m0 = json_array_get(json_object_get(p0, "milestones"), 0);
    json_object_set_new(m0, "status", json_string("done"));
    json_array_append_new(json_object_get(p0, "themes"), json_string("writing"));
    json_object_set_new(p0, "start_date", json_string("2025-02-30"));
    json_object_set_new(p0, "ranking", json_integer(4));
    json_object_del(json_object_get(p0, "governor_approval"), "date");
    json_object_del(json_object_get(p0, "plan"), "heads_report");
    json_object_set_new(json_object_get(p0, "lead"), "email", json_string("x@y"));
    json_t *sc0 = json_array_get(json_object_get(p0, "success_criteria"), 0);
    json_object_set_new(sc0, "status", json_string("on_track"));
    json_object_set_new(p0, "ref", json_string("P 1/2"));
    char *body = json_dumps(sip, 0);
    EXPECT(
        "sip.json", body,
        {"/priorities/0/ref", "ref must be a reference of up to 32 letters, digits, '.', '_' "
                              "or '-' (pattern ^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$)"},
        {"/priorities/0/themes/2", "themes[2] repeats item 0"},
        {"/priorities/0/ranking", "ranking must be one of: 1, 2, 3"},
        {"/priorities/0/start_date", "start_date must be a real calendar date written YYYY-MM-DD"},
        {"/priorities/0/lead/email", "unknown field \"email\""},
        {"/priorities/0/governor_approval/date", "required field \"date\" is missing"},
        {"/priorities/0/plan/heads_report", "required field \"heads_report\" is missing"},
        {"/priorities/0/success_criteria/0/status",
         "status must be one of: not_started, in_progress, not_met, partially_met, met"},
        {"/priorities/0/milestones/0/status",
         "status must be one of: not_started, on_track, at_risk, off_track, complete"});
    free(body);
    json_decref(sip);
    EXPECT("sip.json", "{\"priorities\": [{\"ref\": \"P1\"}]}",
           {"/priorities/0/title", "required field \"title\" is missing"},
           {"/priorities/0/area_of_practice", "required field \"area_of_practice\" is missing"},
           {"/priorities/0/themes", "required field \"themes\" is missing"},
           {"/priorities/0/ranking", "required field \"ranking\" is missing"},
           {"/priorities/0/start_date", "required field \"start_date\" is missing"},
           {"/priorities/0/final_review_date", "required field \"final_review_date\" is missing"},
           {"/priorities/0/lead", "required field \"lead\" is missing"},
           {"/priorities/0/success_criteria", "required field \"success_criteria\" is missing"},
           {"/priorities/0/milestones", "required field \"milestones\" is missing"},
           {"/key_drivers", "required field \"key_drivers\" is missing"});
    EXPECT(
        "milestone_patch.json", "{\"status\": \"done\", \"evidence\": 3}",
        {"/status", "status must be one of: not_started, on_track, at_risk, off_track, complete"},
        {"/evidence", "evidence must be a string, not an integer"});
    EXPECT("success_criterion_patch.json", "{\"status\": \"complete\"}",
           {"/status",
            "status must be one of: not_started, in_progress, not_met, partially_met, met"});
    EXPECT("milestone_patch.json", "{}", {"", "the body must have at least 1 field"});
}

static void test_progress_rejections(void **state)
{
    (void)state;
    EXPECT("progress.json",
           "{\"records\": [{\"pupil\": \"B801200005001\", \"year_group\": \"14\", \"subject\": "
           "\"Writing\", \"band\": \"excellent\", \"score\": 150, \"attendance_pct\": -1, "
           "\"disadvantaged\": \"yes\", \"send\": \"sen\", \"sex\": \"F\", \"colour\": 1}, "
           "{\"pupil\": \"a b\", \"year_group\": 6, \"subject\": \"maths\"}], \"school\": 1}",
           {"/records/0/year_group", "year_group must be one of: N, R, 1, 2, 3, 4, 5, 6, 7, 8, "
                                     "9, 10, 11, 12, 13"},
           {"/records/0/subject", "subject must be a subject of the trust's vocabulary (reading, "
                                  "writing, maths, science, gps, english, ...) (pattern "
                                  "^[a-z][a-z0-9_]{0,31}$)"},
           {"/records/0/score", "score must be <= 120"},
           {"/records/0/attendance_pct", "attendance_pct must be >= 0"},
           {"/records/0/disadvantaged", "disadvantaged must be a boolean or null, not a string"},
           {"/records/0/send", "send must be one of: none, support, ehcp, null"},
           {"/records/0/sex", "sex must be one of: f, m, x, null"},
           {"/records/0/colour", "unknown field \"colour\""},
           {"/records/1/pupil", "pupil must be a UPN or the school's own pupil id (1-64 letters, "
                                "digits, '_' or '-') (pattern ^[A-Za-z0-9_-]{1,64}$)"},
           {"/records/1/year_group", "year_group must be one of: N, R, 1, 2, 3, 4, 5, 6, 7, 8, 9, "
                                     "10, 11, 12, 13"},
           {"/school", "unknown field \"school\""});
    EXPECT("progress.json", "{\"records\": {}}",
           {"/records", "records must be an array, not an object"});
    EXPECT("progress.json", "{}", {"/records", "required field \"records\" is missing"});
}

static void test_reference_rejections(void **state)
{
    (void)state;
    EXPECT("benchmarks.json",
           "{\"items\": [{\"subject\": \"writing\", \"group\": \"pp\", \"expected\": 72}, "
           "{\"subject\": \"maths\", \"expected\": 0.7, \"greater_depth\": 1.5}]}",
           {"/items/0/group", "group must be one of: all, disadvantaged, not_disadvantaged, send, "
                              "send_support, ehcp, eal, looked_after, girls, boys, prior_low, "
                              "prior_middle, prior_high"},
           {"/items/0/expected", "expected must be <= 1"},
           {"/items/1/greater_depth", "greater_depth must be <= 1"},
           {"/items/1/group", "required field \"group\" is missing"});
    EXPECT("terms.json", "{\"autumn\": \"2025-09-01\", \"spring\": \"2026-02-30\"}",
           {"/spring", "spring must be a real calendar date written YYYY-MM-DD"},
           {"/summer", "required field \"summer\" is missing"});
    EXPECT("thresholds.json",
           "{\"min_cohort\": 1.5, \"z_crit\": 0, \"gap_points\": 101, "
           "\"trend_points\": \"10\", \"decay\": 6}",
           {"/min_cohort", "min_cohort must be an integer, not a number"},
           {"/z_crit", "z_crit must be > 0"}, {"/gap_points", "gap_points must be <= 100"},
           {"/trend_points", "trend_points must be a number, not a string"},
           {"/decay", "unknown field \"decay\""});
    EXPECT("thresholds.json", "{\"min_cohort\": 0}", {"/min_cohort", "min_cohort must be >= 1"});
    EXPECT("thresholds.json", "{\"complementary_suppression\": \"yes\"}",
           {"/complementary_suppression",
            "complementary_suppression must be a boolean, not a string"});
}

static void test_token_rejections(void **state)
{
    (void)state;
    EXPECT("token_create.json", "{\"role\": \"school\"}",
           {"/schools", "required field \"schools\" is missing"});
    EXPECT("token_create.json", "{\"role\": \"wizard\"}",
           {"/role", "role must be one of: admin, ceo, executive_head, school"});
    EXPECT("token_create.json", "{\"role\": \"school\", \"schools\": [\"100001\", \"100002\"]}",
           {"/schools", "schools must have at most 1 item"});
    EXPECT("token_create.json", "{\"role\": \"executive_head\", \"schools\": []}",
           {"/schools", "schools must have at least 1 item"});
    EXPECT("token_create.json",
           "{\"role\": \"ceo\", \"schools\": [\"1000x1\", \"1000x1\"], \"expires_days\": 0, "
           "\"name\": 5}",
           {"/schools/0", "schools[0] must be a URN: six digits (pattern ^[0-9]{6}$)"},
           {"/schools/1", "schools[1] must be a URN: six digits (pattern ^[0-9]{6}$)"},
           {"/schools/1", "schools[1] repeats item 0"},
           {"/expires_days", "expires_days must be >= 1"},
           {"/name", "name must be a string, not an integer"});
    EXPECT("token_create.json", "{}", {"/role", "required field \"role\" is missing"});
}

static void test_rota_and_review_rejections(void **state)
{
    (void)state;
    EXPECT("rota_create.json",
           "{\"terms\": [{\"year\": \"2025/26\", \"term\": \"winter\"}], \"constraints\": "
           "{\"phase\": \"always\", \"decay\": 0, \"excluded_pairs\": [[\"100001\", \"100002\", "
           "\"100003\"], [\"100001\", \"100001\"]]}, \"schools\": [], \"seed\": -1}",
           {"/terms/0/year", "year must be an academic year such as 2025-26 (pattern "
                             "^[0-9]{4}-[0-9]{2}$)"},
           {"/terms/0/term", "term must be one of: autumn, spring, summer"},
           {"/constraints/phase", "phase must be one of: prefer, require, ignore"},
           {"/constraints/decay", "decay must be > 0"},
           {"/constraints/excluded_pairs/0", "excluded_pairs[0] must have at most 2 items"},
           {"/constraints/excluded_pairs/1/1", "excluded_pairs[1][1] repeats item 0"},
           {"/schools", "unknown field \"schools\""}, {"/seed", "seed must be >= 0"});
    EXPECT("rota_create.json", "{\"terms\": []}", {"/terms", "terms must have at least 1 item"});
    EXPECT("review.json",
           "{\"framework\": \"ofsted_2019\", \"findings\": {\"achievement\": {\"narrative\": "
           "\"x\"}, \"quality_of_education\": {\"grade\": \"strong_standard\", \"narrative\": "
           "\"\"}}, \"actions\": [{\"ref\": \"A1\", \"action\": \"Moderate\", \"due\": "
           "\"2026-13-01\", \"status\": \"open\"}]}",
           /* the document's own keywords first, then the framework's (allOf) */
           {"/actions/0/due", "due must be a real calendar date written YYYY-MM-DD"},
           {"/actions/0/status",
            "status must be one of: not_started, on_track, at_risk, off_track, complete"},
           {"/actions/0/owner", "required field \"owner\" is missing"},
           {"/findings/achievement", "unknown field \"achievement\""},
           {"/findings/quality_of_education/grade",
            "grade must be one of: inadequate, requires_improvement, good, outstanding"},
           {"/findings/quality_of_education/narrative", "narrative must not be empty"});
}

/* Validation after load is read-only: many threads at once give the same answers. */
struct thread_arg {
    const char *sip;
    int failures;
};

static void *validate_many(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 200; i++) {
        json_t *j = json_loads(a->sip, 0, NULL);
        json_object_set_new(json_array_get(json_object_get(j, "priorities"), 0), "ranking",
                            json_integer(i % 2 ? 1 : 9));
        struct mat_errors errs;
        mat_errors_init(&errs);
        int rc = schema_validate(reg, "sip.json", j, &errs);
        if ((i % 2 && (rc != 0 || errs.count)) || (!(i % 2) && (rc != -1 || errs.count != 1)))
            a->failures++;
        mat_errors_free(&errs);
        json_decref(j);
    }
    return NULL;
}

static void test_concurrent_validation(void **state)
{
    (void)state;
    char *text = read_fixture("sip.json");
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){text, 0};
        assert_int_equal(pthread_create(&t[i], NULL, validate_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_required_properties_additional),
        cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_objects_size_and_names),
        cmocka_unit_test(test_ref_and_combinators),
        cmocka_unit_test(test_every_violation_reported_and_bounded),
        cmocka_unit_test(test_pattern_known_answers),
        cmocka_unit_test(test_pattern_fast_path_agrees_with_regexec),
        cmocka_unit_test(test_bad_schemas_fail_to_load),
        cmocka_unit_test(test_parse_body),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_every_schema_loads),
        cmocka_unit_test(test_spec_bodies_accepted),
        cmocka_unit_test(test_school_rejections),
        cmocka_unit_test(test_sef_rejections),
        cmocka_unit_test(test_sip_rejections),
        cmocka_unit_test(test_progress_rejections),
        cmocka_unit_test(test_reference_rejections),
        cmocka_unit_test(test_token_rejections),
        cmocka_unit_test(test_rota_and_review_rejections),
        cmocka_unit_test(test_concurrent_validation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
