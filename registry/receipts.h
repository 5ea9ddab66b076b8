/*
 * registry/receipts.h: receipts: the registry's signed statement that it
 * accepted a version, with the audit event's inclusion proof.
 */
#ifndef OPTREG_RECEIPTS_H
#define OPTREG_RECEIPTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "registry_key.h"

#include "../common/media.h"
#include "audit.h"

/* Builds and signs the receipt of a new version whose audit event was
 * appended as `audit`; appends its RFC 8785 envelope JSON to `out`. */
int optreg_receipt_make(PGconn *conn, const struct optreg_registry_key *rk,
			const char *ns, const char *name, int version,
			const char *digest, const char *envelope_canon,
			const char **signers, size_t nsigners, const char *time,
			const struct optreg_audit_appended *audit,
			struct optreg_buf *out, struct optreg_errors *errs);

/* Stores the receipt of version ns/name@version, signed by rk_keyid, and
 * commits the caller's transaction, both in one round trip (the receipt
 * is the last write under the append lock). On failure the transaction
 * is not committed. */
int optreg_receipt_put_commit(PGconn *conn, const char *ns, const char *name,
			      int version, const char *receipt,
			      const char *rk_keyid, struct optreg_errors *errs);

/* The stored receipt of a version, or NULL (owned JSON text). */
int optreg_receipt_get(PGconn *conn, const char *ns, const char *name,
		       int version, char **receipt, struct optreg_errors *errs);

#endif
