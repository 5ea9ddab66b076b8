/*
 * tests/unit/common/merkle_test.c: RFC 6962 / 9162 Merkle trees, proofs and
 * their verification.
 *
 * Three kinds of evidence:
 * - the transparency-dev/merkle reference vectors (tests/testdata/merkle:
 *   inclusion and consistency proofs, good and bad, and the reference tree
 *   they are taken from), one test per vector directory;
 * - a literal transcription of RFC 9162's recursive MTH, PATH and SUBPROOF,
 *   which every generated root and proof must equal byte for byte;
 * - properties over seeded random trees: proofs verify, and any single
 *   changed bit or size makes them fail.
 *
 * The data directory is $OPTREG_TESTDATA, by default tests/testdata
 * relative to the project root, where tests run. The random seed is fixed
 * and printed; $OPTREG_MERKLE_SEED replaces it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/base64.h"
#include "common/error.h"
#include "common/merkle.h"

#define TREE_LEAVES 1025 /* proofs up to 1,024 leaves, and size + 1 */

static const char *testdata_dir(void)
{
	const char *dir = getenv("OPTREG_TESTDATA");

	return dir && dir[0] ? dir : "tests/testdata";
}

/* SHA-256 of nothing: the root of the empty tree. */
static const unsigned char empty_sha256[OPTREG_HASH_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* splitmix64: small, seedable, good enough to pick sizes and leaves. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng_next() % (hi - lo + 1);
}

static void rng_seed(void)
{
	const char *s = getenv("OPTREG_MERKLE_SEED");
	uint64_t seed = s && s[0] ? strtoull(s, NULL, 0) : 0x6f707472656721ULL;

	rng_state = seed;
	print_message("# merkle seed %llu\n", (unsigned long long)seed);
}

static unsigned bit_len(uint64_t x)
{
	return x ? 64 - (unsigned)__builtin_clzll(x) : 0;
}

static void flip(optreg_hash h, unsigned bit)
{
	h[bit / 8] ^= (unsigned char)(1u << (bit % 8));
}

/* ------------------------------------------------------------------ */
/* RFC 9162 2.1, transcribed literally over leaf hashes                */

/* The largest power of two smaller than n (n > 1). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[a:b]) */
static void ref_mth(const optreg_hash *leaves, uint64_t a, uint64_t b,
		    optreg_hash out)
{
	optreg_hash l, r;
	uint64_t k;

	if (b == a) {
		memcpy(out, empty_sha256, OPTREG_HASH_LEN);
		return;
	}
	if (b - a == 1) {
		memcpy(out, leaves[a], OPTREG_HASH_LEN);
		return;
	}
	k = split_point(b - a);
	ref_mth(leaves, a, a + k, l);
	ref_mth(leaves, a + k, b, r);
	optreg_merkle_node_hash(l, r, out);
}

/* PATH(m, D[a:b]) */
static void ref_path(uint64_t m, const optreg_hash *leaves, uint64_t a,
		     uint64_t b, optreg_hash *out, size_t *len)
{
	uint64_t k;

	if (b - a <= 1)
		return;
	k = split_point(b - a);
	if (m < k) {
		ref_path(m, leaves, a, a + k, out, len);
		ref_mth(leaves, a + k, b, out[(*len)++]);
	} else {
		ref_path(m - k, leaves, a + k, b, out, len);
		ref_mth(leaves, a, a + k, out[(*len)++]);
	}
}

/* SUBPROOF(m, D[a:b], whole) */
static void ref_subproof(uint64_t m, const optreg_hash *leaves, uint64_t a,
			 uint64_t b, bool whole, optreg_hash *out, size_t *len)
{
	uint64_t k;

	if (m == b - a) {
		if (!whole)
			ref_mth(leaves, a, b, out[(*len)++]);
		return;
	}
	k = split_point(b - a);
	if (m <= k) {
		ref_subproof(m, leaves, a, a + k, whole, out, len);
		ref_mth(leaves, a + k, b, out[(*len)++]);
	} else {
		ref_subproof(m - k, leaves, a + k, b, false, out, len);
		ref_mth(leaves, a, a + k, out[(*len)++]);
	}
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */

/*
 * Wraps the in-memory getter: counts and records the calls, checks that
 * each asked-for subtree is complete within the proof's tree size `n`
 * (anything else would read leaves the proof's tree does not have), and
 * fails call number `fail_at` with `fail_code`.
 */
struct counting {
	struct optreg_merkle_mem *t;
	uint64_t n;
	size_t calls;
	size_t fail_at;
	int fail_code;
	int outside; /* calls for subtrees not within [0, n) */
	struct optreg_subtree seen[2 * OPTREG_MERKLE_MAX_SUBTREES];
};

static void counting_init(struct counting *c, struct optreg_merkle_mem *t,
			  uint64_t n)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->n = n;
	c->fail_at = SIZE_MAX;
}

static bool subtree_within(struct optreg_subtree st, uint64_t n)
{
	return st.level < 64 && st.index < (n >> st.level);
}

/* Field by field: the struct has padding. */
static void assert_same_subtrees(const struct optreg_subtree *a,
				 const struct optreg_subtree *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].level != b[i].level || a[i].index != b[i].index)
			fail_msg("subtree %zu: listed (%u, %llu), asked for "
				 "(%u, %llu)",
				 i, a[i].level, (unsigned long long)a[i].index,
				 b[i].level, (unsigned long long)b[i].index);
}

static int counting_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	struct counting *c = ctx;
	size_t k = c->calls++;

	if (k < sizeof(c->seen) / sizeof(c->seen[0]))
		c->seen[k] = st;
	if (!subtree_within(st, c->n))
		c->outside++;
	if (k == c->fail_at)
		return c->fail_code;
	return optreg_merkle_mem_get(c->t, st, out);
}

/*
 * A tree of any size, up to 2^64 - 1 leaves, whose leaves are all equal:
 * every complete subtree of a level has the same hash, so the getter needs
 * no storage.
 */
struct uniform {
	optreg_hash level_hash[64];
	uint64_t n;
	size_t calls;
	int outside;
};

static void uniform_init(struct uniform *u, uint64_t n)
{
	memset(u, 0, sizeof(*u));
	optreg_merkle_leaf_hash("uniform", 7, u->level_hash[0]);
	for (int l = 1; l < 64; l++)
		optreg_merkle_node_hash(u->level_hash[l - 1],
					u->level_hash[l - 1], u->level_hash[l]);
	u->n = n;
}

static int uniform_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	struct uniform *u = ctx;

	u->calls++;
	if (!subtree_within(st, u->n)) {
		u->outside++;
		return OPTREG_ENOTFOUND;
	}
	memcpy(out, u->level_hash[st.level], OPTREG_HASH_LEN);
	return 0;
}

