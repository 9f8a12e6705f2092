/* The demo trust's experts (SPEC 6.7) and a published deployment of them for 2025-26
 * spring, so that the demo shows who supports which school on what. */
#ifndef MATD_DEMO_EXPERTS_H
#define MATD_DEMO_EXPERTS_H
#include <libpq-fe.h>

/* Inserts the experts and publishes this term's plan, inside the caller's transaction.
 * Returns 0, or -1 after printing why. */
int demo_experts_load(PGconn *pg, const char *trust);

#endif
