/* Reading the configuration file: the file half of config loading. The parsing, the
 * environment overrides and the bounds are the core's (lib/config.c). */
#ifndef MATD_CONFIG_FILE_H
#define MATD_CONFIG_FILE_H
#include <stddef.h>

#include "config.h"

/* Reads path (at most 1 MiB; NULL = defaults and environment only) and loads it as
 * config_load_string does. */
int config_load_file(struct config *cfg, const char *path, char *const *envp, char *err,
                     size_t errlen);

#endif
