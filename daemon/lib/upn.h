/* Pupil references: the DfE Unique Pupil Number (UPN) with its check letter, or a
 * school's own opaque id. The rule matd applies to every pushed reference lives here, so
 * the JSON and CSV paths and the docs agree. */
#ifndef MATD_UPN_H
#define MATD_UPN_H
#include <stdbool.h>
#include <stddef.h>

#define UPN_LEN 13
#define PUPIL_REF_MAX 64

/* The check letter for characters 2..13 of a 13-character UPN (digits, the 13th may be a
 * letter for a temporary UPN), or 0 when those characters are not of that form. */
char upn_check_letter(const char *upn);

/* True when s is exactly a valid UPN: 13 characters, upper case, check letter right. */
bool upn_valid(const char *s);

/* True when s[0..len) has the shape of a UPN (a letter, 11 digits, then a digit or a
 * letter; either case), whether or not its check letter is right. */
bool upn_shaped(const char *s, size_t len);

enum pupil_ref_status {
    PUPIL_REF_OK,
    PUPIL_REF_BAD_FORM, /* not 1..64 of [A-Za-z0-9_-] */
    PUPIL_REF_BAD_UPN,  /* UPN-shaped with a wrong check letter or a bad final letter */
};

/* Checks a pupil reference s[0..len) against matd's rule:
 *   - a UPN-shaped reference must be a valid UPN; it is upper-cased so that the same
 *     pupil keys the same however the MIS cased it;
 *   - anything else is an opaque id of 1..64 characters from [A-Za-z0-9_-], kept as is.
 * On PUPIL_REF_OK the canonical form is written to canon (NUL-terminated). Otherwise
 * msg gets a sentence for the error list, without echoing the reference. */
enum pupil_ref_status pupil_ref_check(const char *s, size_t len, char canon[PUPIL_REF_MAX + 1],
                                      char *msg, size_t msglen);

#endif
