/* Import profiles (SPEC 4.3): PUT and GET /v1/import-profiles/{name}, admin only. A
 * profile is checked twice before it is stored - its JSON Schema (request layer) and the
 * rules of import_profile.c - so a push that names it can rely on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "import_profile.h"
#include "util.h"

static int stmt_profile_put, stmt_profile_get;

void h_import_profiles_init(void)
{
    stmt_profile_put = db_stmt_register(
        "import_profile_put",
        "INSERT INTO import_profiles AS p (trust_id, name, body) VALUES ($1, $2, $3::jsonb) "
        "ON CONFLICT (trust_id, name) DO UPDATE SET body = EXCLUDED.body, updated_at = now() "
        "RETURNING json_build_object('name', p.name, 'profile', p.body, 'updated_at', "
        " p.updated_at)::text, p.xmax = 0");
    stmt_profile_get = db_stmt_register(
        "import_profile_get",
        "SELECT json_build_object('name', p.name, 'profile', p.body, 'updated_at', "
        " p.updated_at)::text FROM import_profiles p WHERE p.trust_id = $1 AND p.name = $2");
}

bool h_import_profile_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

static bool name_param_ok(struct req *r, const char *name)
{
    if (h_import_profile_name_ok(name))
        return true;
    req_reply_field_error(r, 422, "name",
                          "a profile name is 1-64 lower-case letters, digits, '_' or '-', "
                          "starting with a letter or digit");
    return false;
}

static void on_put(struct req *r, struct db_job *job)
{
    if (req_reply_db_failure(r, job))
        return;
    PGresult *res = db_job_result(job, 0);
    bool created = strcmp(db_val(res, 0, 1), "t") == 0;
    req_reply_json_text(r, created ? 201 : 200, db_val(res, 0, 0));
}

void h_import_profile_put(struct req *r)
{
    const char *name = req_param(r, "name");
    if (!name_param_ok(r, name))
        return;
    struct mat_errors errs;
    mat_errors_init(&errs);
    struct import_profile *p = NULL;
    if (import_profile_parse(r->json, &p, &errs) != 0) {
        req_reply_problem(r, 422, "the import profile is not valid; nothing was stored", &errs);
        mat_errors_free(&errs);
        return;
    }
    import_profile_free(p);
    mat_errors_free(&errs);
    char *body = json_dumps(r->json, JSON_COMPACT);
    const char *params[3] = {req_trust_str(r), name, body};
    req_submit_one(r, stmt_profile_put, 3, params, on_put);
    free(body);
}

void h_import_profile_get(struct req *r)
{
    const char *name = req_param(r, "name");
    if (!name_param_ok(r, name))
        return;
    const char *params[2] = {req_trust_str(r), name};
    req_submit_get(r, stmt_profile_get, 2, params, "no import profile by that name");
}