static int never_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	(void)st;
	(void)out;
	(*(int *)ctx)++;
	return OPTREG_EINTERNAL;
}

/* ------------------------------------------------------------------ */
/* A random tree and its roots                                         */

struct fixture {
	struct optreg_merkle_mem t;
	optreg_hash leaves[TREE_LEAVES];
	optreg_hash roots[TREE_LEAVES + 1]; /* roots[n]: first n leaves */
	long checked;			    /* verifier calls made */
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = optreg_xcalloc(1, sizeof(*f));

	optreg_merkle_mem_init(&f->t);
	for (uint64_t i = 0; i < TREE_LEAVES; i++) {
		unsigned char data[24];

		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = (unsigned char)rng_next();
		optreg_merkle_leaf_hash(data, (size_t)(i % sizeof(data)),
					f->leaves[i]);
		optreg_merkle_mem_append(&f->t, f->leaves[i]);
	}
	for (uint64_t n = 0; n <= TREE_LEAVES; n++)
		assert_int_equal(optreg_merkle_root(n, optreg_merkle_mem_get,
						    &f->t, f->roots[n]),
				 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	optreg_merkle_mem_release(&f->t);
	free(f);
}

/*
 * Bits flipped per 32-byte hash: `stride` 1 flips all 256 one at a time;
 * 7 (coprime to 256) flips 37 spread over every byte and bit position,
 * which keeps the all-pairs sweeps fast.
 */
static unsigned flip_stride = 1;

/* Generates the inclusion proof of (index, n) and checks everything about
 * it: the RFC definition, the getter calls, verification and tampering. */
static void check_inclusion(struct fixture *f, uint64_t index, uint64_t n)
{
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF + 1], want[64];
	optreg_hash leaf, root;
	struct optreg_subtree listed[OPTREG_MERKLE_MAX_SUBTREES];
	struct counting c;
	size_t len = 99, wlen = 0, nlisted;
	const optreg_hash *roots = f->roots;

	counting_init(&c, &f->t, n);
	assert_int_equal(optreg_merkle_inclusion_proof(index, n, counting_get,
						       &c, proof, &len),
			 0);
	ref_path(index, f->leaves, 0, n, want, &wlen);
	if (len != wlen || memcmp(proof, want, len * OPTREG_HASH_LEN) != 0)
		fail_msg("inclusion (%llu, %llu): differs from RFC PATH "
			 "(%zu hashes, want %zu)",
			 (unsigned long long)index, (unsigned long long)n, len,
			 wlen);
	if (c.calls > 2 * bit_len(n) + 2 || c.outside)
		fail_msg("inclusion (%llu, %llu): %zu getter calls, %d outside "
			 "the tree",
			 (unsigned long long)index, (unsigned long long)n,
			 c.calls, c.outside);
	nlisted = optreg_merkle_inclusion_subtrees(index, n, listed);
	assert_int_equal(nlisted, c.calls);
	assert_same_subtrees(listed, c.seen, nlisted);

	memcpy(leaf, f->leaves[index], OPTREG_HASH_LEN);
	memcpy(root, roots[n], OPTREG_HASH_LEN);
	assert_true(optreg_merkle_verify_inclusion(index, n, leaf, proof, len,
						   root));
	f->checked++;
	for (size_t j = 0; j < len; j++)
		for (unsigned b = 0; b < 256; b += flip_stride) {
			flip(proof[j], b);
			if (optreg_merkle_verify_inclusion(index, n, leaf,
							   proof, len, root))
				fail_msg("inclusion (%llu, %llu): proof[%zu] "
					 "bit %u flipped still verifies",
					 (unsigned long long)index,
					 (unsigned long long)n, j, b);
			flip(proof[j], b);
			f->checked++;
		}
	for (unsigned b = 0; b < 256; b += flip_stride) {
		flip(leaf, b);
		assert_false(optreg_merkle_verify_inclusion(index, n, leaf,
							    proof, len, root));
		flip(leaf, b);
		flip(root, b);
		assert_false(optreg_merkle_verify_inclusion(index, n, leaf,
							    proof, len, root));
		flip(root, b);
		f->checked += 2;
	}
	/* Another index, same leaf and root. */
	assert_false(optreg_merkle_verify_inclusion(index + 1, n, leaf, proof,
						    len, root));
	if (index > 0)
		assert_false(optreg_merkle_verify_inclusion(index - 1, n, leaf,
							    proof, len, root));
	/*
	 * Another size, with that size's true root. (With the root of size n
	 * kept, n + 1 can verify: (0, 5) and (0, 6) have proofs of the same
	 * shape. The checkpoint binds the size to the root, not the proof.)
	 */
	if (n + 1 <= TREE_LEAVES)
		assert_false(optreg_merkle_verify_inclusion(
			index, n + 1, leaf, proof, len, roots[n + 1]));
	assert_false(optreg_merkle_verify_inclusion(index, n - 1, leaf, proof,
						    len, roots[n - 1]));
	/* One hash more or less. */
	if (len > 0)
		assert_false(optreg_merkle_verify_inclusion(
			index, n, leaf, proof, len - 1, root));
	memcpy(proof[len], root, OPTREG_HASH_LEN);
	assert_false(optreg_merkle_verify_inclusion(index, n, leaf, proof,
						    len + 1, root));
	/*
	 * One hash more, and a root that hashes it in on the left: this is
	 * what the path computes if it runs on past the top of the tree
	 * (RFC 9162 2.1.3.2 step 4a stops that).
	 */
	optreg_hash grown;
	optreg_merkle_node_hash(proof[len], root, grown);
	assert_false(optreg_merkle_verify_inclusion(index, n, leaf, proof,
						    len + 1, grown));
	f->checked += 7;
}

