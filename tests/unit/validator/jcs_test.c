/*
 * tests/unit/validator/jcs_test.c: RFC 8785 canonical JSON, ECMAScript numbers
 * and digests.
 *
 * The reference vectors come from tests/testdata/jcs (cyberphone's
 * json-canonicalization test data); the directory is $OPTREG_TESTDATA, by
 * default tests/testdata relative to the project root, where tests run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <locale.h>
#include <math.h>

#include <cmocka.h>

#include "tests/unit/testutil.h"

#include "common/buf.h"
#include "common/error.h"
#include "validator/jcs.h"

static const char *testdata_dir(void)
{
	const char *dir = getenv("OPTREG_TESTDATA");

	return dir && dir[0] ? dir : "tests/testdata";
}

/* Canonicalizes a NUL-terminated text; returns the code and leaves the
 * output in `out`. */
static int canon(const char *json, struct optreg_buf *out,
		 struct optreg_errors *errs)
{
	return optreg_jcs_canonicalize(json, strlen(json), out, errs);
}

/* Asserts that `json` canonicalizes to `want`. */
static void assert_canon(const char *json, const char *want)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(canon(json, &out, &errs), 0);
	assert_int_equal(errs.len, 0);
	assert_string_equal(out.data, want);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

/*
 * Asserts that `json` (len bytes) is refused with `code` and `rule`, that
 * nothing was written, and that the message contains `needle`. Returns the
 * error's line and column through `line`/`col` when not NULL.
 */
static void assert_refused_n(const char *json, size_t len, int code,
			     const char *rule, const char *needle, int *line,
			     int *col)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(optreg_jcs_canonicalize(json, len, &out, &errs), code);
	assert_int_equal(out.len, 0);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, code);
	assert_string_equal(errs.items[0].rule, rule);
	if (!strstr(errs.items[0].message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", errs.items[0].message,
			 needle);
	/* Messages start lowercase (or with an acronym) and have no period. */
	size_t mlen = strlen(errs.items[0].message);
	assert_true(mlen > 0);
	assert_true(errs.items[0].message[mlen - 1] != '.');
	if (line)
		*line = errs.items[0].line;
	if (col)
		*col = errs.items[0].col;
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void assert_refused(const char *json, int code, const char *rule,
			   const char *needle)
{
	assert_refused_n(json, strlen(json), code, rule, needle, NULL, NULL);
}

static void assert_number(double v, const char *want)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	assert_int_equal(optreg_jcs_number(v, &out), 0);
	assert_string_equal(out.data, want);
	optreg_buf_release(&out);
}

/* ------------------------------------------------------------------ */

static void test_reference_vectors(void **state)
{
	char indir[4096], outdir[4096];
	struct dirent *ent;
	int files = 0, failed = 0;
	DIR *d;

	(void)state;
	snprintf(indir, sizeof(indir), "%s/jcs/input", testdata_dir());
	snprintf(outdir, sizeof(outdir), "%s/jcs/output", testdata_dir());
	d = opendir(indir);
	if (!d)
		fail_msg("cannot open %s (set OPTREG_TESTDATA)", indir);
	while ((ent = readdir(d))) {
		struct optreg_buf in = OPTREG_BUF_INIT, want = OPTREG_BUF_INIT;
		struct optreg_buf got = OPTREG_BUF_INIT;
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		char path[8192];
		int ret;

		if (ent->d_name[0] == '.')
			continue;
		files++;
		snprintf(path, sizeof(path), "%s/%s", indir, ent->d_name);
		assert_int_equal(optreg_buf_read_file(&in, path), 0);
		snprintf(path, sizeof(path), "%s/%s", outdir, ent->d_name);
		assert_int_equal(optreg_buf_read_file(&want, path), 0);
		ret = optreg_jcs_canonicalize(in.data, in.len, &got, &errs);
		if (ret || got.len != want.len ||
		    memcmp(got.data, want.data, got.len) != 0) {
			print_error("%s: got (%d) %s\n  want %s\n", ent->d_name,
				    ret, got.data, want.data);
			failed++;
		}
		optreg_buf_release(&in);
		optreg_buf_release(&want);
		optreg_buf_release(&got);
		optreg_errors_release(&errs);
	}
	closedir(d);
	assert_true(files >= 6);
	assert_int_equal(failed, 0);
}

