/*
 * cli/cli.h: shared pieces of the `optreg` command-line client.
 *
 * One file per command (cli/<command>.c), each exporting
 * `int cmd_<command>(int argc, char **argv)` that returns the process exit
 * status. Exit statuses are part of the interface CI scripts rely on.
 */
#ifndef OPTREG_CLI_H
#define OPTREG_CLI_H

#include <jansson.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "../common/http_client.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"

/*
 * Registry commands map HTTP outcomes onto these (cli_exit_for_http): 400,
 * 413, 415 and 422 are INVALID (the registry refused the input), 401
 * UNAUTHORIZED, 403 DENIED, 404 NOT_FOUND, 409 CONFLICT (a tag
 * compare-and-set lost, or a tag aimed at a yanked version), and transport
 * failures, 5xx, 429, redirects and responses that are not what docs/api.md
 * promises are UNAVAILABLE. docs/cli.md is the reference.
 */
enum {
	OPTREG_EXIT_OK = 0,
	OPTREG_EXIT_INVALID = 1,      /* a document failed validation */
	OPTREG_EXIT_USAGE = 2,	      /* wrong arguments */
	OPTREG_EXIT_IO = 3,	      /* a file could not be read or written */
	OPTREG_EXIT_DENIED = 4,	      /* 403: the token lacks the role */
	OPTREG_EXIT_CONFLICT = 5,     /* 409: compare-and-set failed, yanked */
	OPTREG_EXIT_UNAUTHORIZED = 6, /* 401: no, bad or expired token */
	OPTREG_EXIT_UNAVAILABLE = 7,  /* no answer, 5xx, broken answer */
	OPTREG_EXIT_NOT_FOUND = 8,    /* 404: no such config/version/tag */
};

int cmd_canonicalize(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_yank(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

/*
 * Loads FILE ("-" for standard input) into `doc`; returns 0 or the loader's
 * negative OPTREG_E* code with the errors in `errs`.
 */
int cli_load_doc(const char *file, struct optreg_doc *doc,
		 struct optreg_errors *errs);

/*
 * As cli_load_doc, but on failure prints the
 * errors as `file:line:col: path: message` lines to stderr and returns the
 * exit status to use (OPTREG_EXIT_IO or OPTREG_EXIT_INVALID); 0 on success.
 */
int cli_load(const char *file, struct optreg_doc *doc,
	     struct optreg_errors *errs);

/* Prints errors to stderr in the one-line format, prefixed with `file`. */
void cli_print_errors(const char *file, const struct optreg_errors *errs);

/* Writes all of `b` to stdout; returns OPTREG_EXIT_IO on failure. */
int cli_write_stdout(const struct optreg_buf *b);

/*
 * Matches an option with a value at argv[*i]: `--name VALUE` or
 * `--name=VALUE`. Returns 1 and sets *val (advancing *i past VALUE), 0 when
 * argv[*i] is not `name`, or -1 after printing `optreg CMD: NAME needs a
 * value` when VALUE is missing.
 */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
		  const char *name, const char **val);

/* Parses a positive decimal integer (no sign, no leading zeros, at most
 * 1e15); returns 0 or -1. */
int cli_parse_count(const char *s, long *out);

/* ---- Registry commands ---------------------------------------------- */

/* The options every registry command shares, and its connection. */
struct cli_remote {
	const char *cmd;   /* "submit": messages say `optreg submit: ...` */
	const char *url;   /* --url, or NULL for $OPTREG_URL */
	const char *token; /* --token, or NULL for $OPTREG_TOKEN; borrowed */
	int json;	   /* --json: print the registry's JSON on stdout */
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
 * Consumes --json, --url or --token at argv[*i]. Returns 1 when consumed,
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

/* The exit status for an HTTP status that is not a success (>= 300). */
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
 * and, with --json, {"code": code, "detail": MESSAGE} on stdout. Returns
 * `status`.
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

/* A member of `o` that must be a whole number >= 0; returns 0 or -1. */
int cli_json_count(const json_t *o, const char *key, long *out);

/* Prints `text` (and a newline unless it ends in one) on stdout. */
int cli_print_json_text(const char *text, size_t len);

/* ---- References ------------------------------------------------------- */

enum cli_ref_kind {
	CLI_REF_CONFIG = 1,  /* ns/name */
	CLI_REF_VERSION = 2, /* ns/name@7 */
	CLI_REF_TAG = 4,     /* ns/name@prod */
	CLI_REF_DIGEST = 8,  /* sha256:<64 lowercase hex> */
};

struct cli_ref {
	enum cli_ref_kind kind;
	char ns[64];
	char name[129];
	long version;			    /* CLI_REF_VERSION */
	char tag[65];			    /* CLI_REF_TAG */
	char digest[OPTREG_DIGEST_LEN + 1]; /* CLI_REF_DIGEST */
};

/*
 * Parses a reference of one of the kinds in the `allowed` mask, checking
 * names as docs/api.md defines them (namespace [a-z0-9][a-z0-9-]{0,62},
 * name [a-z0-9][a-z0-9._-]{0,127}, tag [a-z0-9][a-z0-9._-]{0,63} and not
 * all digits). Returns 0, or -1 with a message in `why`.
 */
int cli_ref_parse(const char *s, unsigned allowed, struct cli_ref *ref,
		  struct optreg_buf *why);

/* True when `tag` is a valid tag name. */
int cli_tag_valid(const char *tag);

/* Prints `ns/name@tag -> N (was M)`, `(unchanged)` or `(new tag)` from the
 * answer to a tag PUT. */
void cli_print_tag_move(const struct cli_ref *ref, const char *tag,
			long version, const json_t *answer);

/* Appends "/v1/configs/{ns}/{name}", percent-encoded. */
void cli_config_path(struct optreg_buf *path, const struct cli_ref *ref);

#endif
