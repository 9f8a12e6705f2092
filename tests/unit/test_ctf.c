/* The CTF reader: the sample CTF of docs/imports (names, addresses, contacts and a KS1
 * history in it) gives exactly the records of the same pupils in matd's long CSV; errors
 * name pupils by position and element; XML that is not a CTF, or carries a DOCTYPE, is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctf.h"
#include "progress_parse.h"
#include "util.h"

static const unsigned char secret[] = "trust-secret-for-tests";

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/imports/%s", MAT_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = xmalloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int by_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The COPY text with its lines sorted: the same records in any order. */
static char *sorted_copy(const struct progress_set *s)
{
    struct strbuf sb;
    strbuf_init(&sb);
    progress_records_to_copy(s, NULL, &sb);
    char **lines = xcalloc(s->count + 1, sizeof *lines);
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(sb.data, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        lines[n++] = t;
    qsort(lines, n, sizeof *lines, by_line);
    struct strbuf out;
    strbuf_init(&out);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&out, "%s\n", lines[i]);
    free(lines);
    strbuf_free(&sb);
    return strbuf_detach(&out, NULL);
}

static void test_sample_ctf_equals_long_csv(void **state)
{
    (void)state;
    struct progress_parse_opts o = {.secret = secret, .secret_len = sizeof secret - 1};
    size_t xlen, clen;
    char *xml = slurp("sample-ctf.xml", &xlen), *csv = slurp("matd-long.csv", &clen);
    struct progress_set a, b;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_ctf(xml, xlen, &o, "2025-26", &a, &errs), PROGRESS_OK);
    assert_int_equal(progress_parse_csv(csv, clen, &o, &b, &errs), PROGRESS_OK);
    assert_int_equal(a.count, 36);
    char *x = sorted_copy(&a), *y = sorted_copy(&b);
    assert_string_equal(x, y);
    free(x);
    free(y);
    progress_set_free(&a);
    progress_set_free(&b);
    /* Another year's push keeps none of these results. */
    assert_int_equal(progress_parse_ctf(xml, xlen, &o, "2024-25", &a, &errs), PROGRESS_INVALID);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0].message, "Year 2025"));
    mat_errors_free(&errs);
    free(xml);
    free(csv);
}

static void expect_ctf(const char *xml, enum progress_result want, const char *path)
{
    struct progress_parse_opts o = {.secret = secret, .secret_len = sizeof secret - 1};
    struct progress_set s;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_ctf(xml, strlen(xml), &o, "2025-26", &s, &errs), want);
    assert_true(errs.count >= 1);
    if (strcmp(errs.items[0].path, path) != 0)
        fail_msg("first error at \"%s\" (%s), not \"%s\"", errs.items[0].path,
                 errs.items[0].message, path);
    assert_null(strstr(errs.items[0].message, "Secretname"));
    mat_errors_free(&errs);
}

#define PUPIL(upn, year, result)                                                                   \
    "<Pupil><UPN>" upn "</UPN><Surname>Secretname</Surname><BasicDetails><NCyearActual>" year      \
    "</NCyearActual></BasicDetails><StageAssessments><KeyStage><StageAssessment><Year>2026"        \
    "</Year><Subject>ENG</Subject><Component>WRIT</Component><Method>TA</Method><Result>" result   \
    "</Result></StageAssessment></KeyStage></StageAssessments></Pupil>"

static void test_errors_by_position_and_element(void **state)
{
    (void)state;
    expect_ctf("<CTfile><CTFpupilData>" PUPIL("P1", "6", "EXS")
                   PUPIL("P2", "6", "Superb") "</CTFpupilData></CTfile>",
               PROGRESS_INVALID, "pupil 2:StageAssessment[1]/Result");
    expect_ctf("<CTfile><CTFpupilData>" PUPIL("P1", "6", "EXS")
                   PUPIL("P2", "X", "EXS") "</CTFpupilData></CTfile>",
               PROGRESS_INVALID, "pupil 2:NCyearActual");
    expect_ctf(
        "<CTfile><CTFpupilData>" PUPIL("A801200025012", "6", "EXS") "</CTFpupilData></CTfile>",
        PROGRESS_INVALID, "pupil 1:UPN");
    expect_ctf("<CTfile><CTFpupilData>" PUPIL("P1", "6", "EXS") "</CTFpupil", PROGRESS_MALFORMED,
               "line 1");
    expect_ctf("<?xml version=\"1.0\"?>\n<!DOCTYPE CTfile [<!ENTITY a \"b\">]><CTfile>&a;</CTfile>",
               PROGRESS_INVALID, "");
    expect_ctf("<School><Pupil/></School>", PROGRESS_INVALID, "");
    expect_ctf("<CTfile><CTFpupilData></CTFpupilData></CTfile>", PROGRESS_INVALID, "");
}

