/* Fuzzes the streaming JSON reader against jansson (the reader's contract is to accept exactly
 * what json_loadb accepts with JSON_DECODE_ANY | JSON_REJECT_DUPLICATES): on valid UTF-8 the
 * two must agree on the verdict and, when they accept, on the value. A bare token walk must
 * end cleanly on whatever the builder accepts, and never run past the input. Inputs with a NUL
 * byte are left out of the comparison (see below). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct json_stream js;
    /* The tokens alone: a bounded walk to END or ERROR. */
    json_stream_init(&js, s, size);
    size_t steps = 0;
    enum json_tok t;
    bool walk_ok;
    while ((t = json_stream_next(&js)) != JSON_TOK_END && t != JSON_TOK_ERROR)
        if (++steps > size + 1 || js.pos > size)
            abort();
    walk_ok = t == JSON_TOK_END;
    json_stream_free(&js);

    json_stream_init(&js, s, size);
    json_t *mine = NULL;
    bool built = json_stream_build(&js, json_stream_next(&js), &mine) == 0 &&
                 json_stream_next(&js) == JSON_TOK_END;
    json_stream_free(&js);
    if (built && !walk_ok)
        abort(); /* the builder only adds the duplicate-key check */
    /* jansson drops a NUL byte that directly follows a number or a word ("5\0" reads as 5: its
     * reader takes NUL for the end of its look-ahead buffer); this reader refuses every NUL. */
    if (schema_utf8_valid(s, size, NULL) && !memchr(s, '\0', size)) {
        json_error_t err;
        json_t *ref = json_loadb(s, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        if ((ref != NULL) != built)
            abort();
        if (ref && !json_equal(ref, mine))
            abort();
        json_decref(ref);
    }
    json_decref(mine);
    return 0;
}
