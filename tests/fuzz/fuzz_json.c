/*
 * tests/fuzz/fuzz_json.c: fuzzes optreg_doc_load_json and, on what it
 * accepts, optreg_jcs_serialize.
 *
 * Beyond memory safety it checks the loader's contract (a refusal carries an
 * error; every number is a json_real), that an accepted tree always
 * serializes (the loader already refused what the serializer would), that
 * the result is a fixed point of optreg_jcs_canonicalize, and that
 * canonicalizing the input directly gives the same bytes as loading and
 * serializing it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/doc.h"
#include "../../validator/jcs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_doc doc;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_buf direct = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	optreg_doc_init(&doc);
	rc = optreg_doc_load_json(&doc, (const char *)data, size, &errs);
	fuzz_check_result("optreg_doc_load_json", rc, &errs, 0);
	if (rc != 0)
		goto out;
	FUZZ_CHECK(doc.root != NULL, "loaded without a root");
	fuzz_check_reals(doc.root);

	rc = optreg_jcs_serialize(doc.root, &out, &errs);
	FUZZ_CHECK(rc == 0, "a loaded JSON tree does not serialize (%s: %s)",
		   optreg_code_name(rc),
		   errs.len ? errs.items[errs.len - 1].message : "no error");
	fuzz_check_fixed_point("JSON load + serialize", &out);

	rc = optreg_jcs_canonicalize((const char *)data, size, &direct, &errs);
	FUZZ_CHECK(rc == 0,
		   "optreg_doc_load_json accepts what optreg_jcs_canonicalize "
		   "refuses (%s: %s)",
		   optreg_code_name(rc),
		   errs.len ? errs.items[errs.len - 1].message : "no error");
	FUZZ_CHECK(direct.len == out.len &&
			   memcmp(direct.data, out.data, out.len) == 0,
		   "load + serialize and canonicalize disagree:\n"
		   "serialize:    %.200s\ncanonicalize: %.200s",
		   out.data, direct.data);

out:
	optreg_buf_release(&direct);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
	return 0;
}