/* One pupil's CTF with these StageAssessments (Year 2026) and SEN records. */
static enum progress_result parse_one(const char *assessments, const char *sen,
                                      struct progress_set *s)
{
    char xml[4096];
    snprintf(xml, sizeof xml,
             "<CTfile><CTFpupilData><Pupil><UPN>V801200025010</UPN><Sex>F</Sex><BasicDetails>"
             "<NCyearActual>6</NCyearActual></BasicDetails><SENhistory>%s</SENhistory>"
             "<StageAssessments><KeyStage><Stage>KS2</Stage>%s</KeyStage></StageAssessments>"
             "</Pupil></CTFpupilData></CTfile>",
             sen, assessments);
    struct progress_parse_opts o = {.secret = secret, .secret_len = sizeof secret - 1};
    struct mat_errors errs;
    mat_errors_init(&errs);
    enum progress_result rc = progress_parse_ctf(xml, strlen(xml), &o, "2025-26", s, &errs);
    mat_errors_free(&errs);
    return rc;
}

#define SA(subject, method, component, qualifier, result)                                          \
    "<StageAssessment><Locale>ENG</Locale><Year>2026</Year><Subject>" subject                      \
    "</Subject><Method>" method "</Method>" component qualifier "<Result>" result                  \
    "</Result></StageAssessment>"

/* A raw score (ResultQualifier RS) is not the scaled score, whichever comes first; a
 * multiplication tables check or other sub-test under MAT is not the maths result; the
 * short component codes name the same strands as the long ones. */
static void test_only_scaled_scores_and_subject_results(void **state)
{
    (void)state;
    struct progress_set s;
    assert_int_equal(parse_one(SA("MAT", "TT", "", "<ResultQualifier>RS</ResultQualifier>", "31")
                                   SA("MAT", "TT", "", "<ResultQualifier>SS</ResultQualifier>",
                                      "104") SA("MAT", "TT", "<Component>MTC</Component>",
                                                "<ResultQualifier>MT</ResultQualifier>", "25")
                                       SA("ENG", "TT", "<Component>RD</Component>",
                                          "<ResultQualifier>SS</ResultQualifier>",
                                          "110") SA("ENG", "TT", "<Component>RD</Component>",
                                                    "<ResultQualifier>RS</ResultQualifier>", "45")
                                           SA("ENG", "TA", "<Component>WR</Component>", "", "WTS"),
                               "", &s),
                     PROGRESS_OK);
    assert_int_equal(s.count, 3);
    char *copy = sorted_copy(&s);
    assert_non_null(strstr(copy, "\t104.00\t"));
    assert_non_null(strstr(copy, "\t110.00\t"));
    assert_null(strstr(copy, "\t31.00\t"));
    assert_null(strstr(copy, "\t45.00\t"));
    assert_null(strstr(copy, "\t25.00\t"));
    free(copy);
    progress_set_free(&s);
}

/* The latest SEN record gives the provision; one with an EndDate has ended. */
static void test_sen_latest_record_and_end_date(void **state)
{
    (void)state;
    struct progress_set s;
    const char *writing = SA("ENG", "TA", "<Component>WRIT</Component>", "", "EXS");
    assert_int_equal(
        parse_one(writing,
                  "<SEN><StartDate>2020-09-01</StartDate><SENprovision>K</SENprovision>"
                  "</SEN><SEN><StartDate>2023-09-01</StartDate><SENprovision>E"
                  "</SENprovision></SEN>",
                  &s),
        PROGRESS_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.records[0].send, PROGRESS_SEND_EHCP);
    progress_set_free(&s);
    assert_int_equal(parse_one(writing,
                               "<SEN><StartDate>2023-09-01</StartDate><EndDate>2024-07-19</EndDate>"
                               "<SENprovision>K</SENprovision></SEN>",
                               &s),
                     PROGRESS_OK);
    assert_int_equal(s.records[0].send, PROGRESS_SEND_NONE);
    progress_set_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_ctf_equals_long_csv),
        cmocka_unit_test(test_errors_by_position_and_element),
        cmocka_unit_test(test_only_scaled_scores_and_subject_results),
        cmocka_unit_test(test_sen_latest_record_and_end_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
