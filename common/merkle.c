/*
 * common/merkle.c: RFC 6962 / RFC 9162 Merkle trees over complete subtrees.
 *
 * The tree over leaves D[0:n] is the left-balanced tree of RFC 9162 2.1.1:
 * MTH(D[0:n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k the largest
 * power of two below n. Every node of that tree is either a complete
 * subtree (level l, index i: leaves [i << l, (i + 1) << l)) or a range
 * [a, n) on the right border, where a is a multiple of a power of two at
 * least n - a. Such a range is the fold of the complete subtrees given by
 * the binary digits of n - a, largest first, so everything is computed from
 * complete subtrees.
 *
 * Generation works in two steps: a plan lists the complete subtrees a
 * result needs and how to fold them into proof entries, then the getter is
 * asked for each of them in order. The verifiers are the bit-level
 * algorithms of RFC 9162 2.1.3.2 and 2.1.4.2 and trust nothing they are
 * given.
 */
#include "merkle.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "error.h"
#include "hash.h"

/* Levels of a tree of up to 2^64 - 1 leaves: subtrees of level 0..63. */
#define LEVELS 64

void optreg_merkle_leaf_hash(const void *data, size_t len, optreg_hash out)
{
	static const unsigned char prefix = 0x00;
	const struct optreg_hash_part parts[2] = {{&prefix, 1}, {data, len}};

	optreg_sha256_parts(parts, 2, out);
}

void optreg_merkle_node_hash(const optreg_hash left, const optreg_hash right,
			     optreg_hash out)
{
	unsigned char in[1 + 2 * OPTREG_HASH_LEN];

	in[0] = 0x01;
	memcpy(in + 1, left, OPTREG_HASH_LEN);
	memcpy(in + 1 + OPTREG_HASH_LEN, right, OPTREG_HASH_LEN);
	optreg_sha256(in, sizeof(in), out);
}

/* ------------------------------------------------------------------ */
/* Frontier and plans                                                  */

/*
 * Appends the complete subtrees that make up [start, start + len), largest
 * first. Assumes start is a multiple of the largest power of two in len,
 * which holds for every range a plan asks for (a sibling cut off by the
 * tree's end, or the whole tree).
 */
static size_t decompose(uint64_t start, uint64_t len,
			struct optreg_subtree *out)
{
	size_t k = 0;

	for (int level = LEVELS - 1; level >= 0; level--) {
		uint64_t size = (uint64_t)1 << level;

		if (!(len & size))
			continue;
		assert(start % size == 0);
		out[k].level = (unsigned)level;
		out[k].index = start >> level;
		k++;
		start += size;
	}
	return k;
}

size_t optreg_merkle_frontier(uint64_t n, struct optreg_subtree *out)
{
	return decompose(0, n, out);
}

/*
 * What a proof needs: entry e of the proof is the fold (right to left, as
 * the tree hashes a right-border range) of subtrees st[first[e]] up to but
 * not including st[first[e + 1]].
 */
struct plan {
	struct optreg_subtree st[OPTREG_MERKLE_MAX_SUBTREES];
	size_t nst;
	size_t first[OPTREG_MERKLE_MAX_PROOF + 2];
	size_t nentries;
};

static void plan_entry(struct plan *p, uint64_t start, uint64_t len)
{
	assert(len > 0 && p->nentries < OPTREG_MERKLE_MAX_PROOF + 1);
	assert(p->nst + (size_t)__builtin_popcountll(len) <=
	       OPTREG_MERKLE_MAX_SUBTREES);
	p->first[p->nentries] = p->nst;
	p->nst += decompose(start, len, p->st + p->nst);
	p->nentries++;
	p->first[p->nentries] = p->nst;
}

/*
 * Appends the siblings on the way from complete subtree (level, index) up
 * to the root of the tree of size n, lowest first: the inclusion path of
 * RFC 9162 2.1.3.1 for that node. A sibling that starts at or past n does
 * not exist (the parent is its left child, unchanged); a right sibling cut
 * off by n is a right-border range. The loop ends at the level whose single
 * node covers the whole tree, which is where (n - 1) >> level reaches zero.
 */
