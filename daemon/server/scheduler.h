/* The rota scheduler: drafts the next term's rota `[rota] lead_days` before the term
 * starts (term dates from the terms table, else the SPEC defaults), exactly once per term
 * even when several matd instances share the database (a PostgreSQL advisory lock and the
 * scheduler_runs table decide). Runs on its own thread with blocking libpq. */
#ifndef MATD_SCHEDULER_H
#define MATD_SCHEDULER_H

struct server;

/* Starts the scheduler thread (checks at start-up, then every interval_s seconds). */
void scheduler_start(struct server *s, int interval_s);
void scheduler_stop(void);

#endif
