/* TLS contexts for the server: TLS 1.2/1.3 only, modern ciphers, optional client
 * certificates; and reading the verified client certificate of a connection. */
#ifndef MATD_TLS_H
#define MATD_TLS_H
#include <openssl/ssl.h>
#include <stddef.h>

#include "config.h"

/* Returns a new context, or NULL with err filled (bad file, key mismatch, ...). */
SSL_CTX *tls_context_new(const struct config *cfg, char *err, size_t errlen);
/* Subject of the peer's verified certificate as an RFC 2253 string into out, or -1. */
int tls_peer_subject(SSL *ssl, char *out, size_t outlen);
#endif
