/* WAL positions and replica lag: see lsn.h. */
#include "lsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool hex_half(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

bool lsn_parse(const char *s, uint64_t *out)
{
    if (!s)
        return false;
    const char *slash = strchr(s, '/');
    if (!slash)
        return false;
    uint32_t hi, lo;
    if (!hex_half(s, (size_t)(slash - s), &hi) || !hex_half(slash + 1, strlen(slash + 1), &lo))
        return false;
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

void lsn_format(uint64_t lsn, char out[LSN_TEXT_MAX])
{
    snprintf(out, LSN_TEXT_MAX, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

static char *trimmed_copy(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n ? xstrndup(s, n) : NULL;
}

int lsn_split_dsn_list(const char *list, char **out, int max, char *err, size_t errlen)
{
    int n = 0;
    const char *start = list;
    bool quoted = false;
    for (const char *p = list;; p++) {
        if (*p == '\\' && quoted && p[1]) {
            p++;
            continue;
        }
        if (*p == '\'')
            quoted = !quoted;
        if (*p && (*p != '|' || quoted))
            continue;
        if (*p == '\0' && quoted) {
            snprintf(err, errlen, "replica_dsn: a quote is not closed in entry %d", n + 1);
            goto fail;
        }
        char *item = trimmed_copy(start, (size_t)(p - start));
        if (item) {
            if (n == max) {
                free(item);
                snprintf(err, errlen, "replica_dsn: more than %d replicas", max);
                goto fail;
            }
            out[n++] = item;
        }
        if (*p == '\0')
            return n;
        start = p + 1;
    }
fail:
    for (int i = 0; i < n; i++)
        free(out[i]);
    return -1;
}

void lsn_ring_init(struct lsn_ring *ring)
{
    memset(ring, 0, sizeof *ring);
}

uint64_t lsn_ring_latest(const struct lsn_ring *ring)
{
    return ring->count ? ring->lsn[(ring->head + LSN_RING - 1) % LSN_RING] : 0;
}

void lsn_ring_add(struct lsn_ring *ring, long long now_ms, uint64_t lsn)
{
    if (ring->count && lsn < lsn_ring_latest(ring))
        lsn_ring_init(ring);
    ring->ms[ring->head] = now_ms;
    ring->lsn[ring->head] = lsn;
    ring->head = (ring->head + 1) % LSN_RING;
    if (ring->count < LSN_RING)
        ring->count++;
}

long long lsn_ring_lag_ms(const struct lsn_ring *ring, long long now_ms, uint64_t replay)
{
    /* Samples are in increasing order of position: walk from the oldest to the first one
     * the replica has not reached. */
    int oldest = (ring->head + LSN_RING - ring->count) % LSN_RING;
    for (int k = 0; k < ring->count; k++) {
        int i = (oldest + k) % LSN_RING;
        if (ring->lsn[i] > replay) {
            long long lag = now_ms - ring->ms[i];
            return lag > 0 ? lag : 0;
        }
    }
    return 0;
}
