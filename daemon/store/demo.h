/* The demo trust for `matctl demo load`: twelve schools of mixed phase with locations,
 * SEFs in both frameworks, SIPs with milestones (some overdue), four terms of progress for
 * ~250 pupils per school, with real patterns planted for the priorities to find. */
#ifndef MATD_DEMO_H
#define MATD_DEMO_H
#include <libpq-fe.h>

#include "config.h"

/* argv: "demo" "load" [--seed N]. Loads into an empty trust; returns an exit code. */
int demo_load_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv);

#endif
