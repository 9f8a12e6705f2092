/* Progress pushes: JSON and CSV give the same records and the same COPY text; every bad
 * row is named (JSON pointer, or "row r:column" with the header as row 1); pupils are
 * pseudonymised (same ref and secret -> same key, other secret -> other key, the raw
 * reference nowhere in the output). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "progress_parse.h"
#include "pupil_key.h"
#include "schema.h"
#include "util.h"

static struct schema_registry *reg;
static const unsigned char secret[] = "trust-secret-for-tests";

static struct progress_parse_opts opts(void)
{
    struct progress_parse_opts o = {
        .secret = secret, .secret_len = sizeof secret - 1, .registry = reg};
    return o;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    reg = schema_registry_load(schemas_files, err, sizeof err);
    return reg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    schema_registry_free(reg);
    return 0;
}

static void print_errors(const struct mat_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        print_message("  [%zu] %s : %s\n", i, errs->items[i].path, errs->items[i].message);
}

struct exp {
    const char *path, *msg;
};

#define BAND_MSG                                                                                   \
    "band must be one of: below, towards, expected, greater_depth; the statutory codes GDS, "      \
    "EXS, WTS, HNM, PK1-PK6, PKF, PKE, PKG, BLW, EM; the test outcomes AS, NS; or the other "      \
    "codes A, L, F, P, D, B, H, J, M, Q, T, U"
#define NO_BAND_MSG                                                                                \
    "band is missing; give a band or assessment code, or a KS2 scaled score (80-120) for "         \
    "reading, maths or gps"

enum kind { JSON, CSV };

static enum progress_result run(enum kind k, const char *body, size_t len,
                                const struct progress_parse_opts *o, struct progress_set *set,
                                struct mat_errors *errs)
{
    return k == JSON ? progress_parse_json(body, len, o, set, errs)
                     : progress_parse_csv(body, len, o, set, errs);
}

/* Parses body and asserts the result and exactly the errors e, in order. */
static void expect_with(enum kind k, const struct progress_parse_opts *o, const char *body,
                        enum progress_result want, const struct exp *e, size_t n)
{
    struct progress_set set;
    struct mat_errors errs;
    mat_errors_init(&errs);
    enum progress_result rc = run(k, body, strlen(body), o, &set, &errs);
    if (errs.count != n || rc != want)
        print_errors(&errs);
    assert_int_equal(rc, want);
    assert_int_equal(errs.count, n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(errs.items[i].path, e[i].path) || strcmp(errs.items[i].message, e[i].msg))
            print_errors(&errs);
        assert_string_equal(errs.items[i].path, e[i].path);
        assert_string_equal(errs.items[i].message, e[i].msg);
    }
    if (want != PROGRESS_OK) {
        assert_null(set.records);
        assert_int_equal(set.count, 0);
    }
    progress_set_free(&set);
    mat_errors_free(&errs);
}

#define EXPECT(k, body, want, ...)                                                                 \
    do {                                                                                           \
        struct progress_parse_opts o_ = opts();                                                    \
        const struct exp e_[] = {__VA_ARGS__};                                                     \
        expect_with(k, &o_, body, want, e_, ARRAY_LEN(e_));                                        \
    } while (0)

static char *copy_text(const struct progress_set *s, const char *prefix)
{
    struct strbuf sb;
    strbuf_init(&sb);
    progress_records_to_copy(s, prefix, &sb);
    return strbuf_detach(&sb, NULL);
}

static void key_hex_of(const char *ref, char out[33])
{
    unsigned char key[PUPIL_KEY_LEN];
    pupil_key(secret, sizeof secret - 1, ref, key);
    pupil_key_hex(key, out);
}

/* ---------------------------------------------------------- happy paths ---- */

