/*
 * tests/unit/runner/wl_fixture.h: what the workload tests share: the CPU
 * backend on one OpenBLAS thread and Fashion-MNIST loaded once per test
 * group, and a config with PyTorch's Adam defaults but the fields a test
 * varies. Included by one test file each (the helpers are static); a test
 * that needs no Fashion-MNIST defines WL_FIXTURE_NO_FMNIST first.
 */
#ifndef OPTREG_WL_FIXTURE_H
#define OPTREG_WL_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "runner/backend.h"
#include "runner/idx.h"
#include "validator/config.h"

static struct optreg_backend be;
#ifndef WL_FIXTURE_NO_FMNIST
static struct optreg_fmnist fm;
#endif

static int group_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	if (optreg_cpu_backend_init(&be, 1, &errs)) {
		optreg_errors_release(&errs);
		return -1;
	}
#ifndef WL_FIXTURE_NO_FMNIST
	if (optreg_fmnist_load(NULL, &fm, &errs)) {
		fprintf(stderr, "fashion-mnist: %s\n",
			errs.len ? errs.items[0].message : "?");
		optreg_errors_release(&errs);
		return -1;
	}
#endif
	optreg_errors_release(&errs);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
#ifndef WL_FIXTURE_NO_FMNIST
	optreg_fmnist_release(&fm);
#endif
	be.destroy(&be);
	return 0;
}

/* Betas (0.9, 0.999), constant rate, no clipping; the rest as given. */
static inline struct optreg_config wl_config(enum optreg_optimizer opt,
					     double lr, double eps, double wd)
{
	struct optreg_config c;

	memset(&c, 0, sizeof(c));
	c.optimizer = opt;
	c.lr = lr;
	c.beta1 = 0.9;
	c.beta2 = 0.999;
	c.eps = eps;
	c.weight_decay = wd;
	c.schedule.kind = OPTREG_SCHEDULE_CONSTANT;
	return c;
}

#endif
