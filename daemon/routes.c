/* The route table: every path matd serves, who may call it, and what body it takes.
 * proto/openapi.yaml documents each row; tests/e2e/test_openapi.py checks they agree. */
#include "handlers.h"
#include "request.h"

#define DEF(name, handler, access, body, schema)                                                   \
    (&(const struct route_def){handler, access, body, schema, name})

const struct route routes[] = {
    {M_GET, "/healthz", DEF("healthz", h_healthz, ACCESS_PUBLIC, BODY_NONE, NULL)},
    {M_GET, "/readyz", DEF("readyz", h_readyz, ACCESS_PUBLIC, BODY_NONE, NULL)},
    {M_GET, "/metrics", DEF("metrics", h_metrics, ACCESS_PUBLIC, BODY_NONE, NULL)},
    {M_GET, "/v1/me", DEF("me", h_me, ACCESS_ANY, BODY_NONE, NULL)},
    {M_GET, "/v1/tokens", DEF("tokens_list", h_tokens_list, ACCESS_ADMIN, BODY_NONE, NULL)},
    {M_POST, "/v1/tokens",
     DEF("tokens_create", h_tokens_create, ACCESS_ADMIN, BODY_JSON, "token_create.json")},
    {M_DELETE, "/v1/tokens/{id}",
     DEF("tokens_revoke", h_tokens_revoke, ACCESS_ADMIN, BODY_NONE, NULL)},
    {M_GET, "/v1/audit", DEF("audit_list", h_audit_list, ACCESS_ADMIN, BODY_NONE, NULL)},
    {M_GET, "/v1/schools", DEF("schools_list", h_schools_list, ACCESS_ANY, BODY_NONE, NULL)},
    {M_POST, "/v1/schools",
     DEF("schools_create", h_schools_create, ACCESS_ADMIN, BODY_JSON, "school_create.json")},
    {M_GET, "/v1/schools/{urn}",
     DEF("schools_get", h_schools_get, ACCESS_SCHOOL_READ, BODY_NONE, NULL)},
    {M_PATCH, "/v1/schools/{urn}",
     DEF("schools_patch", h_schools_patch, ACCESS_ADMIN, BODY_JSON, "school_patch.json")},
};
const size_t nroutes = sizeof routes / sizeof routes[0];
