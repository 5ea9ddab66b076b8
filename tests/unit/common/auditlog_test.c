/*
 * tests/unit/common/auditlog_test.c: recomputing the audit tree from its
 * entries (common/auditlog.c) and the saved-checkpoint file
 * (common/checkpoint.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/auditlog.h"
#include "common/checkpoint.h"
#include "common/hash.h"
#include "validator/jcs.h"

/* Entry `index` with a correct leaf_hash for its event. */
static json_t *entry(int64_t index)
{
	json_t *event = json_pack("{s:s, s:I}", "action", "version.create", "n",
				  (json_int_t)index);
	struct optreg_buf canon = OPTREG_BUF_INIT;
	char b64[OPTREG_HASH_B64_LEN + 1];
	optreg_hash leaf;

	assert_int_equal(optreg_jcs_serialize(event, &canon, NULL), 0);
	optreg_merkle_leaf_hash(canon.data, canon.len, leaf);
	optreg_hash_to_b64(leaf, b64);
	optreg_buf_release(&canon);
	return json_pack("{s:I, s:o, s:s}", "index", (json_int_t)index, "event",
			 event, "leaf_hash", b64);
}

static void add(struct optreg_auditlog *log, json_t *e,
		struct optreg_auditlog_step *st)
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	const json_t *event = json_object_get(e, "event");
	int ok = event && optreg_jcs_serialize(event, &canon, NULL) == 0;

	optreg_auditlog_add(log, e, ok ? &canon : NULL, st);
	optreg_buf_release(&canon);
	json_decref(e);
}

static void test_clean_log_and_root(void **state)
{
	struct optreg_auditlog log;
	struct optreg_auditlog_step st;
	struct optreg_merkle_mem ref;
	optreg_hash a, b;

	(void)state;
	optreg_auditlog_init(&log);
	optreg_merkle_mem_init(&ref);
	for (int i = 0; i < 7; i++) {
		add(&log, entry(i), &st);
		assert_int_equal(st.seq, OPTREG_AUDITLOG_SEQ_OK);
		assert_int_equal(st.leaf, OPTREG_AUDITLOG_LEAF_OK);
		assert_true(st.added);
		optreg_merkle_mem_append(&ref, st.computed);
	}
	assert_int_equal(log.count, 7);
	assert_int_equal(log.next, 7);
	for (uint64_t n = 0; n <= 7; n++) {
		assert_int_equal(optreg_auditlog_root(&log, n, a), 0);
		assert_int_equal(
			optreg_merkle_root(n, optreg_merkle_mem_get, &ref, b),
			0);
		assert_memory_equal(a, b, OPTREG_HASH_LEN);
	}
	assert_int_equal(optreg_auditlog_root(&log, 8, a), -1);
	optreg_merkle_mem_release(&ref);
	optreg_auditlog_release(&log);
}

static void test_sequence_problems(void **state)
{
	struct optreg_auditlog log;
	struct optreg_auditlog_step st;

	(void)state;
	optreg_auditlog_init(&log);
	add(&log, entry(0), &st);
	add(&log, entry(3), &st); /* 1 and 2 missing */
	assert_int_equal(st.seq, OPTREG_AUDITLOG_SEQ_GAP);
	assert_int_equal(st.expected, 1);
	assert_int_equal(st.index, 3);
	assert_true(st.added);
	assert_int_equal(log.next, 4);
	add(&log, entry(2), &st); /* behind */
	assert_int_equal(st.seq, OPTREG_AUDITLOG_SEQ_REPEAT);
	assert_false(st.added);
	add(&log, json_pack("{s:s}", "index", "x"), &st);
	assert_int_equal(st.seq, OPTREG_AUDITLOG_SEQ_NO_INDEX);
	assert_int_equal(st.index, -1);
	assert_false(st.added);
	assert_int_equal(log.count, 2);
	optreg_auditlog_release(&log);
}

static void test_leaf_problems(void **state)
{
	struct optreg_auditlog log;
	struct optreg_auditlog_step st;
	json_t *e;
	optreg_hash zero = {0};

	(void)state;
	optreg_auditlog_init(&log);
	e = entry(0);
	json_object_set_new(json_object_get(e, "event"), "n", json_integer(9));
	add(&log, e, &st);
	assert_int_equal(st.leaf, OPTREG_AUDITLOG_LEAF_MISMATCH);
	assert_memory_not_equal(st.computed, st.listed, OPTREG_HASH_LEN);
	e = entry(1);
	json_object_set_new(e, "leaf_hash", json_string("not base64!"));
	add(&log, e, &st);
	assert_int_equal(st.leaf, OPTREG_AUDITLOG_LEAF_BAD_HASH);
	e = entry(2);
	json_object_del(e, "event");
	add(&log, e, &st);
	assert_int_equal(st.leaf, OPTREG_AUDITLOG_LEAF_NO_EVENT);
	assert_memory_equal(st.computed, zero, OPTREG_HASH_LEN);
	assert_true(st.added);
	assert_int_equal(log.count, 3);
	optreg_auditlog_release(&log);
}

