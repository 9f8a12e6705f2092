/* Opaque paging cursors: a keyset position ("the last key served") wrapped so clients
 * treat it as a token, not a number to do arithmetic on. Pure. */
#ifndef MATD_CURSOR_H
#define MATD_CURSOR_H
#include <stddef.h>

/* Every key is a decimal number (an id, a URN or an offset) of at most 19 digits. */
#define CURSOR_MAX_KEY 19
#define CURSOR_MAX_CHARS 32

/* Returns an owned cursor string for key. */
char *cursor_encode(const char *key);
/* Decodes into out; returns -1 for anything that is not a cursor we made: canonical
 * unpadded base64url of "c1:" and 1-19 decimal digits, nothing else. */
int cursor_decode(const char *cursor, char *out, size_t outlen);

#endif
