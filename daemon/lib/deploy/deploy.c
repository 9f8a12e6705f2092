/* Expert deployment and moderation groups (SPEC 6.7). docs/priorities.md explains the
 * objective; the solver is a min-cost flow whose edge costs are lexicographic triples, so
 * the three goals never trade against each other and no weight can overflow. */
#include "deploy.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "util.h"

#undef DEPLOY_MAX_COST
#define DEPLOY_MAX_COST ((int64_t)1 << 41)
#define PHASE_MISMATCH ((int64_t)1 << 40)

/* ---- lexicographic costs: (-tops, -served, cost), smaller is better ---- */

struct lex {
    int64_t a, b, c;
};

static struct lex lex_add(struct lex x, struct lex y)
{
    return (struct lex){x.a + y.a, x.b + y.b, x.c + y.c};
}

static struct lex lex_neg(struct lex x)
{
    return (struct lex){-x.a, -x.b, -x.c};
}

static int lex_cmp(struct lex x, struct lex y)
{
    if (x.a != y.a)
        return x.a < y.a ? -1 : 1;
    if (x.b != y.b)
        return x.b < y.b ? -1 : 1;
    if (x.c != y.c)
        return x.c < y.c ? -1 : 1;
    return 0;
}

/* ---- the flow network ---- */

struct edge {
    int to, cap, rev;
    struct lex cost;
};

struct net {
    int n;
    struct edge **adj;
    int *deg, *cap;
};

static void net_init(struct net *g, int n)
{
    g->n = n;
    g->adj = xcalloc((size_t)n, sizeof *g->adj);
    g->deg = xcalloc((size_t)n, sizeof *g->deg);
    g->cap = xcalloc((size_t)n, sizeof *g->cap);
}

static void net_free(struct net *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->adj[i]);
    free(g->adj);
    free(g->deg);
    free(g->cap);
}

static void net_push(struct net *g, int u, struct edge e)
{
    if (g->deg[u] == g->cap[u]) {
        g->cap[u] = g->cap[u] ? g->cap[u] * 2 : 4;
        g->adj[u] = xrealloc(g->adj[u], (size_t)g->cap[u] * sizeof *g->adj[u]);
    }
    g->adj[u][g->deg[u]++] = e;
}

static void net_add(struct net *g, int u, int v, int cap, struct lex cost)
{
    int ru = g->deg[u], rv = g->deg[v] + (u == v);
    net_push(g, u, (struct edge){v, cap, rv, cost});
    net_push(g, v, (struct edge){u, 0, ru, lex_neg(cost)});
}

/* Shortest path s -> t in the residual network (Bellman-Ford with a queue: costs are
 * negative, and the residual network never has a negative cycle). False when t is
 * unreachable or the path would not improve the objective. */
static bool shortest_path(struct net *g, int s, int t, int *prev_node, int *prev_edge,
                          struct lex *dist, bool *reached, bool *queued, int *queue)
{
    for (int i = 0; i < g->n; i++)
        reached[i] = queued[i] = false;
    int head = 0, tail = 0, n = g->n;
    dist[s] = (struct lex){0, 0, 0};
    reached[s] = queued[s] = true;
    queue[tail++ % n] = s;
    while (head != tail) {
        int u = queue[head++ % n];
        queued[u] = false;
        for (int k = 0; k < g->deg[u]; k++) {
            struct edge *e = &g->adj[u][k];
            if (e->cap <= 0)
                continue;
            struct lex d = lex_add(dist[u], e->cost);
            if (reached[e->to] && lex_cmp(d, dist[e->to]) >= 0)
                continue;
            dist[e->to] = d;
            reached[e->to] = true;
            prev_node[e->to] = u;
            prev_edge[e->to] = k;
            if (!queued[e->to]) {
                queued[e->to] = true;
                queue[tail++ % n] = e->to;
            }
        }
    }
    return reached[t] && lex_cmp(dist[t], (struct lex){0, 0, 0}) < 0;
}

