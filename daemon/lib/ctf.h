/* The DfE common transfer file (CTF, XML) as a progress push (SPEC 4.3): read as a stream
 * with libxml2's xmlTextReader over the request body (no file or network I/O, no DTD, no
 * entities), keeping only the UPN, the NC year, the groups matd keeps (FSM history ->
 * disadvantaged, SEN provision, first language -> EAL, looked after, sex) and the
 * assessment results for the academic year's subjects. Names, dates of birth, addresses,
 * phones, e-mails and contacts are skipped unread; errors name a pupil by position and
 * element ("pupil 3:NCyearActual"), never by name. Pure. */
#ifndef MATD_CTF_H
#define MATD_CTF_H
#include <stddef.h>

#include "errors.h"
#include "progress_parse.h"

/* opts as for progress_parse_csv (profile ignored); year is the push's academic year
 * ("2025-26"): results of that year are kept, and FSM in the six years before its
 * January census makes a pupil disadvantaged ("Ever 6"). Error paths are
 * "pupil <p>:<element>" with p the pupil's 1-based position in the file, or "line <l>"
 * for XML that cannot be read. */
enum progress_result progress_parse_ctf(const char *buf, size_t len,
                                        const struct progress_parse_opts *opts, const char *year,
                                        struct progress_set *out, struct mat_errors *errs);

#endif
