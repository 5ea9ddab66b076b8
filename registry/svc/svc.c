/*
 * registry/svc/svc.c: connections for the services. See svc.h.
 */
#include "svc.h"

#include "../../common/error.h"
#include "../registry.h"

PGconn *optreg_svc_conn(struct registry *reg)
{
	return optreg_pool_get(reg->db, reg->db_wait_ms);
}

void optreg_svc_put(struct registry *reg, PGconn *c, int rc)
{
	optreg_pool_put(reg->db, c, rc == OPTREG_EUNAVAILABLE);
}
