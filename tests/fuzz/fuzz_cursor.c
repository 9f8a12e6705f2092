/* Fuzzes paging cursors, which arrive from any client: decoding never overruns, and a
 * cursor that decodes re-encodes to a cursor that decodes to the same key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    char key[128], again[128];
    if (cursor_decode(text, key, sizeof key) == 0) {
        if (strnlen(key, sizeof key) == sizeof key)
            abort(); /* not terminated */
        char *enc = cursor_encode(key);
        if (cursor_decode(enc, again, sizeof again) != 0 || strcmp(key, again) != 0)
            abort(); /* round trip */
        free(enc);
    }
    free(text);
    return 0;
}
