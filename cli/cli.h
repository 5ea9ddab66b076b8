/*
 * cli/cli.h: what the `optreg` commands share.
 *
 * One file per command (cli/<command>.c), each exporting
 * `int cmd_<command>(int argc, char **argv)` that returns the process exit
 * status (OPTREG_EXIT_*, common/errcodes.h). The shared pieces have their own
 * headers: args.h (the option parser), remote.h (the registry client), output.h
 * (tables and JSON), ref.h (config references) and io.h (files).
 */
#ifndef OPTREG_CLI_H
#define OPTREG_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/dsse.h"
#include "../common/error.h"
#include "../common/http_client.h"
#include "../common/sign.h"
#include "../validator/config.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"
#include "args.h"
#include "io.h"
#include "output.h"
#include "ref.h"
#include "remote.h"

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
int cmd_policy(int argc, char **argv);
int cmd_waiver(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
/* `optreg policy test DIR` (cli/policy_test.c), dispatched by cmd_policy
 * with argv[0] == "test". */
int cmd_policy_test(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_receipt(int argc, char **argv);

/* ---- Listings (cli/list.c) -------------------------------------------- */

/*
 * A registry time for an 80-column table: "2026-11-23T10:00:00.123Z"
 * becomes "2026-11-23 10:00" (UTC, to the minute); anything else is
 * copied, "-" for NULL. A new string (free it).
 */
char *cli_list_short_time(const char *t);

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
/* The variable that holds an encrypted signing key's passphrase unless
 * --passphrase-env names another. */
#define CLI_KEY_PASSPHRASE_ENV "OPTREG_KEY_PASSPHRASE"
/*
 * cli_load_signing_key, with "-" for standard input and an encrypted
 * PKCS#8 key decrypted with the passphrase in the environment variable
 * `passenv` (NULL: CLI_KEY_PASSPHRASE_ENV; empty counts as unset). Never
 * prompts; errors name the variable, never its value.
 */
int cli_load_signing_key_pass(const char *cmd, const char *path,
			      const char *passenv, struct optreg_key **key);
/* Checks --key and --passphrase-env before anything is read: not both
 * the key and FILE from standard input, VAR a name that is set. Exit
 * status, after saying what is wrong. */
int cli_key_args_check(const char *cmd, const char *file, const char *keypath,
		       const char *passenv);

/* ---- Verification (cli/trust.c) ---------------------------------------- */

struct optreg_keyset;

/*
 * Adds the registry keys to `ks` (initialized; the caller releases it):
 * the pinned public key files `pins` (allowed for every namespace) when
 * `npins` > 0, else, with a warning that nothing was pinned (trust on
 * first use), the usable keys GET /v1/registry/keys lists
 * (optreg_keyset_load_list; possibly none). Exit status: a pinned file
 * that cannot be read is OPTREG_EXIT_IO, one that is not a key
 * OPTREG_EXIT_USAGE, both reported as "--registry-key: ..."; a failed
 * request is reported as cli_remote_call reports it.
 */
int cli_registry_keys_load(struct cli_remote *r, const char *const *pins,
			   size_t npins, struct optreg_keyset *ks);

struct fetch_down;

/*
 * GETs version `ref` (a number or a tag) and checks that the answer is a
 * version document (namespace, name, version, digest and a config object)
 * for the version asked for; `shown` names it in the errors. *docp gets
 * the document (a new reference). `down`: NULL, or where a fetch that may
 * fall back to its cache records a registry that is down (cli/fetch.c).
 * Reports any failure; returns 0 or the exit status. The digest is the
 * caller's to check.
 */
int cli_version_get(struct cli_remote *r, const struct cli_ref *ref,
		    const char *shown, struct optreg_http_resp *resp,
		    struct fetch_down *down, json_t **docp);

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

/* The keys cli_trust_verify checks with. */
struct cli_trust_keys {
	const char *const *pins; /* registry public key files (pinned) */
	size_t npins;
	/* A ready set of pinned registry keys (a lock file's), used instead
	 * of `pins`; NULL: none */
	const struct optreg_keyset *registry;
	/* The signer keys, {"keys": [...]} as GET /v1/keys lists them (a
	 * cached copy); NULL: GET /v1/keys */
	const json_t *signers;
};

/* What cli_trust_verify found on success. */
struct cli_trust_result {
	char receipt_keyid[OPTREG_KEYID_LEN + 1]; /* the key that signed the
						     receipt */
	json_t *signers; /* {"keys": [...]}: the entries for the keys that
			    signed the envelope (one reference) */
};

void cli_trust_result_init(struct cli_trust_result *res);
void cli_trust_result_release(struct cli_trust_result *res);

/*
 * As cli_trust_verify_version, with the keys `keys` names (a lock file's
 * registry key, cached signer keys: no request is made for what is given).
 * `res` (initialized, may be NULL) gets the receipt's key id and the
 * signer keys' entries on success.
 */
int cli_trust_verify(struct cli_remote *r, const json_t *doc,
		     const struct optreg_buf *canon, const char *want_digest,
		     const struct cli_trust_keys *keys,
		     struct cli_trust_result *res);

/* ---- Why a change was made (cli/change.c) ------------------------------ */

#define CLI_CHANGE_MAX_TEXT 1024 /* --message, --reason: characters */
#define CLI_CHANGE_MAX_LINK 512	 /* --link: characters */

/*
 * Checks the value `val` of option `opt` (NULL: not given, fine) as the
 * registry does: 1 to `max` characters of UTF-8 without control characters
 * (newline included) and, for a `link`, without spaces. Prints
 * `optreg CMD: OPT ...` and returns OPTREG_EXIT_USAGE, or 0.
 */
int cli_change_check(const char *cmd, const char *opt, const char *val,
		     size_t max, bool link);

/* Sets body[key] to the string `val` when `val` is not NULL. */
void cli_change_add(json_t *body, const char *key, const char *val);

/* ---- Policy violations (cli/violations.c) ------------------------------ */

/* Effects of a violation (its "effect"), as bits for filtering. */
enum {
	CLI_EFFECT_DENY = 1,
	CLI_EFFECT_WARN = 2,
	CLI_EFFECT_AUDIT = 4,
	CLI_EFFECT_WAIVED = 8,
	CLI_EFFECT_ALL = 15,
};

/* The CLI_EFFECT_* bit of an effect name, 0 for NULL or an unknown one. */
unsigned cli_effect_bit(const char *effect);

/*
 * Appends one violation (an item of a registry's `violations[]`) like a
 * lint error: `[FILE:][LINE:COL: ]PATH: MESSAGE [EFFECT POLICY@V/RULE]`,
 * then `  detail: ...` and, for deny and warn, `  hint: ...` lines. The
 * position is looked up in `doc` by path when given, else taken from the
 * item. Text from the registry goes through cli_printable.
 */
void cli_violation_format(const json_t *v, const char *file,
			  const struct optreg_doc *doc, struct optreg_buf *out);

/*
 * Prints on `out` the violations of the array whose effect is in the
 * `effects` mask, each preceded by `prefix` (may be NULL); returns how
 * many.
 */
size_t cli_violations_print(FILE *out, const char *prefix,
			    const json_t *violations, unsigned effects,
			    const char *file, const struct optreg_doc *doc);

/*
 * After a success: the warnings and waived violations on `out`, then a
 * count line `optreg CMD: policies: N warnings, N waived, N audited`
 * (nothing when there are none).
 */
void cli_violations_summary(FILE *out, const char *cmd,
			    const json_t *violations);

/*
 * Reports an error response as cli_report_http_error does and, for a 422
 * policy_denied, the violations that did not deny (`  also: ...`).
 * Returns the exit status.
 */
int cli_report_refusal(struct cli_remote *r,
		       const struct optreg_http_resp *resp, const char *file,
		       const struct optreg_doc *doc);

/*
 * After a tag move (the answer to a tag PUT or a rollback): on stderr the
 * gate that allowed it (`optreg CMD: gate of policy P: verdict V on S`)
 * and the policies' warnings (cli/tag.c).
 */
void cli_print_tag_gate(const char *cmd, const json_t *answer);
/*
 * As cli_print_tag_gate, leaving out the violations `seen` already holds
 * (same policy, rule, path and effect): `submit --tag` has printed the
 * submit's findings, and a tag move re-evaluates the same rules. `seen`
 * may be NULL.
 */
void cli_print_tag_gate_new(const char *cmd, const json_t *answer,
			    const json_t *seen);

/*
 * `waiver grant --expires WHEN`: WHEN is a duration from `now` (`30d`,
 * `12h`, `90m`; at most 90 days) written into `out` as RFC 3339 UTC, or
 * something shaped like an RFC 3339 time, copied as it is for the
 * registry to check. Returns 0, or -1 when it is neither (cli/waiver.c).
 */
int cli_waiver_expiry(const char *when, time_t now, char *out, size_t outlen);

/*
 * `policy push FILE|DIR...`: the files to push (cli/policy.c). A FILE
 * stays as given; a DIR becomes its *.yaml, *.yml and *.json regular files
 * (not hidden ones, not subfolders) in name order, and a DIR without any
 * is OPTREG_EXIT_USAGE with a message. *out gets new strings (free each
 * and the array, also on failure). Exit status.
 */
int cli_policy_files(const char *const *args, size_t nargs, char ***out,
		     size_t *nout);

/* ---- Verdicts (cli/verdict.c) ------------------------------------------ */

/* 0 for pass, OPTREG_EXIT_VERDICT_WARN for warn, else (fail, error, none)
 * OPTREG_EXIT_VERDICT_FAIL. */
int cli_verdict_exit(const char *result);

/* Whether `result` (NULL: none) satisfies --require-verdict `required`
 * ("pass" or "warn"; warn accepts pass too). */
bool cli_verdict_meets(const char *result, const char *required);

/* The newest verdict (created_at, then job_id) of a verdicts answer
 * ({"verdicts", "jobs"}) on a suite one of its jobs[] runs (the registry's
 * reference suite, which gates look at; a verdict on another suite does
 * not count), borrowed, or NULL when there is none. */
const json_t *cli_verdict_latest(const json_t *answer);

/* The last job when every job of the answer is abandoned (no verdict will
 * come), borrowed; else NULL (also when there is no job yet). */
const json_t *cli_verdict_none_coming(const json_t *answer);

/* GET .../versions/{version}/verdicts of `ref`'s config into *answer (new
 * reference). Exit status, failures reported. */
int cli_verdict_get(struct cli_remote *r, const struct cli_ref *ref,
		    long version, json_t **answer);

/*
 * Polls the version's verdicts (every 0.25 s at first, then every 2 s,
 * growing to 10 s after the first minute) until one is recorded: *verdict
 * gets it (a new reference) and the result is 0. A transient failure (no
 * answer, a timeout, 429, 5xx) is retried with a growing pause (at most
 * 10 s) until the deadline, when the last try's failure is reported
 * (OPTREG_EXIT_UNAVAILABLE). Gives up after `timeout` seconds
 * (OPTREG_EXIT_TIMEOUT) or when every job is abandoned
 * (OPTREG_EXIT_VERDICT_FAIL), saying so on stderr. On a terminal, a
 * progress line on stderr is rewritten in place, and cleared before any
 * other message.
 */
int cli_verdict_wait(struct cli_remote *r, const struct cli_ref *ref,
		     long version, double timeout, json_t **verdict);

/* Appends `RESULT (suite S, job N, runner R)`. */
void cli_verdict_describe(const json_t *v, struct optreg_buf *out);

#endif