/* The leaf is the hash of the bytes handed in, not of the entry's event. */
static void test_leaf_of_given_bytes(void **state)
{
	struct optreg_auditlog log;
	struct optreg_auditlog_step st;
	struct optreg_buf bytes = OPTREG_BUF_INIT;
	json_t *e = entry(0);
	optreg_hash want;

	(void)state;
	optreg_auditlog_init(&log);
	optreg_buf_adds(&bytes, "{\"other\":1}");
	optreg_merkle_leaf_hash(bytes.data, bytes.len, want);
	optreg_auditlog_add(&log, e, &bytes, &st);
	assert_int_equal(st.leaf, OPTREG_AUDITLOG_LEAF_MISMATCH);
	assert_memory_equal(st.computed, want, OPTREG_HASH_LEN);
	optreg_auditlog_add(&log, e, NULL, &st); /* a repeat: not hashed */
	assert_int_equal(st.seq, OPTREG_AUDITLOG_SEQ_REPEAT);
	json_decref(e);
	optreg_buf_release(&bytes);
	optreg_auditlog_release(&log);
}

static void test_saved_checkpoint_round_trip(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_saved_checkpoint cp = {0}, back;
	optreg_hash leaves[3], root, again;
	struct optreg_merkle_mem tree;

	(void)state;
	optreg_merkle_mem_init(&tree);
	for (int i = 0; i < 3; i++) {
		memset(leaves[i], 0x11 * (i + 1), OPTREG_HASH_LEN);
		optreg_merkle_mem_append(&tree, leaves[i]);
	}
	assert_int_equal(
		optreg_merkle_root(3, optreg_merkle_mem_get, &tree, root), 0);
	cp.note = "example.org/log\n3\nroot\n\n— sig\n";
	cp.origin = "example.org/log";
	cp.size = 3;
	memcpy(cp.root, root, OPTREG_HASH_LEN);
	cp.keyid = "abc";
	cp.saved_at = "2026-12-02T00:00:00Z";
	cp.leaves = leaves;
	cp.nleaves = 3;
	assert_int_equal(optreg_saved_checkpoint_encode(&cp, &out), 0);
	assert_non_null(strstr(
		out.data, "\"format\":\"" OPTREG_SAVED_CHECKPOINT_FORMAT "\""));
	assert_non_null(strstr(out.data, ",\n\"leaves\":[\n\"1111"));
	assert_int_equal(
		optreg_saved_checkpoint_decode(out.data, out.len, &back, &errs),
		0);
	assert_string_equal(back.note, cp.note);
	assert_int_equal(back.nleaves, 3);
	assert_int_equal(back.bad_leaf, -1);
	assert_memory_equal(back.leaves[2], leaves[2], OPTREG_HASH_LEN);
	assert_int_equal(optreg_saved_checkpoint_root(&back, again), 0);
	assert_memory_equal(again, root, OPTREG_HASH_LEN);
	optreg_saved_checkpoint_release(&back);

	/* A changed leaf is found by index. */
	char *p = strstr(out.data, "\"2222");
	p[1] = 'G';
	assert_int_equal(
		optreg_saved_checkpoint_decode(out.data, out.len, &back, &errs),
		0);
	assert_int_equal(back.bad_leaf, 1);
	assert_int_equal(optreg_saved_checkpoint_root(&back, again), -1);
	optreg_saved_checkpoint_release(&back);

	assert_int_equal(optreg_saved_checkpoint_decode("{", 1, &back, &errs),
			 OPTREG_ESYNTAX);
	optreg_saved_checkpoint_release(&back);
	const char *wrong = "{\"format\":\"x\",\"note\":\"n\",\"leaves\":[]}";
	assert_int_equal(optreg_saved_checkpoint_decode(wrong, strlen(wrong),
							&back, &errs),
			 OPTREG_EINVAL);
	optreg_saved_checkpoint_release(&back);
	optreg_errors_release(&errs);
	optreg_buf_release(&out);
	optreg_merkle_mem_release(&tree);
}

static void test_hash_text(void **state)
{
	optreg_hash h, back;
	char b64[OPTREG_HASH_B64_LEN + 1];

	(void)state;
	for (int i = 0; i < OPTREG_HASH_LEN; i++)
		h[i] = (unsigned char)(i * 37);
	optreg_hash_to_b64(h, b64);
	assert_int_equal(strlen(b64), 44);
	assert_int_equal(optreg_hash_from_b64(b64, back), 0);
	assert_memory_equal(h, back, OPTREG_HASH_LEN);
	assert_int_equal(optreg_hash_from_b64("AAAA", back), OPTREG_EINVAL);
	assert_int_equal(optreg_hash_from_b64(NULL, back), OPTREG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_log_and_root),
		cmocka_unit_test(test_sequence_problems),
		cmocka_unit_test(test_leaf_problems),
		cmocka_unit_test(test_leaf_of_given_bytes),
		cmocka_unit_test(test_saved_checkpoint_round_trip),
		cmocka_unit_test(test_hash_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