static void check_consistency(struct fixture *f, uint64_t m, uint64_t n)
{
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF + 1], want[64];
	optreg_hash rm, rn;
	struct optreg_subtree listed[OPTREG_MERKLE_MAX_SUBTREES];
	struct counting c;
	size_t len = 99, wlen = 0, nlisted;
	const optreg_hash *roots = f->roots;

	counting_init(&c, &f->t, n);
	assert_int_equal(optreg_merkle_consistency_proof(m, n, counting_get, &c,
							 proof, &len),
			 0);
	ref_subproof(m, f->leaves, 0, n, true, want, &wlen);
	if (len != wlen || memcmp(proof, want, len * OPTREG_HASH_LEN) != 0)
		fail_msg("consistency (%llu, %llu): differs from RFC SUBPROOF "
			 "(%zu hashes, want %zu)",
			 (unsigned long long)m, (unsigned long long)n, len,
			 wlen);
	if (c.calls > 2 * bit_len(n) + 2 || c.outside)
		fail_msg("consistency (%llu, %llu): %zu getter calls, %d "
			 "outside the tree",
			 (unsigned long long)m, (unsigned long long)n, c.calls,
			 c.outside);
	nlisted = optreg_merkle_consistency_subtrees(m, n, listed);
	assert_int_equal(nlisted, c.calls);
	assert_same_subtrees(listed, c.seen, nlisted);

	memcpy(rm, roots[m], OPTREG_HASH_LEN);
	memcpy(rn, roots[n], OPTREG_HASH_LEN);
	assert_true(optreg_merkle_verify_consistency(m, n, rm, rn, proof, len));
	f->checked++;
	for (size_t j = 0; j < len; j++)
		for (unsigned b = 0; b < 256; b += flip_stride) {
			flip(proof[j], b);
			if (optreg_merkle_verify_consistency(m, n, rm, rn,
							     proof, len))
				fail_msg("consistency (%llu, %llu): proof[%zu] "
					 "bit %u flipped still verifies",
					 (unsigned long long)m,
					 (unsigned long long)n, j, b);
			flip(proof[j], b);
			f->checked++;
		}
	for (unsigned b = 0; b < 256; b += flip_stride) {
		flip(rm, b);
		assert_false(optreg_merkle_verify_consistency(m, n, rm, rn,
							      proof, len));
		flip(rm, b);
		flip(rn, b);
		assert_false(optreg_merkle_verify_consistency(m, n, rm, rn,
							      proof, len));
		flip(rn, b);
		f->checked += 2;
	}
	/* Other sizes, each with its true root. */
	assert_false(optreg_merkle_verify_consistency(m - 1, n, roots[m - 1],
						      rn, proof, len));
	assert_false(optreg_merkle_verify_consistency(m + 1, n, roots[m + 1],
						      rn, proof, len));
	assert_false(optreg_merkle_verify_consistency(
		m, n - 1, rm, roots[n - 1], proof, len));
	if (n + 1 <= TREE_LEAVES)
		assert_false(optreg_merkle_verify_consistency(
			m, n + 1, rm, roots[n + 1], proof, len));
	/* One hash more or less. */
	if (len > 0)
		assert_false(optreg_merkle_verify_consistency(m, n, rm, rn,
							      proof, len - 1));
	memcpy(proof[len], rn, OPTREG_HASH_LEN);
	assert_false(
		optreg_merkle_verify_consistency(m, n, rm, rn, proof, len + 1));
	/* One hash more, hashed in on the left of both roots (step 6a). */
	if (m < n) {
		optreg_hash gm, gn;

		optreg_merkle_node_hash(proof[len], rm, gm);
		optreg_merkle_node_hash(proof[len], rn, gn);
		assert_false(optreg_merkle_verify_consistency(m, n, gm, gn,
							      proof, len + 1));
	}
	f->checked += 7;
}

/* ------------------------------------------------------------------ */
/* Hashes, frontier, in-memory tree                                    */

static void test_hashes(void **state)
{
	/* MTH({""}): the reference tree's root of size 1 */
	static const unsigned char leaf_empty[OPTREG_HASH_LEN] = {
		0x6e, 0x34, 0x0b, 0x9c, 0xff, 0xb3, 0x7a, 0x98,
		0x9c, 0xa5, 0x44, 0xe6, 0xbb, 0x78, 0x0a, 0x2c,
		0x78, 0x90, 0x1d, 0x3f, 0xb3, 0x37, 0x38, 0x76,
		0x85, 0x11, 0xa3, 0x06, 0x17, 0xaf, 0xa0, 0x1d,
	};
	optreg_hash h, a, b;
	struct optreg_merkle_mem t;

	(void)state;
	optreg_merkle_leaf_hash("", 0, h);
	assert_memory_equal(h, leaf_empty, OPTREG_HASH_LEN);
	optreg_merkle_leaf_hash(NULL, 0, h);
	assert_memory_equal(h, leaf_empty, OPTREG_HASH_LEN);

	/* Leaves and nodes are hashed apart: a node over (a, b) is not the
	 * leaf whose data is a || b. */
	optreg_merkle_leaf_hash("a", 1, a);
	optreg_merkle_leaf_hash("b", 1, b);
	optreg_merkle_node_hash(a, b, h);
	unsigned char ab[2 * OPTREG_HASH_LEN];
	memcpy(ab, a, OPTREG_HASH_LEN);
	memcpy(ab + OPTREG_HASH_LEN, b, OPTREG_HASH_LEN);
	optreg_hash leaf_ab;
	optreg_merkle_leaf_hash(ab, sizeof(ab), leaf_ab);
	assert_memory_not_equal(h, leaf_ab, OPTREG_HASH_LEN);
	/* Order matters; output may alias an input. */
	optreg_hash ba;
	optreg_merkle_node_hash(b, a, ba);
	assert_memory_not_equal(h, ba, OPTREG_HASH_LEN);
	optreg_merkle_node_hash(a, b, a);
	assert_memory_equal(a, h, OPTREG_HASH_LEN);

	/* The empty tree's root is SHA-256 of nothing, with no getter call. */
	int calls = 0;
	assert_int_equal(optreg_merkle_root(0, never_get, &calls, h), 0);
	assert_int_equal(calls, 0);
	assert_memory_equal(h, empty_sha256, OPTREG_HASH_LEN);

	/* An empty in-memory tree has nothing to hand out. */
	optreg_merkle_mem_init(&t);
	assert_int_equal(
		optreg_merkle_mem_get(&t, (struct optreg_subtree){0, 0}, h),
		OPTREG_ENOTFOUND);
	assert_int_equal(optreg_merkle_root(1, optreg_merkle_mem_get, &t, h),
			 OPTREG_ENOTFOUND);
	optreg_merkle_mem_release(&t);
}

static void test_frontier(void **state)
{
	struct optreg_subtree st[64];

	(void)state;
	assert_int_equal(optreg_merkle_frontier(0, st), 0);
	assert_int_equal(optreg_merkle_frontier(1, st), 1);
	assert_int_equal(st[0].level, 0);
	assert_int_equal(st[0].index, 0);
	/* 7 = 4 + 2 + 1: [0,4) [4,6) [6,7) */
	assert_int_equal(optreg_merkle_frontier(7, st), 3);
	assert_int_equal(st[0].level, 2);
	assert_int_equal(st[0].index, 0);
	assert_int_equal(st[1].level, 1);
	assert_int_equal(st[1].index, 2);
	assert_int_equal(st[2].level, 0);
	assert_int_equal(st[2].index, 6);
	assert_int_equal(optreg_merkle_frontier(1024, st), 1);
	assert_int_equal(st[0].level, 10);
	assert_int_equal(optreg_merkle_frontier(UINT64_MAX, st), 64);
	assert_int_equal(st[0].level, 63);
	assert_int_equal(st[63].level, 0);
	assert_true(st[63].index == UINT64_MAX - 1);

	/* In general: contiguous, left to right, from 0 to n, levels
	 * falling. */
	for (uint64_t n = 0; n < 5000; n++) {
		size_t k = optreg_merkle_frontier(n, st);
		uint64_t at = 0;

		assert_int_equal(k, __builtin_popcountll(n));
		for (size_t i = 0; i < k; i++) {
			assert_true(i == 0 || st[i].level < st[i - 1].level);
			assert_true(st[i].index << st[i].level == at);
			at += (uint64_t)1 << st[i].level;
		}
		assert_true(at == n);
	}
}

