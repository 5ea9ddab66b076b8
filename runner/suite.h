/*
 * runner/suite.h: the reference suite (runner/suites/ref-v2.yaml) and the
 * verdict it produces for a config.
 *
 * A suite is data: seeds, the warmup cap, workloads with their problem
 * options, peak-rate step counts and batch sizes, thresholds, and the
 * baseline (the Adam defaults' numbers on every workload and seed at each
 * lr of a small grid; a config is held to the grid lr nearest its own
 * from below). Its
 * identity is the sha256: digest of its RFC 8785 canonical form, written into
 * every verdict. Running a suite first checks the runner's own Adam arithmetic
 * against the golden traces (selftest); if that fails the verdict is `error`
 * and nothing is judged.
 */
#ifndef OPTREG_SUITE_H
#define OPTREG_SUITE_H

#include <jansson.h>
#include <stddef.h>

#include "../common/error.h"
#include "../validator/config.h"

struct optreg_suite;

/* Loads and checks a suite file (YAML or JSON). Format 1 (ref-v1) is
 * refused: it is retired (its verdicts still verify). */
int optreg_suite_load(struct optreg_suite **s, const char *path,
		      struct optreg_errors *errs);
/* optreg_suite_load of the `len` bytes of `text` (no NUL needed): YAML or
 * JSON as optreg_doc_load picks by `name` (NULL: by content). For tests
 * and the fuzzer, which have no file. */
int optreg_suite_load_text(struct optreg_suite **s, const char *name,
			   const char *text, size_t len,
			   struct optreg_errors *errs);
/* optreg_suite_load, but without reading (or checking) the `baseline`
 * section's numbers: for `optreg-runner baseline`, which computes them.
 * Only the grid's learning rates are read, where readable (its default
 * grid). */
int optreg_suite_load_without_baseline(struct optreg_suite **s,
				       const char *path,
				       struct optreg_errors *errs);
void optreg_suite_free(struct optreg_suite *s);

const char *optreg_suite_name(const struct optreg_suite *s);   /* "ref-v2" */
const char *optreg_suite_digest(const struct optreg_suite *s); /* sha256:… */

/* $OPTREG_SUITE, else runner/suites/ref-v2.yaml found beside the
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
 *    "result": "pass"|"warn"|"fail"|"error", "backend": "cpu", "selftest",
 * "seeds": [...], "workloads": [{"name", "problem", "variant", "steps",
 * "peak_steps", "batch", "schedule", "result", "param_groups", "runs":
 * [{"seed", "result", "metrics", "loss_curve", "findings"}], "minority": […]}],
 *    "findings": [{"criterion", "severity": "fail"|"warn"|"error",
 *                  "workload", "step", "values": {…}, "message",
 *                  "seeds": {"showed": […], "of": n}}],
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

/*
 * The baseline: the Adam defaults (betas 0.9/0.999, eps 1e-8, no decay, no
 * clipping, constant, no warmup; float32) at each of the `nlrs`
 * learning rates `lrs` (strictly ascending; nlrs 0: the suite file's own
 * grid, else 1e-3 alone) on every workload (only `only`, when not NULL)
 * and seed of the suite, for peak_steps steps. *out becomes the
 * `baseline` section, [{"lr", "workloads": {workload: {"seed":
 * {"final_loss", "test_loss", "test_accuracy"}}}}, ...] (test numbers
 * only where the workload has a test set), numbers to 6 significant
 * digits. 0, or a negative code with errs.
 */
/*
 * optreg_suite_run on the backend `dev` chose (runner/device.h; NULL: the
 * CPU, as optreg_suite_run). The verdict's head is followed by "backend":
 * "cpu"|"cuda" and, for cuda, "gpu": {"name", "compute_capability",
 * "driver_version", "runtime_version"}. A backend that does not start is
 * its negative code with errs, and no verdict.
 */
struct optreg_device;
int optreg_suite_run_on(const struct optreg_suite *s,
			const struct optreg_device *dev,
			const struct optreg_config *cfg,
			const char *config_digest, optreg_progress_fn progress,
			void *ctx, json_t **verdict,
			struct optreg_errors *errs);

int optreg_suite_baseline(const struct optreg_suite *s, const char *only,
			  const double *lrs, size_t nlrs,
			  optreg_progress_fn progress, void *ctx, json_t **out,
			  struct optreg_errors *errs);

#endif
