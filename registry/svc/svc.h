/*
 * registry/svc/svc.h: what the services of registry/svc/ share.
 *
 * A service function is
 *   int optreg_<noun>_<verb>(struct registry *reg,
 *                            const struct optreg_audit_actor *who,
 *                            <input>, <output>, struct optreg_errors *errs)
 * (`who` only where the call is audited). It takes a pooled connection and
 * returns it, runs its own transaction, and returns 0 or a negative
 * OPTREG_E* code with errors in `errs`. It knows nothing of HTTP.
 * OPTREG_EUNAVAILABLE without an error means no connection could be had.
 */
#ifndef OPTREG_SVC_H
#define OPTREG_SVC_H

#include <libpq-fe.h>

struct registry;

/* A pooled connection, or NULL after reg->db_wait_ms. */
PGconn *optreg_svc_conn(struct registry *reg);
/* Returns `c` to the pool; `rc` OPTREG_EUNAVAILABLE drops it as broken. */
void optreg_svc_put(struct registry *reg, PGconn *c, int rc);

/*
 * The body of a service call that is one store call: takes a connection
 * named `conn`, returns OPTREG_EUNAVAILABLE without one, evaluates `call`
 * (which uses `conn`), returns the connection and the result.
 */
#define OPTREG_SVC_RUN(reg, conn, call)                                        \
	do {                                                                   \
		PGconn *conn = optreg_svc_conn(reg);                           \
		if (!conn)                                                     \
			return OPTREG_EUNAVAILABLE;                            \
		int rc_ = (call);                                              \
		optreg_svc_put(reg, conn, rc_);                                \
		return rc_;                                                    \
	} while (0)

#endif
