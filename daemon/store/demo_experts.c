/* Demo experts and their published deployment: the plan is libmat's, over the priorities
 * just computed from the demo's data, exactly as POST /v1/deployments/.../publish does. */
#include "demo_experts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "priorities_load.h"
#include "util.h"

#define DEMO_YEAR "2025-26"
#define DEMO_TERM "spring"

struct demo_expert {
    const char *id, *role, *name, *home;
    const char *subjects, *areas, *groups; /* JSON arrays */
    int days;
};

/* Strong schools lend their staff: Dale Meadow, Hollybank, Abbey Fields, Juniper,
 * Kingsway; moderators at four schools; a SENCo at Foxhill. */
static const struct demo_expert experts[] = {
    {"dm-writing-sle", "sle", "Priya Shah", "140004", "[\"writing\",\"gps\"]", "[]",
     "[\"disadvantaged\",\"boys\"]", 6},
    {"hb-maths-sle", "sle", "Tom Okafor", "140008", "[\"maths\"]", "[]",
     "[\"disadvantaged\",\"girls\"]", 5},
    {"af-reading-sle", "sle", "Grace Lin", "140001", "[\"reading\",\"writing\"]", "[]",
     "[\"disadvantaged\",\"eal\"]", 4},
    {"jp-lle", "lle", "Martin Hughes", "140010", "[]",
     "[\"achievement\",\"leadership_and_governance\",\"curriculum_and_teaching\"]", "[]", 4},
    {"ka-nle", "nle", "Helen Adeyemi", "140011", "[\"english\",\"maths\",\"science\"]",
     "[\"achievement\",\"curriculum_and_teaching\"]", "[\"disadvantaged\"]", 6},
    {"fh-senco", "senco", "Rosa Martinez", "140006", "[\"reading\",\"writing\",\"maths\"]", "[]",
     "[\"send\",\"send_support\",\"ehcp\"]", 3},
    {"gw-science-lead", "subject_lead", "Daniel Price", "140007", "[\"science\"]", "[]",
     "[\"disadvantaged\"]", 3},
    {"dm-phase-lead", "phase_lead", "Sarah Cole", "140004", "[\"reading\",\"maths\"]",
     "[\"achievement\"]", "[\"disadvantaged\",\"boys\",\"girls\"]", 4},
    {"dm-moderator", "moderator", "Ian Ward", "140004", "[\"writing\",\"reading\",\"maths\"]", "[]",
     "[]", 2},
    {"hb-moderator", "moderator", "Lucy Grant", "140008", "[\"writing\",\"maths\"]", "[]", "[]", 2},
    {"jp-moderator", "moderator", "Owen Black", "140010", "[\"writing\",\"reading\"]", "[]", "[]",
     2},
    {"la-moderator", "moderator", "Nadia Iqbal", "140012", "[\"english\",\"maths\",\"writing\"]",
     "[]", "[]", 2},
};

static int exec_params(PGconn *pg, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "matctl demo: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static int insert_experts(PGconn *pg, const char *trust)
{
    for (size_t i = 0; i < ARRAY_LEN(experts); i++) {
        const struct demo_expert *e = &experts[i];
        char days[8];
        snprintf(days, sizeof days, "%d", e->days);
        const char *p[8] = {trust,   e->id,       e->role,  e->name,
                            e->home, e->subjects, e->areas, e->groups};
        const char *q[9] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], days};
        if (exec_params(pg,
                        "INSERT INTO experts (trust_id, id, role, name, home_urn, expertise, "
                        " days_per_term) VALUES ($1, $2, $3, $4, $5, json_build_object('subjects', "
                        " $6::json, 'sef_areas', $7::json, 'phases', '[]'::json, 'groups', "
                        " $8::json), $9)",
                        9, q) != 0)
            return -1;
    }
    return 0;
}

/* The deploy inputs from the database as the API reads them. */
struct loaded {
    PGresult *schools, *experts;
    struct deploy_school *s;
    struct deploy_expert *e;
    json_t **x;
    const char **strs;
};

static size_t take(json_t *x, const char *key, const char ***at, const char *const **out)
{
    json_t *a = json_object_get(x, key);
    *out = *at;
    for (size_t i = 0; i < json_array_size(a); i++)
        *(*at)++ = json_string_value(json_array_get(a, i));
    return json_array_size(a);
}

