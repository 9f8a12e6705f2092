/* Counts of events per key (client address, token id, status) over a period, in bounded
 * memory: the first max_keys keys have a row each, later ones share one overflow row
 * ("*", token 0, status 0). What a flood of denied requests becomes, for the audit log
 * (server/denials.c) and for the request log, instead of a write or a line per request. */
#ifndef MATD_TALLY_H
#define MATD_TALLY_H
#include <stddef.h>

struct tally_row {
    char addr[64];
    long long token_id; /* 0: no token */
    int status;
    long count; /* in this period */
};

struct tally;

/* Returns owned; max_keys at least 1. */
struct tally *tally_new(size_t max_keys);
void tally_free(struct tally *t);
/* Counts one event under its key and returns the key's count in this period so far (1 for
 * its first), or 0 when the table was full and the event went to the overflow row. */
long tally_count(struct tally *t, const char *addr, long long token_id, int status);
/* The period's rows: keys in the order they first came, then the overflow row if it counted
 * anything. Borrowed until the next tally_count or tally_reset. */
size_t tally_nrows(const struct tally *t);
const struct tally_row *tally_row(const struct tally *t, size_t i);
/* Starts a new period: every count back to nothing. */
void tally_reset(struct tally *t);

#endif
