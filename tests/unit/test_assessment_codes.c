/* Statutory codes and scaled scores (SPEC 4.3): every TA code and its case variants map to
 * the band the SPEC names; the other codes are kept as codes and counted in n as
 * docs/validation.md cites; the scaled-score thresholds sit at 100 and 110; and a push
 * carrying them stores what the SPEC says (through the COPY text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codes.h"
#include "embedded.h"
#include "progress_parse.h"
#include "schema.h"
#include "util.h"

static void expect_band(const char *word, enum progress_band want)
{
    enum progress_band b = PROGRESS_BAND_TOWARDS + 1;
    enum assessment_code c = ASSESS_CODE_P;
    if (assessment_parse(word, strlen(word), &b, &c) != ASSESS_BAND)
        fail_msg("%s is not read as a band", word);
    if (b != want)
        fail_msg("%s gives band %s, not %s", word, assessment_band_name(b),
                 assessment_band_name(want));
    assert_int_equal(c, ASSESS_CODE_NONE);
}

static void test_ta_codes_map_to_bands(void **state)
{
    (void)state;
    static const struct {
        const char *word;
        enum progress_band band;
    } cases[] = {
        {"GDS", PROGRESS_BAND_GREATER_DEPTH}, {"gds", PROGRESS_BAND_GREATER_DEPTH},
        {"EXS", PROGRESS_BAND_EXPECTED},      {"Exs", PROGRESS_BAND_EXPECTED},
        {"WTS", PROGRESS_BAND_TOWARDS},       {"wts", PROGRESS_BAND_TOWARDS},
        {"HNM", PROGRESS_BAND_BELOW},         {"PK1", PROGRESS_BAND_BELOW},
        {"PK2", PROGRESS_BAND_BELOW},         {"PK3", PROGRESS_BAND_BELOW},
        {"PK4", PROGRESS_BAND_BELOW},         {"pk5", PROGRESS_BAND_BELOW},
        {"PK6", PROGRESS_BAND_BELOW},         {"PKF", PROGRESS_BAND_BELOW},
        {"PKE", PROGRESS_BAND_BELOW},         {"pkg", PROGRESS_BAND_BELOW},
        {"BLW", PROGRESS_BAND_BELOW},         {"EM", PROGRESS_BAND_BELOW},
        {"em", PROGRESS_BAND_BELOW},          {" EXS ", PROGRESS_BAND_EXPECTED},
        {"below", PROGRESS_BAND_BELOW},       {"Towards", PROGRESS_BAND_TOWARDS},
        {"expected", PROGRESS_BAND_EXPECTED}, {"GREATER_DEPTH", PROGRESS_BAND_GREATER_DEPTH},
        {"AS", PROGRESS_BAND_EXPECTED},       {"as", PROGRESS_BAND_EXPECTED},
        {"NS", PROGRESS_BAND_BELOW},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        expect_band(cases[i].word, cases[i].band);
}

static void test_other_codes_and_unknown_words(void **state)
{
    (void)state;
    static const struct {
        const char *word;
        enum assessment_code code;
        bool in_n;
    } cases[] = {
        {"A", ASSESS_CODE_A, true},  {"a", ASSESS_CODE_A, true},  {"D", ASSESS_CODE_D, true},
        {"L", ASSESS_CODE_L, false}, {"l", ASSESS_CODE_L, false}, {"F", ASSESS_CODE_F, false},
        {"P", ASSESS_CODE_P, false}, {"p", ASSESS_CODE_P, false}, {"B", ASSESS_CODE_B, true},
        {"h", ASSESS_CODE_H, true},  {"J", ASSESS_CODE_J, true},  {"q", ASSESS_CODE_Q, true},
        {"T", ASSESS_CODE_T, true},  {"U", ASSESS_CODE_U, true},  {"M", ASSESS_CODE_M, false},
        {"m", ASSESS_CODE_M, false},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum progress_band b;
        enum assessment_code c;
        assert_int_equal(assessment_parse(cases[i].word, 1, &b, &c), ASSESS_OTHER_CODE);
        assert_int_equal(c, cases[i].code);
        assert_int_equal(assessment_code_in_cohort(c), cases[i].in_n);
        assert_true(strlen(assessment_code_treatment(c)) > 10);
        char upper[2] = {(char)(cases[i].word[0] & ~0x20), 0};
        assert_string_equal(assessment_code_name(c), upper);
    }
    static const char *const unknown[] = {"PK7", "PK0", "X",         "Z",  "EX",   "N",
                                          "GD",  "",    "expected+", "AA", "WT S", "ASS"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
        enum progress_band b;
        enum assessment_code c;
        if (assessment_parse(unknown[i], strlen(unknown[i]), &b, &c) != ASSESS_UNKNOWN)
            fail_msg("\"%s\" should not be accepted", unknown[i]);
    }
}

static void test_scaled_score_thresholds(void **state)
{
    (void)state;
    static const struct {
        double score;
        bool ok;
        enum progress_band band;
    } cases[] = {
        {79, false, 0},
        {80, true, PROGRESS_BAND_BELOW},
        {99, true, PROGRESS_BAND_BELOW},
        {99.5, true, PROGRESS_BAND_BELOW},
        {100, true, PROGRESS_BAND_EXPECTED},
        {109, true, PROGRESS_BAND_EXPECTED},
        {110, true, PROGRESS_BAND_GREATER_DEPTH},
        {120, true, PROGRESS_BAND_GREATER_DEPTH},
        {121, false, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum progress_band b = 99;
        assert_int_equal(assessment_band_from_scaled(cases[i].score, &b), cases[i].ok);
        if (cases[i].ok && b != cases[i].band)
            fail_msg("score %g gives %s", cases[i].score, assessment_band_name(b));
    }
    assert_true(assessment_scaled_subject("reading"));
    assert_true(assessment_scaled_subject("maths"));
    assert_true(assessment_scaled_subject("gps"));
    assert_false(assessment_scaled_subject("writing"));
    assert_false(assessment_scaled_subject("science"));
}

/* A DfE-style push through the CSV parser: codes, other codes and score-only rows become
 * the records and COPY lines the SPEC describes. */
