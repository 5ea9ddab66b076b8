/*
 * tests/unit/validator/yaml_emit_test.c: the YAML emitter
 * (validator/yaml_emit.c) against the loader: every example config and
 * every valid case of the corpus goes emit -> load -> the same canonical
 * JSON, and so do strings and numbers that a careless emitter would turn
 * into other types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "validator/doc.h"
#include "validator/jcs.h"
#include "validator/yaml_emit.h"

/* Canonical bytes of `root` into `out` (reset first). */
static void canonical(const json_t *root, struct optreg_buf *out)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_buf_reset(out);
	assert_int_equal(optreg_jcs_serialize(root, out, &errs), 0);
	optreg_errors_release(&errs);
}

/*
 * Emits `root` as YAML, loads it back and compares canonical forms; also
 * runs optreg_doc_yaml_of_canonical on the canonical bytes. `what` names
 * the input in failure messages. (The two YAML texts differ in key order:
 * the canonical form sorts keys.)
 */
static void round_trip(const char *what, const json_t *root)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf want = OPTREG_BUF_INIT, got = OPTREG_BUF_INIT,
			  yaml = OPTREG_BUF_INIT, yaml2 = OPTREG_BUF_INIT;
	struct optreg_doc back;
	int rc;

	optreg_doc_init(&back);
	canonical(root, &want);
	rc = optreg_doc_to_yaml(root, &yaml, &errs);
	if (rc == 0)
		rc = optreg_doc_load_yaml(&back, yaml.data, yaml.len, &errs);
	if (rc != 0)
		fail_msg("%s: %s\n%s", what,
			 errs.len ? errs.items[0].message : "?", yaml.data);
	canonical(back.root, &got);
	if (strcmp(got.data, want.data))
		fail_msg("%s: YAML\n%s\nloads back as\n%s\nnot\n%s", what,
			 yaml.data, got.data, want.data);
	assert_int_equal(optreg_doc_yaml_of_canonical(want.data, want.len,
						      &yaml2, &errs),
			 0);
	optreg_doc_release(&back);
	optreg_buf_release(&yaml2);
	optreg_buf_release(&yaml);
	optreg_buf_release(&got);
	optreg_buf_release(&want);
	optreg_errors_release(&errs);
}

/* Loads `path` and round-trips it; returns 1 (one file checked). */
static int round_trip_file(const char *path)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc doc;

	optreg_doc_init(&doc);
	if (optreg_doc_load_file(&doc, path, &errs) != 0)
		fail_msg("%s: %s", path, errs.items[0].message);
	round_trip(path, doc.root);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	return 1;
}

static void test_examples(void **state)
{
	DIR *d = opendir("examples/configs");
	struct dirent *e;
	char path[512];
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || (strcmp(e->d_name + len - 5, ".yaml") &&
				strcmp(e->d_name + len - 5, ".json")))
			continue;
		snprintf(path, sizeof(path), "examples/configs/%s", e->d_name);
		n += round_trip_file(path);
	}
	closedir(d);
	assert_true(n >= 10);
}

/* True when tests/cases/config/NAME/expected.json says valid. */
static int case_is_valid(const char *name)
{
	char path[512];
	json_t *exp;
	int valid;

	snprintf(path, sizeof(path), "tests/cases/config/%s/expected.json",
		 name);
	exp = json_load_file(path, 0, NULL);
	valid = json_is_true(json_object_get(exp, "valid"));
	json_decref(exp);
	return valid;
}

static void test_valid_cases(void **state)
{
	static const char *const inputs[] = {"input.yaml", "input.json"};
	DIR *d = opendir("tests/cases/config");
	struct dirent *e;
	char path[512];
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !case_is_valid(e->d_name))
			continue;
		for (size_t i = 0; i < 2; i++) {
			FILE *f;
			snprintf(path, sizeof(path), "tests/cases/config/%s/%s",
				 e->d_name, inputs[i]);
			if (!(f = fopen(path, "r")))
				continue;
			fclose(f);
			n += round_trip_file(path);
		}
	}
	closedir(d);
	assert_true(n >= 30);
}

static void test_typed_looking_strings(void **state)
{
	static const char *const strings[] = {
		"",	  "yes",	 "No",	       "ON",	   "off",
		"y",	  "n",		 "~",	       "null",	   "Null",
		"true",	  "False",	 "1",	       "-1",	   "+1",
		"0x1f",	  "0o17",	 ".5",	       "-.5",	   "+.5",
		"1e3",	  "1_000",	 ".inf",       "-.Inf",	   ".NaN",
		"<<",	  "=",		 "a: b",       "- x",	   "#x",
		"x #y",	  " lead",	 "trail ",     "tab\tx",   "'q'",
		"\"dq\"", "multi\nline", "end\n",      "é ☃ 𝄞",	   "[a]",
		"{a: 1}", "*alias",	 "&anchor",    "!tag",	   "%dir",
		"@at",	  "`bt",	 "|",	       ">",	   "---",
		"...",	  "? k",	 "2026-12-02", "12:30:00",
	};
	json_t *o = json_object(), *a = json_array();

	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		json_array_append_new(a, json_string(strings[i]));
		json_object_set_new(o, strings[i], json_string(strings[i]));
	}
	json_object_set_new(o, "list", a);
	round_trip("strings", o);
	json_decref(o);
}

static void test_numbers_and_shapes(void **state)
{
	static const double numbers[] = {
		0,
		-0.0,
		1,
		-1,
		0.5,
		3e-5,
		1e-7,
		1e-8,
		1e21,
		1e300,
		5e-324,
		2.5e-310,
		0.1,
		123456789,
		1.7976931348623157e308,
		9007199254740993.0,
		-1e-7,
		100,
	};
	json_t *o = json_object(), *a = json_array();
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf yaml = OPTREG_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		json_array_append_new(a, json_real(numbers[i]));
	json_object_set_new(o, "numbers", a);
	json_object_set_new(o, "empty_object", json_object());
	json_object_set_new(o, "empty_array", json_array());
	json_object_set_new(o, "t", json_true());
	json_object_set_new(o, "f", json_false());
	json_object_set_new(o, "z", json_null());
	json_object_set_new(o, "nested",
			    json_pack("{s:[{s:[[1.0,{}]]}]}", "a", "b"));
	round_trip("numbers", o);

	/* 1e-7 needs a dot for YAML 1.1 readers. */
	assert_int_equal(optreg_doc_to_yaml(json_array_get(a, 6), &yaml, &errs),
			 0);
	assert_non_null(strstr(yaml.data, "1.0e-7"));
	optreg_buf_release(&yaml);
	optreg_errors_release(&errs);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_valid_cases),
		cmocka_unit_test(test_typed_looking_strings),
		cmocka_unit_test(test_numbers_and_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
