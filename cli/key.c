/*
 * cli/key.c: `optreg key register|list|revoke`: the signer keys the
 * registry accepts signatures from (docs/api.md, "Keys").
 *
 * Registering and revoking need an admin token on "*"; listing needs any
 * token. Only public keys are ever sent: a private key given to `register`
 * is refused here, before anything goes over the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

static const char help[] =
	"usage: optreg key register PUB --principal P --namespace NS "
	"[--namespace NS...]\n"
	"                           [--purpose config|verdict]\n"
	"       optreg key list [--principal P]\n"
	"       optreg key revoke KEYID\n"
	"  (each also takes --json, --url URL and --token TOKEN)\n\n"
	"Manages the Ed25519 keys whose signatures the registry accepts.\n\n"
	"  register  registers the public key PUB (NAME.pub.pem from `optreg "
	"keygen`)\n"
	"            for principal P, allowed to sign for the namespaces NS "
	"(names or\n"
	"            fnmatch patterns: team-a, team-a-*, *) and what it "
	"signs: configs\n"
	"            (--purpose config, the default) or a runner's verdicts\n"
	"            (--purpose verdict); prints\n"
	"              registered KEYID for P (namespaces team-a, team-a-*)\n"
	"  list      prints the keys as a table: KEYID, PRINCIPAL, NAMESPACES, "
	"CREATED,\n"
	"            REVOKED, PURPOSE (only P's keys with --principal)\n"
	"  revoke    revokes a key for good: signatures by it count in no "
	"submit from\n"
	"            now on; versions it signed before stay valid. Prints\n"
	"              revoked KEYID (P) at TIME\n\n"
	"register and revoke need an admin token on \"*\".\n\n"
	"Options:\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 refused as invalid, 2 usage (also PUB is not "
	"an Ed25519\n"
	"public key), 3 PUB unreadable, 4 denied, 5 conflict (already "
	"registered),\n"
	"6 unauthorized, 7 unavailable, 8 not found. See docs/cli.md.\n";

/* True when `s` is a key id: 64 lowercase hex digits. */
static bool keyid_valid(const char *s)
{
	return strlen(s) == OPTREG_KEYID_LEN &&
	       strspn(s, "0123456789abcdef") == OPTREG_KEYID_LEN;
}

/* "a, b, c" from a JSON array of strings. */
static char *join(const json_t *arr, const char *sep)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			optreg_buf_addf(&b, "%s%s", b.len ? sep : "",
					json_string_value(v));
	}
	if (!b.len)
		optreg_buf_adds(&b, "");
	return optreg_buf_detach(&b, NULL);
}

/* ---- register --------------------------------------------------------- */

/* Loads PUB, which must be a public key; fills `pem` and `id`. Exit
 * status. */
static int load_public(const char *file, struct optreg_buf *pem,
		       char id[OPTREG_KEYID_LEN + 1])
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	int rc = optreg_key_load_file(&key, file, &errs);

	if (rc < 0) {
		fprintf(stderr, "optreg key register: %s\n",
			errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_USAGE;
	}
	if (optreg_key_is_private(key)) {
		fprintf(stderr,
			"optreg key register: %s: is a private key; only "
			"public keys "
			"are registered\n"
			"  hint: pass NAME.pub.pem from `optreg keygen`; the "
			"private key never leaves your machine\n",
			file);
		optreg_key_free(key);
		return OPTREG_EXIT_USAGE;
	}
	optreg_key_id(key, id);
	rc = optreg_key_public_pem(key, pem);
	optreg_key_free(key);
	if (rc < 0) {
		fprintf(stderr,
			"optreg key register: %s: cannot encode the public "
			"key\n",
			file);
		return OPTREG_EXIT_USAGE;
	}
	return OPTREG_EXIT_OK;
}

