/*
 * cli/main.c: `optreg`, the command-line client. Dispatches to one function
 * per command; see `optreg --help`.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	{"tag", cmd_tag, "point a tag at a version"},
	{"log", cmd_log, "list a config's versions, newest first"},
	{"yank", cmd_yank, "mark a version as not to be used"},
	{"verdicts", cmd_verdicts, "list the runners' verdicts on a version"},
	{"key", cmd_key, "register, list and revoke signing keys"},
	{"namespace", cmd_namespace,
	 "show or set a namespace's signature threshold"},
	{"audit", cmd_audit, "read and verify the registry's audit log"},
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
		"  OPTREG_REGISTRY_PUBKEY  registry public key file that fetch "
		"--verify checks\n"
		"                          receipts with (pinned)\n\n"
		"Exit status:\n"
		"  0 ok                1 invalid (locally or 400/413/415/422)\n"
		"  2 usage             3 I/O (a local file)\n"
		"  4 denied (403)      5 conflict (409)\n"
		"  6 unauthorized (401)\n"
		"  7 unavailable (no answer, 5xx, a broken answer)\n"
		"  8 not found (404)\n",
		OPTREG_DEFAULT_URL);
}

int cli_one_arg(const char *cmd, const char *what, const char **slot,
		const char *arg)
{
	if (*slot) {
		fprintf(stderr,
			"optreg %s: expected one %s (got \"%s\" and "
			"\"%s\")\n",
			cmd, what, *slot, arg);
		return OPTREG_EXIT_USAGE;
	}
	*slot = arg;
	return 0;
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_load_doc(const char *file, struct optreg_doc *doc,
		 struct optreg_errors *errs)
{
	struct optreg_buf in = OPTREG_BUF_INIT;
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-"))
		return optreg_doc_load_file(doc, file, errs);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		optreg_buf_add(&in, chunk, n);
	rc = optreg_doc_load(doc, "-", in.data, in.len, errs);
	optreg_buf_release(&in);
	return rc;
}

int cli_load(const char *file, struct optreg_doc *doc,
	     struct optreg_errors *errs)
{
	int rc = cli_load_doc(file, doc, errs);

	if (rc == 0)
		return 0;
	cli_print_errors(file, errs);
	return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
}

void cli_print_errors(const char *file, const struct optreg_errors *errs)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	optreg_errors_format(errs, file, &out);
	fputs(out.data, stderr);
	optreg_buf_release(&out);
}

int cli_write_stdout(const struct optreg_buf *b)
{
	if (fwrite(b->data, 1, b->len, stdout) != b->len ||
	    fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
		  const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "optreg %s: %s needs a value\n", cmd, name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int cli_parse_count(const char *s, long *out)
{
	long v = 0;

	if (!s[0] || s[0] == '0' || strlen(s) > 15)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* ---- Registry commands ---------------------------------------------- */

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
	switch (status) {
	case 401:
		return OPTREG_EXIT_UNAUTHORIZED;
	case 403:
		return OPTREG_EXIT_DENIED;
	case 404:
		return OPTREG_EXIT_NOT_FOUND;
	case 409:
		return OPTREG_EXIT_CONFLICT;
	case 429:
		return OPTREG_EXIT_UNAVAILABLE;
	}
	if (status >= 400 && status < 500)
		return OPTREG_EXIT_INVALID;
	return OPTREG_EXIT_UNAVAILABLE;
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
	fputs(out.data, stderr);

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
	optreg_errors_release(&errs);
	return cli_exit_for_http(resp->status);
}

int cli_report(struct cli_remote *r, int status, const char *code,
	       const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "optreg %s: %s\n", r->cmd, msg.data);
	if (r->json)
		cli_print_problem(code, msg.data, NULL);
	optreg_buf_release(&msg);
	return status;
}

json_t *cli_response_json(struct cli_remote *r,
			  const struct optreg_http_resp *resp, size_t flags)
{
	json_error_t jerr;
	json_t *root = json_loadb(resp->body.data, resp->body.len,
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

int cli_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (!s) {
		fprintf(stderr, "fatal: out of memory serializing JSON\n");
		abort();
	}
	rc = cli_print_json_text(s, strlen(s));
	free(s);
	return rc;
}

const char *cli_cell(const char *s)
{
	return s && s[0] ? s : "-";
}

int cli_print_table(const char *const *head, size_t ncols, char *const *cells,
		    size_t nrows)
{
	size_t *width = optreg_xcalloc(ncols, sizeof(*width));

	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(head[c]);
	for (size_t i = 0; i < nrows * ncols; i++)
		if (strlen(cells[i]) > width[i % ncols])
			width[i % ncols] = strlen(cells[i]);
	for (size_t i = 0; i <= nrows; i++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s =
				i ? cells[(i - 1) * ncols + c] : head[c];
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
	}
	free(width);
	if (fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int cli_json_count(const json_t *o, const char *key, long *out)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!(d >= 0 && d <= 1e15) || d != (double)(long)d)
		return -1;
	*out = (long)d;
	return 0;
}

int cli_print_json_text(const char *text, size_t len)
{
	if (fwrite(text, 1, len, stdout) != len ||
	    ((len == 0 || text[len - 1] != '\n') && putchar('\n') == EOF) ||
	    fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

/* ---- References ------------------------------------------------------- */

/* [a-z0-9] then up to `max` - 1 of [a-z0-9] and `extra`. */
static int name_valid(const char *s, size_t len, size_t max, const char *extra)
{
	if (len == 0 || len > max)
		return 0;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'a' && c <= 'z') && !isdigit(c) &&
		    !(c && strchr(extra, c)))
			return 0;
	}
	return 1;
}