/* The in-memory tree stores exactly the complete subtrees, with the hashes
 * RFC 9162's MTH gives them. */
static void test_mem_tree(void **state)
{
	struct fixture *f;
	optreg_hash h;

	(void)state;
	rng_seed();
	f = fixture_new();
	assert_true(f->t.size == TREE_LEAVES);
	for (unsigned l = 0; l < 64; l++) {
		assert_true(f->t.counts[l] == (uint64_t)TREE_LEAVES >> l);
		for (uint64_t i = 0; i < f->t.counts[l]; i++) {
			optreg_hash want;

			ref_mth(f->leaves, i << l, (i + 1) << l, want);
			assert_int_equal(optreg_merkle_mem_get(
						 &f->t,
						 (struct optreg_subtree){l, i},
						 h),
					 0);
			assert_memory_equal(h, want, OPTREG_HASH_LEN);
		}
		assert_int_equal(
			optreg_merkle_mem_get(
				&f->t,
				(struct optreg_subtree){l, f->t.counts[l]}, h),
			OPTREG_ENOTFOUND);
	}
	assert_int_equal(
		optreg_merkle_mem_get(&f->t, (struct optreg_subtree){64, 0}, h),
		OPTREG_ENOTFOUND);
	/* Every root equals MTH. */
	for (uint64_t n = 0; n <= TREE_LEAVES; n++) {
		optreg_hash want;

		ref_mth(f->leaves, 0, n, want);
		if (memcmp(f->roots[n], want, OPTREG_HASH_LEN) != 0)
			fail_msg("root of size %llu differs from MTH",
				 (unsigned long long)n);
	}
	/* A root past the stored leaves is refused with the getter's code. */
	assert_int_equal(optreg_merkle_root(TREE_LEAVES + 1,
					    optreg_merkle_mem_get, &f->t, h),
			 OPTREG_ENOTFOUND);
	fixture_free(f);
}

/* ------------------------------------------------------------------ */
/* Reference data                                                      */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into `out` (appending); false on a bad digit or length. */
static bool hex_decode(const char *s, struct optreg_buf *out)
{
	size_t len = strlen(s);

	if (len % 2)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		optreg_buf_addch(out, (char)(hi << 4 | lo));
	}
	return true;
}

static json_t *load_json(const char *path)
{
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);

	if (!root)
		fail_msg("%s:%d: %s (set OPTREG_TESTDATA)", path, err.line,
			 err.text);
	return root;
}

/*
 * The reference tree: reference_tree.json gives 8 leaf inputs (hex) and the
 * root of every size 0..8. Fills `t` with the leaves and `roots`.
 */
#define REF_LEAVES 8

static void load_reference(struct optreg_merkle_mem *t,
			   optreg_hash roots[REF_LEAVES + 1],
			   optreg_hash leaves[REF_LEAVES])
{
	char path[4096];
	json_t *doc, *inputs, *want;
	struct optreg_buf b = OPTREG_BUF_INIT;

	snprintf(path, sizeof(path), "%s/merkle/reference_tree.json",
		 testdata_dir());
	doc = load_json(path);
	inputs = json_object_get(doc, "leaf_inputs_hex");
	want = json_object_get(doc, "root_hash_by_tree_size_hex");
	assert_true(json_is_array(inputs) && json_is_array(want));
	assert_int_equal(json_array_size(inputs), REF_LEAVES);
	assert_int_equal(json_array_size(want), REF_LEAVES + 1);
	optreg_merkle_mem_init(t);
	for (size_t i = 0; i < REF_LEAVES; i++) {
		const char *s = json_string_value(json_array_get(inputs, i));

		assert_non_null(s);
		optreg_buf_reset(&b);
		assert_true(hex_decode(s, &b));
		optreg_merkle_leaf_hash(b.data, b.len, leaves[i]);
		optreg_merkle_mem_append(t, leaves[i]);
	}
	for (size_t i = 0; i <= REF_LEAVES; i++) {
		const char *s = json_string_value(json_array_get(want, i));

		assert_non_null(s);
		optreg_buf_reset(&b);
		assert_true(hex_decode(s, &b));
		assert_int_equal(b.len, OPTREG_HASH_LEN);
		memcpy(roots[i], b.data, OPTREG_HASH_LEN);
	}
	optreg_buf_release(&b);
	json_decref(doc);
}

static void test_reference_tree(void **state)
{
	struct optreg_merkle_mem t, grow;
	optreg_hash want[REF_LEAVES + 1], leaves[REF_LEAVES], got;

	(void)state;
	load_reference(&t, want, leaves);
	optreg_merkle_mem_init(&grow);
	for (uint64_t n = 0; n <= REF_LEAVES; n++) {
		/* From the full tree, and from a tree of exactly n leaves. */
		assert_int_equal(
			optreg_merkle_root(n, optreg_merkle_mem_get, &t, got),
			0);
		if (memcmp(got, want[n], OPTREG_HASH_LEN) != 0)
			fail_msg("reference tree: root of size %llu differs",
				 (unsigned long long)n);
		assert_int_equal(optreg_merkle_root(n, optreg_merkle_mem_get,
						    &grow, got),
				 0);
		assert_memory_equal(got, want[n], OPTREG_HASH_LEN);
		ref_mth(leaves, 0, n, got);
		assert_memory_equal(got, want[n], OPTREG_HASH_LEN);
		if (n < REF_LEAVES)
			optreg_merkle_mem_append(&grow, leaves[n]);
	}
	optreg_merkle_mem_release(&grow);
	optreg_merkle_mem_release(&t);
}

/*
 * A vector hash. The typed API holds 32-byte hashes; a few `wantErr`
 * vectors use other lengths ("" or 12 bytes) and one good vector compares
 * two equal 12-byte roots. Such a value is zero-padded (or cut) to 32
 * bytes, so the verifier itself, not a length check here, must refuse the
 * bad ones. *odd is set when that happened.
 */
