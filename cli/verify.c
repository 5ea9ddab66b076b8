/*
 * cli/verify.c: `optreg verify ENVELOPE --key PUB [--key PUB ...]
 * [--threshold N]`.
 *
 * Checks a signed config offline, as the registry would: the payloadType,
 * every signature against the keys given (looked up by the signature's key
 * id, which alone proves nothing), and that the payload is the RFC 8785 form
 * of a valid config. The payload is parsed only after enough signatures
 * verified, as DSSE advises. Passes when at least N distinct keys made
 * valid signatures and the payload is good.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/verify.h"
#include "../validator/config.h"
#include "cli.h"

static const char help[] =
	"usage: optreg verify ENVELOPE --key PUB [--key PUB...] [--threshold "
	"N]\n"
	"       optreg verify ENVELOPE --registry [--threshold N] [--url URL] "
	"[--token T]\n\n"
	"Verifies a signed config (a DSSE envelope from `optreg sign`; - for "
	"standard\ninput) offline: the payloadType must "
	"be\n" OPTREG_CONFIG_PAYLOAD_TYPE
	", the payload the RFC 8785 canonical\nJSON of a valid config, and "
	"each signature is checked against the key whose\nid it names. "
	"Prints one line per signature:\n"
	"  KEYID: valid\n"
	"  KEYID: bad signature\n"
	"  KEYID: no key given for this id\n\n"
	"Options:\n"
	"  --key PUB      a public key (NAME.pub.pem; a private key works "
	"too); repeat\n"
	"                 for several\n"
	"  --threshold N  require valid signatures from N distinct keys "
	"(default 1)\n"
	"  --registry     check against the keys registered in the registry "
	"(GET\n"
	"                 /v1/keys): a signature counts when its key is "
	"registered, not\n"
	"                 revoked, and allowed for the config's namespace\n"
	"                 ($OPTREG_URL, $OPTREG_TOKEN, or --url/--token)\n\n"
	"Exit status: 0 verified, 1 too few valid signatures or an invalid "
	"envelope or\npayload, 2 usage (also a key that is not Ed25519), 3 a "
	"file cannot be read.\n";

/* Loads each --key; exit status, the reason printed. */
static int keys_load(struct optreg_keyset *ks, const char **paths, size_t n)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_keyset_load_files(ks, paths, n, &errs);

	if (rc < 0) {
		fprintf(stderr, "optreg verify: %s\n", errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
	}
	optreg_errors_release(&errs);
	if (rc < 0)
		return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_USAGE;
	return OPTREG_EXIT_OK;
}

/*
 * Checks every signature, printing a line for each; returns how many
 * distinct keys made a valid one. Unlike the registry, a signature without
 * a key id is tried with every key given (DSSE lets a verifier do so).
 */
static long check_signatures(const struct optreg_dsse *env,
			     const struct optreg_keyset *ks)
{
	const struct optreg_keyset_key **valid =
		optreg_xcalloc(env->nsigs + 1, sizeof(*valid));
	size_t nvalid = 0;

	for (size_t i = 0; i < env->nsigs; i++) {
		const char *id = env->sigs[i].keyid;
		const struct optreg_keyset_key *k = NULL;
		enum optreg_sig_status st = OPTREG_SIG_UNKNOWN_KEY;
		const char *why;

		if (id[0]) {
			k = optreg_keyset_find(ks, id);
			if (k)
				st = optreg_dsse_verify_one(env, i, k->key);
		} else {
			for (size_t j = 0; j < ks->n; j++) {
				st = optreg_dsse_verify_one(env, i,
							    ks->items[j].key);
				if (st == OPTREG_SIG_VALID) {
					k = &ks->items[j];
					id = k->id;
					break;
				}
			}
		}
		switch (st) {
		case OPTREG_SIG_VALID:
			why = "valid";
			break;
		case OPTREG_SIG_UNKNOWN_KEY:
			why = "no key given for this id";
			break;
		default:
			why = "bad signature";
			break;
		}
		printf("%s: %s\n", id[0] ? id : "(no keyid)", why);
		if (st != OPTREG_SIG_VALID)
			continue;
		size_t j;
		for (j = 0; j < nvalid && valid[j] != k; j++)
			;
		if (j == nvalid)
			valid[nvalid++] = k;
	}
	free(valid);
	return (long)nvalid;
}

/*
 * Verifies against the registry's key list: the config's namespace decides
 * which keys may sign. Returns the exit status.
 */
