/*
 * runner/serve.h: `optreg-runner serve`, the job loop against a registry
 * (docs/runner.md, "serve").
 */
#ifndef OPTREG_RUNNER_SERVE_H
#define OPTREG_RUNNER_SERVE_H

/*
 * Runs `optreg-runner serve` with argv[0] the command's name: parses the
 * options, loads the key and the suite, then leases, judges and posts jobs
 * until a signal (or after one with --once). Returns the exit status
 * listed in the command's --help. Installs SIGTERM and SIGINT handlers;
 * call it once per process.
 */
int optreg_runner_serve(int argc, char **argv);

#endif
