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

/* The "other codes": no attainment judgement, stored as such instead of a band. */
enum assessment_code {
    ASSESS_CODE_NONE,
    ASSESS_CODE_A, /* absent for long periods, or not enough information for a judgement */
    ASSESS_CODE_L, /* left the school */
    ASSESS_CODE_F, /* completes the key stage in a future year */
    ASSESS_CODE_P, /* completed the key stage in a past year */
    ASSESS_CODE_D, /* disapplied (withdrawn in 2021/22; still found in older files) */
};
#define ASSESS_NCODES 6

/* What a band cell holds. */
enum assessment_kind { ASSESS_BAND, ASSESS_OTHER_CODE, ASSESS_UNKNOWN };

/* Reads s[0..len): a band name (below, towards, expected, greater_depth), a statutory
 * TA code (GDS, EXS, WTS, HNM, PK1..PK6, PKF, PKE, PKG, BLW, EM) or an other code (A, L,
 * F, P, D), case-insensitively; surrounding spaces are ignored. */
enum assessment_kind assessment_parse(const char *s, size_t len, enum progress_band *band,
                                      enum assessment_code *code);

/* The band's name ("greater_depth") and an other code's letter ("A"); "" for NONE. */
const char *assessment_band_name(enum progress_band b);
const char *assessment_code_name(enum assessment_code c);

/* True when a pupil with this code stays in a cell's n (counted as not meeting the
 * expected standard); false when the pupil is outside the cohort (L, F, P). */
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
