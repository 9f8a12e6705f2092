/* Opaque paging cursors: a keyset position ("the last key served") wrapped so clients
 * treat it as a token, not a number to do arithmetic on. Pure. */
#ifndef MATD_CURSOR_H
#define MATD_CURSOR_H
#include <stddef.h>

/* Returns an owned cursor string for key. */
char *cursor_encode(const char *key);
/* Decodes into out; returns -1 for anything that is not a cursor we made. */
int cursor_decode(const char *cursor, char *out, size_t outlen);

#endif
