/* Trust-wide priorities (SPEC section 6): turns attainment cells, SEF grades, SIP themes
 * and stuck-pupil lists into one ranked list of priorities with plain-English rationales
 * and school-to-school support matches. Pure logic: plain structs in, owned structs and
 * bytes out; no I/O, no database, no global state (safe to call from any thread). */
#ifndef MATD_PRIORITIES_H
#define MATD_PRIORITIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* ---- input: every string is borrowed for the duration of priorities_compute() ---- */

struct priorities_thresholds {
    int min_cohort;      /* smallest n for any cell-based judgement (default 6) */
    double z_crit;       /* |z| for "significant" (default 1.96) */
    double gap_points;   /* excess disadvantage gap, percentage points (default 10) */
    double trend_points; /* drop against the same term last year, points (default 10) */
    /* small cohorts (SPEC §8, suppress.h): also withhold the cells that would let a cell of
     * fewer than min_cohort pupils be worked out by subtraction, and the items resting on
     * them, from everyone but their school (default false: those cells only). Not read by
     * priorities_compute; it decides the masks the list is read through. */
    bool complementary_suppression;
};

/* Fills t with the SPEC defaults: 6, 1.96, 10, 10, no complementary suppression. */
void priorities_thresholds_default(struct priorities_thresholds *t);

/* The trust's schools for the term. Rows of any other input whose URN is not listed here
 * are ignored (a school that has left). */
struct priorities_school {
    const char *urn;   /* "^[0-9]{6}$" */
    const char *name;  /* for rationales; NULL or "" reads as "school <urn>" */
    const char *phase; /* "primary", ...; NULL = unknown (never "same phase") */
    double lat, lon;   /* degrees, read only when has_location */
    bool has_location;
};

/* One attainment cell (SPEC 6.1). One row per (scope, subject, group); a duplicate is an
 * input error. Groups: all, disadvantaged, not_disadvantaged, send, send_support, ehcp,
 * eal, looked_after, girls, boys, prior_low, prior_middle, prior_high (other names are
 * carried through unchanged). */
struct priorities_cell {
    const char *scope; /* school URN, or "" (or NULL) for the trust pooled pupil by pupil */
    const char *subject;
    const char *group;
    int n;  /* pupils with a record */
    int k;  /* of them at expected or greater_depth (0 <= k <= n) */
    int gd; /* of them at greater_depth (0 <= gd <= n); carried, not scored */
    /* withheld from everyone but its school (SPEC §8, suppress.h): never named as a
     * giver of support, whose reason would show it */
    bool withheld;
};

/* National benchmark for the year; a missing (subject, group) falls back to the trust's
 * pooled p for (subject, "all"). A duplicate (subject, group) is an input error. */
struct priorities_benchmark {
    const char *subject;
    const char *group;
    double expected; /* fraction 0..1 at expected or above */
};

/* One area of a school's latest SEF. 2019 key judgements are mapped onto the 2025 area
 * they correspond to (quality_of_education -> curriculum_and_teaching, ...; see
 * docs/priorities.md) so both frameworks aggregate and match together. */
struct priorities_sef_area {
    const char *urn;
    const char *area;      /* e.g. "achievement", "leadership_and_management" */
    int ordinal;           /* 1..5 (SPEC 4.1) */
    const char *grade;     /* e.g. "needs_attention"; NULL reads as "grade <ordinal>" */
    const char *framework; /* "ofsted_2025" | "ofsted_2019"; may be NULL */
};

/* One theme named by one of a school's SIP priorities (duplicates are fine). */
struct priorities_sip_theme {
    const char *urn;
    const char *theme;
};

/* A pupil below expected in this subject this term and the two terms before (the SQL
 * finds them). Duplicates are counted once. */
struct priorities_stuck_pupil {
    const char *urn;
    const char *subject;
    const char *pupil_key; /* lower-case hex of the 16-byte pseudonymous key */
};

/* A national disadvantage-gap reference: the benchmarks of both groups for a subject in a
 * year (SPEC 6.2). One row per (subject, year); "rwm" is reading, writing and maths
 * combined. The gap of a subject uses this year's benchmark table when it has both groups,
 * else the most recent earlier year here for the subject, else the most recent "rwm" row,
 * else PRIORITIES_RWM_* below. */
struct priorities_gap_reference {
    const char *subject;
    const char *year;
    double disadvantaged;     /* fraction 0..1 at expected or above */
    double not_disadvantaged; /* "other pupils" */
};

