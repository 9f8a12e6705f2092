/* SEF and SIP: one versioned-document mechanism for both. A PUT records a submission and
 * a new version (latest wins, history kept); an identical re-PUT is a no-op answering the
 * original submission. The SIP's milestones and success criteria feed the monitoring
 * schedule (h_sip.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "handlers.h"
#include "http_server.h"
#include "termly.h"
#include "util.h"

enum doc_kind { DOC_SEF, DOC_SIP };

static const char *const kind_name[] = {"sef", "sip"};
static int stmt_put[2], stmt_get[2], stmt_history[2], stmt_sip_refresh;

/* The versioned put, one statement per kind (table names cannot be parameters). */
/* The versioned put, one statement per kind (table names cannot be parameters). The put
 * is a no-op only when the latest version is the very submission being repeated: after a
 * PATCH (a version without a submission) re-sending the document restores it. */
#define DOC_PUT_SQL(kind, table, extra_cols, extra_vals)                                           \
    "WITH latest AS (SELECT v.version, v.submission_id FROM " table " v WHERE v.trust_id = $1 "    \
    " AND v.urn = $2 AND v.year = $3 ORDER BY v.version DESC LIMIT 1), "                           \
    "same AS (SELECT s.id, latest.version FROM latest JOIN submissions s ON s.trust_id = $1 "      \
    " AND s.id = latest.submission_id WHERE s.body_sha256 = $5), "                                 \
    "sub AS (INSERT INTO submissions (trust_id, urn, kind, year, principal_id, body_sha256, "      \
    " row_count, outcome, content_type) SELECT $1, $2, '" kind "', $3, $6, $5, 1, 'accepted', "    \
    " 'application/json' WHERE NOT EXISTS (SELECT 1 FROM same) "                                   \
    " RETURNING id, submission_json(submissions.*) AS doc), "                                      \
    "ver AS (INSERT INTO " table " (trust_id, urn, year, version, body, submission_id, "           \
    " principal_id" extra_cols ") SELECT $1, $2, $3, coalesce((SELECT version FROM latest), 0) "   \
    " + 1, $4::jsonb, sub.id, $6" extra_vals " FROM sub RETURNING version) "                       \
    "SELECT coalesce((SELECT doc FROM sub), (SELECT submission_json(s) FROM submissions s, same "  \
    " WHERE s.trust_id = $1 AND s.id = same.id))::text, "                                          \
    " coalesce((SELECT version FROM ver), (SELECT version FROM same)), "                           \
    " EXISTS (SELECT 1 FROM same)"

#define DOC_GET_SQL(table, extra)                                                                  \
    "SELECT json_build_object('school', urn, 'year', year, 'version', version, "                   \
    " 'received_at', received_at, 'submission_id', submission_id" extra                            \
    ", 'document', body)::text FROM " table " WHERE trust_id = $1 AND urn = $2 AND year = $3 "     \
    "ORDER BY version DESC LIMIT 1"

/* No row at all when the school is not registered (404); else the list, maybe empty. */
#define DOC_HISTORY_SQL(table, extra)                                                              \
    "SELECT (SELECT coalesce(json_agg(json_build_object('year', year, 'version', version, "        \
    " 'received_at', received_at, 'submission_id', submission_id, 'principal_id', "                \
    " principal_id" extra ") ORDER BY year DESC, version DESC), '[]') FROM " table                 \
    " v WHERE v.trust_id = $1 AND v.urn = $2)::text FROM schools s "                               \
    "WHERE s.trust_id = $1 AND s.urn = $2"