static const char happy_json[] =
    "{\"records\": ["
    "{\"pupil\": \"B801200005001\", \"year_group\": \"6\", \"subject\": \"writing\", "
    "\"band\": \"towards\", \"score\": null, \"attendance_pct\": 94.5, \"disadvantaged\": true, "
    "\"send\": \"support\", \"eal\": false, \"looked_after\": false, \"sex\": \"f\", "
    "\"prior_attainment\": \"middle\"},"
    "{\"pupil\": \"B801200005001\", \"year_group\": \"6\", \"subject\": \"maths\", "
    "\"band\": \"expected\", \"score\": 104, \"attendance_pct\": 94.5, \"disadvantaged\": true, "
    "\"send\": \"support\", \"eal\": false, \"looked_after\": true, \"sex\": \"f\", "
    "\"prior_attainment\": \"middle\"},"
    "{\"pupil\": \"DEMO-100001-0002\", \"year_group\": \"11\", \"subject\": \"english\", "
    "\"band\": \"greater_depth\", \"score\": 7.5, \"send\": \"ehcp\", \"eal\": true, "
    "\"sex\": \"x\", \"prior_attainment\": null},"
    "{\"pupil\": \"P935401123456\", \"year_group\": \"R\", \"subject\": \"reading\", "
    "\"band\": \"below\"}]}";

/* The same four records as CSV: other column order, mixed-case header and values, a BOM,
 * CRLF endings, a blank line, quoted cells, every boolean spelling, empty = null. */
static const char happy_csv[] =
    "\xef\xbb\xbfSubject,Pupil,year_group,BAND,score,attendance_pct,disadvantaged,send,eal,"
    "looked_after,sex,prior_attainment\r\n"
    "writing,B801200005001,6,towards,,94.5,yes,support,no,0,F,middle\r\n"
    "\r\n"
    "Maths,\"B801200005001\",6,expected,104,94.50,TRUE,support,n,y,f,Middle\r\n"
    "english,DEMO-100001-0002,11,Greater_Depth,7.5,,false,EHCP,1,,x,\r\n"
    "reading,P935401123456,r,below,,,,,,,,";

static void test_json_and_csv_give_identical_records(void **state)
{
    (void)state;
    struct progress_parse_opts o = opts();
    struct progress_set a, b;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_json(happy_json, strlen(happy_json), &o, &a, &errs),
                     PROGRESS_OK);
    assert_int_equal(progress_parse_csv(happy_csv, strlen(happy_csv), &o, &b, &errs), PROGRESS_OK);
    print_errors(&errs);
    assert_int_equal(errs.count, 0);
    assert_int_equal(a.count, 4);
    assert_int_equal(b.count, 4);
    for (size_t i = 0; i < 4; i++) {
        const struct progress_record *x = &a.records[i], *y = &b.records[i];
        assert_memory_equal(x->pupil_key, y->pupil_key, PUPIL_KEY_LEN);
        assert_string_equal(x->year_group, y->year_group);
        assert_string_equal(x->subject, y->subject);
        assert_int_equal(x->band, y->band);
        assert_int_equal(x->has_score, y->has_score);
        assert_true(x->score == y->score);
        assert_int_equal(x->has_attendance, y->has_attendance);
        assert_true(x->attendance_pct == y->attendance_pct);
        assert_int_equal(x->disadvantaged, y->disadvantaged);
        assert_int_equal(x->eal, y->eal);
        assert_int_equal(x->looked_after, y->looked_after);
        assert_int_equal(x->send, y->send);
        assert_int_equal(x->sex, y->sex);
        assert_int_equal(x->prior_attainment, y->prior_attainment);
    }
    /* The values, field by field, through the COPY text the loader sends. */
    char k1[33], k2[33], k3[33];
    key_hex_of("B801200005001", k1);
    key_hex_of("DEMO-100001-0002", k2);
    key_hex_of("P935401123456", k3);
    char want[2048];
    snprintf(
        want, sizeof want,
        "7\t100001\t2025-26\tautumn\t\\\\x%s\t6\twriting\ttowards\t\\N\t\\N\t94.50\tt\tsupport\tf"
        "\tf\tf\tmiddle\n"
        "7\t100001\t2025-26\tautumn\t\\\\x%s\t6\tmaths\texpected\t\\N\t104.00\t94.50\tt\tsupport\t"
        "f\tt\tf\tmiddle\n"
        "7\t100001\t2025-26\tautumn\t\\\\x%s\t11\tenglish\tgreater_depth\t\\N\t7.50\t\\N\tf\tehcp"
        "\tt\tf\tx\t\\N\n"
        "7\t100001\t2025-26\tautumn\t\\\\x%s\tR\treading\tbelow\t\\N\t\\N\t\\N\tf\tnone\tf\tf\t"
        "\\N\t\\N\n",
        k1, k1, k2, k3);
    char *ca = copy_text(&a, "7\t100001\t2025-26\tautumn\t");
    char *cb = copy_text(&b, "7\t100001\t2025-26\tautumn\t");
    assert_string_equal(ca, want);
    assert_string_equal(cb, want);
    free(ca);
    free(cb);
    char *bare = copy_text(&a, NULL);
    assert_true(strncmp(bare, "\\\\x", 3) == 0);
    free(bare);
    progress_set_free(&a);
    progress_set_free(&b);
    mat_errors_free(&errs);
}

