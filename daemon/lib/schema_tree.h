/* The compiled form of a schema: a tree of plain nodes, written by the loader
 * (schema_load.c) and walked by the validator (schema.c). Private to those two. */
#ifndef MATD_SCHEMA_TREE_H
#define MATD_SCHEMA_TREE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema.h"
#include "schema_pattern.h"

/* Schema nesting followed for one instance value; our schemas are far shallower. */
#define SCHEMA_MAX_DEPTH 256
/* uniqueItems is quadratic: a schema using it must bound the array this tightly. */
#define SCHEMA_MAX_UNIQUE_ITEMS 1000

enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_OBJECT = 1 << 2,
    T_ARRAY = 1 << 3,
    T_NUMBER = 1 << 4,
    T_INTEGER = 1 << 5,
    T_STRING = 1 << 6,
};

enum additional { ADD_ANY, ADD_FORBID, ADD_SCHEMA };
enum format { FMT_NONE, FMT_DATE };
enum { NUM_MIN = 1, NUM_MAX = 2, NUM_XMIN = 4, NUM_XMAX = 8 };

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
    struct schema_pattern *pattern;
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
/* Orders props by name (bsearch over a node's sorted props). */
int schema_prop_cmp(const void *a, const void *b);
/* The root of the schema named name, or NULL. */
const struct snode *schema_registry_find(const struct schema_registry *reg, const char *name);

#endif
