/*
 * cli/remote.c: requests to the registry, and reporting their failures.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/errcodes.h"
#include "../common/jsonutil.h"
#include "args.h"
#include "output.h"
#include "remote.h"

int cli_remote_option(struct cli_remote *r, int argc, char **argv, int *i)
{
	int rc;

	if (!strcmp(argv[*i], "--json")) {
		r->json = 1;
		return 1;
	}
	rc = cli_opt_value(r->cmd, argc, argv, i, "--url", &r->url);
	if (rc)
		return rc;
	return cli_opt_value(r->cmd, argc, argv, i, "--token", &r->token);
}

void cli_remote_close(struct cli_remote *r)
{
	if (r->open)
		optreg_http_client_release(&r->client);
	r->open = 0;
}

void cli_print_problem(const char *code, const char *detail,
		       const struct optreg_errors *errs)
{
	json_t *o = json_pack("{s:s, s:s}", "code", code, "detail", detail);
	char *s;

	if (!o)
		return; /* not UTF-8: nothing a JSON reader could use */
	if (errs && errs->len) {
		json_t *arr = json_array();
		for (size_t i = 0; i < errs->len; i++)
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:s}", "path",
					       errs->items[i].path, "rule",
					       errs->items[i].rule, "message",
					       errs->items[i].message));
		json_object_set_new(o, "errors", arr);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

int cli_remote_request(struct cli_remote *r, const char *method,
		       const char *path, const char *body,
		       struct optreg_http_resp *resp)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	if (!r->open) {
		rc = optreg_http_client_init(&r->client, r->url, r->token,
					     &errs);
		if (rc < 0) {
			fprintf(stderr, "optreg %s: %s\n", r->cmd,
				errs.items[0].message);
			optreg_errors_release(&errs);
			return rc == OPTREG_EUSAGE ? OPTREG_EXIT_USAGE
						   : OPTREG_EXIT_UNAVAILABLE;
		}
		r->open = 1;
	}
	rc = optreg_http_request(&r->client, method, path, body, NULL, resp,
				 &errs);
	if (rc == 0)
		return 0;
	if (r->quiet) {
		optreg_errors_release(&errs);
		return OPTREG_EXIT_UNAVAILABLE;
	}
	fprintf(stderr, "optreg %s: %s\n", r->cmd, errs.items[0].message);
	if (errs.items[0].detail)
		fprintf(stderr, "  detail: %s\n", errs.items[0].detail);
	if (errs.items[0].hint)
		fprintf(stderr, "  hint: %s (OPTREG_URL or --url)\n",
			errs.items[0].hint);
	if (r->json)
		cli_print_problem("unavailable", errs.items[0].message, NULL);
	optreg_errors_release(&errs);
	return OPTREG_EXIT_UNAVAILABLE;
}

int cli_exit_for_http(long status)
{
	return optreg_code_exit(optreg_code_from_problem(NULL, status));
}

/* A hint for statuses where the next step is on this side. */
static const char *http_hint(const struct cli_remote *r, long status)
{
	const char *token = r->token ? r->token : getenv("OPTREG_TOKEN");

	switch (status) {
	case 401:
		if (!token || !token[0])
			return "no token is set: export OPTREG_TOKEN or pass "
			       "--token";
		return "the token is unknown, expired or revoked; ask an "
		       "admin for a new one";
	case 301:
	case 302:
	case 303:
	case 307:
	case 308:
		return "the registry does not redirect: check OPTREG_URL or "
		       "--url";
	case 503:
		return "the registry is starting or cannot reach its "
		       "database; retry later";
	}
	return NULL;
}

/* Writes `s` on stderr with every control character but its newlines
 * escaped (cli_printable): the registry's text cannot drive the
 * terminal. */
static void put_lines_printable(char *s)
{
	for (char *line = s, *end;; line = end + 1) {
		char *shown;

		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		shown = cli_printable(line);
		fputs(shown, stderr);
		free(shown);
		if (!end)
			break;
		*end = '\n';
		fputc('\n', stderr);
	}
}

int cli_report_http_error(struct cli_remote *r,
			  const struct optreg_http_resp *resp, const char *file,
			  const struct optreg_doc *doc)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     items = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	const char *code = optreg_http_resp_problem(resp, &errs);
	const struct optreg_error *top = &errs.items[0];
	const char *hint = http_hint(r, resp->status);
	int rc;

	optreg_buf_addf(&out, "optreg %s: %s", r->cmd, top->message);
	if (strncmp(code, "http_", 5))
		optreg_buf_addf(&out, " (%ld %s)\n", resp->status, code);
	else if (strncmp(top->message, "the registry answered", 21))
		optreg_buf_addf(&out, " (%ld)\n", resp->status);
	else
		optreg_buf_addch(&out, '\n');
	if (top->detail)
		optreg_buf_addf(&out, "  detail: %s\n", top->detail);
	for (size_t i = 1; i < errs.len; i++) {
		const struct optreg_error *e = &errs.items[i];
		const struct optreg_doc_loc *loc =
			doc ? optreg_doc_find(doc, e->path) : NULL;
		struct optreg_error *c;

		/* An item that repeats the problem's detail adds only its
		 * hint. */
		if (!strcmp(e->message, top->message)) {
			if (e->hint && !hint)
				hint = e->hint;
			continue;
		}
		c = optreg_errors_add(&items, e->code, e->rule, e->path, "%s",
				      e->message);
		if (e->hint)
			c->hint = optreg_xstrdup(e->hint);
		/* The registry's own position (a policy document's line)
		 * unless the document at hand locates the path. */
		c->line = e->line;
		c->col = e->col;
		if (e->detail)
			optreg_error_set_detail(c, "%s", e->detail);
		if (loc) {
			c->line = loc->line;
			c->col = loc->col;
		}
	}
	optreg_errors_sort(&items);
	if (file) {
		optreg_errors_format(&items, file, &out);
	} else {
		struct optreg_buf lines = OPTREG_BUF_INIT;
		optreg_errors_format(&items, NULL, &lines);
		for (char *p = lines.data, *nl; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			optreg_buf_addf(&out, "  %.*s\n", (int)(nl - p), p);
		}
		optreg_buf_release(&lines);
	}
	if (hint)
		optreg_buf_addf(&out, "  hint: %s\n", hint);
	put_lines_printable(out.data);

	if (r->json) {
		json_t *body =
			json_loadb(resp->body.data, resp->body.len, 0, NULL);
		if (json_is_object(body))
			cli_print_json_text(resp->body.data, resp->body.len);
		else
			cli_print_problem(code, top->message, NULL);
		json_decref(body);
	}
	optreg_buf_release(&out);
	optreg_errors_release(&items);
	/* The problem's code through the error table (common/errcodes.h);
	 * an unknown or missing code falls back to the HTTP status. */
	rc = optreg_code_exit(optreg_code_from_problem(code, resp->status));
	optreg_errors_release(&errs);
	return rc;
}