/* A push replaces the term's set: one without records is refused unless asked for
 * (allow_empty), so an export that came out empty cannot delete a term by accident. */
static void test_empty_push_and_header_only(void **state)
{
    (void)state;
    EXPECT(JSON, "{\"records\": []}", PROGRESS_INVALID, {"/records", PROGRESS_EMPTY_PUSH});
    EXPECT(CSV, "pupil,year_group,subject,band\n", PROGRESS_INVALID,
           {"row 2", PROGRESS_EMPTY_PUSH});
    /* blank lines and rows of separators alone are no records either */
    EXPECT(CSV, "pupil,year_group,subject,band\r\n,,,\r\n\r\n", PROGRESS_INVALID,
           {"row 2", PROGRESS_EMPTY_PUSH});
    struct progress_parse_opts o = opts();
    o.allow_empty = true;
    struct progress_set s;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_json("{\"records\": []}", 15, &o, &s, &errs), PROGRESS_OK);
    assert_int_equal(s.count, 0);
    progress_set_free(&s);
    assert_int_equal(progress_parse_csv("pupil,year_group,subject,band\n", 30, &o, &s, &errs),
                     PROGRESS_OK);
    assert_int_equal(s.count, 0);
    progress_set_free(&s);
    assert_int_equal(errs.count, 0);
    mat_errors_free(&errs);
    /* an empty body is still no CSV at all, allowed or not */
    EXPECT(CSV, "", PROGRESS_INVALID,
           {"row 1", "the CSV is empty; it needs a header row and records"});
    EXPECT(CSV, "\n\n", PROGRESS_INVALID,
           {"row 1", "the CSV is empty; it needs a header row and records"});
}

/* Spreadsheets write rows of separators alone below (or between) the data: blank, skipped,
 * as an empty line is; a row with one cell filled is a row. */
static void test_csv_separator_rows_are_blank(void **state)
{
    (void)state;
    EXPECT(CSV,
           "pupil,year_group,subject,band\r\n"
           "B801200005001,6,writing,exs\r\n"
           ",,,\r\n"
           " , ,,\r\n"
           "P935401123456,6,maths,below\r\n"
           ",,\r\n",
           PROGRESS_OK);
    EXPECT(CSV,
           "pupil,year_group,subject,band\n"
           "B801200005001,6,writing,exs\n"
           ",,maths,\n",
           PROGRESS_INVALID, {"row 3:pupil", "pupil is empty; it is required"},
           {"row 3:year_group", "year_group is empty; it is required"},
           {"row 3:band", NO_BAND_MSG});
}

/* ------------------------------------------------------------- CSV errors ---- */

static void test_csv_row_errors(void **state)
{
    (void)state;
    EXPECT(CSV,
           "pupil,year_group,subject,band\n"         /* 1 */
           "B801200005001,6,writing,towards\n"       /* 2 */
           "A801200005001,6,maths,expected\n"        /* 3: check letter */
           "B801200005001,6,writing,expected\n"      /* 4: repeats row 2 */
           "P935401123456,6,maths,excellent\n"       /* 5: band */
           "P935401123456,6,maths\n"                 /* 6: a cell short */
           "\n"                                      /* 7: blank, skipped */
           "P935401123456,6,reading,below,extra\n"   /* 8: a cell over */
           "P935401123456,,science,\n"               /* 9: required cells empty */
           "\"P935401123456\",6,\"sci\"ence,below\n" /* 10: broken quote */
           "B801200005001,6,maths,below\n",          /* never read */
           PROGRESS_INVALID,
           {"row 3:pupil", "pupil looks like a UPN but fails the UPN check letter test (its "
                           "digits give B, not A): a character is mistyped"},
           {"row 4:pupil", "the same pupil already has a writing record in row 2; a pupil "
                           "appears once per subject"},
           {"row 5:band", BAND_MSG}, {"row 6", "the row has 3 cells; the header has 4"},
           {"row 8", "the row has 5 cells; the header has 4"},
           {"row 9:year_group", "year_group is empty; it is required"}, {"row 9:band", NO_BAND_MSG},
           {"row 10:subject", "broken quoting: a quoted cell is never closed, or a \" appears "
                              "inside an unquoted cell or after a closing quote (write \"\" for a "
                              "quote inside a quoted cell)"});
}