/* --namespace NS, repeatable, into the JSON array opt->value. */
static int add_namespace(const struct cli_option *opt, const char *ns)
{
	if (!ns[0]) {
		fprintf(stderr, "optreg key register: "
				"--namespace needs a value\n");
		return OPTREG_EXIT_USAGE;
	}
	json_array_append_new(opt->value, json_string(ns));
	return 0;
}

static int key_register(struct cli_remote *r, int argc, char **argv)
{
	const char *file = NULL, *principal = NULL, *purpose = NULL;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	char id[OPTREG_KEYID_LEN + 1];
	json_t *namespaces = json_array(), *body = NULL, *answer = NULL;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_STRING("--principal", "WHO", "who holds the key",
			       &principal),
		CLI_OPT_CALLBACK("--namespace", "NS",
				 "a namespace the key may sign for", namespaces,
				 add_namespace),
		CLI_OPT_STRING("--purpose", "WHAT",
			       "config (the default) or verdict", &purpose),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "key register",
				     .flags = CLI_PARSE_DASH_ARG,
				     .arg_name = "PUB",
				     .arg_slot = &file};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		goto out;
	rc = OPTREG_EXIT_USAGE;
	if (!file) {
		fprintf(stderr, "optreg key register: expected PUB, a public "
				"key file\n");
		goto out;
	}
	if (!principal || !principal[0]) {
		fprintf(stderr, "optreg key register: --principal is required\n"
				"  hint: who holds the key, e.g. --principal "
				"ci@team-a\n");
		goto out;
	}
	if (!json_array_size(namespaces)) {
		fprintf(stderr,
			"optreg key register: at least one --namespace is "
			"required\n"
			"  hint: the namespaces the key may sign for, e.g. "
			"--namespace team-a --namespace 'team-a-*'\n");
		goto out;
	}
	if (purpose && strcmp(purpose, "config") &&
	    strcmp(purpose, "verdict")) {
		char *shown = cli_printable(purpose);

		fprintf(stderr,
			"optreg key register: --purpose must be config or "
			"verdict (got \"%.40s\")\n"
			"  hint: config keys sign configs to submit; verdict "
			"keys sign a runner's verdicts\n",
			shown);
		free(shown);
		goto out;
	}
	rc = load_public(file, &pem, id);
	if (rc)
		goto out;
	body = json_pack("{s:s, s:s, s:O, s:s}", "public_key", pem.data,
			 "principal", principal, "namespaces", namespaces,
			 "purpose", purpose ? purpose : "config");
	if (!body) {
		fprintf(stderr, "optreg key register: --principal and "
				"--namespace must be UTF-8\n");
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	rc = cli_remote_call(r, "POST", "/v1/keys", body, &answer);
	if (rc)
		goto out;
	if (!optreg_json_str(answer, "keyid") ||
	    strcmp(optreg_json_str(answer, "keyid"), id)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"registered %s, but the registry answered with "
				"key id %s",
				id,
				optreg_json_str(answer, "keyid")
					? optreg_json_str(answer, "keyid")
					: "none");
		goto out;
	}
	if (r->json) {
		rc = cli_print_json(answer);
	} else {
		char *list = join(json_object_get(answer, "namespaces"), ", ");
		char *who = cli_printable(
			cli_cell(optreg_json_str(answer, "principal")));
		char *shown = cli_printable(cli_cell(list));
		printf("registered %s for %s (namespaces %s)\n", id, who,
		       shown);
		free(who);
		free(shown);
		free(list);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
	}
out:
	json_decref(answer);
	json_decref(body);
	json_decref(namespaces);
	optreg_buf_release(&pem);
	return rc;
}

/* ---- list ------------------------------------------------------------- */

