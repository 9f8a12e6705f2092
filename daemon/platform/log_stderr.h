/* The log sink of the programs: whole lines to stderr (journald under systemd).
 * The core formats log lines (lib/log.c) and never writes them itself. */
#ifndef MATD_LOG_STDERR_H
#define MATD_LOG_STDERR_H
#include <stdbool.h>
#include <stddef.h>

/* Sends every log line, from any thread, to stderr. Call first thing in main. */
void log_stderr_install(void);
/* Writes the bytes to stderr, all of them (waiting as long as the reader makes it); false
 * when stderr refused them (closed, broken pipe). */
bool log_stderr_write(const char *bytes, size_t len);

#endif
