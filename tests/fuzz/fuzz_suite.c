/*
 * tests/fuzz/fuzz_suite.c: fuzzes the runner's suite file reader
 * (optreg_suite_load_text, the loader of the files in runner/suites/).
 *
 * Beyond memory safety it checks the contract: a refusal carries an error
 * and gives no suite; an accepted suite has a valid name, format 2, an odd
 * number (at least 3) of distinct seeds, at least one workload with
 * distinct names, a baseline grid in strictly ascending order, and a
 * digest of "sha256:" and 64 lowercase hex digits that is the digest of
 * the document's RFC 8785 form. That canonical form, loaded as JSON, is
 * the same suite: accepted, with the same digest, so a suite written in
 * YAML or in JSON is judged the same.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../runner/suite.h"
#include "../../runner/suite_int.h"
#include "../../validator/doc.h"
#include "../../validator/jcs.h"
#include "fuzz.h"

static void check_suite(const struct optreg_suite *s)
{
	FUZZ_CHECK(s->name && s->name[0] && strlen(s->name) <= 64,
		   "an accepted suite has name \"%s\"",
		   s->name ? s->name : "(none)");
	FUZZ_CHECK(s->version == 2, "version %ld", s->version);
	FUZZ_CHECK(s->nseeds >= 3 && s->nseeds % 2 == 1, "%zu seeds",
		   s->nseeds);
	for (size_t i = 0; i < s->nseeds; i++)
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(s->seeds[i] != s->seeds[k],
				   "seeds[%zu] repeats seeds[%zu]", i, k);
	FUZZ_CHECK(s->nw >= 1, "no workload");
	for (size_t i = 0; i < s->nw; i++) {
		FUZZ_CHECK(s->w[i].name && s->w[i].problem,
			   "workloads[%zu] lacks a name or problem", i);
		FUZZ_CHECK(s->w[i].peak_steps > 0,
			   "workloads[%zu] has %ld peak steps", i,
			   s->w[i].peak_steps);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(s->w[i].name, s->w[k].name),
				   "workload %s is there twice", s->w[i].name);
	}
	for (size_t g = 1; g < s->nbase; g++)
		FUZZ_CHECK(s->base_lrs[g - 1] < s->base_lrs[g],
			   "the baseline grid is not ascending at %zu", g);
	FUZZ_CHECK(!strncmp(s->digest, "sha256:", 7) &&
			   fuzz_lower_hex(s->digest + 7, 64),
		   "digest \"%s\"", s->digest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL, *again = NULL;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_doc doc;
	int rc;

	optreg_doc_init(&doc);
	rc = optreg_suite_load_text(&s, NULL, (const char *)data, size, &errs);
	fuzz_check_result("optreg_suite_load_text", rc, &errs, 0);
	FUZZ_CHECK((rc == 0) == (s != NULL), "load returned %d with suite %p",
		   rc, (void *)s);
	if (rc)
		goto out;
	check_suite(s);

	FUZZ_CHECK(optreg_doc_load(&doc, NULL, (const char *)data, size,
				   &errs) == 0 &&
			   optreg_jcs_serialize(doc.root, &canon, &errs) == 0,
		   "an accepted suite does not load as a document");
	optreg_jcs_digest(canon.data, canon.len, digest);
	FUZZ_CHECK(!strcmp(digest, optreg_suite_digest(s)),
		   "the digest %s is not the canonical form's %s",
		   optreg_suite_digest(s), digest);
	rc = optreg_suite_load_text(&again, "suite.json", canon.data, canon.len,
				    &errs);
	FUZZ_CHECK(rc == 0, "the canonical form is refused (%s: %s %s)",
		   optreg_code_name(rc),
		   errs.len ? errs.items[errs.len - 1].path : "",
		   errs.len ? errs.items[errs.len - 1].message : "no error");
	FUZZ_CHECK(!strcmp(optreg_suite_digest(again), optreg_suite_digest(s)),
		   "the canonical form has another digest");
	FUZZ_CHECK(again->nw == s->nw && again->nseeds == s->nseeds &&
			   again->nbase == s->nbase,
		   "the canonical form is another suite");
out:
	optreg_suite_free(s);
	optreg_suite_free(again);
	optreg_buf_release(&canon);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	return 0;
}
