/* matd's log lines written off the threads that make them. Each thread appends its lines to
 * a ring of its own (no lock, no system call: a request's log line costs a copy), and one
 * writer thread writes them to stderr in batches. A reader of stderr that stops reading
 * (a stalled journald, a full pipe) then costs lines, counted in
 * matd_log_lines_dropped_total and reported in the log when it reads again, never a
 * request: before this, a full pipe stopped the event loops in write(2). */
#ifndef MATD_LOG_WRITER_H
#define MATD_LOG_WRITER_H

/* Starts the writer thread and routes every later log line through it. Once, after the
 * configuration is read (lines before go straight to stderr). */
void log_writer_start(void);
/* Writes what the rings hold and goes back to writing lines straight to stderr. Waits at
 * most a second for a stalled stderr; also run at exit (a fatal error's line included). */
void log_writer_stop(void);

#endif
