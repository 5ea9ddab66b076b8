/*
 * cli/waiver.c: `optreg waiver grant|list|revoke`.
 *
 * A waiver exempts one rule of one policy for the configs of a namespace
 * whose names match a pattern, with a reason and an owner, until it
 * expires (at most 90 days ahead); the registry stops applying it at
 * once when it expires or is revoked. Violations it covers are counted
 * apart (effect `waived`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonutil.h"
#include "cli.h"

static const char help[] =
	"usage: optreg waiver grant --policy NAME --rule ID --namespace NS "
	"--config PATTERN\n"
	"                           --reason TEXT --owner WHO --expires "
	"WHEN\n"
	"       optreg waiver list [--namespace NS] [--all]\n"
	"       optreg waiver revoke ID --reason TEXT\n"
	"(each also takes --json, --url URL and --token TOKEN)\n\n"
	"  grant   exempts rule ID of policy NAME for the configs of NS whose "
	"name\n"
	"          matches PATTERN (a name, or a glob such as `bert-*`) until "
	"WHEN, and\n"
	"          prints `wvr_... granted: NAME/ID for NS/PATTERN until "
	"WHEN`. Needs the\n"
	"          approver role on NS\n"
	"  list    lists the waivers in force (with --all also expired and "
	"revoked ones),\n"
	"          of NS or of every namespace the token may read\n"
	"  revoke  ends a waiver now (approver role)\n\n"
	"Options:\n"
	"  --expires WHEN   an RFC 3339 time (2026-12-31T00:00:00Z) or a "
	"duration from\n"
	"                   now: 12h, 30d (at most 90 days ahead)\n"
	"  --owner WHO      who answers for the exemption (a person or "
	"team)\n"
	"  --reason TEXT    why (1 to 1024 characters)\n"
	"  --all            list: also expired and revoked "
	"waivers\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid, 2 usage, 4 denied, 6 unauthorized, 7 "
	"unavailable,\n8 not found. See docs/cli.md.\n";

/* The positional arguments (revoke's ID). */
struct waiver_args {
	const char *items[2];
	int len;
};

static int take_arg(void *data, const char *a)
{
	struct waiver_args *t = data;

	if (t->len == 2) {
		fprintf(stderr, "optreg waiver: unexpected argument \"%s\"\n",
			a);
		return OPTREG_EXIT_USAGE;
	}
	t->items[t->len++] = a;
	return 0;
}

int cli_waiver_expiry(const char *when, time_t now, char *out, size_t outlen)
{
	size_t n = strlen(when);
	char *end;
	long long amount;
	long long unit;

	if (n >= 2 && when[0] >= '1' && when[0] <= '9') {
		amount = strtoll(when, &end, 10);
		unit = !strcmp(end, "d")   ? 86400
		       : !strcmp(end, "h") ? 3600
		       : !strcmp(end, "m") ? 60
					   : 0;
		/* At most 90 days, counted in seconds whatever the unit. */
		if (unit && amount > 0 && amount <= 90LL * 86400 / unit) {
			time_t t = now + (time_t)(amount * unit);
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
			return 0;
		}
	}
	/* An RFC 3339 time goes as it is; the registry checks it (in the
	 * future, at most 90 days ahead). */
	if (n >= 20 && n < outlen && when[4] == '-' && when[7] == '-' &&
	    (when[10] == 'T' || when[10] == 't')) {
		memcpy(out, when, n + 1);
		return 0;
	}
	return -1;
}

