/*
 * common/checkpoint.h: the saved-checkpoint (witness) file that
 * `optreg audit checkpoint --out FILE` writes and `audit verify
 * --checkpoint FILE` reads (docs/audit.md):
 *
 *   {"format":"optreg-audit-checkpoint-v1","origin":...,"size":N,
 *    "root":"<base64>","registry_keyid":...,"saved_at":"<RFC 3339>",
 *    "note":"<the signed note>",
 *   "leaves":[
 *   "<hex leaf 0>",
 *   ...]}
 *
 * One JSON object; the leaves are the recomputed leaf hashes of the
 * entries the checkpoint covers, one a line. Checking the note's signature
 * is the caller's business (it knows which registry keys to trust).
 *
 * Also here: a Merkle hash as the audit API and checkpoints write it,
 * standard padded base64 (leaf_hash, roots). Hex is common/hash.h's
 * optreg_hex_encode/optreg_hex_decode.
 */
#ifndef OPTREG_CHECKPOINT_H
#define OPTREG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "merkle.h"

#define OPTREG_SAVED_CHECKPOINT_FORMAT "optreg-audit-checkpoint-v1"

#define OPTREG_HASH_B64_LEN 44 /* base64 of a hash, without the NUL */

/* Writes the standard padded base64 of `h` and a NUL. */
void optreg_hash_to_b64(const optreg_hash h, char out[OPTREG_HASH_B64_LEN + 1]);

/* Parses base64 (standard or URL-safe) of exactly 32 bytes into `out`
 * (`s` may be NULL); 0, or OPTREG_EINVAL for anything else. */
int optreg_hash_from_b64(const char *s, optreg_hash out);

/* The checkpoint a file holds, as written or as read. */
struct optreg_saved_checkpoint {
	char *note;   /* the signed note; owned */
	char *origin; /* written only (read it from the verified note) */
	uint64_t size;
	optreg_hash root;
	const char *keyid;    /* written only; borrowed */
	const char *saved_at; /* written only; borrowed */
	optreg_hash *leaves;  /* owned when read */
	size_t nleaves;
	/* Read only: the first leaf that is not 64 lowercase hex digits, or
	 * -1 (the file is read in full so that callers can check the note
	 * before the leaves, and say so in that order). */
	int64_t bad_leaf;
};

/*
 * Appends the file for `cp` (note, origin, size, root, keyid, saved_at,
 * and `cp->nleaves` leaves) to `out`. Returns 0, or OPTREG_EINVAL when a
 * string is not UTF-8 (nothing appended).
 */
int optreg_saved_checkpoint_encode(const struct optreg_saved_checkpoint *cp,
				   struct optreg_buf *out);

/*
 * Reads a file's `len` bytes into `cp` (which the caller releases whatever
 * the result): note, leaves, nleaves, bad_leaf. Returns 0; OPTREG_ESYNTAX
 * when it is not JSON (the parser's message in `errs`); OPTREG_EINVAL when
 * it is JSON but not a saved checkpoint (no format, note or leaves array).
 */
int optreg_saved_checkpoint_decode(const char *data, size_t len,
				   struct optreg_saved_checkpoint *cp,
				   struct optreg_errors *errs);

/* Frees what decode allocated (note, leaves) and clears `cp`. */
void optreg_saved_checkpoint_release(struct optreg_saved_checkpoint *cp);

/* The Merkle root of the leaves read; 0, or -1 when there are none that
 * hash (bad_leaf set, or nleaves 0 and no empty root). */
int optreg_saved_checkpoint_root(const struct optreg_saved_checkpoint *cp,
				 optreg_hash out);

#endif
