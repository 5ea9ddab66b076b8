/*
 * runner/verdict.h: the verdict payload and its signed envelope.
 *
 * A verdict is a JSON object whose first members are always, in this
 * order: config_digest, suite, suite_digest, runner_version, device and
 * result; then workloads, findings and time (optreg_suite_run adds
 * selftest before workloads). `serve` adds job_id and runner, serializes
 * it in RFC 8785 form and signs it into a DSSE envelope of payload type
 * OPTREG_VERDICT_PAYLOAD_TYPE with the runner's key.
 */
#ifndef OPTREG_RUNNER_VERDICT_H
#define OPTREG_RUNNER_VERDICT_H

#include <jansson.h>

#include "../common/error.h"
#include "../common/media.h" /* OPTREG_VERDICT_PAYLOAD_TYPE */
#include "../common/sign.h"

/* A new verdict holding only its head: config_digest, suite,
 * suite_digest, runner_version (OPTREG_RUNNER_VERSION), device, and result
 * "error" until the caller sets the real one. The strings are copied. */
json_t *optreg_verdict_new(const char *config_digest, const char *suite,
			   const char *suite_digest, const char *device);

/*
 * A whole `error` verdict for a config that was not judged: device
 * "none", no workloads, one finding of `criterion` (severity error) per
 * item of `why`, with {path, rule} as its values, and time {started_at:
 * now, seconds: 0, train_seconds: {}}. A new object; `why` is borrowed.
 */
json_t *optreg_verdict_error(const char *config_digest, const char *suite,
			     const char *suite_digest, const char *criterion,
			     const struct optreg_errors *why);

/*
 * Adds "job_id" and "runner" to `verdict`, serializes it in RFC 8785 form
 * and signs that with `key` (a private key) into a DSSE envelope. A
 * verdict that cannot be serialized (a non-finite number) is replaced by
 * an `error` verdict of criterion verdict_encoding for the same config and
 * suite, and *replaced is set to 1 (else 0). On success *envelope is the
 * envelope's compact JSON text (malloc'd; the caller frees it) and 0 is
 * returned; on a signing failure, a negative code with `errs` filled.
 */
int optreg_verdict_sign(json_t *verdict, long long job_id, const char *runner,
			const struct optreg_key *key, char **envelope,
			int *replaced, struct optreg_errors *errs);

#endif
