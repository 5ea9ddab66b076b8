/*
 * tests/unit/validator/config_load_test.c: optreg_config_load_checked, the
 * load -> validate -> canonicalize -> digest pipeline.
 *
 * Every document of tests/cases/config and examples/configs goes through
 * the pipeline and through the steps called by hand, as the programs did
 * before; the code, the errors and the bytes must be the same.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "validator/config.h"
#include "validator/jcs.h"

static const char good_yaml[] = "apiVersion: optreg/v1\n"
				"kind: OptimizerConfig\n"
				"metadata:\n"
				"  namespace: team-a\n"
				"  name: adamw-base\n"
				"spec:\n"
				"  optimizer: adamw\n"
				"  lr: 0.001\n"
				"  betas: [0.9, 0.999]\n"
				"  eps: 1.0e-8\n"
				"  weight_decay: 0.01\n";

/* The steps by hand; returns the code of the first that failed. */
static int by_hand(const char *name, const char *data, size_t len, bool json,
		   struct optreg_buf *canon, struct optreg_errors *errs)
{
	struct optreg_doc doc;
	int rc;

	optreg_doc_init(&doc);
	rc = json ? optreg_doc_load_json(&doc, data, len, errs)
		  : optreg_doc_load(&doc, name, data, len, errs);
	if (rc == 0)
		rc = optreg_config_validate(&doc, NULL, errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(doc.root, canon, errs);
	optreg_doc_release(&doc);
	return rc;
}

static void same_errors(const struct optreg_errors *a,
			const struct optreg_errors *b, const char *where)
{
	if (a->len != b->len)
		fail_msg("%s: %zu errors vs %zu", where, a->len, b->len);
	for (size_t i = 0; i < a->len; i++) {
		assert_int_equal(a->items[i].code, b->items[i].code);
		assert_string_equal(a->items[i].rule, b->items[i].rule);
		assert_string_equal(a->items[i].path, b->items[i].path);
		assert_string_equal(a->items[i].message, b->items[i].message);
		assert_int_equal(a->items[i].line, b->items[i].line);
		assert_int_equal(a->items[i].col, b->items[i].col);
	}
}

static void compare_file(const char *path, bool json)
{
	struct optreg_errors e1 = OPTREG_ERRORS_INIT, e2 = OPTREG_ERRORS_INIT;
	struct optreg_buf in = OPTREG_BUF_INIT, canon = OPTREG_BUF_INIT;
	struct optreg_checked_config cc;
	char digest[OPTREG_DIGEST_LEN + 1];

	assert_int_equal(optreg_buf_read_file(&in, path), 0);
	optreg_checked_config_init(&cc);
	int want = by_hand(path, in.data, in.len, json, &canon, &e1);
	int got = optreg_config_load_checked(
		&cc, path, in.data, in.len, json ? OPTREG_CONFIG_JSON : 0, &e2);
	if (want != got)
		fail_msg("%s: pipeline %d, by hand %d", path, got, want);
	same_errors(&e1, &e2, path);
	if (got == 0) {
		assert_int_equal(cc.canon.len, canon.len);
		assert_memory_equal(cc.canon.data, canon.data, canon.len);
		optreg_jcs_digest(canon.data, canon.len, digest);
		assert_string_equal(cc.digest, digest);
		assert_non_null(cc.cfg.namespace_);
		assert_int_equal(cc.input_canonical,
				 in.len == canon.len &&
					 !memcmp(in.data, canon.data, in.len));
		/* The file variant gives the same. */
		struct optreg_checked_config f;
		optreg_checked_config_init(&f);
		assert_int_equal(
			optreg_config_load_checked_file(
				&f, path, json ? OPTREG_CONFIG_JSON : 0, &e2),
			0);
		assert_string_equal(f.digest, cc.digest);
		optreg_checked_config_release(&f);
	} else {
		assert_null(cc.cfg.namespace_);
		assert_int_equal(cc.canon.len, 0);
		assert_string_equal(cc.digest, "");
	}
	optreg_checked_config_release(&cc);
	optreg_errors_release(&e1);
	optreg_errors_release(&e2);
	optreg_buf_release(&in);
	optreg_buf_release(&canon);
}

/* Every input of the config corpus, by name and forced to JSON. */
static void test_corpus_agrees_with_steps(void **state)
{
	const char *root = "tests/cases/config";
	DIR *d = opendir(root);
	struct dirent *de;
	int n = 0;

	(void)state;
	if (!d)
		fail_msg("cannot open %s (run from the repository root)", root);
	while ((de = readdir(d))) {
		static const char *const names[] = {"input.json", "input.yaml"};
		if (de->d_name[0] == '.')
			continue;
		for (int i = 0; i < 2; i++) {
			char path[1024];
			snprintf(path, sizeof(path), "%s/%s/%s", root,
				 de->d_name, names[i]);
			if (access(path, R_OK))
				continue;
			compare_file(path, false);
			compare_file(path, true);
			n++;
		}
	}
	closedir(d);
	assert_true(n > 100);
	d = opendir("examples/configs");
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[1024];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "examples/configs/%s", de->d_name);
		compare_file(path, false);
	}
	closedir(d);
}