static void test_csv_quote_errors(void **state)
{
    (void)state;
    /* A quote never closed swallows the rest of the file: the row it opened on is named. */
    EXPECT(CSV,
           "pupil,year_group,subject,band\r\n"
           "B801200005001,6,\"writ\r\n"
           "ing,towards\r\n"
           "P935401123456,6,maths,below\r\n",
           PROGRESS_INVALID,
           {"row 2:subject", "broken quoting: a quoted cell is never closed, or a \" appears "
                             "inside an unquoted cell or after a closing quote (write \"\" for a "
                             "quote inside a quoted cell)"});
    /* A quote inside an unquoted cell. */
    EXPECT(CSV,
           "pupil,year_group,subject,band\n"
           "B801200005001,6,writing,to\"wards\n",
           PROGRESS_INVALID,
           {"row 2:band", "broken quoting: a quoted cell is never closed, or a \" appears "
                          "inside an unquoted cell or after a closing quote (write \"\" for a "
                          "quote inside a quoted cell)"});
    /* A quoted cell spanning lines: rows are counted in lines, so row 4 stays row 4. */
    EXPECT(CSV,
           "pupil,year_group,subject,band\n"
           "B801200005001,6,\"wri\nting\",towards\n"
           "P935401123456,6,maths,top\n",
           PROGRESS_INVALID,
           {"row 2:subject", "subject must be one of the trust's subjects: reading, writing, "
                             "maths, science, gps, english"},
           {"row 4:band", BAND_MSG});
    /* Doubled quotes inside a quoted cell are fine. */
    EXPECT(CSV, "pupil,year_group,subject,band\n\"B801200005001\",\"6\",\"maths\",\"below\"\n",
           PROGRESS_OK);
}

static void test_csv_header_errors(void **state)
{
    (void)state;
    EXPECT(CSV, "pupil,year_group,subject,colour\nB801200005001,6,maths,red\n", PROGRESS_INVALID,
           {"row 1:colour", "unknown column \"colour\"; the columns are: pupil, year_group, "
                            "subject, band, score, attendance_pct, disadvantaged, send, eal, "
                            "looked_after, sex, prior_attainment"});
    EXPECT(CSV, "pupil,band,year_group,subject,Band,\nx\n", PROGRESS_INVALID,
           {"row 1:band", "column \"band\" appears twice (columns 2 and 5)"},
           {"row 1:column 6", "column 6 of the header has no name"});
    /* The header is the first non-blank line. */
    EXPECT(CSV, "\n\npupil,year_group\nB801200005001,6\n", PROGRESS_INVALID,
           {"row 3:subject", "required column \"subject\" is missing from the header"});
    /* With no band column, every row needs a scaled score in a tested subject. */
    EXPECT(CSV, "pupil,year_group,subject\nB801200005001,6,maths\n", PROGRESS_INVALID,
           {"row 2:band", NO_BAND_MSG});
}

