/*
 * cli/token.c: `optreg token create|list|revoke`: the registry's bearer
 * tokens, through the API (docs/api.md, "Tokens"), so that CI identities
 * are made and retired without database access. Every subcommand needs an
 * admin token on "*".
 *
 * A new token is shown once: `create` prints it alone on stdout (so that
 * `TOKEN=$(optreg token create ...)` captures it) and its id on stderr.
 * The registry keeps only its hash, and `list` never shows one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/jsonutil.h"
#include "cli.h"

static const char help[] =
	"usage: optreg token create --principal P --grant ROLE:NS "
	"[--grant ROLE:NS...]\n"
	"                           [--expires-in DURATION]\n"
	"       optreg token list [--principal P]\n"
	"       optreg token revoke ID\n"
	"  (each also takes --json, --url URL and --token TOKEN)\n\n"
	"Manages the registry's bearer tokens; every subcommand needs an "
	"admin token\non \"*\".\n\n"
	"  create  creates a token for principal P with the grants given "
	"(ROLE is\n"
	"          reader, submitter, approver, runner, auditor or admin; NS "
	"a namespace\n"
	"          or a glob: team-a, team-a-*, *). Prints the token once, "
	"alone on\n"
	"          stdout, and its id on stderr; the registry keeps only its "
	"hash.\n"
	"          --expires-in: a whole number followed by s, m, h, d or w "
	"(90d, 12h);\n"
	"          default: the token does not expire\n"
	"  list    prints the tokens as a table: ID, PRINCIPAL, GRANTS, "
	"CREATED,\n"
	"          EXPIRES, REVOKED (all pages; only P's tokens with "
	"--principal);\n"
	"          never a token or its hash\n"
	"  revoke  revokes token ID (tok_ and 16 hex digits) at once; prints\n"
	"            revoked ID\n\n"
	"Options:\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 refused as invalid, 2 usage, 4 denied (not "
	"an admin),\n"
	"6 unauthorized, 7 unavailable, 8 not found (revoke: no such "
	"unrevoked token).\n"
	"See docs/cli.md.\n";

/* The longest --expires-in: 100 years, as the registry allows. */
#define TOKEN_MAX_SECONDS (100L * 365 * 86400)

/* "role:ns, role:ns" from a grants array. A new string. */
static char *grants_text(const json_t *grants)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const json_t *g;
	size_t i;

	json_array_foreach(grants, i, g)
	{
		optreg_buf_addf(&b, "%s%s:%s", b.len ? "," : "",
				cli_cell(optreg_json_str(g, "role")),
				cli_cell(optreg_json_str(g, "namespace")));
	}
	if (!b.len)
		optreg_buf_adds(&b, "-");
	return optreg_buf_detach(&b, NULL);
}

/* ---- create ----------------------------------------------------------- */

/* --grant ROLE:NS, repeatable, into the JSON array opt->value. */
static int add_grant(const struct cli_option *opt, const char *val)
{
	const char *colon = strchr(val, ':');

	if (!colon || colon == val || !colon[1]) {
		char *shown = cli_printable(val);
		fprintf(stderr,
			"optreg token create: --grant must be ROLE:NS (got "
			"\"%.80s\")\n"
			"  hint: e.g. --grant submitter:team-a or --grant "
			"reader:'*'\n",
			shown);
		free(shown);
		return OPTREG_EXIT_USAGE;
	}
	json_t *g = json_object();
	json_object_set_new(g, "role",
			    json_stringn(val, (size_t)(colon - val)));
	json_object_set_new(g, "namespace", json_string(colon + 1));
	json_array_append_new(opt->value, g);
	return 0;
}

/*
 * Parses DURATION ("90d", "12h", "3600s", "2w", "30m") into seconds;
 * -1 when it is not one.
 */
static long parse_duration(const char *s)
{
	static const struct {
		char unit;
		long seconds;
	} units[] = {{'s', 1},
		     {'m', 60},
		     {'h', 3600},
		     {'d', 86400},
		     {'w', 7 * 86400}};
	size_t n = strspn(s, "0123456789");
	long v = 0;

	if (n == 0 || n > 10 || strlen(s) != n + 1)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[n] != units[i].unit)
			continue;
		if (v < 1 || v > TOKEN_MAX_SECONDS / units[i].seconds)
			return -1;
		return v * units[i].seconds;
	}
	return -1;
}