static void plan_path(struct plan *p, unsigned level, uint64_t index,
		      uint64_t n)
{
	assert(n > 0 && level < LEVELS && index <= (n - 1) >> level);
	for (unsigned l = level; l < LEVELS && (n - 1) >> l != 0;
	     l++, index >>= 1) {
		uint64_t sibling = index ^ 1;
		uint64_t start, size = (uint64_t)1 << l;

		if (sibling > (n - 1) >> l)
			continue; /* starts at or past n */
		start = sibling << l;
		plan_entry(p, start, n - start < size ? n - start : size);
	}
}

/* 0, or OPTREG_EINVAL for index >= n. */
static int plan_inclusion(struct plan *p, uint64_t index, uint64_t n)
{
	p->nst = p->nentries = 0;
	p->first[0] = 0;
	if (index >= n)
		return OPTREG_EINVAL;
	plan_path(p, 0, index, n);
	return 0;
}

/*
 * RFC 9162 2.1.4.1 in terms of nodes: SUBPROOF descends to the largest
 * complete subtree that ends at m, (ctz(m), m >> ctz(m) - 1), and then
 * climbs back with that node's inclusion path. The node itself comes first
 * unless it is the whole old tree (m a power of two: the verifier has its
 * root already). 0, OPTREG_EINVAL unless 0 < m <= n, or OPTREG_ELIMIT for a
 * proof longer than OPTREG_MERKLE_MAX_PROOF (only possible for n > 2^63).
 */
static int plan_consistency(struct plan *p, uint64_t m, uint64_t n)
{
	unsigned level;
	uint64_t index;

	p->nst = p->nentries = 0;
	p->first[0] = 0;
	if (m == 0 || m > n)
		return OPTREG_EINVAL;
	if (m == n)
		return 0;
	level = (unsigned)__builtin_ctzll(m);
	index = (m >> level) - 1;
	if (index != 0)
		plan_entry(p, index << level, (uint64_t)1 << level);
	plan_path(p, level, index, n);
	if (p->nentries > OPTREG_MERKLE_MAX_PROOF) {
		p->nst = p->nentries = 0;
		return OPTREG_ELIMIT;
	}
	return 0;
}

size_t optreg_merkle_inclusion_subtrees(uint64_t index, uint64_t n,
					struct optreg_subtree *out)
{
	struct plan p;

	if (plan_inclusion(&p, index, n))
		return 0;
	memcpy(out, p.st, p.nst * sizeof(p.st[0]));
	return p.nst;
}

size_t optreg_merkle_consistency_subtrees(uint64_t m, uint64_t n,
					  struct optreg_subtree *out)
{
	struct plan p;

	if (plan_consistency(&p, m, n))
		return 0;
	memcpy(out, p.st, p.nst * sizeof(p.st[0]));
	return p.nst;
}

/* ------------------------------------------------------------------ */
/* Generation                                                          */

/*
 * Asks the getter for every subtree of the plan, in the order listed, then
 * folds each entry. A getter's failure is returned as is; a getter that
 * breaks its contract with a positive value is a bug.
 */
static int run_plan(const struct plan *p, optreg_subtree_getter get, void *ctx,
		    optreg_hash *out, size_t *len)
{
	optreg_hash h[OPTREG_MERKLE_MAX_SUBTREES];

	*len = 0;
	for (size_t i = 0; i < p->nst; i++) {
		int rc = get(ctx, p->st[i], h[i]);

		if (rc)
			return rc > 0 ? OPTREG_EINTERNAL : rc;
	}
	for (size_t e = 0; e < p->nentries; e++) {
		size_t i = p->first[e + 1] - 1;

		assert(p->first[e] <= i);
		memcpy(out[e], h[i], OPTREG_HASH_LEN);
		while (i-- > p->first[e])
			optreg_merkle_node_hash(h[i], out[e], out[e]);
	}
	*len = p->nentries;
	return 0;
}

int optreg_merkle_root(uint64_t n, optreg_subtree_getter get, void *ctx,
		       optreg_hash out)
{
	struct plan p;

	if (n == 0) {
		optreg_sha256(NULL, 0, out);
		return 0;
	}
	optreg_hash root[1];
	size_t len;
	int rc;

	p.nst = p.nentries = 0;
	plan_entry(&p, 0, n);
	rc = run_plan(&p, get, ctx, root, &len);
	if (rc == 0)
		memcpy(out, root[0], OPTREG_HASH_LEN);
	return rc;
}