static void test_csv_values(void **state)
{
    (void)state;
    EXPECT(CSV,
           "pupil,year_group,subject,band,score,attendance_pct,disadvantaged,send,sex,"
           "prior_attainment\n"
           "B801200005001,Y6,maths,below,1e2,101,maybe,sen,female,mid\n"
           "P935401123456,6,Art,below,nan,94.5%,1,none,m,low\n"
           "DEMO-1,6,maths,below,5,-0.5,0,none,m,low\n"
           "DEMO-2,11,maths,below,100,0,0,none,m,low\n"
           "DEMO-3,8,maths,below,50,100,0,none,m,low\n"
           "DEMO-4,8,maths,below,5,100,0,none,m,low\n"
           "DEMO-5,8,maths,below,120,100,0,none,m,low\n"
           "DEMO 6,9,maths,below,,,,,,\n",
           PROGRESS_INVALID,
           {"row 2:year_group", "year_group must be one of: N, R, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
                                "11, 12, 13"},
           {"row 2:score", "score must be a number such as 104 or 5.5"},
           {"row 2:attendance_pct", "attendance_pct must be between 0 and 100"},
           {"row 2:disadvantaged", "disadvantaged must be true or false (or 1/0, yes/no, y/n)"},
           {"row 2:send", "send must be one of: none, support, ehcp"},
           {"row 2:sex", "sex must be one of: f, m, x"},
           {"row 2:prior_attainment", "prior_attainment must be one of: low, middle, high"},
           {"row 3:subject", "subject \"Art\" is not one of the trust's subjects: reading, "
                             "writing, maths, science, gps, english"},
           {"row 3:score", "score must be a number such as 104 or 5.5"},
           {"row 3:attendance_pct", "attendance_pct must be a number such as 94.5"},
           {"row 4:attendance_pct", "attendance_pct must be between 0 and 100"},
           {"row 4:score", "score must be a KS2 scaled score from 80 to 120 for Nursery, "
                           "Reception and Years 1-6"},
           {"row 5:score", "score must be a GCSE grade from 1 to 9 for Years 10-13"},
           {"row 6:score", "score must be a scaled score (80-120) or a GCSE grade (1-9) for "
                           "Years 7-9"},
           {"row 9:pupil", "pupil must be a UPN or the school's own id made of letters, digits, "
                           "'_' and '-' (character 5 is not)"});
}

static void test_csv_malformed_bodies(void **state)
{
    (void)state;
    EXPECT(CSV, "pupil,year_group,subject,band\nB801200005001,6,maths,b\xe9low\n",
           PROGRESS_MALFORMED,
           {"", "the CSV is not valid UTF-8 (byte offset 53); save it as CSV UTF-8"});
    struct progress_parse_opts o = opts();
    struct progress_set s;
    struct mat_errors errs;
    mat_errors_init(&errs);
    const char nul[] = "pupil,year_group,subject,band\nB8012\0";
    assert_int_equal(progress_parse_csv(nul, sizeof nul - 1, &o, &s, &errs), PROGRESS_MALFORMED);
    assert_string_equal(errs.items[0].message, "the CSV contains a NUL byte (byte offset 35)");
    mat_errors_free(&errs);
    /* A cell longer than any valid value is named, not truncated silently. */
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "pupil,year_group,subject,band\nB801200005001,6,maths,");
    for (int i = 0; i < 300; i++)
        strbuf_puts(&sb, "x");
    strbuf_puts(&sb, "\n");
    EXPECT(CSV, sb.data, PROGRESS_INVALID,
           {"row 2:band", "band is too long (over 256 characters)"});
    strbuf_free(&sb);
}

/* ------------------------------------------------------------ JSON errors ---- */

static void test_spec_example_has_a_bad_check_letter(void **state)
{
    (void)state;
    /* SPEC section 11's progress body, verbatim: the schema accepts it, but A801200005001
     * fails the UPN check letter (its digits give B), which the SPEC says is a 422. */
    char path[512];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/progress.json", MAT_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char body[2048];
    size_t n = fread(body, 1, sizeof body - 1, f);
    fclose(f);
    body[n] = '\0';
    EXPECT(JSON, body, PROGRESS_INVALID,
           {"/records/0/pupil", "pupil looks like a UPN but fails the UPN check letter test (its "
                                "digits give B, not A): a character is mistyped"});
    char *fixed = strstr(body, "A801200005001");
    assert_non_null(fixed);
    fixed[0] = 'B';
    EXPECT(JSON, body, PROGRESS_OK);
}

