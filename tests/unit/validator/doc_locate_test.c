/*
 * tests/unit/validator/doc_locate_test.c: optreg_doc_locate, the nearest
 * located ancestor of a path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "validator/doc.h"

static const char yaml[] = "a:\n"		 /* line 1 */
			   "  b:\n"		 /* 2 */
			   "    - x\n"		 /* 3 */
			   "    - k: 1\n"	 /* 4 */
			   "  \"q y\": {z: 2}\n" /* 5 */
			   "c: 3\n";		 /* 6 */

static void expect(const struct optreg_doc *doc, const char *path, int line,
		   int col)
{
	const struct optreg_doc_loc *loc = optreg_doc_locate(doc, path);

	if (!line) {
		assert_null(loc);
		return;
	}
	if (!loc)
		fail_msg("%s: not located", path);
	if (loc->line != line || loc->col != col)
		fail_msg("%s: %d:%d, expected %d:%d", path, loc->line, loc->col,
			 line, col);
}

static void test_locate(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc doc;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(optreg_doc_load_yaml(&doc, yaml, strlen(yaml), &errs),
			 0);
	/* Recorded paths are their own position. */
	const struct optreg_doc_loc *k = optreg_doc_find(&doc, "a.b[1].k");
	assert_non_null(k);
	expect(&doc, "a.b[1].k", k->line, k->col);
	const struct optreg_doc_loc *b1 = optreg_doc_find(&doc, "a.b[1]");
	const struct optreg_doc_loc *b = optreg_doc_find(&doc, "a.b");
	const struct optreg_doc_loc *a = optreg_doc_find(&doc, "a");
	const struct optreg_doc_loc *q = optreg_doc_find(&doc, "a[\"q y\"]");
	const struct optreg_doc_loc *r = optreg_doc_find(&doc, "");
	assert_non_null(b1);
	assert_non_null(b);
	assert_non_null(a);
	assert_non_null(q);
	assert_non_null(r);
	/* Missing members fall back to the nearest ancestor. */
	expect(&doc, "a.b[1].missing", b1->line, b1->col);
	expect(&doc, "a.b[7]", b->line, b->col);
	expect(&doc, "a.b[7].x[2]", b->line, b->col);
	expect(&doc, "a.nope.deeper", a->line, a->col);
	expect(&doc, "a[\"q y\"].w", q->line, q->col);
	expect(&doc, "a[\"x]y\"]", a->line, a->col);
	expect(&doc, "zz", r->line, r->col);
	expect(&doc, "", r->line, r->col);
	expect(&doc, NULL, r->line, r->col);
	optreg_doc_release(&doc);

	/* JSON records no positions. */
	optreg_doc_init(&doc);
	assert_int_equal(optreg_doc_load_json(&doc, "{\"a\": 1}", 8, &errs), 0);
	expect(&doc, "a", 0, 0);
	expect(&doc, "", 0, 0);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
