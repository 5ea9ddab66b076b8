/*
 * runner/suite_int.h: the loaded suite, shared by suite_doc.c (which
 * builds it from the file) and suite.c (which runs it). Private to those.
 */
#ifndef OPTREG_RUNNER_SUITE_INT_H
#define OPTREG_RUNNER_SUITE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../validator/jcs.h"
#include "findings.h"
#include "suite.h"

struct suite_workload {
	char *name; /* one of optreg_workload_names */
	long steps, batch;
	uint64_t seed;
	int eval;	/* fmnist_*: test-set pass after training */
	long eval_rows; /* 0: the whole test set */
	int sharpness;	/* quadratic_deep: power iteration per step */
	char *exclude;	/* owned copy of update_ratio_exclude, or NULL */
	struct optreg_thresholds th;
};

struct optreg_suite {
	char *name;
	long version;
	char digest[OPTREG_DIGEST_LEN + 1];
	double warmup_cap_fraction;
	struct suite_workload *w;
	size_t nw;
};

#endif
