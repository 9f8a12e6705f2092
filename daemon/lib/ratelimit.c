/* Fixed-size open-addressing table of token buckets; a full table recycles the
 * least recently used slot of the probe window, so memory is bounded. The table is split
 * into stripes, each with its own lock, and a token's probe window stays inside its
 * stripe: workers only ever wait for each other on the same stripe, never process-wide. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>

#include "util.h"

#define SLOTS 8192
#define PROBE 8
#define STRIPES 64
#define STRIPE_SLOTS (SLOTS / STRIPES)

struct bucket {
    long long token_id; /* 0 = free */
    double tokens;
    uint64_t last_ms;
};

static struct bucket table[SLOTS];
/* One lock per stripe, each on its own cache line. */
static struct {
    pthread_mutex_t lock;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
} stripes[STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripes[i].lock, NULL);
}

bool ratelimit_allow(long long token_id, int per_minute, int burst, int *retry_after_s)
{
    if (per_minute <= 0)
        return true;
    uint64_t now = now_ms();
    double rate_ms = per_minute / 60000.0;
    unsigned long long h = (unsigned long long)token_id * 0x9E3779B97F4A7C15ull;
    size_t stripe = (size_t)(h >> 58) % STRIPES, start = (size_t)(h % STRIPE_SLOTS);
    struct bucket *own = &table[stripe * STRIPE_SLOTS];
    pthread_once(&stripes_once, stripes_init);
    pthread_mutex_t *lock = &stripes[stripe].lock;
    pthread_mutex_lock(lock);
    struct bucket *b = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *c = &own[(start + i) % STRIPE_SLOTS];
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
    pthread_mutex_unlock(lock);
    return ok;
}
