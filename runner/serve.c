/*
 * runner/serve.c: `optreg-runner serve` (serve.h): options, signals and the
 * job loop against a registry (docs/runner.md, "serve").
 *
 * One job at a time:
 *
 *   lease   POST /v1/jobs/lease (lease.c). 204 means no job waits: sleep
 *           --poll-seconds. Transport failures, 429 and 5xx back off (1 s
 *           doubling to 60 s, at least the Retry-After); 401 and 403 stop
 *           the runner, as no later lease can succeed.
 *   job     check the config, judge it, sign and post the verdict (job.c,
 *           verdict.c).
 *
 * Signals: the first SIGTERM or SIGINT lets the current job finish (its
 * verdict posted) and exits 0; a second one abandons the job at once (exit
 * 0; its lease expires and the job goes back to the queue).
 *
 * Logs (common/log.h): one JSON line per job on stderr, and one for start,
 * stop, backoff and heartbeat trouble. They never carry the bearer token, the
 * lease token or key material.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/errcodes.h"
#include "../common/log.h"
#include "device.h"
#include "job.h"
#include "lease.h"
#include "options.h"
#include "serve.h"
#include "serve_int.h"
#include "suite.h"

/* ---- Signals ------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	static const char msg[] =
		"{\"level\":\"warn\",\"msg\":\"abandon\",\"detail\":\"second "
		"signal: abandoning the current job; its lease will expire "
		"and the job will be leased again\"}\n";

	(void)sig;
	if (stop_requested) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing to do: exiting anyway */
		}
		_exit(SERVE_EXIT_OK);
	}
	stop_requested = 1;
}

static void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: sleeps end at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Sleeps `seconds`, returning early when a stop is requested. */
static void nap(double seconds)
{
	struct timespec ts;

	while (seconds > 0 && !stop_requested) {
		double step = seconds > 1 ? 1 : seconds;
		ts.tv_sec = (time_t)step;
		ts.tv_nsec = (long)((step - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		seconds -= step;
	}
}

/* ---- The loop ------------------------------------------------------------ */

static int serve_loop(struct optreg_serve *s)
{
	for (;;) {
		json_t *job = NULL;
		double wait = 0;
		int exit_status = SERVE_EXIT_OK;

		if (stop_requested)
			break;
		switch (optreg_lease_take(s, &job, &wait, &exit_status)) {
		case OPTREG_LEASE_FATAL:
			return exit_status;
		case OPTREG_LEASE_RETRY:
			if (s->once)
				return SERVE_EXIT_UNAVAILABLE;
			nap(wait);
			continue;
		case OPTREG_LEASE_NONE:
			if (s->once) {
				optreg_log_write(
					"info", "idle",
					json_pack("{s:s}", "detail",
						  "no job is waiting"));
				return SERVE_EXIT_OK;
			}
			nap(s->poll_seconds);
			continue;
		case OPTREG_LEASE_JOB:
			break;
		}
		enum optreg_job_outcome out = optreg_job_run(s, job);
		json_decref(job);
		if (s->once)
			return out <= OPTREG_JOB_RECORDED ? SERVE_EXIT_OK
							  : SERVE_EXIT_FAILED;
	}
	optreg_log_write("info", "stop",
			 json_pack("{s:s}", "detail", "stopped on a signal"));
	return SERVE_EXIT_OK;
}

/* ---- Options ------------------------------------------------------------- */

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner serve [--once] [--lease-seconds N] "
		"[--poll-seconds N]\n"
		"                           [--suite FILE] [--key FILE] "
		"[--runner NAME] [--url URL]\n"
		"                           [--backend auto|cpu|cuda] "
		"[--jobs N]\n\n"
		"Leases validation jobs from the registry, checks each "
		"config's digest and\n"
		"signature, runs the reference suite on it, and posts the "
		"verdict signed with\n"
		"the runner's key. Logs one JSON line per job on stderr.\n\n"
		"Options:\n"
		"  --once              process at most one job, then exit\n"
		"  --lease-seconds N   lease length, 1 to %d (default %d); "
		"heartbeats every N/3 s;\n"
		"                      the registry refuses leases under its "
		"minimum (default 30)\n"
		"  --poll-seconds N    wait between leases when no job waits "
		"(default %d)\n"
		"  --suite FILE        the suite (default $OPTREG_SUITE, else "
		"runner/suites/ref-v2.yaml)\n"
		"  --key FILE          the runner's Ed25519 private key "
		"(default $OPTREG_KEY)\n"
		"  --runner NAME       the name leases and verdicts carry "
		"(default HOST:PID)\n"
		"  --url URL           the registry (default $OPTREG_URL, "
		"else %s)\n"
		"  --backend B         auto (default: CUDA when built in and a "
		"device is present,\n"
		"                      else the CPU, with a warn log line "
		"saying why), cpu, or\n"
		"                      cuda (exit 7 naming what is missing "
		"when "
		"there is none)\n"
		"  --jobs N            train N seeds of a workload at once "
		"(1 to 16; default:\n"
		"                      every seed on cuda, one on the CPU); "
		"the verdict is the\n"
		"                      same whatever N\n\n"
		"Environment:\n"
		"  OPTREG_URL     the registry\n"
		"  OPTREG_TOKEN   bearer token with the runner role\n"
		"  OPTREG_KEY     private key file; its public half must be "
		"registered\n"
		"                 (POST /v1/keys) for the namespaces judged\n\n"
		"SIGTERM or SIGINT: finish the current job, then exit 0; a "
		"second one\n"
		"abandons the job at once (its lease expires).\n\n"
		"Exit status: 0 stopped, or with --once a verdict was posted "
		"or no job waited;\n"
		"1 with --once a job got no verdict posted; 2 usage; 3 the key "
		"or suite cannot\n"
		"be read; 4 the token lacks the runner role (403); 6 the token "
		"is refused (401);\n"
		"7 with --once the registry did not answer, or --backend cuda "
		"has no device\n",
		LEASE_MAX, LEASE_DEFAULT, POLL_DEFAULT, OPTREG_DEFAULT_URL);
}