void h_documents_init(void)
{
    stmt_put[DOC_SEF] = db_stmt_register(
        "sef_put", DOC_PUT_SQL("sef", "sef_versions", ", framework", ", $4::jsonb->>'framework'"));
    stmt_put[DOC_SIP] = db_stmt_register("sip_put", DOC_PUT_SQL("sip", "sip_versions", "", ""));
    stmt_get[DOC_SEF] =
        db_stmt_register("sef_get", DOC_GET_SQL("sef_versions", ", 'framework', framework"));
    stmt_get[DOC_SIP] =
        db_stmt_register("sip_get", DOC_GET_SQL("sip_versions", ", 'change', change"));
    stmt_history[DOC_SEF] = db_stmt_register(
        "sef_history", DOC_HISTORY_SQL("sef_versions", ", 'framework', framework"));
    stmt_history[DOC_SIP] =
        db_stmt_register("sip_history", DOC_HISTORY_SQL("sip_versions", ", 'change', change"));
    stmt_sip_refresh = db_stmt_register("sip_refresh", "SELECT sip_refresh_monitoring($1, $2, $3)");
}

static void on_put(struct req *r, struct db_job *job)
{
    if (db_job_status(job) == DB_ERROR && strcmp(db_job_sqlstate(job), "23503") == 0) {
        req_reply_problem(r, 404, "no such school in this trust", NULL);
        return;
    }
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, REQ_LOCKED_FIRST);
    const char *doc = db_val(res, 0, 0);
    bool unchanged = strcmp(db_val(res, 0, 2), "t") == 0;
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_printf(&sb, "{\"submission\":%s,\"version\":%s,\"unchanged\":%s}", doc,
                  db_val(res, 0, 1) ? db_val(res, 0, 1) : "null", unchanged ? "true" : "false");
    req_reply_bytes(r, unchanged ? 200 : 201, "application/json; charset=utf-8", sb.data, sb.len);
    strbuf_free(&sb);
}

/* Records ref in the set; false when it was there already (a duplicate). */
static bool first_use(json_t *set, const char *ref)
{
    if (!ref || json_object_get(set, ref))
        return !ref;
    json_object_set_new(set, ref, json_true());
    return true;
}

/* A priority's themes come from the trust's vocabulary ([trust] themes): the shared-theme
 * priority (SPEC 6) compares them across schools, so "math" must not pass for "maths". */
static void themes_known(const struct config *cfg, json_t *priority, size_t i,
                         struct mat_errors *errs)
{
    size_t j;
    json_t *theme;
    json_array_foreach(json_object_get(priority, "themes"), j, theme)
    {
        if (config_vocabulary_has(cfg->theme_list, cfg->nthemes, json_string_value(theme)))
            continue;
        char path[64];
        snprintf(path, sizeof path, "/priorities/%zu/themes/%zu", i, j);
        struct strbuf known;
        strbuf_init(&known);
        for (size_t k = 0; k < cfg->nthemes; k++)
            strbuf_printf(&known, "%s%s", k ? ", " : "", cfg->theme_list[k]);
        mat_errors_add(errs, path, "theme \"%s\" is not one of the trust's themes: %s",
                       json_string_value(theme), known.data);
        strbuf_free(&known);
    }
}

/* Rules the schema cannot say about a SIP: refs unique (however many), dates in order, themes
 * from the trust's vocabulary. */