static void test_json_errors_in_record_order(void **state)
{
    (void)state;
    EXPECT(JSON,
           "{\"records\": ["
           "{\"pupil\": \"B801200005001\", \"year_group\": \"6\", \"subject\": \"writing\", "
           "\"band\": \"excellent\"},"
           "{\"pupil\": \"A801200005001\", \"year_group\": \"6\", \"subject\": \"maths\", "
           "\"band\": \"towards\"},"
           "{\"pupil\": \"b801200005001\", \"year_group\": \"6\", \"subject\": \"writing\", "
           "\"band\": \"expected\"},"
           "{\"pupil\": \"P935401123456\", \"year_group\": \"6\", \"subject\": \"art\", "
           "\"band\": \"below\"},"
           "{\"pupil\": \"P935401123456\", \"year_group\": \"11\", \"subject\": \"maths\", "
           "\"band\": \"below\", \"score\": 100},"
           "{\"pupil\": 5, \"year_group\": \"6\", \"subject\": \"maths\", \"band\": \"below\"}"
           "]}",
           PROGRESS_INVALID, {"/records/0/band", BAND_MSG},
           {"/records/1/pupil", "pupil looks like a UPN but fails the UPN check letter test (its "
                                "digits give B, not A): a character is mistyped"},
           {"/records/2/pupil", "the same pupil already has a writing record at /records/0; a "
                                "pupil appears once per subject"},
           {"/records/3/subject", "subject \"art\" is not one of the trust's subjects: reading, "
                                  "writing, maths, science, gps, english"},
           {"/records/4/score", "score must be a GCSE grade from 1 to 9 for Years 10-13"},
           {"/records/5/pupil", "pupil must be a string, not an integer"});
}

static void test_json_malformed(void **state)
{
    (void)state;
    EXPECT(JSON, "{\"records\": [", PROGRESS_MALFORMED,
           {"", "malformed JSON at line 1, column 13: ']' expected near end of file"});
    EXPECT(JSON, "[]", PROGRESS_MALFORMED, {"", "the body must be a JSON object, not an array"});
    EXPECT(JSON, "{\"records\": [], \"records\": []}", PROGRESS_MALFORMED,
           {"", "malformed JSON at line 1, column 25: duplicate object key near '\"records\"'"});
}

/* Parses body both ways (member-wise from the tokens where it can, and every record built
 * and validated in full) and checks the answers are identical; returns the result. */
static enum progress_result both_ways(const char *body)
{
    struct strbuf copy[2];
    struct mat_errors errs[2];
    struct progress_set set[2];
    enum progress_result rc[2];
    for (int w = 0; w < 2; w++) {
        strbuf_init(&copy[w]);
        mat_errors_init(&errs[w]);
        struct progress_parse_opts o = opts();
        o.copy = &copy[w];
        o.copy_prefix = "1\t";
        o.json_tree_per_record = w == 1;
        rc[w] = progress_parse_json(body, strlen(body), &o, &set[w], &errs[w]);
    }
    assert_int_equal(rc[0], rc[1]);
    assert_int_equal(errs[0].count, errs[1].count);
    assert_int_equal(errs[0].dropped, errs[1].dropped);
    for (size_t i = 0; i < errs[0].count; i++) {
        assert_string_equal(errs[0].items[i].path, errs[1].items[i].path);
        assert_string_equal(errs[0].items[i].message, errs[1].items[i].message);
    }
    if (rc[0] == PROGRESS_OK) {
        assert_int_equal(set[0].count, set[1].count);
        assert_int_equal(copy[0].len, copy[1].len);
        assert_memory_equal(copy[0].data, copy[1].data, copy[0].len);
    }
    for (int w = 0; w < 2; w++) {
        strbuf_free(&copy[w]);
        mat_errors_free(&errs[w]);
        progress_set_free(&set[w]);
    }
    return rc[0];
}

