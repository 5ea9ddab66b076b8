/*
 * cli/audit_log.c: `optreg audit log`, a readable timeline of the audit
 * log's events, filtered by the registry.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/jsonutil.h"
#include "audit.h"
#include "wrap.h"

static const char log_help[] =
	"usage: optreg audit log [--actor A] [--action X] [--target T] "
	"[--since TIME]\n"
	"                        [--until TIME] [--limit N] [--width N] "
	"[--json]\n"
	"                        [--url URL] [--token TOKEN]\n\n"
	"Prints the audit log oldest first. On a terminal (or with --width "
	"N), each\n"
	"event takes two lines that fit its width, wrapped where needed:\n"
	"  #17  2026-11-23T10:00:00.000Z  tag.moved  team-nlp/bert@prod\n"
	"       by ci@nlp: prod: 2 -> 3: promote\n"
	"Otherwise (a pipe, a file) one event a line, a table with the "
	"columns INDEX,\n"
	"TIME, ACTOR, ACTION, TARGET and DETAILS.\n"
	"The columns are as wide as their widest cell; DETAILS sums up what "
	"changed\n"
	"(a tag move's from -> to, gate and reason; a submit's message).\n\n"
	"Options:\n"
	"  --actor A        only events by principal A\n"
	"  --action X       only events with action X (version.created, "
	"tag.moved,\n"
	"                   version.yanked, key.added, key.revoked, "
	"token.created,\n"
	"                   token.revoked, namespace.settings, job.leased,\n"
	"                   job.expired, job.abandoned, verdict.recorded,\n"
	"                   write.denied, policy.put, policy.delete, "
	"policy.denied,\n"
	"                   waiver.grant, waiver.revoke)\n"
	"  --target T       only events about T (team-nlp/bert@3, "
	"team-nlp/bert@prod,\n"
	"                   a key id, a token id, a namespace); a config "
	"with no @\n"
	"                   (team-nlp/bert) means the whole config: its "
	"versions' and\n"
	"                   tags' events (version.created, version.yanked, "
	"tag.moved,\n"
	"                   verdict.recorded...)\n"
	"  --since TIME     only events at or after TIME: RFC 3339 "
	"(2026-11-23T10:00:00Z)\n"
	"                   or an age such as 30m, 12h, 7d\n"
	"  --until TIME     only events before TIME (same forms)\n"
	"  --limit N        show at most N events (default: all)\n"
	"  --width N        lay the events out in N columns, two lines an "
	"event (default:\n"
	"                   the terminal's width when stdout is one, else "
	"0: one table\n"
	"                   row an event, for grep)\n"
	"  --json           print {\"entries\": [{\"index\", \"leaf_hash\", "
	"\"event\"}],\n"
	"                   \"next_start\"}: the registry's pages joined; "
	"next_start is\n"
	"                   not null when --limit stopped before the end\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 1 invalid (a filter the registry refused), 2 "
	"usage, 4 denied,\n"
	"6 unauthorized, 7 unavailable.\n";

/* Whole seconds in "30m", "12h", "7d", "2w", "90s"; -1 otherwise. */
static long long age_seconds(const char *s)
{
	char *end;
	long long n;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0' ||
	    n > 100LL * 365 * 86400)
		return -1;
	switch (end[0]) {
	case 's':
		return n;
	case 'm':
		return n * 60;
	case 'h':
		return n * 3600;
	case 'd':
		return n * 86400;
	case 'w':
		return n * 7 * 86400;
	}
	return -1;
}

/* An RFC 3339 time as given, or an age turned into one (in `buf`). */
static const char *time_arg(const char *s, char buf[OPTREG_CLOCK_TS_SIZE])
{
	long long age = s ? age_seconds(s) : -1;

	if (age < 0)
		return s;
	optreg_clock_format_s(buf, time(NULL) - (time_t)age);
	return buf;
}

/* Compact JSON of a value, for details that have no summary of their
 * own. */
