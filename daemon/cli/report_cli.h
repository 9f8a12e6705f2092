/* `matctl report`: the head's termly report to governors for one school, printed to PDF
 * by Debian's headless Chromium from the web app's own report page, signed in with a
 * session that lives only for the print. */
#ifndef MATD_REPORT_CLI_H
#define MATD_REPORT_CLI_H
#include <libpq-fe.h>

#include "config.h"

/* argv starts at "report". Returns an exit code. */
int report_cli(PGconn *pg, const struct config *cfg, long long trust_id, int argc, char **argv);

#endif
