/* Request-body validation: one JSON Schema validator (a draft 2020-12 subset) over jansson,
 * a registry of the schemas in proto/schemas/ compiled once at start-up, and the strict
 * body parser every JSON route goes through (UTF-8, duplicate keys, object top level).
 *
 * Supported keywords: type (string or array; "integer" means a JSON integer: 1.0 is not
 * one), enum, const, properties, required, additionalProperties (bool or schema),
 * propertyNames, minProperties, maxProperties, items (one schema), minItems, maxItems,
 * uniqueItems, minLength, maxLength (UTF-8 code points), pattern (POSIX ERE), format
 * "date", minimum, maximum, exclusiveMinimum, exclusiveMaximum, allOf, anyOf, oneOf, not,
 * if/then/else, $ref ("#/$defs/<name>" only), $defs (root only), and the annotations
 * $schema, $id (must equal the file name), $comment, title, description, default,
 * examples, deprecated, readOnly, writeOnly. Anything else fails schema_registry_load. */
#ifndef MATD_SCHEMA_H
#define MATD_SCHEMA_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "embedded.h"
#include "errors.h"

struct schema_registry;

/* Compiles every schema of files (a {0, 0, 0}-terminated table such as schemas_files).
 * Returns an owned registry, or NULL with a message in err naming the file, the schema
 * location and the problem (malformed JSON, unsupported keyword, bad $ref, ...). */
struct schema_registry *schema_registry_load(const struct embedded_file *files, char *err,
                                             size_t errlen);
void schema_registry_free(struct schema_registry *reg);
/* True when the registry holds a schema with this file name ("sip.json"). */
bool schema_registry_has(const struct schema_registry *reg, const char *name);

/* Validates instance (borrowed, not modified) against the schema named name. Returns 0
 * when valid; -1 otherwise, with every violation added to errs (bounded by
 * MAT_ERRORS_MAX, the rest counted in errs->dropped), each with the RFC 6901 pointer of
 * the offending value and a message naming the field. An unknown schema name is a
 * programming error: -1 with one error saying so. Safe to call from many threads at
 * once: the registry is read-only after load. */
int schema_validate(const struct schema_registry *reg, const char *name, json_t *instance,
                    struct mat_errors *errs);

/* Validates item as the index-th element of the array property prop at the top of a
 * document of schema name (whose "items" schema it is checked against), with errors exactly
 * as schema_validate would give them for the whole document ("/prop/<index>/..."). Lets a
 * large array be checked element by element as a stream reads it; the keywords on the array
 * itself (minItems, uniqueItems, ...) are the caller's. Returns 0 when valid, else -1. */
int schema_validate_item(const struct schema_registry *reg, const char *name, const char *prop,
                         size_t index, json_t *item, struct mat_errors *errs);

/* Member-by-member checks for a stream reader that wants to skip building each item of a
 * large array: certain answers only. The node of schema_items_of is NULL unless the items
 * are objects judged by their properties (type, properties, required, additionalProperties,
 * min/maxProperties, at most 64 properties); a member qualifies when its schema uses only
 * type, enum, pattern, minLength/maxLength and numeric bounds. "Surely ok" means the full
 * validator would accept it; false means refused or unsure: build the item and validate it
 * (schema_validate_item) for the exact errors. */
struct schema_node; /* opaque */
struct schema_scalar {
    enum {
        SCHEMA_SCALAR_NULL,
        SCHEMA_SCALAR_BOOL,
        SCHEMA_SCALAR_INTEGER,
        SCHEMA_SCALAR_REAL,
        SCHEMA_SCALAR_STRING
    } type;
    bool boolean;
    long long integer;
    double real;
    const char *str; /* borrowed, str[0..len), not necessarily NUL-terminated */
    size_t len;
};
const struct schema_node *schema_items_of(const struct schema_registry *reg, const char *name,
                                          const char *prop);
/* Whether key: v is surely a valid member. *index: in, a guess at the property's position
 * (records list their fields in the same order: the last record's answer saves a search);
 * out, its position. */
bool schema_member_surely_ok(const struct schema_node *node, const char *key, size_t klen,
                             const struct schema_scalar *v, size_t *index);
/* Whether an object with exactly the properties seen[i] (by position) surely passes the
 * object's own keywords (required, min/maxProperties), its members being surely ok. */
bool schema_object_surely_ok(const struct schema_node *node, const bool *seen);
/* The name of the property at position i, or NULL. */
const char *schema_node_prop_name(const struct schema_node *node, size_t i);

/* Parses a request body that must be one JSON object. Rejects an empty body, invalid
 * UTF-8 (naming the byte offset), malformed JSON (naming line and column), duplicate
 * keys, NUL characters and a non-object top level. A leading UTF-8 byte-order mark is
 * ignored. Returns 0 with *out owned by the caller, or -1 with errors added. */
int schema_parse_body(const char *buf, size_t len, json_t **out, struct mat_errors *errs);

/* "an object", "an array", "a string", "an integer", "a number", "a boolean" or "null":
 * how error messages name the type of a value the client sent. */
const char *schema_json_type_name(const json_t *x);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values above
 * U+10FFFF); otherwise false with the offset of the first bad byte in *bad_offset. */
bool schema_utf8_valid(const char *s, size_t len, size_t *bad_offset);
/* Number of code points in well-formed UTF-8. */
size_t schema_utf8_length(const char *s, size_t len);

#endif
