/* The planner behind the API, the scheduler, the demo and `matctl rota plan`: libmat's
 * rota planner (daemon/rota.c) through its JSON contract (daemon/rota_json.c). */
#include "rota_service.h"

#include "rota_json.h"

int rota_service_plan(const char *input_json, size_t len, bool strict, char **plan_json,
                      struct mat_errors *errs)
{
    unsigned flags = ROTA_JSON_PREVIOUS | (strict ? 0u : ROTA_JSON_LENIENT_HISTORY);
    return rota_json_run(input_json, len, flags, NULL, false, plan_json, errs);
}