static void add_value(struct optreg_buf *out, const json_t *v)
{
	if (json_is_string(v)) {
		optreg_buf_adds(out, json_string_value(v));
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		const json_t *x;
		json_array_foreach(v, i, x)
		{
			if (i)
				optreg_buf_addch(out, ',');
			add_value(out, x);
		}
		return;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	optreg_buf_adds(out, s ? s : "?");
	free(s);
}

/* Appends `: WHY <LINK>` from d[key] and d["link"], when there. */
static void add_why(struct optreg_buf *out, const json_t *d, const char *key)
{
	const char *why = optreg_json_str(d, key);
	const char *link = optreg_json_str(d, "link");

	if (why)
		optreg_buf_addf(out, ": %s", why);
	if (link)
		optreg_buf_addf(out, "%s<%s>", why ? " " : ": ", link);
}

static void add_version_or_new(struct optreg_buf *out, const json_t *v)
{
	if (json_is_integer(v))
		optreg_buf_addf(out, "%" JSON_INTEGER_FORMAT,
				json_integer_value(v));
	else
		optreg_buf_adds(out, "(new)");
}

/* One line saying what changed, from an event's details. */
static void summarize(const char *action, const json_t *d,
		      struct optreg_buf *out)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(d) || !json_object_size(d))
		return;
	if (!strcmp(action, "tag.moved")) {
		optreg_buf_addf(out, "%s: ", audit_str_or(d, "tag", "?"));
		add_version_or_new(out, json_object_get(d, "from"));
		optreg_buf_adds(out, " -> ");
		add_version_or_new(out, json_object_get(d, "to"));
		if (json_is_true(json_object_get(d, "rollback")))
			optreg_buf_adds(out, " (rollback)");
		if (json_is_object(json_object_get(d, "gate")))
			optreg_buf_addf(out, ", gate %s: %s",
					audit_str_or(json_object_get(d, "gate"),
						     "policy", "?"),
					audit_str_or(json_object_get(d, "gate"),
						     "verdict", "?"));
		add_why(out, d, "reason");
		return;
	}
	if (!strcmp(action, "version.created")) {
		size_t n = json_array_size(json_object_get(d, "signer_keyids"));
		size_t nv = json_array_size(json_object_get(d, "violations"));
		optreg_buf_addf(out, "%.19s, %zu signer%s",
				audit_str_or(d, "digest", "?"), n,
				n == 1 ? "" : "s");
		if (nv)
			optreg_buf_addf(out, ", %zu policy finding%s", nv,
					nv == 1 ? "" : "s");
		add_why(out, d, "message");
		return;
	}
	if (!strcmp(action, "verdict.recorded")) {
		const char *kid = optreg_json_str(d, "runner_keyid");
		optreg_buf_adds(out, "job ");
		add_value(out, json_object_get(d, "job_id"));
		optreg_buf_addf(out, ": %s on suite %s",
				audit_str_or(d, "result", "?"),
				audit_str_or(d, "suite", "?"));
		if (kid)
			optreg_buf_addf(out, ", signed by %.12s…", kid);
		return;
	}
	if (!strcmp(action, "version.yanked")) {
		optreg_buf_addf(out, "%.19s yanked",
				audit_str_or(d, "digest", "?"));
		add_why(out, d, "reason");
		return;
	}
	if (!strcmp(action, "policy.denied")) {
		const json_t *rules = json_object_get(d, "rules");
		size_t i;
		optreg_buf_addf(out, "%s %s: denied by",
				audit_str_or(d, "method", "?"),
				audit_str_or(d, "route", "?"));
		json_array_foreach(rules, i, v)
			optreg_buf_addf(out, "%s%s/%s", i ? ", " : " ",
					audit_str_or(v, "policy", "?"),
					audit_str_or(v, "rule", "?"));
		if (!json_array_size(rules))
			optreg_buf_adds(out, " policy");
		return;
	}
	if (!strcmp(action, "write.denied")) {
		const json_t *why = json_object_get(d, "reasons");
		size_t i;
		optreg_buf_addf(
			out, "%s %s: %" JSON_INTEGER_FORMAT " %s",
			audit_str_or(d, "method", "?"),
			audit_str_or(d, "route", "?"),
			json_integer_value(json_object_get(d, "status")),
			audit_str_or(d, "code", "?"));
		if (optreg_json_str(d, "required_role"))
			optreg_buf_addf(out, " (needs %s on %s)",
					optreg_json_str(d, "required_role"),
					audit_str_or(d, "namespace", "?"));
		json_array_foreach(why, i, v)
			optreg_buf_addf(out, "%s%s", i ? ", " : " (",
					audit_str_or(v, "rule", "?"));
		if (json_array_size(why))
			optreg_buf_addch(out, ')');
		return;
	}
	if (!strcmp(action, "token.created")) {
		const json_t *g;
		size_t i;
		optreg_buf_addf(out,
				"for %s:", audit_str_or(d, "principal", "?"));
		json_array_foreach(json_object_get(d, "grants"), i, g)
			optreg_buf_addf(out, "%s%s on %s", i ? "," : " ",
					audit_str_or(g, "role", "?"),
					audit_str_or(g, "namespace", "?"));
		long long exp =
			json_integer_value(json_object_get(d, "expires_in"));
		if (exp > 0)
			optreg_buf_addf(out, ", expires in %llds", exp);
		return;
	}
	/* Generic: key=value, and key: from -> to for {from, to} pairs. */
	int first = 1;
	json_object_foreach((json_t *)d, key, v)
	{
		optreg_buf_adds(out, first ? "" : ", ");
		first = 0;
		const json_t *from = json_object_get(v, "from");
		const json_t *to = json_object_get(v, "to");
		if (json_is_object(v) && json_object_size(v) == 2 && from &&
		    to) {
			optreg_buf_addf(out, "%s: ", key);
			add_value(out, from);
			optreg_buf_adds(out, " -> ");
			add_value(out, to);
		} else {
			optreg_buf_addf(out, "%s=", key);
			add_value(out, v);
		}
	}
}