static int grant(struct cli_remote *r, const char *const *f)
{
	/* f: policy, rule, namespace, config, reason, owner, expires */
	static const char *const opt[] = {"--policy", "--rule",	  "--namespace",
					  "--config", "--reason", "--owner",
					  "--expires"};
	char expires[64];
	json_t *body, *ans = NULL;
	int rc;

	for (size_t i = 0; i < 7; i++) {
		if (!f[i] || !f[i][0]) {
			fprintf(stderr,
				"optreg waiver grant: %s is required\n"
				"  hint: a waiver names --policy, --rule, "
				"--namespace, --config, --reason, --owner and "
				"--expires\n",
				opt[i]);
			return OPTREG_EXIT_USAGE;
		}
	}
	if (!cli_namespace_valid(f[2])) {
		fprintf(stderr,
			"optreg waiver grant: invalid namespace \"%s\"\n",
			f[2]);
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("waiver grant", "--reason", f[4],
			      CLI_CHANGE_MAX_TEXT, false);
	if (rc)
		return rc;
	if (cli_waiver_expiry(f[6], time(NULL), expires, sizeof(expires)) < 0) {
		fprintf(stderr,
			"optreg waiver grant: --expires must be an RFC 3339 "
			"time or a duration such as 30d or 12h (got \"%s\")\n"
			"  hint: a waiver lasts at most 90 days\n",
			f[6]);
		return OPTREG_EXIT_USAGE;
	}
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "policy", f[0],
			 "rule", f[1], "namespace", f[2], "config", f[3],
			 "reason", f[4], "owner", f[5], "expires_at", expires);
	if (!body) {
		fprintf(stderr, "optreg waiver grant: an option is not valid "
				"UTF-8\n");
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_remote_call(r, "POST", "/v1/waivers", body, &ans);
	json_decref(body);
	if (rc)
		return rc;
	if (r->json) {
		rc = cli_print_json(ans);
	} else {
		const char *id = optreg_json_str(ans, "id");
		const char *until = optreg_json_str(ans, "expires_at");
		char *i = cli_printable(cli_cell(id));
		char *u = cli_printable(until ? until : expires);

		printf("%s granted: %s/%s for %s/%s until %s\n", i, f[0], f[1],
		       f[2], f[3], u);
		free(i);
		free(u);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : 0;
	}
	json_decref(ans);
	return rc;
}

/* active, expired or revoked. */
static const char *state_of(const json_t *w)
{
	if (optreg_json_str(w, "revoked_at"))
		return "revoked";
	if (json_is_false(json_object_get(w, "active")))
		return "expired";
	return "active";
}

static int list(struct cli_remote *r, const char *ns, bool all)
{
	static const char *const head[] = {"ID",	"POLICY", "RULE",
					   "NAMESPACE", "CONFIG", "OWNER",
					   "EXPIRES",	"STATE",  "REASON"};
	enum {
		NCOLS = 9
	};
	json_t *ans = json_pack("{s:[], s:n}", "waivers", "next_page_token");
	json_t *items = json_object_get(ans, "waivers");
	char **cells;
	size_t n;
	int rc;

	/* Every page, 100 at a time, merged into one answer. */
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *next = NULL;

	optreg_buf_adds(&path, "/v1/waivers");
	if (ns)
		optreg_http_query_add(&path, "namespace", ns);
	if (all)
		optreg_http_query_add(&path, "all", "true");
	rc = cli_remote_pages(r, path.data, "waivers", 100, 0, items, &next);
	optreg_buf_release(&path);
	json_decref(next);
	if (rc) {
		json_decref(ans);
		return rc;
	}
	if (r->json) {
		rc = cli_print_json(ans);
		json_decref(ans);
		return rc;
	}
	n = json_array_size(items);
	if (!n) {
		fprintf(stderr, "optreg waiver: no waivers%s\n",
			all ? "" : " in force");
		json_decref(ans);
		return 0;
	}
	cells = optreg_xcalloc(n * NCOLS, sizeof(*cells));
	for (size_t i = 0; i < n; i++) {
		const json_t *w = json_array_get(items, i);
		static const char *const keys[] = {
			"id",	  "policy", "rule",	 "namespace",
			"config", "owner",  "expires_at"};
		char **row = cells + i * NCOLS;

		for (size_t k = 0; k < 7; k++)
			row[k] = optreg_xstrdup(
				cli_cell(optreg_json_str(w, keys[k])));
		row[7] = optreg_xstrdup(state_of(w));
		row[8] = optreg_xstrdup(cli_cell(optreg_json_str(w, "reason")));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	json_decref(ans);
	return rc;
}

static int revoke(struct cli_remote *r, const char *id, const char *reason)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *body, *ans = NULL;
	int rc;

	if (!reason) {
		fprintf(stderr, "optreg waiver revoke: --reason is required\n");
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("waiver revoke", "--reason", reason,
			      CLI_CHANGE_MAX_TEXT, false);
	if (rc)
		return rc;
	if (strncmp(id, "wvr_", 4)) {
		fprintf(stderr,
			"optreg waiver revoke: \"%s\" is not a waiver id\n"
			"  hint: ids look like wvr_0123456789abcdef; `optreg "
			"waiver list` shows them\n",
			id);
		return OPTREG_EXIT_USAGE;
	}
	optreg_buf_adds(&path, "/v1/waivers");
	optreg_http_path_add(&path, id);
	body = json_pack("{s:s}", "reason", reason);
	rc = cli_remote_call(r, "DELETE", path.data, body, &ans);
	json_decref(body);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	if (r->json) {
		rc = cli_print_json(ans);
	} else {
		printf("%s revoked: %s\n", id, reason);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : 0;
	}
	json_decref(ans);
	return rc;
}

int cmd_waiver(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "waiver"};
	struct waiver_args a = {{NULL, NULL}, 0};
	/* policy, rule, namespace, config, reason, owner, expires */
	const char *f[7] = {NULL};
	const char *sub;
	bool all = false;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--policy", "NAME", "the policy", &f[0]),
		CLI_OPT_STRING("--rule", "ID", "the rule", &f[1]),
		CLI_OPT_STRING("--namespace", "NS", "the namespace", &f[2]),
		CLI_OPT_STRING("--config", "PATTERN", "config names", &f[3]),
		CLI_OPT_STRING("--reason", "TEXT", "why", &f[4]),
		CLI_OPT_STRING("--owner", "WHO", "who answers for it", &f[5]),
		CLI_OPT_STRING("--expires", "WHEN", "until when", &f[6]),
		CLI_OPT_BOOL("--all", "list: expired and revoked too", &all),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "waiver",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = take_arg,
				     .arg_data = &a};

	if (argc < 2) {
		fprintf(stderr, "optreg waiver: expected a subcommand\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	sub = argv[1];
	if (cli_is_help(sub)) {
		fputs(help, stdout);
		return OPTREG_EXIT_OK;
	}
	if (strcmp(sub, "grant") && strcmp(sub, "list") &&
	    strcmp(sub, "revoke")) {
		fprintf(stderr,
			"optreg waiver: unknown subcommand \"%s\"\n"
			"  hint: grant, list or revoke\n",
			sub);
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_parse_options(&p, options, argc - 1, argv + 1);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!strcmp(sub, "grant")) {
		if (a.len) {
			fprintf(stderr,
				"optreg waiver grant: unexpected "
				"argument \"%s\"\n",
				a.items[0]);
			return OPTREG_EXIT_USAGE;
		}
		r.cmd = "waiver grant";
		rc = grant(&r, f);
	} else if (!strcmp(sub, "list")) {
		if (a.len || f[0] || f[1] || f[3] || f[4] || f[5] || f[6]) {
			fprintf(stderr, "optreg waiver list: takes only "
					"--namespace and --all\n");
			return OPTREG_EXIT_USAGE;
		}
		if (f[2] && !cli_namespace_valid(f[2])) {
			fprintf(stderr,
				"optreg waiver list: invalid namespace "
				"\"%s\"\n",
				f[2]);
			return OPTREG_EXIT_USAGE;
		}
		r.cmd = "waiver list";
		rc = list(&r, f[2], all);
	} else {
		if (a.len != 1) {
			fprintf(stderr, "optreg waiver revoke: expected one "
					"waiver ID\n");
			return OPTREG_EXIT_USAGE;
		}
		r.cmd = "waiver revoke";
		rc = revoke(&r, a.items[0], f[4]);
	}
	cli_remote_close(&r);
	return rc;
}
