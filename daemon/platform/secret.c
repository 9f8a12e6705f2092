/* Trust secret file: loading (refusing a weak or exposed one) and creating a good one. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
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
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "trust secret %s is not a regular file", path);
        return -1;
    }
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
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "trust secret %s is open to group or others (mode %03o); chmod 600 it so that "
                 "matd alone can read it",
                 path, (unsigned)(st.st_mode & 0777));
        explicit_bzero(out, cap);
        return -1;
    }
    if (n < SECRET_MIN_BYTES) {
        snprintf(err, errlen,
                 "trust secret %s is %zd bytes; at least %d are needed (matctl secret init FILE "
                 "writes a good one)",
                 path, n, SECRET_MIN_BYTES);
        explicit_bzero(out, cap);
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

int secret_init_file(const char *path, char *err, size_t errlen)
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        return -1;
    }
    char text[2 * sizeof raw + 1];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(text + 2 * i, 3, "%02x", raw[i]);
    text[2 * sizeof raw] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, text, sizeof text);
    if (w != (ssize_t)sizeof text || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}
