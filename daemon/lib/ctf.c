/* CTF pushes: xmlTextReader over the body; a whitelist of the elements matd keeps, whose
 * text alone is ever copied; every other element is read past (the personal ones -
 * names, DOB, addresses, phones, e-mails, contacts - skipped as whole subtrees). Each
 * pupil's kept facts become rows of matd's own CSV, which the CSV reader validates and
 * keys exactly as a CSV push; its errors are renamed to the pupil's position and the
 * CTF element. */
#include "ctf.h"

#include <libxml/xmlreader.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define CTF_MAX_DEPTH 24
#define CTF_TEXT_MAX 64
#define CTF_MAX_RESULTS 16 /* kept subjects per pupil */

/* Whole subtrees read past unread: personal data matd never keeps. */
static const char *const skipped[] = {
    "Surname",       "Forename",          "DOB",         "PreferredSurname",
    "FormerSurname", "PreferredForename", "MiddleNames", "LegalSurname",
    "LegalForename", "Address",           "Phones",      "Email",
    "Contacts",      "SchoolHistory",     "Attendance",  "UniqueLearnerNumber",
    "UCI",           "FormerUPN"};

/* Elements whose text is read; nothing else is ever copied. */
static const char *const kept[] = {"UPN",          "NCyearActual",    "Sex",       "Gender",
                                   "FSMstartDate", "FSMendDate",      "StartDate", "EndDate",
                                   "SENprovision", "LanguageType",    "Language",  "InCare",
                                   "Stage",        "Subject",         "Component", "Method",
                                   "Result",       "ResultQualifier", "Year"};

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

struct ctf_result {
    char subject[PROGRESS_SUBJECT_MAX + 1];
    char band[CTF_TEXT_MAX + 1], score[CTF_TEXT_MAX + 1];
    char outcome[CTF_TEXT_MAX + 1]; /* a test's code with no score (A, B, AS, ...) */
    /* 1-based StageAssessments of the pupil, for errors: the subject's first, and the
     * ones that gave the TA code and the test's code */
    size_t assessment, band_at, outcome_at;
};

struct ctf_pupil {
    char upn[CTF_TEXT_MAX + 1], year[CTF_TEXT_MAX + 1], sex[CTF_TEXT_MAX + 1];
    bool fsm_ever6, looked_after, eal;
    char sen[CTF_TEXT_MAX + 1], sen_start[CTF_TEXT_MAX + 1];
    char fsm_start[CTF_TEXT_MAX + 1], fsm_end[CTF_TEXT_MAX + 1];
    char lang_type[CTF_TEXT_MAX + 1], lang[CTF_TEXT_MAX + 1];
    char sen_rec_start[CTF_TEXT_MAX + 1], sen_rec_end[CTF_TEXT_MAX + 1], sen_rec[CTF_TEXT_MAX + 1];
    struct ctf_result results[CTF_MAX_RESULTS];
    size_t nresults, nassessments;
    /* the StageAssessment being read */
    char stage[CTF_TEXT_MAX + 1], subject[CTF_TEXT_MAX + 1], component[CTF_TEXT_MAX + 1],
        method[CTF_TEXT_MAX + 1], result[CTF_TEXT_MAX + 1], qualifier[CTF_TEXT_MAX + 1],
        ayear[CTF_TEXT_MAX + 1];
};

/* Row r of the generated CSV (header = 1) came from this pupil and assessment. */
struct ctf_origin {
    size_t pupil, assessment;
};

