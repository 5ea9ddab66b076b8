/*
 * tests/fuzz/fuzz_jcs.c: fuzzes optreg_jcs_canonicalize, the whole
 * `optreg canonicalize` pipeline, on arbitrary bytes.
 *
 * Beyond memory safety it checks that a refusal carries an error and that
 * what is accepted comes out as a fixed point: canonical bytes canonicalize
 * to themselves.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/jcs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	rc = optreg_jcs_canonicalize((const char *)data, size, &out, &errs);
	fuzz_check_result("optreg_jcs_canonicalize", rc, &errs, 0);
	if (rc == 0)
		fuzz_check_fixed_point("optreg_jcs_canonicalize", &out);

	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return 0;
}
