/* The deployment solver against brute force on every instance shape up to 6 experts x 6
 * priorities (random capacities, schools, fits and costs), plus the trust-level rules:
 * never the home school, group and area matching, kept assignments, moderation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "prng.h"

#define MAXE 6
#define MAXP 6

struct inst {
    size_t ne, np;
    int capacity[MAXE], school[MAXP], fixed[MAXP];
    bool top[MAXP];
    int64_t cost[MAXE * MAXP];
};

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    return prng_splitmix64(s) % n;
}

static void make(struct inst *in, size_t ne, size_t np, uint64_t *seed)
{
    memset(in, 0, sizeof *in);
    in->ne = ne;
    in->np = np;
    for (size_t i = 0; i < ne; i++)
        in->capacity[i] = (int)rnd(seed, 4); /* 0..3 */
    int nschools = 1 + (int)rnd(seed, np);
    for (size_t j = 0; j < np; j++) {
        in->school[j] = (int)rnd(seed, (uint64_t)nschools);
        in->fixed[j] = -1;
    }
    /* Priorities are in score order: each school's first is its top. */
    for (size_t j = 0; j < np; j++) {
        in->top[j] = true;
        for (size_t k = 0; k < j; k++)
            if (in->school[k] == in->school[j])
                in->top[j] = false;
    }
    for (size_t i = 0; i < ne * np; i++)
        in->cost[i] = rnd(seed, 3) == 0 ? DEPLOY_NO_FIT
                                        : (int64_t)(rnd(seed, 2) << 40) + (int64_t)rnd(seed, 50);
}

static struct deploy_problem problem(const struct inst *in)
{
    return (struct deploy_problem){in->ne,  in->np,   in->capacity, in->school,
                                   in->top, in->cost, in->fixed};
}

/* Every assignment of each priority to nothing or a fitting expert within capacity. */
static void brute(const struct inst *in, size_t j, int *assign, int *left,
                  struct deploy_score *best)
{
    if (j == in->np) {
        struct deploy_problem p = problem(in);
        struct deploy_score s;
        deploy_score_of(&p, assign, &s);
        if (deploy_score_cmp(&s, best) > 0)
            *best = s;
        return;
    }
    assign[j] = -1;
    brute(in, j + 1, assign, left, best);
    for (size_t i = 0; i < in->ne; i++) {
        if (left[i] == 0 || in->cost[i * in->np + j] == DEPLOY_NO_FIT)
            continue;
        left[i]--;
        assign[j] = (int)i;
        brute(in, j + 1, assign, left, best);
        left[i]++;
    }
    assign[j] = -1;
}

static void check_valid(const struct inst *in, const int *assign)
{
    int used[MAXE] = {0};
    for (size_t j = 0; j < in->np; j++) {
        if (assign[j] < 0)
            continue;
        assert_true(assign[j] < (int)in->ne);
        assert_true(in->cost[(size_t)assign[j] * in->np + j] != DEPLOY_NO_FIT);
        used[assign[j]]++;
    }
    for (size_t i = 0; i < in->ne; i++)
        assert_true(used[i] <= in->capacity[i]);
}

static void test_solver_matches_brute_force(void **state)
{
    (void)state;
    uint64_t seed = 20251203;
    size_t checked = 0;
    for (size_t ne = 1; ne <= MAXE; ne++)
        for (size_t np = 1; np <= MAXP; np++) {
            int rounds = ne * np <= 16 ? 60 : 12;
            for (int r = 0; r < rounds; r++) {
                struct inst in;
                make(&in, ne, np, &seed);
                struct deploy_problem p = problem(&in);
                int assign[MAXP], left[MAXE], scratch[MAXP];
                struct deploy_score got, best = {0, 0, 0};
                assert_int_equal(deploy_solve(&p, assign, &got), 0);
                check_valid(&in, assign);
                for (size_t i = 0; i < ne; i++)
                    left[i] = in.capacity[i];
                brute(&in, 0, scratch, left, &best);
                if (deploy_score_cmp(&got, &best) != 0)
                    fail_msg("ne=%zu np=%zu round %d: solver (%ld, %ld, %lld) brute (%ld, %ld, "
                             "%lld)",
                             ne, np, r, got.tops, got.served, (long long)got.cost, best.tops,
                             best.served, (long long)best.cost);
                checked++;
            }
        }
    assert_true(checked > 700);
}

/* A school's top priority is served before any school's second, even at a higher cost
 * and at the price of a second priority elsewhere. */
static void test_tops_before_seconds(void **state)
{
    (void)state;
    /* One expert, one day; school 0 has two priorities (top j0, second j1), school 1 one. */
    struct inst in = {.ne = 1,
                      .np = 3,
                      .capacity = {1},
                      .school = {0, 0, 1},
                      .top = {true, false, true},
                      .fixed = {-1, -1, -1}};
    in.cost[0] = DEPLOY_NO_FIT;    /* cannot serve school 0's top */
    in.cost[1] = 1;                /* could serve its second, cheaply */
    in.cost[2] = (int64_t)1 << 40; /* school 1's top: another phase */
    struct deploy_problem p = problem(&in);
    int assign[3];
    struct deploy_score s;
    assert_int_equal(deploy_solve(&p, assign, &s), 0);
    assert_int_equal(assign[2], 0);
    assert_int_equal(assign[1], -1);
    /* A fixed pair that still fits is kept even when it is not optimal. */
    in.fixed[1] = 0;
    assert_int_equal(deploy_solve(&p, assign, &s), 0);
    assert_int_equal(assign[1], 0);
    assert_int_equal(assign[2], -1);
    /* ...and dropped when it no longer fits. */
    in.cost[1] = DEPLOY_NO_FIT;
    assert_int_equal(deploy_solve(&p, assign, &s), 0);
    assert_int_equal(assign[1], -1);
    assert_int_equal(assign[2], 0);
}

