/*
 * cli/remote.h: the registry client of the `optreg` commands: the options
 * they share (--json, --url, --token), requests, and how failures are
 * reported (stderr, a problem object on stdout with --json) and mapped to
 * exit statuses.
 */
#ifndef OPTREG_CLI_REMOTE_H
#define OPTREG_CLI_REMOTE_H

#include <jansson.h>

#include "../common/error.h"
#include "../common/http_client.h"
#include "../validator/doc.h"
#include "args.h"

/* The options every registry command shares, and its connection. */
struct cli_remote {
	const char *cmd;   /* "submit": messages say `optreg submit: ...` */
	const char *url;   /* --url, or NULL for $OPTREG_URL */
	const char *token; /* --token, or NULL for $OPTREG_TOKEN; borrowed */
	int json;	   /* --json: print the registry's JSON on stdout */
	int quiet;	   /* cli_remote_request: a transport failure is not
			      reported (the caller retries it) */
	struct optreg_http_client client;
	int open;
};

#define CLI_REMOTE_OPTIONS_HELP                                                \
	"  --json           print the registry's JSON on stdout (on failure "  \
	"a problem\n"                                                          \
	"                   object: code, detail, errors)\n"                   \
	"  --url URL        the registry (default $OPTREG_URL, else\n"         \
	"                   http://127.0.0.1:8080)\n"                          \
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN; the "         \
	"environment keeps it\n"                                               \
	"                   out of the process list)\n"

/*
 * The table entries for --json, --url and --token, filling `r` (a struct
 * cli_remote *): put CLI_OPT_REMOTE(&r) in a command's options.
 */
#define CLI_OPT_REMOTE(r)                                                      \
	CLI_OPT_FLAG("--json", "print the registry's JSON", &(r)->json),       \
		CLI_OPT_STRING("--url", "URL", "the registry", &(r)->url),     \
		CLI_OPT_STRING("--token", "TOKEN", "bearer token",             \
			       &(r)->token)

/*
 * Consumes --json, --url or --token at argv[*i] (for loops that have not
 * moved to a table). Returns 1 when consumed,
 * 0 when argv[*i] is something else, -1 (message printed) on a missing
 * value.
 */
int cli_remote_option(struct cli_remote *r, int argc, char **argv, int *i);

/* Connects lazily on the first request; releases the client. */
void cli_remote_close(struct cli_remote *r);

/*
 * Sends one request (see optreg_http_request). Returns 0 when the registry
 * answered, whatever the status, or, after reporting the failure (stderr,
 * and a problem object on stdout with --json), the exit status:
 * OPTREG_EXIT_UNAVAILABLE for a transport failure, OPTREG_EXIT_USAGE for a
 * bad --url or token.
 */
int cli_remote_request(struct cli_remote *r, const char *method,
		       const char *path, const char *body,
		       struct optreg_http_resp *resp);

/* The exit status for an HTTP status that is not a success (>= 300), by
 * way of the error table (optreg_code_from_problem, optreg_code_exit). */
int cli_exit_for_http(long status);

/*
 * Reports an error response and returns its exit status: on stderr
 * `optreg CMD: MESSAGE (STATUS CODE)`, then the problem's errors[] one per
 * line like lint (`FILE:LINE:COL: PATH: MESSAGE`, the position found in
 * `doc` when given; FILE and `doc` may be NULL) and a hint where one helps;
 * with --json the problem object on stdout.
 */
int cli_report_http_error(struct cli_remote *r,
			  const struct optreg_http_resp *resp, const char *file,
			  const struct optreg_doc *doc);

/*
 * Reports a failure found on this side (a response that breaks the API
 * contract, a digest that does not match): `optreg CMD: MESSAGE` on stderr
 * (every control character but the format's newlines escaped, as
 * cli_printable does: arguments may be registry text) and, with --json,
 * {"code": code, "detail": MESSAGE} on stdout. Returns `status`.
 */
int cli_report(struct cli_remote *r, int status, const char *code,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Prints a problem object made on this side, {"code", "detail", "errors":
 * [{path, rule, message}]} (errors left out when `errs` is NULL or empty),
 * as one line on stdout: what --json prints when the registry sent none.
 */
void cli_print_problem(const char *code, const char *detail,
		       const struct optreg_errors *errs);

/*
 * Parses a successful response's JSON body, which must be an object, with
 * jansson `flags` (duplicate keys are always refused; pass
 * JSON_DECODE_INT_AS_REAL to read numbers as the document loader does).
 * Returns a new reference, or NULL after reporting a broken response (exit
 * OPTREG_EXIT_UNAVAILABLE).
 */
json_t *cli_response_json(struct cli_remote *r,
			  const struct optreg_http_resp *resp, size_t flags);

/*
 * One request with a JSON `body` (NULL: none) whose answer must be a 2xx
 * JSON object: *answer gets it (a new reference). Returns 0, or the exit
 * status after reporting the failure as cli_report_http_error does.
 */
int cli_remote_call(struct cli_remote *r, const char *method, const char *path,
		    const json_t *body, json_t **answer);

/*
 * GETs a paged list (docs/api.md: `page_size`, `page_token`,
 * `next_page_token`) from `path` (which may carry a query already),
 * `page_size` at a time, appending the array under `key` of each page to
 * `items`, until the end or `limit` items (0: all). Stops on a page that
 * makes no progress, so a confused server cannot loop it. *next gets the
 * token to go on from (a new reference; null at the end). Returns 0 or
 * the exit status after reporting the failure.
 */
int cli_remote_pages(struct cli_remote *r, const char *path, const char *key,
		     long page_size, long limit, json_t *items, json_t **next);

/* A subcommand of a command with several (`optreg key register`). */
struct cli_remote_sub {
	const char *name;
	int (*run)(struct cli_remote *r, int argc, char **argv);
};

/*
 * Runs the subcommand argv[1] of command `cmd` ("key") among the `n` in
 * `subs`, with a cli_remote named "cmd sub" that it closes after, and
 * returns its exit status. No argv[1]: prints "optreg CMD: expected
 * EXPECTED" and `help` on stderr (OPTREG_EXIT_USAGE); a --help anywhere:
 * `help` on stdout (OPTREG_EXIT_OK). Returns -1, printing nothing, when
 * argv[1] names none of them (the caller says so).
 */
int cli_remote_subcommand(const char *cmd, const struct cli_remote_sub *subs,
			  size_t n, const char *expected, const char *help,
			  int argc, char **argv);

#endif
