/* Token format, hashing and the role/scope rules. */
#include "auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const role_names[ROLE_COUNT] = {"admin", "ceo", "executive_head", "school"};

const char *role_name(enum role r)
{
    return (unsigned)r < ROLE_COUNT ? role_names[r] : "unknown";
}

int role_parse(const char *s, enum role *out)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum role)i;
            return 0;
        }
    return -1;
}

bool urn_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[6] == '\0';
}

int auth_token_generate(char *out)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, AUTH_TOKEN_PREFIX, 4);
    hex_encode(raw, sizeof raw, out + 4);
    return 0;
}

int auth_token_hash(const char *token, unsigned char out[AUTH_HASH_LEN])
{
    size_t n = strlen(token);
    if (n != AUTH_TOKEN_LEN || memcmp(token, AUTH_TOKEN_PREFIX, 4) != 0)
        return -1;
    for (size_t i = 4; i < n; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
    }
    unsigned int len = 0;
    if (EVP_Digest(token, n, out, &len, sha256_md(), NULL) != 1 || len != AUTH_HASH_LEN)
        return -1;
    return 0;
}

const char *auth_bearer(const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return *header ? header : NULL;
}

static bool has_urn(const struct principal *p, const char *urn)
{
    for (int i = 0; i < p->nurns; i++)
        if (strcmp(p->urns[i], urn) == 0)
            return true;
    return false;
}

bool auth_trust_wide(const struct principal *p)
{
    return p->role == ROLE_ADMIN || p->role == ROLE_CEO;
}

bool auth_can_read_school(const struct principal *p, const char *urn)
{
    return auth_trust_wide(p) || has_urn(p, urn);
}

bool auth_can_write_school(const struct principal *p, const char *urn)
{
    return p->role == ROLE_ADMIN || (p->role == ROLE_SCHOOL && has_urn(p, urn));
}

bool auth_can_read_trust_aggregates(const struct principal *p)
{
    return p->role != ROLE_SCHOOL;
}

void principal_copy(struct principal *dst, const struct principal *src)
{
    *dst = *src;
    dst->urns = NULL;
    if (src->nurns) {
        dst->urns = xcalloc((size_t)src->nurns, sizeof *dst->urns);
        memcpy(dst->urns, src->urns, (size_t)src->nurns * sizeof *dst->urns);
    }
}

void principal_free(struct principal *p)
{
    free(p->urns);
    p->urns = NULL;
    p->nurns = 0;
}

int principal_set_urns(struct principal *p, const char *list, char *err, size_t errlen)
{
    principal_free(p);
    if (!list || !*list)
        return 0;
    size_t cap = 1;
    for (const char *c = list; *c; c++)
        cap += *c == ',';
    p->urns = xcalloc(cap, sizeof *p->urns);
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char urn[16];
        if (n >= sizeof urn || (memcpy(urn, s, n), urn[n] = '\0', !urn_valid(urn))) {
            snprintf(err, errlen, "\"%.*s\" is not a URN (six digits)", (int)(n > 20 ? 20 : n), s);
            principal_free(p);
            return -1;
        }
        bool dup = has_urn(p, urn);
        if (!dup)
            memcpy(p->urns[p->nurns++], urn, 7);
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}
