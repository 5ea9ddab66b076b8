/*
 * common/merkle.h: RFC 6962 / RFC 9162 Merkle trees, proofs and their
 * verification.
 *
 * leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || l || r).
 * The tree over n leaves splits at the largest power of two below n.
 *
 * Proof generation works from *complete subtrees*: the hash of leaves
 * [i * 2^level, (i + 1) * 2^level), which a caller stores as it appends
 * (the registry keeps them in PostgreSQL) and hands out through a getter.
 * Every proof and root then needs O(log n) getter calls; the functions list
 * the subtrees they need first, so a database getter can fetch them in one
 * query.
 */
#ifndef OPTREG_MERKLE_H
#define OPTREG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTREG_HASH_LEN		32
#define OPTREG_MERKLE_MAX_PROOF 64
/* Most complete subtrees one root or proof is computed from. */
#define OPTREG_MERKLE_MAX_SUBTREES 128

typedef unsigned char optreg_hash[OPTREG_HASH_LEN];

void optreg_merkle_leaf_hash(const void *data, size_t len, optreg_hash out);
void optreg_merkle_node_hash(const optreg_hash left, const optreg_hash right,
			     optreg_hash out);

/* A complete subtree: leaves [index << level, (index + 1) << level). */
struct optreg_subtree {
	unsigned level;
	uint64_t index;
};

/*
 * Returns the hash of a complete subtree, 0 on success or a negative
 * OPTREG_E* code (e.g. the store failed).
 */
typedef int (*optreg_subtree_getter)(void *ctx, struct optreg_subtree st,
				     optreg_hash out);

/*
 * The complete subtrees that MTH(D[0:n]) is made of (the "frontier"), in
 * left-to-right order: at most 64. Returns how many were written.
 */
size_t optreg_merkle_frontier(uint64_t n, struct optreg_subtree *out);

/*
 * The root of the first `n` leaves (n = 0: SHA-256 of nothing, without a
 * getter call). Asks for exactly the frontier's subtrees.
 */
int optreg_merkle_root(uint64_t n, optreg_subtree_getter get, void *ctx,
		       optreg_hash out);

/*
 * Inclusion proof of leaf `index` in the tree of size `n` (index < n), as
 * RFC 9162 section 2.1.3.1: `*len` hashes written to `proof`
 * (OPTREG_MERKLE_MAX_PROOF room). OPTREG_EINVAL for index >= n; a getter's
 * failure is returned as is (a positive return from it as
 * OPTREG_EINTERNAL). On failure `*len` is 0.
 */
int optreg_merkle_inclusion_proof(uint64_t index, uint64_t n,
				  optreg_subtree_getter get, void *ctx,
				  optreg_hash *proof, size_t *len);

/*
 * Consistency proof between sizes m and n (0 < m <= n), RFC 9162
 * section 2.1.4.1. m == n gives an empty proof. OPTREG_EINVAL for m == 0 or
 * m > n; OPTREG_ELIMIT where the proof would be longer than
 * OPTREG_MERKLE_MAX_PROOF (which takes n > 2^63); getter failures as above.
 */
int optreg_merkle_consistency_proof(uint64_t m, uint64_t n,
				    optreg_subtree_getter get, void *ctx,
				    optreg_hash *proof, size_t *len);

/*
 * The complete subtrees the proof functions above ask the getter for, in
 * the order they ask (each once), so a database getter can fetch them in
 * one query first. `out` needs OPTREG_MERKLE_MAX_SUBTREES room. Returns how
 * many: 0 where the proof needs none or its arguments are refused.
 */
size_t optreg_merkle_inclusion_subtrees(uint64_t index, uint64_t n,
					struct optreg_subtree *out);
size_t optreg_merkle_consistency_subtrees(uint64_t m, uint64_t n,
					  struct optreg_subtree *out);

/*
 * Verifiers (RFC 9162 sections 2.1.3.2 and 2.1.4.2). They take nothing on
 * trust: any wrong size, index, proof length or hash gives false. The
 * consistency verifier refuses m == 0 (a proof from the empty tree proves
 * nothing) and m > n, and for m == n wants an empty proof and equal roots.
 */
bool optreg_merkle_verify_inclusion(uint64_t index, uint64_t n,
				    const optreg_hash leaf,
				    const optreg_hash *proof, size_t len,
				    const optreg_hash root);
bool optreg_merkle_verify_consistency(uint64_t m, uint64_t n,
				      const optreg_hash root_m,
				      const optreg_hash root_n,
				      const optreg_hash *proof, size_t len);

/*
 * An in-memory tree that stores every complete subtree as leaves are
 * appended (for tests, for `optreg audit verify`, and as the reference the
 * database-backed tree is checked against). optreg_merkle_mem_get is its
 * getter.
 */
struct optreg_merkle_mem {
	optreg_hash *levels[64]; /* levels[l][i]: subtree (l, i) */
	uint64_t counts[64];	 /* complete subtrees stored per level */
	uint64_t caps[64];
	uint64_t size; /* leaves */
};

/* Makes `t` an empty tree (embedded; nothing allocated). */
void optreg_merkle_mem_init(struct optreg_merkle_mem *t);
/* Frees the stored subtrees; `t` is left empty and reusable. */
void optreg_merkle_mem_release(struct optreg_merkle_mem *t);
/* Appends a leaf hash, storing the subtrees it completes. */
void optreg_merkle_mem_append(struct optreg_merkle_mem *t,
			      const optreg_hash leaf);
/* Getter over a struct optreg_merkle_mem (ctx); OPTREG_ENOTFOUND for a
 * subtree the tree has not completed yet. */
int optreg_merkle_mem_get(void *ctx, struct optreg_subtree st, optreg_hash out);

#endif
