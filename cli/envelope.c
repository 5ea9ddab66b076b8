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
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_key_load_file(key, path, &errs);

	if (rc == 0 && !optreg_key_is_private(*key)) {
		fprintf(stderr,
			"optreg %s: %s: is a public key; signing needs the "
			"private key\n"
			"  hint: pass NAME.pem from `optreg keygen`, not "
			"NAME.pub.pem\n",
			cmd, path);
		optreg_key_free(*key);
		*key = NULL;
		return OPTREG_EXIT_USAGE;
	}
	if (rc < 0) {
		fprintf(stderr, "optreg %s: %s\n", cmd, errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
	}
	optreg_errors_release(&errs);
	if (rc == OPTREG_EIO)
		return OPTREG_EXIT_IO;
	return rc < 0 ? OPTREG_EXIT_USAGE : OPTREG_EXIT_OK;
}
