/* Opaque paging cursors: a keyset position ("the last key served") wrapped so clients
 * treat it as a token, not a number to do arithmetic on. Pure. */
#ifndef MATD_CURSOR_H
#define MATD_CURSOR_H
#include <stddef.h>

/* A key is an identifier of at most 64 letters, digits, '_' or '-' (ids, URNs, offsets,
 * the trust's expert ids): nothing that could end a log value or forge a field. */
#define CURSOR_MAX_KEY 64
#define CURSOR_MAX_CHARS 92

/* Returns an owned cursor string for key. */
char *cursor_encode(const char *key);
/* Decodes into out; returns -1 for anything that is not a cursor we made: canonical
 * unpadded base64url of "c1:" and 1-64 characters of [A-Za-z0-9_-], nothing else. */
int cursor_decode(const char *cursor, char *out, size_t outlen);

#endif
