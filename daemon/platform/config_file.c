/* Reading the configuration file; parsing is the core's (lib/config.c). */
#include "config_file.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int config_load_file(struct config *cfg, const char *path, char *const *envp, char *err,
                     size_t errlen)
{
    if (!path)
        return config_load_string(cfg, NULL, envp, err, errlen);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config: cannot open %s", path);
        return -1;
    }
    struct strbuf sb;
    strbuf_init(&sb);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        strbuf_append(&sb, chunk, n);
        if (sb.len > 1 << 20) {
            fclose(f);
            strbuf_free(&sb);
            snprintf(err, errlen, "config: %s is larger than 1 MiB", path);
            return -1;
        }
    }
    fclose(f);
    char *text = strbuf_detach(&sb, NULL);
    int rc = config_load_string(cfg, text, envp, err, errlen);
    free(text);
    return rc;
}
