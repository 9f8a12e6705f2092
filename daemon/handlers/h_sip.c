/* SIP follow-up: PATCH of a milestone's or success criterion's status and evidence (a new
 * SIP version, so the history shows who changed what), and the monitoring schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "handlers.h"
#include "termly.h"
#include "util.h"

static int stmt_patch[2], stmt_refresh, stmt_monitoring;

/* Finds the item by ref in the latest version, merges the patch into it, stores the
 * result as a new version and answers the updated item. */
#define SIP_PATCH_SQL(list)                                                                        \
    "WITH cur AS (SELECT version, body FROM sip_versions WHERE trust_id = $1 AND urn = $2 "        \
    " AND year = $3 ORDER BY version DESC LIMIT 1), "                                              \
    "hit AS (SELECT ARRAY['priorities', (p.i - 1)::text, '" list "', (m.j - 1)::text] AS path, "   \
    " m.v || $5::jsonb AS item FROM cur, jsonb_array_elements(cur.body->'priorities') "            \
    " WITH ORDINALITY p(v, i), jsonb_array_elements(coalesce(p.v->'" list "', '[]')) "             \
    " WITH ORDINALITY m(v, j) WHERE m.v->>'ref' = $4 LIMIT 1), "                                   \
    "ins AS (INSERT INTO sip_versions (trust_id, urn, year, version, body, principal_id, change) " \
    " SELECT $1, $2, $3, cur.version + 1, jsonb_set(cur.body, hit.path, hit.item), $6, "           \
    " 'patch " list " ' || $4 FROM cur, hit RETURNING version) "                                   \
    "SELECT hit.item::text, ins.version FROM hit, ins"

void h_sip_init(void)
{
    stmt_patch[0] = db_stmt_register("sip_patch_milestone", SIP_PATCH_SQL("milestones"));
    stmt_patch[1] = db_stmt_register("sip_patch_criterion", SIP_PATCH_SQL("success_criteria"));
    stmt_refresh =
        db_stmt_register("sip_patch_refresh", "SELECT sip_refresh_monitoring($1, $2, $3)");
    /* Overdue first, then by due date; offset paging (the order is not a unique key). */
    stmt_monitoring = db_stmt_register(
        "monitoring_list",
        "SELECT coalesce(json_agg(json_build_object('school', urn, 'year', year, 'source', "
        " source, 'ref', ref, 'priority_ref', priority_ref, 'description', description, 'due', "
        " due, 'owner', owner, 'status', status, 'evidence', evidence, 'overdue', overdue) "
        " ORDER BY n), '[]')::text, count(*) FROM (SELECT m.*, "
        " coalesce(NOT m.done AND m.due < current_date, false) AS overdue, row_number() OVER "
        "(ORDER BY "
        "  coalesce(NOT m.done AND m.due < current_date, false) DESC, m.due NULLS LAST, m.urn, "
        "m.source, m.ref) "
        "AS n "
        " FROM monitoring_items m WHERE m.trust_id = $1 "
        "  AND ($2::text[] IS NULL OR m.urn = ANY($2::text[])) AND ($3::text IS NULL OR m.urn = "
        "$3) "
        "  AND ($4::text IS NULL OR m.status = $4) AND ($5::date IS NULL OR m.due >= $5) "
        "  AND ($6::date IS NULL OR m.due <= $6) AND ($7::bool IS NULL OR "
        "   coalesce(NOT m.done AND m.due < current_date, false) = $7) AND ($8::text IS NULL OR "
        "m.year = $8) "
        " ORDER BY n OFFSET $9 LIMIT $10) t");
}

static void on_patched(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, REQ_LOCKED_FIRST);
    if (db_nrows(res) != 1) {
        bool criterion = strstr(r->path, "/success-criteria/") != NULL;
        req_reply_field_error(r, 404, "ref", "no %s with ref \"%s\" in this school's %s plan",
                              criterion ? "success criterion" : "milestone", req_param(r, "ref"),
                              req_param(r, "year"));
        return;
    }
    const char *item = db_val(res, 0, 0);
    req_reply_json_text(r, 200, item);
}