struct ctf {
    const struct progress_parse_opts *opts;
    char result_year[5];             /* "2026" for 2025-26 */
    char census[11], ever6_from[11]; /* "2026-01-15", "2020-01-15" */
    struct strbuf csv;
    struct ctf_origin *origin;
    size_t nrows, cap;
    struct mat_errors *errs;
    size_t npupils;
    struct ctf_pupil pupil;
    bool in_pupil;
    char stack[CTF_MAX_DEPTH][32];
    char text[CTF_TEXT_MAX + 1];
    size_t text_len;
    int xml_error_line;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void ctf_init(void)
{
    xmlInitParser();
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void on_xml_error(void *arg, const char *msg, xmlParserSeverities severity,
                         xmlTextReaderLocatorPtr locator)
{
    (void)msg; /* libxml's words may quote the document: only the line is reported */
    struct ctf *c = arg;
    if (severity < XML_PARSER_SEVERITY_ERROR || c->xml_error_line != 0)
        return;
    c->xml_error_line = xmlTextReaderLocatorLineNumber(locator);
    if (c->xml_error_line == 0)
        c->xml_error_line = -1;
}

static bool one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, list[i]) == 0)
            return true;
    return false;
}

/* The matd subject of a StageAssessment, or NULL. Subject ENG with a Component names the
 * strand (reading, writing, grammar-punctuation-spelling); MAT and SCI count only as the
 * subject itself (no Component, or the subject's own code), so that a multiplication
 * tables check or another sub-test under MAT is never read as the maths result. Both the
 * short and the long component spellings seen in MIS exports are accepted (see
 * docs/validation.md: the exact code list is not verified against the published XSD). */
static const char *subject_of(const struct ctf_pupil *p)
{
    static const char *const reading[] = {"RD", "REA", "READ"},
                             *const writing[] = {"WR", "WRI", "WRIT"},
                             *const gps[] = {"GPS", "GPSP", "SPG", "SPAG"};
    const char *s = p->subject, *k = p->component;
    if (strcasecmp(s, "MAT") == 0)
        return !k[0] || !strcasecmp(k, "MAT") || !strcasecmp(k, "MA") ? "maths" : NULL;
    if (strcasecmp(s, "SCI") == 0)
        return !k[0] || !strcasecmp(k, "SCI") || !strcasecmp(k, "SC") ? "science" : NULL;
    if (one_of(s, gps, ARRAY_LEN(gps)))
        return "gps";
    if (strcasecmp(s, "ENG") != 0)
        return NULL;
    if (one_of(k, reading, ARRAY_LEN(reading)))
        return "reading";
    if (one_of(k, writing, ARRAY_LEN(writing)))
        return "writing";
    if (one_of(k, gps, ARRAY_LEN(gps)))
        return "gps";
    return k[0] ? NULL : "english";
}

static bool in_vocabulary(const struct ctf *c, const char *subject)
{
    const char *const *list = c->opts->subjects ? c->opts->subjects : progress_default_subjects;
    size_t n = c->opts->subjects ? c->opts->nsubjects : progress_default_subjects_count;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i], subject) == 0)
            return true;
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A StageAssessment ends: keep it when it is a result of the year in a kept subject. A
 * test's scaled score (ResultQualifier SS, or none given) and a teacher-assessment code in
 * one subject make one record. A test's raw score, or any other number qualified as not a
 * scaled score, is passed over. A test's code (Method TT: an outcome such as AS or NS
 * beside the score, or A, B, M, ... in place of one) counts only when the subject has no
 * scaled score and no TA code, so the finer result wins whatever the order. Codes go to
 * the CSV reader, which names the element when it is not a code of SPEC 4.3. */