static void min_cost_flow(struct net *g, int s, int t)
{
    int *prev_node = xcalloc((size_t)g->n, sizeof *prev_node);
    int *prev_edge = xcalloc((size_t)g->n, sizeof *prev_edge);
    struct lex *dist = xcalloc((size_t)g->n, sizeof *dist);
    bool *reached = xcalloc((size_t)g->n, sizeof *reached);
    bool *queued = xcalloc((size_t)g->n, sizeof *queued);
    int *queue = xcalloc((size_t)g->n + 1, sizeof *queue);
    while (shortest_path(g, s, t, prev_node, prev_edge, dist, reached, queued, queue)) {
        for (int v = t; v != s; v = prev_node[v]) { /* every path carries one unit */
            struct edge *e = &g->adj[prev_node[v]][prev_edge[v]];
            e->cap--;
            g->adj[v][e->rev].cap++;
        }
    }
    free(prev_node);
    free(prev_edge);
    free(dist);
    free(reached);
    free(queued);
    free(queue);
}

/* ---- the abstract problem ---- */

int deploy_score_cmp(const struct deploy_score *a, const struct deploy_score *b)
{
    if (a->tops != b->tops)
        return a->tops > b->tops ? 1 : -1;
    if (a->served != b->served)
        return a->served > b->served ? 1 : -1;
    if (a->cost != b->cost)
        return a->cost < b->cost ? 1 : -1;
    return 0;
}

void deploy_score_of(const struct deploy_problem *p, const int *assign, struct deploy_score *out)
{
    memset(out, 0, sizeof *out);
    for (size_t j = 0; j < p->n_priorities; j++) {
        if (assign[j] < 0)
            continue;
        out->served++;
        out->tops += p->top[j];
        out->cost += p->cost[(size_t)assign[j] * p->n_priorities + j];
    }
}

int deploy_solve(const struct deploy_problem *p, int *assign, struct deploy_score *score)
{
    size_t ne = p->n_experts, np = p->n_priorities;
    if (np > DEPLOY_MAX_PRIORITIES || ne > DEPLOY_MAX_PRIORITIES)
        return -1;
    int *left = xcalloc(ne + 1, sizeof *left);
    for (size_t i = 0; i < ne; i++)
        left[i] = p->capacity[i] > 0 ? p->capacity[i] : 0;
    for (size_t j = 0; j < np; j++) {
        assign[j] = -1;
        int e = p->fixed ? p->fixed[j] : -1;
        if (e >= 0 && (size_t)e < ne && left[e] > 0 &&
            p->cost[(size_t)e * np + j] != DEPLOY_NO_FIT) {
            assign[j] = e;
            left[e]--;
        }
    }
    /* s = 0, experts 1..ne, priorities ne+1..ne+np, t = ne+np+1 */
    struct net g;
    int s = 0, t = (int)(ne + np + 1);
    net_init(&g, t + 1);
    for (size_t i = 0; i < ne; i++)
        if (left[i] > 0)
            net_add(&g, s, (int)i + 1, left[i], (struct lex){0, 0, 0});
    for (size_t j = 0; j < np; j++) {
        if (assign[j] >= 0)
            continue;
        net_add(&g, (int)(ne + 1 + j), t, 1, (struct lex){0, 0, 0});
        for (size_t i = 0; i < ne; i++) {
            int64_t c = p->cost[i * np + j];
            if (c != DEPLOY_NO_FIT && left[i] > 0)
                net_add(&g, (int)i + 1, (int)(ne + 1 + j), 1,
                        (struct lex){p->top[j] ? -1 : 0, -1, c});
        }
    }
    min_cost_flow(&g, s, t);
    for (size_t i = 0; i < ne; i++)
        for (int k = 0; k < g.deg[i + 1]; k++) {
            const struct edge *e = &g.adj[i + 1][k];
            if (e->to > (int)ne && e->to <= (int)(ne + np) && e->cap == 0 &&
                g.adj[e->to][e->rev].cap == 1)
                assign[e->to - (int)ne - 1] = (int)i;
        }
    net_free(&g);
    free(left);
    deploy_score_of(p, assign, score);
    return 0;
}

/* ---- the trust's problem ---- */

static bool has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(v[i], s))
            return true;
    return false;
}

bool deploy_fits(const struct deploy_expert *e, const struct priorities_item *it)
{
    if (it->level != PRIORITIES_LEVEL_SCHOOL || !it->urn || !strcmp(it->urn, e->home_urn))
        return false;
    if (it->kind == PRIORITIES_KIND_SEF) {
        if (!has(e->sef_areas, e->n_sef_areas, it->area))
            return false;
    } else if (!it->subject || !has(e->subjects, e->n_subjects, it->subject)) {
        return false;
    }
    return !it->group || !strcmp(it->group, "all") || has(e->groups, e->n_groups, it->group);
}

