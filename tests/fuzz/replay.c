/*
 * tests/fuzz/replay.c: runs a fuzz target over files without libFuzzer.
 *
 * usage: replay_<target> [DIR|FILE]...
 *
 * Linked with one tests/fuzz/<target>.c into $(BUILD)/tests/replay_<target>,
 * it calls LLVMFuzzerTestOneInput once per file, so `make test` (and
 * `make asan`, under the sanitizers) replays the seed corpus and every kept
 * crash input. Without arguments it replays tests/fuzz/corpus/<target> and
 * tests/fuzz/regressions/<target>, the target named by the program's name.
 *
 * Prints TAP: one line per argument, `ok N - DIR: K files`. Files whose name
 * starts with '.' (.gitkeep) are skipped. A missing or unreadable argument is
 * `not ok` and the exit status 1; an input that breaks the target kills the
 * whole program, which the test runner reports as a failure, after a line
 * `replay: crashed on PATH` on stderr that names the culprit.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/buf.h"
#include "fuzz.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) ||                                        \
	__has_feature(undefined_behavior_sanitizer)
#define REPLAY_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZED 1
#endif
#ifdef REPLAY_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

/* The file being replayed, for the last words of a crash. */
static const char *volatile replay_current;

static void replay_say_culprit(void)
{
	const char *path = replay_current;

	if (!path)
		return;
	/* Only async-signal-safe calls from here. */
	if (write(STDERR_FILENO, "replay: crashed on ", 19) < 0 ||
	    write(STDERR_FILENO, path, strlen(path)) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

static void replay_on_signal(int sig)
{
	replay_say_culprit();
	/* SA_RESETHAND restored the default action: die of the signal. */
	raise(sig);
}

/*
 * Names the culprit when an input kills the program. Sanitizers report
 * memory errors themselves and then exit, so they get a death callback and
 * keep their own SIGSEGV handler; abort() (FUZZ_CHECK) is a signal always.
 */
static void replay_catch_crashes(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	struct sigaction sa;
	size_t i, n = sizeof(sigs) / sizeof(sigs[0]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = replay_on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
#ifdef REPLAY_SANITIZED
	__sanitizer_set_death_callback(replay_say_culprit);
	n = 1; /* SIGABRT only */
#endif
	for (i = 0; i < n; i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * Runs the target on one file. The bytes are copied into an allocation of
 * exactly their size, so an over-read shows up under ASan as it would under
 * libFuzzer. Returns 0 or -errno.
 */
static int replay_file(const char *path)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	uint8_t *copy;
	int rc;

	rc = optreg_buf_read_file(&b, path) ? -errno : 0;
	if (rc < 0) {
		optreg_buf_release(&b);
		return rc;
	}
	copy = optreg_xmalloc(b.len ? b.len : 1);
	memcpy(copy, b.data, b.len);
	replay_current = path;
	LLVMFuzzerTestOneInput(copy, b.len);
	replay_current = NULL;
	free(copy);
	optreg_buf_release(&b);
	return 0;
}

static int skip_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/*
 * Replays every regular file in `dir`, in name order, and sets `*count`.
 * Returns 0 or -errno for the first file or directory that cannot be read.
 */
static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, i, rc = 0;

	n = scandir(dir, &names, skip_hidden, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		char *path = optreg_xasprintf("%s/%s", dir, names[i]->d_name);

		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = replay_file(path);
			if (rc == 0)
				(*count)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Runs one argument and prints its TAP line; returns 0 for `ok`. */
static int replay_arg(int num, const char *arg)
{
	struct stat st;
	size_t count = 0;
	int rc;

	if (stat(arg, &st) != 0) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = replay_dir(arg, &count);
	} else {
		rc = replay_file(arg);
		count = rc == 0;
	}
	if (rc < 0) {
		printf("not ok %d - %s: cannot read (%s)\n", num, arg,
		       strerror(-rc));
		return 1;
	}
	printf("ok %d - %s: %zu file%s\n", num, arg, count,
	       count == 1 ? "" : "s");
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *target;
	char *defaults[2];
	int i, failed = 0;

	replay_catch_crashes();
	setvbuf(stdout, NULL, _IOLBF, 0);
	base = base ? base + 1 : argv[0];
	target = strncmp(base, "replay_", 7) == 0 ? base + 7 : base;

	if (argc > 1 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: %s [DIR|FILE]...\n"
		       "Runs the %s fuzz target once per file and prints TAP.\n"
		       "Default: tests/fuzz/corpus/%s "
		       "tests/fuzz/regressions/%s\n",
		       base, target, target, target);
		return 0;
	}

	if (argc > 1) {
		printf("1..%d\n", argc - 1);
		for (i = 1; i < argc; i++)
			failed |= replay_arg(i, argv[i]);
		return failed;
	}

	defaults[0] = optreg_xasprintf("tests/fuzz/corpus/%s", target);
	defaults[1] = optreg_xasprintf("tests/fuzz/regressions/%s", target);
	printf("1..2\n");
	for (i = 0; i < 2; i++) {
		failed |= replay_arg(i + 1, defaults[i]);
		free(defaults[i]);
	}
	return failed;
}
