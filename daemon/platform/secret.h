/* The trust secret (key of the pupil-reference HMAC): read from a file at start. */
#ifndef MATD_SECRET_H
#define MATD_SECRET_H
#include <stddef.h>

#define SECRET_MIN_BYTES 32

/* Reads at most cap bytes (trailing newline trimmed). Refuses (-1 with err filled) a file
 * that is not regular, is open to group or others, or holds under SECRET_MIN_BYTES. */
int secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err,
                size_t errlen);
/* Creates path (mode 600, never overwriting) holding 32 random bytes as 64 hex digits. */
int secret_init_file(const char *path, char *err, size_t errlen);

#endif