static void end_assessment(struct ctf *c)
{
    struct ctf_pupil *p = &c->pupil;
    p->nassessments++;
    const char *subject = subject_of(p);
    if (!subject || !in_vocabulary(c, subject) || strcmp(p->ayear, c->result_year) != 0 ||
        !p->result[0])
        return;
    bool number = all_digits(p->result);
    if (number && p->qualifier[0] && strcasecmp(p->qualifier, "SS") != 0)
        return;
    struct ctf_result *r = NULL;
    for (size_t i = 0; i < p->nresults && !r; i++)
        if (strcmp(p->results[i].subject, subject) == 0)
            r = &p->results[i];
    if (!r) {
        if (p->nresults == CTF_MAX_RESULTS)
            return;
        r = &p->results[p->nresults++];
        memset(r, 0, sizeof *r);
        snprintf(r->subject, sizeof r->subject, "%s", subject);
        r->assessment = p->nassessments;
    }
    if (number)
        snprintf(r->score, sizeof r->score, "%s", p->result);
    else if (strcasecmp(p->method, "TT") == 0) {
        snprintf(r->outcome, sizeof r->outcome, "%s", p->result);
        r->outcome_at = p->nassessments;
    } else {
        snprintf(r->band, sizeof r->band, "%s", p->result);
        r->band_at = p->nassessments;
    }
}