static void test_es6_numbers(void **state)
{
	struct optreg_buf file = OPTREG_BUF_INIT, got = OPTREG_BUF_INIT;
	char path[4096];
	int lines = 0, mismatches = 0;
	char *line, *next;

	(void)state;
	snprintf(path, sizeof(path),
		 "%s/jcs/numbers/es6testfile-first10000.txt", testdata_dir());
	if (optreg_buf_read_file(&file, path))
		fail_msg("cannot read %s (set OPTREG_TESTDATA)", path);
	for (line = file.data; *line; line = next) {
		char *comma, *end;
		uint64_t bits;
		double v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (!*line)
			continue;
		comma = strchr(line, ',');
		assert_non_null(comma);
		*comma = '\0';
		bits = strtoull(line, &end, 16);
		assert_ptr_equal(end, comma);
		memcpy(&v, &bits, sizeof(v));
		lines++;

		optreg_buf_reset(&got);
		if (optreg_jcs_number(v, &got) != 0 ||
		    strcmp(got.data, comma + 1) != 0) {
			if (mismatches < 10)
				print_error("%s: got %s, want %s\n", line,
					    got.data, comma + 1);
			mismatches++;
		}
	}
	if (mismatches)
		print_error("%d of %d numbers differ\n", mismatches, lines);
	assert_int_equal(lines, 10000);
	assert_int_equal(mismatches, 0);
	optreg_buf_release(&file);
	optreg_buf_release(&got);
}

static void test_number_negative_zero(void **state)
{
	(void)state;
	assert_number(-0.0, "0");
	assert_number(0.0, "0");
	assert_canon("-0", "0");
	assert_canon("[-0.0,0e5,-0e-5]", "[0,0,0]");
}

static void test_number_ecmascript_forms(void **state)
{
	(void)state;
	assert_number(1e21, "1e+21");
	assert_number(999999999999999900000.0, "999999999999999900000");
	assert_number(1e20, "100000000000000000000");
	assert_number(123, "123");
	assert_number(-1.5, "-1.5");
	assert_number(0.1, "0.1");
	assert_number(1e-6, "0.000001");
	assert_number(1.5e-6, "0.0000015");
	assert_number(5e-7, "5e-7");
	assert_number(-5e-7, "-5e-7");
	assert_number(1.5e300, "1.5e+300");
	assert_number(4.9406564584124654e-324, "5e-324");
	assert_number(1.7976931348623157e308, "1.7976931348623157e+308");
	assert_number(9007199254740992.0, "9007199254740992");
	assert_number(9007199254740994.0, "9007199254740994");
	assert_number(333333333.33333329, "333333333.3333333");
	/* Powers of two, where the rounding interval is lopsided and the
	 * correctly rounded short candidate may not read back. */
	assert_number(ldexp(1, -1074), "5e-324");
	assert_number(ldexp(1, -1022), "2.2250738585072014e-308");
	assert_number(ldexp(1, 1023), "8.98846567431158e+307");
	assert_number(ldexp(1, 70), "1.1805916207174113e+21");
	assert_number(ldexp(1, 60), "1152921504606847000");
}

/*
 * At a power of two the doubles below are twice as dense as those above, so
 * the rounding interval is lopsided: the correctly rounded 16-digit decimal
 * of these values lies just outside it, and the shortest form is the next
 * 16-digit decimal up. None of the 10,000 reference lines hits this case.
 */
static void test_number_power_of_two_neighbour(void **state)
{
	(void)state;
	assert_number(ldexp(1, -24), "5.960464477539063e-8");
	assert_number(ldexp(1, -44), "5.684341886080802e-14");
	assert_number(ldexp(1, -1017), "7.120236347223045e-307");
	assert_number(ldexp(1, 89), "6.189700196426902e+26");
	assert_number(-ldexp(1, 976), "-6.386688990511104e+293");
}

