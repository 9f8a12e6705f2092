/* HTTP/1.1 request heads, chunked bodies, query strings and dates (RFC 9110, RFC 9112),
 * strict where leniency lets a request be read two ways: a chunked body's framing is CRLF
 * only (a head's lines may end in a bare LF, as RFC 9112 §2.2 allows). */
#include "http1.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "util.h"

size_t http1_head_end(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (p < end && *p == '\n')
            return (size_t)(p + 1 - buf);
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            return (size_t)(p + 2 - buf);
    }
    return 0;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 3986 pchar and '/', with '%' (escapes are checked by whoever decodes them). */
static bool is_path_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~%!$&'()*+,;=:@/", c) != NULL);
}

/* Query and fragment: printable ASCII but the few a client must escape. */
static bool is_query_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

/* RFC 3986 unreserved and sub-delims: what a reg-name holds besides percent escapes. */
static bool is_host_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* A Host field value (RFC 9110 §7.2, RFC 9112 §3.2): uri-host [ ":" port ], where uri-host
 * is an IP literal in brackets (IPv6 or IPvFuture, its characters checked, not its
 * grammar), an IPv4 address or a reg-name (which covers IPv4), and port is digits. Empty
 * is valid (a target without an authority). */
static bool host_valid(const char *v)
{
    const char *p = v;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end || end == p + 1)
            return false;
        bool future = p[1] == 'v' || p[1] == 'V';
        for (p++; p < end; p++)
            if (!(future ? is_host_char((unsigned char)*p) || *p == ':'
                         : hex_value(*p) >= 0 || *p == ':' || *p == '.'))
                return false;
        p = end + 1;
    } else {
        for (; *p && *p != ':'; p++) {
            if (*p == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0)
                p += 2;
            else if (!is_host_char((unsigned char)*p))
                return false;
        }
    }
    if (*p == ':')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    return *p == '\0';
}

/* Whether the comma-separated list value holds token (any case). */
static bool list_has(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == n && strncasecmp(p, token, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* One line of text, NUL-terminated in place without its CR LF. Returns the next line (the
 * end of the text when this is the last). */
static char *cut_line(char *line)
{
    char *eol = strchr(line, '\n');
    char *next = eol ? eol + 1 : line + strlen(line);
    if (!eol)
        eol = next;
    *eol = '\0';
    if (eol > line && eol[-1] == '\r')
        eol[-1] = '\0';
    return next;
}

static void parse_target(char *target, struct http1_head *h)
{
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        char *slash = strchr(strstr(target, "://") + 3, '/');
        target = slash ? slash : (char *)"/"; /* absolute form: its path */
    }
    if (*target != '/') {
        h->bad = "the request target is malformed";
        return;
    }
    char *hash = strchr(target, '#');
    if (hash)
        *hash = '\0';
    char *q = strchr(target, '?');
    if (q) {
        *q++ = '\0';
        h->query = q;
        for (const char *p = q; *p; p++)
            if (!is_query_char((unsigned char)*p)) {
                h->bad = "the query string holds a character that must be escaped";
                break;
            }
    }
    h->path = target;
    for (const char *p = target; *p; p++)
        if (!is_path_char((unsigned char)*p)) {
            h->bad = "the path holds a character that must be escaped";
            break;
        }
}

static void parse_request_line(char *line, struct http1_head *h)
{
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ')) {
        h->bad = "the request line is malformed";
        return;
    }
    *sp1 = *sp2 = '\0';
    for (const char *p = line; *p; p++)
        if (!is_tchar((unsigned char)*p)) {
            h->bad = "the request line is malformed";
            return;
        }
    h->method = line;
    const char *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") == 0)
        h->minor = 1;
    else if (strcmp(version, "HTTP/1.0") == 0)
        h->minor = 0;
    else
        h->bad = "only HTTP/1.1 and HTTP/1.0 are spoken here";
    parse_target(sp1 + 1, h);
}

static void parse_content_length(struct http1_head *h, const char *value)
{
    size_t n = strlen(value);
    uint64_t v = 0;
    bool digits = n > 0 && n <= 18;
    for (size_t i = 0; digits && i < n; i++) {
        digits = value[i] >= '0' && value[i] <= '9';
        v = v * 10 + (uint64_t)(value[i] - '0');
    }
    if (!digits || (h->has_len && h->len != v))
        h->bad = "Content-Length is not one decimal number";
    h->has_len = true;
    h->len = v;
}