static void csv_cell(struct strbuf *sb, const char *s, bool last)
{
    strbuf_puts(sb, "\"");
    for (; *s; s++)
        strbuf_append(sb, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    strbuf_puts(sb, last ? "\"\n" : "\",");
}

static const char *year_group_of(const char *y)
{
    if (strcasecmp(y, "N1") == 0 || strcasecmp(y, "N2") == 0)
        return "N";
    return y;
}

static const char *send_of(const char *sen)
{
    if (!sen[0] || strcasecmp(sen, "N") == 0)
        return "none";
    if (strcasecmp(sen, "K") == 0)
        return "support";
    if (strcasecmp(sen, "E") == 0 || strcasecmp(sen, "S") == 0)
        return "ehcp";
    return sen; /* the CSV reader names it */
}

static const char *sex_of(const char *s)
{
    if (strcasecmp(s, "F") == 0)
        return "f";
    if (strcasecmp(s, "M") == 0)
        return "m";
    return "";
}

/* A pupil ends: one CSV row per kept result. */
static void end_pupil(struct ctf *c)
{
    struct ctf_pupil *p = &c->pupil;
    bool dis = p->fsm_ever6 || p->looked_after;
    for (size_t i = 0; i < p->nresults; i++) {
        const struct ctf_result *r = &p->results[i];
        csv_cell(&c->csv, p->upn, false);
        csv_cell(&c->csv, year_group_of(p->year), false);
        csv_cell(&c->csv, r->subject, false);
        bool by_outcome = !r->band[0] && !r->score[0];
        csv_cell(&c->csv, by_outcome ? r->outcome : r->band, false);
        csv_cell(&c->csv, r->score, false);
        csv_cell(&c->csv, dis ? "true" : "false", false);
        csv_cell(&c->csv, send_of(p->sen), false);
        csv_cell(&c->csv, p->eal ? "true" : "false", false);
        csv_cell(&c->csv, p->looked_after ? "true" : "false", false);
        csv_cell(&c->csv, sex_of(p->sex), true);
        if (c->nrows == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 256;
            c->origin = xrealloc(c->origin, c->cap * sizeof *c->origin);
        }
        size_t at = by_outcome ? r->outcome_at : r->band[0] ? r->band_at : r->assessment;
        c->origin[c->nrows++] = (struct ctf_origin){c->npupils, at};
    }
    explicit_bzero(p, sizeof *p);
}

/* An element of a pupil ends with its text in c->text. */
static void end_element(struct ctf *c, int depth, const char *name)
{
    struct ctf_pupil *p = &c->pupil;
    const char *parent = depth > 0 ? c->stack[depth - 1] : "";
    const char *t = c->text;
#define KEEP(field) snprintf(p->field, sizeof p->field, "%s", t)
    if (strcmp(name, "UPN") == 0 && strcmp(parent, "Pupil") == 0)
        KEEP(upn);
    else if (strcmp(name, "NCyearActual") == 0)
        KEEP(year);
    else if (strcmp(name, "Sex") == 0 || strcmp(name, "Gender") == 0)
        KEEP(sex);
    else if (strcmp(name, "FSMstartDate") == 0)
        KEEP(fsm_start);
    else if (strcmp(name, "FSMendDate") == 0)
        KEEP(fsm_end);
    else if (strcmp(name, "FSMinstance") == 0) {
        /* Ever 6: eligible at some point in the six years to the January census. */
        if (p->fsm_start[0] && strcmp(p->fsm_start, c->census) <= 0 &&
            (!p->fsm_end[0] || strcmp(p->fsm_end, c->ever6_from) >= 0))
            p->fsm_ever6 = true;
        p->fsm_start[0] = p->fsm_end[0] = '\0';
    } else if (strcmp(name, "StartDate") == 0 && strcmp(parent, "SEN") == 0)
        KEEP(sen_rec_start);
    else if (strcmp(name, "EndDate") == 0 && strcmp(parent, "SEN") == 0)
        KEEP(sen_rec_end);
    else if (strcmp(name, "SENprovision") == 0)
        KEEP(sen_rec);
    else if (strcmp(name, "SEN") == 0) {
        /* The latest SEN record holds the provision now; one with an EndDate has
         * ended and holds none. */
        if (strcmp(p->sen_rec_start, p->sen_start) >= 0) {
            bool ended = p->sen_rec_end[0] != '\0';
            snprintf(p->sen, sizeof p->sen, "%s", ended ? "N" : p->sen_rec);
            snprintf(p->sen_start, sizeof p->sen_start, "%s", p->sen_rec_start);
        }
        p->sen_rec[0] = p->sen_rec_start[0] = p->sen_rec_end[0] = '\0';
    } else if (strcmp(name, "LanguageType") == 0)
        KEEP(lang_type);
    else if (strcmp(name, "Language") == 0)
        KEEP(lang);
    else if (strcmp(name, "Type") == 0 && strcmp(parent, "Languages") == 0) {
        if (strcasecmp(p->lang_type, "F") == 0)
            p->eal = p->lang[0] && strcasecmp(p->lang, "ENG") && strcasecmp(p->lang, "ENB") &&
                     strcasecmp(p->lang, "NOT") && strcasecmp(p->lang, "REF");
        p->lang_type[0] = p->lang[0] = '\0';
    } else if (strcmp(name, "InCare") == 0) {
        if (strcasecmp(t, "true") == 0 || strcmp(t, "1") == 0)
            p->looked_after = true;
    } else if (strcmp(name, "Stage") == 0)
        KEEP(stage);
    else if (strcmp(name, "Subject") == 0)
        KEEP(subject);
    else if (strcmp(name, "Component") == 0)
        KEEP(component);
    else if (strcmp(name, "Method") == 0)
        KEEP(method);
    else if (strcmp(name, "Result") == 0)
        KEEP(result);
    else if (strcmp(name, "ResultQualifier") == 0)
        KEEP(qualifier);
    else if (strcmp(name, "Year") == 0 && strcmp(parent, "StageAssessment") == 0)
        KEEP(ayear);
    else if (strcmp(name, "StageAssessment") == 0) {
        end_assessment(c);
        p->stage[0] = p->subject[0] = p->component[0] = p->method[0] = '\0';
        p->result[0] = p->qualifier[0] = p->ayear[0] = '\0';
    }
#undef KEEP
}

/* One node; returns false to stop (an error has been added). */
static bool on_node(struct ctf *c, xmlTextReaderPtr rd, bool *skip)
{
    int type = xmlTextReaderNodeType(rd), depth = xmlTextReaderDepth(rd);
    const char *name = (const char *)xmlTextReaderConstLocalName(rd);
    if (!name || depth < 0)
        return true; /* nothing to act on; a reader error ends the loop */
    if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE) {
        mat_errors_add(c->errs, "", "a CTF carries no DOCTYPE or entity references");
        return false;
    }
    if (type == XML_READER_TYPE_ELEMENT) {
        if (depth >= CTF_MAX_DEPTH) {
            mat_errors_add(c->errs, "", "the XML nests deeper than %d elements", CTF_MAX_DEPTH);
            return false;
        }
        if (depth == 0 && strcmp(name, "CTfile") != 0) {
            mat_errors_add(c->errs, "",
                           "this is not a common transfer file: the root element "
                           "must be CTfile");
            return false;
        }
        snprintf(c->stack[depth], sizeof c->stack[depth], "%s", name);
        c->text_len = 0;
        c->text[0] = '\0';
        if (c->in_pupil && in_list(skipped, ARRAY_LEN(skipped), name)) {
            *skip = true; /* the whole subtree, unread */
            return true;
        }
        if (strcmp(name, "Pupil") == 0 && depth > 0 &&
            strcmp(c->stack[depth - 1], "CTFpupilData") == 0) {
            if (++c->npupils > c->opts->max_records) {
                mat_errors_add(c->errs, "", "the file has more than %zu pupils",
                               c->opts->max_records);
                return false;
            }
            c->in_pupil = true;
            memset(&c->pupil, 0, sizeof c->pupil);
        }
        if (!xmlTextReaderIsEmptyElement(rd))
            return true;
        type = XML_READER_TYPE_END_ELEMENT; /* <Result/>: ends at once */
    }
    if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) && c->in_pupil &&
        depth > 0 && in_list(kept, ARRAY_LEN(kept), c->stack[depth - 1])) {
        const char *v = (const char *)xmlTextReaderConstValue(rd);
        for (; v && *v && c->text_len < CTF_TEXT_MAX; v++)
            if (*v != ' ' && *v != '\n' && *v != '\r' && *v != '\t')
                c->text[c->text_len++] = *v;
        c->text[c->text_len] = '\0';
    }
    if (type == XML_READER_TYPE_END_ELEMENT && c->in_pupil) {
        if (strcmp(name, "Pupil") == 0 && depth == 2) {
            end_pupil(c);
            c->in_pupil = false;
        } else {
            end_element(c, depth, name);
        }
        c->text_len = 0;
        c->text[0] = '\0';
    }
    return true;
}

