/* JSON pull tokenizer. The grammar is a small state machine over a stack of open
 * containers; strings without escapes are handed out in place (no copy), escaped ones are
 * decoded into a scratch buffer. What is accepted follows jansson 2.14's load.c token by
 * token (see the header), so that a body this reader accepts is one json_loadb accepts and
 * the other way round: callers ask jansson for its message when this reader refuses. */
#include "json_stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum expect {
    EXP_VALUE,          /* the document's start, after ':', after ',' in an array */
    EXP_VALUE_OR_CLOSE, /* just after '[' */
    EXP_KEY_OR_CLOSE,   /* just after '{' */
    EXP_KEY,            /* after ',' in an object */
    EXP_COMMA_OR_CLOSE, /* after a value inside a container */
    EXP_EOF,            /* after the document's value: white space only */
    EXP_DONE,           /* JSON_TOK_END returned */
    EXP_FAILED,
};

void json_stream_init(struct json_stream *js, const char *buf, size_t len)
{
    memset(js, 0, offsetof(struct json_stream, open));
    js->buf = buf;
    js->len = len;
    js->expect = EXP_VALUE;
    js->str = NULL;
    js->str_len = 0;
    js->integer = 0;
    js->real = 0;
    js->tok_offset = 0;
    js->scratch = NULL;
    js->scratch_cap = 0;
    js->error[0] = '\0';
}

void json_stream_free(struct json_stream *js)
{
    free(js->scratch);
    js->scratch = NULL;
    js->scratch_cap = 0;
}

