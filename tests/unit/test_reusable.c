/* lib/reusable.c: idle connections by address, the busiest address's oldest closed first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "prng.h"
#include "reusable.h"

struct item {
    struct reusable_node node; /* first: a node is its item */
    int id;
    char addr[64];
};

static void add(struct reusable *r, struct item *it, int id, const char *addr)
{
    it->id = id;
    snprintf(it->addr, sizeof it->addr, "%s", addr);
    reusable_add(r, &it->node, addr);
}

/* Takes the victim out, as a worker closing it would, and returns its id (-1: none). */
static int evict(struct reusable *r)
{
    struct item *it = (struct item *)reusable_victim(r);
    if (!it)
        return -1;
    reusable_remove(r, &it->node);
    return it->id;
}

static void test_one_address_oldest_first(void **state)
{
    (void)state;
    struct reusable *r = reusable_new(16, 8, 1);
    struct item it[5] = {0};
    assert_null(reusable_victim(r));
    for (int i = 0; i < 5; i++)
        add(r, &it[i], i, "192.0.2.1");
    assert_int_equal(reusable_count(r), 5);
    reusable_remove(r, &it[0].node); /* the oldest starts a request */
    reusable_remove(r, &it[2].node); /* and one in the middle */
    assert_false(reusable_queued(&it[2].node));
    reusable_remove(r, &it[2].node); /* not queued: nothing */
    add(r, &it[0], 0, "192.0.2.1");  /* idle again after its reply: the newest */
    int count;
    assert_string_equal(reusable_busiest(r, &count), "192.0.2.1");
    assert_int_equal(count, 4);
    assert_int_equal(evict(r), 1);
    assert_int_equal(evict(r), 3);
    assert_int_equal(evict(r), 4);
    assert_int_equal(evict(r), 0);
    assert_int_equal(evict(r), -1);
    assert_int_equal(reusable_count(r), 0);
    assert_string_equal(reusable_busiest(r, &count), "");
    assert_int_equal(count, 0);
    reusable_free(r);
}

static void test_the_busiest_address_first_and_ties_take_turns(void **state)
{
    (void)state;
    struct reusable *r = reusable_new(16, 8, 2);
    struct item it[9] = {0};
    add(r, &it[0], 0, "203.0.113.9"); /* a real client: the oldest of all */
    for (int i = 1; i <= 4; i++)
        add(r, &it[i], i, "198.51.100.1");
    for (int i = 5; i <= 8; i++)
        add(r, &it[i], i, "198.51.100.2");
    /* .1 reached four first; then .2, then .1 again (tied at three, .2 got there first)... */
    int order[] = {1, 5, 2, 6, 3, 7};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        assert_int_equal(evict(r), order[i]);
    /* All at one: the address that has queued one longest (the real client) goes first. */
    assert_int_equal(evict(r), 0);
    assert_int_equal(evict(r), 4);
    assert_int_equal(evict(r), 8);
    assert_int_equal(evict(r), -1);
    reusable_free(r);
}

static void test_a_lone_client_outlasts_a_flood(void **state)
{
    (void)state;
    /* 17 addresses x 250 idle connections and one real client's handshake, older than all
     * of them: every other address is emptied down to one before it is touched. */
    enum { ADDRS = 17, EACH = 250 };
    static struct item flood[ADDRS * EACH];
    struct item client = {0};
    struct reusable *r = reusable_new(256, ADDRS * EACH, 3);
    add(r, &client, -2, "192.0.2.200");
    char addr[32];
    for (int i = 0; i < ADDRS * EACH; i++) {
        snprintf(addr, sizeof addr, "192.0.2.%d", i % ADDRS);
        add(r, &flood[i], i, addr);
    }
    for (int i = 0; i < ADDRS * (EACH - 1); i++)
        assert_int_not_equal(evict(r), -2);
    int count;
    reusable_busiest(r, &count);
    assert_int_equal(count, 1);
    assert_true(reusable_queued(&client.node));
    reusable_free(r); /* nodes still queued are left not queued */
    assert_false(reusable_queued(&client.node));
    assert_false(reusable_queued(&flood[ADDRS * EACH - 1].node));
}

/* Random adds, removes and evictions, checked against a plain count per address: the
 * victim is always the oldest of an address queuing the most. */
static void test_matches_a_plain_model(void **state)
{
    (void)state;
    enum { N = 600, ADDRS = 12 }; /* up to 50 an address */
    static struct item it[N];
    static long added_at[N];
    memset(it, 0, sizeof it);
    struct prng g;
    prng_seed(&g, 42);
    const int caps[] = {3, 64}; /* counts past 3 share a level; every count its own */
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
        int cap = caps[c];
        struct reusable *r = reusable_new(cap, N, 7);
        long clock = 0;
        for (int step = 0; step < 20000; step++) {
            int k = prng_below(&g, 10);
            int i = prng_below(&g, N);
            char addr[16];
            snprintf(addr, sizeof addr, "10.0.0.%d", i % ADDRS);
            if (k < 5 && !reusable_queued(&it[i].node)) {
                add(r, &it[i], i, addr);
                added_at[i] = ++clock;
            } else if (k < 8) {
                reusable_remove(r, &it[i].node);
            } else {
                int count[ADDRS] = {0}, total = 0, most = 0;
                for (int j = 0; j < N; j++)
                    if (reusable_queued(&it[j].node)) {
                        count[j % ADDRS]++;
                        total++;
                    }
                for (int a = 0; a < ADDRS; a++)
                    most = count[a] > most ? count[a] : most;
                assert_int_equal(reusable_count(r), total);
                struct item *v = (struct item *)reusable_victim(r);
                if (!total) {
                    assert_null(v);
                    continue;
                }
                int got = count[v->id % ADDRS];
                /* Exact when every count has its level; past the last level, ties. */
                assert_true(got == most || (got >= cap && most >= cap));
                for (int j = v->id % ADDRS; j < N; j += ADDRS) /* its address's oldest */
                    assert_true(!reusable_queued(&it[j].node) || added_at[j] >= added_at[v->id]);
                int n;
                assert_string_equal(reusable_busiest(r, &n), v->addr);
                assert_int_equal(n, got);
                reusable_remove(r, &v->node);
            }
        }
        reusable_free(r);
        memset(it, 0, sizeof it);
    }
}

static void test_long_addresses_and_tiny_tables(void **state)
{
    (void)state;
    struct reusable *r = reusable_new(0, 0, 0); /* still a table and two levels */
    char a[100], b[100];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[80] = 'b'; /* differs past the 63 bytes kept: the same address */
    struct item x = {0}, y = {0}, z = {0};
    reusable_add(r, &x.node, a);
    reusable_add(r, &y.node, b);
    reusable_add(r, &z.node, "c");
    int count;
    reusable_busiest(r, &count);
    assert_int_equal(count, 2);
    assert_ptr_equal(reusable_victim(r), &x.node);
    reusable_remove(r, &x.node);
    reusable_remove(r, &y.node);
    assert_ptr_equal(reusable_victim(r), &z.node);
    reusable_remove(r, &z.node);
    assert_null(reusable_victim(r));
    reusable_free(r);
    reusable_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_address_oldest_first),
        cmocka_unit_test(test_the_busiest_address_first_and_ties_take_turns),
        cmocka_unit_test(test_a_lone_client_outlasts_a_flood),
        cmocka_unit_test(test_matches_a_plain_model),
        cmocka_unit_test(test_long_addresses_and_tiny_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