static const struct deploy_school *school_of(const struct deploy_input *in, const char *urn)
{
    for (size_t i = 0; urn && i < in->n_schools; i++)
        if (!strcmp(in->schools[i].urn, urn))
            return &in->schools[i];
    return NULL;
}

struct pair_geo {
    bool same_phase, has_distance;
    double km;
};

static struct pair_geo pair_geo(const struct deploy_school *a, const struct deploy_school *b)
{
    struct pair_geo g = {0};
    g.same_phase = a && b && a->phase && b->phase && !strcmp(a->phase, b->phase);
    g.has_distance = a && b && a->has_location && b->has_location;
    if (g.has_distance)
        g.km = geo_haversine_km(a->lat, a->lon, b->lat, b->lon);
    return g;
}

/* Fewest phase mismatches first, then least distance (in 0.1 km; unknown counts as
 * 1,000 km). */
static int64_t pair_cost(struct pair_geo g)
{
    int64_t tenths = g.has_distance ? (int64_t)llround(g.km * 10.0) : 10000;
    return (g.same_phase ? 0 : PHASE_MISMATCH) + tenths;
}

static char *sentence(const struct deploy_input *in, const struct deploy_expert *e,
                      const struct priorities_item *it, struct pair_geo g)
{
    const struct deploy_school *home = school_of(in, e->home_urn), *to = school_of(in, it->urn);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "%s (%s, %s) supports %s on ", e->name, e->role,
                  home && home->name ? home->name : e->home_urn,
                  to && to->name ? to->name : it->urn);
    if (it->kind == PRIORITIES_KIND_SEF) {
        strbuf_puts(&sb, "its self-evaluated ");
        for (const char *c = it->area; *c; c++)
            strbuf_append(&sb, *c == '_' ? " " : c, 1);
    } else {
        strbuf_printf(&sb, "%s (%s", it->subject, priorities_kind_name(it->kind));
        if (it->group && strcmp(it->group, "all"))
            strbuf_printf(&sb, ", %s pupils", it->group);
        strbuf_puts(&sb, ")");
    }
    strbuf_puts(&sb, g.same_phase ? ": same phase" : ": another phase");
    if (g.has_distance)
        strbuf_printf(&sb, ", %.1f km away.", g.km);
    else
        strbuf_puts(&sb, ", distance unknown.");
    return strbuf_detach(&sb, NULL);
}