int cli_namespace_valid(const char *ns)
{
	return name_valid(ns, strlen(ns), 63, "-");
}

int cli_tag_valid(const char *tag)
{
	size_t len = strlen(tag);

	return name_valid(tag, len, 64, "._-") &&
	       strspn(tag, "0123456789") != len;
}

static const char *kind_list(unsigned allowed)
{
	switch (allowed) {
	case CLI_REF_CONFIG:
		return "NAMESPACE/NAME";
	case CLI_REF_VERSION:
		return "NAMESPACE/NAME@VERSION";
	case CLI_REF_VERSION | CLI_REF_TAG:
		return "NAMESPACE/NAME@VERSION or NAMESPACE/NAME@TAG";
	}
	return "NAMESPACE/NAME@VERSION, NAMESPACE/NAME@TAG or sha256:DIGEST";
}

int cli_ref_parse(const char *s, unsigned allowed, struct cli_ref *ref,
		  struct optreg_buf *why)
{
	const char *slash, *at, *name;
	size_t nslen, namelen;

	memset(ref, 0, sizeof(*ref));
	if (!strncmp(s, "sha256:", 7)) {
		const char *hex = s + 7;
		if (!(allowed & CLI_REF_DIGEST)) {
			optreg_buf_addf(why, "\"%s\": expected %s", s,
					kind_list(allowed));
			return -1;
		}
		if (strlen(hex) != 64 ||
		    strspn(hex, "0123456789abcdef") != 64) {
			optreg_buf_addf(why,
					"\"%s\": a digest is sha256: and 64 "
					"lowercase hex digits",
					s);
			return -1;
		}
		ref->kind = CLI_REF_DIGEST;
		memcpy(ref->digest, s, OPTREG_DIGEST_LEN + 1);
		return 0;
	}
	slash = strchr(s, '/');
	if (!slash) {
		optreg_buf_addf(why, "\"%s\": expected %s", s,
				kind_list(allowed));
		return -1;
	}
	nslen = (size_t)(slash - s);
	name = slash + 1;
	at = strchr(name, '@');
	namelen = at ? (size_t)(at - name) : strlen(name);
	if (!name_valid(s, nslen, 63, "-")) {
		optreg_buf_addf(why,
				"\"%.*s\": a namespace is 1 to 63 of a-z, 0-9 "
				"and -, starting with a letter or digit",
				(int)nslen, s);
		return -1;
	}
	if (!name_valid(name, namelen, 128, "._-")) {
		optreg_buf_addf(why,
				"\"%.*s\": a config name is 1 to 128 of a-z, "
				"0-9, '.', '_' and '-', starting with a letter "
				"or digit",
				(int)namelen, name);
		return -1;
	}
	memcpy(ref->ns, s, nslen);
	memcpy(ref->name, name, namelen);
	if (!at) {
		ref->kind = CLI_REF_CONFIG;
	} else if (at[1] >= '0' && at[1] <= '9' &&
		   strspn(at + 1, "0123456789") == strlen(at + 1)) {
		ref->kind = CLI_REF_VERSION;
		if (cli_parse_count(at + 1, &ref->version) < 0) {
			optreg_buf_addf(why,
					"\"%s\": a version is a whole number "
					"from 1, without leading zeros",
					at + 1);
			return -1;
		}
	} else {
		ref->kind = CLI_REF_TAG;
		if (!cli_tag_valid(at + 1)) {
			optreg_buf_addf(why,
					"\"%s\": a tag is 1 to 64 of a-z, 0-9, "
					"'.', '_' and '-', starting with a "
					"letter or digit",
					at + 1);
			return -1;
		}
		memcpy(ref->tag, at + 1, strlen(at + 1) + 1);
	}
	if (!(allowed & ref->kind)) {
		optreg_buf_addf(why, "\"%s\": expected %s", s,
				kind_list(allowed));
		return -1;
	}
	return 0;
}

void cli_print_tag_move(const struct cli_ref *ref, const char *tag,
			long version, const json_t *answer)
{
	long prev;

	printf("%s/%s@%s -> %ld ", ref->ns, ref->name, tag, version);
	if (cli_json_count(answer, "previous_version", &prev) < 0)
		printf("(new tag)\n");
	else if (prev == version)
		printf("(unchanged)\n");
	else
		printf("(was %ld)\n", prev);
}

void cli_config_path(struct optreg_buf *path, const struct cli_ref *ref)
{
	optreg_buf_adds(path, "/v1/configs");
	optreg_http_path_add(path, ref->ns);
	optreg_http_path_add(path, ref->name);
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