/* Replaces control characters, so one event stays one line. */
static char *cell(const char *s, size_t max)
{
	size_t n = strlen(s), cut = n > max ? max : n;
	char *c;

	/* Cut on a UTF-8 character boundary. */
	while (cut > 0 && cut < n && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	c = optreg_xasprintf("%.*s%s", (int)cut, s, cut < n ? "..." : "");
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return c;
}

struct log_ctx {
	struct cli_remote *r;
	json_t *entries;   /* --json */
	char **cells;	   /* rows of 6 */
	size_t nrows, cap; /* cap: cells allocated */
};

static int log_entry(void *ctx, const json_t *e)
{
	struct log_ctx *lc = ctx;
	const json_t *ev = json_object_get(e, "event");

	if (lc->entries) {
		json_array_append(lc->entries, (json_t *)e);
		return 0;
	}
	OPTREG_ALLOC_GROW(lc->cells, (lc->nrows + 1) * 6, lc->cap);
	char **row = lc->cells + lc->nrows++ * 6;
	struct optreg_buf d = OPTREG_BUF_INIT;
	const char *action = audit_str_or(ev, "action", "-");

	summarize(action, json_object_get(ev, "details"), &d);
	row[0] = optreg_xasprintf("%" PRId64, optreg_auditlog_entry_index(e));
	row[1] = cell(audit_str_or(ev, "time", "-"), 40);
	row[2] = cell(
		audit_str_or(json_object_get(ev, "actor"), "principal", "-"),
		40);
	row[3] = cell(action, 40);
	row[4] = cell(audit_str_or(ev, "target", "-"), 80);
	row[5] = cell(d.len ? d.data : "-", 120);
	optreg_buf_release(&d);
	return 0;
}

/* Two lines an event, fitting `width` columns (see the help). */
static int print_wrapped(char **cells, size_t nrows, size_t width)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	int rc;

	for (size_t i = 0; i < nrows; i++) {
		char **row = cells + i * 6;
		struct optreg_buf head = OPTREG_BUF_INIT,
				  what = OPTREG_BUF_INIT;
		char first[32];
		snprintf(first, sizeof(first), "#%s  ", row[0]);
		optreg_buf_addf(&head, "%s  %s  %s", row[1], row[3], row[4]);
		cli_wrap_add(&out, first, head.data, 7, width);
		optreg_buf_addf(&what, "by %s", row[2]);
		if (strcmp(row[5], "-"))
			optreg_buf_addf(&what, ": %s", row[5]);
		cli_wrap_add(&out, "       ", what.data, 7, width);
		optreg_buf_release(&head);
		optreg_buf_release(&what);
	}
	rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	return rc;
}