static void test_number_refuses_non_finite(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	assert_int_equal(optreg_jcs_number(NAN, &out), OPTREG_EINVAL);
	assert_int_equal(optreg_jcs_number(INFINITY, &out), OPTREG_EINVAL);
	assert_int_equal(optreg_jcs_number(-INFINITY, &out), OPTREG_EINVAL);
	assert_int_equal(out.len, 0);
	optreg_buf_release(&out);
}

/* The CLI may run under a locale whose decimal point is a comma; the
 * output must not change. */
static void test_number_ignores_locale(void **state)
{
	(void)state;
	if (!test_use_comma_locale())
		fail_msg("cannot switch to a comma-decimal locale; is Debian's "
			 "locales package (localedef) installed?");
	assert_number(1.5, "1.5");
	assert_number(0.000001, "0.000001");
	assert_number(1.2345e-20, "1.2345e-20");
	assert_canon("[2.5e-3]", "[0.0025]");
	test_restore_locale();
}

static void test_number_underflow_is_zero(void **state)
{
	(void)state;
	/* As in ECMAScript, Number("1e-400") is 0: not an error. */
	assert_canon("[1e-400,-1e-400]", "[0,0]");
	assert_canon("2.4e-320", "2.4e-320");
}

static void test_number_integer_literals(void **state)
{
	(void)state;
	assert_canon("[1E30,4.50,2e-3,100,12345678901234567890123]",
		     "[1e+30,4.5,0.002,100,1.2345678901234568e+22]");
}

static void test_refuses_duplicate_key(void **state)
{
	int line, col;

	(void)state;
	assert_refused_n("{\"a\":1,\n\"b\":{\"a\":1,\"a\":2}}", 25,
			 OPTREG_EINVAL, "duplicate_key",
			 "duplicate object key \"a\"", &line, &col);
	assert_int_equal(line, 2);
	assert_true(col > 0);
	/* Same key spelled differently is still a duplicate. */
	assert_refused("{\"\\u00e9\":1,\"\xc3\xa9\":2}", OPTREG_EINVAL,
		       "duplicate_key", "duplicate object key \"\xc3\xa9\"");
}

static void test_refuses_duplicate_long_key(void **state)
{
	(void)state;
	/* jansson drops the token from its own message past 20 bytes. */
	assert_refused("{\"a_rather_long_key_name_here\":1,"
		       "\"a_rather_long_key_name_here\":2}",
		       OPTREG_EINVAL, "duplicate_key",
		       "duplicate object key \"a_rather_long_key_name_here\"");
	assert_refused("{\"q\\\"\\\\\":1,\"q\\\"\\\\\":2}", OPTREG_EINVAL,
		       "duplicate_key", "duplicate object key \"q\\\"\\\\\"");
}

static void test_refuses_nan_and_infinity(void **state)
{
	int line, col;

	(void)state;
	assert_refused("NaN", OPTREG_EINVAL, "non_finite", "NaN");
	assert_refused("[Infinity]", OPTREG_EINVAL, "non_finite", "Infinity");
	assert_refused("[1, -Infinity]", OPTREG_EINVAL, "non_finite",
		       "-Infinity");
	assert_refused("{\"x\": nan}", OPTREG_EINVAL, "non_finite", "nan");
	assert_refused_n("[1,\n -NaN]", 10, OPTREG_EINVAL, "non_finite",
			 "non-finite number -NaN", &line, &col);
	assert_int_equal(line, 2);
	/* Other bare words stay syntax errors. */
	assert_refused("[nope]", OPTREG_ESYNTAX, "syntax", "invalid token");
}

static void test_refuses_overflow(void **state)
{
	int line, col;

	(void)state;
	assert_refused_n("[1,\n 1e400]", 11, OPTREG_EINVAL, "non_finite",
			 "number 1e400 is out of range", &line, &col);
	assert_int_equal(line, 2);
	assert_refused("-1e400", OPTREG_EINVAL, "non_finite", "-1e400");
	assert_refused("[1.7976931348623159e308]", OPTREG_EINVAL, "non_finite",
		       "1.7976931348623159e308");
}

