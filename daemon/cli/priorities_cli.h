/* `matctl priorities`: the trust's priorities for a term as a table for a data lead at a
 * terminal, or as the API's JSON. */
#ifndef MATD_PRIORITIES_CLI_H
#define MATD_PRIORITIES_CLI_H
#include <libpq-fe.h>

#include "config.h"

/* argv starts at "priorities". Returns an exit code. */
int priorities_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv);

#endif
