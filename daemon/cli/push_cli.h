/* `matctl push`: a school's data manager (or its scheduled task) sends a progress file to
 * matd over HTTPS with a school token - as CSV, JSON or a CTF, optionally through an
 * import profile or as a dry run - with a progress bar for large files and a 422's errors
 * printed as a table. It needs no database access: only matd's URL and a token. */
#ifndef MATD_PUSH_CLI_H
#define MATD_PUSH_CLI_H

#include "config.h"

/* argv starts at "push". Exit codes: 0 stored (or dry run answered, or unchanged);
 * 1 the file was refused (400/422: the errors are printed); 2 bad usage; 3 anything else
 * (no connection, TLS, 401/403/404, 5xx). */
int push_cli(const struct config *cfg, int argc, char **argv);

#endif
