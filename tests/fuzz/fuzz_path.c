/* Fuzzes request-path matching and percent-decoding against a table shaped like matd's
 * (literal segments, parameters, shared patterns with several methods): any path is
 * found, not found, or 405 with an Allow list, and every captured value is a decoded,
 * terminated string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct route table[] = {
    {M_GET, "/healthz", NULL},
    {M_GET, "/v1/schools", NULL},
    {M_POST, "/v1/schools", NULL},
    {M_GET, "/v1/schools/{urn}", NULL},
    {M_PATCH, "/v1/schools/{urn}", NULL},
    {M_PUT, "/v1/schools/{urn}/sef/{year}", NULL},
    {M_GET, "/v1/schools/{urn}/sef/{year}", NULL},
    {M_PUT, "/v1/schools/{urn}/progress/{year}/{term}", NULL},
    {M_PATCH, "/v1/schools/{urn}/sip/{year}/milestones/{ref}", NULL},
    {M_PUT, "/v1/rotas/{id}/triads/{triad}/reviews/{urn}", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const int methods[] = {M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS};
    int method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    char *path = xstrndup((const char *)data + 1, size - 1);
    struct route_match m;
    memset(&m, 0, sizeof m);
    enum route_result rr = router_match(table, sizeof table / sizeof table[0], method, path, &m);
    if (rr == ROUTE_FOUND) {
        if (!m.route || m.nparams < 0 || m.nparams > ROUTER_MAX_PARAMS)
            abort();
        for (int i = 0; i < m.nparams; i++) {
            /* names point into the pattern, up to its closing brace */
            const char *end = m.names[i] ? strchr(m.names[i], '}') : NULL;
            if (!end || !m.values[i] || strchr(m.values[i], '/'))
                abort();
            char *name = xstrndup(m.names[i], (size_t)(end - m.names[i]));
            if (route_param(&m, name) == NULL)
                abort();
            free(name);
        }
    } else if (rr == ROUTE_METHOD_NOT_ALLOWED) {
        if (!memchr(m.allow, '\0', sizeof m.allow) || !m.allow[0])
            abort();
    }
    route_match_free(&m);
    free(path);
    return 0;
}
