/* Server TLS context: Mozilla "intermediate" profile (TLS 1.2 with ECDHE+AEAD, TLS 1.3). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static void ssl_error(const char *what, const char *file, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "tls: %s %s: %s", what, file ? file : "", buf);
    ERR_clear_error();
}

SSL_CTX *tls_context_new(const struct config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_error("cannot create context", NULL, err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* The same order for TLS 1.3 as for 1.2: AES-128-GCM first (OpenSSL's default puts
     * AES-256 first, and with the server's preference every client paid for it: a quarter
     * more CPU per byte on both ends for no security a trust needs), ChaCha20 for a client
     * that lists it first (a phone without AES instructions). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx,
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1 ||
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                      "TLS_CHACHA20_POLY1305_SHA256") != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
        ssl_error("cipher setup failed", NULL, err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"matd", 4);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        ssl_error("cannot load certificate", cfg->tls_cert, err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        ssl_error("cannot load key", cfg->tls_key, err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error("key does not match certificate", cfg->tls_key, err, errlen);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cfg->tls_client_ca && *cfg->tls_client_ca) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            ssl_error("cannot load client CA", cfg->tls_client_ca, err, errlen);
            SSL_CTX_free(ctx);
            return NULL;
        }
        /* Optional: a client without a certificate still gets in with a bearer token. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
    }
    return ctx;
}

int tls_peer_subject(SSL *ssl, char *out, size_t outlen)
{
    if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
        return -1;
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert)
        return -1;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return -1;
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    int n = BIO_read(bio, out, (int)outlen - 1);
    BIO_free(bio);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    return 0;
}
