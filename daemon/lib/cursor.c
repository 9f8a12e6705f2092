/* Cursor = base64url("c1:" key), unpadded. */
#include "cursor.h"

#include <stdbool.h>
#include <string.h>

#include "util.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cursor_encode(const char *key)
{
    struct strbuf in, out;
    strbuf_init(&in);
    strbuf_init(&out);
    strbuf_puts(&in, "c1:");
    strbuf_puts(&in, key);
    const unsigned char *p = (const unsigned char *)in.data;
    for (size_t i = 0; i < in.len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < in.len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < in.len)
            v |= p[i + 2];
        char quad[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63]};
        size_t n = i + 2 < in.len ? 4 : i + 1 < in.len ? 3 : 2;
        strbuf_append(&out, quad, n);
    }
    strbuf_free(&in);
    return strbuf_detach(&out, NULL);
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int cursor_decode(const char *cursor, char *out, size_t outlen)
{
    size_t n = strnlen(cursor, CURSOR_MAX_CHARS + 1);
    if (n < 4 || n > CURSOR_MAX_CHARS || n % 4 == 1)
        return -1;
    unsigned char buf[CURSOR_MAX_CHARS];
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4) {
        unsigned v = 0;
        size_t k = 0;
        for (; k < 4 && i + k < n; k++) {
            int d = b64val(cursor[i + k]);
            if (d < 0)
                return -1;
            v |= (unsigned)d << (18 - 6 * k);
        }
        buf[len++] = (unsigned char)(v >> 16);
        if (k > 2)
            buf[len++] = (unsigned char)(v >> 8);
        if (k > 3)
            buf[len++] = (unsigned char)v;
        /* Unused low bits of a short final group must be zero: one spelling per cursor. */
        if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
            return -1;
    }
    size_t keylen = len - 3;
    if (len < 4 || memcmp(buf, "c1:", 3) != 0 || keylen >= outlen || keylen > CURSOR_MAX_KEY)
        return -1;
    for (size_t i = 3; i < len; i++) {
        unsigned char c = buf[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || c == '-';
        if (!ok)
            return -1;
    }
    memcpy(out, buf + 3, keylen);
    out[keylen] = '\0';
    return 0;
}