static void sip_patch(struct req *r, int which)
{
    const char *urn = req_param(r, "urn"), *year = req_param(r, "year");
    if (!req_year_ok(r, year))
        return;
    if (json_object_size(r->json) == 0) {
        req_reply_field_error(r, 422, "", "send status and/or evidence");
        return;
    }
    r->hstate = NULL;
    r->hstate_free = NULL;
    char *patch = json_dumps(r->json, JSON_COMPACT);
    const char *trust = req_trust_str(r);
    char principal[24], lock[96];
    snprintf(principal, sizeof principal, "%lld", r->principal.token_id);
    snprintf(lock, sizeof lock, "sip:%s:%s:%s", trust, urn, year);
    const char *params[6] = {trust, urn, year, req_param(r, "ref"), patch, principal};
    const char *refresh[3] = {trust, urn, year};
    struct db_job *job = req_locked_job(lock);
    db_job_add(job, stmt_patch[which], 6, params);
    db_job_add(job, stmt_refresh, 3, refresh);
    free(patch);
    req_submit_locked(r, job, on_patched);
}

void h_sip_patch_milestone(struct req *r)
{
    sip_patch(r, 0);
}

void h_sip_patch_criterion(struct req *r)
{
    sip_patch(r, 1);
}

struct monitoring_state {
    long limit, offset;
};

static void on_monitoring(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    struct monitoring_state *st = r->hstate;
    PGresult *res = db_job_result(job, 0);
    char next[24];
    snprintf(next, sizeof next, "%ld", st->offset + st->limit);
    req_reply_page(r, db_val(res, 0, 0), atol(db_val(res, 0, 1)), st->limit, next);
}

static const char *const milestone_statuses[] = {"not_started", "on_track",      "at_risk",
                                                 "off_track",   "complete",      "in_progress",
                                                 "not_met",     "partially_met", "met"};

void h_monitoring(struct req *r)
{
    struct req_page pg;
    long offset;
    if (!req_page_open(r, "0", true, &pg))
        return;
    if (!parse_long(pg.after, 0, 100000000, &offset)) {
        req_reply_field_error(r, 422, "cursor", "cursor is not one this server issued");
        return;
    }
    const char *school = req_query(r, "school"), *status = req_query(r, "status");
    const char *from = req_query(r, "due_from"), *to = req_query(r, "due_to");
    const char *overdue = req_query(r, "overdue"), *year = req_query(r, "year");
    if (!req_school_filter_ok(r, school))
        return;
    bool status_ok = !status;
    for (size_t i = 0; status && i < ARRAY_LEN(milestone_statuses); i++)
        status_ok |= strcmp(status, milestone_statuses[i]) == 0;
    if (!status_ok) {
        req_reply_field_error(r, 422, "status", "status is not a milestone or criterion status");
        return;
    }
    if ((from && !parse_date(from, NULL, NULL, NULL)) ||
        (to && !parse_date(to, NULL, NULL, NULL))) {
        req_reply_field_error(r, 422,
                              from && !parse_date(from, NULL, NULL, NULL) ? "due_from" : "due_to",
                              "dates are YYYY-MM-DD");
        return;
    }
    if (overdue && strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0) {
        req_reply_field_error(r, 422, "overdue", "overdue is true or false");
        return;
    }
    if (year && !academic_year_valid(year)) {
        req_reply_field_error(r, 422, "year", "year must be an academic year like 2025-26");
        return;
    }
    const char *scope = req_scope_urns(r);
    struct monitoring_state *st = xcalloc(1, sizeof *st);
    st->limit = pg.limit;
    st->offset = offset;
    r->hstate = st;
    r->hstate_free = free;
    const char *trust = req_trust_str(r);
    char off[24];
    snprintf(off, sizeof off, "%ld", offset);
    const char *params[10] = {trust, scope,   school, status, from,
                              to,    overdue, year,   off,    pg.limit_text};
    struct db_job *job = db_job_new(NULL, NULL);
    db_job_add(job, stmt_monitoring, 10, params);
    req_submit(r, job, on_monitoring);
}
