/*
 * cli/violations.c: policy violations as the registry lists them
 * (`violations[]` of a submit, a tag move, a validate or a dry run: the
 * items of optreg_policy_result_to_json), printed for people, and the
 * refusals that carry them (422 policy_denied, 409 gate_refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

unsigned cli_effect_bit(const char *effect)
{
	if (!effect)
		return 0;
	if (!strcmp(effect, "deny"))
		return CLI_EFFECT_DENY;
	if (!strcmp(effect, "warn"))
		return CLI_EFFECT_WARN;
	if (!strcmp(effect, "audit"))
		return CLI_EFFECT_AUDIT;
	if (!strcmp(effect, "waived"))
		return CLI_EFFECT_WAIVED;
	return 0;
}

/* Appends `s` made printable (a registry's text on a terminal). */
static void add_printable(struct optreg_buf *out, const char *s)
{
	char *p = cli_printable(s);

	optreg_buf_adds(out, p);
	free(p);
}

void cli_violation_format(const json_t *v, const char *file,
			  const struct optreg_doc *doc, struct optreg_buf *out)
{
	const char *path = optreg_json_str(v, "path");
	const char *policy = optreg_json_str(v, "policy");
	const char *rule = optreg_json_str(v, "rule");
	const char *effect = optreg_json_str(v, "effect");
	const char *msg = optreg_json_str(v, "message");
	const char *detail = optreg_json_str(v, "detail");
	const char *hint = optreg_json_str(v, "hint");
	const char *waiver = optreg_json_str(v, "waiver");
	const struct optreg_doc_loc *loc =
		doc && path ? optreg_doc_locate(doc, path) : NULL;
	long line = 0, col = 0, pv = 0;

	cli_json_count(v, "line", &line);
	cli_json_count(v, "col", &col);
	if (loc) {
		line = loc->line;
		col = loc->col;
	}
	if (file)
		optreg_buf_addf(out, "%s:", file);
	if (line > 0)
		optreg_buf_addf(out, "%ld:%ld:", line, col);
	if (file || line > 0)
		optreg_buf_addch(out, ' ');
	if (path && path[0]) {
		add_printable(out, path);
		optreg_buf_adds(out, ": ");
	}
	add_printable(out, msg ? msg : "(no message)");
	optreg_buf_adds(out, " [");
	add_printable(out, effect ? effect : "?");
	optreg_buf_adds(out, " ");
	add_printable(out, policy ? policy : "?");
	if (cli_json_count(v, "policy_version", &pv) == 0 && pv > 0)
		optreg_buf_addf(out, "@%ld", pv);
	optreg_buf_adds(out, "/");
	add_printable(out, rule ? rule : "?");
	if (waiver) {
		optreg_buf_adds(out, ", waiver ");
		add_printable(out, waiver);
	}
	optreg_buf_adds(out, "]\n");
	if (detail) {
		optreg_buf_adds(out, "  detail: ");
		add_printable(out, detail);
		optreg_buf_addch(out, '\n');
	}
	if (hint &&
	    cli_effect_bit(effect) & (CLI_EFFECT_DENY | CLI_EFFECT_WARN)) {
		optreg_buf_adds(out, "  hint: ");
		add_printable(out, hint);
		optreg_buf_addch(out, '\n');
	}
}

size_t cli_violations_print(FILE *out, const char *prefix,
			    const json_t *violations, unsigned effects,
			    const char *file, const struct optreg_doc *doc)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	size_t n = 0, i;
	const json_t *v;

	json_array_foreach(violations, i, v)
	{
		struct optreg_buf one = OPTREG_BUF_INIT;

		if (!(cli_effect_bit(optreg_json_str(v, "effect")) & effects))
			continue;
		cli_violation_format(v, file, doc, &one);
		if (prefix) {
			/* The prefix goes on the first line; the detail and
			 * hint lines stay indented under it. */
			optreg_buf_adds(&b, prefix);
		}
		optreg_buf_add(&b, one.data, one.len);
		optreg_buf_release(&one);
		n++;
	}
	fwrite(b.data, 1, b.len, out);
	optreg_buf_release(&b);
	return n;
}

