/* Deterministic demo trust. The planted patterns, each among the first ten items of the
 * CEO's briefing under the scoring of SPEC 6.2 (tests/e2e/test_briefing.py):
 *   1. writing is weak across the whole trust (about 13 points under the benchmark);
 *   2. disadvantaged pupils at Brookside and Canal Street (two-form entry, strong for
 *      their other pupils) are far behind their peers;
 *   3. Eastgate Primary has declined sharply in writing and maths since last year;
 *   4. achievement is a self-evaluated weakness (urgent improvement at Brookside, needs
 *      attention at Ivy Lane; Canal Street's 2019 quality of education requires
 *      improvement);
 *   5. writing is a SIP theme at six schools; only the two gap schools plan for
 *      disadvantaged readers;
 *   6. some pupils have been below expected in writing for three terms running.
 * It also publishes this year's triad rota. */
#include "demo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "pupil_key.h"
#include "demo_experts.h"
#include "rota_service.h"
#include "secret.h"
#include "util.h"

struct demo_school {
    const char *urn, *name, *phase, *postcode;
    double lat, lon;
    int pupils;
    double effect;    /* school effect on attainment (logit-ish units) */
    double dis_extra; /* extra penalty for disadvantaged pupils (pattern 2) */
    double decline;   /* drop applied to this year only (pattern 3) */
    const char *framework;
    const char *achievement; /* SEF grade for achievement (pattern 4) */
    bool writing_theme;      /* pattern 5 */
    bool category;
};

static const struct demo_school schools[] = {
    {"140001", "Abbey Fields Primary", "primary", "CV1 2AB", 52.4081, -1.5106, 240, 0.25, 0, 0,
     "ofsted_2025", "strong_standard", true, false},
    {"140002", "Brookside Primary", "primary", "CV2 4DX", 52.4203, -1.4731, 420, 0.5, 1.6, 0,
     "ofsted_2025", "urgent_improvement", true, false},
    {"140003", "Canal Street Primary", "primary", "CV6 5HQ", 52.4301, -1.5002, 420, 0.5, 1.6, 0,
     "ofsted_2019", "requires_improvement", true, true},
    {"140004", "Dale Meadow Primary", "primary", "CV3 6PL", 52.3855, -1.4902, 230, 0.45, 0, 0,
     "ofsted_2025", "exceptional", false, false},
    {"140005", "Eastgate Primary", "primary", "CV3 1AS", 52.3968, -1.4589, 250, 0.2, 0, 0.8,
     "ofsted_2025", "expected_standard", true, false},
    {"140006", "Foxhill Primary", "primary", "CV5 8JJ", 52.4149, -1.5611, 240, 0.15, 0, 0,
     "ofsted_2019", "good", false, false},
    {"140007", "Greenway Primary", "primary", "CV4 9FF", 52.3912, -1.5645, 250, 0.1, 0, 0,
     "ofsted_2025", "expected_standard", true, false},
    {"140008", "Hollybank Primary", "primary", "CV7 9RT", 52.4608, -1.5125, 230, 0.3, 0, 0,
     "ofsted_2019", "outstanding", false, false},
    {"140009", "Ivy Lane Primary", "primary", "CV8 1QE", 52.3421, -1.5811, 260, 0.0, 0, 0,
     "ofsted_2025", "needs_attention", true, false},
    {"140010", "Juniper Primary", "primary", "CV34 4AA", 52.2819, -1.5849, 240, 0.2, 0, 0,
     "ofsted_2025", "strong_standard", false, false},
    {"140011", "Kingsway Academy", "secondary", "CV31 1XX", 52.2852, -1.5200, 300, 0.1, 0, 0,
     "ofsted_2019", "good", false, false},
    {"140012", "Lakeside Academy", "secondary", "CV11 4LE", 52.5215, -1.4654, 300, 0.0, 0, 0,
     "ofsted_2025", "expected_standard", false, false},
};
#define NSCHOOLS ARRAY_LEN(schools)

struct demo_term {
    const char *year, *term;
    int yg_shift; /* year groups advance at the start of 2025-26 */
    bool this_year;
};

static const struct demo_term terms[] = {
    {"2024-25", "spring", 0, false},
    {"2024-25", "summer", 0, false},
    {"2025-26", "autumn", 1, true},
    {"2025-26", "spring", 1, true},
};

