/* Per-token request rate limit (a token bucket kept as GCRA), shared by all workers of a
 * process without a lock: one compare-and-swap per request. */
#ifndef MATD_RATELIMIT_H
#define MATD_RATELIMIT_H
#include <stdbool.h>
#include <stdint.h>

/* Takes one request from the token's bucket (burst requests at most at once, refilled at
 * per_minute). False when empty; *retry_after_s then says when one will be available (at
 * least 1). per_minute 0 disables the limit. */
bool ratelimit_allow(long long token_id, int per_minute, int burst, int *retry_after_s);
/* The same at a given time (nanoseconds on a monotonic clock, above 0): for tests. */
bool ratelimit_allow_at(long long token_id, int per_minute, int burst, uint64_t now_ns,
                        int *retry_after_s);
/* Whether the bucket has a request to give now, without taking it (a budget charged only
 * for what went wrong asks first, then takes with ratelimit_allow after a failure). False
 * when empty, with *retry_after_s as for ratelimit_allow. */
bool ratelimit_peek(long long token_id, int per_minute, int burst, int *retry_after_s);
bool ratelimit_peek_at(long long token_id, int per_minute, int burst, uint64_t now_ns,
                       int *retry_after_s);

#endif