/* Matches `--name VALUE` or `--name=VALUE` at argv[*i]: 1 (consumed), 0
 * (not this option), -1 (value missing; reported). */
/* Reports `errs`' first error as `optreg-runner serve: WHAT: MESSAGE`. */
static void report(const char *what, const struct optreg_errors *errs)
{
	fprintf(stderr, "optreg-runner serve: %s: %s\n", what,
		errs->len ? errs->items[0].message : "failed");
	if (errs->len && errs->items[0].hint)
		fprintf(stderr, "  hint: %s\n", errs->items[0].hint);
}

/* --backend into s->device: 0, SERVE_EXIT_USAGE for an unknown name, or
 * SERVE_EXIT_UNAVAILABLE when cuda is asked for and missing. */
static int serve_backend(struct optreg_serve *s, const char *backend)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	enum optreg_device_kind want;
	int rc;

	rc = optreg_device_parse(backend, &want, &errs);
	if (rc == 0)
		rc = optreg_device_choose(&s->device, want, &errs);
	if (rc)
		report("--backend", &errs);
	optreg_errors_release(&errs);
	return rc == 0		     ? 0
	       : rc == OPTREG_EINVAL ? SERVE_EXIT_USAGE
				     : SERVE_EXIT_UNAVAILABLE;
}

static int serve_setup(struct optreg_serve *s, const char *key_path,
		       const char *suite_path, const char *url)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *token = getenv("OPTREG_TOKEN");
	char *dflt = NULL;
	int rc;

	if (!token || !*token) {
		fprintf(stderr, "optreg-runner serve: no token: OPTREG_TOKEN "
				"is not set\n"
				"  hint: export a token with the runner role, "
				"e.g. from `optreg-server token create "
				"--role runner`\n");
		return SERVE_EXIT_USAGE;
	}
	if (!key_path || !*key_path) {
		fprintf(stderr,
			"optreg-runner serve: no signing key: OPTREG_KEY is "
			"not set\n"
			"  hint: `optreg keygen --out runner`, register "
			"runner.pub.pem (`optreg key register`) and export "
			"OPTREG_KEY=runner.pem\n");
		return SERVE_EXIT_USAGE;
	}
	rc = optreg_key_load_file(&s->key, key_path, &errs);
	if (rc == 0 && !optreg_key_is_private(s->key)) {
		optreg_errors_add(&errs, OPTREG_EINVAL, "key_type", NULL,
				  "%s is a public key; verdicts are signed "
				  "with the private one",
				  key_path);
		rc = OPTREG_EINVAL;
	}
	if (rc) {
		report("OPTREG_KEY", &errs);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? SERVE_EXIT_IO : SERVE_EXIT_USAGE;
	}
	optreg_key_id(s->key, s->keyid);
	if (!suite_path)
		suite_path = dflt = optreg_suite_default_path();
	rc = optreg_suite_load(&s->suite, suite_path, &errs);
	if (rc) {
		report(suite_path, &errs);
		free(dflt);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? SERVE_EXIT_IO : SERVE_EXIT_USAGE;
	}
	free(dflt);
	/* Two clients: one curl handle per thread. */
	rc = optreg_http_client_init(&s->client, url, token, &errs);
	if (rc == 0) {
		rc = optreg_http_client_init(&s->hb, url, token, &errs);
		if (rc)
			optreg_http_client_release(&s->client);
	}
	if (rc) {
		report("registry", &errs);
		optreg_errors_release(&errs);
		return rc == OPTREG_EUSAGE ? SERVE_EXIT_USAGE
					   : SERVE_EXIT_UNAVAILABLE;
	}
	/* A heartbeat must not outlive the lease it extends. */
	long hb_ms = s->lease_seconds * 1000L / 2;
	s->hb.timeout_ms = hb_ms < 2000 ? 2000
			   : hb_ms > OPTREG_HTTP_TIMEOUT_MS
				   ? OPTREG_HTTP_TIMEOUT_MS
				   : hb_ms;
	return 0;
}

