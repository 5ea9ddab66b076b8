/*
 * common/auditlog.c: the audit log's tree recomputed from its entries
 * (see auditlog.h).
 */
#include <string.h>

#include "auditlog.h"
#include "buf.h"
#include "error.h"
#include "checkpoint.h"

int64_t optreg_auditlog_entry_index(const json_t *entry)
{
	const json_t *v = json_object_get(entry, "index");

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return (int64_t)json_integer_value(v);
}

void optreg_auditlog_init(struct optreg_auditlog *log)
{
	memset(log, 0, sizeof(*log));
	optreg_merkle_mem_init(&log->tree);
}

void optreg_auditlog_release(struct optreg_auditlog *log)
{
	optreg_merkle_mem_release(&log->tree);
}

void optreg_auditlog_add(struct optreg_auditlog *log, const json_t *entry,
			 const struct optreg_buf *event,
			 struct optreg_auditlog_step *step)
{
	memset(step, 0, sizeof(*step));
	step->index = optreg_auditlog_entry_index(entry);
	step->expected = log->next;
	if (step->index < 0) {
		step->seq = OPTREG_AUDITLOG_SEQ_NO_INDEX;
		return;
	}
	if ((uint64_t)step->index > log->next) {
		step->seq = OPTREG_AUDITLOG_SEQ_GAP;
	} else if ((uint64_t)step->index < log->next) {
		step->seq = OPTREG_AUDITLOG_SEQ_REPEAT;
		return;
	}
	log->next = (uint64_t)step->index + 1;
	if (event)
		optreg_merkle_leaf_hash(event->data, event->len,
					step->computed);
	if (!event) {
		step->leaf =
			OPTREG_AUDITLOG_LEAF_NO_EVENT; /* computed: zeros */
	} else if (optreg_hash_from_b64(json_string_value(json_object_get(
						entry, "leaf_hash")),
					step->listed) < 0) {
		step->leaf = OPTREG_AUDITLOG_LEAF_BAD_HASH;
	} else if (memcmp(step->computed, step->listed, OPTREG_HASH_LEN)) {
		step->leaf = OPTREG_AUDITLOG_LEAF_MISMATCH;
	}
	optreg_merkle_mem_append(&log->tree, step->computed);
	log->count++;
	step->added = 1;
}

int optreg_auditlog_root(const struct optreg_auditlog *log, uint64_t n,
			 optreg_hash out)
{
	if (n > log->tree.size)
		return -1;
	return optreg_merkle_root(n, optreg_merkle_mem_get, (void *)&log->tree,
				  out)
		       ? -1
		       : 0;
}