/* The last resort: the national KS2 reading, writing and maths combined figures of
 * 2023-24 (DfE): disadvantaged 45%, other pupils 67%, a gap of 22 points. */
#define PRIORITIES_RWM_YEAR "2023-24"
#define PRIORITIES_RWM_DISADVANTAGED 0.45
#define PRIORITIES_RWM_NOT_DISADVANTAGED 0.67

struct priorities_input {
    const char *year; /* "2025-26" */
    const char *term; /* "autumn" | "spring" | "summer" */
    struct priorities_thresholds thresholds;
    const struct priorities_school *schools;
    size_t n_schools;
    const struct priorities_cell *cells; /* this term */
    size_t n_cells;
    const struct priorities_cell *prev_cells; /* the same term last year, for trend */
    size_t n_prev_cells;
    const struct priorities_benchmark *benchmarks;
    size_t n_benchmarks;
    const struct priorities_sef_area *sef;
    size_t n_sef;
    const struct priorities_sip_theme *themes;
    size_t n_themes;
    const struct priorities_stuck_pupil *stuck;
    size_t n_stuck;
    const struct priorities_gap_reference *gap_refs; /* may be empty */
    size_t n_gap_refs;
};

/* ---- output: every item, string and array below is owned by the list that holds it
 * (allocated in its arena): read them, never free or modify them ---- */

enum priorities_level { PRIORITIES_LEVEL_ANY = 0, PRIORITIES_LEVEL_TRUST, PRIORITIES_LEVEL_SCHOOL };

enum priorities_kind {
    PRIORITIES_KIND_ANY = 0,
    PRIORITIES_KIND_ATTAINMENT,
    PRIORITIES_KIND_GAP,
    PRIORITIES_KIND_TREND,
    PRIORITIES_KIND_SEF,
    PRIORITIES_KIND_SHARED_THEME,
    PRIORITIES_KIND_STUCK_PUPILS,
};

/* The SPEC 6.1 figures of one cell. */
struct priorities_cell_metrics {
    int n, k;
    double p;        /* k / n (0 when n is 0) */
    bool has_b;      /* a benchmark exists (national or the trust fallback) */
    bool b_fallback; /* b is the trust's pooled p for (subject, all) */
    double b;        /* valid when has_b */
    double gap;      /* p - b, valid when has_b */
    bool has_z;      /* has_b, n > 0 and 0 < b < 1 */
    double z;        /* valid when has_z */
    int deficit;     /* max(0, ceil(b n) - k), valid when has_b */
    bool below;      /* n >= min_cohort and z <= -z_crit */
    bool above;      /* n >= min_cohort and z >= z_crit */
};

struct priorities_giver {
    char *urn;
    char *name;
    char *reason; /* one phrase: why this school is strong here */
    /* the same without the giver's figures, for a reader from another school (SPEC 8: a
     * school never reads another school's data; the giver's name and why are 6.4's) */
    char *reason_plain;
    bool same_phase;
    bool has_distance;
    double distance_km; /* haversine, valid when has_distance */
};

/* Per-school detail of a trust-level sef item or of stuck pupils. */
struct priorities_school_detail {
    char *urn;
    int count;   /* stuck_pupils: pupils; sef: the area's ordinal */
    char *grade; /* sef: the grade label; NULL otherwise */
};

/* Where a gap item's national gap came from (SPEC 6.2). */
enum priorities_gap_source {
    PRIORITIES_GAP_THIS_YEAR = 0, /* this year's benchmarks of both groups */
    PRIORITIES_GAP_EARLIER_YEAR,  /* the most recent earlier year with both */
    PRIORITIES_GAP_RWM,           /* the national reading, writing and maths combined gap */
};

/* Pupils stuck below expected in a subject (SPEC 6.2): on a school-level stuck_pupils item
 * and, at trust level, riding on the subject's trust attainment (or trend) item. */
struct priorities_stuck {
    int count;    /* pupils */
    int n;        /* the scope's (subject, all) cohort this term; 0 when unknown */
    double share; /* count / n (0 when n is 0) */
    struct priorities_school_detail *by_school; /* trust level: count per school, by URN */
    size_t n_by_school;
};

#define PRIORITIES_MAX_SUPPORT 3

