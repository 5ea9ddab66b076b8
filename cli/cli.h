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
/* `optreg policy test DIR` (cli/policy_test.c), dispatched by cmd_policy
 * with argv[0] == "test". */
int cmd_policy_test(int argc, char **argv);

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

#endif