static int token_create(struct cli_remote *r, int argc, char **argv)
{
	const char *principal = NULL, *expires = NULL;
	json_t *grants = json_array(), *body = NULL, *answer = NULL;
	long seconds = 0;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_STRING("--principal", "WHO", "who holds the token",
			       &principal),
		CLI_OPT_CALLBACK("--grant", "ROLE:NS", "a role in a namespace",
				 grants, add_grant),
		CLI_OPT_STRING("--expires-in", "DURATION",
			       "lifetime (90d, 12h, ...)", &expires),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "token create",
				     .flags = CLI_PARSE_UNEXPECTED};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		goto out;
	rc = OPTREG_EXIT_USAGE;
	if (!principal || !principal[0]) {
		fprintf(stderr, "optreg token create: --principal is required\n"
				"  hint: who holds the token, e.g. --principal "
				"ci@team-a\n");
		goto out;
	}
	if (!json_array_size(grants)) {
		fprintf(stderr,
			"optreg token create: at least one --grant ROLE:NS is "
			"required\n"
			"  hint: e.g. --grant submitter:team-a (roles: "
			"reader, submitter, approver, runner, auditor, "
			"admin)\n");
		goto out;
	}
	if (expires) {
		seconds = parse_duration(expires);
		if (seconds < 0) {
			char *shown = cli_printable(expires);
			fprintf(stderr,
				"optreg token create: --expires-in must be a "
				"whole number followed by s, m, h, d or w, "
				"at most 100 years (got \"%.40s\")\n"
				"  hint: e.g. --expires-in 90d; leave it out "
				"for a token that does not expire\n",
				shown);
			free(shown);
			goto out;
		}
	}
	body = json_pack("{s:s, s:O, s:o}", "principal", principal, "grants",
			 grants, "expires_in",
			 seconds ? json_integer(seconds) : json_null());
	if (!body) {
		fprintf(stderr, "optreg token create: --principal and --grant "
				"must be UTF-8\n");
		goto out;
	}
	rc = cli_remote_call(r, "POST", "/v1/tokens", body, &answer);
	if (rc)
		goto out;
	const char *token = optreg_json_str(answer, "token");
	const char *id = optreg_json_str(answer, "id");
	if (!token || !id) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no token or id");
		goto out;
	}
	if (r->json) {
		rc = cli_print_json(answer);
	} else {
		char *who = cli_printable(principal);
		char *gs = grants_text(json_object_get(answer, "grants"));
		const char *exp = optreg_json_str(answer, "expires_at");
		printf("%s\n", token);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
		fprintf(stderr,
			"optreg token create: created %s for %s (%s), %s%s; "
			"the token is shown only once\n",
			id, who, gs, exp ? "expires " : "does not expire",
			exp ? exp : "");
		free(who);
		free(gs);
	}
out:
	if (answer) {
		/* The token's text in the answer: gone before the memory is
		 * given back. */
		json_t *t = json_object_get(answer, "token");
		if (json_is_string(t))
			OPENSSL_cleanse((char *)json_string_value(t),
					json_string_length(t));
	}
	json_decref(answer);
	json_decref(body);
	json_decref(grants);
	return rc;
}

/* ---- list ------------------------------------------------------------- */