static void test_refuses_lone_surrogate(void **state)
{
	(void)state;
	assert_refused("\"\\ud800\"", OPTREG_EINVAL, "surrogate",
		       "lone surrogate \\ud800");
	assert_refused("[\"\\uDC00x\"]", OPTREG_EINVAL, "surrogate",
		       "lone surrogate \\udc00");
	assert_refused("{\"k\":\"\\ud800\\u0041\"}", OPTREG_EINVAL, "surrogate",
		       "\\ud800");
	assert_refused("{\"\\ud83d\":1}", OPTREG_EINVAL, "surrogate",
		       "\\ud83d");
	/* A pair is fine. */
	assert_canon("\"\\ud83d\\ude02\"", "\"\xf0\x9f\x98\x82\"");
}

static void test_refuses_encoded_surrogate(void **state)
{
	(void)state;
	assert_refused("[\"ok\", \"\xed\xa0\x80\"]", OPTREG_ESYNTAX,
		       "surrogate", "U+D800");
}

static void test_refuses_invalid_utf8(void **state)
{
	(void)state;
	assert_refused("[\"x\xffy\"]", OPTREG_ESYNTAX, "utf8", "0xff");
	assert_refused("\"\xc0\xaf\"", OPTREG_ESYNTAX, "utf8", "0xc0");
}

static void test_refuses_syntax_errors(void **state)
{
	int line, col;

	(void)state;
	assert_refused_n("[1,\n  2,]", 9, OPTREG_ESYNTAX, "syntax",
			 "unexpected token", &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 5);
	assert_refused("", OPTREG_ESYNTAX, "syntax", "end of file");
	assert_refused("{\"a\" 1}", OPTREG_ESYNTAX, "syntax", "':'");
	assert_refused("[1] [2]", OPTREG_ESYNTAX, "syntax", "end of file");
	assert_refused("\"\\x\"", OPTREG_ESYNTAX, "syntax", "escape");
	assert_refused("\xef\xbb\xbf{}", OPTREG_ESYNTAX, "syntax", "token");
}

static void test_refuses_deep_nesting(void **state)
{
	char deep[6000];

	(void)state;
	memset(deep, '[', 3000);
	memset(deep + 3000, ']', 3000);
	assert_refused_n(deep, sizeof(deep), OPTREG_ELIMIT, "depth", "deeper",
			 NULL, NULL);
}

