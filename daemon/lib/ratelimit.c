/* Per-token rate limit as GCRA (the generic cell rate algorithm, a token bucket kept as one
 * number): each token's state is the time at which its bucket would be full again (the
 * "theoretical arrival time", TAT). A request is allowed when TAT - now is within the burst,
 * and moves TAT on by one interval. One 64-bit word per token, updated by compare-and-swap:
 * workers never take a lock, and a busy token costs them one contended cache line.
 *
 * Tokens live in a fixed open-addressing table (bounded memory): a token takes a free slot
 * of its probe window, or the window's slot with the oldest TAT (least recently busy),
 * whose token then starts afresh if it comes back (as it would with a lock: an evicted
 * bucket is forgotten). */
#include "ratelimit.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define SLOTS 8192
#define PROBE 8
/* Claiming a slot races only with other claims; after this many lost races, allow. */
#define CLAIM_TRIES 4

struct slot {
    _Atomic long long token_id; /* 0 = free */
    _Atomic uint64_t tat_ns;    /* 0 = a full bucket */
};

static struct slot table[SLOTS];

static size_t window_of(long long token_id)
{
    unsigned long long h = (unsigned long long)token_id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) % SLOTS;
}

/* The token's slot if it has one (NULL: a full bucket), claiming none. */
static struct slot *slot_find(long long token_id)
{
    size_t start = window_of(token_id);
    for (size_t i = 0; i < PROBE; i++) {
        struct slot *s = &table[(start + i) % SLOTS];
        if (atomic_load_explicit(&s->token_id, memory_order_acquire) == token_id)
            return s;
    }
    return NULL;
}

static struct slot *slot_for(long long token_id)
{
    size_t start = window_of(token_id);
    for (int tries = 0; tries < CLAIM_TRIES; tries++) {
        struct slot *oldest = NULL;
        uint64_t oldest_tat = UINT64_MAX;
        for (size_t i = 0; i < PROBE; i++) {
            struct slot *s = &table[(start + i) % SLOTS];
            long long id = atomic_load_explicit(&s->token_id, memory_order_acquire);
            if (id == token_id)
                return s;
            if (id == 0) {
                long long expect = 0;
                if (atomic_compare_exchange_strong(&s->token_id, &expect, token_id) ||
                    expect == token_id)
                    return s; /* a fresh slot keeps TAT 0: a full bucket */
                continue;
            }
            uint64_t tat = atomic_load_explicit(&s->tat_ns, memory_order_relaxed);
            if (tat < oldest_tat) {
                oldest_tat = tat;
                oldest = s;
            }
        }
        long long old = oldest ? atomic_load(&oldest->token_id) : 0;
        if (oldest && old != 0 &&
            atomic_compare_exchange_strong(&oldest->token_id, &old, token_id)) {
            atomic_store(&oldest->tat_ns, 0);
            return oldest;
        }
    }
    return NULL;
}

static uint64_t interval_of(int per_minute)
{
    uint64_t interval = 60000000000ull / (uint64_t)per_minute;
    return interval ? interval : 1;
}

/* Whether a bucket whose TAT is tat has a request to give at now_ns; *retry_after_s (may
 * be NULL) says when it will when not. */
static bool has_room(uint64_t tat, uint64_t interval, int burst, uint64_t now_ns,
                     int *retry_after_s)
{
    uint64_t tolerance = (uint64_t)(burst > 1 ? burst - 1 : 0) * interval;
    uint64_t from = tat > now_ns ? tat : now_ns;
    if (from - now_ns <= tolerance)
        return true;
    if (retry_after_s) {
        uint64_t wait = from - now_ns - tolerance;
        *retry_after_s = (int)((wait + 999999999ull) / 1000000000ull);
    }
    return false;
}

/* The bucket of token_id at now_ns: whether it has room, taking one request from it when
 * take is set. */
static bool ask(long long token_id, int per_minute, int burst, uint64_t now_ns, int *retry_after_s,
                bool take)
{
    if (per_minute <= 0)
        return true;
    /* No slot: to take, the table is fought over (fail open rather than refuse a client); to
     * peek, the token was never charged or was forgotten (a full bucket). */
    struct slot *s = take ? slot_for(token_id) : slot_find(token_id);
    if (!s)
        return true;
    uint64_t interval = interval_of(per_minute);
    uint64_t tat = atomic_load_explicit(&s->tat_ns, memory_order_relaxed);
    for (;;) {
        if (!has_room(tat, interval, burst, now_ns, retry_after_s))
            return false;
        if (!take)
            return true;
        uint64_t from = tat > now_ns ? tat : now_ns;
        if (atomic_compare_exchange_weak_explicit(&s->tat_ns, &tat, from + interval,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
}

bool ratelimit_allow_at(long long token_id, int per_minute, int burst, uint64_t now_ns,
                        int *retry_after_s)
{
    return ask(token_id, per_minute, burst, now_ns, retry_after_s, true);
}

bool ratelimit_peek_at(long long token_id, int per_minute, int burst, uint64_t now_ns,
                       int *retry_after_s)
{
    return ask(token_id, per_minute, burst, now_ns, retry_after_s, false);
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* +1 s: a time of 0 means "never used" */
    return ((uint64_t)ts.tv_sec + 1) * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool ratelimit_allow(long long token_id, int per_minute, int burst, int *retry_after_s)
{
    return ratelimit_allow_at(token_id, per_minute, burst, monotonic_ns(), retry_after_s);
}

bool ratelimit_peek(long long token_id, int per_minute, int burst, int *retry_after_s)
{
    return ratelimit_peek_at(token_id, per_minute, burst, monotonic_ns(), retry_after_s);
}
