/* The sentences of the priorities calculator: display names of subjects and groups, the
 * one-sentence rationale of each item and the reason a school is offered as support.
 * Each writes into the context's scratch buffer and keeps the result in the arena. */
#ifndef MATD_PRIO_TEXT_H
#define MATD_PRIO_TEXT_H

#include "prio_index.h"

/* The display names: subj_title, subj_lower, grp_phrase (and the name tables). */
void prio_text_names(struct ctx *c);

/* it->rationale for each kind; the item's figures are filled in first. scope is 0 for the
 * trust, s + 1 for school s. */
void prio_text_attainment(struct ctx *c, struct priorities_item *it, int subj, int grp, int scope);
void prio_text_gap(struct ctx *c, struct priorities_item *it, int subj, int scope);
void prio_text_trend(struct ctx *c, struct priorities_item *it, int subj, int grp, int scope);
void prio_text_sef_school(struct ctx *c, struct priorities_item *it, int s,
                          const struct priorities_sef_area *a);
/* The weak schools are c->tmp[0..weak). */
void prio_text_sef_trust(struct ctx *c, struct priorities_item *it, int area, size_t weak);
void prio_text_theme(struct ctx *c, struct priorities_item *it);
void prio_text_stuck_school(struct ctx *c, struct priorities_item *it, int subj, int s);
/* Appends the subject's trust-wide stuck pupils (it->stuck, in schools schools) to the
 * rationale of the trust item they ride on. */
void prio_text_stuck_trust(struct ctx *c, struct priorities_item *it, size_t schools);

/* Why school s gives support for a cell / SEF area: made once, shared by every receiver. */
char *prio_text_cell_reason(struct ctx *c, int subj, int grp, int s);
/* The same without the giver's figures (for a reader from another school). */
char *prio_text_cell_reason_plain(struct ctx *c, int subj, int grp, int s);
char *prio_text_sef_reason(struct ctx *c, int area, int s);

#endif