static bool sip_rules_ok(struct req *r)
{
    struct mat_errors errs;
    mat_errors_init(&errs);
    json_t *prios = json_object_get(r->json, "priorities");
    json_t *seen_p = json_object(), *seen[2] = {json_object(), json_object()};
    size_t i;
    json_t *p;
    json_array_foreach(prios, i, p)
    {
        char path[96];
        const char *ref = json_string_value(json_object_get(p, "ref"));
        themes_known(&r->w->server->cfg, p, i, &errs);
        if (!first_use(seen_p, ref)) {
            snprintf(path, sizeof path, "/priorities/%zu/ref", i);
            mat_errors_add(&errs, path, "priority ref \"%s\" is used twice", ref);
        }
        const char *start = json_string_value(json_object_get(p, "start_date"));
        const char *end = json_string_value(json_object_get(p, "final_review_date"));
        if (start && end && strcmp(end, start) < 0) {
            snprintf(path, sizeof path, "/priorities/%zu/final_review_date", i);
            mat_errors_add(&errs, path, "final_review_date (%s) is before start_date (%s)", end,
                           start);
        }
        static const char *const lists[2] = {"milestones", "success_criteria"};
        for (int l = 0; l < 2; l++) {
            size_t j;
            json_t *item;
            json_array_foreach(json_object_get(p, lists[l]), j, item)
            {
                const char *iref = json_string_value(json_object_get(item, "ref"));
                if (!first_use(seen[l], iref)) {
                    snprintf(path, sizeof path, "/priorities/%zu/%s/%zu/ref", i, lists[l], j);
                    mat_errors_add(&errs, path,
                                   "ref \"%s\" is used twice in this plan (refs address PATCH "
                                   "updates, so they must be unique)",
                                   iref);
                }
            }
        }
    }
    json_decref(seen_p);
    json_decref(seen[0]);
    json_decref(seen[1]);
    if (errs.count) {
        req_reply_problem(r, 422, "the plan breaks a rule", &errs);
        mat_errors_free(&errs);
        return false;
    }
    mat_errors_free(&errs);
    return true;
}

static void doc_put(struct req *r, enum doc_kind kind)
{
    const char *urn = req_param(r, "urn");
    const char *year = req_param(r, "year");
    if (!req_year_ok(r, year))
        return;
    if (kind == DOC_SIP && !sip_rules_ok(r))
        return;
    /* The canonical form (sorted keys) makes the idempotency hash independent of spacing. */
    char *body = json_dumps(r->json, JSON_COMPACT | JSON_SORT_KEYS);
    char sha[65], trust[24], principal[24], lock[96];
    sha256_hex(body, strlen(body), sha);
    snprintf(trust, sizeof trust, "%lld", req_trust(r));
    snprintf(principal, sizeof principal, "%lld", r->principal.token_id);
    snprintf(lock, sizeof lock, "%s:%s:%s:%s", kind_name[kind], trust, urn, year);
    const char *params[6] = {trust, urn, year, body, sha, principal};
    const char *refresh[3] = {trust, urn, year};
    struct db_job *job = req_locked_job(lock);
    db_job_add(job, stmt_put[kind], 6, params);
    if (kind == DOC_SIP)
        db_job_add(job, stmt_sip_refresh, 3, refresh);
    free(body);
    req_submit_locked(r, job, on_put);
}

static void doc_get(struct req *r, enum doc_kind kind)
{
    const char *year = req_param(r, "year");
    if (!req_year_ok(r, year))
        return;
    const char *trust = req_trust_str(r);
    const char *params[3] = {trust, req_param(r, "urn"), year};
    req_submit_get(r, stmt_get[kind], 3, params, "no such document for this school and year");
}

static void on_history(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    if (db_nrows(db_job_result(job, 0)) != 1) {
        req_reply_problem(r, 404, "no school with this URN is registered", NULL);
        return;
    }
    req_reply_page(r, db_val(db_job_result(job, 0), 0, 0), 0, 1, NULL);
}

static void doc_history(struct req *r, enum doc_kind kind)
{
    const char *trust = req_trust_str(r);
    const char *params[2] = {trust, req_param(r, "urn")};
    req_submit_one(r, stmt_history[kind], 2, params, on_history);
}

/* The SEF and SIP routes share these handlers; the route's name says which document. */
static enum doc_kind kind_of(const struct req *r)
{
    return strncmp(r->def->name, "sef", 3) == 0 ? DOC_SEF : DOC_SIP;
}

void h_document_put(struct req *r)
{
    doc_put(r, kind_of(r));
}

void h_document_get(struct req *r)
{
    doc_get(r, kind_of(r));
}

void h_document_history(struct req *r)
{
    if (!req_page_whole(r))
        return;
    doc_history(r, kind_of(r));
}
