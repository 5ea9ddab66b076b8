/*
 * cli/keygen.c: `optreg keygen --out NAME [--force] [--encrypt
 * [--passphrase-env VAR]]`.
 *
 * Creates an Ed25519 key pair: NAME.pem (private, PKCS#8, mode 0600;
 * with --encrypt, encrypted under the passphrase in an environment
 * variable, so that it can be kept in a CI secret store) and
 * NAME.pub.pem (public, SPKI, mode 0644), and prints the key id, which is
 * what an admin registers and what envelopes carry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sign.h"
#include "cli.h"

static const char help[] =
	"usage: optreg keygen --out NAME [--force] [--encrypt "
	"[--passphrase-env VAR]]\n\n"
	"Creates an Ed25519 key pair for signing configs: NAME.pem, the "
	"private key\n(PKCS#8 PEM, mode 0600), and NAME.pub.pem, the public "
	"key (SPKI PEM, mode\n0644). Prints the key id, the hex SHA-256 of the "
	"public key's DER encoding.\nRegister NAME.pub.pem with the registry "
	"(POST /v1/keys); keep NAME.pem secret.\n\n"
	"Options:\n"
	"  --out NAME  where to write the pair (NAME.pem and NAME.pub.pem)\n"
	"  --force     replace an existing pair (default: refuse)\n"
	"  --encrypt   encrypt NAME.pem (PKCS#8, AES-256) under the "
	"passphrase in\n"
	"              $OPTREG_KEY_PASSPHRASE; sign and submit decrypt it "
	"with the same\n"
	"              variable. Never prompts.\n"
	"  --passphrase-env VAR  take the passphrase from $VAR instead\n\n"
	"Exit status: 0 written, 2 usage, 3 a file exists or cannot be "
	"written.\n";

int cmd_keygen(int argc, char **argv)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	char id[OPTREG_KEYID_LEN + 1];
	const char *out = NULL, *passenv = NULL, *pass = NULL;
	bool force = false, encrypt = false;
	int rc, status = OPTREG_EXIT_OK;

	const struct cli_option options[] = {
		CLI_OPT_BOOL("--force", "replace an existing pair", &force),
		CLI_OPT_STRING("--out", "NAME", "where to write the pair",
			       &out),
		CLI_OPT_BOOL("--encrypt", "encrypt the private key", &encrypt),
		CLI_OPT_STRING("--passphrase-env", "VAR",
			       "the variable holding the passphrase", &passenv),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "keygen",
				     .help = help,
				     .flags = CLI_PARSE_UNEXPECTED |
					      CLI_PARSE_HELP_ON_ERROR};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!out || !out[0]) {
		fprintf(stderr, "optreg keygen: --out NAME is required\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}

	if (passenv && !encrypt) {
		fprintf(stderr, "optreg keygen: --passphrase-env needs "
				"--encrypt\n");
		return OPTREG_EXIT_USAGE;
	}
	if (passenv) {
		/* A well-formed name that is set (its value is never shown;
		 * nor is a "name" that may be the passphrase itself). */
		rc = cli_key_args_check("keygen", NULL, NULL, passenv);
		if (rc)
			return rc;
	}
	if (encrypt) {
		const char *var = passenv ? passenv : CLI_KEY_PASSPHRASE_ENV;
		pass = getenv(var);
		if (!pass || !pass[0]) {
			fprintf(stderr,
				"optreg keygen: --encrypt: %s is not set (or "
				"empty)\n"
				"  hint: export %s with the passphrase to "
				"encrypt NAME.pem with (keygen never "
				"prompts)\n",
				var, var);
			return OPTREG_EXIT_USAGE;
		}
	}
	rc = optreg_key_generate(&key, &errs);
	if (rc == 0)
		rc = optreg_key_write_pair_pass(key, out, force, pass, &errs);
	if (rc == 0) {
		optreg_key_id(key, id);
		printf("%s\n", id);
		fprintf(stderr,
			"optreg keygen: wrote %s.pem (private%s) and "
			"%s.pub.pem (public)\n",
			out, pass ? ", encrypted" : "", out);
	} else {
		fprintf(stderr, "optreg keygen: %s\n", errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
		status = OPTREG_EXIT_IO;
	}
	optreg_key_free(key);
	optreg_errors_release(&errs);
	return status;
}
