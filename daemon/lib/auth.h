/* Identity and access: bearer-token format and hashing, roles, principals and the
 * scope rules of SPEC §1/§8. Pure: the token store lives in PostgreSQL (authn.c). */
#ifndef MATD_AUTH_H
#define MATD_AUTH_H
#include <stdbool.h>
#include <stddef.h>

enum role { ROLE_ADMIN, ROLE_CEO, ROLE_EXECUTIVE_HEAD, ROLE_SCHOOL, ROLE_COUNT };

#define AUTH_TOKEN_PREFIX "mat_"
#define AUTH_TOKEN_LEN (4 + 64) /* prefix + 256 bits in hex */
#define AUTH_HASH_LEN 32
/* A token's name: 200 code points (token_create.json's maxLength) of up to 4 bytes. */
#define AUTH_NAME_BYTES (200 * 4 + 1)

struct principal {
    long long token_id;
    enum role role;
    char name[AUTH_NAME_BYTES];
    int nurns;
    char (*urns)[7]; /* owned; school: exactly one; executive_head: its schools */
};

const char *role_name(enum role r);
int role_parse(const char *s, enum role *out);
/* True for a string of exactly six digits. */
bool urn_valid(const char *s);

/* Writes a fresh token (256 bits from the OpenSSL CSPRNG) into out[AUTH_TOKEN_LEN + 1]. */
int auth_token_generate(char *out);
/* Bearer value -> SHA-256; returns -1 when the value is not token-shaped. */
int auth_token_hash(const char *token, unsigned char out[AUTH_HASH_LEN]);
/* Extracts the token from an Authorization header value ("Bearer <t>"), or NULL. */
const char *auth_bearer(const char *header);

/* Scope rules. */
bool auth_trust_wide(const struct principal *p); /* admin, ceo */
bool auth_can_read_school(const struct principal *p, const char *urn);
bool auth_can_write_school(const struct principal *p, const char *urn); /* own school or admin */
bool auth_can_read_trust_aggregates(const struct principal *p); /* admin, ceo, executive_head */

/* Copies src into dst (deep). */
void principal_copy(struct principal *dst, const struct principal *src);
void principal_free(struct principal *p);
/* Parses a comma-separated URN list into p->urns; returns -1 naming the bad item. */
int principal_set_urns(struct principal *p, const char *list, char *err, size_t errlen);

#endif
