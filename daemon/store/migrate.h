/* Schema migrations: the numbered files of sql/ (compiled in), applied in order, each
 * in its own transaction under an advisory lock, and recorded in schema_migrations.
 * Blocking libpq: used by matctl and by matd's start-up thread, never on an event loop. */
#ifndef MATD_MIGRATE_H
#define MATD_MIGRATE_H
#include <libpq-fe.h>
#include <stddef.h>

/* Blocking connect with a bounded wait (connect_timeout), whatever the DSN says. */
PGconn *db_connect_blocking(const char *dsn, int timeout_s);
/* The server's NOTICEs and WARNINGs on this connection go to the log as whole lines, not
 * through libpq's own write to stderr. */
void db_log_notices(PGconn *pg);
/* Applies pending migrations; *applied gets how many. Returns -1 with err filled. */
int migrate_apply(PGconn *pg, int *applied, char *err, size_t errlen);
/* The number of migrations this binary knows (the "current" version). */
int migrate_latest(void);
/* Finds or creates the trust row for name; returns -1 with err filled. */
int migrate_ensure_trust(PGconn *pg, const char *name, long long *trust_id, char *err,
                         size_t errlen);

#endif
