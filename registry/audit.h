/*
 * registry/audit.h: the tamper-evident audit log (migrations/0003_audit.sql).
 *
 * Each change appends one event, in the transaction of the change, through
 * optreg_audit_append. An event is the RFC 8785 canonical JSON of
 *
 *   {"action", "actor": {"principal", "token_id"}, "details": {...},
 *    "request_id", "target", "time"}
 *
 * and is leaf `index` of an RFC 6962 Merkle tree. Checkpoints are C2SP
 * tlog-checkpoint bodies signed as C2SP signed notes with the registry key.
 */
#ifndef OPTREG_AUDIT_H
#define OPTREG_AUDIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "../common/merkle.h"
#include "registry_key.h"

/* Who acts; all borrowed. token_id "" for the admin command line. */
struct optreg_audit_actor {
	const char *principal;
	const char *token_id;
	const char *request_id;
};

/*
 * Appends an event inside the caller's open transaction; `details` is
 * stolen (NULL for none). Writes the event's index to `*index` (may be
 * NULL). The append lock is held until the transaction ends.
 */
int optreg_audit_append(PGconn *conn, const struct optreg_audit_actor *who,
			const char *action, const char *target, json_t *details,
			int64_t *index, struct optreg_errors *errs);

/* Same, in a transaction of its own (for refusals, which change nothing
 * else). */
int optreg_audit_append_alone(PGconn *conn,
			      const struct optreg_audit_actor *who,
			      const char *action, const char *target,
			      json_t *details, struct optreg_errors *errs);

/* The number of events. */
int optreg_audit_size(PGconn *conn, uint64_t *size, struct optreg_errors *errs);

/* Root of the first `n` events, from the stored subtree hashes. */
int optreg_audit_root(PGconn *conn, uint64_t n, optreg_hash out,
		      struct optreg_errors *errs);

int optreg_audit_inclusion(PGconn *conn, uint64_t index, uint64_t n,
			   optreg_hash *proof, size_t *len,
			   struct optreg_errors *errs);
int optreg_audit_consistency(PGconn *conn, uint64_t m, uint64_t n,
			     optreg_hash *proof, size_t *len,
			     struct optreg_errors *errs);

/* Filters for listing entries; NULL fields do not filter. */
struct optreg_audit_filter {
	const char *actor, *action, *target, *since, *until;
	/* "ns/name": events whose target is it or starts with "ns/name@"
	 * (its versions and tags) */
	const char *config;
	int64_t start; /* first index, >= 0 */
	int64_t end;   /* one past the last index, < 0 for no bound */
	int limit;
};

/* Appends {"entries": [{"index", "leaf_hash", "event": {...}}], "next"}
 * as JSON text to `out`, events spliced in as stored. */
int optreg_audit_entries(PGconn *conn, const struct optreg_audit_filter *f,
			 struct optreg_buf *out, struct optreg_errors *errs);

/* The latest signed checkpoint (owned note text), or *note NULL. */
int optreg_audit_checkpoint_latest(PGconn *conn, char **note, uint64_t *size,
				   struct optreg_errors *errs);

/*
 * Signs and stores a checkpoint of the current tree when it is larger than
 * the latest one, after checking that the new root is consistent with the
 * latest signed root (it never signs one that is not: OPTREG_EINTERNAL,
 * rule "inconsistent"). `*made` tells whether one was made.
 */
int optreg_audit_checkpoint_make(PGconn *conn,
				 const struct optreg_registry_key *rk,
				 const char *origin, bool *made,
				 struct optreg_errors *errs);

/*
 * What an append returns for a receipt: the event's index and the stored
 * subtrees the root of the tree it ends and its inclusion proof are made
 * of (at most one per set bit of the sizes before and after the append,
 * and the leaf).
 */
#define OPTREG_AUDIT_PROOF_NODES 128

struct optreg_audit_appended {
	int64_t index;
	size_t n;
	struct optreg_subtree st[OPTREG_AUDIT_PROOF_NODES];
	optreg_hash h[OPTREG_AUDIT_PROOF_NODES];
};

/* Reads the rows of migrations/0012's audit_append_proof (binary results:
 * leaf_index, node_level, node_idx, node_hash) from column `col` on. */
int optreg_audit_appended_read(const PGresult *res, int col,
			       struct optreg_audit_appended *out,
			       struct optreg_errors *errs);

/* The canonical JSON of an event (described above) at time `now`;
 * `details` is stolen. */
int optreg_audit_event(const struct optreg_audit_actor *who, const char *action,
		       const char *target, json_t *details, const char *now,
		       struct optreg_buf *out, struct optreg_errors *errs);

/*
 * The same event for the target `target_head` followed by a decimal number
 * the database picks (a new version's "ns/name@" and its number), as the
 * text before the number (`head`) and after it (`tail`): head, the number
 * and tail are exactly optreg_audit_event's text for the whole target.
 */
int optreg_audit_event_split(const struct optreg_audit_actor *who,
			     const char *action, const char *target_head,
			     json_t *details, const char *now,
			     struct optreg_buf *head, struct optreg_buf *tail,
			     struct optreg_errors *errs);

/*
 * Adds to a receipt payload the proof that the appended event is in the
 * log: "audit_leaf" (the event's leaf hash), "audit_index",
 * "audit_tree_size" (index + 1: the caller still holds the append lock),
 * "audit_root" and "audit_inclusion" (base64 hashes), all from `a` (a
 * subtree it lacks, not expected, is read from the database).
 */
int optreg_audit_receipt_proof(PGconn *conn,
			       const struct optreg_audit_appended *a,
			       json_t *payload, struct optreg_errors *errs);

/* RFC 3339 UTC time with milliseconds, now. */
void optreg_audit_now(char out[32]);

#endif
