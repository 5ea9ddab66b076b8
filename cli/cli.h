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
#include <stdbool.h>

#include "../common/buf.h"
#include "../common/dsse.h"
#include "../common/error.h"
#include "../common/http_client.h"
#include "../common/sign.h"
#include "../validator/config.h"
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
/* The OPTREG_EXIT_* statuses are in common/errcodes.h. */

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
int cmd_key(int argc, char **argv);
int cmd_namespace(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_verdicts(int argc, char **argv);

/*
 * Takes `arg` as the command's one positional argument into *slot; a second
 * one prints `optreg CMD: expected one WHAT (got "A" and "B")` and returns
 * OPTREG_EXIT_USAGE. Returns 0 otherwise.
 */
int cli_one_arg(const char *cmd, const char *what, const char **slot,
		const char *arg);

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

/* ---- Files (cli/io.c) ------------------------------------------------ */

/*
 * Appends the bytes of FILE ("-": standard input) to `in`. On failure
 * prints `optreg CMD: cannot read "FILE": REASON` and returns
 * OPTREG_EXIT_IO; 0 otherwise.
 */
int cli_read_input(const char *cmd, const char *file, struct optreg_buf *in);

/*
 * Writes `b` to FILE (NULL or "-": standard output) by way of a temporary
 * file in the same folder, fsync and a rename, so that readers never see a
 * half-written FILE and FILE may also have been the input. Returns 0, or
 * OPTREG_EXIT_IO after printing `optreg CMD: cannot write "FILE": REASON`
 * (no temporary file is left behind).
 */
int cli_write_output(const char *cmd, const char *file,
		     const struct optreg_buf *b);

/* ---- Signed configs (cli/envelope.c) ---------------------------------- */

/* True when `in` is a JSON object with a payloadType: a DSSE envelope
 * rather than a config document. */
bool cli_is_envelope(const struct optreg_buf *in);

/*
 * Checks an envelope's payload as the registry does: payloadType is the
 * config type, and the payload is the RFC 8785 form of a valid config.
 * Prints what is wrong (errors located in "FILE (payload)"); returns 0 or
 * OPTREG_EXIT_INVALID. `cfg` (may be NULL) receives the validated config;
 * the caller releases it whatever the result.
 */
int cli_check_config_payload(const char *file, const struct optreg_dsse *env,
			     struct optreg_config *cfg);

/*
 * Loads the private Ed25519 key at `path` into *key (the caller frees it).
 * A public key, a key of another type or an encrypted one is
 * OPTREG_EXIT_USAGE, an unreadable file OPTREG_EXIT_IO, each with a message
 * `optreg CMD: ...` and a hint; *key is then NULL.
 */
int cli_load_signing_key(const char *cmd, const char *path,
			 struct optreg_key **key);

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

/*
 * One request with a JSON `body` (NULL: none) whose answer must be a 2xx
 * JSON object: *answer gets it (a new reference). Returns 0, or the exit
 * status after reporting the failure as cli_report_http_error does.
 */
int cli_remote_call(struct cli_remote *r, const char *method, const char *path,
		    const json_t *body, json_t **answer);

/* Prints `v` as one line of compact JSON on stdout; exit status. */
int cli_print_json(const json_t *v);

/* A table cell: `s`, or "-" when NULL or empty. */
const char *cli_cell(const char *s);

/*
 * Prints a table for people: the `ncols` headings, then `nrows` rows of
 * cells (row-major), columns left-aligned and two spaces apart. Exit
 * status.
 */
int cli_print_table(const char *const *head, size_t ncols, char *const *cells,
		    size_t nrows);

/* A member of `o` that must be a whole number >= 0; returns 0 or -1. */
int cli_json_count(const json_t *o, const char *key, long *out);

/* Prints `text` (and a newline unless it ends in one) on stdout. */
int cli_print_json_text(const char *text, size_t len);

/* ---- Verification (cli/trust.c) ---------------------------------------- */

/*
 * `fetch --verify`: checks version document `doc` (as GET
 * .../versions/{n} answers it) whose config canonicalizes to `canon`: the
 * digest (also against `want_digest`, the digest asked for, when not NULL),
 * the envelope (payload = `canon`, a valid signature by a registered signer
 * key allowed for the namespace and not revoked before the version was
 * accepted) and the receipt (signed by one of the registry keys in the
 * `npins` PEM files `pins`, else by a key GET /v1/registry/keys lists, with
 * a warning; naming this namespace, name, version, digest and envelope).
 * Runs every check. On success prints `verified: signed by KEYID
 * (PRINCIPAL); receipt by registry key KEYID` on stderr and returns 0; else
 * prints each failed check (expected and got) and returns
 * OPTREG_EXIT_INVALID, or another exit status when a key list cannot be
 * had (reported).
 */
int cli_trust_verify_version(struct cli_remote *r, const json_t *doc,
			     const struct optreg_buf *canon,
			     const char *want_digest, const char *const *pins,
			     size_t npins);

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

/* True when `ns` is a valid namespace name. */
int cli_namespace_valid(const char *ns);

/* True when `tag` is a valid tag name. */
int cli_tag_valid(const char *tag);

/* Prints `ns/name@tag -> N (was M)`, `(unchanged)` or `(new tag)` from the
 * answer to a tag PUT. */
void cli_print_tag_move(const struct cli_ref *ref, const char *tag,
			long version, const json_t *answer);

/* Appends "/v1/configs/{ns}/{name}", percent-encoded. */
void cli_config_path(struct optreg_buf *path, const struct cli_ref *ref);

#endif
