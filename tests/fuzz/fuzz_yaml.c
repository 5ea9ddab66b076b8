/*
 * tests/fuzz/fuzz_yaml.c: fuzzes optreg_doc_load_yaml and, on what it
 * accepts, optreg_jcs_serialize.
 *
 * Beyond memory safety it checks the loader's contract (a refusal carries an
 * error; every number is a json_real; every recorded location has a 1-based
 * line and column and can be found again by its path) and that a YAML tree
 * serializes to canonical JSON that the JSON pipeline keeps byte for byte,
 * which is what makes a YAML and a JSON document of the same content share
 * one digest.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/doc.h"
#include "../../validator/jcs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_doc doc;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	size_t i;
	int rc;

	optreg_doc_init(&doc);
	rc = optreg_doc_load_yaml(&doc, (const char *)data, size, &errs);
	fuzz_check_result("optreg_doc_load_yaml", rc, &errs, 0);
	if (rc != 0)
		goto out;
	FUZZ_CHECK(doc.root != NULL, "loaded without a root");
	fuzz_check_reals(doc.root);

	for (i = 0; i < doc.nlocs; i++) {
		const struct optreg_doc_loc *loc = &doc.locs[i];

		FUZZ_CHECK(loc->path != NULL, "location %zu has no path", i);
		FUZZ_CHECK(loc->line >= 1 && loc->col >= 1,
			   "location of \"%s\" is %d:%d", loc->path, loc->line,
			   loc->col);
		FUZZ_CHECK(optreg_doc_find(&doc, loc->path) != NULL,
			   "optreg_doc_find cannot find recorded path \"%s\"",
			   loc->path);
	}

	rc = optreg_jcs_serialize(doc.root, &out, &errs);
	FUZZ_CHECK(rc == 0, "a loaded YAML tree does not serialize (%s: %s)",
		   optreg_code_name(rc),
		   errs.len ? errs.items[errs.len - 1].message : "no error");
	fuzz_check_fixed_point("YAML load + serialize", &out);

out:
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
	return 0;
}