int deploy_plan_make(const struct deploy_input *in, struct deploy_plan **out)
{
    *out = NULL;
    size_t np = 0, ne = in->n_experts;
    const struct priorities_item **items = xcalloc(in->list->count + 1, sizeof *items);
    for (size_t i = 0; i < in->list->count; i++)
        if (in->list->items[i]->level == PRIORITIES_LEVEL_SCHOOL &&
            school_of(in, in->list->items[i]->urn))
            items[np++] = in->list->items[i];
    if (np > DEPLOY_MAX_PRIORITIES || ne > DEPLOY_MAX_PRIORITIES) {
        free(items);
        return -1;
    }
    int *capacity = xcalloc(ne + 1, sizeof *capacity), *school = xcalloc(np + 1, sizeof *school);
    int *fixed = xcalloc(np + 1, sizeof *fixed), *assign = xcalloc(np + 1, sizeof *assign);
    bool *top = xcalloc(np + 1, sizeof *top);
    int64_t *cost = xcalloc(ne * np + 1, sizeof *cost);
    for (size_t i = 0; i < ne; i++)
        capacity[i] = in->experts[i].days;
    for (size_t j = 0; j < np; j++) {
        school[j] = (int)(school_of(in, items[j]->urn) - in->schools);
        top[j] = true; /* the list is score-ordered: the first of each school is its top */
        for (size_t k = 0; k < j && top[j]; k++)
            top[j] = school[k] != school[j];
        fixed[j] = -1;
        for (size_t k = 0; k < in->n_kept; k++)
            if (!strcmp(in->kept[k].priority_id, items[j]->id))
                for (size_t i = 0; i < ne; i++)
                    if (!strcmp(in->experts[i].id, in->kept[k].expert_id))
                        fixed[j] = (int)i;
        for (size_t i = 0; i < ne; i++)
            cost[i * np + j] = deploy_fits(&in->experts[i], items[j])
                                   ? pair_cost(pair_geo(school_of(in, in->experts[i].home_urn),
                                                        &in->schools[school[j]]))
                                   : DEPLOY_NO_FIT;
    }
    struct deploy_problem p = {ne, np, capacity, school, top, cost, fixed};
    struct deploy_plan *plan = xcalloc(1, sizeof *plan);
    deploy_solve(&p, assign, &plan->score);
    plan->used = xcalloc(ne + 1, sizeof *plan->used);
    plan->assignments = xcalloc(np + 1, sizeof *plan->assignments);
    plan->unmet = xcalloc(np + 1, sizeof *plan->unmet);
    for (size_t s = 0; s < in->n_schools; s++) /* by receiving school, then priority order */
        for (size_t j = 0; j < np; j++) {
            if (school[j] != (int)s || assign[j] < 0)
                continue;
            const struct deploy_expert *e = &in->experts[assign[j]];
            struct pair_geo g = pair_geo(school_of(in, e->home_urn), &in->schools[s]);
            struct deploy_assignment *a = &plan->assignments[plan->n_assignments++];
            a->expert = (size_t)assign[j];
            a->item = items[j];
            a->same_phase = g.same_phase;
            a->has_distance = g.has_distance;
            a->distance_km = g.km;
            a->kept = fixed[j] == assign[j];
            a->sentence = sentence(in, e, items[j], g);
            plan->used[assign[j]]++;
        }
    for (size_t j = 0; j < np; j++)
        if (assign[j] < 0)
            plan->unmet[plan->n_unmet++] = items[j];
    free(items);
    free(capacity);
    free(school);
    free(fixed);
    free(assign);
    free(top);
    free(cost);
    *out = plan;
    return 0;
}

void deploy_plan_free(struct deploy_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_assignments; i++)
        free(plan->assignments[i].sentence);
    free(plan->assignments);
    free(plan->unmet);
    free(plan->used);
    free(plan);
}

/* An item of a school the reader oversees, not standing on a cell withheld from them. */
static bool shown(const struct deploy_input *in, const char *const *visible, size_t n,
                  const struct priorities_item *it)
{
    return (!visible || has(visible, n, it->urn)) &&
           !(in->cohort && priorities_item_withheld(it, in->cohort));
}

static json_t *item_ref(const struct priorities_item *it)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "priority_id", it->id, "urn", it->urn, "kind",
                          priorities_kind_name(it->kind));
    if (it->area)
        json_object_set_new(o, "area", json_string(it->area));
    else
        json_object_set_new(o, "subject", json_string(it->subject));
    json_object_set_new(o, "group", it->group ? json_string(it->group) : json_null());
    json_object_set_new(o, "score", json_real((double)it->score_hundredths / 100.0));
    return o;
}

char *deploy_plan_to_json(const struct deploy_input *in, const struct deploy_plan *plan,
                          const char *published_at, const char *const *visible, size_t n_visible,
                          size_t *len)
{
    json_t *as = json_array(), *unmet = json_array(), *cap = json_array();
    for (size_t i = 0; i < plan->n_assignments; i++) {
        const struct deploy_assignment *a = &plan->assignments[i];
        if (!shown(in, visible, n_visible, a->item))
            continue;
        const struct deploy_expert *e = &in->experts[a->expert];
        json_t *o = item_ref(a->item);
        json_object_set_new(o, "expert_id", json_string(e->id));
        json_object_set_new(o, "expert_name", json_string(e->name));
        json_object_set_new(o, "role", json_string(e->role));
        json_object_set_new(o, "home_urn", json_string(e->home_urn));
        json_object_set_new(o, "same_phase", json_boolean(a->same_phase));
        json_object_set_new(o, "distance_km",
                            a->has_distance ? json_real(round(a->distance_km * 10) / 10)
                                            : json_null());
        json_object_set_new(o, "kept", json_boolean(a->kept));
        json_object_set_new(o, "sentence", json_string(a->sentence));
        json_array_append_new(as, o);
    }
    for (size_t i = 0; i < plan->n_unmet; i++)
        if (shown(in, visible, n_visible, plan->unmet[i]))
            json_array_append_new(unmet, item_ref(plan->unmet[i]));
    for (size_t i = 0; i < in->n_experts; i++)
        json_array_append_new(cap, json_pack("{s:s, s:i, s:i, s:i}", "expert_id", in->experts[i].id,
                                             "days", in->experts[i].days, "used", plan->used[i],
                                             "remaining", in->experts[i].days - plan->used[i]));
    json_t *doc = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}}", "year", in->year, "term", in->term,
        "published_at", published_at ? json_string(published_at) : json_null(), "assignments", as,
        "unmet", unmet, "capacity", visible ? (json_decref(cap), json_array()) : cap, "objective",
        "schools_top_served", (json_int_t)plan->score.tops, "priorities_served",
        (json_int_t)plan->score.served, "cost", (json_int_t)plan->score.cost);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(doc);
    if (!s)
        fatal("deploy: json_dumps failed");
    if (len)
        *len = strlen(s);
    return s;
}

