/* HMAC-SHA256 pupil keys through OpenSSL 3's EVP_MAC. A keyer initialises the MAC with
 * the secret once; each key re-initialises it with a NULL key, which reuses the prepared
 * inner and outer digests. */
#include "pupil_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pupil_keyer {
    EVP_MAC_CTX *ctx;
};

struct pupil_keyer *pupil_keyer_new(const unsigned char *secret, size_t secret_len)
{
    if (!secret || secret_len == 0)
        fatal("pupil keys need a non-empty trust secret");
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        fatal("HMAC is not available from OpenSSL");
    struct pupil_keyer *k = xcalloc(1, sizeof *k);
    k->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!k->ctx || EVP_MAC_init(k->ctx, secret, secret_len, params) != 1)
        fatal("cannot initialise HMAC-SHA256");
    return k;
}

void pupil_keyer_free(struct pupil_keyer *k)
{
    if (!k)
        return;
    EVP_MAC_CTX_free(k->ctx);
    free(k);
}

void pupil_keyer_key(struct pupil_keyer *k, const char *ref, size_t len,
                     unsigned char out[PUPIL_KEY_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(k->ctx, (const unsigned char *)ref, len) != 1 ||
        EVP_MAC_final(k->ctx, md, &n, sizeof md) != 1 || n < PUPIL_KEY_LEN)
        fatal("HMAC-SHA256 failed");
    memcpy(out, md, PUPIL_KEY_LEN);
    OPENSSL_cleanse(md, sizeof md);
}

void pupil_key(const unsigned char *secret, size_t secret_len, const char *ref,
               unsigned char out[PUPIL_KEY_LEN])
{
    struct pupil_keyer *k = pupil_keyer_new(secret, secret_len);
    pupil_keyer_key(k, ref, strlen(ref), out);
    pupil_keyer_free(k);
}

void pupil_key_hex(const unsigned char key[PUPIL_KEY_LEN], char out[2 * PUPIL_KEY_LEN + 1])
{
    hex_encode(key, PUPIL_KEY_LEN, out);
}
