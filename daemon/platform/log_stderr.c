/* The log sink of the programs: one write(2) per line keeps lines whole across threads. */
#include "log_stderr.h"

#include <errno.h>
#include <unistd.h>

#include "log.h"

bool log_stderr_write(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        line += n;
        len -= (size_t)n;
    }
    return true;
}

static void log_stderr_sink(const char *line, size_t len)
{
    (void)log_stderr_write(line, len);
}

void log_stderr_install(void)
{
    log_set_sink(log_stderr_sink);
}