static const char *element_of(const char *field, size_t assessment, char *buf, size_t n)
{
    static const struct {
        const char *field, *element;
    } names[] = {{"pupil", "UPN"},
                 {"year_group", "NCyearActual"},
                 {"disadvantaged", "FSMhistory"},
                 {"send", "SENprovision"},
                 {"eal", "Languages"},
                 {"looked_after", "InCare"},
                 {"sex", "Sex"}};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(field, names[i].field) == 0)
            return names[i].element;
    snprintf(buf, n, "StageAssessment[%zu]/Result", assessment);
    return buf;
}

/* "row R:field" of the generated CSV as "pupil P:element" of the CTF. */
static void rename_errors(const struct ctf *c, struct mat_errors *from)
{
    for (size_t i = 0; i < from->count; i++) {
        const char *path = from->items[i].path;
        size_t row = 0;
        char field[64] = "", where[96], buf[48];
        if (sscanf(path, "row %zu:%63s", &row, field) >= 1 && row >= 2 && row - 2 < c->nrows) {
            const struct ctf_origin *o = &c->origin[row - 2];
            if (field[0])
                snprintf(where, sizeof where, "pupil %zu:%s", o->pupil,
                         element_of(field, o->assessment, buf, sizeof buf));
            else
                snprintf(where, sizeof where, "pupil %zu", o->pupil);
            mat_errors_add(c->errs, where, "%s", from->items[i].message);
        } else {
            mat_errors_add(c->errs, "", "%s", from->items[i].message);
        }
    }
    c->errs->dropped += from->dropped;
}

