/* What h_priorities.c shares with the handlers built on the computed priorities (the
 * briefing): the cached list of a (year, term), held for as long as a request needs it. */
#ifndef MATD_H_PRIORITIES_H
#define MATD_H_PRIORITIES_H

#include "briefing.h"
#include "priorities.h"
#include "request.h"

struct prio_cached;
typedef void (*prio_serve_fn)(struct req *r, struct prio_cached *c);

/* GET with ?year=&term=: loads (or takes from the cache) the trust's priorities, then
 * calls h_briefing_serve(r, c) on r's loop. Answers 4xx/5xx itself. */
void prio_start_briefing(struct req *r);
void h_briefing_serve(struct req *r, struct prio_cached *c);
/* The same for (year, term) checked by the caller, then serve(r, c). */
void prio_start_for(struct req *r, const char *year, const char *term, prio_serve_fn custom);

const struct priorities_list *prio_cached_list(const struct prio_cached *c);
/* What r's principal may see of the cells behind c's items (SPEC §8): the masks of the
 * trust (admin, ceo, a school, which also sees its own cells), or of an executive head's
 * schools. Valid while r holds c (serve is called with it ready). */
void prio_cohort(const struct req *r, const struct prio_cached *c, struct priorities_cohort *co);
/* The trust-wide masks of c: what admin and the CEO read (valid while c is held). */
void prio_cached_cohort(const struct prio_cached *c, struct priorities_cohort *co);
const struct briefing_headline *prio_cached_headline(const struct prio_cached *c);
/* Keeps c alive until r ends (for a database job after serve returns). */
void prio_hold(struct req *r, struct prio_cached *c);
const char *prio_year(const struct req *r);
const char *prio_term(const struct req *r);
/* The calling handler's own state, freed with the request (takes extra). */
void prio_set_extra(struct req *r, void *extra, void (*extra_free)(void *));
void *prio_extra(const struct req *r);

#endif
