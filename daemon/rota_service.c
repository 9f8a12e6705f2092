/* Interim rota planner behind rota_service_plan(): seeded local search per term (swap
 * moves, restarts) over the SPEC §7 objective: pair repeats weighted by recency, excluded
 * pairs as a hard constraint, phase, balance and travel as weighted soft terms, hosting
 * by least recent and least often. It serves the API and the scheduler until the libmat
 * planner (designs for the longest repeat-free runs) takes its place behind this function. */
#include "rota_service.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HARD 1e9

struct school {
    const char *urn, *phase;
    double lat, lon;
    bool has_loc, strong, category;
    int hosted, last_hosted; /* -1: never */
};

struct plan_ctx {
    int n;
    struct school *s;
    int *met;   /* n*n: index of the last term a pair met, -1 never */
    bool *excl; /* n*n */
    double decay, travel_weight;
    int phase_mode; /* 0 ignore, 1 prefer, 2 require */
    bool balance;
    uint64_t rng;
};

static uint64_t next_rand(struct plan_ctx *c)
{
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int find_school(const struct plan_ctx *c, const char *urn)
{
    for (int i = 0; urn && i < c->n; i++)
        if (strcmp(c->s[i].urn, urn) == 0)
            return i;
    return -1;
}

static double km(const struct school *a, const struct school *b)
{
    if (!a->has_loc || !b->has_loc)
        return 0;
    double r = M_PI / 180.0, dlat = (b->lat - a->lat) * r, dlon = (b->lon - a->lon) * r;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a->lat * r) * cos(b->lat * r) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0088 * asin(sqrt(h));
}

static double pair_cost(const struct plan_ctx *c, int a, int b, int now)
{
    if (c->excl[a * c->n + b])
        return HARD;
    double cost = 0;
    int m = c->met[a * c->n + b];
    if (m >= 0)
        cost += 1000.0 * pow(2.0, -((double)(now - m) - 1.0) / c->decay);
    if (c->phase_mode && strcmp(c->s[a].phase, c->s[b].phase) != 0)
        cost += c->phase_mode == 2 ? 1e6 : 1.0;
    return cost;
}

/* Host: the member who hosted least often, then least recently, then by URN. */
static int choose_host(const struct plan_ctx *c, const int *g, int size)
{
    int best = g[0];
    for (int i = 1; i < size; i++) {
        const struct school *x = &c->s[g[i]], *b = &c->s[best];
        if (x->hosted < b->hosted ||
            (x->hosted == b->hosted &&
             (x->last_hosted < b->last_hosted ||
              (x->last_hosted == b->last_hosted && strcmp(x->urn, b->urn) < 0))))
            best = g[i];
    }
    return best;
}

static double group_cost(const struct plan_ctx *c, const int *g, int size, int now)
{
    double cost = 0;
    int strong = 0, category = 0;
    for (int i = 0; i < size; i++) {
        strong += c->s[g[i]].strong;
        category += c->s[g[i]].category;
        for (int j = i + 1; j < size; j++)
            cost += pair_cost(c, g[i], g[j], now);
    }
    if (c->balance && (strong == 0 || category > 1))
        cost += 2.0;
    if (c->travel_weight > 0) {
        int host = choose_host(c, g, size);
        double worst = 0;
        for (int i = 0; i < size; i++)
            worst = fmax(worst, km(&c->s[g[i]], &c->s[host]));
        cost += c->travel_weight * worst / 100.0;
    }
    return cost;
}

/* Group boundaries: groups of 3, one or two of 4; a trust of 3 to 5 is one group. */
static int group_sizes(int n, int *sizes)
{
    if (n <= 5) {
        sizes[0] = n;
        return 1;
    }
    int groups = n / 3, fours = n % 3;
    for (int i = 0; i < groups; i++)
        sizes[i] = 3 + (i < fours);
    return groups;
}

/* Plans one term into order (schools laid out group after group). */
static double plan_term(struct plan_ctx *c, int now, int *order, const int *sizes, int ngroups)
{
    int n = c->n, *cur = xcalloc((size_t)n, sizeof *cur),
        *start = xcalloc((size_t)ngroups + 1, sizeof *start);
    for (int g = 0; g < ngroups; g++)
        start[g + 1] = start[g] + sizes[g];
    double best = HUGE_VAL;
    for (int restart = 0; restart < 8; restart++) {
        for (int i = 0; i < n; i++)
            cur[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(next_rand(c) % (uint64_t)(i + 1));
            int t = cur[i];
            cur[i] = cur[j];
            cur[j] = t;
        }
        double total = 0;
        for (int g = 0; g < ngroups; g++)
            total += group_cost(c, cur + start[g], sizes[g], now);
        int stale = 0;
        for (int it = 0; it < 40000 && stale < 4000 && ngroups > 1; it++) {
            int ga = (int)(next_rand(c) % (uint64_t)ngroups),
                gb = (int)(next_rand(c) % (uint64_t)ngroups);
            if (ga == gb)
                continue;
            int a = start[ga] + (int)(next_rand(c) % (uint64_t)sizes[ga]);
            int b = start[gb] + (int)(next_rand(c) % (uint64_t)sizes[gb]);
            double before = group_cost(c, cur + start[ga], sizes[ga], now) +
                            group_cost(c, cur + start[gb], sizes[gb], now);
            int t = cur[a];
            cur[a] = cur[b];
            cur[b] = t;
            double after = group_cost(c, cur + start[ga], sizes[ga], now) +
                           group_cost(c, cur + start[gb], sizes[gb], now);
            if (after <= before) {
                stale = after < before ? 0 : stale + 1;
                total += after - before;
            } else {
                cur[b] = cur[a];
                cur[a] = t;
                stale++;
            }
        }
        if (total < best) {
            best = total;
            memcpy(order, cur, (size_t)n * sizeof *cur);
        }
        if (best < 1e-9)
            break;
    }
    free(cur);
    free(start);
    return best;
}

