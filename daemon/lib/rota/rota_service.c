/* The planner behind the API, the scheduler, the demo and `matctl rota plan`: libmat's
 * rota planner (lib/rota/) through its JSON contract (rota_json.c). */
#include "rota_service.h"

#include "rota.h"
#include "rota_json.h"

int rota_service_plan(const char *input_json, size_t len, bool strict, char **plan_json,
                      struct mat_errors *errs)
{
    unsigned flags = ROTA_JSON_PREVIOUS | (strict ? 0u : ROTA_JSON_LENIENT_HISTORY);
    struct rota_options opt;
    rota_options_default(&opt);
    opt.no_recognise = true; /* matd drafts from the cycle it keeps with the rota */
    return rota_json_run(input_json, len, flags, &opt, false, plan_json, errs);
}
