/* Config: defaults, INI parsing, environment overrides, validation messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_file.h"

static void test_defaults_are_valid(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    char err[256];
    assert_int_equal(config_load_string(&c, NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8443);
    assert_int_equal(c.pool_size, 8);
    assert_int_equal(c.rota_lead_days, 21);
    config_free(&c);
}

static void test_ini_and_env_override(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    char err[256];
    const char *ini = "[server]\nlisten = [::1]:9443\nworkers = 3\n"
                      "[database]\ndsn = dbname=x\npool_size = 2\n[log]\nlevel = debug\n";
    char *env[] = {"MATD_DATABASE_POOL_SIZE=5", "MATD_TRUST_NAME=Oak Trust", "PATH=/bin", NULL};
    assert_int_equal(config_load_string(&c, ini, env, err, sizeof err), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 9443);
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.pool_size, 5); /* environment wins */
    assert_string_equal(c.trust_name, "Oak Trust");
    assert_string_equal(c.dsn, "dbname=x");
    assert_int_equal(c.nsubjects, 6);
    assert_string_equal(c.subject_list[5], "english");
    /* SPEC 4.2's theme vocabulary by default */
    assert_int_equal(c.nthemes, 11);
    assert_true(config_vocabulary_has(c.theme_list, c.nthemes, "early_years"));
    assert_false(config_vocabulary_has(c.theme_list, c.nthemes, "early"));
    assert_false(config_vocabulary_has(c.theme_list, c.nthemes, NULL));
    config_free(&c);
}

static void expect_error(const char *ini, char *const *env, const char *needle)
{
    struct config c;
    config_defaults(&c);
    char err[256] = "";
    assert_int_equal(config_load_string(&c, ini, env, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    config_free(&c);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("[server]\nworkers = many\n", NULL, "workers");
    expect_error("[server]\nworkers = 999\n", NULL, "from 0 to 256");
    expect_error("[server]\nnope = 1\n", NULL, "unknown key [server] nope");
    expect_error("[server]\nlisten = localhost\n", NULL, "host:port");
    expect_error("[log]\nlevel = loud\n", NULL, "level");
    expect_error("[metrics]\npublic = maybe\n", NULL, "true or false");
    expect_error("[rota]\nscheduler_now = 2025-02-30\n", NULL, "scheduler_now");
    expect_error("[trust]\nsubjects = reading,Writing\n", NULL, "Writing");
    expect_error("[trust]\nsubjects = maths,maths\n", NULL, "twice");
    expect_error("[trust]\nsubjects = ,\n", NULL, "at least one");
    expect_error("[trust]\nthemes = oracy, Oracy\n", NULL, "[trust] themes: \"Oracy\"");
    expect_error("[trust]\nthemes = oracy,oracy\n", NULL, "theme name");
    expect_error("[trust]\nthemes =\n", NULL, "at least one theme");
    char *env[] = {"MATD_SERVER_WORKERS=-1", NULL};
    expect_error(NULL, env, "MATD_SERVER_WORKERS");
}

static void test_example_config_loads(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    char err[256];
    int rc = config_load_file(&c, MAT_SOURCE_DIR "/config/matd.conf", NULL, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(c.workers, 0);
    assert_string_equal(c.tls_client_ca, "");
    config_free(&c);
}

static void collect(const char *section, const char *key, void *arg)
{
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%s.%s ", section, key);
}

/* SIGHUP applies the TLS files, limits and log level, and names every other change. */
static void test_restart_only_changes_are_named(void **state)
{
    (void)state;
    struct config a, b;
    config_defaults(&a);
    config_defaults(&b);
    char err[256];
    assert_int_equal(
        config_load_string(&a, "[server]\nlisten = 127.0.0.1:8443\n", NULL, err, sizeof err), 0);
    assert_int_equal(config_load_string(&b,
                                        "[server]\nlisten = 127.0.0.1:9443\nidle_timeout_s = 5\n"
                                        "drain_timeout_ms = 1\n[limits]\nmax_body_bytes = 2048\n"
                                        "[database]\npool_size = 2\n[trust]\nsubjects = maths\n"
                                        "[log]\nlevel = debug\n",
                                        NULL, err, sizeof err),
                     0);
    char names[256] = "";
    config_each_restart_only_change(&a, &b, collect, names);
    assert_string_equal(names, "server.listen database.pool_size trust.subjects ");
    names[0] = '\0';
    config_each_restart_only_change(&a, &a, collect, names);
    assert_string_equal(names, "");
    config_free(&a);
    config_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_valid),
        cmocka_unit_test(test_ini_and_env_override),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_example_config_loads),
        cmocka_unit_test(test_restart_only_changes_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