static void add_error(struct mat_errors *errs, const char *path, const char *msg)
{
    mat_errors_add(errs, path, "%s", msg);
}

int rota_service_plan(const char *input_json, size_t len, bool strict, char **plan_json,
                      struct mat_errors *errs)
{
    json_error_t jerr;
    json_t *in = json_loadb(input_json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(in)) {
        mat_errors_add(errs, "", "the planner input is not a JSON object: %s", jerr.text);
        json_decref(in);
        return -1;
    }
    struct plan_ctx c = {0};
    json_t *schools = json_object_get(in, "schools"), *cons = json_object_get(in, "constraints");
    c.n = (int)json_array_size(schools);
    if (c.n < 3) {
        add_error(errs, "/schools", "a rota needs at least 3 active schools");
        json_decref(in);
        return -1;
    }
    c.s = xcalloc((size_t)c.n, sizeof *c.s);
    c.met = xcalloc((size_t)c.n * (size_t)c.n, sizeof *c.met);
    c.excl = xcalloc((size_t)c.n * (size_t)c.n, sizeof *c.excl);
    for (int i = 0; i < c.n * c.n; i++)
        c.met[i] = -1;
    for (int i = 0; i < c.n; i++) {
        json_t *o = json_array_get(schools, (size_t)i);
        struct school *s = &c.s[i];
        s->urn = json_string_value(json_object_get(o, "urn"));
        s->phase = json_string_value(json_object_get(o, "phase"));
        if (!s->phase)
            s->phase = "";
        json_t *lat = json_object_get(o, "lat"), *lon = json_object_get(o, "lon");
        s->has_loc = json_is_number(lat) && json_is_number(lon);
        s->lat = json_number_value(lat);
        s->lon = json_number_value(lon);
        s->strong = json_integer_value(json_object_get(o, "strength")) >= 4;
        s->category = json_is_true(json_object_get(o, "category"));
        s->last_hosted = -1;
        if (!s->urn || find_school(&c, s->urn) != i) {
            char path[48];
            snprintf(path, sizeof path, "/schools/%d/urn", i);
            add_error(errs, path, s->urn ? "this school is listed twice" : "urn is missing");
        }
    }
    const char *phase = json_string_value(json_object_get(cons, "phase"));
    c.phase_mode = !phase || strcmp(phase, "prefer") == 0 ? 1
                   : strcmp(phase, "require") == 0        ? 2
                                                          : 0;
    c.balance = !json_is_false(json_object_get(cons, "balance"));
    json_t *tw = json_object_get(cons, "travel_weight"), *decay = json_object_get(cons, "decay");
    c.travel_weight = tw ? json_number_value(tw) : 1.0;
    c.decay = decay && json_number_value(decay) > 0 ? json_number_value(decay) : 6.0;
    c.rng = (uint64_t)json_integer_value(json_object_get(in, "seed")) * 2654435761u + 1;
    size_t i;
    json_t *pair;
    json_array_foreach(json_object_get(cons, "excluded_pairs"), i, pair)
    {
        int a = find_school(&c, json_string_value(json_array_get(pair, 0)));
        int b = find_school(&c, json_string_value(json_array_get(pair, 1)));
        if (a >= 0 && b >= 0)
            c.excl[a * c.n + b] = c.excl[b * c.n + a] = true;
    }
    /* History, oldest first: schools no longer active are passed over. */
    json_t *history = json_object_get(in, "history"), *h;
    int nhist = (int)json_array_size(history);
    json_array_foreach(history, i, h)
    {
        size_t j;
        json_t *g;
        json_array_foreach(json_object_get(h, "groups"), j, g)
        {
            json_t *m = json_object_get(g, "members");
            for (size_t a = 0; strict && a < json_array_size(m); a++)
                if (find_school(&c, json_string_value(json_array_get(m, a))) < 0) {
                    char path[128];
                    snprintf(path, sizeof path, "/history/%zu/groups/%zu/members/%zu", i, j, a);
                    mat_errors_add(errs, path, "URN %s is not among the schools",
                                   json_string_value(json_array_get(m, a))
                                       ? json_string_value(json_array_get(m, a))
                                       : "(missing)");
                }
            for (size_t a = 0; a < json_array_size(m); a++)
                for (size_t b = 0; b < json_array_size(m); b++) {
                    int x = find_school(&c, json_string_value(json_array_get(m, a)));
                    int y = find_school(&c, json_string_value(json_array_get(m, b)));
                    if (x >= 0 && y >= 0 && x != y)
                        c.met[x * c.n + y] = (int)i;
                }
            int host = find_school(&c, json_string_value(json_object_get(g, "host")));
            if (host >= 0) {
                c.s[host].hosted++;
                c.s[host].last_hosted = (int)i;
            }
        }
    }
    if (json_array_size(json_object_get(in, "terms")) == 0)
        add_error(errs, "/terms", "name at least one term to plan");
    if (errs->count) {
        free(c.s);
        free(c.met);
        free(c.excl);
        json_decref(in);
        return -1;
    }
    int *sizes = xcalloc((size_t)c.n, sizeof *sizes), *order = xcalloc((size_t)c.n, sizeof *order);
    int ngroups = group_sizes(c.n, sizes);
    json_t *out_terms = json_array();
    int sum_repeats = 0, sum_phase = 0, sum_unbalanced = 0;
    double sum_max = 0, sum_total = 0;
    json_t *terms = json_object_get(in, "terms"), *t;
    json_array_foreach(terms, i, t)
    {
        int now = nhist + (int)i;
        double cost = plan_term(&c, now, order, sizes, ngroups);
        if (cost >= HARD) {
            add_error(errs, "/constraints/excluded_pairs",
                      "no grouping keeps every excluded pair apart (or phase is required and "
                      "cannot be met)");
            break;
        }
        json_t *groups = json_array();
        int repeats = 0, most_recent = -1, phase_mm = 0, unbalanced = 0;
        double max_km = 0, total_km = 0;
        for (int g = 0, at = 0; g < ngroups; at += sizes[g], g++) {
            const int *m = order + at;
            int host = choose_host(&c, m, sizes[g]);
            json_t *members = json_array();
            int strong = 0, category = 0;
            bool mixed = false;
            for (int a = 0; a < sizes[g]; a++) {
                json_array_append_new(members, json_string(c.s[m[a]].urn));
                strong += c.s[m[a]].strong;
                category += c.s[m[a]].category;
                mixed |= strcmp(c.s[m[a]].phase, c.s[m[0]].phase) != 0;
                double d = km(&c.s[m[a]], &c.s[host]);
                max_km = fmax(max_km, d);
                total_km += d;
                for (int b = a + 1; b < sizes[g]; b++) {
                    int met = c.met[m[a] * c.n + m[b]];
                    if (met >= 0) {
                        repeats++;
                        if (now - met < most_recent || most_recent < 0)
                            most_recent = now - met;
                    }
                }
            }
            for (int a = 0; a < sizes[g]; a++)
                for (int b = 0; b < sizes[g]; b++)
                    if (a != b)
                        c.met[m[a] * c.n + m[b]] = now;
            c.s[host].hosted++;
            c.s[host].last_hosted = now;
            phase_mm += mixed;
            unbalanced += strong == 0 || category > 1;
            json_array_append_new(
                groups, json_pack("{s:o, s:s}", "members", members, "host", c.s[host].urn));
        }
        sum_repeats += repeats;
        sum_phase += phase_mm;
        sum_unbalanced += unbalanced;
        sum_max = fmax(sum_max, max_km);
        sum_total += total_km;
        json_t *metrics =
            json_pack("{s:i, s:o, s:i, s:i, s:f, s:f}", "repeat_pairs", repeats,
                      "most_recent_repeat_terms_ago",
                      most_recent < 0 ? json_null() : json_integer(most_recent), "phase_mismatches",
                      phase_mm, "unbalanced_groups", unbalanced, "max_km", round(max_km * 10) / 10,
                      "total_km", round(total_km * 10) / 10);
        json_array_append_new(
            out_terms, json_pack("{s:O, s:O, s:o, s:o}", "year", json_object_get(t, "year"), "term",
                                 json_object_get(t, "term"), "groups", groups, "metrics", metrics));
    }
    int lo = 1 << 30, hi = 0;
    for (int k = 0; k < c.n; k++) {
        lo = c.s[k].hosted < lo ? c.s[k].hosted : lo;
        hi = c.s[k].hosted > hi ? c.s[k].hosted : hi;
    }
    int rc = errs->count ? -1 : 0;
    if (rc == 0) {
        json_t *out =
            json_pack("{s:o, s:{s:i, s:i, s:i, s:f, s:f, s:i}}", "terms", out_terms, "metrics",
                      "repeat_pairs", sum_repeats, "phase_mismatches", sum_phase,
                      "unbalanced_groups", sum_unbalanced, "max_km", round(sum_max * 10) / 10,
                      "total_km", round(sum_total * 10) / 10, "hosting_spread", hi - lo);
        *plan_json = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(out);
    } else {
        json_decref(out_terms);
    }
    free(sizes);
    free(order);
    free(c.s);
    free(c.met);
    free(c.excl);
    json_decref(in);
    return rc;
}