struct priorities_item {
    char id[17]; /* first 16 hex of SHA-256("kind|scope|topic|group"), scope "trust" or URN */
    enum priorities_level level;
    enum priorities_kind kind;
    char *urn;      /* school-level: the school; NULL for trust-level */
    char *subject;  /* attainment, gap, trend, stuck_pupils */
    char *area;     /* sef (2025 area name) */
    char *theme;    /* shared_theme */
    char *group;    /* attainment, trend: the cell's group; gap: "disadvantaged"; else NULL */
    char **schools; /* URNs ascending: school-level [urn]; trust-level: breadth */
    size_t n_schools;

    /* attainment, gap (the disadvantaged cell), trend (this term's cell) */
    struct priorities_cell_metrics cell;
    /* gap: the not_disadvantaged cell; trend: last year's cell */
    struct priorities_cell_metrics other;
    double group_gap;                      /* gap: p(not_dis) - p(dis) */
    double national_gap;                   /* gap: b(not_dis) - b(dis) */
    double excess;                         /* gap: group_gap - national_gap (fraction) */
    enum priorities_gap_source gap_source; /* gap: where national_gap came from */
    const char *gap_year;                  /* gap: the year of the reference */
    const char *gap_subject;          /* gap: the subject of the reference ("rwm" for combined) */
    double national_dis, national_nd; /* gap: the two national figures of the reference */
    double trend;                     /* trend: p(now) - p(last year), negative for a drop */

    /* sef (school-level) */
    int ordinal;
    char *grade;
    char *framework;
    char *sef_area; /* the area as the school's SEF names it */
    /* sef trust-level: schools with the weakness, of_schools: schools in the trust;
     * shared_theme: schools naming it; stuck_pupils (school-level only): pupils */
    int count;
    int of_schools;
    struct priorities_school_detail *detail; /* trust-level sef, by URN */
    size_t n_detail;
    char **pupils; /* school-level stuck_pupils: keys ascending */
    size_t n_pupils;

    /* school-level stuck_pupils: always; trust attainment/trend: the subject's stuck pupils
     * across the trust, or NULL */
    struct priorities_stuck *stuck;

    double score;             /* as computed */
    int64_t score_hundredths; /* score rounded to 0.01, what is printed and sorted on */
    char *rationale;
    char *rationale_without_stuck; /* trust items carrying stuck: the sentence before them */
    struct priorities_giver support[PRIORITIES_MAX_SUPPORT];
    size_t n_support;
};

/* A computed list (owns its items) or a view of one (borrows them: keep the owner alive
 * until the view is freed). Items are sorted by score descending, then id ascending. */
struct arena; /* lib/arena.h */

struct priorities_list {
    char *year;
    char *term;
    struct priorities_item **items;
    size_t count;
    bool owns_items;
    struct arena *arena;  /* the items' storage; NULL in a view */
    struct arena *copies; /* a view's own copies of the items it changed, or NULL */
};

/* Computes the priorities. Returns 0 and an owned list in *out, or -1 with the bad input
 * rows in err (paths like "/cells/12/k"; err may be NULL) and *out NULL. Output depends
 * only on the input's content, never on its row order. */
int priorities_compute(const struct priorities_input *in, struct priorities_list **out,
                       struct mat_errors *err);

/* Frees a list or a view (NULL is fine). */
void priorities_list_free(struct priorities_list *list);

/* Names as they appear in the output, and their parsers (for query parameters). */
const char *priorities_level_name(enum priorities_level level);
const char *priorities_kind_name(enum priorities_kind kind);
bool priorities_level_parse(const char *s, enum priorities_level *out);
bool priorities_kind_parse(const char *s, enum priorities_kind *out);

/* ---- the formulas, exposed so that other modules compute a figure the same way ---- */

/* The SPEC 6.1 figures of a cell of n pupils, k at expected+, against benchmark b. */
void priorities_cell_eval(int n, int k, bool has_b, double b, bool b_fallback,
                          const struct priorities_thresholds *t,
                          struct priorities_cell_metrics *out);
/* max(0, ceil(b n) - k), with ceil guarded so that 0.75 * 4 is exactly 3. */
int priorities_deficit(double b, int n, int k);
/* Great-circle distance in km (geo.h: one formula, one Earth radius). */
double priorities_haversine_km(double lat1, double lon1, double lat2, double lon2);
/* The stable id: first 16 hex chars of SHA-256 of "kind|scope|topic|group". */
void priorities_item_id(const char *kind, const char *scope, const char *topic, const char *group,
                        char out[17]);

/* The views and the writers of a computed list. */
#include "priorities_views.h"
#include "priorities_output.h"

#endif
