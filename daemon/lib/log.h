/* Leveled, structured logging: one key=value line per event, written by the sink the
 * program installs (standard error for matd and matctl, so journald under systemd).
 * Never log a pupil reference, a token or a request body. */
#ifndef MATD_LOG_H
#define MATD_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Where finished lines go: one call per whole line, newline included (a single write keeps
 * lines whole across threads). With no sink, lines are dropped. */
typedef void (*log_sink_fn)(const char *line, size_t len);
void log_set_sink(log_sink_fn fn);
/* What the process's end needs: the sink writes what it still holds and writes later lines at
 * once (fatal() and the out-of-memory path call it before they end the process). */
typedef void (*log_flush_fn)(void);
void log_set_flush(log_flush_fn fn);
void log_flush(void);
/* Hands one finished line to the sink. */
void log_write_line(const char *line, size_t len);

void log_set_level(enum log_level level);
/* Returns -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
bool log_enabled(enum log_level level);
/* Formats like vsnprintf, except that every %s value is escaped: written bare when it is a
 * plain token, otherwise quoted (unless the format already quotes it) with quotes,
 * backslashes and control bytes escaped. The one place log values are escaped. */
void log_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
/* fmt continues the line after "level=... ", e.g. "msg=\"listening\" port=%d". */
void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_emit(LOG_DEBUG, __VA_ARGS__);                                                      \
    } while (0)
#define log_info(...) log_emit(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, __VA_ARGS__)

#endif
