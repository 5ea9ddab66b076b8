/*
 * cli/keygen.c: `optreg keygen --out NAME [--force]`.
 *
 * Creates an Ed25519 key pair: NAME.pem (private, PKCS#8, mode 0600) and
 * NAME.pub.pem (public, SPKI, mode 0644), and prints the key id, which is
 * what an admin registers and what envelopes carry.
 */
#include <stdio.h>
#include <string.h>

#include "../common/sign.h"
#include "cli.h"

static const char help[] =
	"usage: optreg keygen --out NAME [--force]\n\n"
	"Creates an Ed25519 key pair for signing configs: NAME.pem, the "
	"private key\n(PKCS#8 PEM, mode 0600), and NAME.pub.pem, the public "
	"key (SPKI PEM, mode\n0644). Prints the key id, the hex SHA-256 of the "
	"public key's DER encoding.\nRegister NAME.pub.pem with the registry "
	"(POST /v1/keys); keep NAME.pem secret.\n\n"
	"Options:\n"
	"  --out NAME  where to write the pair (NAME.pem and NAME.pub.pem)\n"
	"  --force     replace an existing pair (default: refuse)\n\n"
	"Exit status: 0 written, 2 usage, 3 a file exists or cannot be "
	"written.\n";

int cmd_keygen(int argc, char **argv)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	char id[OPTREG_KEYID_LEN + 1];
	const char *out = NULL;
	bool force = false;
	int rc, status = OPTREG_EXIT_OK;

	const struct cli_option options[] = {
		CLI_OPT_BOOL("--force", "replace an existing pair", &force),
		CLI_OPT_STRING("--out", "NAME", "where to write the pair",
			       &out),
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

	rc = optreg_key_generate(&key, &errs);
	if (rc == 0)
		rc = optreg_key_write_pair(key, out, force, &errs);
	if (rc == 0) {
		optreg_key_id(key, id);
		printf("%s\n", id);
		fprintf(stderr,
			"optreg keygen: wrote %s.pem (private) and "
			"%s.pub.pem (public)\n",
			out, out);
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