int optreg_merkle_inclusion_proof(uint64_t index, uint64_t n,
				  optreg_subtree_getter get, void *ctx,
				  optreg_hash *proof, size_t *len)
{
	struct plan p;
	int rc = plan_inclusion(&p, index, n);

	*len = 0;
	return rc ? rc : run_plan(&p, get, ctx, proof, len);
}

int optreg_merkle_consistency_proof(uint64_t m, uint64_t n,
				    optreg_subtree_getter get, void *ctx,
				    optreg_hash *proof, size_t *len)
{
	struct plan p;
	int rc = plan_consistency(&p, m, n);

	*len = 0;
	return rc ? rc : run_plan(&p, get, ctx, proof, len);
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

static bool hash_equal(const optreg_hash a, const optreg_hash b)
{
	return memcmp(a, b, OPTREG_HASH_LEN) == 0;
}

/* RFC 9162 2.1.3.2, step by step. */
bool optreg_merkle_verify_inclusion(uint64_t index, uint64_t n,
				    const optreg_hash leaf,
				    const optreg_hash *proof, size_t len,
				    const optreg_hash root)
{
	uint64_t fn, sn;
	optreg_hash r;

	if (index >= n)
		return false;
	fn = index;
	sn = n - 1;
	memcpy(r, leaf, OPTREG_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			optreg_merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			optreg_merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_equal(r, root);
}

/*
 * RFC 9162 2.1.4.2, step by step, with the cases it leaves to the caller
 * made explicit: sizes must satisfy 0 < m <= n, and m == n proves nothing
 * but equal roots, with an empty proof.
 */
bool optreg_merkle_verify_consistency(uint64_t m, uint64_t n,
				      const optreg_hash root_m,
				      const optreg_hash root_n,
				      const optreg_hash *proof, size_t len)
{
	uint64_t fn, sn;
	optreg_hash fr, sr;
	size_t total, i;
	bool pow2;

	if (m == 0 || m > n)
		return false;
	if (m == n)
		return len == 0 && hash_equal(root_m, root_n);
	if (len == 0)
		return false;
	/* Step 2: a power-of-two m prepends root_m to the path. */
	pow2 = (m & (m - 1)) == 0;
	total = len + (pow2 ? 1 : 0);
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, pow2 ? root_m : proof[0], OPTREG_HASH_LEN);
	memcpy(sr, fr, OPTREG_HASH_LEN);
	for (i = 1; i < total; i++) {
		const unsigned char *c = proof[pow2 ? i - 1 : i];

		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			optreg_merkle_node_hash(c, fr, fr);
			optreg_merkle_node_hash(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			optreg_merkle_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_equal(fr, root_m) && hash_equal(sr, root_n);
}

/* ------------------------------------------------------------------ */
/* In-memory tree                                                      */

void optreg_merkle_mem_init(struct optreg_merkle_mem *t)
{
	memset(t, 0, sizeof(*t));
}

void optreg_merkle_mem_release(struct optreg_merkle_mem *t)
{
	for (int l = 0; l < LEVELS; l++)
		free(t->levels[l]);
	optreg_merkle_mem_init(t);
}

static void mem_push(struct optreg_merkle_mem *t, unsigned level,
		     const optreg_hash h)
{
	OPTREG_ALLOC_GROW(t->levels[level], t->counts[level] + 1,
			  t->caps[level]);
	memcpy(t->levels[level][t->counts[level]++], h, OPTREG_HASH_LEN);
}

/*
 * Leaf number `size` completes the subtree at level l + 1 exactly when the
 * level-l count becomes even: then the last two level-l subtrees are
 * siblings and their parent is stored.
 */
void optreg_merkle_mem_append(struct optreg_merkle_mem *t,
			      const optreg_hash leaf)
{
	optreg_hash parent;

	mem_push(t, 0, leaf);
	for (unsigned l = 0; l + 1 < LEVELS && t->counts[l] % 2 == 0; l++) {
		const optreg_hash *row = t->levels[l];
		uint64_t c = t->counts[l];

		optreg_merkle_node_hash(row[c - 2], row[c - 1], parent);
		mem_push(t, l + 1, parent);
	}
	t->size++;
}

int optreg_merkle_mem_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	const struct optreg_merkle_mem *t = ctx;

	if (st.level >= LEVELS || st.index >= t->counts[st.level])
		return OPTREG_ENOTFOUND;
	memcpy(out, t->levels[st.level][st.index], OPTREG_HASH_LEN);
	return 0;
}
