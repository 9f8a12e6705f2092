/* Route handlers, one module per resource (h_*.c). Each registers its prepared
 * statements in its *_init(), called once before the workers start. */
#ifndef MATD_HANDLERS_H
#define MATD_HANDLERS_H
#include "request.h"

void h_system_init(void);
void h_healthz(struct req *r);
void h_readyz(struct req *r);
void h_metrics(struct req *r);
void h_me(struct req *r);

void h_tokens_init(void);
void h_tokens_create(struct req *r);
void h_tokens_list(struct req *r);
void h_tokens_revoke(struct req *r);
void h_audit_list(struct req *r);

void h_schools_init(void);
void h_schools_list(struct req *r);
void h_schools_create(struct req *r);
void h_schools_get(struct req *r);
void h_schools_patch(struct req *r);

#endif
