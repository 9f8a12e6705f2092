/* Per-token request rate limit (token bucket), shared by all workers of a process through
 * a striped table (no process-wide lock on the request path). */
#ifndef MATD_RATELIMIT_H
#define MATD_RATELIMIT_H
#include <stdbool.h>

/* Takes one request from the token's bucket. False when empty; *retry_after_s then
 * says when one will be available. per_minute 0 disables the limit. */
bool ratelimit_allow(long long token_id, int per_minute, int burst, int *retry_after_s);

#endif
