/* Import profiles: a profile's own rules (each bad one a named error), headings that name
 * personal data, and a wide CSV read through a profile giving the same records as matd's
 * own long CSV, with errors naming the file's row and heading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_profile.h"
#include "progress_parse.h"
#include "util.h"

static const unsigned char secret[] = "trust-secret-for-tests";

static struct import_profile *load(const char *text, struct mat_errors *errs)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("bad test JSON: %s", jerr.text);
    struct import_profile *p = NULL;
    import_profile_parse(doc, &p, errs);
    json_decref(doc);
    return p;
}

static void expect_profile_error(const char *text, const char *path, const char *needle)
{
    struct mat_errors errs;
    mat_errors_init(&errs);
    struct import_profile *p = load(text, &errs);
    assert_null(p);
    bool found = false;
    for (size_t i = 0; i < errs.count; i++)
        if (strcmp(errs.items[i].path, path) == 0 && strstr(errs.items[i].message, needle))
            found = true;
    if (!found) {
        for (size_t i = 0; i < errs.count; i++)
            print_message("  %s : %s\n", errs.items[i].path, errs.items[i].message);
        fail_msg("no error at %s mentioning \"%s\"", path, needle);
    }
    mat_errors_free(&errs);
}

static void test_profile_rules(void **state)
{
    (void)state;
    expect_profile_error("{\"layout\":\"long\",\"columns\":{\"UPN\":\"pupil\",\"Y\":\"year_group\","
                         "\"S\":\"subject\",\"C\":\"colour\"}}",
                         "/columns/C", "unknown field \"colour\"");
    expect_profile_error("{\"layout\":\"long\",\"columns\":{\"UPN\":\"pupil\",\"Y\":\"year_group\","
                         "\"S\":\"subject\"},\"drop\":[\"Name\",\" upn \"]}",
                         "/drop/1", "appears twice");
    expect_profile_error("{\"layout\":\"long\",\"columns\":{\"UPN\":\"pupil\",\"Y\":\"year_group\","
                         "\"S\":\"subject\",\"Year\":\"year_group\"}}",
                         "/columns/Year", "already taken");
    expect_profile_error("{\"layout\":\"long\",\"columns\":{\"UPN\":\"pupil\",\"Y\":\"year_group\","
                         "\"S\":\"subject\"},\"values\":{\"band\":{\"Expected+\":\"excellent\"}}}",
                         "/values/band/Expected+", "not a valid band");
    expect_profile_error("{\"layout\":\"long\",\"columns\":{\"UPN\":\"pupil\",\"S\":\"subject\"},"
                         "\"constants\":{\"year_group\":\"Y6\"}}",
                         "/constants/year_group", "not a valid year_group");
    expect_profile_error(
        "{\"layout\":\"wide\",\"columns\":{\"UPN\":\"pupil\",\"Y\":\"year_group\","
        "\"R\":\"band\"},\"subject_columns\":{\"Reading\":{\"subject\":\"reading\"}}}",
        "/columns/R", "subject_columns");
    expect_profile_error("{\"layout\":\"wide\",\"columns\":{\"Y\":\"year_group\"},"
                         "\"subject_columns\":{\"Reading\":{\"subject\":\"reading\"}}}",
                         "/columns", "pupil");
}

static void test_sensitive_headings(void **state)
{
    (void)state;
    static const char *const yes[] = {"Name",           "Pupil name",    "Surname",
                                      "Legal Forename", "DOB",           "Date of Birth",
                                      "Address line 1", "Home postcode", "Parent email",
                                      "Comments",       "Teacher notes", "Contact 1 phone"};
    static const char *const no[] = {"UPN",           "Year",     "Reading", "Pupil Premium",
                                     "SEN provision", "Gender",   "EAL",     "Writing TA",
                                     "Attendance %",  "Namespace"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++)
        if (!import_heading_sensitive(yes[i], strlen(yes[i])))
            fail_msg("\"%s\" should be refused", yes[i]);
    for (size_t i = 0; i < ARRAY_LEN(no); i++)
        if (import_heading_sensitive(no[i], strlen(no[i])))
            fail_msg("\"%s\" should be allowed", no[i]);
}

static const char *const wide_profile =
    "{\"layout\":\"wide\",\"columns\":{\"Pupil ID\":\"pupil\",\"Year\":\"year_group\","
    "\"PP\":\"disadvantaged\"},\"subject_columns\":{\"Reading\":{\"subject\":\"reading\"},"
    "\"Maths score\":{\"subject\":\"maths\",\"field\":\"score\"},\"Maths code\":{\"subject\":"
    "\"maths\"}},\"values\":{\"year_group\":{\"Y6\":\"6\"},\"band\":{\"Expected+\":\"expected\","
    "\"WT\":\"towards\"}},\"drop\":[\"Name\"]}";

static char *copy_of(const char *csv, const struct import_profile *prof, struct mat_errors *errs,
                     enum progress_result *rc)
{
    struct progress_parse_opts o = {
        .secret = secret, .secret_len = sizeof secret - 1, .profile = prof};
    struct progress_set set;
    *rc = progress_parse_csv(csv, strlen(csv), &o, &set, errs);
    struct strbuf sb;
    strbuf_init(&sb);
    progress_records_to_copy(&set, NULL, &sb);
    progress_set_free(&set);
    return strbuf_detach(&sb, NULL);
}

static void test_wide_equals_long(void **state)
{
    (void)state;
    struct mat_errors errs;
    mat_errors_init(&errs);
    struct import_profile *prof = load(wide_profile, &errs);
    assert_non_null(prof);
    enum progress_result rc;
    char *wide = copy_of("Pupil ID,Name,Year,PP,Reading,Maths score,Maths code\r\n"
                         "P1,Ann Lee,Y6,Yes,Expected+,104,\r\n"
                         "P2,Bo Ray,y6,no,wt,,A\r\n"
                         "P3,Cy Fox,5,N,,,\r\n",
                         prof, &errs, &rc);
    assert_int_equal(rc, PROGRESS_OK);
    char *lng = copy_of("pupil,year_group,subject,band,score,disadvantaged\r\n"
                        "P1,6,reading,expected,,true\r\n"
                        "P1,6,maths,,104,true\r\n"
                        "P2,6,reading,towards,,false\r\n"
                        "P2,6,maths,A,,false\r\n",
                        NULL, &errs, &rc);
    assert_int_equal(rc, PROGRESS_OK);
    assert_string_equal(wide, lng);
    assert_null(strstr(wide, "Ann"));
    free(wide);
    free(lng);
    /* Errors name the file's row and heading, a shared cell once per row. */
    char *bad = copy_of("Pupil ID,Name,Year,PP,Reading,Maths score,Maths code\r\n"
                        "P1,Ann Lee,Year 6,Yes,Superb,104,\r\n"
                        "P2,Bo Ray,Y6,no,wt,140,\r\n",
                        prof, &errs, &rc);
    free(bad);
    assert_int_equal(rc, PROGRESS_INVALID);
    assert_int_equal(errs.count, 3);
    assert_string_equal(errs.items[0].path, "row 2:Year");
    assert_string_equal(errs.items[1].path, "row 2:Reading");
    assert_string_equal(errs.items[2].path, "row 3:Maths score");
    mat_errors_free(&errs);
    /* A column the profile neither maps nor drops; one that names personal data. */
    mat_errors_init(&errs);
    bad = copy_of("Pupil ID,Name,Year,PP,Reading,Colour,DOB\r\nP1,A,Y6,y,EXS,red,2014-01-01\r\n",
                  prof, &errs, &rc);
    free(bad);
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.items[0].path, "row 1:Colour");
    assert_string_equal(errs.items[1].path, "row 1:DOB");
    assert_non_null(strstr(errs.items[1].message, "dates of birth"));
    mat_errors_free(&errs);
    import_profile_free(prof);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_rules),
        cmocka_unit_test(test_sensitive_headings),
        cmocka_unit_test(test_wide_equals_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