static void test_push_with_codes_and_scores(void **state)
{
    (void)state;
    static const unsigned char secret[] = "trust-secret-for-tests";
    struct progress_parse_opts o = {.secret = secret, .secret_len = sizeof secret - 1};
    const char *csv = "pupil,year_group,subject,band,score\n"
                      "P1,6,writing,gds,\n"
                      "P1,6,reading,,99\n"
                      "P1,6,maths,,100\n"
                      "P1,6,gps,,109\n"
                      "P2,6,reading,,110\n"
                      "P2,6,writing,A,\n"
                      "P2,6,maths,L,\n"
                      "P2,6,science,HNM,\n"
                      "P3,6,writing,f,\n"
                      "P3,6,reading,P,\n"
                      "P3,6,maths,D,\n"
                      "P3,6,gps,EXS,95\n";
    struct progress_set set;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_csv(csv, strlen(csv), &o, &set, &errs), PROGRESS_OK);
    struct strbuf sb;
    strbuf_init(&sb);
    progress_records_to_copy(&set, NULL, &sb);
    /* Column 3 is band, column 4 code, column 5 score (after key, year, subject). */
    static const char *const want[][3] = {
        {"greater_depth", "\\N", "\\N"},
        {"below", "\\N", "99.00"},
        {"expected", "\\N", "100.00"},
        {"expected", "\\N", "109.00"},
        {"greater_depth", "\\N", "110.00"},
        {"\\N", "A", "\\N"},
        {"\\N", "L", "\\N"},
        {"below", "\\N", "\\N"},
        {"\\N", "F", "\\N"},
        {"\\N", "P", "\\N"},
        {"\\N", "D", "\\N"},
        {"expected", "\\N", "95.00"}, /* a band given wins over the score */
    };
    assert_int_equal(set.count, ARRAY_LEN(want));
    char *line = sb.data;
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        char *col[6] = {0};
        char *p = line;
        for (int c = 0; c < 6; c++) {
            col[c] = p;
            p = strchr(p, '\t');
            if (!p)
                break;
            *p++ = '\0';
        }
        assert_non_null(col[5]);
        if (strcmp(col[3], want[i][0]) || strcmp(col[4], want[i][1]) || strcmp(col[5], want[i][2]))
            fail_msg("row %zu: %s %s %s", i + 2, col[3], col[4], col[5]);
        line = end + 1;
    }
    strbuf_free(&sb);
    progress_set_free(&set);
    mat_errors_free(&errs);
}

