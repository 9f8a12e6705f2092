/* Fuzzes the configuration parser (INI text, then bounds): any text either loads into a
 * configuration that passes its own validation again, or fails with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    struct config cfg;
    config_defaults(&cfg);
    char err[256] = "";
    int rc = config_load_string(&cfg, text, NULL, err, sizeof err);
    if (rc != 0 && !err[0])
        abort(); /* a refusal must name the problem */
    config_free(&cfg);
    free(text);
    return 0;
}