static int load_inputs(PGconn *pg, const char *trust, struct loaded *L, struct deploy_input *in)
{
    const char *p[1] = {trust};
    L->schools = PQexecParams(pg,
                              "SELECT urn, name, phase, lat, lon, coalesce(pupils_on_roll, 0) "
                              "FROM schools WHERE trust_id = $1 ORDER BY urn",
                              1, NULL, p, NULL, NULL, 0);
    L->experts = PQexecParams(pg,
                              "SELECT id, name, role, home_urn, expertise::text, days_per_term "
                              "FROM experts WHERE trust_id = $1 ORDER BY id",
                              1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(L->schools) != PGRES_TUPLES_OK ||
        PQresultStatus(L->experts) != PGRES_TUPLES_OK)
        return -1;
    int ns = PQntuples(L->schools), ne = PQntuples(L->experts);
    L->s = xcalloc((size_t)ns + 1, sizeof *L->s);
    for (int i = 0; i < ns; i++)
        L->s[i] = (struct deploy_school){
            PQgetvalue(L->schools, i, 0),       PQgetvalue(L->schools, i, 1),
            PQgetvalue(L->schools, i, 2),       true,
            atof(PQgetvalue(L->schools, i, 3)), atof(PQgetvalue(L->schools, i, 4)),
            atoi(PQgetvalue(L->schools, i, 5))};
    L->e = xcalloc((size_t)ne + 1, sizeof *L->e);
    L->x = xcalloc((size_t)ne + 1, sizeof *L->x);
    L->strs = xcalloc((size_t)ne * 64 + 1, sizeof *L->strs);
    const char **at = L->strs;
    for (int i = 0; i < ne; i++) {
        json_error_t jerr;
        L->x[i] = json_loads(PQgetvalue(L->experts, i, 4), 0, &jerr);
        struct deploy_expert *e = &L->e[i];
        e->id = PQgetvalue(L->experts, i, 0);
        e->name = PQgetvalue(L->experts, i, 1);
        e->role = PQgetvalue(L->experts, i, 2);
        e->home_urn = PQgetvalue(L->experts, i, 3);
        e->days = atoi(PQgetvalue(L->experts, i, 5));
        e->n_subjects = take(L->x[i], "subjects", &at, &e->subjects);
        e->n_sef_areas = take(L->x[i], "sef_areas", &at, &e->sef_areas);
        e->n_phases = take(L->x[i], "phases", &at, &e->phases);
        e->n_groups = take(L->x[i], "groups", &at, &e->groups);
    }
    in->schools = L->s;
    in->n_schools = (size_t)ns;
    in->experts = L->e;
    in->n_experts = (size_t)ne;
    return 0;
}

static void loaded_free(struct loaded *L, size_t ne)
{
    for (size_t i = 0; L->x && i < ne; i++)
        json_decref(L->x[i]);
    free(L->x);
    free(L->s);
    free(L->e);
    free(L->strs);
    PQclear(L->schools);
    PQclear(L->experts);
}

static int publish(PGconn *pg, const char *trust, const struct deploy_input *in,
                   const struct deploy_plan *plan)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < plan->n_assignments; i++) {
        const struct deploy_assignment *a = &plan->assignments[i];
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s}", "priority_id", a->item->id,
                                              "expert_id", in->experts[a->expert].id, "urn",
                                              a->item->urn, "sentence", a->sentence));
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *p[4] = {trust, DEMO_YEAR, DEMO_TERM, text};
    int rc = exec_params(pg,
                         "INSERT INTO deployments (trust_id, year, term, priority_id, expert_id, "
                         " urn, sentence) SELECT $1, $2, $3, x.priority_id, x.expert_id, x.urn, "
                         " x.sentence FROM json_to_recordset($4::json) AS x(priority_id text, "
                         " expert_id text, urn text, sentence text)",
                         4, p);
    free(text);
    return rc;
}

int demo_experts_load(PGconn *pg, const char *trust)
{
    if (insert_experts(pg, trust) != 0)
        return -1;
    char err[512];
    struct priorities_list *list = NULL;
    struct priorities_masks masks = {0};
    if (priorities_load_blocking(pg, trust, DEMO_YEAR, DEMO_TERM, false, &list, &masks, err,
                                 sizeof err) != 0) {
        fprintf(stderr, "matctl demo: priorities: %s\n", err);
        return -1;
    }
    /* The plan is published to the trust: the items as the CEO reads them (SPEC §8). */
    struct priorities_cohort co = {.now = masks.now, .prev = masks.prev};
    struct priorities_list *seen = priorities_cohort_view(list, &co);
    struct loaded L = {0};
    struct deploy_input in = {.year = DEMO_YEAR, .term = DEMO_TERM, .list = seen};
    struct deploy_plan *plan = NULL;
    int rc = load_inputs(pg, trust, &L, &in);
    if (rc == 0)
        rc = deploy_plan_make(&in, &plan);
    if (rc == 0)
        rc = publish(pg, trust, &in, plan);
    else
        fprintf(stderr, "matctl demo: the deployment could not be planned\n");
    deploy_plan_free(plan);
    loaded_free(&L, in.n_experts);
    priorities_list_free(seen);
    priorities_list_free(list);
    suppress_free(masks.now);
    suppress_free(masks.prev);
    return rc;
}