static void test_canonical_input(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc, again;

	(void)state;
	optreg_checked_config_init(&cc);
	optreg_checked_config_init(&again);
	assert_int_equal(optreg_config_load_checked(&cc, "c.yaml", good_yaml,
						    strlen(good_yaml), 0,
						    &errs),
			 0);
	assert_false(cc.input_canonical);
	assert_string_equal(cc.cfg.namespace_, "team-a");
	assert_string_equal(cc.cfg.name, "adamw-base");
	assert_int_equal(strncmp(cc.digest, "sha256:", 7), 0);
	/* Its canonical form is canonical input, with the same digest. */
	assert_int_equal(optreg_config_load_checked(&again, NULL, cc.canon.data,
						    cc.canon.len,
						    OPTREG_CONFIG_JSON, &errs),
			 0);
	assert_true(again.input_canonical);
	assert_string_equal(again.digest, cc.digest);
	/* Reusing a struct releases what it held. */
	assert_int_equal(optreg_config_load_checked(&again, "x.yaml", good_yaml,
						    strlen(good_yaml), 0,
						    &errs),
			 0);
	assert_false(again.input_canonical);
	assert_int_equal(errs.len, 0);
	optreg_checked_config_release(&cc);
	optreg_checked_config_release(&again);
}

static void test_failures(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;

	(void)state;
	optreg_checked_config_init(&cc);
	/* YAML forced through the JSON loader. */
	assert_int_equal(optreg_config_load_checked(&cc, "c.yaml", good_yaml,
						    strlen(good_yaml),
						    OPTREG_CONFIG_JSON, &errs),
			 OPTREG_ESYNTAX);
	assert_int_equal(errs.len, 1);
	assert_null(cc.doc.root);
	optreg_errors_release(&errs);
	/* A document that is not a config: the validator's errors. */
	assert_int_equal(
		optreg_config_load_checked(&cc, NULL, "{}", 2, 0, &errs),
		OPTREG_EINVAL);
	assert_true(errs.len >= 1);
	assert_non_null(cc.doc.root); /* kept for the caller */
	assert_null(cc.cfg.namespace_);
	optreg_errors_release(&errs);
	/* A file that cannot be read. */
	assert_int_equal(optreg_config_load_checked_file(
				 &cc, "/nonexistent/optreg.yaml", 0, &errs),
			 OPTREG_EIO);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "io");
	assert_string_equal(errs.items[0].message,
			    "cannot read file: No such file or directory");
	assert_string_equal(errs.items[0].detail,
			    "The path is \"/nonexistent/optreg.yaml\".");
	assert_null(cc.doc.root);
	optreg_errors_release(&errs);
	optreg_checked_config_release(&cc);
}

/* "-" reads standard input. */
static void test_stdin(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	char path[] = "/tmp/optreg-config-load.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good_yaml, strlen(good_yaml)),
			 (ssize_t)strlen(good_yaml));
	close(fd);
	assert_non_null(freopen(path, "r", stdin));
	optreg_checked_config_init(&cc);
	assert_int_equal(optreg_config_load_checked_file(&cc, "-", 0, &errs),
			 0);
	assert_string_equal(cc.cfg.name, "adamw-base");
	assert_int_equal(cc.doc.format, OPTREG_DOC_YAML);
	optreg_checked_config_release(&cc);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_input),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_corpus_agrees_with_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
