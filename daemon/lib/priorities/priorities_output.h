/* The writers of a priorities list: JSON and CSV of the items and of the support
 * matches. The same list and options give the same bytes. */
#ifndef MATD_PRIORITIES_OUTPUT_H
#define MATD_PRIORITIES_OUTPUT_H

#include "priorities.h"

/* ---- serialisation: same list and options give the same bytes ---- */

struct priorities_output_opts {
    /* Emit "pupils" (the keys) on school-level stuck_pupils items: only for the school
     * itself and admin. Trust-level items never carry keys. */
    bool include_pupil_keys;
    /* When non-NULL, "schools" and per-school detail list only these URNs (a school's or
     * an executive head's view of trust-level items); givers are always shown. */
    const char *const *visible_schools;
    size_t n_visible_schools;
    /* A reader from one school: givers (other schools) are named with why, without their
     * figures (reason_plain). */
    bool givers_without_figures;
};

/* {"year","term","items":[...]} (application/json). Returns owned NUL-terminated bytes;
 * *len (if not NULL) gets their length. opts may be NULL (no keys, all schools). */
char *priorities_to_json(const struct priorities_list *list,
                         const struct priorities_output_opts *opts, size_t *len);
/* One header row, then one CRLF-terminated row per item (text/csv, RFC 4180). */
char *priorities_to_csv(const struct priorities_list *list,
                        const struct priorities_output_opts *opts, size_t *len);
/* GET /v1/support: {"year","term","items":[{"receiver","priority_id","kind",
 * "subject"|"area","group","score","givers":[...]}]} over the list's school-level
 * items, in list order. */
char *priorities_support_to_json(const struct priorities_list *list, size_t *len);
/* The same as CSV: one row per (receiver item, giver); an item without givers gets one
 * row with the giver columns empty. */
char *priorities_support_to_csv(const struct priorities_list *list, size_t *len);

#endif
