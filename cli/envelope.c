/*
 * cli/envelope.c: signed configs on the client side, shared by sign,
 * verify, submit and fetch --verify: telling an envelope from a config,
 * checking an envelope's payload as the registry does, and loading the
 * signing key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../common/verify.h"
#include "cli.h"

bool cli_is_envelope(const struct optreg_buf *in)
{
	/* The input may be a config, whose numbers are doubles (1e19 is a
	 * 20-digit integer in canonical form). */
	json_t *root = optreg_json_load_doubles(in->data, in->len,
						JSON_DECODE_ANY, NULL);
	bool yes = json_is_object(root) &&
		   json_object_get(root, "payloadType") != NULL;

	json_decref(root);
	return yes;
}

int cli_check_config_payload(const char *file, const struct optreg_dsse *env,
			     struct optreg_config *cfg)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *where;

	if (optreg_envelope_check_config(env, cfg, NULL, &errs) == 0)
		return OPTREG_EXIT_OK;
	if (!strcmp(errs.items[0].rule, "payload_type")) {
		optreg_errors_print(stderr, file, &errs);
	} else if (!strcmp(errs.items[0].rule, "canonical")) {
		/* The CLI's own words: the registry's hint names the
		 * canonicalize command, the CLI's names sign. */
		fprintf(stderr,
			"%s: payload: is not in RFC 8785 canonical form\n"
			"  hint: sign the config file itself; `optreg sign` "
			"puts it in canonical form\n",
			file);
	} else {
		where = optreg_xasprintf("%s (payload)", file);
		optreg_errors_print(stderr, where, &errs);
		free(where);
	}
	optreg_errors_release(&errs);
	return OPTREG_EXIT_INVALID;
}

int cli_load_signing_key(const char *cmd, const char *path,
			 struct optreg_key **key)
{
	return cli_load_signing_key_pass(cmd, path, NULL, key);
}

int cli_load_signing_key_pass(const char *cmd, const char *path,
			      const char *passenv, struct optreg_key **key)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *var = passenv ? passenv : CLI_KEY_PASSPHRASE_ENV;
	const char *pass = getenv(var);
	const char *shown = strcmp(path, "-") ? path : "standard input";

	if (pass && !pass[0])
		pass = NULL;
	int rc = optreg_key_load_file_pass(key, path, pass, &errs);

	if (rc == 0 && !optreg_key_is_private(*key)) {
		fprintf(stderr,
			"optreg %s: %s: is a public key; signing needs the "
			"private key\n"
			"  hint: pass NAME.pem from `optreg keygen`, not "
			"NAME.pub.pem\n",
			cmd, shown);
		optreg_key_free(*key);
		*key = NULL;
		return OPTREG_EXIT_USAGE;
	}
	if (rc < 0 && !strcmp(errs.items[0].rule, "key_passphrase")) {
		/* The variable is named, its value never. */
		fprintf(stderr, "optreg %s: %s\n", cmd, errs.items[0].message);
		if (!pass)
			fprintf(stderr,
				"  hint: %s is not set; set it to the key's "
				"passphrase (in CI, from a masked secret "
				"variable)%s\n",
				var,
				passenv ? ""
					: ", or name another variable with "
					  "--passphrase-env VAR");
		else
			fprintf(stderr,
				"  hint: the passphrase in %s does not decrypt "
				"this key; check that variable\n",
				var);
	} else if (rc < 0) {
		fprintf(stderr, "optreg %s: %s\n", cmd, errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
	}
	optreg_errors_release(&errs);
	if (rc == OPTREG_EIO)
		return OPTREG_EXIT_IO;
	return rc < 0 ? OPTREG_EXIT_USAGE : OPTREG_EXIT_OK;
}

/* Whether `s` is a portable environment variable name (POSIX: letters,
 * digits and '_', not starting with a digit), at most 128 bytes. */
static bool env_name_valid(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n && n <= 128 && !s[n] && !(s[0] >= '0' && s[0] <= '9');
}

int cli_key_args_check(const char *cmd, const char *file, const char *keypath,
		       const char *passenv)
{
	if (keypath && !strcmp(keypath, "-") && file && !strcmp(file, "-")) {
		fprintf(stderr,
			"optreg %s: the key and FILE cannot both come from "
			"standard input\n"
			"  hint: pipe the key (--key - or OPTREG_KEY=-) and "
			"pass FILE by name\n",
			cmd);
		return OPTREG_EXIT_USAGE;
	}
	if (passenv && !env_name_valid(passenv)) {
		/* Not echoed: what is not a variable's name may well be the
		 * passphrase itself, and stderr ends up in CI logs. */
		fprintf(stderr,
			"optreg %s: --passphrase-env needs the name of an "
			"environment variable: letters, digits and '_', not "
			"starting with a digit (got %zu characters that are "
			"not one; not shown, in case they are the "
			"passphrase)\n"
			"  hint: pass the variable's name, e.g. "
			"--passphrase-env CI_KEY_PASSPHRASE, never the "
			"passphrase itself\n",
			cmd, strlen(passenv));
		return OPTREG_EXIT_USAGE;
	}
	if (passenv && !getenv(passenv)) {
		fprintf(stderr,
			"optreg %s: --passphrase-env %s: that variable is not "
			"set\n"
			"  hint: export %s with the key's passphrase (in CI, "
			"from a masked secret variable)\n",
			cmd, passenv, passenv);
		return OPTREG_EXIT_USAGE;
	}
	return OPTREG_EXIT_OK;
}
