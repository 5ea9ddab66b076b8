/*
 * runner/suite.h: the reference suite (runner/suites/ref-v1.yaml) and the
 * verdict it produces for a config.
 *
 * A suite is data: workloads with their step counts, batch sizes, seeds and
 * thresholds. Its identity is the sha256: digest of its RFC 8785 canonical
 * form, written into every verdict. Running a suite first checks the
 * runner's own Adam arithmetic against the golden traces (selftest); if
 * that fails the verdict is `error` and nothing is judged.
 */
#ifndef OPTREG_SUITE_H
#define OPTREG_SUITE_H

#include <jansson.h>

#include "../common/error.h"
#include "../validator/config.h"

struct optreg_suite;

/* Loads and checks a suite file (YAML or JSON). */
int optreg_suite_load(struct optreg_suite **s, const char *path,
		      struct optreg_errors *errs);
void optreg_suite_free(struct optreg_suite *s);

const char *optreg_suite_name(const struct optreg_suite *s);   /* "ref-v1" */
const char *optreg_suite_digest(const struct optreg_suite *s); /* sha256:… */

/* $OPTREG_SUITE, else runner/suites/ref-v1.yaml found beside the
 * executable (as the golden traces are). malloc'd. */
char *optreg_suite_default_path(void);

/* Called as training goes, for progress displays. */
typedef void (*optreg_progress_fn)(void *ctx, const char *workload, long step,
				   long steps, double loss);

/*
 * Runs the suite for `cfg` (whose digest is `config_digest`) on the CPU
 * backend and builds the verdict payload (a new object):
 *
 *   {"config_digest", "suite", "suite_digest", "runner_version", "device",
 *    "result": "pass"|"warn"|"fail"|"error",
 *    "workloads": [{"name", "steps", "metrics": {…}, "loss_curve": […]}],
 *    "findings": [{"criterion", "severity": "fail"|"warn", "workload",
 *                  "step", "values": {…}, "message"}],
 *    "time"}
 *
 * Returns 0 whenever a verdict was produced, including `error` verdicts
 * (selftest off, a workload that could not run); a negative code only when
 * no verdict can be made at all.
 */
int optreg_suite_run(const struct optreg_suite *s,
		     const struct optreg_config *cfg, const char *config_digest,
		     optreg_progress_fn progress, void *ctx, json_t **verdict,
		     struct optreg_errors *errs);

#endif