static void parse_field(struct http1_head *h, const char *name, const char *value)
{
    if (strcasecmp(name, "Content-Length") == 0) {
        parse_content_length(h, value);
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (strcasecmp(value, "chunked") != 0 || h->chunked)
            h->bad = "the only Transfer-Encoding accepted is chunked, once";
        h->chunked = true;
    } else if (strcasecmp(name, "Expect") == 0) {
        if (strcasecmp(value, "100-continue") == 0)
            h->expect_continue = true;
        else
            h->expect_other = true;
    }
}

size_t http1_max_fields(const char *text, size_t len)
{
    size_t n = 0;
    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n;
}

void http1_parse_head(char *text, size_t len, struct http1_head *h, struct http1_field *fields,
                      int maxfields)
{
    memset(h, 0, sizeof *h);
    h->fields = fields;
    h->maxfields = maxfields;
    h->method = "";
    h->path = "/";
    if (memchr(text, '\0', len)) {
        h->bad = "the request head holds a NUL byte";
        return;
    }
    text[len - 1] = '\0'; /* the last LF: every line below ends at an LF or at this NUL */
    char *line = text, *next = cut_line(line);
    parse_request_line(line, h);
    bool conn_close = false, conn_keep = false; /* every Connection line counts */
    int hosts = 0;
    const char *host = NULL;
    for (line = next; !h->bad && *line; line = next) {
        next = cut_line(line);
        if (!*line)
            break;
        if (*line == ' ' || *line == '\t') {
            h->bad = "folded header lines are not accepted";
            break;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            h->bad = "a header line has no name and colon";
            break;
        }
        *colon = '\0';
        for (const char *p = line; *p; p++)
            if (!is_tchar((unsigned char)*p)) {
                h->bad = "a header name holds a character not allowed there";
                break;
            }
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        for (const char *p = v; *p && !h->bad; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t')
                h->bad = "a header value holds a control character";
        if (h->bad)
            break;
        if (h->nfields == h->maxfields) {
            h->bad = "more header lines than room was given for";
            break;
        }
        h->fields[h->nfields++] = (struct http1_field){line, v};
        parse_field(h, line, v);
        if (strcasecmp(line, "Connection") == 0) {
            conn_close = conn_close || list_has(v, "close");
            conn_keep = conn_keep || list_has(v, "keep-alive");
        } else if (strcasecmp(line, "Host") == 0) {
            hosts++;
            host = v;
        }
    }
    /* RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request with
     * more than one Host line or an invalid one (HTTP/1.0 may leave it out). */
    if (!h->bad && hosts > 1)
        h->bad = "more than one Host header line";
    if (!h->bad && hosts == 0 && h->minor == 1)
        h->bad = "an HTTP/1.1 request needs a Host header";
    if (!h->bad && host && !host_valid(host))
        h->bad = "the Host header is not a host name or address with an optional port";
    if (!h->bad && h->has_len && h->chunked)
        h->bad = "Content-Length and Transfer-Encoding together";
    if (!h->bad && h->chunked && h->minor == 0)
        h->bad = "a chunked body needs HTTP/1.1";
    h->keep_alive = !conn_close && (h->minor == 1 || conn_keep);
}

const char *http1_field(const struct http1_head *h, const char *name)
{
    for (int i = 0; i < h->nfields; i++)
        if (strcasecmp(h->fields[i].name, name) == 0)
            return h->fields[i].value;
    return NULL;
}

/* ---- chunked bodies ---- */

enum {
    CH_SIZE,    /* the chunk size's hex digits */
    CH_EXT,     /* a chunk extension, ignored to the end of the line */
    CH_SIZE_LF, /* the LF after the size line's CR */
    CH_DATA,    /* st->left bytes of the chunk */
    CH_DATA_CR, /* the CRLF after a chunk */
    CH_DATA_LF, /* the LF of it */
    CH_TRAILER, /* the start of a trailer line, or of the final empty line */
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF, /* the LF of the final empty line */
    CH_DONE,
};

#define CH_LINE_MAX 1024     /* a size line with its extensions */
#define CH_TRAILER_MAX 8192u /* all trailer lines */

static size_t chunk_fail(struct http1_chunked *st, const char *why)
{
    st->bad = why;
    return 0;
}

/* The end of a size line: a chunk follows, or (size 0) the trailers. */
static void size_line_done(struct http1_chunked *st)
{
    st->state = st->left ? CH_DATA : CH_TRAILER;
    st->line = 0;
}

size_t http1_chunked_feed(struct http1_chunked *st, const char *in, size_t n, const char **data,
                          size_t *data_len)
{
    *data = NULL;
    *data_len = 0;
    size_t i = 0;
    while (i < n && !st->bad && st->state != CH_DONE) {
        char c = in[i];
        switch (st->state) {
        case CH_SIZE: {
            int v = hex_value(c);
            if (v >= 0) {
                if (st->line >= 15)
                    return chunk_fail(st, "a chunk size is too large");
                st->left = st->left * 16 + (uint64_t)v;
                st->line++;
            } else if (st->line == 0) {
                return chunk_fail(st, "a chunk size is not hexadecimal");
            } else if (c == ';' || c == ' ' || c == '\t') {
                st->state = CH_EXT;
            } else if (c == '\r') {
                st->state = CH_SIZE_LF;
            } else {
                return chunk_fail(st, "a chunk size is not hexadecimal");
            }
            i++;
            break;
        }
        case CH_EXT:
            if (++st->line > CH_LINE_MAX)
                return chunk_fail(st, "a chunk's size line is too long");
            if (c == '\n')
                return chunk_fail(st, "a chunk size line does not end in CRLF");
            if (c == '\r')
                st->state = CH_SIZE_LF;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return chunk_fail(st, "a chunk size line does not end in CRLF");
            size_line_done(st);
            i++;
            break;
        case CH_DATA: {
            size_t k = n - i < st->left ? n - i : (size_t)st->left;
            *data = in + i;
            *data_len = k;
            st->left -= k;
            if (st->left == 0)
                st->state = CH_DATA_CR;
            return i + k;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return chunk_fail(st, "a chunk is longer than its size");
            st->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return chunk_fail(st, "a chunk is longer than its size");
            st->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (c == '\n')
                return chunk_fail(st, "the chunked body does not end in CRLF");
            st->state = c == '\r' ? CH_END_LF : CH_TRAILER_LINE;
            i++;
            break;
        case CH_TRAILER_LINE:
            if (++st->line > CH_TRAILER_MAX)
                return chunk_fail(st, "the trailer lines are too long");
            if (c == '\n')
                return chunk_fail(st, "a trailer line does not end in CRLF");
            if (c == '\r')
                st->state = CH_TRAILER_LF;
            i++;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return chunk_fail(st, "a trailer line does not end in CRLF");
            st->state = CH_TRAILER;
            i++;
            break;
        case CH_END_LF:
            if (c != '\n')
                return chunk_fail(st, "the chunked body does not end in CRLF");
            st->state = CH_DONE;
            i++;
            break;
        }
    }
    return st->bad ? 0 : i;
}

bool http1_chunked_done(const struct http1_chunked *st)
{
    return st->state == CH_DONE;
}

/* ---- query strings ---- */

static void decode_in_place(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '+') {
            *out++ = ' ';
        } else if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

int http1_query_split(char *q, struct http1_field *out, int max)
{
    int n = 0;
    while (q && *q) {
        char *pair = q, *amp = strchr(q, '&');
        if (amp)
            *amp = '\0';
        q = amp ? amp + 1 : NULL;
        if (!*pair) /* "a=1&&b=2", a trailing '&': nothing between */
            continue;
        if (n == max)
            return -1;
        char *eq = strchr(pair, '='), *value = pair + strlen(pair); /* "x" is "x=" */
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        decode_in_place(pair);
        decode_in_place(value);
        out[n++] = (struct http1_field){pair, value};
    }
    return n;
}

static bool name_listed(const char *names, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = names + strspn(names, ", "); *p;) {
        size_t word = strcspn(p, ", ");
        if (word == len && memcmp(p, name, len) == 0)
            return true;
        p += word;
        p += strspn(p, ", ");
    }
    return false;
}

int http1_query_check(const struct http1_field *kv, int n, const char *allowed,
                      struct mat_errors *errs)
{
    if (allowed && strcmp(allowed, "*") == 0)
        return 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int before = 0; /* earlier pairs of the same name: reported at the second only */
        for (int j = 0; j < i; j++)
            before += strcmp(kv[j].name, kv[i].name) == 0;
        if (before == 1) {
            mat_errors_add(errs, kv[i].name, "the query parameter \"%s\" is given more than once",
                           kv[i].name);
            bad++;
        } else if (before == 0 && (!allowed || !name_listed(allowed, kv[i].name))) {
            mat_errors_add(errs, kv[i].name, "unknown query parameter \"%s\"; this route takes %s",
                           kv[i].name, allowed && *allowed ? allowed : "none");
            bad++;
        }
    }
    return bad;
}

void http1_date(time_t t, char out[30])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[64];
    snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour % 100,
             tm.tm_min % 100, tm.tm_sec % 100);
    memcpy(out, text, 29);
    out[29] = '\0';
}