int cli_report(struct cli_remote *r, int status, const char *code,
	       const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	/* The arguments may be registry text: every control character but
	 * the format's newlines is escaped (cli_printable) on the terminal. */
	fputs("optreg ", stderr);
	fputs(r->cmd, stderr);
	fputs(": ", stderr);
	put_lines_printable(msg.data);
	fputc('\n', stderr);
	if (r->json)
		cli_print_problem(code, msg.data, NULL);
	optreg_buf_release(&msg);
	return status;
}

json_t *cli_response_json(struct cli_remote *r,
			  const struct optreg_http_resp *resp, size_t flags)
{
	json_error_t jerr;
	/* Documents that carry a config (JSON_DECODE_INT_AS_REAL) go
	 * through the one parser of JSON whose numbers are doubles. */
	json_t *root =
		flags & JSON_DECODE_INT_AS_REAL
			? optreg_json_load_doubles(resp->body.data,
						   resp->body.len, flags, &jerr)
			: json_loadb(resp->body.data, resp->body.len,
				     flags | JSON_REJECT_DUPLICATES, &jerr);

	if (root && json_is_object(root))
		return root;
	json_decref(root);
	cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
		   "the registry answered %ld with a body that is not a JSON "
		   "object (%s)",
		   resp->status, root ? "another JSON value" : jerr.text);
	return NULL;
}

int cli_remote_call(struct cli_remote *r, const char *method, const char *path,
		    const json_t *body, json_t **answer)
{
	struct optreg_http_resp resp;
	char *text = NULL;
	int rc;

	*answer = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text) {
			fprintf(stderr, "fatal: out of memory serializing "
					"JSON\n");
			abort();
		}
	}
	optreg_http_resp_init(&resp);
	rc = cli_remote_request(r, method, path, text, &resp);
	free(text);
	if (rc == 0 && (resp.status < 200 || resp.status > 299))
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc == 0 && !(*answer = cli_response_json(r, &resp, 0)))
		rc = OPTREG_EXIT_UNAVAILABLE;
	optreg_http_resp_release(&resp);
	return rc;
}

int cli_remote_pages(struct cli_remote *r, const char *path, const char *key,
		     long page_size, long limit, json_t *items, json_t **next)
{
	struct optreg_buf url = OPTREG_BUF_INIT;
	char *token = NULL;
	int rc = 0;

	*next = json_null();
	for (;;) {
		long want = limit ? limit - (long)json_array_size(items)
				  : page_size;
		char size[24];
		json_t *page, *got;
		const char *tok;
		bool done;

		snprintf(size, sizeof(size), "%ld",
			 want < page_size ? want : page_size);
		optreg_buf_reset(&url);
		optreg_buf_adds(&url, path);
		optreg_http_query_add(&url, "page_size", size);
		if (token)
			optreg_http_query_add(&url, "page_token", token);
		rc = cli_remote_call(r, "GET", url.data, NULL, &page);
		if (rc)
			break;
		got = json_object_get(page, key);
		if (!json_is_array(got)) {
			json_decref(page);
			rc = cli_report(
				r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's list has no %s array", key);
			break;
		}
		json_array_extend(items, got);
		tok = json_string_value(
			json_object_get(page, "next_page_token"));
		done = !tok || !tok[0] || !json_array_size(got) ||
		       (token && !strcmp(tok, token));
		free(token);
		token = tok ? optreg_xstrdup(tok) : NULL;
		json_decref(page);
		if (done)
			break;
		if (limit && (long)json_array_size(items) >= limit) {
			json_decref(*next);
			*next = json_string(token);
			break;
		}
	}
	/* A server that sent more than page_size. */
	while (limit && (long)json_array_size(items) > limit)
		json_array_remove(items, json_array_size(items) - 1);
	free(token);
	optreg_buf_release(&url);
	return rc;
}

int cli_remote_subcommand(const char *cmd, const struct cli_remote_sub *subs,
			  size_t n, const char *expected, const char *help,
			  int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "optreg %s: expected %s\n%s", cmd, expected,
			help);
		return OPTREG_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(help, stdout);
			return OPTREG_EXIT_OK;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		char name[32];
		snprintf(name, sizeof(name), "%s %s", cmd, subs[i].name);
		struct cli_remote r = {.cmd = name};
		int rc = subs[i].run(&r, argc - 1, argv + 1);
		cli_remote_close(&r);
		return rc;
	}
	return -1;
}
