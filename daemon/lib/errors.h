/* A bounded list of input errors, each with the JSON pointer (or "row:column" for CSV)
 * of the bad field. Validation collects into it; the HTTP layer turns it into the
 * problem+json "errors" array. */
#ifndef MATD_ERRORS_H
#define MATD_ERRORS_H
#include <stddef.h>

#define MAT_ERRORS_MAX 100

struct mat_error {
    char *path;
    char *message;
};

struct mat_errors {
    struct mat_error *items;
    size_t count;
    size_t dropped; /* errors beyond MAT_ERRORS_MAX, counted but not kept */
};

void mat_errors_init(struct mat_errors *e);
void mat_errors_free(struct mat_errors *e);
void mat_errors_add(struct mat_errors *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends "/token" to a JSON pointer, escaping '~' and '/' (RFC 6901). Returns owned. */
char *json_pointer_join(const char *base, const char *token);

#endif
