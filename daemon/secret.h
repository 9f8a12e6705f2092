/* The trust secret (key of the pupil-reference HMAC): read from a file at start. */
#ifndef MATD_SECRET_H
#define MATD_SECRET_H
#include <stddef.h>

/* Reads at most cap bytes (trailing newline trimmed). Warns when the file is readable by
 * group or others; refuses a secret shorter than 32 bytes. Returns -1 with err filled. */
int secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err,
                size_t errlen);

#endif