static bool vector_hash(json_t *v, optreg_hash out, bool *odd)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const char *s = json_string_value(v);
	bool ok = s && optreg_base64_decode(s, strlen(s), &b) == 0;

	if (ok) {
		size_t n = b.len < OPTREG_HASH_LEN ? b.len : OPTREG_HASH_LEN;

		memset(out, 0, OPTREG_HASH_LEN);
		memcpy(out, b.data, n);
		if (b.len != OPTREG_HASH_LEN)
			*odd = true;
	}
	optreg_buf_release(&b);
	return ok;
}

/*
 * jansson's integers are signed 64-bit, and two vectors hold Go's
 * uint64(0) - 1 as an index. So the size fields are read from the text
 * (`"key": digits`) with strtoull, and their digits replaced by "0" and
 * spaces so that jansson can parse the rest.
 */
static bool take_size(struct optreg_buf *text, const char *key, uint64_t *out)
{
	char quoted[64], *p, *end;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = strstr(text->data, quoted);
	if (!p)
		return false;
	p += strlen(quoted);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	*out = strtoull(p, &end, 10);
	if (errno || !strchr(",} \t\r\n", *end))
		return false;
	*p++ = '0';
	memset(p, ' ', (size_t)(end - p));
	return true;
}

/* `proof` (an array or null: empty) into a malloc'd array, never NULL;
 * false if malformed. */
static bool vector_proof(json_t *v, optreg_hash **proof, size_t *len, bool *odd)
{
	*len = json_is_array(v) ? json_array_size(v) : 0;
	*proof = optreg_xcalloc(*len + 1, sizeof(optreg_hash));
	if (!json_is_array(v))
		return json_is_null(v);
	for (size_t i = 0; i < *len; i++)
		if (!vector_hash(json_array_get(v, i), (*proof)[i], odd))
			return false;
	return true;
}

struct vector_stats {
	int files, good, refused, odd, length_only, regenerated, failed;
};

/*
 * Runs one inclusion vector: returns whether the verifier accepted it, or
 * -1 for a malformed file. A good vector taken from the reference tree is
 * also generated from it and must come out the same.
 */
static int run_inclusion_vector(json_t *doc, uint64_t index, uint64_t n,
				const char *file, struct optreg_merkle_mem *ref,
				optreg_hash ref_roots[REF_LEAVES + 1],
				optreg_hash ref_leaves[REF_LEAVES],
				struct vector_stats *st, bool *odd)
{
	optreg_hash root, leaf, *proof = NULL;
	size_t len;
	bool ok;

	if (!vector_hash(json_object_get(doc, "root"), root, odd) ||
	    !vector_hash(json_object_get(doc, "leafHash"), leaf, odd) ||
	    !vector_proof(json_object_get(doc, "proof"), &proof, &len, odd)) {
		print_error("%s: malformed vector\n", file);
		free(proof);
		return -1;
	}
	ok = optreg_merkle_verify_inclusion(index, n, leaf, proof, len, root);
	if (ok && n >= 1 && n <= REF_LEAVES && index < n &&
	    !memcmp(root, ref_roots[n], OPTREG_HASH_LEN) &&
	    !memcmp(leaf, ref_leaves[index], OPTREG_HASH_LEN)) {
		optreg_hash got[OPTREG_MERKLE_MAX_PROOF];
		size_t glen;

		if (optreg_merkle_inclusion_proof(index, n,
						  optreg_merkle_mem_get, ref,
						  got, &glen) != 0 ||
		    glen != len ||
		    memcmp(got, proof, len * OPTREG_HASH_LEN) != 0) {
			print_error("%s: the generated proof differs\n", file);
			st->failed++;
		}
		st->regenerated++;
	}
	free(proof);
	return ok;
}

static int run_consistency_vector(json_t *doc, uint64_t m, uint64_t n,
				  const char *file,
				  struct optreg_merkle_mem *ref,
				  optreg_hash ref_roots[REF_LEAVES + 1],
				  struct vector_stats *st, bool *odd)
{
	optreg_hash r1, r2, *proof = NULL;
	size_t len;
	bool ok;

	if (!vector_hash(json_object_get(doc, "root1"), r1, odd) ||
	    !vector_hash(json_object_get(doc, "root2"), r2, odd) ||
	    !vector_proof(json_object_get(doc, "proof"), &proof, &len, odd)) {
		print_error("%s: malformed vector\n", file);
		free(proof);
		return -1;
	}
	ok = optreg_merkle_verify_consistency(m, n, r1, r2, proof, len);
	if (ok && m >= 1 && m <= n && n <= REF_LEAVES &&
	    !memcmp(r1, ref_roots[m], OPTREG_HASH_LEN) &&
	    !memcmp(r2, ref_roots[n], OPTREG_HASH_LEN)) {
		optreg_hash got[OPTREG_MERKLE_MAX_PROOF];
		size_t glen;

		if (optreg_merkle_consistency_proof(m, n, optreg_merkle_mem_get,
						    ref, got, &glen) != 0 ||
		    glen != len ||
		    memcmp(got, proof, len * OPTREG_HASH_LEN) != 0) {
			print_error("%s: the generated proof differs\n", file);
			st->failed++;
		}
		st->regenerated++;
	}
	free(proof);
	return ok;
}

/* The vector directories, each run as one test (initial state: its path
 * under merkle/). test_vector_dirs_listed keeps this list complete. */
static const char *const vector_dirs[] = {
	"inclusion/0",
	"inclusion/1",
	"inclusion/2",
	"inclusion/3",
	"inclusion/4",
	"inclusion/single-entry",
	"inclusion/additional/0",
	"inclusion/additional/1",
	"inclusion/additional/2",
	"inclusion/additional/3",
	"consistency/0",
	"consistency/1",
	"consistency/2",
	"consistency/3",
	"consistency/4",
	"consistency/additional",
};
#define NVECTOR_DIRS (sizeof(vector_dirs) / sizeof(vector_dirs[0]))

static bool is_json(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && !strcmp(name + len - 5, ".json");
}

/*
 * Runs every vector of one directory. A good vector must verify; a wantErr
 * one must be refused by the verifier, or, if it holds a hash of another
 * length than 32 bytes, where such a hash is decoded: the typed API cannot
 * take it (a client refuses it while reading the proof). The files refused
 * only for that reason are named in the output.
 */
