/* The statutory vocabulary a school's export carries in place of matd's bands: the
 * end-of-key-stage teacher-assessment codes (GDS, EXS, WTS, PK1..PK6, EM, ...), the
 * "other codes" (A, L, F, P, D) and KS2 scaled scores, and how each counts (SPEC 4.3;
 * the DfE rules with their sources are in docs/validation.md). Pure. */
#ifndef MATD_ASSESSMENT_CODES_H
#define MATD_ASSESSMENT_CODES_H
#include <stdbool.h>
#include <stddef.h>

enum progress_band {
    PROGRESS_BAND_BELOW,
    PROGRESS_BAND_TOWARDS,
    PROGRESS_BAND_EXPECTED,
    PROGRESS_BAND_GREATER_DEPTH,
};
#define PROGRESS_NBANDS 4

/* The "other codes": no attainment judgement, stored as such instead of a band. The
 * first five are the teacher-assessment codes of SPEC 4.3 (and a test's A, L, F, P, D);
 * the rest are the KS2 tests' outcome codes for a pupil without a scaled score, as the
 * national assessments portal's results carry them. */
enum assessment_code {
    ASSESS_CODE_NONE,
    ASSESS_CODE_A, /* absent for long periods, or not enough information for a judgement */
    ASSESS_CODE_L, /* left the school */
    ASSESS_CODE_F, /* completes the key stage in a future year */
    ASSESS_CODE_P, /* completed the key stage in a past year */
    ASSESS_CODE_D, /* disapplied (withdrawn in 2021/22; still found in older files) */
    ASSESS_CODE_B, /* test: working below the standard of the test */
    ASSESS_CODE_H, /* test: pupil cheating (result annulled) */
    ASSESS_CODE_J, /* test: just arrived in the school */
    ASSESS_CODE_M, /* test: result missing */
    ASSESS_CODE_Q, /* maladministration */
    ASSESS_CODE_T, /* test: unable to access the test (the code before U) */
    ASSESS_CODE_U, /* test: unable to access the test */
};
#define ASSESS_NCODES 13

/* What a band cell holds. */
enum assessment_kind { ASSESS_BAND, ASSESS_OTHER_CODE, ASSESS_UNKNOWN };

/* Reads s[0..len): a band name (below, towards, expected, greater_depth), a statutory
 * TA code (GDS, EXS, WTS, HNM, PK1..PK6, PKF, PKE, PKG, BLW, EM), a test outcome with no
 * score (AS achieved the standard: expected; NS not achieved: below) or an other code (A,
 * L, F, P, D, B, H, J, M, Q, T, U), case-insensitively; surrounding spaces are ignored. */
enum assessment_kind assessment_parse(const char *s, size_t len, enum progress_band *band,
                                      enum assessment_code *code);

/* The band's name ("greater_depth") and an other code's letter ("A"); "" for NONE. */
const char *assessment_band_name(enum progress_band b);
const char *assessment_code_name(enum assessment_code c);

/* True when a pupil with this code stays in a cell's n (counted as not meeting the
 * expected standard: A, D, B, H, J, Q, T, U); false when the pupil is outside the cohort
 * (L, F, P, M). */
bool assessment_code_in_cohort(enum assessment_code c);
/* One sentence on how the code is counted, for the dry-run answer. */
const char *assessment_code_treatment(enum assessment_code c);

/* Subjects whose KS2 test gives a scaled score: reading, maths, gps. */
bool assessment_scaled_subject(const char *subject);
/* A KS2 scaled score 80..120 as a band: >= 110 greater_depth (the high score), >= 100
 * expected, else below. False when score is outside 80..120. */
bool assessment_band_from_scaled(double score, enum progress_band *band);

/* The list of every accepted band word, for error messages (static text). */
extern const char assessment_accepted_text[];

#endif
