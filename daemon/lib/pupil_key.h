/* Pseudonymous pupil keys: HMAC-SHA256(trust secret, pupil reference) truncated to 16
 * bytes. matd stores and compares only these; the raw reference is never kept. The same
 * reference under the same secret always gives the same key. */
#ifndef MATD_PUPIL_KEY_H
#define MATD_PUPIL_KEY_H
#include <stddef.h>

#define PUPIL_KEY_LEN 16

/* One-shot key of the NUL-terminated ref. secret_len must be > 0 (an empty secret is a
 * broken invariant: fatal). */
void pupil_key(const unsigned char *secret, size_t secret_len, const char *ref,
               unsigned char out[PUPIL_KEY_LEN]);
/* Lower-case hex of a key (33 bytes with the NUL). */
void pupil_key_hex(const unsigned char key[PUPIL_KEY_LEN], char out[2 * PUPIL_KEY_LEN + 1]);

/* A keyer holds the HMAC state for one secret so that keying many references (a
 * 30,000-row push) does not redo the key schedule each time. One keyer per thread. */
struct pupil_keyer;
/* Returns owned; the secret is copied. */
struct pupil_keyer *pupil_keyer_new(const unsigned char *secret, size_t secret_len);
void pupil_keyer_free(struct pupil_keyer *k);
void pupil_keyer_key(struct pupil_keyer *k, const char *ref, size_t len,
                     unsigned char out[PUPIL_KEY_LEN]);

#endif
