/* A pull tokenizer for JSON held in memory: one token at a time, with the grammar checked
 * as it goes, so a large document (a 30,000-record progress push) is read record by record
 * and never held as a tree. It accepts exactly what jansson's json_loadb accepts with
 * JSON_DECODE_ANY | JSON_REJECT_DUPLICATES (the fuzz target compares the two): the same
 * numbers, escapes, depth limit, and no \u0000; duplicate keys are caught by
 * json_stream_build (the tokenizer keeps no keys). The input must be valid UTF-8. */
#ifndef MATD_JSON_STREAM_H
#define MATD_JSON_STREAM_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* jansson's JSON_PARSER_MAX_DEPTH: a value may sit at most this deep (the top level is 1). */
#define JSON_STREAM_MAX_DEPTH 2048

enum json_tok {
    JSON_TOK_ERROR = -1, /* js->error says why; every later call returns it again */
    JSON_TOK_END = 0,    /* the whole document was read, nothing but white space after it */
    JSON_TOK_OBJECT,
    JSON_TOK_OBJECT_END,
    JSON_TOK_ARRAY,
    JSON_TOK_ARRAY_END,
    JSON_TOK_KEY, /* a member's name (its ':' consumed); js->str, js->str_len */
    JSON_TOK_STRING,
    JSON_TOK_INTEGER, /* js->integer */
    JSON_TOK_REAL,    /* js->real */
    JSON_TOK_TRUE,
    JSON_TOK_FALSE,
    JSON_TOK_NULL,
};

struct json_stream {
    const char *buf;
    size_t len, pos;
    int expect;   /* what the grammar allows next (private) */
    size_t depth; /* containers open */
    unsigned char open[JSON_STREAM_MAX_DEPTH];
    /* the current token: a string or key's text, decoded (points into buf when it had no
     * escape, else into scratch: valid until the next call), or its number */
    const char *str;
    size_t str_len;
    long long integer;
    double real;
    size_t tok_offset; /* byte offset where the current token starts */
    char *scratch;
    size_t scratch_cap;
    char error[80];
};

/* Reads buf[0..len) (borrowed; it must outlive the stream). */
void json_stream_init(struct json_stream *js, const char *buf, size_t len);
void json_stream_free(struct json_stream *js);
enum json_tok json_stream_next(struct json_stream *js);

/* A place in the stream to come back to: taken before a token, rewinding there reads the
 * same tokens again (and clears an error met since). */
struct json_stream_mark {
    size_t pos, depth;
    int expect;
};
void json_stream_mark(const struct json_stream *js, struct json_stream_mark *m);
void json_stream_rewind(struct json_stream *js, const struct json_stream_mark *m);

/* Builds the value whose first token, tok, was just returned by json_stream_next, reading
 * the rest of it (for a scalar, nothing more). Returns 0 with *out owned by the caller, or
 * -1 (a syntax error, or a key repeated in one object: js->error says which). */
int json_stream_build(struct json_stream *js, enum json_tok tok, json_t **out);

#endif
