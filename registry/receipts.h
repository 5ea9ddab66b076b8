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

/* Builds and signs the receipt of a new version whose audit event is
 * `audit_index`; appends its RFC 8785 envelope JSON to `out`. */
int optreg_receipt_make(PGconn *conn, const struct optreg_registry_key *rk,
			const char *ns, const char *name, int version,
			const char *digest, const char *envelope_canon,
			const char **signers, size_t nsigners, const char *time,
			int64_t audit_index, struct optreg_buf *out,
			struct optreg_errors *errs);

/* Stores the receipt of version ns/name@version, signed by rk_keyid. */
int optreg_receipt_put(PGconn *conn, const char *ns, const char *name,
		       int version, const char *receipt, const char *rk_keyid,
		       struct optreg_errors *errs);

/* The stored receipt of a version, or NULL (owned JSON text). */
int optreg_receipt_get(PGconn *conn, const char *ns, const char *name,
		       int version, char **receipt, struct optreg_errors *errs);

#endif