int optreg_runner_serve(int argc, char **argv)
{
	struct optreg_serve s;
	const char *key_path = getenv("OPTREG_KEY"), *suite_path = NULL,
		   *url = NULL, *backend = "auto", *jobs = NULL;
	const struct optreg_opt table[] = {
		{"--backend", OPTREG_OPT_STRING, &backend, NULL, 0},
		{"--jobs", OPTREG_OPT_STRING, &jobs, NULL, 0},
		{"--once", OPTREG_OPT_FLAG, &s.once, NULL, 0},
		{"--lease-seconds", OPTREG_OPT_SECONDS, &s.lease_seconds, NULL,
		 LEASE_MAX},
		{"--poll-seconds", OPTREG_OPT_SECONDS, &s.poll_seconds, NULL,
		 3600},
		{"--suite", OPTREG_OPT_STRING, &suite_path, NULL, 0},
		{"--key", OPTREG_OPT_STRING, &key_path, NULL, 0},
		{"--runner", OPTREG_OPT_STRING, &s.runner, NULL, 0},
		{"--url", OPTREG_OPT_STRING, &url, NULL, 0},
		{NULL, 0, NULL, NULL, 0},
	};
	const struct optreg_opts opts = {
		.prog = "optreg-runner serve",
		.opts = table,
		.usage = serve_usage,
	};
	int rc;

	memset(&s, 0, sizeof(s));
	s.lease_seconds = LEASE_DEFAULT;
	s.poll_seconds = POLL_DEFAULT;
	rc = optreg_opts_parse(&opts, argc, argv, NULL, NULL);
	if (rc != OPTREG_OPTS_OK)
		return rc == OPTREG_OPTS_HELP ? SERVE_EXIT_OK
					      : SERVE_EXIT_USAGE;
	if (s.runner && (!*s.runner || strlen(s.runner) > 200)) {
		fprintf(stderr, "optreg-runner serve: --runner must be 1 to "
				"200 characters\n");
		return SERVE_EXIT_USAGE;
	}
	if (!s.runner) {
		char host[256] = "runner";
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "runner");
		host[sizeof(host) - 1] = '\0';
		snprintf(s.runner_buf, sizeof(s.runner_buf), "%.200s:%ld", host,
			 (long)getpid());
		s.runner = s.runner_buf;
	}
	rc = serve_backend(&s, backend);
	if (rc)
		return rc;
	if (jobs) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		rc = optreg_device_parse_jobs(jobs, &s.device.jobs, &errs);
		if (rc)
			report("--jobs", &errs);
		optreg_errors_release(&errs);
		if (rc)
			return SERVE_EXIT_USAGE;
	}
	rc = serve_setup(&s, key_path, suite_path, url);
	if (rc)
		goto out;
	signals_install();
	optreg_log_write(
		"info", "start",
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:s}",
			  "runner", s.runner, "url", s.client.base_url, "keyid",
			  s.keyid, "suite", optreg_suite_name(s.suite),
			  "suite_digest", optreg_suite_digest(s.suite),
			  "lease_seconds", s.lease_seconds, "poll_seconds",
			  s.poll_seconds, "once", s.once, "backend",
			  s.device.kind == OPTREG_DEVICE_CUDA ? "cuda"
							      : "cpu"));
	if (s.device.note[0])
		optreg_log_write("warn", "backend",
				 json_pack("{s:s}", "detail", s.device.note));
	rc = serve_loop(&s);
	optreg_http_client_release(&s.hb);
	optreg_http_client_release(&s.client);
out:
	if (s.suite)
		optreg_suite_free(s.suite);
	optreg_key_free(s.key);
	return rc;
}