static int key_list(struct cli_remote *r, int argc, char **argv)
{
	static const char *const head[] = {"KEYID",   "PRINCIPAL", "NAMESPACES",
					   "CREATED", "REVOKED",   "PURPOSE"};
	enum {
		NCOLS = 6
	};
	struct optreg_buf path = OPTREG_BUF_INIT;
	const char *principal = NULL;
	json_t *answer = NULL, *keys;
	int rc;

	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_STRING("--principal", "WHO", "only this holder's keys",
			       &principal),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "key list",
				     .flags = CLI_PARSE_UNEXPECTED};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc;
	optreg_buf_adds(&path, "/v1/keys");
	if (principal)
		optreg_http_query_add(&path, "principal", principal);
	rc = cli_remote_call(r, "GET", path.data, NULL, &answer);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	keys = json_object_get(answer, "keys");
	if (!json_is_array(keys)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's key list has no keys array");
	} else if (r->json) {
		rc = cli_print_json(answer);
	} else {
		size_t n = json_array_size(keys);
		char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
		for (size_t i = 0; i < n; i++) {
			const json_t *k = json_array_get(keys, i);
			char **row = cells + i * NCOLS;
			char *list =
				join(json_object_get(k, "namespaces"), ",");
			row[0] = optreg_xstrdup(
				cli_cell(optreg_json_str(k, "keyid")));
			row[1] = optreg_xstrdup(
				cli_cell(optreg_json_str(k, "principal")));
			row[2] = optreg_xstrdup(cli_cell(list));
			row[3] = optreg_xstrdup(
				cli_cell(optreg_json_str(k, "created_at")));
			row[4] = optreg_xstrdup(
				cli_cell(optreg_json_str(k, "revoked_at")));
			row[5] = optreg_xstrdup(
				cli_cell(optreg_json_str(k, "purpose")));
			free(list);
		}
		rc = cli_print_table(head, NCOLS, cells, n);
		for (size_t i = 0; i < n * NCOLS; i++)
			free(cells[i]);
		free(cells);
	}
	json_decref(answer);
	return rc;
}

/* ---- revoke ----------------------------------------------------------- */

static int key_revoke(struct cli_remote *r, int argc, char **argv)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	const char *keyid = NULL;
	json_t *answer = NULL;
	int rc;

	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {
		.cmd = "key revoke", .arg_name = "KEYID", .arg_slot = &keyid};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc;
	if (!keyid) {
		fprintf(stderr, "optreg key revoke: expected a KEYID\n");
		return OPTREG_EXIT_USAGE;
	}
	if (!keyid_valid(keyid)) {
		fprintf(stderr,
			"optreg key revoke: \"%.80s\": a key id is 64 "
			"lowercase "
			"hex digits\n"
			"  hint: `optreg key list` shows them; `optreg keygen` "
			"printed yours\n",
			keyid);
		return OPTREG_EXIT_USAGE;
	}
	optreg_buf_adds(&path, "/v1/keys");
	optreg_http_path_add(&path, keyid);
	optreg_buf_adds(&path, "/revoke");
	rc = cli_remote_call(r, "POST", path.data, NULL, &answer);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	if (r->json)
		rc = cli_print_json(answer);
	else if (!optreg_json_str(answer, "revoked_at"))
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no revoked_at");
	else {
		char *who = cli_printable(
			cli_cell(optreg_json_str(answer, "principal")));
		char *at = cli_printable(optreg_json_str(answer, "revoked_at"));
		printf("revoked %s (%s) at %s\n", keyid, who, at);
		free(who);
		free(at);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
	}
	json_decref(answer);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	static const struct cli_remote_sub subs[] = {
		{"register", key_register},
		{"list", key_list},
		{"revoke", key_revoke},
	};
	int rc = cli_remote_subcommand(
		"key", subs, sizeof(subs) / sizeof(subs[0]),
		"register, list or revoke", help, argc, argv);

	if (rc >= 0)
		return rc;
	fprintf(stderr,
		"optreg key: unknown subcommand \"%s\"\n"
		"  hint: one of register, list, revoke; see `optreg key "
		"--help`\n",
		argv[1]);
	return OPTREG_EXIT_USAGE;
}
