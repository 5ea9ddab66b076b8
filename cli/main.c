/*
 * cli/main.c: `optreg`, the command-line client. Dispatches to one function
 * per command; see `optreg --help`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPTREG_VERSION "0.1.0"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"canonicalize", cmd_canonicalize,
	 "print the RFC 8785 canonical JSON of a JSON or YAML document"},
	{"digest", cmd_digest, "print the sha256: digest of a document"},
	{"lint", cmd_lint, "check config documents against the schema"},
	{"keygen", cmd_keygen, "create an Ed25519 key pair for signing"},
	{"sign", cmd_sign, "sign a config as a DSSE envelope"},
	{"verify", cmd_verify, "check a signed config's signatures offline"},
	{"submit", cmd_submit,
	 "validate a config and submit it as a new version"},
	{"fetch", cmd_fetch, "print a config by version, tag or digest"},
	{"pin", cmd_pin, "write a lock file for a verified version"},
	{"receipt", cmd_receipt, "check a saved receipt offline"},
	{"tag", cmd_tag, "point a tag at a version, or list its moves"},
	{"log", cmd_log, "list a config's versions, newest first"},
	{"yank", cmd_yank, "mark a version as not to be used"},
	{"verdicts", cmd_verdicts, "list the runners' verdicts on a version"},
	{"key", cmd_key, "register, list and revoke signing keys"},
	{"namespace", cmd_namespace,
	 "show or set a namespace's signature threshold"},
	{"audit", cmd_audit, "read and verify the registry's audit log"},
	{"policy", cmd_policy,
	 "push, list, show, delete, dry-run and test the registry's "
	 "policies"},
	{"waiver", cmd_waiver,
	 "grant, list and revoke exemptions from a "
	 "policy rule"},
	{"rollback", cmd_rollback,
	 "move a tag back to the version it pointed at before"},
	{"token", cmd_token, "create, list and revoke bearer tokens (admin)"},
	{"diff", cmd_diff, "show what changed between two configs"},
	{"list", cmd_list, "list the configs of the registry"},
	{"show", cmd_show,
	 "show a config's versions, tags and verdicts in one view"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: optreg <command> [options] [args]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\nRun `optreg <command> --help` for a command's options.\n\n"
		"Environment:\n"
		"  OPTREG_URL              the registry (default %s)\n"
		"  OPTREG_TOKEN            bearer token sent to it\n"
		"  OPTREG_KEY              private key file that sign and "
		"submit sign with\n"
		"                          (- reads the PEM from standard "
		"input)\n"
		"  OPTREG_KEY_PASSPHRASE   passphrase of an encrypted "
		"(PKCS#8) private key\n"
		"  OPTREG_REGISTRY_PUBKEY  registry public key file that fetch "
		"--verify checks\n"
		"                          receipts with (pinned)\n"
		"  OPTREG_CACHE_DIR        fetch's cache (default "
		"$XDG_CACHE_HOME/optreg,\n"
		"                          else ~/.cache/optreg)\n"
		"  OPTREG_NO_CACHE         set: fetch neither reads nor fills "
		"the cache\n\n"
		"Exit status:\n"
		"  0 ok                1 invalid (locally or 400/413/415/422)\n"
		"  2 usage             3 I/O (a local file)\n"
		"  4 denied (403)      5 conflict (409)\n"
		"  6 unauthorized (401)\n"
		"  7 unavailable (no answer, 5xx, a broken answer)\n"
		"  8 not found (404)\n"
		"  10 verdict warn     11 verdict fail or error (or none "
		"when one is required)\n"
		"  12 no verdict within --timeout (submit --wait)\n"
		"  13 the configs differ (diff)\n"
		"lint and submit with several files exit with the worst "
		"(docs/cli.md).\n",
		OPTREG_DEFAULT_URL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return OPTREG_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return OPTREG_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("optreg %s\n", OPTREG_VERSION);
		return OPTREG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "optreg: unknown command \"%s\"\n", argv[1]);
	fprintf(stderr, "hint: run `optreg --help` for the list of commands\n");
	return OPTREG_EXIT_USAGE;
}