static void test_vector_dir(void **state)
{
	const char *dir = *state;
	bool consistency = !strncmp(dir, "consistency/", 12);
	struct optreg_merkle_mem ref;
	optreg_hash ref_roots[REF_LEAVES + 1], ref_leaves[REF_LEAVES];
	struct vector_stats st = {0};
	char path[4096];
	struct dirent *ent;
	DIR *d;

	load_reference(&ref, ref_roots, ref_leaves);
	snprintf(path, sizeof(path), "%s/merkle/%s", testdata_dir(), dir);
	d = opendir(path);
	if (!d)
		fail_msg("cannot open %s (set OPTREG_TESTDATA)", path);
	while ((ent = readdir(d))) {
		struct optreg_buf text = OPTREG_BUF_INIT;
		char file[8192];
		json_t *doc = NULL, *want_err;
		json_error_t err;
		uint64_t a, n;
		bool odd = false, want_ok;
		int ok = -1;

		if (!is_json(ent->d_name))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, ent->d_name);
		st.files++;
		if (optreg_buf_read_file(&text, file) != 0)
			fail_msg("cannot read %s (set OPTREG_TESTDATA)", file);
		if (take_size(&text, consistency ? "size1" : "leafIdx", &a) &&
		    take_size(&text, consistency ? "size2" : "treeSize", &n))
			doc = json_loadb(text.data, text.len, 0, &err);
		optreg_buf_release(&text);
		want_err = json_object_get(doc, "wantErr");
		if (!json_is_boolean(want_err)) {
			print_error("%s: malformed vector\n", file);
			st.failed++;
			json_decref(doc);
			continue;
		}
		want_ok = !json_is_true(want_err);
		if (consistency)
			ok = run_consistency_vector(doc, a, n, file, &ref,
						    ref_roots, &st, &odd);
		else
			ok = run_inclusion_vector(doc, a, n, file, &ref,
						  ref_roots, ref_leaves, &st,
						  &odd);
		st.odd += odd;
		if (ok < 0) {
			st.failed++;
		} else if (ok == want_ok) {
			st.good += ok;
			st.refused += !ok;
		} else if (!want_ok && odd) {
			print_message("# %s: refused for its hash length "
				      "only (%s)\n",
				      file,
				      json_string_value(
					      json_object_get(doc, "desc")));
			st.length_only++;
		} else {
			print_error("%s: %s, want %s (%s)\n", file,
				    ok ? "verified" : "refused",
				    want_ok ? "verified" : "refused",
				    json_string_value(
					    json_object_get(doc, "desc")));
			st.failed++;
		}
		json_decref(doc);
	}
	closedir(d);
	optreg_merkle_mem_release(&ref);
	print_message("# merkle/%s: %d vectors (%d with a hash of another "
		      "length): %d verified (%d also generated from the "
		      "reference tree), %d refused by the verifier, %d for "
		      "the hash length only, %d failed\n",
		      dir, st.files, st.odd, st.good, st.regenerated,
		      st.refused, st.length_only, st.failed);
	assert_true(st.files > 0);
	assert_int_equal(st.failed, 0);
}