/* Items own copies of their strings (the list's items are not const). */
static struct priorities_item *item(const char *id, const char *urn, enum priorities_kind kind,
                                    const char *subject, const char *area, const char *group,
                                    int64_t score)
{
    struct priorities_item *it = calloc(1, sizeof *it);
    snprintf(it->id, sizeof it->id, "%s", id);
    it->level = PRIORITIES_LEVEL_SCHOOL;
    it->kind = kind;
    it->urn = strdup(urn);
    it->subject = subject ? strdup(subject) : NULL;
    it->area = area ? strdup(area) : NULL;
    it->group = group ? strdup(group) : NULL;
    it->score_hundredths = score;
    return it;
}

static void test_trust_plan(void **state)
{
    (void)state;
    const struct deploy_school schools[] = {
        {"100001", "Alpha", "primary", true, 52.0, -1.0, 300},
        {"100002", "Beta", "primary", true, 52.1, -1.0, 200},
        {"100003", "Gamma", "secondary", true, 52.5, -1.0, 900},
    };
    const char *maths[] = {"maths"}, *dis[] = {"disadvantaged"}, *ach[] = {"achievement"};
    const struct deploy_expert experts[] = {
        /* A maths SLE at Alpha: cannot serve Alpha; serves Beta's maths (same phase). */
        {"e1", "Ann", "sle", "100001", maths, NULL, NULL, dis, 1, 0, 0, 1, 2},
        /* A moderator at Gamma with maths and achievement, no groups. */
        {"e2", "Bob", "moderator", "100003", maths, ach, NULL, NULL, 1, 1, 0, 0, 1},
        {"e3", "Cy", "moderator", "100002", maths, NULL, NULL, NULL, 1, 0, 0, 0, 0},
    };
    struct priorities_item *items[] = {
        item("a1", "100001", PRIORITIES_KIND_ATTAINMENT, "maths", NULL, "all", 9000),
        item("b1", "100002", PRIORITIES_KIND_GAP, "maths", NULL, "disadvantaged", 5000),
        item("b2", "100002", PRIORITIES_KIND_SEF, NULL, "achievement", NULL, 2000),
        item("c1", "100003", PRIORITIES_KIND_ATTAINMENT, "reading", NULL, "all", 1000),
    };
    struct priorities_list list = {.year = "2025-26", .term = "spring", .items = items, .count = 4};
    assert_false(deploy_fits(&experts[0], items[0])); /* home school */
    assert_true(deploy_fits(&experts[0], items[1]));
    assert_false(deploy_fits(&experts[1], items[1])); /* group not covered */
    assert_true(deploy_fits(&experts[1], items[2]));
    struct deploy_input in = {"2025-26", "spring", schools, 3, experts, 3, &list, NULL, 0, NULL};
    struct deploy_plan *plan;
    assert_int_equal(deploy_plan_make(&in, &plan), 0);
    /* a1 -> Bob (Gamma, another phase); b1 -> Ann; b2 -> nobody left (Bob is used). */
    assert_int_equal(plan->n_assignments, 2);
    assert_int_equal(plan->score.tops, 2);
    assert_int_equal(plan->n_unmet, 2);
    char *json = deploy_plan_to_json(&in, plan, NULL, NULL, 0, NULL);
    assert_non_null(strstr(json, "\"expert_id\":\"e2\",\"expert_name\":\"Bob\""));
    assert_non_null(strstr(json, "Ann (sle, Alpha) supports Beta on maths (gap, disadvantaged "
                                 "pupils): same phase, 11.1 km away."));
    free(json);
    /* Beta's executive head sees Beta's assignment and unmet items only. */
    const char *beta[] = {"100002"};
    json = deploy_plan_to_json(&in, plan, NULL, beta, 1, NULL);
    assert_null(strstr(json, "\"urn\":\"100001\""));
    free(json);
    deploy_plan_free(plan);
    /* Kept: Bob on b2 stays, so a1 goes unmet (Ann cannot serve her own school). */
    const struct deploy_kept kept[] = {{"e2", "b2"}};
    in.kept = kept;
    in.n_kept = 1;
    assert_int_equal(deploy_plan_make(&in, &plan), 0);
    assert_int_equal(plan->n_assignments, 2);
    assert_true(plan->assignments[1].kept || plan->assignments[0].kept);
    deploy_plan_free(plan);

    /* Moderation: by pupils descending, each school to the least-loaded other moderator. */
    struct deploy_moderation *m = deploy_moderate(&in, "maths");
    assert_int_equal(m->moderator[2], 2); /* Gamma (900) -> Cy (Beta) */
    assert_int_equal(m->moderator[0], 1); /* Alpha (300) -> Bob, less loaded */
    assert_int_equal(m->moderator[1], 1); /* Beta -> Bob: Cy is at Beta */
    json = deploy_moderation_to_json(&in, m, "maths", NULL);
    assert_non_null(strstr(json, "\"moderator_id\":\"e2\",\"name\":\"Bob\",\"home_urn\":"
                                 "\"100003\",\"schools\":[\"100001\",\"100002\"],\"pupils\":500"));
    free(json);
    deploy_moderation_free(m);
    for (size_t i = 0; i < 4; i++) {
        free(items[i]->urn);
        free(items[i]->subject);
        free(items[i]->area);
        free(items[i]->group);
        free(items[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solver_matches_brute_force),
        cmocka_unit_test(test_tops_before_seconds),
        cmocka_unit_test(test_trust_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