static int token_list(struct cli_remote *r, int argc, char **argv)
{
	static const char *const head[] = {"ID",      "PRINCIPAL", "GRANTS",
					   "CREATED", "EXPIRES",   "REVOKED"};
	enum {
		NCOLS = 6
	};
	struct optreg_buf path = OPTREG_BUF_INIT;
	const char *principal = NULL;
	json_t *items = json_array(), *next = NULL;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_STRING("--principal", "WHO",
			       "only this holder's tokens", &principal),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "token list",
				     .flags = CLI_PARSE_UNEXPECTED};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		goto out;
	optreg_buf_adds(&path, "/v1/tokens");
	if (principal)
		optreg_http_query_add(&path, "principal", principal);
	rc = cli_remote_pages(r, path.data, "tokens", 100, 0, items, &next);
	if (rc)
		goto out;
	if (r->json) {
		json_t *o =
			json_pack("{s:O, s:O}", "tokens", items,
				  "next_page_token", next ? next : json_null());
		rc = cli_print_json(o);
		json_decref(o);
		goto out;
	}
	size_t n = json_array_size(items);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_array_get(items, i);
		char **row = cells + i * NCOLS;
		row[0] = optreg_xstrdup(cli_cell(optreg_json_str(t, "id")));
		row[1] = optreg_xstrdup(
			cli_cell(optreg_json_str(t, "principal")));
		row[2] = grants_text(json_object_get(t, "grants"));
		row[3] = optreg_xstrdup(
			cli_cell(optreg_json_str(t, "created_at")));
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(t, "expires_at")));
		row[5] = optreg_xstrdup(
			cli_cell(optreg_json_str(t, "revoked_at")));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
out:
	optreg_buf_release(&path);
	json_decref(items);
	json_decref(next);
	return rc;
}

/* ---- revoke ----------------------------------------------------------- */

/* True when `s` is a token id: "tok_" and 16 lowercase hex digits. */
static bool token_id_valid(const char *s)
{
	return strlen(s) == 20 && !strncmp(s, "tok_", 4) &&
	       strspn(s + 4, "0123456789abcdef") == 16;
}

static int token_revoke(struct cli_remote *r, int argc, char **argv)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	const char *id = NULL;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {
		.cmd = "token revoke", .arg_name = "ID", .arg_slot = &id};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc;
	if (!id) {
		fprintf(stderr, "optreg token revoke: expected a token ID\n"
				"  hint: `optreg token list` shows them\n");
		return OPTREG_EXIT_USAGE;
	}
	if (!token_id_valid(id)) {
		/* Shown only when it cannot be a secret: a token passed by
		 * mistake (optreg_...) or anything longer than an id would
		 * land in a CI log. */
		bool show = strlen(id) <= 24 && strncmp(id, "optreg_", 7);
		char *shown = show ? cli_printable(id) : NULL;
		if (shown)
			fprintf(stderr,
				"optreg token revoke: \"%s\" is not a token id "
				"(tok_ and 16 lowercase hex digits)\n",
				shown);
		else
			fprintf(stderr,
				"optreg token revoke: ID is not a token id "
				"(tok_ and 16 lowercase hex digits); it is "
				"not shown, in case it is a token (%zu "
				"characters)\n",
				strlen(id));
		fprintf(stderr,
			"  hint: pass the id `optreg token create` printed "
			"on stderr, or see `optreg token list`; never the "
			"token itself\n");
		free(shown);
		return OPTREG_EXIT_USAGE;
	}
	optreg_http_resp_init(&resp);
	optreg_buf_adds(&path, "/v1/tokens");
	optreg_http_path_add(&path, id);
	rc = cli_remote_request(r, "DELETE", path.data, NULL, &resp);
	if (rc == 0 && resp.status != 204 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc == 0) {
		if (r->json) {
			json_t *o =
				json_pack("{s:s, s:b}", "id", id, "revoked", 1);
			rc = cli_print_json(o);
			json_decref(o);
		} else {
			printf("revoked %s\n", id);
			rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
		}
	}
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

int cmd_token(int argc, char **argv)
{
	static const struct cli_remote_sub subs[] = {
		{"create", token_create},
		{"list", token_list},
		{"revoke", token_revoke},
	};
	int rc = cli_remote_subcommand(
		"token", subs, sizeof(subs) / sizeof(subs[0]),
		"create, list or revoke", help, argc, argv);

	if (rc >= 0)
		return rc;
	char *shown = cli_printable(argv[1]);
	fprintf(stderr,
		"optreg token: unknown subcommand \"%.40s\"\n"
		"  hint: one of create, list, revoke; see `optreg token "
		"--help`\n",
		shown);
	free(shown);
	return OPTREG_EXIT_USAGE;
}
