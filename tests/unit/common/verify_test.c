/*
 * tests/unit/common/verify_test.c: common/verify and common/keyset.
 *
 * Mostly data-driven: every folder under $OPTREG_VERIFY_CASES (by default
 * tests/cases/verify, relative to the project root, where tests run) is one
 * case. case.json names the check ("envelope", "config", "receipt",
 * "version", "verdict", "checkpoint") and its parameters; the inputs sit
 * beside it; expected.json is {"ok": bool, "errors"?: [{"rule", "path",
 * "message"?}], ...}: whether the check passed, the exact list of refusals
 * in order (none when left out), and what else the check found.
 * tests/cases/verify/generate.py writes them. A few direct tests follow for
 * what the files cannot express.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/verify.h"
#include "validator/config.h"
#include "validator/jcs.h"

static const char *cases_dir(void)
{
	const char *d = getenv("OPTREG_VERIFY_CASES");
	return d && *d ? d : "tests/cases/verify";
}

static json_t *load(const char *dir, const char *name)
{
	char path[1024];
	json_error_t err;
	json_t *v;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	v = json_load_file(path, JSON_DECODE_ANY, &err);
	if (!v)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	return v;
}

static char *load_text(const char *dir, const char *name)
{
	char path[1024];
	struct optreg_buf b = OPTREG_BUF_INIT;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open", path);
	while ((c = fgetc(f)) != EOF)
		optreg_buf_addch(&b, (char)c);
	fclose(f);
	return optreg_buf_detach(&b, NULL);
}

static void load_envelope(const char *dir, const char *name,
			  struct optreg_dsse *env)
{
	json_t *j = load(dir, name);
	char *text = json_dumps(j, JSON_COMPACT);
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_dsse_init(env);
	if (optreg_dsse_parse(env, text, strlen(text), &errs) < 0)
		fail_msg("%s/%s: not an envelope", dir, name);
	free(text);
	json_decref(j);
}

static void load_keys(const char *dir, const char *name,
		      struct optreg_keyset *ks)
{
	json_t *j = load(dir, name);

	optreg_keyset_init(ks);
	optreg_keyset_load_list(ks, j);
	json_decref(j);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static enum optreg_verify_voice voice_of(const json_t *c)
{
	const char *v = str(c, "voice");

	if (v && !strcmp(v, "client"))
		return OPTREG_VOICE_CLIENT;
	if (v && !strcmp(v, "version"))
		return OPTREG_VOICE_VERSION;
	return OPTREG_VOICE_REGISTRY;
}

static const char *inclusion_name(enum optreg_inclusion i)
{
	return i == OPTREG_INCLUSION_VERIFIED ? "verified" : "not_carried";
}

/* Runs one case; returns what it found as {"ok", ...} or {"errors"}. */
static json_t *run_case(const char *dir)
{
	json_t *c = load(dir, "case.json"), *found = json_object();
	const char *check = str(c, "check");
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = 0;

	if (!strcmp(check, "envelope") || !strcmp(check, "config")) {
		struct optreg_dsse env;
		load_envelope(dir, "envelope.json", &env);
		if (!strcmp(check, "config")) {
			rc = optreg_envelope_check_config(&env, NULL, NULL,
							  &errs);
		} else {
			struct optreg_keyset ks;
			const struct optreg_keyset_key *valid[16];
			struct optreg_sig_policy pol = {
				.ns = str(c, "ns"),
				.at = str(c, "at"),
				.prefix = str(c, "prefix"),
				.threshold = (size_t)json_integer_value(
					json_object_get(c, "threshold")),
				.voice = voice_of(c)};
			size_t n = 0;

			assert_true(env.nsigs <= 16);
			load_keys(dir, "keys.json", &ks);
			rc = optreg_envelope_verify(&ks, &env, &pol, valid, &n,
						    &errs);
			json_t *ids = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(
					ids, json_string(valid[i]->id));
			json_object_set_new(found, "valid", ids);
			optreg_keyset_release(&ks);
		}
		optreg_dsse_release(&env);
	} else if (!strcmp(check, "receipt")) {
		struct optreg_keyset ks;
		struct optreg_receipt r;
		json_t *receipt = load(dir, "receipt.json");

		load_keys(dir, "registry_keys.json", &ks);
		optreg_receipt_init(&r);
		rc = optreg_receipt_verify(
			receipt, &ks,
			json_is_true(json_object_get(c, "pinned")), &r, &errs);
		json_object_set_new(found, "keyid", json_string(r.keyid));
		json_object_set_new(found, "inclusion",
				    json_string(inclusion_name(r.inclusion)));
		optreg_receipt_release(&r);
		optreg_keyset_release(&ks);
		json_decref(receipt);
	} else if (!strcmp(check, "version")) {
		struct optreg_keyset sks, rks;
		struct optreg_version_check vc;
		struct optreg_buf canon = OPTREG_BUF_INIT;
		json_t *doc = load(dir, "doc.json");

		load_keys(dir, "keys.json", &sks);
		load_keys(dir, "registry_keys.json", &rks);
		optreg_version_check_init(&vc);
		assert_int_equal(
			optreg_jcs_serialize(json_object_get(doc, "config"),
					     &canon, NULL),
			0);
		rc = optreg_version_verify(
			doc, &canon, str(c, "want_digest"), &sks, &rks,
			json_is_true(json_object_get(c, "pinned")), &vc, &errs);
		json_object_set_new(
			found, "signers",
			json_string(vc.signers.len ? vc.signers.data : ""));
		json_object_set_new(found, "keyid",
				    json_string(vc.receipt.keyid));
		json_object_set_new(
			found, "inclusion",
			json_string(inclusion_name(vc.receipt.inclusion)));
		optreg_version_check_release(&vc);
		optreg_buf_release(&canon);
		optreg_keyset_release(&sks);
		optreg_keyset_release(&rks);
		json_decref(doc);
	} else if (!strcmp(check, "verdict")) {
		json_t *p = load(dir, "payload.json");
		const json_t *x = json_object_get(c, "expect");
		struct optreg_verdict_expect want = {
			.job_id = json_integer_value(
				json_object_get(x, "job_id")),
			.config_digest = str(x, "config_digest"),
			.suite = str(x, "suite"),
			.suite_digest = str(x, "suite_digest"),
			.result = str(x, "result")};

		rc = optreg_verdict_check(p, &want, voice_of(c),
					  str(c, "prefix"), &errs);
		json_decref(p);
	} else if (!strcmp(check, "checkpoint")) {
		struct optreg_keyset ks;
		struct optreg_checkpoint cp;
		char *note = load_text(dir, "note.txt");

		load_keys(dir, "registry_keys.json", &ks);
		rc = optreg_checkpoint_verify(note, &ks, &cp, &errs);
		if (rc == 0) {
			json_object_set_new(found, "size",
					    json_integer((json_int_t)cp.size));
			json_object_set_new(found, "origin",
					    json_string(cp.origin));
			json_object_set_new(found, "keyid",
					    json_string(cp.keyid));
		}
		optreg_checkpoint_release(&cp);
		optreg_keyset_release(&ks);
		free(note);
	} else {
		fail_msg("%s: unknown check \"%s\"", dir, check);
	}
	/* A refusal must say why. Only the envelope check may pass with
	 * refused signatures (when the others meet the threshold). */
	if ((rc != 0 && errs.len == 0) ||
	    (rc == 0 && errs.len && strcmp(check, "envelope")))
		fail_msg("%s: returned %d with %zu errors", dir, rc, errs.len);
	json_t *list = json_array();
	for (size_t i = 0; i < errs.len; i++)
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "rule",
						errs.items[i].rule, "path",
						errs.items[i].path, "message",
						errs.items[i].message));
	json_object_set_new(found, "errors", list);
	json_object_set_new(found, "ok", json_boolean(rc == 0));
	optreg_errors_release(&errs);
	json_decref(c);
	return found;
}