static enum json_tok fail(struct json_stream *js, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum json_tok fail(struct json_stream *js, const char *fmt, ...)
{
    char what[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(js->error, sizeof js->error, "%s at byte %zu", what, js->tok_offset);
    js->expect = EXP_FAILED;
    return JSON_TOK_ERROR;
}

static void scratch_reserve(struct json_stream *js, size_t n)
{
    if (n <= js->scratch_cap)
        return;
    size_t cap = js->scratch_cap ? js->scratch_cap : 256;
    while (cap < n)
        cap *= 2;
    js->scratch = xrealloc(js->scratch, cap);
    js->scratch_cap = cap;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t utf8_put(char *out, long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A \uXXXX escape (or a surrogate pair of them) at b[*i] (the backslash); false when it
 * is not one jansson accepts. */
static bool unicode_escape(struct json_stream *js, size_t *i, size_t *out)
{
    const unsigned char *b = (const unsigned char *)js->buf;
    if (*i + 6 > js->len)
        return false;
    long cp = hex4(b + *i + 2);
    if (cp < 0)
        return false;
    *i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (*i + 6 > js->len || b[*i] != '\\' || b[*i + 1] != 'u')
            return false;
        long lo = hex4(b + *i + 2);
        if (lo < 0xdc00 || lo > 0xdfff)
            return false;
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        *i += 6;
    } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
        return false; /* a lone low surrogate; \u0000 (jansson refuses NUL) */
    }
    scratch_reserve(js, *out + 4);
    *out += utf8_put(js->scratch + *out, cp);
    return true;
}

/* The string starting at buf[pos] == '"'. */
static bool lex_string(struct json_stream *js)
{
    const unsigned char *b = (const unsigned char *)js->buf;
    size_t start = js->pos + 1, i = start;
    while (i < js->len && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20)
        i++;
    if (i < js->len && b[i] == '"') {
        js->str = js->buf + start;
        js->str_len = i - start;
        js->pos = i + 1;
        return true;
    }
    size_t out = i - start;
    scratch_reserve(js, out + 16);
    memcpy(js->scratch, js->buf + start, out);
    for (;;) {
        if (i >= js->len)
            return fail(js, "a string is never closed"), false;
        unsigned char c = b[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(js, "control character 0x%x in a string", c), false;
        if (c != '\\') {
            size_t run = i;
            while (run < js->len && b[run] != '"' && b[run] != '\\' && b[run] >= 0x20)
                run++;
            scratch_reserve(js, out + (run - i) + 1);
            memcpy(js->scratch + out, b + i, run - i);
            out += run - i;
            i = run;
            continue;
        }
        if (i + 1 >= js->len)
            return fail(js, "a string is never closed"), false;
        static const char plain[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
        const char *k = b[i + 1] ? strchr(plain, b[i + 1]) : NULL;
        if (k) {
            scratch_reserve(js, out + 1);
            js->scratch[out++] = decoded[k - plain];
            i += 2;
        } else if (b[i + 1] != 'u' || !unicode_escape(js, &i, &out)) {
            return fail(js, "invalid escape in a string"), false;
        }
    }
    js->str = js->scratch;
    js->str_len = out;
    js->pos = i + 1;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static enum json_tok lex_number(struct json_stream *js)
{
    const unsigned char *b = (const unsigned char *)js->buf;
    size_t i = js->pos, n = js->len;
    bool real = false;
    if (b[i] == '-')
        i++;
    if (i < n && b[i] == '0') {
        if (++i < n && is_digit(b[i]))
            return fail(js, "invalid number (a leading zero)");
    } else if (i < n && is_digit(b[i])) {
        while (i < n && is_digit(b[i]))
            i++;
    } else {
        return fail(js, "invalid token");
    }
    if (i < n && b[i] == '.') {
        if (++i >= n || !is_digit(b[i]))
            return fail(js, "invalid number (no digit after the point)");
        while (i < n && is_digit(b[i]))
            i++;
        real = true;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        if (++i < n && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i >= n || !is_digit(b[i]))
            return fail(js, "invalid number (no digit in the exponent)");
        while (i < n && is_digit(b[i]))
            i++;
        real = true;
    }
    size_t len = i - js->pos;
    char small[64], *text = small;
    if (len >= sizeof small) {
        scratch_reserve(js, len + 1);
        text = js->scratch;
    }
    memcpy(text, js->buf + js->pos, len);
    text[len] = '\0';
    js->pos = i;
    errno = 0;
    if (!real) {
        js->integer = strtoll(text, NULL, 10);
        if (errno == ERANGE)
            return fail(js, "integer out of range");
        return JSON_TOK_INTEGER;
    }
    js->real = strtod(text, NULL);
    if (errno == ERANGE && (js->real == HUGE_VAL || js->real == -HUGE_VAL))
        return fail(js, "real number overflow");
    return JSON_TOK_REAL;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static enum json_tok lex_word(struct json_stream *js)
{
    static const struct {
        const char *word;
        enum json_tok tok;
    } words[] = {{"true", JSON_TOK_TRUE}, {"false", JSON_TOK_FALSE}, {"null", JSON_TOK_NULL}};
    size_t i = js->pos;
    while (i < js->len && is_alpha((unsigned char)js->buf[i]))
        i++;
    for (size_t w = 0; w < ARRAY_LEN(words); w++) {
        size_t wl = strlen(words[w].word);
        if (i - js->pos == wl && memcmp(js->buf + js->pos, words[w].word, wl) == 0) {
            js->pos = i;
            return words[w].tok;
        }
    }
    return fail(js, "invalid token");
}

static void after_value(struct json_stream *js)
{
    js->expect = js->depth ? EXP_COMMA_OR_CLOSE : EXP_EOF;
}

static enum json_tok close_container(struct json_stream *js, char c)
{
    char want = js->open[js->depth - 1] == '{' ? '}' : ']';
    if (c != want)
        return fail(js, "'%c' or ',' expected", want);
    js->pos++;
    js->depth--;
    after_value(js);
    return c == '}' ? JSON_TOK_OBJECT_END : JSON_TOK_ARRAY_END;
}

static enum json_tok lex_value(struct json_stream *js, char c)
{
    if (js->depth + 1 > JSON_STREAM_MAX_DEPTH)
        return fail(js, "nested too deeply");
    enum json_tok t;
    if (c == '{' || c == '[') {
        js->open[js->depth++] = (unsigned char)c;
        js->pos++;
        js->expect = c == '{' ? EXP_KEY_OR_CLOSE : EXP_VALUE_OR_CLOSE;
        return c == '{' ? JSON_TOK_OBJECT : JSON_TOK_ARRAY;
    }
    if (c == '"')
        t = lex_string(js) ? JSON_TOK_STRING : JSON_TOK_ERROR;
    else if (c == '-' || is_digit((unsigned char)c))
        t = lex_number(js);
    else if (is_alpha((unsigned char)c))
        t = lex_word(js);
    else
        t = fail(js, "unexpected character");
    if (t != JSON_TOK_ERROR)
        after_value(js);
    return t;
}

static enum json_tok lex_key(struct json_stream *js, char c)
{
    if (c != '"')
        return fail(js, "a key (a string) expected");
    if (!lex_string(js))
        return JSON_TOK_ERROR;
    while (js->pos < js->len && is_space(js->buf[js->pos]))
        js->pos++;
    if (js->pos >= js->len || js->buf[js->pos] != ':')
        return fail(js, "':' expected after a key");
    js->pos++;
    js->expect = EXP_VALUE;
    return JSON_TOK_KEY;
}

enum json_tok json_stream_next(struct json_stream *js)
{
    for (;;) {
        if (js->expect == EXP_FAILED)
            return JSON_TOK_ERROR;
        while (js->pos < js->len && is_space(js->buf[js->pos]))
            js->pos++;
        js->tok_offset = js->pos;
        if (js->pos >= js->len) {
            if (js->expect == EXP_EOF || js->expect == EXP_DONE) {
                js->expect = EXP_DONE;
                return JSON_TOK_END;
            }
            return fail(js, "premature end of input");
        }
        char c = js->buf[js->pos];
        switch ((enum expect)js->expect) {
        case EXP_COMMA_OR_CLOSE:
            if (c != ',')
                return close_container(js, c);
            js->pos++;
            js->expect = js->open[js->depth - 1] == '{' ? EXP_KEY : EXP_VALUE;
            continue;
        case EXP_KEY_OR_CLOSE:
            if (c == '}')
                return close_container(js, c);
            return lex_key(js, c);
        case EXP_KEY:
            return lex_key(js, c);
        case EXP_VALUE_OR_CLOSE:
            if (c == ']')
                return close_container(js, c);
            return lex_value(js, c);
        case EXP_VALUE:
            return lex_value(js, c);
        case EXP_EOF:
        case EXP_DONE:
            return fail(js, "end of file expected");
        case EXP_FAILED:
            break;
        }
        return JSON_TOK_ERROR;
    }
}

void json_stream_mark(const struct json_stream *js, struct json_stream_mark *m)
{
    m->pos = js->pos;
    m->depth = js->depth;
    m->expect = js->expect;
}

/* The containers open at the mark are still recorded in open[] (only deeper entries were
 * written since), so the three numbers are the whole state. */
void json_stream_rewind(struct json_stream *js, const struct json_stream_mark *m)
{
    js->pos = m->pos;
    js->depth = m->depth;
    js->expect = m->expect;
    js->error[0] = '\0';
}

/* ------------------------------------------------------------ building ---- */

struct frame {
    json_t *container;
    char *key; /* the pending member's name (objects): borrowed from buf or owned */
    size_t key_len;
    bool key_owned;
};

static void frame_drop_key(struct frame *f)
{
    if (f->key_owned)
        free(f->key);
    f->key = NULL;
    f->key_owned = false;
}

static json_t *scalar(const struct json_stream *js, enum json_tok tok)
{
    switch (tok) {
    case JSON_TOK_STRING:
        return json_stringn_nocheck(js->str, js->str_len);
    case JSON_TOK_INTEGER:
        return json_integer(js->integer);
    case JSON_TOK_REAL:
        return json_real(js->real);
    case JSON_TOK_TRUE:
        return json_true();
    case JSON_TOK_FALSE:
        return json_false();
    case JSON_TOK_NULL:
        return json_null();
    default:
        return NULL;
    }
}

/* A key for the object on top: refused when the object already has it. */
static bool take_key(struct json_stream *js, struct frame *top)
{
    if (json_object_getn(top->container, js->str, js->str_len)) {
        snprintf(js->error, sizeof js->error, "duplicate object key at byte %zu", js->tok_offset);
        js->expect = EXP_FAILED;
        return false;
    }
    top->key_len = js->str_len;
    top->key_owned = js->str == js->scratch;
    top->key = top->key_owned ? xstrndup(js->str, js->str_len) : (char *)(uintptr_t)js->str;
    return true;
}

int json_stream_build(struct json_stream *js, enum json_tok tok, json_t **out)
{
    *out = NULL;
    struct frame *stack = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        json_t *v = NULL;
        if (tok == JSON_TOK_OBJECT || tok == JSON_TOK_ARRAY) {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                stack = xrealloc(stack, cap * sizeof *stack);
            }
            stack[n++] = (struct frame){tok == JSON_TOK_OBJECT ? json_object() : json_array(), NULL,
                                        0, false};
            tok = json_stream_next(js);
            continue;
        }
        if (tok == JSON_TOK_KEY && n && json_is_object(stack[n - 1].container)) {
            if (!take_key(js, &stack[n - 1]))
                break;
            tok = json_stream_next(js);
            continue;
        }
        if ((tok == JSON_TOK_OBJECT_END || tok == JSON_TOK_ARRAY_END) && n) {
            v = stack[--n].container;
        } else if (!(v = scalar(js, tok))) {
            if (tok != JSON_TOK_ERROR) /* a caller that did not start at a value */
                fail(js, "a value expected");
            break;
        }
        if (n == 0) {
            *out = v;
            free(stack);
            return 0;
        }
        struct frame *top = &stack[n - 1];
        if (json_is_object(top->container)) {
            json_object_setn_new_nocheck(top->container, top->key, top->key_len, v);
            frame_drop_key(top);
        } else {
            json_array_append_new(top->container, v);
        }
        tok = json_stream_next(js);
    }
    while (n) {
        frame_drop_key(&stack[n - 1]);
        json_decref(stack[--n].container);
    }
    free(stack);
    return -1;
}