static int print_rows(char **cells, size_t nrows)
{
	static const char *const head[6] = {"INDEX",  "TIME",	"ACTOR",
					    "ACTION", "TARGET", "DETAILS"};

	return cli_print_table(head, 6, cells, nrows);
}

int cmd_audit_log(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit log"};
	struct filters f = {0};
	struct log_ctx lc = {.r = &r};
	const char *limitarg = NULL, *widtharg = NULL;
	struct cli_ref ref;
	struct optreg_buf why = OPTREG_BUF_INIT;
	char since[OPTREG_CLOCK_TS_SIZE], until[OPTREG_CLOCK_TS_SIZE];
	long limit = 0, width = -1;
	int rc;

	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--actor", "WHO", "only this actor", &f.actor),
		CLI_OPT_STRING("--action", "ACTION", "only this action",
			       &f.action),
		CLI_OPT_STRING("--target", "TARGET", "only this target",
			       &f.target),
		CLI_OPT_STRING("--since", "TIME", "from TIME", &f.since),
		CLI_OPT_STRING("--until", "TIME", "until TIME", &f.until),
		CLI_OPT_STRING("--limit", "N", "at most N events", &limitarg),
		CLI_OPT_STRING("--width", "N", "columns", &widtharg),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = r.cmd,
				     .help = log_help,
				     .flags = CLI_PARSE_UNKNOWN_KIND |
					      CLI_PARSE_HELP_ON_ERROR};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (limitarg && cli_parse_count(limitarg, &limit) < 0) {
		fprintf(stderr,
			"optreg audit log: --limit must be a whole number "
			"from 1 (got \"%s\")\n",
			limitarg);
		return OPTREG_EXIT_USAGE;
	}
	if (widtharg &&
	    (cli_parse_count(widtharg, &width) < 0 || (width && width < 40))) {
		if (strcmp(widtharg, "0")) {
			fprintf(stderr,
				"optreg audit log: --width must be 0 (one "
				"line an event) or a whole number from 40 "
				"(got \"%s\")\n",
				widtharg);
			return OPTREG_EXIT_USAGE;
		}
		width = 0;
	}
	if (width < 0)
		width = cli_wrap_default_width();
	/* ns/name with no @: the whole config (GET ...?config=). */
	if (f.target && !strchr(f.target, '@') && strchr(f.target, '/')) {
		if (cli_ref_parse(f.target, CLI_REF_CONFIG, &ref, &why) < 0) {
			fprintf(stderr, "optreg audit log: --target: %s\n",
				why.data);
			optreg_buf_release(&why);
			return OPTREG_EXIT_USAGE;
		}
		f.config = f.target;
		f.target = NULL;
	}
	f.since = time_arg(f.since, since);
	f.until = time_arg(f.until, until);
	if (r.json)
		lc.entries = json_array();
	struct walk w = {.r = &r,
			 .f = &f,
			 .end = UINT64_MAX,
			 .limit = limit,
			 .fn = log_entry,
			 .ctx = &lc};
	rc = audit_walk_entries(&w);
	if (rc == 0 && w.broken >= 0)
		rc = cli_report(&r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's audit entry %" PRId64
				" is not valid JSON: the log was tampered with "
				"(run `optreg audit verify`)",
				w.broken);
	if (rc == 0 && r.json) {
		json_t *o = json_pack("{s:O, s:O}", "entries", lc.entries,
				      "next_start", w.next_start);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rc = s ? cli_print_json_text(s, strlen(s)) : OPTREG_EXIT_IO;
		free(s);
		json_decref(o);
	} else if (rc == 0 && width > 0) {
		rc = print_wrapped(lc.cells, lc.nrows, (size_t)width);
	} else if (rc == 0) {
		rc = print_rows(lc.cells, lc.nrows);
	}
	for (size_t i = 0; i < lc.nrows * 6; i++)
		free(lc.cells[i]);
	free(lc.cells);
	json_decref(lc.entries);
	json_decref(w.next_start);
	cli_remote_close(&r);
	return rc;
}