/* True when `found` meets `want`: every member of `want` is in `found`
 * with the same value; errors item by item (message only where given),
 * none when `want` lists none. */
static bool meets(const json_t *want, const json_t *found, char *why, size_t n)
{
	const json_t *we = json_object_get(want, "errors");
	const json_t *fe = json_object_get(found, "errors");
	const char *key;
	json_t *v;

	{
		if (json_array_size(we) != json_array_size(fe)) {
			snprintf(why, n, "expected %zu errors, got %zu",
				 json_array_size(we), json_array_size(fe));
			return false;
		}
		for (size_t i = 0; i < json_array_size(we); i++) {
			const json_t *w = json_array_get(we, i),
				     *f = json_array_get(fe, i);
			json_object_foreach((json_t *)w, key, v)
			{
				if (!json_equal(v, json_object_get(f, key))) {
					snprintf(why, n,
						 "errors[%zu].%s: expected "
						 "\"%s\", got \"%s\"",
						 i, key, json_string_value(v),
						 str(f, key));
					return false;
				}
			}
		}
	}
	json_object_foreach((json_t *)want, key, v)
	{
		if (!strcmp(key, "errors"))
			continue;
		if (!json_equal(v, json_object_get(found, key))) {
			snprintf(why, n, "%s differs", key);
			return false;
		}
	}
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_cases(void **state)
{
	const char *root = cases_dir();
	DIR *d = opendir(root);
	char **names = NULL;
	size_t n = 0, failed = 0;
	struct dirent *e;

	(void)state;
	if (!d)
		fail_msg("%s: cannot open the cases", root);
	while ((e = readdir(d))) {
		char path[1024];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		names = optreg_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = optreg_xstrdup(path);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		json_t *found = run_case(names[i]);
		json_t *want = load(names[i], "expected.json");
		char why[512] = "";

		if (!meets(want, found, why, sizeof(why))) {
			char *text = json_dumps(found, JSON_INDENT(1));
			printf("not ok - %s: %s\n  found: %s\n", names[i], why,
			       text);
			free(text);
			failed++;
		}
		json_decref(found);
		json_decref(want);
		free(names[i]);
	}
	free(names);
	printf("# %zu verify cases, %zu failed\n", n, failed);
	assert_int_equal(failed, 0);
}

/* A key row whose public key did not load: its signatures are bad, not
 * unknown (as the registry answered before the set existed). */
static void test_key_that_did_not_load(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_keyset ks;
	struct optreg_key *key = NULL;
	struct optreg_dsse env;
	json_t *ns = json_pack("[s]", "*");
	struct optreg_sig_policy pol = {.ns = "team-a", .threshold = 1};
	size_t n = 9;

	(void)state;
	optreg_keyset_init(&ks);
	optreg_dsse_init(&env);
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	env.payload_type = optreg_xstrdup("text/plain");
	optreg_buf_adds(&env.payload, "hi");
	assert_int_equal(optreg_dsse_sign(&env, key, &errs), 0);
	optreg_keyset_add_take(&ks, env.sigs[0].keyid, NULL, NULL, ns, NULL);
	assert_int_equal(
		optreg_envelope_verify(&ks, &env, &pol, NULL, &n, &errs),
		OPTREG_EDENIED);
	assert_int_equal(n, 0);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].rule, "bad_signature");
	assert_int_equal(errs.items[0].code, OPTREG_EDENIED);
	assert_non_null(errs.items[0].hint);
	assert_string_equal(errs.items[1].rule, "threshold");

	/* The same key, loaded, counts. */
	optreg_errors_release(&errs);
	optreg_keyset_release(&ks);
	optreg_keyset_add_take(&ks, NULL, key, "p", ns, NULL);
	assert_int_equal(
		optreg_envelope_verify(&ks, &env, &pol, NULL, &n, &errs), 0);
	assert_int_equal(n, 1);
	assert_int_equal(errs.len, 0);
	json_decref(ns);
	optreg_keyset_release(&ks);
	optreg_dsse_release(&env);
}

