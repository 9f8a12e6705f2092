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

void h_documents_init(void);
/* SEF and SIP alike (the route name, sef_* or sip_*, says which). */
void h_document_put(struct req *r);
void h_document_get(struct req *r);
void h_document_history(struct req *r);

void h_sip_init(void);
void h_sip_patch_milestone(struct req *r);
void h_sip_patch_criterion(struct req *r);
void h_monitoring(struct req *r);

void h_reference_init(void);
void h_terms_get(struct req *r);
void h_terms_put(struct req *r);
void h_benchmarks_get(struct req *r);
void h_benchmarks_put(struct req *r);

void h_progress_init(void);
void h_progress_put(struct req *r);
void h_progress_school_summary(struct req *r);
void h_progress_trust_summary(struct req *r);
void h_submissions_list(struct req *r);

/* Import profiles (h_import_profiles.c); initialised by h_progress_init, whose pushes
 * read them. */
void h_import_profiles_init(void);
void h_import_profile_put(struct req *r);
void h_import_profile_get(struct req *r);
/* A profile name: 1-64 of [a-z0-9_-], starting with a letter or digit. */
bool h_import_profile_name_ok(const char *name);

void h_priorities_init(void);
void h_priorities(struct req *r);
void h_school_priorities(struct req *r);
void h_support(struct req *r);
void h_thresholds_get(struct req *r);
void h_thresholds_put(struct req *r);

void h_briefing_init(void);
void h_briefing(struct req *r);

void h_pupils_init(void);
void h_pupils_lookup(struct req *r);

void h_experts_init(void);
void h_experts_put(struct req *r);
void h_experts_get(struct req *r);
void h_experts_delete(struct req *r);
void h_experts_list(struct req *r);

void h_deployments_init(void);
void h_deployments_get(struct req *r);
void h_deployments_publish(struct req *r);
void h_moderation(struct req *r);

void h_rotas_init(void);
void h_rotas_create(struct req *r);
void h_rotas_list(struct req *r);
void h_rotas_get(struct req *r);
void h_rotas_explain(struct req *r);
void h_rotas_publish(struct req *r);
void h_rotas_replan(struct req *r);
void h_school_triads(struct req *r);

void h_reviews_init(void);
void h_review_put(struct req *r);
void h_review_get(struct req *r);

void h_sessions_init(void);
void h_sessions_create(struct req *r);
void h_sessions_get(struct req *r);
void h_sessions_delete(struct req *r);

void h_app_init(void);
void h_app_index(struct req *r);
void h_app_asset(struct req *r);

#endif
