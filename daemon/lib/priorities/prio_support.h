/* School-to-school support (SPEC 6.4): for a school-level item, up to three other schools
 * strong where it is weak (the same cell significantly above benchmark, or the same SEF
 * area graded 4 or 5), same phase first, then nearest, then URN. */
#ifndef MATD_PRIO_SUPPORT_H
#define MATD_PRIO_SUPPORT_H

#include "prio_index.h"

/* Indexes the candidates of an evaluated context (once, before any item). */
void prio_support_build(struct ctx *c);
/* Fills it->support of a school-level item. */
void prio_support_for_item(struct ctx *c, struct priorities_item *it);
void prio_support_index_free(struct cand_index *ix);

#endif
