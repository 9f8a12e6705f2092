/* The items of the priorities (SPEC 6.2): attainment, gap, trend, SEF, shared themes and
 * stuck pupils, at school and trust level, each with its figures, score and rationale.
 * Adds them to c->items unsorted and without ids (priorities.c does both). */
#ifndef MATD_PRIO_ITEMS_H
#define MATD_PRIO_ITEMS_H

#include "prio_index.h"

/* Every item of an indexed and evaluated context. */
void prio_items_build(struct ctx *c);

#endif
