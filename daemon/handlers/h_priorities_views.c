/* The bounded cache of rendered priorities views (one short lock per lookup; the
 * unfiltered trust-wide list never comes here: it hangs off the cached list itself). */
#include "h_priorities_views.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "metrics.h"
#include "util.h"

struct view_entry {
    uint64_t hash; /* of year, term and key: compared before the strings */
    char year[8], term[8];
    long long version;
    char *key;
    struct rendered *x;
    size_t bytes;
    uint64_t used; /* the lookup clock when last served */
};

static struct view_entry entries[PRIO_VIEWS_MAX_ENTRIES];
static size_t nentries, nbytes;
static uint64_t clock_now;
static pthread_mutex_t views_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash_of(const char *year, const char *term, const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the three, separated */
    const char *parts[3] = {year, term, key};
    for (int i = 0; i < 3; i++) {
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0x1f) * 1099511628211ull;
    }
    return h;
}

static void publish(void)
{
    metrics_set(METRIC_GAUGE_PRIO_VIEWS_ENTRIES, (long long)nentries);
    metrics_set(METRIC_GAUGE_PRIO_VIEWS_BYTES, (long long)nbytes);
}

/* Removes entry i (the lock held); returns its view for release outside the lock. */
static struct rendered *drop(size_t i)
{
    struct rendered *x = entries[i].x;
    nbytes -= entries[i].bytes;
    free(entries[i].key);
    entries[i] = entries[--nentries];
    memset(&entries[nentries], 0, sizeof entries[nentries]);
    return x;
}

static ssize_t find(uint64_t h, const char *year, const char *term, long long version,
                    const char *key)
{
    for (size_t i = 0; i < nentries; i++) {
        const struct view_entry *e = &entries[i];
        if (e->hash == h && e->version == version && strcmp(e->year, year) == 0 &&
            strcmp(e->term, term) == 0 && strcmp(e->key, key) == 0)
            return (ssize_t)i;
    }
    return -1;
}

struct rendered *prio_views_get(const char *year, const char *term, long long version,
                                const char *key)
{
    uint64_t h = hash_of(year, term, key);
    struct rendered *hit = NULL;
    pthread_mutex_lock(&views_lock);
    ssize_t i = find(h, year, term, version, key);
    if (i >= 0) {
        entries[i].used = ++clock_now;
        hit = entries[i].x;
        rendered_hold(hit);
    }
    pthread_mutex_unlock(&views_lock);
    metrics_add(hit ? METRIC_PRIORITIES_VIEW_HITS : METRIC_PRIORITIES_VIEW_MISSES, 1);
    return hit;
}

struct rendered *prio_views_put(const char *year, const char *term, long long version,
                                const char *key, struct rendered *x)
{
    size_t bytes = rendered_size(x) + strlen(key) + sizeof(struct view_entry);
    uint64_t h = hash_of(year, term, key);
    struct rendered *gone[PRIO_VIEWS_MAX_ENTRIES];
    size_t ngone = 0;
    struct rendered *serve = x;
    pthread_mutex_lock(&views_lock);
    ssize_t have = find(h, year, term, version, key);
    if (have >= 0) { /* another request rendered it first: serve that one */
        serve = entries[have].x;
    } else if (bytes <= PRIO_VIEWS_MAX_BYTES) {
        /* Views of older data versions of this (year, term) are dead: drop them. */
        for (size_t i = 0; i < nentries;)
            if (entries[i].version < version && strcmp(entries[i].year, year) == 0 &&
                strcmp(entries[i].term, term) == 0)
                gone[ngone++] = drop(i);
            else
                i++;
        while (nentries > 0 &&
               (nentries >= PRIO_VIEWS_MAX_ENTRIES || nbytes + bytes > PRIO_VIEWS_MAX_BYTES)) {
            size_t lru = 0;
            for (size_t i = 1; i < nentries; i++)
                if (entries[i].used < entries[lru].used)
                    lru = i;
            gone[ngone++] = drop(lru);
        }
        struct view_entry *e = &entries[nentries++];
        e->hash = h;
        snprintf(e->year, sizeof e->year, "%s", year);
        snprintf(e->term, sizeof e->term, "%s", term);
        e->version = version;
        e->key = xstrdup(key);
        e->x = x;
        rendered_hold(x);
        e->bytes = bytes;
        e->used = ++clock_now;
        nbytes += bytes;
    }
    rendered_hold(serve);
    publish();
    pthread_mutex_unlock(&views_lock);
    for (size_t i = 0; i < ngone; i++)
        rendered_release(gone[i]);
    return serve;
}