static void test_failure_keeps_output(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *v = json_pack("{s:[i,s]}", "a", 1, "x");

	(void)state;
	optreg_buf_adds(&out, "prefix:");
	assert_int_equal(canon("[1,2,{\"a\":1,\"a\":2}]", &out, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(out.data, "prefix:");
	/* A serializer error after some output also rolls back. */
	json_array_append_new(json_object_get(v, "a"),
			      json_string_nocheck("\xff"));
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), OPTREG_EINVAL);
	assert_string_equal(out.data, "prefix:");
	/* NULL errs is allowed. */
	assert_int_equal(canon("NaN", &out, NULL), OPTREG_EINVAL);
	assert_int_equal(optreg_jcs_serialize(v, &out, NULL), OPTREG_EINVAL);
	assert_string_equal(out.data, "prefix:");
	json_decref(v);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_scalars_and_whitespace(void **state)
{
	(void)state;
	assert_canon(" \"x\" ", "\"x\"");
	assert_canon("\ttrue\r\n", "true");
	assert_canon("null", "null");
	assert_canon("[ ]", "[]");
	assert_canon("{ }", "{}");
	assert_canon("[ false , { \"b\" : [ ] , \"a\" : { } } ]",
		     "[false,{\"a\":{},\"b\":[]}]");
}

static void test_sort_astral_keys(void **state)
{
	(void)state;
	/*
	 * By code point U+1F602 sorts after U+E000 and U+FB33, but in UTF-16
	 * it is D83D DE02, which sorts before both; byte order (UTF-8) would
	 * also put it last.
	 */
	assert_canon("{\"\\ufb33\":3,\"\\ud83d\\ude02\":2,\"\\ue000\":4,"
		     "\"a\":1,\"\\uffff\":5}",
		     "{\"a\":1,\"\xf0\x9f\x98\x82\":2,\"\xee\x80\x80\":4,"
		     "\"\xef\xac\xb3\":3,\"\xef\xbf\xbf\":5}");
	/* Two astral keys compare by their low surrogates. */
	assert_canon("{\"\\ud83d\\ude03\":1,\"\\ud83d\\ude02\":2}",
		     "{\"\xf0\x9f\x98\x82\":2,\"\xf0\x9f\x98\x83\":1}");
}

static void test_sort_prefixes_and_case(void **state)
{
	(void)state;
	assert_canon("{\"b\":1,\"aa\":2,\"a\":3,\"\":4,\"B\":5,\"10\":6,"
		     "\"1\":7}",
		     "{\"\":4,\"1\":7,\"10\":6,\"B\":5,\"a\":3,\"aa\":2,"
		     "\"b\":1}");
}

static void test_escape_control_characters(void **state)
{
	struct optreg_buf want = OPTREG_BUF_INIT, in = OPTREG_BUF_INIT;
	static const char *const named[32] = {
		['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
		['\r'] = "\\r", ['\t'] = "\\t",
	};

	(void)state;
	optreg_buf_addch(&in, '"');
	optreg_buf_addch(&want, '"');
	for (int c = 0; c < 0x20; c++) {
		optreg_buf_addf(&in, "\\u%04X", c);
		if (named[c])
			optreg_buf_adds(&want, named[c]);
		else
			optreg_buf_addf(&want, "\\u%04x", c);
	}
	/* DEL, '/', non-ASCII and U+2028 stay raw; quote and backslash are
	 * escaped. */
	optreg_buf_adds(&in, "\\u007f\\/\\u00e9\\u2028\\\"\\\\\"");
	optreg_buf_adds(&want, "\x7f/\xc3\xa9\xe2\x80\xa8\\\"\\\\\"");
	assert_canon(in.data, want.data);
	assert_true(strstr(want.data, "\\u001f") != NULL);
	optreg_buf_release(&in);
	optreg_buf_release(&want);
}

static void test_string_with_nul(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *v = json_stringn("a\0b", 3);

	(void)state;
	assert_canon("[\"a\\u0000b\"]", "[\"a\\u0000b\"]");
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), 0);
	assert_string_equal(out.data, "\"a\\u0000b\"");
	json_decref(v);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_key_with_nul(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *v = json_object();

	(void)state;
	/* jansson refuses NUL in keys when parsing, even with
	 * JSON_ALLOW_NUL ... */
	assert_refused("{\"a\\u0000b\":1}", OPTREG_EINVAL, "nul_in_key",
		       "\"a\\u0000b\"");
	/* ... but a tree built in code can hold one, and it sorts after
	 * the key it extends. */
	json_object_setn_new(v, "a\0b", 3, json_integer(1));
	json_object_set_new(v, "a", json_integer(2));
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), 0);
	assert_string_equal(out.data, "{\"a\":2,\"a\\u0000b\":1}");
	json_decref(v);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_serialize_tree(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *v = json_pack("{s:I,s:f,s:[b,n],s:s}", "int",
			      (json_int_t)9007199254740993LL, "real", 0.5,
			      "arr", 1, "str", "x");

	(void)state;
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), 0);
	/* Integers are read as doubles, as ECMAScript would. */
	assert_string_equal(out.data, "{\"arr\":[true,null],"
				      "\"int\":9007199254740992,"
				      "\"real\":0.5,\"str\":\"x\"}");
	json_decref(v);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_serialize_reports_path(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *v = json_pack("{s:{s:[i,i]}}", "spec", "a b", 1, 2);
	json_t *arr = json_object_get(json_object_get(v, "spec"), "a b");

	(void)state;
	json_array_append_new(arr, json_stringn_nocheck("ok\xed\xa0\x80", 5));
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "surrogate");
	assert_string_equal(errs.items[0].path, "spec[\"a b\"][2]");

	json_array_set_new(arr, 2, json_string_nocheck("x\xff"));
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[1].rule, "utf8");
	assert_string_equal(errs.items[1].path, "spec[\"a b\"][2]");
	assert_non_null(strstr(errs.items[1].message, "0xff at offset 1"));

	json_array_remove(arr, 2);
	json_object_set_new_nocheck(json_object_get(v, "spec"), "k\xfe",
				    json_null());
	assert_int_equal(optreg_jcs_serialize(v, &out, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 3);
	assert_string_equal(errs.items[2].rule, "utf8");
	assert_string_equal(errs.items[2].path, "spec");
	assert_int_equal(out.len, 0);
	json_decref(v);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_serialize_refuses_cycle(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *obj = json_object(), *arr = json_array();

	(void)state;
	/* jansson lets a tree contain itself; the depth limit stops it. */
	json_object_set(obj, "x", arr);
	json_array_append(arr, obj);
	assert_int_equal(optreg_jcs_serialize(obj, &out, &errs), OPTREG_ELIMIT);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "depth");
	assert_int_equal(out.len, 0);
	json_array_clear(arr); /* break the cycle so both are freed */
	json_decref(arr);
	json_decref(obj);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

static void test_digest_known_value(void **state)
{
	char d[OPTREG_DIGEST_LEN + 1];

	(void)state;
	/* printf '%s' '{"a":1}' | sha256sum */
	optreg_jcs_digest("{\"a\":1}", 7, d);
	assert_string_equal(d, "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905"
			       "ee33ec5cebeae62276a97f862");
	assert_int_equal(strlen(d), OPTREG_DIGEST_LEN);
	/* printf '' | sha256sum */
	optreg_jcs_digest("", 0, d);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e"
			       "4649b934ca495991b7852b855");
	/* printf 'a\0b' | sha256sum: length, not NUL, ends the data */
	optreg_jcs_digest("a\0b", 3, d);
	assert_string_equal(d, "sha256:59b271ae1bbcb1d31d41929817f4b16fb439eb4"
			       "f31520b5ad1d5ce98920a7138");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_es6_numbers),
		cmocka_unit_test(test_number_negative_zero),
		cmocka_unit_test(test_number_ecmascript_forms),
		cmocka_unit_test(test_number_power_of_two_neighbour),
		cmocka_unit_test(test_number_refuses_non_finite),
		cmocka_unit_test(test_number_ignores_locale),
		cmocka_unit_test(test_number_underflow_is_zero),
		cmocka_unit_test(test_number_integer_literals),
		cmocka_unit_test(test_refuses_duplicate_key),
		cmocka_unit_test(test_refuses_duplicate_long_key),
		cmocka_unit_test(test_refuses_nan_and_infinity),
		cmocka_unit_test(test_refuses_overflow),
		cmocka_unit_test(test_refuses_lone_surrogate),
		cmocka_unit_test(test_refuses_encoded_surrogate),
		cmocka_unit_test(test_refuses_invalid_utf8),
		cmocka_unit_test(test_refuses_syntax_errors),
		cmocka_unit_test(test_refuses_deep_nesting),
		cmocka_unit_test(test_failure_keeps_output),
		cmocka_unit_test(test_scalars_and_whitespace),
		cmocka_unit_test(test_sort_astral_keys),
		cmocka_unit_test(test_sort_prefixes_and_case),
		cmocka_unit_test(test_escape_control_characters),
		cmocka_unit_test(test_string_with_nul),
		cmocka_unit_test(test_key_with_nul),
		cmocka_unit_test(test_serialize_tree),
		cmocka_unit_test(test_serialize_reports_path),
		cmocka_unit_test(test_serialize_refuses_cycle),
		cmocka_unit_test(test_digest_known_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