static void test_rows_that_cannot_give_a_band(void **state)
{
    (void)state;
    static const unsigned char secret[] = "trust-secret-for-tests";
    struct progress_parse_opts o = {.secret = secret, .secret_len = sizeof secret - 1};
    const char *csv = "pupil,year_group,subject,band,score\n"
                      "P1,6,writing,,104\n" /* writing has no test: no band from a score */
                      "P1,9,maths,,6\n"     /* a GCSE grade gives no KS2 band */
                      "P1,6,science,PK7,\n" /* no such code */
                      "P1,6,reading,,\n";   /* nothing at all */
    struct progress_set set;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_csv(csv, strlen(csv), &o, &set, &errs), PROGRESS_INVALID);
    assert_int_equal(errs.count, 4);
    assert_string_equal(errs.items[0].path, "row 2:band");
    assert_string_equal(errs.items[1].path, "row 3:band");
    assert_non_null(strstr(errs.items[1].message, "not a KS2 scaled score"));
    assert_string_equal(errs.items[2].path, "row 4:band");
    assert_non_null(strstr(errs.items[2].message, "PK1-PK6"));
    assert_string_equal(errs.items[3].path, "row 5:band");
    mat_errors_free(&errs);
}

static void test_json_push_with_codes(void **state)
{
    (void)state;
    static const unsigned char secret[] = "trust-secret-for-tests";
    char err[256];
    struct schema_registry *reg = schema_registry_load(schemas_files, err, sizeof err);
    assert_non_null(reg);
    struct progress_parse_opts o = {
        .secret = secret, .secret_len = sizeof secret - 1, .registry = reg};
    const char *json = "{\"records\": ["
                       "{\"pupil\": \"P1\", \"year_group\": \"6\", \"subject\": \"writing\","
                       " \"band\": \"Wts\"},"
                       "{\"pupil\": \"P1\", \"year_group\": \"6\", \"subject\": \"maths\","
                       " \"score\": 110},"
                       "{\"pupil\": \"P2\", \"year_group\": \"6\", \"subject\": \"maths\","
                       " \"band\": \"a\"},"
                       "{\"pupil\": \"P3\", \"year_group\": \"6\", \"subject\": \"maths\","
                       " \"band\": \"top\"},"
                       "{\"pupil\": \"P4\", \"year_group\": \"6\", \"subject\": \"science\"}]}";
    struct progress_set set;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_json(json, strlen(json), &o, &set, &errs), PROGRESS_INVALID);
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.items[0].path, "/records/3/band");
    assert_string_equal(errs.items[1].path, "/records/4/band");
    mat_errors_free(&errs);
    mat_errors_init(&errs);
    const char *good = "{\"records\": ["
                       "{\"pupil\": \"P1\", \"year_group\": \"6\", \"subject\": \"writing\","
                       " \"band\": \"Wts\"},"
                       "{\"pupil\": \"P1\", \"year_group\": \"6\", \"subject\": \"maths\","
                       " \"score\": 110},"
                       "{\"pupil\": \"P2\", \"year_group\": \"6\", \"subject\": \"maths\","
                       " \"band\": \"a\"}]}";
    assert_int_equal(progress_parse_json(good, strlen(good), &o, &set, &errs), PROGRESS_OK);
    assert_int_equal(set.count, 3);
    assert_int_equal(set.records[0].band, PROGRESS_BAND_TOWARDS);
    assert_int_equal(set.records[1].band, PROGRESS_BAND_GREATER_DEPTH);
    assert_int_equal(set.records[2].code, ASSESS_CODE_A);
    progress_set_free(&set);
    mat_errors_free(&errs);
    schema_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ta_codes_map_to_bands),
        cmocka_unit_test(test_other_codes_and_unknown_words),
        cmocka_unit_test(test_scaled_score_thresholds),
        cmocka_unit_test(test_push_with_codes_and_scores),
        cmocka_unit_test(test_rows_that_cannot_give_a_band),
        cmocka_unit_test(test_json_push_with_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
