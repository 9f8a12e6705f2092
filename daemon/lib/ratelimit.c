/* Fixed-size open-addressing table of token buckets; a full table recycles the
 * least recently used slot of the probe window, so memory is bounded. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>

#include "util.h"

#define SLOTS 8192
#define PROBE 8

struct bucket {
    long long token_id; /* 0 = free */
    double tokens;
    uint64_t last_ms;
};

static struct bucket table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

bool ratelimit_allow(long long token_id, int per_minute, int burst, int *retry_after_s)
{
    if (per_minute <= 0)
        return true;
    uint64_t now = now_ms();
    double rate_ms = per_minute / 60000.0;
    size_t h = (size_t)((unsigned long long)token_id * 0x9E3779B97F4A7C15ull) % SLOTS;
    pthread_mutex_lock(&lock);
    struct bucket *b = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *c = &table[(h + i) % SLOTS];
        if (c->token_id == token_id) {
            b = c;
            break;
        }
        if (!oldest || c->token_id == 0 || c->last_ms < oldest->last_ms)
            if (!oldest || oldest->token_id != 0)
                oldest = c;
    }
    if (!b) {
        b = oldest;
        b->token_id = token_id;
        b->tokens = burst;
        b->last_ms = now;
    }
    b->tokens += (double)(now - b->last_ms) * rate_ms;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ms = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s)
        *retry_after_s = (int)ceil((1.0 - b->tokens) / rate_ms / 1000.0);
    pthread_mutex_unlock(&lock);
    return ok;
}
