/*
 * cli/sign.c: `optreg sign FILE --key KEY [--passphrase-env VAR]
 * [--out FILE]`.
 *
 * Wraps a config in a signed DSSE envelope: the payload is the RFC 8785
 * form of the validated config, the signature Ed25519 over PAE. Given an
 * envelope instead of a config (JSON with a payloadType), adds one more
 * signature, so that several keys can sign one config for a namespace's
 * threshold. The payload is checked as the registry checks it, so that no
 * signature is spent on something the registry would refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"usage: optreg sign FILE --key KEY [--passphrase-env VAR] [--out "
	"FILE]\n\n"
	"Signs a config for submission. FILE (- for standard input) is a "
	"config in\nYAML or JSON, which is validated as by `optreg lint` and "
	"put in RFC 8785\ncanonical form, or a DSSE envelope made by an "
	"earlier `optreg sign`, which\ngets one more signature (for "
	"namespaces that need several signers).\nPrints the envelope, one "
	"line of JSON:\n"
	"  {\"payloadType\":\"" OPTREG_CONFIG_PAYLOAD_TYPE "\",\n"
	"   "
	"\"payload\":BASE64,\"signatures\":[{\"keyid\":ID,\"sig\":BASE64}]}\n\n"
	"Options:\n"
	"  --key KEY   the Ed25519 private key (NAME.pem from `optreg "
	"keygen`);\n"
	"              default $OPTREG_KEY; - reads it from standard input "
	"(then FILE\n"
	"              must be a file). An encrypted (PKCS#8) key is "
	"decrypted with\n"
	"              the passphrase in $OPTREG_KEY_PASSPHRASE\n"
	"  --passphrase-env VAR  take the passphrase from $VAR instead\n"
	"  --out FILE  write the envelope to FILE (atomically) instead of "
	"stdout\n\n"
	"Exit status: 0 signed, 1 the config or envelope is invalid, 2 usage "
	"(also a\nkey that is not an Ed25519 private key), 3 a file cannot "
	"be read or written.\n";

/* Fills `env` from a config document: validated, canonical. */
static int envelope_from_config(const char *file, const struct optreg_buf *in,
				struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	int rc;

	optreg_checked_config_init(&cc);
	rc = optreg_config_load_checked(&cc, file, in->data, in->len, 0, &errs);
	if (rc == 0) {
		optreg_buf_add(&env->payload, cc.canon.data, cc.canon.len);
		env->payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	} else {
		optreg_errors_print(stderr, file, &errs);
	}
	optreg_checked_config_release(&cc);
	optreg_errors_release(&errs);
	return rc == 0 ? OPTREG_EXIT_OK : OPTREG_EXIT_INVALID;
}

/* Fills `env` from an envelope to sign again. */
static int envelope_from_envelope(const char *file, const struct optreg_buf *in,
				  struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	if (optreg_dsse_parse(env, in->data, in->len, &errs) < 0) {
		optreg_errors_print(stderr, file, &errs);
		optreg_errors_release(&errs);
		return OPTREG_EXIT_INVALID;
	}
	return cli_check_config_payload(file, env, NULL);
}

/*
 * Signs `env` with `key` unless `key` has signed it already, in which case
 * it is left as it is (when that signature verifies). Exit status.
 */
static int add_signature(const char *file, struct optreg_dsse *env,
			 const struct optreg_key *key)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char id[OPTREG_KEYID_LEN + 1];
	int rc;

	optreg_key_id(key, id);
	for (size_t i = 0; i < env->nsigs; i++) {
		if (strcmp(env->sigs[i].keyid, id))
			continue;
		if (optreg_dsse_verify_one(env, i, key) == OPTREG_SIG_VALID) {
			fprintf(stderr,
				"optreg sign: %s: already signed by %s; "
				"envelope unchanged\n",
				file, id);
			return OPTREG_EXIT_OK;
		}
		fprintf(stderr,
			"%s: signatures[%zu]: carries key id %s but does not "
			"verify under that key\n"
			"  hint: remove the broken signature, or sign the "
			"config file again\n",
			file, i, id);
		return OPTREG_EXIT_INVALID;
	}
	rc = optreg_dsse_sign(env, key, &errs);
	if (rc < 0)
		fprintf(stderr, "optreg sign: %s\n", errs.items[0].message);
	optreg_errors_release(&errs);
	return rc < 0 ? OPTREG_EXIT_INVALID : OPTREG_EXIT_OK;
}

int cmd_sign(int argc, char **argv)
{
	const char *file = NULL, *keypath = NULL, *out = NULL, *passenv = NULL;
	struct optreg_buf in = OPTREG_BUF_INIT, text = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	struct optreg_dsse env;
	int rc, status;

	const struct cli_option options[] = {
		CLI_OPT_STRING("--key", "KEY", "private key", &keypath),
		CLI_OPT_STRING("--passphrase-env", "VAR",
			       "the variable holding the key's passphrase",
			       &passenv),
		CLI_OPT_STRING("--out", "FILE", "write the envelope to FILE",
			       &out),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "sign",
				     .help = help,
				     .flags = CLI_PARSE_DASH_ARG |
					      CLI_PARSE_UNEXPECTED |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_slot = &file};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!file) {
		fprintf(stderr, "optreg sign: expected one FILE\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (!keypath)
		keypath = getenv("OPTREG_KEY");
	if (!keypath || !keypath[0]) {
		fprintf(stderr, "optreg sign: no key: pass --key KEY or set "
				"OPTREG_KEY\n");
		return OPTREG_EXIT_USAGE;
	}
	status = cli_key_args_check("sign", file, keypath, passenv);
	if (status)
		return status;

	optreg_dsse_init(&env);
	status = cli_load_signing_key_pass("sign", keypath, passenv, &key);
	if (status == OPTREG_EXIT_OK)
		status = cli_read_input("sign", file, &in);
	if (status == OPTREG_EXIT_OK)
		status = cli_is_envelope(&in)
				 ? envelope_from_envelope(file, &in, &env)
				 : envelope_from_config(file, &in, &env);
	if (status == OPTREG_EXIT_OK)
		status = add_signature(file, &env, key);
	if (status == OPTREG_EXIT_OK) {
		json_t *j = optreg_dsse_to_json(&env);
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s) {
			optreg_buf_adds(&text, s);
			optreg_buf_addch(&text, '\n');
			status = cli_write_output("sign", out, &text);
		} else {
			fprintf(stderr, "optreg sign: out of memory\n");
			status = OPTREG_EXIT_IO;
		}
		free(s);
		json_decref(j);
	}
	optreg_buf_release(&text);
	optreg_buf_release(&in);
	optreg_dsse_release(&env);
	optreg_key_free(key);
	return status;
}
