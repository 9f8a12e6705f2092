/* Leveled, structured logging: one key=value line per event, safe across threads.
 * The core formats; the shell installs the sink that writes (platform/log_stderr.c). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

static atomic_int current_level = LOG_INFO;
static _Atomic(log_sink_fn) sink;
static _Atomic(log_flush_fn) flush;

void log_set_sink(log_sink_fn fn)
{
    atomic_store(&sink, fn);
}

void log_set_flush(log_flush_fn fn)
{
    atomic_store(&flush, fn);
}

void log_flush(void)
{
    log_flush_fn fn = atomic_load(&flush);
    if (fn)
        fn();
}

void log_write_line(const char *line, size_t len)
{
    log_sink_fn fn = atomic_load(&sink);
    if (fn)
        fn(line, len);
}
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&current_level);
}

/* A value is written bare when it is a plain token; otherwise it is quoted (outside a
 * quoted field) and its quotes, backslashes and control bytes escaped, so that no value can
 * end the line or start a key=value field of its own. */
static bool plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-_.:/@+,", c) != NULL;
}

struct out {
    char *p;
    size_t n, cap;
};

static void put(struct out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len && o->n + 1 < o->cap; i++)
        o->p[o->n++] = s[i];
}

static void put_value(struct out *o, const char *v, size_t len, bool in_quotes)
{
    bool plain = len > 0;
    for (size_t i = 0; i < len && plain; i++)
        plain = plain_char((unsigned char)v[i]);
    if (plain || (in_quotes && len == 0)) {
        put(o, v, len);
        return;
    }
    if (!in_quotes)
        put(o, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c == '\n') {
            put(o, "\\n", 2);
        } else if (c == '\r') {
            put(o, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            put(o, esc, 4);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    if (!in_quotes)
        put(o, "\"", 1);
}

/* printf for log lines: numbers as printf writes them, every %s through put_value. Each
 * spec passed on to snprintf is one conversion copied from fmt, which the compiler checked
 * against the arguments at the log_emit call (its format attribute). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void log_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, 0, cap};
    bool in_quotes = false;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (*f == '"')
                in_quotes = !in_quotes;
            put(&o, f, 1);
            continue;
        }
        if (f[1] == '%') {
            put(&o, "%", 1);
            f++;
            continue;
        }
        char spec[32];
        size_t k = 0;
        int prec = -1, longs = 0;
        bool size_t_arg = false;
        spec[k++] = *f++;
        while (*f && strchr("-+ #0123456789.*lzhjt", *f) && k < sizeof spec - 2) {
            if (*f == '*') {
                int v = va_arg(ap, int);
                if (f[-1] == '.')
                    prec = v;
                k += (size_t)snprintf(spec + k, sizeof spec - k, "%d", v);
                f++;
                continue;
            }
            if (*f == '.' && f[1] >= '0' && f[1] <= '9')
                prec = atoi(f + 1);
            longs += *f == 'l';
            size_t_arg |= *f == 'z';
            spec[k++] = *f++;
        }
        if (!*f)
            break;
        spec[k++] = *f;
        spec[k] = '\0';
        char num[64];
        switch (*f) {
        case 's': {
            const char *v = va_arg(ap, const char *);
            if (!v)
                v = "";
            size_t len = strlen(v);
            if (prec >= 0 && (size_t)prec < len)
                len = (size_t)prec;
            put_value(&o, v, len, in_quotes);
            continue;
        }
        case 'd':
        case 'i':
            if (size_t_arg)
                snprintf(num, sizeof num, spec, va_arg(ap, ssize_t));
            else if (longs >= 2)
                snprintf(num, sizeof num, spec, va_arg(ap, long long));
            else if (longs == 1)
                snprintf(num, sizeof num, spec, va_arg(ap, long));
            else
                snprintf(num, sizeof num, spec, va_arg(ap, int));
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (size_t_arg)
                snprintf(num, sizeof num, spec, va_arg(ap, size_t));
            else if (longs >= 2)
                snprintf(num, sizeof num, spec, va_arg(ap, unsigned long long));
            else if (longs == 1)
                snprintf(num, sizeof num, spec, va_arg(ap, unsigned long));
            else
                snprintf(num, sizeof num, spec, va_arg(ap, unsigned));
            break;
        case 'f':
        case 'g':
        case 'e':
            snprintf(num, sizeof num, spec, va_arg(ap, double));
            break;
        case 'c':
            num[0] = (char)va_arg(ap, int);
            put_value(&o, num, 1, in_quotes);
            continue;
        case 'p':
            snprintf(num, sizeof num, "%p", va_arg(ap, void *));
            break;
        default:
            num[0] = '\0';
        }
        put(&o, num, strlen(num));
    }
    o.p[o.n < cap ? o.n : cap - 1] = '\0';
}
#pragma GCC diagnostic pop

void log_emit(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        log_vformat(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strnlen(line, sizeof line - 2);
    line[len++] = '\n';
    log_write_line(line, len);
}
