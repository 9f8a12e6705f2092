/* Planner input and output JSON (SPEC §11). Parsing checks every field it reads, names the
 * JSON pointer of each problem, rejects unknown fields, and leaves semantic checks (sizes,
 * duplicates, term order, feasibility) to rota_validate so the API and matctl agree. */
#include "rota_json.h"
#include "schema.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termly.h"
#include "util.h"

/* A JSON pointer built with printf-style formatting (tokens here never need escaping). */
struct ptr {
    char s[160];
};

static const char *ptr(struct ptr *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *ptr(struct ptr *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->s, sizeof p->s, fmt, ap);
    va_end(ap);
    return p->s;
}

/* Reports every member of obj not in allowed (NULL-terminated) as an unknown field. */
static void reject_unknown(const json_t *obj, const char *base, const char *const *allowed,
                           struct mat_errors *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)(uintptr_t)obj, key, value)
    {
        (void)value;
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char *path = json_pointer_join(base, key);
            mat_errors_add(err, path, "unknown field");
            free(path);
        }
    }
}

static bool want_object(const json_t *v, const char *path, struct mat_errors *err)
{
    if (json_is_object(v))
        return true;
    mat_errors_add(err, path, "must be an object, not %s", schema_json_type_name(v));
    return false;
}

static bool want_array(const json_t *v, const char *path, struct mat_errors *err)
{
    if (json_is_array(v))
        return true;
    mat_errors_add(err, path, "must be an array, not %s", schema_json_type_name(v));
    return false;
}