/* Every directory under merkle/ that holds vectors is in vector_dirs. */
static int walk_vector_dirs(const char *root, const char *rel, int *dirs)
{
	char path[4096];
	struct dirent *ent;
	bool has_json = false;
	int unlisted = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	d = opendir(path);
	if (!d)
		fail_msg("cannot open %s (set OPTREG_TESTDATA)", path);
	while ((ent = readdir(d))) {
		char sub[4096], full[8192];
		struct stat sb;

		if (ent->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, ent->d_name);
		if (stat(full, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			snprintf(sub, sizeof(sub), "%s%s%s", rel,
				 rel[0] ? "/" : "", ent->d_name);
			unlisted += walk_vector_dirs(root, sub, dirs);
		} else if (is_json(ent->d_name) && rel[0]) {
			has_json = true;
		}
	}
	closedir(d);
	if (has_json) {
		bool listed = false;

		for (size_t i = 0; i < NVECTOR_DIRS; i++)
			listed = listed || !strcmp(vector_dirs[i], rel);
		if (!listed) {
			print_error("merkle/%s: vector directory not run\n",
				    rel);
			unlisted++;
		}
		(*dirs)++;
	}
	return unlisted;
}

static void test_vector_dirs_listed(void **state)
{
	char root[4096];
	int dirs = 0;

	(void)state;
	snprintf(root, sizeof(root), "%s/merkle", testdata_dir());
	assert_int_equal(walk_vector_dirs(root, "", &dirs), 0);
	assert_int_equal(dirs, NVECTOR_DIRS);
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */

/* Every (index, n) and (m, n) for n <= 64. */
static void test_all_small_pairs(void **state)
{
	struct fixture *f;
	int pairs = 0;

	(void)state;
	rng_seed();
	f = fixture_new();
	flip_stride = 7;
	for (uint64_t n = 1; n <= 64; n++) {
		for (uint64_t i = 0; i < n; i++, pairs++)
			check_inclusion(f, i, n);
		for (uint64_t m = 1; m <= n; m++, pairs++)
			check_consistency(f, m, n);
	}
	print_message("# all pairs n <= 64: %d proofs, %ld verifications\n",
		      pairs, f->checked);
	fixture_free(f);
}

/* Random pairs up to 1,024 leaves, every bit of every hash flipped. */
static void test_random_pairs(void **state)
{
	struct fixture *f;
	int pairs = 0;

	(void)state;
	rng_seed();
	f = fixture_new();
	flip_stride = 1;
	for (int k = 0; k < 300; k++, pairs += 2) {
		uint64_t n = rng_range(1, 1024);

		check_inclusion(f, rng_range(0, n - 1), n);
		check_consistency(f, rng_range(1, n), n);
	}
	/* The edges: first and last leaf, sizes around powers of two. */
	for (uint64_t n = 1; n <= 1024; n *= 2) {
		uint64_t sizes[3] = {n - 1, n, n + 1};

		for (int s = 0; s < 3; s++) {
			uint64_t z = sizes[s];

			if (z == 0 || z > 1024)
				continue;
			check_inclusion(f, 0, z);
			check_inclusion(f, z - 1, z);
			check_consistency(f, 1, z);
			check_consistency(f, z, z);
			if (z > 1)
				check_consistency(f, z - 1, z);
			pairs += 5;
		}
	}
	print_message("# random pairs n <= 1024: %d proofs, %ld "
		      "verifications\n",
		      pairs, f->checked);
	fixture_free(f);
}

/* A failing getter fails generation with its code, at whichever call. */
static void test_getter_failure(void **state)
{
	static const uint64_t sizes[][2] = {
		{0, 1},	      {0, 2},	   {5, 7},	{6, 7},
		{13, 1000},   {999, 1000}, {512, 1024}, {0, 1024},
		{1023, 1024}, {3, 5},	   {4, 5},
	};
	struct fixture *f;
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root;
	struct counting c;
	size_t len;

	(void)state;
	rng_seed();
	f = fixture_new();
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t a = sizes[s][0], n = sizes[s][1];
		size_t total;

		/* Count the calls, then fail each one in turn. */
		counting_init(&c, &f->t, n);
		assert_int_equal(optreg_merkle_inclusion_proof(
					 a, n, counting_get, &c, proof, &len),
				 0);
		total = c.calls;
		for (size_t k = 0; k < total; k++) {
			counting_init(&c, &f->t, n);
			c.fail_at = k;
			c.fail_code = OPTREG_EUNAVAILABLE;
			len = 7;
			assert_int_equal(
				optreg_merkle_inclusion_proof(
					a, n, counting_get, &c, proof, &len),
				OPTREG_EUNAVAILABLE);
			assert_int_equal(len, 0);
			assert_int_equal(c.calls, k + 1);
		}
		if (a >= 1) {
			counting_init(&c, &f->t, n);
			assert_int_equal(
				optreg_merkle_consistency_proof(
					a, n, counting_get, &c, proof, &len),
				0);
			total = c.calls;
			for (size_t k = 0; k < total; k++) {
				counting_init(&c, &f->t, n);
				c.fail_at = k;
				c.fail_code = OPTREG_EIO;
				len = 7;
				assert_int_equal(
					optreg_merkle_consistency_proof(
						a, n, counting_get, &c, proof,
						&len),
					OPTREG_EIO);
				assert_int_equal(len, 0);
			}
		}
		counting_init(&c, &f->t, n);
		assert_int_equal(optreg_merkle_root(n, counting_get, &c, root),
				 0);
		assert_int_equal(c.calls, __builtin_popcountll(n));
		total = c.calls;
		for (size_t k = 0; k < total; k++) {
			counting_init(&c, &f->t, n);
			c.fail_at = k;
			c.fail_code = OPTREG_EINTERNAL;
			assert_int_equal(
				optreg_merkle_root(n, counting_get, &c, root),
				OPTREG_EINTERNAL);
		}
	}
	/* A getter breaking its contract with a positive value. */
	counting_init(&c, &f->t, 7);
	c.fail_at = 0;
	c.fail_code = 1;
	assert_int_equal(optreg_merkle_inclusion_proof(3, 7, counting_get, &c,
						       proof, &len),
			 OPTREG_EINTERNAL);
	/* A size past the stored leaves: the in-memory getter's code. */
	assert_int_equal(optreg_merkle_inclusion_proof(0, TREE_LEAVES + 1,
						       optreg_merkle_mem_get,
						       &f->t, proof, &len),
			 OPTREG_ENOTFOUND);
	assert_int_equal(optreg_merkle_consistency_proof(3, TREE_LEAVES + 1,
							 optreg_merkle_mem_get,
							 &f->t, proof, &len),
			 OPTREG_ENOTFOUND);
	fixture_free(f);
}

static void test_refuses_bad_arguments(void **state)
{
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF + 2], h, r;
	struct optreg_subtree st[OPTREG_MERKLE_MAX_SUBTREES];
	size_t len;
	int calls = 0;

	(void)state;
	memset(proof, 0x5a, sizeof(proof));
	memset(h, 1, sizeof(h));
	memset(r, 2, sizeof(r));

	/* Generation: nothing asked of the getter. */
	len = 3;
	assert_int_equal(optreg_merkle_inclusion_proof(0, 0, never_get, &calls,
						       proof, &len),
			 OPTREG_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(optreg_merkle_inclusion_proof(5, 5, never_get, &calls,
						       proof, &len),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_merkle_inclusion_proof(UINT64_MAX, UINT64_MAX,
						       never_get, &calls, proof,
						       &len),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_merkle_consistency_proof(0, 5, never_get,
							 &calls, proof, &len),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_merkle_consistency_proof(0, 0, never_get,
							 &calls, proof, &len),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_merkle_consistency_proof(6, 5, never_get,
							 &calls, proof, &len),
			 OPTREG_EINVAL);
	len = 3;
	assert_int_equal(optreg_merkle_consistency_proof(5, 5, never_get,
							 &calls, proof, &len),
			 0);
	assert_int_equal(len, 0);
	assert_int_equal(calls, 0);
	assert_int_equal(optreg_merkle_inclusion_subtrees(5, 5, st), 0);
	assert_int_equal(optreg_merkle_consistency_subtrees(0, 5, st), 0);
	assert_int_equal(optreg_merkle_consistency_subtrees(6, 5, st), 0);
	assert_int_equal(optreg_merkle_consistency_subtrees(5, 5, st), 0);

	/* Inclusion: index out of range, empty tree, any proof length. */
	assert_false(optreg_merkle_verify_inclusion(0, 0, h, proof, 0, h));
	assert_false(optreg_merkle_verify_inclusion(1, 1, h, proof, 0, h));
	assert_false(optreg_merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, h,
						    proof, 0, h));
	assert_true(optreg_merkle_verify_inclusion(0, 1, h, NULL, 0, h));
	assert_false(optreg_merkle_verify_inclusion(0, 1, h, proof, 1, h));
	assert_false(optreg_merkle_verify_inclusion(0, 2, h, NULL, 0, h));
	assert_false(optreg_merkle_verify_inclusion(
		0, 2, h, proof, OPTREG_MERKLE_MAX_PROOF + 2, r));

	/* Consistency: m == 0, m > n, m == n, empty or surplus proofs. */
	assert_false(optreg_merkle_verify_consistency(0, 0, h, h, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(0, 1, h, h, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(0, 1, h, h, proof, 1));
	assert_false(optreg_merkle_verify_consistency(2, 1, h, h, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(UINT64_MAX, 1, h, h,
						      proof, 1));
	assert_true(optreg_merkle_verify_consistency(1, 1, h, h, NULL, 0));
	assert_true(optreg_merkle_verify_consistency(UINT64_MAX, UINT64_MAX, h,
						     h, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(1, 1, h, r, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(1, 1, h, h, proof, 1));
	assert_false(optreg_merkle_verify_consistency(1, 2, h, r, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(3, 4, h, r, NULL, 0));
	assert_false(optreg_merkle_verify_consistency(
		1, 2, h, r, proof, OPTREG_MERKLE_MAX_PROOF + 2));
	assert_false(optreg_merkle_verify_consistency(
		3, UINT64_MAX, h, r, proof, OPTREG_MERKLE_MAX_PROOF + 2));
}

/*
 * Trees far too large to store (up to 2^64 - 1 leaves, all equal): the
 * shifts and sizes hold at the top of the range, proofs verify, and a
 * consistency proof that would not fit OPTREG_MERKLE_MAX_PROOF is refused
 * before any getter call.
 */
/*
 * The registry's append returns, for a receipt, the leaf and the complete
 * subtrees whose sizes are the set bits of the tree's size before the
 * append (n) and after it (n + 1): migrations/0012's audit_append_proof.
 * The root of n + 1 leaves and the inclusion proof of leaf n must ask for
 * nothing else, or each receipt would cost the database more round trips
 * under the append lock.
 */
struct last_leaf {
	struct uniform u;
	uint64_t n;
	int others;
};

static bool bit_subtree(struct optreg_subtree st, uint64_t size)
{
	return st.level < 64 && ((size >> st.level) & 1) &&
	       st.index == (size >> st.level) - 1;
}

static int last_leaf_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	struct last_leaf *l = ctx;

	if (!(st.level == 0 && st.index == l->n) && !bit_subtree(st, l->n) &&
	    !bit_subtree(st, l->n + 1))
		l->others++;
	return uniform_get(&l->u, st, out);
}

static void test_last_leaf_subtrees(void **state)
{
	static const uint64_t big[] = {
		((uint64_t)1 << 40) - 1, (uint64_t)1 << 40,
		((uint64_t)1 << 40) + 1, ((uint64_t)1 << 63) - 1,
		UINT64_MAX - 1,		 123456789012345ULL};
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root;
	struct last_leaf l;
	size_t len;

	(void)state;
	for (uint64_t k = 0; k < 4200 + sizeof(big) / sizeof(big[0]); k++) {
		uint64_t n = k < 4200 ? k : big[k - 4200];
		memset(&l, 0, sizeof(l));
		l.n = n;
		uniform_init(&l.u, n + 1);
		assert_int_equal(
			optreg_merkle_root(n + 1, last_leaf_get, &l, root), 0);
		assert_int_equal(optreg_merkle_inclusion_proof(n, n + 1,
							       last_leaf_get,
							       &l, proof, &len),
				 0);
		if (l.others)
			fail_msg("size %llu: %d subtrees outside the append's "
				 "rows",
				 (unsigned long long)(n + 1), l.others);
		assert_int_equal(l.u.outside, 0);
	}
}

static void test_huge_trees(void **state)
{
	static const uint64_t sizes[] = {
		UINT64_MAX,
		UINT64_MAX - 1,
		(uint64_t)1 << 63,
		((uint64_t)1 << 63) + 1,
		((uint64_t)1 << 63) - 1,
		((uint64_t)1 << 32) + 5,
		(uint64_t)1 << 40,
	};
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root, rm;
	struct optreg_subtree st[OPTREG_MERKLE_MAX_SUBTREES];
	struct uniform u, um;
	size_t len, most = 0;

	(void)state;
	rng_seed();
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t n = sizes[s];

		uniform_init(&u, n);
		assert_int_equal(optreg_merkle_root(n, uniform_get, &u, root),
				 0);
		for (int k = 0; k < 40; k++) {
			uint64_t index = k == 0	  ? 0
					 : k == 1 ? n - 1
					 : k == 2 ? n / 2
						  : rng_range(0, n - 1);

			u.calls = 0;
			assert_int_equal(
				optreg_merkle_inclusion_proof(
					index, n, uniform_get, &u, proof, &len),
				0);
			assert_int_equal(u.outside, 0);
			assert_true(u.calls <= 2 * bit_len(n) + 2);
			assert_true(len <= bit_len(n - 1));
			assert_true(optreg_merkle_verify_inclusion(
				index, n, u.level_hash[0], proof, len, root));
			proof[0][0] ^= 1;
			assert_false(optreg_merkle_verify_inclusion(
				index, n, u.level_hash[0], proof, len, root));
			if (optreg_merkle_inclusion_subtrees(index, n, st) >
			    most)
				most = optreg_merkle_inclusion_subtrees(index,
									n, st);
		}
		for (int k = 0; k < 40; k++) {
			uint64_t m = k == 0   ? 1
				     : k == 1 ? n - 1
					      : rng_range(1, n);
			int rc;

			uniform_init(&um, m);
			assert_int_equal(
				optreg_merkle_root(m, uniform_get, &um, rm), 0);
			u.calls = 0;
			rc = optreg_merkle_consistency_proof(m, n, uniform_get,
							     &u, proof, &len);
			if (rc == OPTREG_ELIMIT) {
				/* 65 hashes: only past 2^63 leaves */
				assert_true(n > (uint64_t)1 << 63);
				assert_int_equal(u.calls, 0);
				assert_int_equal(len, 0);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(u.outside, 0);
			assert_true(u.calls <= 2 * bit_len(n) + 2);
			assert_true(optreg_merkle_verify_consistency(
				m, n, rm, root, proof, len));
			if (len > 0) {
				proof[len - 1][31] ^= 0x80;
				assert_false(optreg_merkle_verify_consistency(
					m, n, rm, root, proof, len));
			}
			if (optreg_merkle_consistency_subtrees(m, n, st) > most)
				most = optreg_merkle_consistency_subtrees(m, n,
									  st);
		}
	}
	/* The longest proofs there are. */
	uniform_init(&u, UINT64_MAX);
	assert_int_equal(optreg_merkle_inclusion_proof(
				 0, UINT64_MAX, uniform_get, &u, proof, &len),
			 0);
	assert_int_equal(len, 64);
	assert_int_equal(optreg_merkle_inclusion_subtrees(0, UINT64_MAX, st),
			 126);
	assert_int_equal(optreg_merkle_consistency_proof(
				 3, UINT64_MAX, uniform_get, &u, proof, &len),
			 OPTREG_ELIMIT);
	assert_int_equal(optreg_merkle_consistency_subtrees(3, UINT64_MAX, st),
			 0);
	assert_int_equal(optreg_merkle_consistency_proof(3, (uint64_t)1 << 63,
							 uniform_get, &u, proof,
							 &len),
			 0);
	assert_int_equal(len, 64);
	print_message("# huge trees: at most %zu subtrees per proof\n", most);
	assert_true(most <= OPTREG_MERKLE_MAX_SUBTREES);
}

int main(void)
{
	struct CMUnitTest tests[NVECTOR_DIRS + 16];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hashes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_frontier);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mem_tree);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reference_tree);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test(test_vector_dirs_listed);
	for (size_t i = 0; i < NVECTOR_DIRS; i++)
		tests[n++] = (struct CMUnitTest){
			.name = vector_dirs[i],
			.test_func = test_vector_dir,
			.initial_state = (void *)(uintptr_t)vector_dirs[i],
		};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_all_small_pairs);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_random_pairs);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_getter_failure);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test(test_refuses_bad_arguments);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_huge_trees);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test(test_last_leaf_subtrees);
	return _cmocka_run_group_tests("merkle", tests, n, NULL, NULL);
}
