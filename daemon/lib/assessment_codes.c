/* Statutory assessment codes and scaled scores as matd's bands and other codes.
 * The table is the KS2 assessment and reporting arrangements' list of teacher-assessment
 * outcomes; PKF/PKE/PKG and BLW are the interim pre-key-stage codes (2016-2018) still
 * found in older files, EM the engagement model (from 2021/22). */
#include "assessment_codes.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *word;
    enum progress_band band;
} band_words[] = {
    {"below", PROGRESS_BAND_BELOW},       {"towards", PROGRESS_BAND_TOWARDS},
    {"expected", PROGRESS_BAND_EXPECTED}, {"greater_depth", PROGRESS_BAND_GREATER_DEPTH},
    {"GDS", PROGRESS_BAND_GREATER_DEPTH}, {"EXS", PROGRESS_BAND_EXPECTED},
    {"WTS", PROGRESS_BAND_TOWARDS},       {"HNM", PROGRESS_BAND_BELOW},
    {"PK1", PROGRESS_BAND_BELOW},         {"PK2", PROGRESS_BAND_BELOW},
    {"PK3", PROGRESS_BAND_BELOW},         {"PK4", PROGRESS_BAND_BELOW},
    {"PK5", PROGRESS_BAND_BELOW},         {"PK6", PROGRESS_BAND_BELOW},
    {"PKF", PROGRESS_BAND_BELOW},         {"PKE", PROGRESS_BAND_BELOW},
    {"PKG", PROGRESS_BAND_BELOW},         {"BLW", PROGRESS_BAND_BELOW},
    {"EM", PROGRESS_BAND_BELOW},          {"AS", PROGRESS_BAND_EXPECTED},
    {"NS", PROGRESS_BAND_BELOW},
};

static const char *const code_names[ASSESS_NCODES] = {"",  "A", "L", "F", "P", "D", "B",
                                                      "H", "J", "M", "Q", "T", "U"};

const char assessment_accepted_text[] =
    "below, towards, expected, greater_depth; the statutory codes GDS, EXS, WTS, HNM, "
    "PK1-PK6, PKF, PKE, PKG, BLW, EM; the test outcomes AS, NS; or the other codes A, L, F, "
    "P, D, B, H, J, M, Q, T, U";

enum assessment_kind assessment_parse(const char *s, size_t len, enum progress_band *band,
                                      enum assessment_code *code)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    *code = ASSESS_CODE_NONE;
    for (size_t i = 0; i < sizeof band_words / sizeof band_words[0]; i++) {
        if (strlen(band_words[i].word) == len && strncasecmp(band_words[i].word, s, len) == 0) {
            *band = band_words[i].band;
            return ASSESS_BAND;
        }
    }
    for (int c = ASSESS_CODE_A; c < ASSESS_NCODES; c++) {
        if (len == 1 && (s[0] == code_names[c][0] || s[0] == code_names[c][0] + ('a' - 'A'))) {
            *code = (enum assessment_code)c;
            return ASSESS_OTHER_CODE;
        }
    }
    return ASSESS_UNKNOWN;
}

const char *assessment_band_name(enum progress_band b)
{
    static const char *const names[PROGRESS_NBANDS] = {"below", "towards", "expected",
                                                       "greater_depth"};
    return (unsigned)b < PROGRESS_NBANDS ? names[b] : "";
}

const char *assessment_code_name(enum assessment_code c)
{
    return (unsigned)c < ASSESS_NCODES ? code_names[c] : "";
}

bool assessment_code_in_cohort(enum assessment_code c)
{
    return c != ASSESS_CODE_L && c != ASSESS_CODE_F && c != ASSESS_CODE_P && c != ASSESS_CODE_M;
}

const char *assessment_code_treatment(enum assessment_code c)
{
    switch (c) {
    case ASSESS_CODE_A:
        return "absent or no judgement: counted in n as not meeting the expected standard";
    case ASSESS_CODE_D:
        return "disapplied: counted in n as not meeting the expected standard";
    case ASSESS_CODE_L:
        return "left the school: outside the cohort, not counted in n";
    case ASSESS_CODE_F:
        return "completes the key stage in a future year: outside this year's cohort, not "
               "counted in n";
    case ASSESS_CODE_P:
        return "completed the key stage in a past year: outside this year's cohort, not "
               "counted in n";
    case ASSESS_CODE_B:
        return "working below the standard of the test: counted in n as not meeting the "
               "expected standard";
    case ASSESS_CODE_H:
        return "test annulled (cheating): counted in n as not meeting the expected standard";
    case ASSESS_CODE_J:
        return "just arrived in the school: counted in n as not meeting the expected standard "
               "(the DfE removes such pupils only on a school's request)";
    case ASSESS_CODE_Q:
        return "maladministration: counted in n as not meeting the expected standard";
    case ASSESS_CODE_T:
    case ASSESS_CODE_U:
        return "unable to access the test: counted in n as not meeting the expected standard";
    case ASSESS_CODE_M:
        return "result missing: outside the cohort, not counted in n";
    case ASSESS_CODE_NONE:
        break;
    }
    return "";
}

bool assessment_scaled_subject(const char *subject)
{
    return strcmp(subject, "reading") == 0 || strcmp(subject, "maths") == 0 ||
           strcmp(subject, "gps") == 0;
}

bool assessment_band_from_scaled(double score, enum progress_band *band)
{
    if (!(score >= 80 && score <= 120))
        return false;
    *band = score >= 110   ? PROGRESS_BAND_GREATER_DEPTH
            : score >= 100 ? PROGRESS_BAND_EXPECTED
                           : PROGRESS_BAND_BELOW;
    return true;
}
