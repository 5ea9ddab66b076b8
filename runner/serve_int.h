/*
 * runner/serve_int.h: what serve.c, lease.c and job.c share: the runner's
 * settings and clients, its limits and its exit statuses. Private to
 * those three files.
 */
#ifndef OPTREG_RUNNER_SERVE_INT_H
#define OPTREG_RUNNER_SERVE_INT_H

#include <stdbool.h>

#include "../common/http_client.h"
#include "../common/sign.h"
#include "device.h"
#include "suite.h"

#define LEASE_DEFAULT                                                          \
	300 /* seconds; the registry allows its minimum                        \
	     (--lease-min-seconds, default 30) to 3600 */
#define LEASE_MAX    3600
#define POLL_DEFAULT 5
#define BACKOFF_MAX  60
#define FETCH_TRIES  4 /* per GET while a job is held */
#define POST_TRIES   6

/* Exit statuses: the `optreg` CLI's numbers where they mean the same. */
enum {
	SERVE_EXIT_OK = 0,
	SERVE_EXIT_FAILED = 1, /* --once: a job was leased, no verdict posted */
	SERVE_EXIT_USAGE = 2,
	SERVE_EXIT_IO = 3,	     /* the key or suite file cannot be read */
	SERVE_EXIT_DENIED = 4,	     /* 403 on lease: not a runner */
	SERVE_EXIT_UNAUTHORIZED = 6, /* 401: no, bad or revoked token */
	SERVE_EXIT_UNAVAILABLE = 7,  /* --once: the registry did not answer;
					or --backend cuda has no device */
};

/* The runner: set up by serve.c, read by lease.c and job.c. */
struct optreg_serve {
	int once;
	int lease_seconds, poll_seconds;
	const char *runner;
	char runner_buf[300];
	struct optreg_key *key;
	char keyid[OPTREG_KEYID_LEN + 1];
	struct optreg_suite *suite;
	struct optreg_http_client client; /* the main thread's */
	struct optreg_http_client hb;	  /* the heartbeat thread's */
	double backoff;			  /* seconds; 0 after a success */
	struct optreg_device device;	  /* --backend, chosen at start */
};

#endif