void cli_violations_summary(FILE *out, const char *cmd,
			    const json_t *violations)
{
	size_t nw = 0, na = 0, nv = 0, i;
	const json_t *v;

	json_array_foreach(violations, i, v)
	{
		unsigned e = cli_effect_bit(optreg_json_str(v, "effect"));
		nw += e == CLI_EFFECT_WARN;
		na += e == CLI_EFFECT_AUDIT;
		nv += e == CLI_EFFECT_WAIVED;
	}
	if (nw)
		cli_violations_print(out, "warning: ", violations,
				     CLI_EFFECT_WARN, NULL, NULL);
	if (nv)
		cli_violations_print(out, "waived: ", violations,
				     CLI_EFFECT_WAIVED, NULL, NULL);
	if (nw || na || nv)
		fprintf(out,
			"optreg %s: policies: %zu warning%s, %zu waived, %zu "
			"audited\n",
			cmd, nw, nw == 1 ? "" : "s", nv, na);
}

/* Appends `block` with every line indented by two spaces. */
static void add_indented(struct optreg_buf *out, const char *block)
{
	const char *p = block;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		optreg_buf_addf(out, "  %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

/*
 * A 422 policy_denied: the problem's line, then every denying violation
 * like a lint error, with its policy, version and rule (what a waiver
 * names), then what else the policies found. Located in FILE through
 * `doc` when given.
 */
static void print_denied(struct cli_remote *r,
			 const struct optreg_http_resp *resp,
			 const json_t *body, const char *file,
			 const struct optreg_doc *doc)
{
	const json_t *viol = json_object_get(body, "violations"), *v;
	const char *detail = optreg_json_str(body, "detail");
	struct optreg_buf out = OPTREG_BUF_INIT;
	size_t i;

	optreg_buf_addf(&out, "optreg %s: ", r->cmd);
	add_printable(&out, detail ? detail : "denied by policy");
	optreg_buf_addf(&out, " (%ld policy_denied)\n", resp->status);
	for (unsigned pass = 0; pass < 2; pass++) {
		json_array_foreach(viol, i, v)
		{
			unsigned e =
				cli_effect_bit(optreg_json_str(v, "effect"));
			struct optreg_buf one = OPTREG_BUF_INIT;

			if (pass == 0 ? e != CLI_EFFECT_DENY
				      : !(e & (CLI_EFFECT_WARN |
					       CLI_EFFECT_WAIVED)))
				continue;
			if (pass == 1)
				optreg_buf_adds(&one, "also: ");
			cli_violation_format(v, file, doc, &one);
			if (file && pass == 0)
				optreg_buf_add(&out, one.data, one.len);
			else
				add_indented(&out, one.data);
			optreg_buf_release(&one);
		}
	}
	fputs(out.data, stderr);
	optreg_buf_release(&out);
	if (r->json)
		cli_print_json_text(resp->body.data, resp->body.len);
}

int cli_report_refusal(struct cli_remote *r,
		       const struct optreg_http_resp *resp, const char *file,
		       const struct optreg_doc *doc)
{
	json_t *body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	const json_t *viol = json_object_get(body, "violations"), *errs, *e;
	const char *code = optreg_json_str(body, "code");
	const char *detail = optreg_json_str(body, "detail");
	size_t i, ndeny = 0;
	int rc;

	json_array_foreach(viol, i, e) ndeny +=
		cli_effect_bit(optreg_json_str(e, "effect")) == CLI_EFFECT_DENY;
	if (code && !strcmp(code, "policy_denied") && ndeny) {
		print_denied(r, resp, body, file, doc);
		rc = optreg_code_exit(
			optreg_code_from_problem(code, resp->status));
		json_decref(body);
		return rc;
	}
	rc = cli_report_http_error(r, resp, file, doc);
	/* A refusal's errors[] item that repeats the problem's detail was
	 * folded into it above; its rule says which refusal it is
	 * (verdict_failed, no_verdict, no_previous, ...). */
	errs = json_object_get(body, "errors");
	json_array_foreach(errs, i, e)
	{
		const char *rule = optreg_json_str(e, "rule");
		const char *msg = optreg_json_str(e, "message");

		if (resp->status == 409 && rule && msg && detail &&
		    !strcmp(msg, detail) && (!code || strcmp(rule, code))) {
			char *shown = cli_printable(rule);

			fprintf(stderr, "  rule: %s\n", shown);
			free(shown);
		}
	}
	json_decref(body);
	return rc;
}