static void test_json_fast_path_agrees(void **state)
{
    (void)state;
    /* every field, escapes, integers and reals, nulls; then each kind of bad member */
    const char *rec = "{\"pupil\": \"\\u0042801200005001\", \"year_group\": \"6\", \"subject\": "
                      "\"ma\\u0074hs\", \"band\": \"below\", \"score\": 101, \"attendance_pct\": "
                      "95.5, \"disadvantaged\": true, \"send\": \"support\", \"eal\": false, "
                      "\"looked_after\": null, \"sex\": \"f\", \"prior_attainment\": \"high\"}";
    char body[4096];
    snprintf(body, sizeof body,
             "{\"records\": [%s, {\"pupil\": \"MIS-1\", \"year_group\": \"R\", \"subject\": "
             "\"reading\", \"score\": 104.0}]}",
             rec);
    assert_int_equal(both_ways(body), PROGRESS_OK);
    static const char *const bad[] = {"\"year_group\": 6",
                                      "\"year_group\": \"6a\"",
                                      "\"colour\": \"blue\"",
                                      "\"score\": \"100\"",
                                      "\"score\": 130",
                                      "\"send\": \"yes\"",
                                      "\"eal\": 1",
                                      "\"pupil\": {\"a\": 1}",
                                      "\"band\": \"\"",
                                      "\"subject\": \"art\"",
                                      "\"subject\": \"Maths\"",
                                      "\"pupil\": \"A801200005001\"",
                                      "\"band\": \"excellent\"",
                                      "\"score\": 100, \"score\": 101"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        snprintf(body, sizeof body,
                 "{\"records\": [%s, {\"year_group\": \"6\", \"subject\": \"maths\", \"band\": "
                 "\"below\", \"pupil\": \"P935401123456\", %s}, [], 5]}",
                 rec, bad[i]);
        assert_int_not_equal(both_ways(body), PROGRESS_OK);
    }
    /* a record missing a required field, and one repeating an earlier pupil and subject */
    snprintf(body, sizeof body,
             "{\"records\": [%s, {\"pupil\": \"p\", \"subject\": \"maths\"}, %s]}", rec, rec);
    assert_int_equal(both_ways(body), PROGRESS_INVALID);
}

static void test_vocabulary_and_record_cap(void **state)
{
    (void)state;
    static const char *const vocab[] = {"reading", "maths", "rwm"};
    struct progress_parse_opts o = opts();
    o.subjects = vocab;
    o.nsubjects = ARRAY_LEN(vocab);
    const struct exp e1[] = {{"row 3:subject",
                              "subject \"writing\" is not one of the trust's subjects: reading, "
                              "maths, rwm"}};
    expect_with(CSV, &o,
                "pupil,year_group,subject,band\nB801200005001,6,RWM,below\n"
                "B801200005001,6,writing,below\n",
                PROGRESS_INVALID, e1, 1);
    o.max_records = 2;
    const char *json = "{\"records\": [{\"pupil\": \"a\", \"year_group\": \"6\", \"subject\": "
                       "\"maths\", \"band\": \"below\"}, {}, {}]}";
    const struct exp e2[] = {{"/records", "the push has 3 records; the limit is 2"}};
    expect_with(JSON, &o, json, PROGRESS_INVALID, e2, 1);
    const struct exp e3[] = {{"row 4", "the push has more than 2 records"}};
    expect_with(CSV, &o,
                "pupil,year_group,subject,band\na,6,maths,below\nb,6,maths,below\n"
                "c,6,maths,below\nd,6,maths,below\n",
                PROGRESS_INVALID, e3, 1);
    o.max_records = 3;
    expect_with(CSV, &o,
                "pupil,year_group,subject,band\na,6,maths,below\nb,6,maths,below\n"
                "c,6,rwm,below\n",
                PROGRESS_OK, NULL, 0);
}

static void test_errors_are_bounded(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_puts(&sb, "pupil,year_group,subject,band\n");
    for (int i = 0; i < 300; i++)
        strbuf_printf(&sb, "p%d,6,maths,top\n", i);
    struct progress_parse_opts o = opts();
    struct progress_set s;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_csv(sb.data, sb.len, &o, &s, &errs), PROGRESS_INVALID);
    assert_int_equal(errs.count, MAT_ERRORS_MAX);
    assert_int_equal(errs.dropped, 200);
    assert_string_equal(errs.items[99].path, "row 101:band");
    mat_errors_free(&errs);
    strbuf_free(&sb);
}

/* ------------------------------------------------------- pseudonymisation ---- */

