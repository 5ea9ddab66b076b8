/*
 * common/auditlog.h: recomputing the audit log's Merkle tree from its
 * entries, as GET /v1/audit/entries lists them ({index, event, leaf_hash,
 * ...}), without trusting the hashes the registry sends.
 *
 * A leaf is SHA-256(0x00 || RFC 8785 form of the event as parsed here)
 * (docs/audit.md). The caller canonicalizes the event (validator/jcs.h)
 * and hands its bytes in: common/ is the lower layer and does not reach
 * into validator/. Entries are fed in index order; each one is checked
 * against the sequence (no gap, no repeat) and against its listed
 * leaf_hash, and what was found is returned to the caller, who words it.
 * The CLI's `audit verify` and `audit checkpoint --out` use this; the
 * registry's tests can use it as an independent check of the server.
 */
#ifndef OPTREG_AUDITLOG_H
#define OPTREG_AUDITLOG_H

#include <jansson.h>
#include <stdint.h>

#include "buf.h"
#include "merkle.h"

/* An entry's "index", or -1 when it has none that is a whole number. */
int64_t optreg_auditlog_entry_index(const json_t *entry);

/* A log being recomputed. */
struct optreg_auditlog {
	struct optreg_merkle_mem tree; /* the recomputed leaves, in order */
	uint64_t next;		       /* the index expected next */
	uint64_t count;		       /* entries added to the tree */
};

enum optreg_auditlog_seq {
	OPTREG_AUDITLOG_SEQ_OK,
	OPTREG_AUDITLOG_SEQ_NO_INDEX, /* the entry has no valid index */
	OPTREG_AUDITLOG_SEQ_GAP,      /* entries [expected, index) missing */
	OPTREG_AUDITLOG_SEQ_REPEAT,   /* index < expected: twice or reordered */
};

enum optreg_auditlog_leaf {
	OPTREG_AUDITLOG_LEAF_OK,
	OPTREG_AUDITLOG_LEAF_NO_EVENT, /* no event that canonicalizes */
	OPTREG_AUDITLOG_LEAF_BAD_HASH, /* leaf_hash is not base64 SHA-256 */
	OPTREG_AUDITLOG_LEAF_MISMATCH, /* computed != listed */
};

/* What optreg_auditlog_add found about one entry. */
struct optreg_auditlog_step {
	int64_t index;	   /* the entry's index, or -1 */
	uint64_t expected; /* the index that was expected */
	enum optreg_auditlog_seq seq;
	enum optreg_auditlog_leaf leaf; /* when `added` */
	optreg_hash computed;		/* zeros for LEAF_NO_EVENT */
	optreg_hash listed;		/* for LEAF_MISMATCH */
	int added; /* the entry's leaf went into the tree (not for NO_INDEX
		      and REPEAT, which leave the log as it was) */
};

void optreg_auditlog_init(struct optreg_auditlog *log);
void optreg_auditlog_release(struct optreg_auditlog *log);

/*
 * Feeds the next entry (borrowed). `event` is the RFC 8785 form of the
 * entry's "event" member (borrowed), or NULL when the entry has none or it
 * cannot be canonicalized (LEAF_NO_EVENT). After a GAP the log goes on from the
 * entry's index; the leaf is added (as zeros when the event cannot be
 * hashed) so that later roots can still be computed. Fills `step`.
 */
void optreg_auditlog_add(struct optreg_auditlog *log, const json_t *entry,
			 const struct optreg_buf *event,
			 struct optreg_auditlog_step *step);

/* The root of the first `n` recomputed leaves; 0, or -1 when there are
 * fewer. */
int optreg_auditlog_root(const struct optreg_auditlog *log, uint64_t n,
			 optreg_hash out);

#endif