static void test_load_files(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_keyset ks;
	const char *paths[] = {"/nonexistent/optreg-key.pub.pem"};

	(void)state;
	optreg_keyset_init(&ks);
	assert_int_equal(optreg_keyset_load_files(&ks, paths, 1, &errs),
			 OPTREG_EIO);
	assert_int_equal(ks.n, 0);
	assert_true(errs.len >= 1);
	optreg_errors_release(&errs);
	optreg_keyset_release(&ks);
}

/* The config check hands back the config and its canonical bytes. */
static void test_check_config_outputs(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_config cfg = {0};
	struct optreg_dsse env;
	char dir[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/config-good", cases_dir());
	load_envelope(dir, "envelope.json", &env);
	assert_int_equal(
		optreg_envelope_check_config(&env, &cfg, &canon, &errs), 0);
	assert_string_equal(cfg.namespace_, "team-a");
	assert_string_equal(cfg.name, "bert");
	assert_int_equal(canon.len, env.payload.len);
	assert_memory_equal(canon.data, env.payload.data, canon.len);
	optreg_config_release(&cfg);
	optreg_buf_release(&canon);
	optreg_dsse_release(&env);
}

/* A payload that validates but is not canonical is refused with `cfg`
 * left zeroed: the caller releases nothing after a refusal (fuzz_dsse
 * found the names it held leaking). */
static void test_check_config_refused_leaves_cfg_empty(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_config cfg = {0};
	struct optreg_dsse env;
	char dir[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/config-not-canonical", cases_dir());
	load_envelope(dir, "envelope.json", &env);
	assert_int_equal(optreg_envelope_check_config(&env, &cfg, NULL, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "canonical");
	assert_null(cfg.namespace_);
	assert_null(cfg.name);
	assert_null(cfg.groups);
	optreg_errors_release(&errs);
	optreg_dsse_release(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_key_that_did_not_load),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_check_config_outputs),
		cmocka_unit_test(test_check_config_refused_leaves_cfg_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