static int verify_with_registry(struct cli_remote *r, const char *file,
				const struct optreg_dsse *env, long threshold)
{
	struct optreg_errors why = OPTREG_ERRORS_INIT;
	struct optreg_config cfg = {0};
	struct optreg_keyset ks;
	json_t *list = NULL;
	int status;

	optreg_keyset_init(&ks);
	status = cli_check_config_payload(file, env, &cfg);
	if (status == OPTREG_EXIT_OK)
		status = cli_remote_call(r, "GET", "/v1/keys", NULL, &list);
	if (status != OPTREG_EXIT_OK)
		goto out;
	optreg_keyset_load_list(&ks, list);
	const struct optreg_keyset_key **valid =
		optreg_xcalloc(env->nsigs + 1, sizeof(*valid));
	struct optreg_sig_policy pol = {.ns = cfg.namespace_,
					.purpose = OPTREG_KEY_PURPOSE_CONFIG,
					.voice = OPTREG_VOICE_CLIENT};
	size_t n = 0;
	optreg_envelope_verify(&ks, env, &pol, valid, &n, &why);
	for (size_t i = 0; i < n; i++)
		printf("%s: valid (%s)\n", valid[i]->id,
		       valid[i]->principal ? valid[i]->principal : "?");
	for (size_t i = 0; i < why.len; i++)
		printf("%s: %s\n", why.items[i].rule, why.items[i].message);
	free(valid);
	if ((long)n < threshold) {
		fprintf(stderr,
			"optreg verify: %s: %zu valid signature%s from "
			"registered keys allowed for namespace %s, %ld "
			"required\n",
			file, n, n == 1 ? "" : "s", cfg.namespace_, threshold);
		status = OPTREG_EXIT_INVALID;
	}
out:
	json_decref(list);
	optreg_keyset_release(&ks);
	optreg_config_release(&cfg);
	optreg_errors_release(&why);
	return status;
}

int cmd_verify(int argc, char **argv)
{
	const char *file = NULL;
	const char **keypaths = optreg_xcalloc((size_t)argc, sizeof(char *));
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf in = OPTREG_BUF_INIT;
	struct optreg_keyset ring;
	struct optreg_dsse env;
	size_t nkeys = 0;
	long threshold = 1, nvalid = 0;
	int rc, status = OPTREG_EXIT_OK, registry = 0;
	struct cli_remote remote = {.cmd = "verify"};

	optreg_dsse_init(&env);
	optreg_keyset_init(&ring);
	struct cli_string_list keys = {keypaths, 0};
	const struct cli_option options[] = {
		CLI_OPT_FLAG("--registry", "keys from the registry", &registry),
		CLI_OPT_REMOTE(&remote),
		CLI_OPT_LIST("--key", "PUB", "a signer's public key", &keys),
		CLI_OPT_COUNT("--threshold", "N", "signatures needed",
			      &threshold),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "verify",
				     .help = help,
				     .flags = CLI_PARSE_DASH_ARG |
					      CLI_PARSE_UNEXPECTED |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_slot = &file};

	rc = cli_parse_options(&p, options, argc, argv);
	nkeys = keys.len;
	if (rc) {
		status = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (!file || (!nkeys && !registry) || (nkeys && registry)) {
		fprintf(stderr,
			"optreg verify: expected ENVELOPE and either --key "
			"PUB (at least one) or --registry\n%s",
			help);
		status = OPTREG_EXIT_USAGE;
		goto out;
	}

	if (!registry)
		status = keys_load(&ring, keypaths, nkeys);
	if (status == OPTREG_EXIT_OK)
		status = cli_read_input("verify", file, &in);
	if (status != OPTREG_EXIT_OK)
		goto out;
	if (optreg_dsse_parse(&env, in.data, in.len, &errs) < 0) {
		optreg_errors_print(stderr, file, &errs);
		status = OPTREG_EXIT_INVALID;
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE)) {
		fprintf(stderr,
			"%s: payloadType: must be \"%s\" (got \"%s\")\n", file,
			OPTREG_CONFIG_PAYLOAD_TYPE, env.payload_type);
		status = OPTREG_EXIT_INVALID;
		goto out;
	}
	if (registry) {
		status = verify_with_registry(&remote, file, &env, threshold);
		goto out;
	}
	nvalid = check_signatures(&env, &ring);
	if (nvalid < threshold) {
		if (env.nsigs == 0)
			fprintf(stderr,
				"%s: signatures: the envelope is not "
				"signed\n",
				file);
		fprintf(stderr,
			"optreg verify: %s: %ld valid signature%s from "
			"distinct keys, %ld required\n",
			file, nvalid, nvalid == 1 ? "" : "s", threshold);
		status = OPTREG_EXIT_INVALID;
	}
	/* Only a payload that verified is parsed (DSSE's advice). */
	if (status == OPTREG_EXIT_OK)
		status = cli_check_config_payload(file, &env, NULL);
out:
	optreg_errors_release(&errs);
	optreg_buf_release(&in);
	optreg_dsse_release(&env);
	optreg_keyset_release(&ring);
	cli_remote_close(&remote);
	free(keypaths);
	return status;
}