static bool urn_text_ok(const char *s)
{
    if (strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A URN string value; NULL (and an error) otherwise. */
static const char *want_urn(const json_t *v, const char *path, struct mat_errors *err)
{
    if (!json_is_string(v)) {
        mat_errors_add(err, path, "must be a URN (a string of six digits), not %s",
                       schema_json_type_name(v));
        return NULL;
    }
    const char *s = json_string_value(v);
    if (!urn_text_ok(s)) {
        mat_errors_add(err, path, "\"%.40s\" is not a URN (six digits)", s);
        return NULL;
    }
    return s;
}

static bool want_number(const json_t *v, const char *path, double *out, struct mat_errors *err)
{
    if (!json_is_number(v)) {
        mat_errors_add(err, path, "must be a number, not %s", schema_json_type_name(v));
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static bool want_bool(const json_t *v, const char *path, bool *out, struct mat_errors *err)
{
    if (!json_is_boolean(v)) {
        mat_errors_add(err, path, "must be true or false, not %s", schema_json_type_name(v));
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* {"year": "2025-26", "term": "autumn"} members of obj into id. */
static bool parse_term_id(const json_t *obj, const char *base, struct rota_term_id *id,
                          struct mat_errors *err)
{
    struct ptr p;
    bool ok = true;
    const json_t *year = json_object_get(obj, "year"), *term = json_object_get(obj, "term");
    if (!year) {
        mat_errors_add(err, ptr(&p, "%s/year", base), "is required");
        ok = false;
    } else if (!json_is_string(year) || !academic_year_valid(json_string_value(year))) {
        if (json_is_string(year))
            mat_errors_add(err, ptr(&p, "%s/year", base),
                           "\"%.20s\" is not an academic year like \"2025-26\" (the second part "
                           "is the next year)",
                           json_string_value(year));
        else
            mat_errors_add(err, ptr(&p, "%s/year", base),
                           "must be an academic year like \"2025-26\", not %s",
                           schema_json_type_name(year));
        ok = false;
    } else {
        id->year = atoi(json_string_value(year));
    }
    if (!term) {
        mat_errors_add(err, ptr(&p, "%s/term", base), "is required");
        ok = false;
    } else if (!json_is_string(term) || term_index(json_string_value(term)) < 0) {
        if (json_is_string(term))
            mat_errors_add(err, ptr(&p, "%s/term", base),
                           "\"%.20s\" is not a term: autumn, spring or summer",
                           json_string_value(term));
        else
            mat_errors_add(err, ptr(&p, "%s/term", base),
                           "must be autumn, spring or summer, not %s", schema_json_type_name(term));
        ok = false;
    } else {
        id->term = term_index(json_string_value(term));
    }
    return ok;
}

/* School index of a URN among the first n parsed schools, or -1. */
static int school_index(const struct rota_input *in, const char *urn)
{
    for (size_t i = 0; i < in->n_schools; i++)
        if (strcmp(in->schools[i].urn, urn) == 0)
            return (int)i;
    return -1;
}

static void parse_schools(const json_t *arr, struct rota_input *in, struct mat_errors *err)
{
    static const char *const fields[] = {"urn",      "phase",    "lat",  "lon",
                                         "strength", "category", "name", NULL};
    struct ptr p;
    size_t n = json_array_size(arr);
    if (n > ROTA_MAX_SCHOOLS) {
        mat_errors_add(err, "/schools", "at most %d schools; got %zu", ROTA_MAX_SCHOOLS, n);
        return;
    }
    in->schools = xcalloc(n + 1, sizeof *in->schools);
    in->n_schools = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(arr, i);
        struct rota_school *sc = &in->schools[i];
        const char *base = ptr(&p, "/schools/%zu", i);
        char at[64];
        snprintf(at, sizeof at, "%s", base);
        if (!want_object(s, at, err))
            continue;
        reject_unknown(s, at, fields, err);
        const json_t *urn = json_object_get(s, "urn"), *phase = json_object_get(s, "phase");
        const json_t *lat = json_object_get(s, "lat"), *lon = json_object_get(s, "lon");
        const json_t *strength = json_object_get(s, "strength");
        const json_t *category = json_object_get(s, "category"), *name = json_object_get(s, "name");
        if (!urn) {
            mat_errors_add(err, ptr(&p, "%s/urn", at), "is required");
        } else {
            const char *u = want_urn(urn, ptr(&p, "%s/urn", at), err);
            for (size_t j = 0; u && j < i; j++)
                if (strcmp(in->schools[j].urn, u) == 0) {
                    mat_errors_add(err, ptr(&p, "%s/urn", at),
                                   "duplicate school %s (also /schools/%zu)", u, j);
                    u = NULL;
                    break;
                }
            if (u)
                memcpy(sc->urn, u, ROTA_URN_LEN);
        }
        if (!phase) {
            mat_errors_add(err, ptr(&p, "%s/phase", at), "is required");
        } else if (!json_is_string(phase) || rota_phase_parse(json_string_value(phase)) < 0) {
            mat_errors_add(err, ptr(&p, "%s/phase", at),
                           "must be one of nursery, primary, middle, secondary, all_through, "
                           "special, alternative_provision");
        } else {
            sc->phase = (enum rota_phase)rota_phase_parse(json_string_value(phase));
        }
        bool has_lat = lat && !json_is_null(lat), has_lon = lon && !json_is_null(lon);
        if (has_lat != has_lon) {
            mat_errors_add(err, ptr(&p, "%s/%s", at, has_lat ? "lon" : "lat"),
                           "lat and lon come together");
        } else if (has_lat) {
            bool ok = want_number(lat, ptr(&p, "%s/lat", at), &sc->lat, err);
            ok &= want_number(lon, ptr(&p, "%s/lon", at), &sc->lon, err);
            if (ok && (sc->lat < -90 || sc->lat > 90))
                mat_errors_add(err, ptr(&p, "%s/lat", at), "must be -90..90");
            if (ok && (sc->lon < -180 || sc->lon > 180))
                mat_errors_add(err, ptr(&p, "%s/lon", at), "must be -180..180");
            sc->has_location = ok;
        }
        if (strength && !json_is_null(strength)) {
            if (!json_is_integer(strength) || json_integer_value(strength) < 1 ||
                json_integer_value(strength) > 5)
                mat_errors_add(err, ptr(&p, "%s/strength", at),
                               "must be the SEF ordinal, an integer from 1 to 5");
            else
                sc->strength = (int)json_integer_value(strength);
        }
        if (category && !json_is_null(category))
            want_bool(category, ptr(&p, "%s/category", at), &sc->category, err);
        if (name && !json_is_string(name) && !json_is_null(name))
            mat_errors_add(err, ptr(&p, "%s/name", at), "must be a string");
    }
}

static void parse_history(const json_t *arr, struct rota_input *in, bool lenient,
                          struct mat_errors *err)
{
    static const char *const term_fields[] = {"year", "term", "groups", NULL};
    static const char *const group_fields[] = {"members", "host", NULL};
    struct ptr p;
    size_t nh = json_array_size(arr);
    if (nh > ROTA_MAX_HISTORY) {
        mat_errors_add(err, "/history", "at most %d past terms; got %zu", ROTA_MAX_HISTORY, nh);
        return;
    }
    in->history = xcalloc(nh + 1, sizeof *in->history);
    in->n_history = nh;
    for (size_t h = 0; h < nh; h++) {
        const json_t *tm = json_array_get(arr, h);
        char at[64];
        snprintf(at, sizeof at, "/history/%zu", h);
        if (!want_object(tm, at, err))
            continue;
        reject_unknown(tm, at, term_fields, err);
        parse_term_id(tm, at, &in->history[h].id, err);
        const json_t *groups = json_object_get(tm, "groups");
        if (!groups) {
            mat_errors_add(err, ptr(&p, "%s/groups", at), "is required");
            continue;
        }
        if (!want_array(groups, ptr(&p, "%s/groups", at), err))
            continue;
        size_t ng = json_array_size(groups);
        if (ng > ROTA_MAX_SCHOOLS) {
            mat_errors_add(err, ptr(&p, "%s/groups", at), "too many groups");
            continue;
        }
        in->history[h].groups = xcalloc(ng + 1, sizeof *in->history[h].groups);
        in->history[h].n_groups = ng;
        for (size_t g = 0; g < ng; g++) {
            const json_t *gr = json_array_get(groups, g);
            struct rota_group *out = &in->history[h].groups[g];
            char gat[96];
            snprintf(gat, sizeof gat, "%s/groups/%zu", at, g);
            out->host = -1;
            if (!want_object(gr, gat, err))
                continue;
            reject_unknown(gr, gat, group_fields, err);
            const json_t *members = json_object_get(gr, "members");
            const json_t *host = json_object_get(gr, "host");
            if (!members) {
                mat_errors_add(err, ptr(&p, "%s/members", gat), "is required");
                continue;
            }
            if (!want_array(members, ptr(&p, "%s/members", gat), err))
                continue;
            size_t nm = json_array_size(members);
            if (nm < 2 || nm > ROTA_GROUP_MAX) {
                mat_errors_add(err, ptr(&p, "%s/members", gat),
                               "a group has 2 to %d members; got %zu", ROTA_GROUP_MAX, nm);
                continue;
            }
            out->size = 0;
            for (size_t i = 0; i < nm; i++) {
                const char *mp = ptr(&p, "%s/members/%zu", gat, i);
                const char *u = want_urn(json_array_get(members, i), mp, err);
                int idx = u ? school_index(in, u) : -1;
                if (u && idx < 0 && !lenient)
                    mat_errors_add(err, mp,
                                   "unknown school %s: not in /schools (leave schools that have "
                                   "left out of the history)",
                                   u);
                if (idx >= 0 || !lenient) /* lenient: a school that has left is passed over */
                    out->members[out->size++] = idx < 0 ? 0 : idx;
            }
            if (host && !json_is_null(host)) {
                const char *hp = ptr(&p, "%s/host", gat);
                const char *u = want_urn(host, hp, err);
                int idx = u ? school_index(in, u) : -1;
                bool member = false;
                for (size_t i = 0; u && i < nm; i++)
                    member |= json_is_string(json_array_get(members, i)) &&
                              strcmp(json_string_value(json_array_get(members, i)), u) == 0;
                if (u && !member)
                    mat_errors_add(err, hp, "host %s is not a member of the group", u);
                else
                    out->host = idx;
            }
            if (lenient && out->size < 2) { /* nothing left to remember */
                out->size = 0;
                out->host = -1;
            }
        }
        if (lenient) { /* drop the groups emptied by schools that have left */
            size_t kept = 0;
            for (size_t g = 0; g < ng; g++)
                if (in->history[h].groups[g].size >= 2)
                    in->history[h].groups[kept++] = in->history[h].groups[g];
            in->history[h].n_groups = kept;
        }
    }
}

static void parse_terms(const json_t *arr, struct rota_input *in, struct mat_errors *err)
{
    static const char *const fields[] = {"year", "term", NULL};
    size_t n = json_array_size(arr);
    if (n == 0 || n > ROTA_MAX_TERMS) {
        mat_errors_add(err, "/terms", "plan 1 to %d terms; got %zu", ROTA_MAX_TERMS, n);
        return;
    }
    in->terms = xcalloc(n, sizeof *in->terms);
    in->n_terms = n;
    for (size_t k = 0; k < n; k++) {
        char at[48];
        snprintf(at, sizeof at, "/terms/%zu", k);
        const json_t *t = json_array_get(arr, k);
        if (!want_object(t, at, err))
            continue;
        reject_unknown(t, at, fields, err);
        parse_term_id(t, at, &in->terms[k], err);
    }
}

static void parse_constraints(const json_t *obj, struct rota_input *in, struct mat_errors *err)
{
    static const char *const fields[] = {
        "phase",          "balance",      "travel_weight",  "decay",
        "excluded_pairs", "phase_weight", "balance_weight", NULL};
    struct ptr p;
    struct rota_constraints *c = &in->constraints;
    reject_unknown(obj, "/constraints", fields, err);
    const json_t *v;
    if ((v = json_object_get(obj, "phase"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "prefer") == 0)
            c->phase = ROTA_PHASE_PREFER;
        else if (strcmp(s, "require") == 0)
            c->phase = ROTA_PHASE_REQUIRE;
        else if (strcmp(s, "ignore") == 0)
            c->phase = ROTA_PHASE_IGNORE;
        else
            mat_errors_add(err, "/constraints/phase",
                           "must be \"prefer\", \"require\" or \"ignore\"");
    }
    if ((v = json_object_get(obj, "balance")))
        want_bool(v, "/constraints/balance", &c->balance, err);
    if ((v = json_object_get(obj, "travel_weight")))
        want_number(v, "/constraints/travel_weight", &c->travel_weight, err);
    if ((v = json_object_get(obj, "decay")))
        want_number(v, "/constraints/decay", &c->decay, err);
    if ((v = json_object_get(obj, "phase_weight")))
        want_number(v, "/constraints/phase_weight", &c->phase_weight, err);
    if ((v = json_object_get(obj, "balance_weight")))
        want_number(v, "/constraints/balance_weight", &c->balance_weight, err);
    if ((v = json_object_get(obj, "excluded_pairs"))) {
        if (!want_array(v, "/constraints/excluded_pairs", err))
            return;
        size_t ne = json_array_size(v);
        c->excluded = xcalloc(ne + 1, sizeof *c->excluded);
        for (size_t e = 0; e < ne; e++) {
            const json_t *pair = json_array_get(v, e);
            char at[64];
            snprintf(at, sizeof at, "/constraints/excluded_pairs/%zu", e);
            if (!json_is_array(pair) || json_array_size(pair) != 2) {
                mat_errors_add(err, at, "must be a pair of URNs like [\"100001\", \"100007\"]");
                continue;
            }
            int idx[2] = {-1, -1};
            for (size_t i = 0; i < 2; i++) {
                const char *ip = ptr(&p, "%s/%zu", at, i);
                const char *u = want_urn(json_array_get(pair, i), ip, err);
                if (u && (idx[i] = school_index(in, u)) < 0)
                    mat_errors_add(err, ip, "unknown school %s: not in /schools", u);
            }
            if (idx[0] >= 0 && idx[1] >= 0) {
                c->excluded[c->n_excluded].a = idx[0];
                c->excluded[c->n_excluded].b = idx[1];
                c->n_excluded++;
            }
        }
    }
}

int rota_json_parse_request(const json_t *root, unsigned flags, struct rota_input *out,
                            struct rota_prev_term **prev, size_t *n_prev, struct mat_errors *err)
{
    static const char *const fields[] = {"schools", "history", "terms", "constraints",
                                         "seed",    "cycle",   NULL};
    static const char *const fields_prev[] = {"schools", "history",  "terms", "constraints",
                                              "seed",    "previous", "cycle", NULL};
    memset(out, 0, sizeof *out);
    if (prev) {
        *prev = NULL;
        *n_prev = 0;
    }
    rota_constraints_default(&out->constraints);
    out->seed = 1;
    size_t before = err->count + err->dropped;
    if (!json_is_object(root)) {
        mat_errors_add(err, "", "the input is not a JSON object but %s",
                       schema_json_type_name(root));
        return -1;
    }
    reject_unknown(root, "", (flags & ROTA_JSON_PREVIOUS) ? fields_prev : fields, err);
    const json_t *schools = json_object_get(root, "schools");
    if (!schools)
        mat_errors_add(err, "/schools", "is required");
    else if (want_array(schools, "/schools", err))
        parse_schools(schools, out, err);
    const json_t *history = json_object_get(root, "history");
    if (history && !json_is_null(history) && want_array(history, "/history", err))
        parse_history(history, out, (flags & ROTA_JSON_LENIENT_HISTORY) != 0, err);
    const json_t *terms = json_object_get(root, "terms");
    if (!terms)
        mat_errors_add(err, "/terms", "is required");
    else if (want_array(terms, "/terms", err))
        parse_terms(terms, out, err);
    if ((flags & ROTA_JSON_LENIENT_HISTORY) && out->n_terms &&
        err->count + err->dropped == before) {
        /* the database's history may hold published terms at or after the ones planned
         * now: they are not the past of this plan */
        int first = INT_MAX;
        for (size_t k = 0; k < out->n_terms; k++)
            if (rota_term_index(out->terms[k]) < first)
                first = rota_term_index(out->terms[k]);
        size_t kept = 0;
        for (size_t h = 0; h < out->n_history; h++) {
            if (rota_term_index(out->history[h].id) < first)
                out->history[kept++] = out->history[h];
            else
                free(out->history[h].groups);
        }
        out->n_history = kept;
    }
    const json_t *constraints = json_object_get(root, "constraints");
    if (constraints && !json_is_null(constraints) && want_object(constraints, "/constraints", err))
        parse_constraints(constraints, out, err);
    const json_t *seed = json_object_get(root, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            mat_errors_add(err, "/seed", "must be a non-negative integer");
        else
            out->seed = (uint64_t)json_integer_value(seed);
    }
    const json_t *previous = json_object_get(root, "previous");
    if ((flags & ROTA_JSON_PREVIOUS) && previous && !json_is_null(previous) && prev) {
        struct mat_errors sub;
        mat_errors_init(&sub);
        if (rota_json_parse_previous(previous, prev, n_prev, &sub) != 0)
            for (size_t i = 0; i < sub.count; i++) {
                char *path = xasprintf("/previous%s", sub.items[i].path);
                mat_errors_add(err, path, "%s", sub.items[i].message);
                free(path);
            }
        mat_errors_free(&sub);
    }
    if (err->count + err->dropped == before && rota_validate(out, err) == 0)
        return 0;
    rota_input_free(out);
    if (prev) {
        rota_prev_terms_free(*prev, *n_prev);
        *prev = NULL;
        *n_prev = 0;
    }
    return -1;
}

int rota_json_input_from_value(const json_t *root, struct rota_input *out, struct mat_errors *err)
{
    return rota_json_parse_request(root, 0, out, NULL, NULL, err);
}

static json_t *load_text(const char *text, size_t len, struct mat_errors *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        mat_errors_add(err, "",
                       "the input is not a JSON object: malformed JSON at line %d, column %d: %s",
                       je.line, je.column, je.text);
    return root;
}

int rota_json_parse_input(const char *text, size_t len, struct rota_input *out,
                          struct mat_errors *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = load_text(text, len, err);
    if (!root)
        return -1;
    int rc = rota_json_input_from_value(root, out, err);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Output. */

static json_t *real_rounded(double v, double scale)
{
    return json_real(round(v * scale) / scale);
}

static json_t *term_id_json(json_t *obj, struct rota_term_id id)
{
    char year[8];
    rota_year_format(id.year, year);
    json_object_set_new(obj, "year", json_string(year));
    json_object_set_new(obj, "term", json_string(rota_term_name(id.term)));
    return obj;
}

static json_t *metrics_json(const struct rota_metrics *m, bool total)
{
    json_t *o = json_object();
    json_object_set_new(o, "repeat_pairs", json_integer(m->repeat_pairs));
    json_object_set_new(o, "most_recent_repeat_terms_ago",
                        m->most_recent_repeat ? json_integer(m->most_recent_repeat) : json_null());
    json_object_set_new(o, "repeat_cost", real_rounded(m->repeat_cost, 1e4));
    json_object_set_new(o, "phase_mismatches", json_integer(m->phase_mismatches));
    json_object_set_new(o, "unbalanced_groups", json_integer(m->unbalanced_groups));
    json_object_set_new(o, "max_km", real_rounded(m->max_km, 10));
    json_object_set_new(o, "total_km", real_rounded(m->total_km, 10));
    json_object_set_new(o, "hosting_violations", json_integer(m->hosting_violations));
    if (total)
        json_object_set_new(o, "hosting_spread", json_integer(m->hosting_spread));
    return o;
}

static json_t *group_json(const struct rota_input *in, const struct rota_group *g)
{
    json_t *o = json_object(), *members = json_array();
    for (int i = 0; i < g->size; i++)
        json_array_append_new(members, json_string(in->schools[g->members[i]].urn));
    json_object_set_new(o, "members", members);
    json_object_set_new(o, "host",
                        g->host >= 0 ? json_string(in->schools[g->host].urn) : json_null());
    return o;
}

static json_t *prev_group_json(const struct rota_prev_group *g)
{
    json_t *o = json_object(), *members = json_array();
    for (int i = 0; i < g->size; i++)
        json_array_append_new(members, json_string(g->members[i]));
    json_object_set_new(o, "members", members);
    json_object_set_new(o, "host", g->host[0] ? json_string(g->host) : json_null());
    return o;
}

/* The constraints a plan was made under, in a fixed form: a kept cycle is drafted from only
 * while they are unchanged (the seed is not one: the cycle is the trust's, whoever drafts). */
static json_t *constraints_json(const struct rota_input *in)
{
    static const char *const phase[] = {"ignore", "prefer", "require"};
    const struct rota_constraints *c = &in->constraints;
    json_t *o = json_object(), *pairs = json_array();
    json_object_set_new(o, "phase", json_string(phase[c->phase]));
    json_object_set_new(o, "phase_weight", json_real(c->phase_weight));
    json_object_set_new(o, "balance", json_boolean(c->balance));
    json_object_set_new(o, "balance_weight", json_real(c->balance_weight));
    json_object_set_new(o, "travel_weight", json_real(c->travel_weight));
    json_object_set_new(o, "decay", json_real(c->decay));
    for (size_t e = 0; e < c->n_excluded; e++) {
        const char *a = in->schools[c->excluded[e].a].urn, *b = in->schools[c->excluded[e].b].urn;
        json_array_append_new(
            pairs, json_pack("[ss]", strcmp(a, b) < 0 ? a : b, strcmp(a, b) < 0 ? b : a));
    }
    json_object_set_new(o, "excluded_pairs", pairs);
    return o;
}

json_t *rota_json_plan(const struct rota_input *in, const struct rota_plan *plan)
{
    json_t *root = json_object(), *terms = json_array();
    for (size_t k = 0; k < plan->n_terms; k++) {
        const struct rota_term *tm = &plan->terms[k];
        json_t *t = term_id_json(json_object(), tm->id), *groups = json_array();
        for (size_t g = 0; g < tm->n_groups; g++)
            json_array_append_new(groups, group_json(in, &tm->groups[g]));
        json_object_set_new(t, "groups", groups);
        json_object_set_new(t, "metrics", metrics_json(&plan->term_metrics[k], false));
        json_array_append_new(terms, t);
    }
    json_object_set_new(root, "terms", terms);
    json_object_set_new(root, "metrics", metrics_json(&plan->total, true));
    json_t *planner = json_object();
    json_object_set_new(planner, "mode", json_string(rota_planner_mode_name(plan->mode)));
    json_object_set_new(planner, "cycle_terms", json_integer(plan->cycle_terms));
    if (plan->mode == ROTA_MODE_CONTINUED)
        json_object_set_new(planner, "cycle_start", json_integer(plan->cycle_start));
    json_object_set_new(planner, "method", json_string(plan->method));
    json_object_set_new(planner, "seed", json_integer((json_int_t)(in->seed & INT64_MAX)));
    json_object_set_new(planner, "work", json_integer((json_int_t)(plan->work & INT64_MAX)));
    json_object_set_new(root, "planner", planner);
    if (plan->n_cycle > 0) {
        json_t *cycle = json_object(), *cterms = json_array();
        json_object_set_new(cycle, "constraints", constraints_json(in));
        for (size_t k = 0; k < plan->n_cycle; k++) {
            const struct rota_term *tm = &plan->cycle[k];
            json_t *t = term_id_json(json_object(), tm->id), *groups = json_array();
            for (size_t g = 0; g < tm->n_groups; g++)
                json_array_append_new(groups, group_json(in, &tm->groups[g]));
            json_object_set_new(t, "groups", groups);
            json_array_append_new(cterms, t);
        }
        json_object_set_new(cycle, "terms", cterms);
        json_object_set_new(root, "cycle", cycle);
    }
    return root;
}

static const struct rota_prev_term *prev_term_of(const struct rota_prev_term *prev, size_t n,
                                                 struct rota_term_id id)
{
    for (size_t i = 0; i < n; i++)
        if (rota_term_index(prev[i].id) == rota_term_index(id))
            return &prev[i];
    return NULL;
}

static bool prev_group_has(const struct rota_prev_group *g, const char *urn)
{
    for (int i = 0; i < g->size; i++)
        if (strcmp(g->members[i], urn) == 0)
            return true;
    return false;
}

/* The previous group of a school in a previous term, or NULL. */
static const struct rota_prev_group *prev_group_of(const struct rota_prev_term *pt, const char *urn)
{
    for (size_t g = 0; pt && g < pt->n_groups; g++)
        if (prev_group_has(&pt->groups[g], urn))
            return &pt->groups[g];
    return NULL;
}

json_t *rota_json_changes(const struct rota_changes *changes, const struct rota_prev_term *prev,
                          size_t n_prev, const struct rota_input *in, const struct rota_plan *plan)
{
    json_t *terms = json_array();
    for (size_t k = 0; k < changes->n_terms && k < plan->n_terms; k++) {
        const struct rota_term_change *tc = &changes->terms[k];
        const struct rota_term *tm = &plan->terms[k];
        const struct rota_prev_term *pt = prev_term_of(prev, n_prev, tc->id);
        json_t *t = term_id_json(json_object(), tc->id), *removed = json_array(),
               *added = json_array(), *moved = json_array(), *joined = json_array(),
               *left = json_array();
        json_object_set_new(t, "kept_triads", json_integer((json_int_t)tc->kept));
        json_object_set_new(t, "changed_triads", json_integer((json_int_t)tc->n_added));
        /* joined: not in any previous group; moved: has a group-mate it did not have */
        for (size_t g = 0; g < tm->n_groups; g++)
            for (int i = 0; i < tm->groups[g].size; i++) {
                const char *urn = in->schools[tm->groups[g].members[i]].urn;
                const struct rota_prev_group *pg = prev_group_of(pt, urn);
                if (!pg) {
                    json_array_append_new(joined, json_string(urn));
                    continue;
                }
                bool same = true;
                for (int j = 0; j < tm->groups[g].size && same; j++)
                    same = prev_group_has(pg, in->schools[tm->groups[g].members[j]].urn);
                if (!same)
                    json_array_append_new(moved, json_string(urn));
            }
        for (size_t g = 0; pt && g < pt->n_groups; g++) /* left: no longer a school */
            for (int i = 0; i < pt->groups[g].size; i++) {
                bool active = false;
                for (size_t s = 0; s < in->n_schools && !active; s++)
                    active = strcmp(in->schools[s].urn, pt->groups[g].members[i]) == 0;
                if (!active)
                    json_array_append_new(left, json_string(pt->groups[g].members[i]));
            }
        json_object_set_new(t, "moved", moved);
        json_object_set_new(t, "joined", joined);
        json_object_set_new(t, "left", left);
        for (size_t i = 0; pt && i < tc->n_removed; i++)
            if (tc->removed[i] < pt->n_groups)
                json_array_append_new(removed, prev_group_json(&pt->groups[tc->removed[i]]));
        for (size_t i = 0; i < tc->n_added; i++)
            if (tc->added[i] < tm->n_groups)
                json_array_append_new(added, group_json(in, &tm->groups[tc->added[i]]));
        json_object_set_new(t, "removed", removed);
        json_object_set_new(t, "added", added);
        json_array_append_new(terms, t);
    }
    return terms;
}

char *rota_json_plan_dump(const struct rota_input *in, const struct rota_plan *plan,
                          const struct rota_changes *changes, const struct rota_prev_term *prev,
                          size_t n_prev, bool pretty)
{
    json_t *root = rota_json_plan(in, plan);
    if (changes)
        json_object_set_new(root, "changes", rota_json_changes(changes, prev, n_prev, in, plan));
    size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    char *text = json_dumps(root, flags | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
    json_decref(root);
    if (!text)
        fatal("rota: out of memory serialising a plan");
    char *out = xasprintf("%s\n", text);
    free(text);
    return out;
}

/* A kept cycle in the input ("cycle": {"constraints", "terms"}, as rota_json_plan writes it):
 * 0 with plan drafted from it when it holds the terms and nothing changed; 1 with *prev set
 * to it when schools or constraints changed (re-plan, keeping what still fits); -1 when
 * there is none or it does not hold the terms; -2 on a malformed cycle (in err). */
static int draft_from_cycle(const json_t *root, const struct rota_input *in, struct rota_plan *plan,
                            struct rota_prev_term **prev, size_t *n_prev, struct mat_errors *err)
{
    const json_t *cycle = json_object_get(root, "cycle");
    if (!cycle || json_is_null(cycle))
        return -1;
    if (!want_object(cycle, "/cycle", err))
        return -2;
    json_t *terms = json_pack("{sO}", "terms", json_object_get(cycle, "terms"));
    struct mat_errors sub;
    mat_errors_init(&sub);
    struct rota_prev_term *cterms = NULL;
    size_t nc = 0;
    int rc = terms && rota_json_parse_previous(terms, &cterms, &nc, &sub) == 0 ? 0 : -2;
    json_decref(terms);
    for (size_t i = 0; i < sub.count; i++) {
        char *path = xasprintf("/cycle%s", sub.items[i].path);
        mat_errors_add(err, path, "%s", sub.items[i].message);
        free(path);
    }
    mat_errors_free(&sub);
    if (rc != 0) {
        if (!err->count)
            mat_errors_add(err, "/cycle/terms", "is required");
        return -2;
    }
    json_t *now = constraints_json(in);
    bool same = json_equal(now, json_object_get(cycle, "constraints"));
    json_decref(now);
    rc = rota_plan_from_cycle(in, cterms, nc, plan);
    if (rc == 0 && !same) {
        rota_plan_free(plan);
        rc = 1;
    }
    if (rc == 1) {
        *prev = cterms;
        *n_prev = nc;
    } else {
        rota_prev_terms_free(cterms, nc);
    }
    return rc;
}

int rota_json_run(const char *text, size_t len, unsigned flags, const struct rota_options *opt,
                  bool pretty, char **out_json, struct mat_errors *err)
{
    *out_json = NULL;
    json_t *root = load_text(text, len, err);
    if (!root)
        return -1;
    struct rota_input in;
    struct rota_prev_term *prev = NULL;
    size_t n_prev = 0;
    int rc = rota_json_parse_request(root, flags, &in, &prev, &n_prev, err);
    if (rc != 0) {
        json_decref(root);
        return -1;
    }
    struct rota_plan plan;
    struct rota_changes changes;
    int kept = prev ? -1 : draft_from_cycle(root, &in, &plan, &prev, &n_prev, err);
    json_decref(root);
    if (kept == 0)
        rc = 0;
    else if (kept == -2)
        rc = -1;
    else
        rc = kept == 1 ? rota_replan_cycle(&in, prev, n_prev, opt, &plan, &changes, err)
             : prev    ? rota_replan(&in, prev, n_prev, opt, &plan, &changes, err)
                       : rota_plan(&in, opt, &plan, err);
    if (rc == 0) {
        bool replanned = kept != 0 && prev;
        *out_json =
            rota_json_plan_dump(&in, &plan, replanned ? &changes : NULL, prev, n_prev, pretty);
        if (replanned)
            rota_changes_free(&changes);
        rota_plan_free(&plan);
    }
    rota_prev_terms_free(prev, n_prev);
    rota_input_free(&in);
    return rc;
}

int rota_json_parse_previous(const json_t *plan, struct rota_prev_term **out, size_t *n_out,
                             struct mat_errors *err)
{
    static const char *const fields[] = {"terms", "metrics", "planner", "changes", "cycle", NULL};
    static const char *const term_fields[] = {"year", "term", "groups", "metrics", NULL};
    static const char *const group_fields[] = {"members", "host", NULL};
    struct ptr p;
    size_t before = err->count + err->dropped;
    *out = NULL;
    *n_out = 0;
    if (!want_object(plan, "", err))
        return -1;
    reject_unknown(plan, "", fields, err);
    const json_t *terms = json_object_get(plan, "terms");
    if (!terms) {
        mat_errors_add(err, "/terms", "is required");
        return -1;
    }
    if (!want_array(terms, "/terms", err))
        return -1;
    size_t nt = json_array_size(terms);
    if (nt > ROTA_MAX_HISTORY) {
        mat_errors_add(err, "/terms", "too many terms");
        return -1;
    }
    struct rota_prev_term *prev = xcalloc(nt + 1, sizeof *prev);
    for (size_t k = 0; k < nt; k++) {
        const json_t *t = json_array_get(terms, k);
        char at[48];
        snprintf(at, sizeof at, "/terms/%zu", k);
        if (!want_object(t, at, err))
            continue;
        reject_unknown(t, at, term_fields, err);
        parse_term_id(t, at, &prev[k].id, err);
        const json_t *groups = json_object_get(t, "groups");
        if (!groups || !want_array(groups, ptr(&p, "%s/groups", at), err)) {
            if (!groups)
                mat_errors_add(err, ptr(&p, "%s/groups", at), "is required");
            continue;
        }
        size_t ng = json_array_size(groups);
        if (ng > ROTA_MAX_SCHOOLS) {
            mat_errors_add(err, ptr(&p, "%s/groups", at), "too many groups");
            continue;
        }
        prev[k].groups = xcalloc(ng + 1, sizeof *prev[k].groups);
        prev[k].n_groups = ng;
        for (size_t g = 0; g < ng; g++) {
            const json_t *gr = json_array_get(groups, g);
            struct rota_prev_group *pg = &prev[k].groups[g];
            char gat[80];
            snprintf(gat, sizeof gat, "%s/groups/%zu", at, g);
            if (!want_object(gr, gat, err))
                continue;
            reject_unknown(gr, gat, group_fields, err);
            const json_t *members = json_object_get(gr, "members"),
                         *host = json_object_get(gr, "host");
            if (!members || !want_array(members, ptr(&p, "%s/members", gat), err)) {
                if (!members)
                    mat_errors_add(err, ptr(&p, "%s/members", gat), "is required");
                continue;
            }
            size_t nm = json_array_size(members);
            if (nm < 1 || nm > ROTA_GROUP_MAX) {
                mat_errors_add(err, ptr(&p, "%s/members", gat), "a group has 1 to %d members",
                               ROTA_GROUP_MAX);
                continue;
            }
            pg->size = (int)nm;
            for (size_t i = 0; i < nm; i++) {
                const char *u =
                    want_urn(json_array_get(members, i), ptr(&p, "%s/members/%zu", gat, i), err);
                if (u)
                    memcpy(pg->members[i], u, ROTA_URN_LEN);
            }
            if (host && !json_is_null(host)) {
                const char *u = want_urn(host, ptr(&p, "%s/host", gat), err);
                if (u)
                    memcpy(pg->host, u, ROTA_URN_LEN);
            }
        }
    }
    if (err->count + err->dropped > before) {
        rota_prev_terms_free(prev, nt);
        return -1;
    }
    *out = prev;
    *n_out = nt;
    return 0;
}