static const char *const primary_subjects[] = {"reading", "writing", "maths", "science", "gps"};
static const char *const secondary_subjects[] = {"english", "maths", "science"};
/* Subject effects: writing is the trust-wide weakness (pattern 1). */
static double subject_effect(const char *s)
{
    if (strcmp(s, "writing") == 0)
        return -0.45;
    if (strcmp(s, "science") == 0)
        return 0.3;
    return 0.0;
}

/* splitmix64: a small, fast, seedable generator; the demo is a pure function of the seed. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    return prng_splitmix64(&r->s);
}

static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static double rng_normal(struct rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-12)
        u1 = 1e-12;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

struct pupil {
    char ref[24];
    char key_hex[33];
    int year_group; /* in 2024-25; -1 = Reception, 0 unused */
    double ability;
    bool dis, eal, lac;
    const char *send, *sex, *prior; /* prior NULL: not sent */
};

static const char *band_for(double z)
{
    /* Thresholds put about 72% at expected or above for an average pupil. */
    if (z < -1.45)
        return "below";
    if (z < -0.75)
        return "towards";
    if (z < 0.6)
        return "expected";
    return "greater_depth";
}

static int exec_ok(PGconn *pg, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "matctl demo: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static json_t *sef_body(const struct demo_school *s, struct rng *rng)
{
    static const char *const areas_2025[] = {"inclusion",
                                             "curriculum_and_teaching",
                                             "achievement",
                                             "attendance_and_behaviour",
                                             "personal_development_and_wellbeing",
                                             "leadership_and_governance"};
    static const char *const grades_2025[] = {"expected_standard", "strong_standard"};
    static const char *const areas_2019[] = {"quality_of_education", "behaviour_and_attitudes",
                                             "personal_development", "leadership_and_management"};
    static const char *const grades_2019[] = {"good", "good"};
    bool is2025 = strcmp(s->framework, "ofsted_2025") == 0;
    const char *const *areas = is2025 ? areas_2025 : areas_2019;
    size_t nareas = is2025 ? ARRAY_LEN(areas_2025) : ARRAY_LEN(areas_2019);
    json_t *a = json_object();
    for (size_t i = 0; i < nareas; i++) {
        const char *grade = (is2025 ? grades_2025 : grades_2019)[rng_next(rng) % 2];
        /* Achievement (2019: quality of education) carries the planted grade. */
        if (i == (is2025 ? 2u : 0u))
            grade = s->achievement;
        /* Strong leadership where the school is strong overall (rota balance needs some). */
        if (strstr(areas[i], "leadership") && s->effect >= 0.25)
            grade = is2025 ? "strong_standard" : "outstanding";
        json_object_set_new(
            a, areas[i],
            json_pack("{s:s, s:s, s:s, s:s}", "grade", grade, "strengths",
                      "Consistent routines and a well-sequenced curriculum.",
                      "areas_for_development",
                      "Extended writing across the curriculum; challenge for the most able.",
                      "evidence", "Lesson visits, book looks and pupil voice, autumn term."));
    }
    json_t *body = json_pack("{s:s, s:o}", "framework", s->framework, "areas", a);
    if (is2025)
        json_object_set_new(body, "safeguarding", json_string("met"));
    return body;
}

static json_t *sip_body(const struct demo_school *s)
{
    json_t *prios = json_array();
    struct {
        const char *ref, *title, *area, *t1, *t2;
        bool on;
    } plan[] = {
        {"P1", "Extended writing across the curriculum", "Quality of teaching: writing", "writing",
         NULL, s->writing_theme},
        {"P2", "Closing the disadvantaged gap in reading", "Inclusion: disadvantaged pupils",
         "disadvantaged", "reading", s->dis_extra > 0},
        {"P3", "Attendance of persistently absent pupils", "Attendance and behaviour", "attendance",
         "leadership", strcmp(s->urn, "140003") <= 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(plan); i++) {
        if (!plan[i].on)
            continue;
        json_t *row =
            json_pack("{s:s, s:s, s:s}", "action", "Termly CPD cycle led by the subject lead.",
                      "quantitative", "Expected+ up 8 points by July.", "qualitative",
                      "Pupils write at length with confidence.");
        json_t *planobj = json_object();
        static const char *const rows[] = {"vision",       "self_evaluation",
                                           "activity",     "performance_management",
                                           "heads_report", "assessment_and_review"};
        for (size_t k = 0; k < ARRAY_LEN(rows); k++)
            json_object_set(planobj, rows[k], row);
        json_decref(row);
        char m1[8], m2[8], sc[8];
        snprintf(m1, sizeof m1, "M%zu", 2 * i + 1);
        snprintf(m2, sizeof m2, "M%zu", 2 * i + 2);
        snprintf(sc, sizeof sc, "SC%zu", i + 1);
        /* Some milestones are overdue: due in the autumn and not complete. */
        bool lagging = s->effect < 0.1;
        json_t *milestones = json_pack(
            "[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]", "ref", m1,
            "description", "CPD sessions delivered to all teaching staff", "due", "2025-12-12",
            "owner", "Subject lead", "status", lagging ? "at_risk" : "complete", "evidence",
            lagging ? "" : "CPD register and evaluations", "ref", m2, "description",
            "Book scrutiny shows improvement in independent work", "due", "2026-03-27", "owner",
            "Deputy head", "status", lagging ? "off_track" : "on_track", "evidence", "");
        json_t *criteria =
            json_pack("[{s:s, s:s, s:s, s:f, s:f, s:s, s:s}]", "ref", sc, "description",
                      "Pupils at the expected standard", "metric", "pct_expected", "baseline", 0.58,
                      "target", 0.72, "due", "2026-07-01", "status", "in_progress");
        json_t *themes =
            plan[i].t2 ? json_pack("[s,s]", plan[i].t1, plan[i].t2) : json_pack("[s]", plan[i].t1);
        json_t *p = json_pack(
            "{s:s, s:s, s:s, s:o, s:i, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:[{s:s, s:s}], "
            "s:{s:[s,s], s:s, s:b, s:b, s:b, s:[], s:s}, s:s, s:{s:b, s:s, s:s, s:s}, "
            "s:{s:i, s:i, s:s}, s:o, s:o, s:o}",
            "ref", plan[i].ref, "title", plan[i].title, "area_of_practice", plan[i].area, "themes",
            themes, "ranking", (int)(i + 1), "identified_by", "SLT and governors from outcomes",
            "start_date", "2025-09-01", "final_review_date", "2026-07-15", "lead", "name",
            "J. Patel", "role", "Subject lead", "head_role", "facilitator", "team", "name",
            "K. Moss", "role", "Year 6 teacher", "pupil_groups", "year_groups", "5", "6", "sex",
            "all", "disadvantaged", 1, "send", 0, "eal", 0, "ethnic_groups", "other", "", "benefit",
            "Better teaching of the subject raises attainment for all pupils.", "governor_approval",
            "approved", 1, "body", "committee", "committee", "Standards", "date", "2025-10-02",
            "costs", "financial_gbp", 4500, "staff_days", 12, "notes", "Supply cover for CPD",
            "plan", planobj, "success_criteria", criteria, "milestones", milestones);
        if (!p)
            fatal("demo: bad SIP template");
        json_array_append_new(prios, p);
    }
    return json_pack("{s:[s], s:o}", "key_drivers",
                     "Secure significant progress for ALL pupils, including SEND and PP",
                     "priorities", prios);
}

static int load_documents(PGconn *pg, const char *trust, struct rng *rng)
{
    for (size_t i = 0; i < NSCHOOLS; i++) {
        const struct demo_school *s = &schools[i];
        json_t *sef = sef_body(s, rng);
        json_t *sip = sip_body(s);
        char *sef_text = json_dumps(sef, JSON_COMPACT | JSON_SORT_KEYS);
        char *sip_text = json_dumps(sip, JSON_COMPACT | JSON_SORT_KEYS);
        char sef_sha[65], sip_sha[65];
        sha256_hex(sef_text, strlen(sef_text), sef_sha);
        sha256_hex(sip_text, strlen(sip_text), sip_sha);
        const char *p1[5] = {trust, s->urn, sef_text, sef_sha, s->framework};
        const char *p2[4] = {trust, s->urn, sip_text, sip_sha};
        int rc = exec_ok(pg,
                         "WITH sub AS (INSERT INTO submissions (trust_id, urn, kind, year, "
                         " body_sha256, row_count, outcome, content_type) VALUES ($1, $2, 'sef', "
                         " '2025-26', $4, 1, 'accepted', 'application/json') RETURNING id) "
                         "INSERT INTO sef_versions (trust_id, urn, year, version, framework, "
                         " body, submission_id) SELECT $1, $2, '2025-26', 1, $5, $3::jsonb, id "
                         "FROM sub",
                         5, p1);
        rc |= exec_ok(pg,
                      "WITH sub AS (INSERT INTO submissions (trust_id, urn, kind, year, "
                      " body_sha256, row_count, outcome, content_type) VALUES ($1, $2, 'sip', "
                      " '2025-26', $4, 1, 'accepted', 'application/json') RETURNING id) "
                      "INSERT INTO sip_versions (trust_id, urn, year, version, body, "
                      " submission_id) SELECT $1, $2, '2025-26', 1, $3::jsonb, id FROM sub",
                      4, p2);
        const char *p3[3] = {trust, s->urn, "2025-26"};
        rc |= exec_ok(pg, "SELECT sip_refresh_monitoring($1, $2, $3)", 3, p3);
        free(sef_text);
        free(sip_text);
        json_decref(sef);
        json_decref(sip);
        if (rc)
            return -1;
    }
    return 0;
}

static void make_pupils(const struct demo_school *s, struct rng *rng, const unsigned char *secret,
                        size_t secret_len, struct pupil *out, int n)
{
    bool primary = strcmp(s->phase, "primary") == 0;
    for (int i = 0; i < n; i++) {
        struct pupil *p = &out[i];
        snprintf(p->ref, sizeof p->ref, "DEMO-%s-%04d", s->urn, i + 1);
        unsigned char key[16];
        pupil_key(secret, secret_len, p->ref, key);
        hex_encode(key, 16, p->key_hex);
        /* Primary: Years 1-5 in 2024-25 (2-6 in 2025-26); secondary: Years 7-10. */
        p->year_group = primary ? 1 + i % 5 : 7 + i % 4;
        /* The two schools with the planted gap serve poorer neighbourhoods. */
        p->dis = rng_unit(rng) < (s->dis_extra > 0 ? 0.3 : 0.25);
        p->eal = rng_unit(rng) < 0.18;
        p->lac = rng_unit(rng) < 0.02;
        double u = rng_unit(rng);
        p->send = u < 0.03 ? "ehcp" : u < 0.16 ? "support" : "none";
        p->sex = rng_unit(rng) < 0.5 ? "f" : "m";
        /* Ability persists term to term; the rest is noise (see load_progress), so a pupil
         * below expected this term is often, not always, below next term too. */
        p->ability = 0.6 * rng_normal(rng) + s->effect - (p->dis ? 0.15 + s->dis_extra : 0) -
                     (strcmp(p->send, "none") != 0 ? 0.5 : 0);
        p->prior = NULL; /* not sent: many MIS exports have no KS1 prior attainment */
    }
}

static int load_progress(PGconn *pg, const char *trust, struct rng *rng,
                         const unsigned char *secret, size_t secret_len, size_t *rows)
{
    for (size_t i = 0; i < NSCHOOLS; i++) {
        const struct demo_school *s = &schools[i];
        struct pupil *pupils = xcalloc((size_t)s->pupils, sizeof *pupils);
        make_pupils(s, rng, secret, secret_len, pupils, s->pupils);
        bool primary = strcmp(s->phase, "primary") == 0;
        const char *const *subjects = primary ? primary_subjects : secondary_subjects;
        size_t nsub = primary ? ARRAY_LEN(primary_subjects) : ARRAY_LEN(secondary_subjects);
        for (size_t t = 0; t < ARRAY_LEN(terms); t++) {
            struct strbuf copy;
            strbuf_init(&copy);
            size_t n = 0;
            for (int k = 0; k < s->pupils; k++) {
                struct pupil *p = &pupils[k];
                int yg = p->year_group + terms[t].yg_shift;
                double school_now = terms[t].this_year ? -s->decline : 0;
                for (size_t j = 0; j < nsub; j++) {
                    /* The decline (pattern 3) shows in writing and maths. */
                    double drop =
                        strcmp(subjects[j], "writing") == 0 || strcmp(subjects[j], "maths") == 0
                            ? school_now
                            : 0;
                    double z =
                        p->ability + subject_effect(subjects[j]) + drop + 0.75 * rng_normal(rng);
                    double att = 97.0 - fabs(rng_normal(rng)) * 3.0 - (p->dis ? 1.5 : 0);
                    strbuf_printf(
                        &copy,
                        "%s\t%s\t%s\t%s\t\\\\x%s\t%d\t%s\t%s\t\\N\t%.1f\t%s\t%s\t%s\t%s\t%s\t\\N\n",
                        trust, s->urn, terms[t].year, terms[t].term, p->key_hex, yg, subjects[j],
                        band_for(z), att, p->dis ? "t" : "f", p->send, p->eal ? "t" : "f",
                        p->lac ? "t" : "f", p->sex);
                    n++;
                }
            }
            char sha[65], count[24];
            sha256_hex(copy.data, copy.len, sha);
            snprintf(count, sizeof count, "%zu", n);
            PGresult *r = PQexec(pg, "COPY progress (trust_id, urn, year, term, pupil_key, "
                                     "year_group, subject, band, score, attendance_pct, "
                                     "disadvantaged, send, eal, looked_after, sex, "
                                     "prior_attainment) FROM STDIN");
            int ok = PQresultStatus(r) == PGRES_COPY_IN;
            PQclear(r);
            ok = ok && PQputCopyData(pg, copy.data, (int)copy.len) == 1 &&
                 PQputCopyEnd(pg, NULL) == 1;
            r = PQgetResult(pg);
            ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                fprintf(stderr, "matctl demo: COPY failed: %s", PQerrorMessage(pg));
            PQclear(r);
            strbuf_free(&copy);
            const char *sp[6] = {trust, s->urn, terms[t].year, terms[t].term, sha, count};
            if (!ok || exec_ok(pg,
                               "INSERT INTO submissions (trust_id, urn, kind, year, term, "
                               "body_sha256, row_count, outcome, content_type) VALUES ($1, $2, "
                               "'progress', $3, $4, $5, $6, 'accepted', 'text/csv')",
                               6, sp) != 0) {
                free(pupils);
                return -1;
            }
            *rows += n;
        }
        free(pupils);
    }
    return 0;
}

/* This year's triad rota, planned from the schools just loaded and published. */
static int load_rota(PGconn *pg, const char *trust)
{
    const char *plan_terms = "[{\"year\":\"2025-26\",\"term\":\"autumn\"},"
                             "{\"year\":\"2025-26\",\"term\":\"spring\"},"
                             "{\"year\":\"2025-26\",\"term\":\"summer\"}]";
    const char *pi[3] = {trust, plan_terms, "{\"phase\":\"prefer\",\"balance\":true}"};
    PGresult *in =
        PQexecParams(pg, "SELECT rota_planner_input($1, $2::jsonb, $3::jsonb, 2025)::text", 3, NULL,
                     pi, NULL, NULL, 0);
    if (PQresultStatus(in) != PGRES_TUPLES_OK) {
        fprintf(stderr, "matctl demo: %s", PQresultErrorMessage(in));
        PQclear(in);
        return -1;
    }
    char *plan = NULL;
    struct mat_errors errs;
    mat_errors_init(&errs);
    int rc =
        rota_service_plan(PQgetvalue(in, 0, 0), (size_t)PQgetlength(in, 0, 0), false, &plan, &errs);
    if (rc == 0) {
        const char *ps[4] = {trust, PQgetvalue(in, 0, 0), plan, NULL};
        PGresult *id = PQexecParams(pg, "SELECT rota_store($1, 'api', $2::jsonb, $3::jsonb, $4)", 4,
                                    NULL, ps, NULL, NULL, 0);
        rc = PQresultStatus(id) == PGRES_TUPLES_OK ? 0 : -1;
        if (rc == 0) {
            const char *pp[2] = {trust, PQgetvalue(id, 0, 0)};
            rc = exec_ok(pg,
                         "UPDATE rotas SET status = 'published', published_at = now() "
                         "WHERE trust_id = $1 AND id = $2",
                         2, pp) |
                 exec_ok(
                     pg,
                     "UPDATE rota_terms SET published = true WHERE trust_id = $1 AND rota_id = $2",
                     2, pp);
        } else {
            fprintf(stderr, "matctl demo: %s", PQresultErrorMessage(id));
        }
        PQclear(id);
    } else {
        fprintf(stderr, "matctl demo: cannot plan the rota: %s\n",
                errs.count ? errs.items[0].message : "?");
    }
    mat_errors_free(&errs);
    free(plan);
    PQclear(in);
    return rc;
}

int demo_load_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv)
{
    long seed = 2025;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc &&
            parse_long(argv[i + 1], 0, 1L << 40, &seed)) {
            i++;
            continue;
        }
        fprintf(stderr, "matctl demo load: unknown argument \"%s\" (usage: demo load [--seed N])\n",
                argv[i]);
        return 2;
    }
    unsigned char secret[256];
    size_t secret_len;
    char err[256];
    if (secret_load(cfg->secret_file, secret, sizeof secret, &secret_len, err, sizeof err) != 0) {
        fprintf(stderr, "matctl demo: %s\n", err);
        return 1;
    }
    char trust[24];
    snprintf(trust, sizeof trust, "%lld", trust_id);
    const char *tp[1] = {trust};
    PGresult *r = PQexecParams(pg, "SELECT count(*) FROM schools WHERE trust_id = $1", 1, NULL, tp,
                               NULL, NULL, 0);
    long existing = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (existing != 0) {
        fprintf(stderr,
                "matctl demo: the trust already has %ld schools; demo load needs an empty "
                "trust (it is already loaded, or use a fresh database)\n",
                existing);
        return 1;
    }
    struct rng rng = {(uint64_t)seed};
    if (exec_ok(pg, "BEGIN", 0, NULL) != 0)
        return 1;
    for (size_t i = 0; i < NSCHOOLS; i++) {
        const struct demo_school *s = &schools[i];
        char lat[32], lon[32], roll[16];
        snprintf(lat, sizeof lat, "%.4f", s->lat);
        snprintf(lon, sizeof lon, "%.4f", s->lon);
        snprintf(roll, sizeof roll, "%d", s->pupils);
        const char *p[10] = {trust,       s->urn,      s->name,
                             s->phase,    s->postcode, lat,
                             lon,         roll,        s->category ? "true" : "false",
                             "2019-09-01"};
        if (exec_ok(pg,
                    "INSERT INTO schools (trust_id, urn, name, phase, postcode, lat, lon, "
                    "pupils_on_roll, category, joined_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                    "$9, $10)",
                    10, p) != 0)
            return 1;
    }
    /* Term dates, and this year's benchmarks: last year's national figures until this
     * year's are published (what a trust admin would set). */
    const char *y[1] = {trust};
    if (exec_ok(pg,
                "INSERT INTO terms (trust_id, year, autumn, spring, summer) VALUES "
                "($1, '2024-25', '2024-09-03', '2025-01-06', '2025-04-22'), "
                "($1, '2025-26', '2025-09-02', '2026-01-05', '2026-04-20'), "
                "($1, '2026-27', '2026-09-01', '2027-01-04', '2027-04-12')",
                1, y) != 0 ||
        exec_ok(pg,
                "INSERT INTO benchmarks (trust_id, year, subject, grp, expected, greater_depth) "
                "SELECT $1, '2025-26', subject, grp, expected, greater_depth "
                "FROM national_benchmarks WHERE year = '2024-25'",
                1, y) != 0 ||
        exec_ok(pg, "INSERT INTO benchmark_years (trust_id, year) VALUES ($1, '2025-26')", 1, y) !=
            0)
        return 1;
    if (load_documents(pg, trust, &rng) != 0)
        return 1;
    size_t rows = 0;
    if (load_progress(pg, trust, &rng, secret, secret_len, &rows) != 0)
        return 1;
    if (load_rota(pg, trust) != 0 || demo_experts_load(pg, trust) != 0 ||
        exec_ok(pg, "COMMIT", 0, NULL) != 0)
        return 1;
    fprintf(stderr,
            "matctl demo: loaded %zu schools, SEFs and SIPs for 2025-26, %zu progress records "
            "over 4 terms (2024-25 spring to 2025-26 spring), seed %ld\n",
            NSCHOOLS, rows, seed);
    return 0;
}
