/* The trust secret (key of the pupil-reference HMAC): read from a file at start. */
#ifndef MATD_SECRET_H
#define MATD_SECRET_H
#include <stddef.h>

/* Reads at most cap bytes (trailing newline trimmed). Warns when the file is readable by
 * group or others or the secret is shorter than 32 bytes; refuses an empty one. Returns -1
 * with err filled. */
int secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err,
                size_t errlen);

#endif
