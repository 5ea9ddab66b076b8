/*
 * registry/svc/jobs.c: the jobs and verdicts services. See jobs.h.
 */
#include "jobs.h"

#include "../registry.h"
#include "../store/jobs.h"
#include "svc.h"

int optreg_jobs_lease(struct registry *reg,
		      const struct optreg_audit_actor *who,
		      const char *const *patterns, size_t npatterns,
		      const char *runner, int lease_seconds, json_t **job,
		      struct optreg_errors *errs)
{
	*job = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_jobs_lease(c, patterns, npatterns, runner,
					       lease_seconds, who, job, errs));
}

int optreg_jobs_heartbeat(struct registry *reg, long long id, const char *token,
			  int lease_seconds, json_t **out,
			  struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_jobs_heartbeat(c, id, token, lease_seconds,
						   out, errs));
}

int optreg_jobs_verdict(struct registry *reg,
			const struct optreg_audit_actor *who, long long id,
			const char *token, const struct optreg_dsse *env,
			const char *envelope_canon, bool *created, json_t **out,
			struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_jobs_verdict(c, id, token, env,
						 envelope_canon, who, created,
						 out, errs));
}

int optreg_verdicts_list(struct registry *reg, const char *ns, const char *name,
			 int version, json_t **out, struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(
		reg, c,
		optreg_store_verdicts_list(c, ns, name, version, out, errs));
}

int optreg_jobs_list(struct registry *reg, const char *ns, const char *name,
		     int version, json_t **out, struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_jobs_list(c, ns, name, version, out, errs));
}
