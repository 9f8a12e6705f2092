/* The record rules the progress readers share, inside libmat: progress_parse.c holds them
 * (and reads CSV through them), progress_json.c reads JSON through them. A parse context
 * keys pupils, refuses a pupil's second record in a subject, and writes COPY lines. */
#ifndef MATD_PROGRESS_RULES_H
#define MATD_PROGRESS_RULES_H
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "progress_parse.h"

struct progress_ctx;
/* A context writing accepted records to out (emptied first). Returns owned. */
struct progress_ctx *progress_ctx_new(const struct progress_parse_opts *o,
                                      struct progress_set *out);
void progress_ctx_free(struct progress_ctx *p);

/* A record's fields as the rules read them, from a built record (a jansson object) or
 * straight from the stream's tokens. */
enum progress_jkind {
    PROGRESS_JK_ABSENT,
    PROGRESS_JK_NULL,
    PROGRESS_JK_BOOL,
    PROGRESS_JK_NUMBER,
    PROGRESS_JK_STRING,
    PROGRESS_JK_OTHER
};
struct progress_jval {
    enum progress_jkind kind;
    bool b;
    double num;
    const char *s; /* PROGRESS_JK_STRING: s[0..len) */
    size_t len;
};
struct progress_jrec {
    struct progress_jval v[PROGRESS_F_COUNT];
};

/* The rules beyond progress.json for JSON record i (values the schema refused are skipped:
 * its error names them); an accepted record is keyed and added. */
void progress_json_rules(struct progress_ctx *p, const struct progress_jrec *rec, size_t i,
                         struct mat_errors *errs);

#endif
