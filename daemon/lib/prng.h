/* The one pseudo-random generator of matd: splitmix64 for seeding and one-off streams,
 * xoshiro256** for long reproducible sequences (the rota planner, the demo trust).
 * Deterministic for a seed; never rand(). Not for secrets (use OpenSSL's RAND_bytes). */
#ifndef MATD_PRNG_H
#define MATD_PRNG_H
#include <stdint.h>

/* Advances *state and returns the next splitmix64 output. */
uint64_t prng_splitmix64(uint64_t *state);

struct prng {
    uint64_t s[4];
};

/* Seeds the xoshiro256** state from one 64-bit seed (through splitmix64). */
void prng_seed(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/* Uniform in [0, n) for n >= 1 (Lemire's multiply; bias below 2^-32). */
int prng_below(struct prng *r, int n);
/* Uniform in [0, 1). */
double prng_unit(struct prng *r);

#endif