/* ---- moderation ---- */

/* School a before school b: more pupils on roll first, then URN. */
static bool school_before(const struct deploy_school *a, const struct deploy_school *b)
{
    if (a->pupils != b->pupils)
        return a->pupils > b->pupils;
    return strcmp(a->urn, b->urn) < 0;
}

struct deploy_moderation *deploy_moderate(const struct deploy_input *in, const char *subject)
{
    struct deploy_moderation *m = xcalloc(1, sizeof *m);
    m->moderator = xcalloc(in->n_schools + 1, sizeof *m->moderator);
    m->load = xcalloc(in->n_experts + 1, sizeof *m->load);
    size_t *order = xcalloc(in->n_schools + 1, sizeof *order);
    for (size_t i = 0; i < in->n_schools; i++) { /* insertion sort: a trust's schools */
        size_t k = i;
        for (; k > 0 && school_before(&in->schools[i], &in->schools[order[k - 1]]); k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    for (size_t k = 0; k < in->n_schools; k++) {
        const struct deploy_school *s = &in->schools[order[k]];
        int best = -1;
        for (size_t i = 0; i < in->n_experts; i++) {
            const struct deploy_expert *e = &in->experts[i];
            if (strcmp(e->role, "moderator") || !strcmp(e->home_urn, s->urn))
                continue;
            if (subject && !has(e->subjects, e->n_subjects, subject))
                continue;
            if (best < 0 || m->load[i] < m->load[best] ||
                (m->load[i] == m->load[best] && strcmp(e->id, in->experts[best].id) < 0))
                best = (int)i;
        }
        m->moderator[order[k]] = best;
        if (best >= 0)
            m->load[best] += s->pupils;
    }
    free(order);
    return m;
}

void deploy_moderation_free(struct deploy_moderation *m)
{
    if (!m)
        return;
    free(m->moderator);
    free(m->load);
    free(m);
}

char *deploy_moderation_to_json(const struct deploy_input *in, const struct deploy_moderation *m,
                                const char *subject, size_t *len)
{
    json_t *groups = json_array(), *unassigned = json_array();
    for (size_t i = 0; i < in->n_experts; i++) {
        const struct deploy_expert *e = &in->experts[i];
        json_t *schools = json_array();
        for (size_t s = 0; s < in->n_schools; s++)
            if (m->moderator[s] == (int)i)
                json_array_append_new(schools, json_string(in->schools[s].urn));
        if (!json_array_size(schools)) {
            json_decref(schools);
            continue;
        }
        json_array_append_new(groups, json_pack("{s:s, s:s, s:s, s:o, s:I}", "moderator_id", e->id,
                                                "name", e->name, "home_urn", e->home_urn, "schools",
                                                schools, "pupils", (json_int_t)m->load[i]));
    }
    for (size_t s = 0; s < in->n_schools; s++)
        if (m->moderator[s] < 0)
            json_array_append_new(unassigned, json_string(in->schools[s].urn));
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o}", "year", in->year, "term", in->term,
                            "subject", subject ? json_string(subject) : json_null(), "groups",
                            groups, "unassigned", unassigned);
    char *out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!out)
        fatal("deploy: json_dumps failed");
    if (len)
        *len = strlen(out);
    return out;
}
