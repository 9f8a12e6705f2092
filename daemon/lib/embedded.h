/* Files compiled into the binaries at build time (SQL migrations, JSON Schemas).
 * Generated tables are sorted by name and end with a {0, 0, 0} sentinel. */
#ifndef MATD_EMBEDDED_H
#define MATD_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
    const char *name;
    const char *data; /* NUL-terminated */
    size_t len;
};

extern const struct embedded_file migrations_files[];
extern const size_t migrations_count;
extern const struct embedded_file schemas_files[];
extern const size_t schemas_count;

#endif