static void ctf_dates(struct ctf *c, const char *year)
{
    int start = year ? atoi(year) : 0;
    if (start < 1900 || start > 9000)
        start = 2000;
    /* start is 1900..9000: the modulo changes nothing, and tells the compiler four digits */
    unsigned next = (unsigned)(start + 1) % 10000u, ever6 = (unsigned)(start - 5) % 10000u;
    snprintf(c->result_year, sizeof c->result_year, "%04u", next);
    snprintf(c->census, sizeof c->census, "%04u-01-15", next);
    snprintf(c->ever6_from, sizeof c->ever6_from, "%04u-01-15", ever6);
}

enum progress_result progress_parse_ctf(const char *buf, size_t len,
                                        const struct progress_parse_opts *opts, const char *year,
                                        struct progress_set *out, struct mat_errors *errs)
{
    pthread_once(&init_once, ctf_init);
    xmlSetGenericErrorFunc(NULL, silent); /* libxml would print its own messages */
    out->records = NULL;
    out->origin = NULL;
    out->count = out->cap = 0;
    struct ctf *c = xcalloc(1, sizeof *c);
    struct progress_parse_opts o = *opts;
    o.profile = NULL;
    o.max_records = o.max_records ? o.max_records : PROGRESS_MAX_RECORDS_DEFAULT;
    c->opts = &o;
    c->errs = errs;
    ctf_dates(c, year);
    strbuf_init(&c->csv);
    strbuf_puts(&c->csv, "pupil,year_group,subject,band,score,disadvantaged,send,eal,"
                         "looked_after,sex\n");
    size_t before = errs->count + errs->dropped;
    enum progress_result rc = PROGRESS_OK;
    xmlTextReaderPtr rd =
        len > (size_t)INT32_MAX
            ? NULL
            : xmlReaderForMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (!rd) {
        mat_errors_add(errs, "", "the body cannot be read as XML");
        rc = PROGRESS_MALFORMED;
    } else {
        xmlTextReaderSetErrorHandler(rd, on_xml_error, c);
        int ret;
        bool ok = true, skip = false;
        while (ok && (ret = skip ? xmlTextReaderNext(rd) : xmlTextReaderRead(rd)) == 1) {
            skip = false;
            ok = on_node(c, rd, &skip);
            if (skip)
                c->text_len = 0;
        }
        if (ok && (ret < 0 || c->xml_error_line)) {
            char path[32];
            snprintf(path, sizeof path, "line %d", c->xml_error_line > 0 ? c->xml_error_line : 0);
            mat_errors_add(errs, path,
                           "the XML is not well-formed here; a CTF is XML as the "
                           "DfE's CTF schema defines it");
            rc = PROGRESS_MALFORMED;
        } else if (!ok) {
            rc = PROGRESS_INVALID;
        }
        xmlFreeTextReader(rd);
    }
    if (rc == PROGRESS_OK && c->npupils == 0) {
        mat_errors_add(errs, "", "the CTF holds no pupils (CTFpupilData/Pupil)");
        rc = PROGRESS_INVALID;
    } else if (rc == PROGRESS_OK && c->nrows == 0) {
        mat_errors_add(errs, "",
                       "the CTF holds no assessment results of %s in the trust's subjects "
                       "(StageAssessment with Year %s)",
                       year ? year : "the year", c->result_year);
        rc = PROGRESS_INVALID;
    }
    if (rc == PROGRESS_OK) {
        struct mat_errors csv_errs;
        mat_errors_init(&csv_errs);
        rc = progress_parse_csv(c->csv.data, c->csv.len, &o, out, &csv_errs);
        rename_errors(c, &csv_errs);
        mat_errors_free(&csv_errs);
        if (rc != PROGRESS_OK && errs->count + errs->dropped == before)
            mat_errors_add(errs, "", "the CTF cannot be read");
    }
    if (c->csv.data)
        explicit_bzero(c->csv.data, c->csv.len);
    strbuf_free(&c->csv);
    free(c->origin);
    explicit_bzero(c, sizeof *c);
    free(c);
    return rc;
}
