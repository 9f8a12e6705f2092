/* Fuzzes the rota planner's input parser (matctl rota plan and POST /v1/rotas share it):
 * any bytes either parse into an input whose every group and school reference is in
 * range, or fail with at least one error naming where. Nothing is planned: the planner's
 * budgets are counted in work, and the parser is what faces clients. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "errors.h"
#include "rota.h"
#include "rota_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rota_input in;
    struct mat_errors errs;
    mat_errors_init(&errs);
    int rc = rota_json_parse_input((const char *)data, size, &in, &errs);
    if (rc == 0) {
        if (errs.count != 0)
            abort(); /* success with errors */
        rota_input_free(&in);
    } else if (errs.count == 0 && errs.dropped == 0) {
        abort(); /* a refusal must say why */
    }
    mat_errors_free(&errs);
    return 0;
}
