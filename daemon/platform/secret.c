/* Trust secret file loading. */
#include "secret.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err,
                size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "trust secret %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        log_warn("msg=\"the trust secret is readable by others; chmod 600 it\" path=%s", path);
    ssize_t n = read(fd, out, cap);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "trust secret %s: %s", path, strerror(errno));
        return -1;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    if (n == 0) {
        snprintf(err, errlen, "trust secret %s is empty", path);
        return -1;
    }
    if (n < 32)
        log_warn("msg=\"the trust secret is shorter than 32 bytes; use openssl rand -hex 32\" "
                 "path=%s",
                 path);
    *len = (size_t)n;
    return 0;
}
