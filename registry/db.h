/*
 * registry/db.h: the PostgreSQL side of optreg-server, one include for the
 * files that use all of it: the connection pool (pool.h), the migration
 * runner (migrate.h), the LISTEN thread (listener.h) and the helpers that
 * run statements and map their failures (sql.h).
 *
 * All SQL goes through PQexecParams on a pooled connection; none of these
 * modules builds SQL from values.
 */
#ifndef OPTREG_DB_H
#define OPTREG_DB_H

#include "../common/buf.h"
#include "../common/error.h"
#include "listener.h"
#include "migrate.h"
#include "pool.h"
#include "sql.h"

#endif