static void test_pupil_key_known_answer(void **state)
{
    (void)state;
    /* RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?") starts
     * 5bdcc146bf60754e6a042426089575c7. */
    unsigned char key[PUPIL_KEY_LEN];
    char hex[33];
    pupil_key((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", key);
    pupil_key_hex(key, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7");
    struct pupil_keyer *k = pupil_keyer_new((const unsigned char *)"Jefe", 4);
    unsigned char again[PUPIL_KEY_LEN];
    for (int i = 0; i < 3; i++) { /* reusing the keyer gives the same answer */
        pupil_keyer_key(k, "what do ya want for nothing?", 28, again);
        assert_memory_equal(key, again, PUPIL_KEY_LEN);
    }
    pupil_keyer_free(k);
}

static void test_pseudonymisation(void **state)
{
    (void)state;
    const char *push = "{\"records\": [{\"pupil\": \"B801200005001\", \"year_group\": \"6\", "
                       "\"subject\": \"maths\", \"band\": \"below\"}, {\"pupil\": "
                       "\"MIS-000123\", \"year_group\": \"6\", \"subject\": \"maths\", "
                       "\"band\": \"below\"}]}";
    const char *csv_push = "pupil,year_group,subject,band\nb801200005001,6,maths,below\n"
                           "MIS-000123,6,maths,below\n";
    struct progress_parse_opts o = opts();
    struct progress_set a, b, c, d;
    struct mat_errors errs;
    mat_errors_init(&errs);
    assert_int_equal(progress_parse_json(push, strlen(push), &o, &a, &errs), PROGRESS_OK);
    assert_int_equal(progress_parse_json(push, strlen(push), &o, &b, &errs), PROGRESS_OK);
    assert_int_equal(progress_parse_csv(csv_push, strlen(csv_push), &o, &c, &errs), PROGRESS_OK);
    static const unsigned char other[] = "another-trust";
    struct progress_parse_opts o2 = opts();
    o2.secret = other;
    o2.secret_len = sizeof other - 1;
    assert_int_equal(progress_parse_json(push, strlen(push), &o2, &d, &errs), PROGRESS_OK);
    for (size_t i = 0; i < 2; i++) {
        /* The same pupil in two pushes (and in JSON or CSV, any case of UPN) is one key. */
        assert_memory_equal(a.records[i].pupil_key, b.records[i].pupil_key, PUPIL_KEY_LEN);
        assert_memory_equal(a.records[i].pupil_key, c.records[i].pupil_key, PUPIL_KEY_LEN);
        /* Another trust's secret gives unrelated keys. */
        assert_memory_not_equal(a.records[i].pupil_key, d.records[i].pupil_key, PUPIL_KEY_LEN);
    }
    assert_memory_not_equal(a.records[0].pupil_key, a.records[1].pupil_key, PUPIL_KEY_LEN);
    /* The raw references are in neither the records nor the COPY text. */
    const char *refs[] = {"B801200005001", "b801200005001", "MIS-000123", "000123"};
    char *text = copy_text(&a, NULL);
    for (size_t i = 0; i < ARRAY_LEN(refs); i++) {
        assert_null(strstr(text, refs[i]));
        assert_null(memmem(a.records, a.count * sizeof *a.records, refs[i], strlen(refs[i])));
        assert_null(memmem(c.records, c.count * sizeof *c.records, refs[i], strlen(refs[i])));
    }
    free(text);
    progress_set_free(&a);
    progress_set_free(&b);
    progress_set_free(&c);
    progress_set_free(&d);
    assert_int_equal(errs.count, 0);
    mat_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_and_csv_give_identical_records),
        cmocka_unit_test(test_empty_push_and_header_only),
        cmocka_unit_test(test_csv_separator_rows_are_blank),
        cmocka_unit_test(test_csv_row_errors),
        cmocka_unit_test(test_csv_quote_errors),
        cmocka_unit_test(test_csv_header_errors),
        cmocka_unit_test(test_csv_values),
        cmocka_unit_test(test_csv_malformed_bodies),
        cmocka_unit_test(test_spec_example_has_a_bad_check_letter),
        cmocka_unit_test(test_json_errors_in_record_order),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_json_fast_path_agrees),
        cmocka_unit_test(test_vocabulary_and_record_cap),
        cmocka_unit_test(test_errors_are_bounded),
        cmocka_unit_test(test_pupil_key_known_answer),
        cmocka_unit_test(test_pseudonymisation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
