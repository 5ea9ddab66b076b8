/*
 * cli/policy.c: `optreg policy push|list|show|evaluate|delete|test`.
 *
 * Policies live in the registry, versioned (docs/policies.md): push
 * stores each file as a new version of the policy it names (unchanged
 * when identical), list and show read them back, evaluate dry-runs a file
 * against every current version in its scope and lists what it would
 * deny, delete stops a policy from applying, and test runs the test cases
 * kept beside policy files offline (cli/policy_test.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/alloc.h"
#include "../common/jsonutil.h"
#include "../validator/policy.h"
#include "cli.h"

static const char help[] =
	"usage: optreg policy push FILE|DIR... [--message TEXT]\n"
	"       optreg policy list\n"
	"       optreg policy show NAME [--version N] [--versions]\n"
	"       optreg policy evaluate FILE\n"
	"       optreg policy delete NAME --reason TEXT\n"
	"       optreg policy test DIR\n"
	"(each registry subcommand also takes --json, --url URL and --token "
	"TOKEN)\n\n"
	"Manages the registry's policies (docs/policies.md):\n"
	"  push      stores each policy file (YAML or JSON; a DIR's *.yaml, "
	"*.yml and\n"
	"            *.json files, not its subfolders) as a new version of "
	"the policy it\n"
	"            names, and prints `NAME: version N sha256:... "
	"(created)`, or\n"
	"            (unchanged) when the registry holds it already. Needs the "
	"admin role.\n"
	"            Every file is checked first with the registry's "
	"loader: when one\n"
	"            would be refused, its errors are printed at its lines "
	"and nothing is\n"
	"            pushed\n"
	"  list      lists the policies in force: name, version, mode, "
	"namespaces, rule\n"
	"            and gate counts, who stored them, when and why\n"
	"  show      prints a policy's document as stored (--version N: an "
	"older one;\n"
	"            --versions: the list of its versions instead)\n"
	"  evaluate  dry-runs FILE against every version in its scope that is "
	"the latest\n"
	"            of its config or a tag's, not yanked, and lists the "
	"versions it\n"
	"            would deny or warn on (nothing is stored; admin role). "
	"Exits 1 when\n"
	"            it would deny any\n"
	"  delete    stops a policy from applying (its versions stay; admin "
	"role)\n"
	"  test      runs the test cases kept beside policy files, offline "
	"(`optreg\n"
	"            policy test --help`)\n\n"
	"Options:\n"
	"  --message TEXT   push: why (1 to 1024 characters), kept with the "
	"version\n"
	"  --version N      show: version N instead of the current one\n"
	"  --versions       show: list the versions\n"
	"  --reason TEXT    delete: why (required)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid (a refused policy file; evaluate: "
	"something would be\n"
	"denied), 2 usage, 3 I/O, 4 denied, 6 unauthorized, 7 unavailable, 8 "
	"not found.\nSee docs/cli.md.\n";

/* The positional arguments of a subcommand. */
struct args {
	const char **items;
	size_t len, cap;
};

static int take_arg(void *data, const char *a)
{
	struct args *t = data;

	OPTREG_ALLOC_GROW(t->items, t->len + 1, t->cap);
	t->items[t->len++] = a;
	return 0;
}

/* A policy file's bytes, its document (for locating errors) and name. */
struct policy_file {
	char *path;
	struct optreg_buf text;
	struct optreg_doc doc;
	const char *name; /* borrowed from doc */
};

static void policy_file_release(struct policy_file *f)
{
	free(f->path);
	optreg_buf_release(&f->text);
	optreg_doc_release(&f->doc);
}

/*
 * Reads `path` and finds the policy's name in it. Exit status (the
 * problem printed as `FILE:LINE:COL: ...`).
 */
static int policy_file_read(const char *path, struct policy_file *f)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *name;
	int rc;

	f->path = optreg_xstrdup(path);
	optreg_buf_init(&f->text);
	optreg_doc_init(&f->doc);
	f->name = NULL;
	rc = cli_read_input("policy", path, &f->text);
	if (rc)
		return rc;
	if (optreg_doc_load(&f->doc, path, f->text.data, f->text.len, &errs) <
	    0) {
		optreg_errors_print(stderr, path, &errs);
		optreg_errors_release(&errs);
		return OPTREG_EXIT_INVALID;
	}
	optreg_errors_release(&errs);
	{
		/* The registry's own loader: a file it would refuse is
		 * reported here, at its lines, and not sent. */
		struct optreg_policy *pol = NULL;
		int lrc = optreg_policy_load(&pol, path, f->text.data,
					     f->text.len, &errs);
		optreg_policy_free(pol);
		if (lrc < 0) {
			optreg_errors_sort(&errs);
			optreg_errors_print(stderr, path, &errs);
			optreg_errors_release(&errs);
			return OPTREG_EXIT_INVALID;
		}
		optreg_errors_release(&errs);
	}
	name = optreg_json_str(f->doc.root, "name");
	if (!name) {
		fprintf(stderr,
			"%s: name: the policy file has no name\n"
			"  hint: add `name: my-policy` ([a-z0-9][a-z0-9._-]*, "
			"at most 64 characters) at the top\n",
			path);
		return OPTREG_EXIT_INVALID;
	}
	f->name = name;
	return 0;
}

static int has_policy_ext(const char *name)
{
	size_t n = strlen(name);
	static const char *const exts[] = {".yaml", ".yml", ".json"};

	if (name[0] == '.')
		return 0;
	for (size_t i = 0; i < 3; i++) {
		size_t e = strlen(exts[i]);
		if (n > e && !strcmp(name + n - e, exts[i]))
			return 1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_policy_files(const char *const *args, size_t nargs, char ***out,
		     size_t *nout)
{
	size_t n = 0, cap = 0;
	char **list = NULL;
	int rc = 0;

	for (size_t i = 0; i < nargs && !rc; i++) {
		const char *p = args[i];
		struct stat st;
		size_t first = n;
		struct dirent *de;
		DIR *d;

		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			OPTREG_ALLOC_GROW(list, n + 1, cap);
			list[n++] = optreg_xstrdup(p);
			continue;
		}
		d = opendir(p);
		if (!d) {
			perror(p);
			rc = OPTREG_EXIT_IO;
			break;
		}
		while ((de = readdir(d))) {
			char *full;
			struct stat fst;

			if (!has_policy_ext(de->d_name))
				continue;
			full = optreg_xasprintf(
				"%s%s%s", p, p[strlen(p) - 1] == '/' ? "" : "/",
				de->d_name);
			if (stat(full, &fst) == 0 && S_ISREG(fst.st_mode)) {
				OPTREG_ALLOC_GROW(list, n + 1, cap);
				list[n++] = full;
			} else {
				free(full);
			}
		}
		closedir(d);
		if (n == first) {
			fprintf(stderr,
				"optreg policy: %s has no policy files\n"
				"  hint: policy files end in .yaml, .yml or "
				".json\n",
				p);
			rc = OPTREG_EXIT_USAGE;
		}
		if (n > first) /* list is NULL while nothing was found */
			qsort(list + first, n - first, sizeof(*list), cmp_str);
	}
	*out = list;
	*nout = n;
	return rc;
}

static void policy_path(struct optreg_buf *path, const char *name)
{
	optreg_buf_adds(path, "/v1/policies");
	optreg_http_path_add(path, name);
}

/* PUT one file. Exit status. */
static int push_one(struct cli_remote *r, const char *file, const char *message)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	struct policy_file f;
	json_t *body, *ans = NULL;
	long version = 0;
	char *text;
	int rc;

	optreg_http_resp_init(&resp);
	rc = policy_file_read(file, &f);
	if (rc)
		goto out;
	policy_path(&path, f.name);
	body = json_pack("{s:s%}", "document", f.text.data, f.text.len);
	if (!body) {
		fprintf(stderr, "%s: the policy file is not valid UTF-8\n",
			file);
		rc = OPTREG_EXIT_INVALID;
		goto out;
	}
	cli_change_add(body, "message", message);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "PUT", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_http_error(r, &resp, file, NULL);
		goto out;
	}
	ans = cli_response_json(r, &resp, 0);
	if (!ans) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	if (r->json) {
		rc = cli_print_json(ans);
	} else {
		char *digest =
			cli_printable(cli_cell(optreg_json_str(ans, "digest")));
		cli_json_count(ans, "version", &version);
		printf("%s: version %ld %s (%s)\n", f.name, version, digest,
		       json_is_true(json_object_get(ans, "created"))
			       ? "created"
			       : "unchanged");
		free(digest);
	}
out:
	json_decref(ans);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	policy_file_release(&f);
	return rc;
}

static int push(struct cli_remote *r, const struct args *a, const char *message)
{
	char **files = NULL;
	size_t n = 0;
	int rc, first = 0;

	if (!a->len) {
		fprintf(stderr, "optreg policy push: expected FILE or DIR\n");
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_policy_files(a->items, a->len, &files, &n);
	/* Every file is checked here first, with the registry's own loader:
	 * one that would be refused stops the push before anything is
	 * stored, so a folder goes in whole or not at all. */
	for (size_t i = 0; i < n && !rc; i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_policy *pol = NULL;
		int lrc = optreg_policy_load_file(&pol, files[i], &errs);

		if (lrc < 0) {
			optreg_errors_sort(&errs);
			optreg_errors_print(stderr, files[i], &errs);
			if (!first)
				first = lrc == OPTREG_EIO ? OPTREG_EXIT_IO
							  : OPTREG_EXIT_INVALID;
		}
		optreg_policy_free(pol);
		optreg_errors_release(&errs);
	}
	if (first && !rc) {
		fprintf(stderr,
			"optreg policy push: nothing pushed: fix the policy "
			"files above (`optreg policy test` and `optreg lint "
			"--policies` check them offline)\n");
		rc = first;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		int one = push_one(r, files[i], message);
		/* A refused file does not stop the others; a broken
		 * connection or a missing role does. */
		if (one && !first)
			first = one;
		if (one && one != OPTREG_EXIT_INVALID && one != OPTREG_EXIT_IO)
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (rc)
		return rc;
	if (fflush(stdout))
		return OPTREG_EXIT_IO;
	return first;
}

/* "a,b" from a JSON array of strings. */
static char *join(const json_t *arr)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			optreg_buf_addf(&b, "%s%s", b.len ? "," : "",
					json_string_value(v));
	}
	if (!b.len)
		optreg_buf_adds(&b, "-");
	return optreg_buf_detach(&b, NULL);
}

/* A member that is a count or a list, as a cell. */
static char *count_cell(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	long n;

	if (json_is_array(v))
		return optreg_xasprintf("%zu", json_array_size(v));
	if (cli_json_count(o, key, &n) == 0)
		return optreg_xasprintf("%ld", n);
	return optreg_xstrdup("-");
}

static int list(struct cli_remote *r)
{
	static const char *const head[] = {"NAME",	 "VERSION", "MODE",
					   "NAMESPACES", "RULES",   "GATES",
					   "CREATED",	 "BY",	    "MESSAGE"};
	enum {
		NCOLS = 9
	};
	json_t *ans = NULL;
	const json_t *items;
	char **cells;
	size_t n;
	int rc = cli_remote_call(r, "GET", "/v1/policies", NULL, &ans);

	if (rc)
		return rc;
	items = json_object_get(ans, "policies");
	if (!json_is_array(items)) {
		json_decref(ans);
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry's answer has no policies "
				  "array");
	}
	if (r->json) {
		rc = cli_print_json(ans);
		json_decref(ans);
		return rc;
	}
	n = json_array_size(items);
	if (!n) {
		fprintf(stderr, "optreg policy: no policies are stored\n"
				"  hint: `optreg policy push policies/` "
				"stores the default set\n");
		json_decref(ans);
		return 0;
	}
	cells = optreg_xcalloc(n * NCOLS, sizeof(*cells));
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(items, i);
		char **row = cells + i * NCOLS;
		long v = 0;

		cli_json_count(p, "version", &v);
		row[0] = optreg_xstrdup(cli_cell(optreg_json_str(p, "name")));
		row[1] = optreg_xasprintf("%ld", v);
		row[2] = optreg_xstrdup(cli_cell(optreg_json_str(p, "mode")));
		row[3] = join(json_object_get(p, "namespaces"));
		row[4] = count_cell(p, "rules");
		row[5] = count_cell(p, "gates");
		row[6] = optreg_xstrdup(
			cli_cell(optreg_json_str(p, "created_at")));
		row[7] = optreg_xstrdup(
			cli_cell(optreg_json_str(p, "created_by")));
		row[8] =
			optreg_xstrdup(cli_cell(optreg_json_str(p, "message")));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	json_decref(ans);
	return rc;
}

static int print_versions(const json_t *versions)
{
	static const char *const head[] = {"VERSION", "DIGEST", "CREATED", "BY",
					   "MESSAGE"};
	enum {
		NCOLS = 5
	};
	size_t n = json_array_size(versions);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(versions, i);
		char **row = cells + i * NCOLS;
		long num = 0;

		cli_json_count(v, "version", &num);
		row[0] = optreg_xasprintf("%ld", num);
		row[1] = optreg_xasprintf(
			"%.19s", cli_cell(optreg_json_str(v, "digest")));
		row[2] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_at")));
		row[3] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_by")));
		/* A deletion (tombstone) version has no digest. */
		if (json_is_true(json_object_get(v, "deleted")))
			row[4] = optreg_xasprintf(
				"DELETED: %s",
				cli_cell(optreg_json_str(v, "message")));
		else
			row[4] = optreg_xstrdup(
				cli_cell(optreg_json_str(v, "message")));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static int show(struct cli_remote *r, const char *name, const char *verarg,
		bool versions)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *ans = NULL;
	const char *doc;
	int rc;

	policy_path(&path, name);
	if (verarg)
		optreg_http_query_add(&path, "version", verarg);
	rc = cli_remote_call(r, "GET", path.data, NULL, &ans);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	doc = optreg_json_str(ans, "document");
	if (r->json)
		rc = cli_print_json(ans);
	else if (versions)
		rc = print_versions(json_object_get(ans, "versions"));
	else if (json_is_true(json_object_get(ans, "deleted"))) {
		/* A deletion version has no document: say what it did. */
		const char *msg = optreg_json_str(ans, "message");
		char *shown = cli_printable(msg ? msg : "");
		long num = 0;

		cli_json_count(ans, "version", &num);
		printf("version %ld deletes policy %s%s%s\n", num, name,
		       msg ? ": " : "", shown);
		free(shown);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : 0;
	} else if (!doc)
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer for policy \"%s\" has "
				"no document",
				name);
	else
		rc = cli_print_json_text(doc, strlen(doc));
	json_decref(ans);
	return rc;
}

/* Rule ids of a dry-run item's violations whose effect is in `mask`. */
static char *rules_cell(const json_t *item, unsigned mask)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(item, "violations"), i, v)
	{
		const char *rule = optreg_json_str(v, "rule");
		if (rule && cli_effect_bit(optreg_json_str(v, "effect")) & mask)
			optreg_buf_addf(&b, "%s%s", b.len ? "," : "", rule);
	}
	if (!b.len)
		optreg_buf_adds(&b, "-");
	return optreg_buf_detach(&b, NULL);
}

/* Appends the rows of one list of the dry run (denied or warned). */
static void dry_rows(const json_t *list, const char *effect, unsigned mask,
		     char ***cells, size_t *n, size_t *cap)
{
	const json_t *it;
	size_t i;

	json_array_foreach(list, i, it)
	{
		const char *ns = optreg_json_str(it, "namespace");
		const char *name = optreg_json_str(it, "name");
		long v = 0;

		cli_json_count(it, "version", &v);
		OPTREG_ALLOC_GROW(*cells, (*n + 1) * 4, *cap);
		(*cells)[*n * 4] = optreg_xasprintf("%s/%s@%ld", ns ? ns : "?",
						    name ? name : "?", v);
		(*cells)[*n * 4 + 1] = join(json_object_get(it, "tags"));
		(*cells)[*n * 4 + 2] = optreg_xstrdup(effect);
		(*cells)[*n * 4 + 3] = rules_cell(it, mask);
		(*n)++;
	}
}

static int evaluate(struct cli_remote *r, const char *file)
{
	static const char *const head[] = {"VERSION", "TAGS", "EFFECT",
					   "RULES"};
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *body = NULL, *ans = NULL;
	const json_t *denied, *warned;
	struct policy_file f;
	char **cells = NULL;
	size_t n = 0, cap = 0;
	long evaluated = 0, skipped = 0;
	char skipnote[80] = "";
	int rc;

	rc = policy_file_read(file, &f);
	if (rc)
		goto out;
	body = json_pack("{s:s%}", "document", f.text.data, f.text.len);
	if (!body) {
		fprintf(stderr, "%s: the policy file is not valid UTF-8\n",
			file);
		rc = OPTREG_EXIT_INVALID;
		goto out;
	}
	policy_path(&path, f.name);
	optreg_buf_adds(&path, "/evaluate");
	{
		struct optreg_http_resp resp;
		char *text =
			json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

		optreg_http_resp_init(&resp);
		rc = cli_remote_request(r, "POST", path.data, text, &resp);
		free(text);
		if (rc == 0 && resp.status != 200)
			rc = cli_report_http_error(r, &resp, file, NULL);
		if (rc == 0 && !(ans = cli_response_json(r, &resp, 0)))
			rc = OPTREG_EXIT_UNAVAILABLE;
		optreg_http_resp_release(&resp);
		if (rc)
			goto out;
	}
	denied = json_object_get(ans, "denied");
	warned = json_object_get(ans, "warned");
	cli_json_count(ans, "evaluated", &evaluated);
	if (r->json) {
		rc = cli_print_json(ans);
	} else {
		dry_rows(denied, "deny", CLI_EFFECT_DENY, &cells, &n, &cap);
		dry_rows(warned, "warn", CLI_EFFECT_WARN, &cells, &n, &cap);
		if (n)
			rc = cli_print_table(head, 4, cells, n);
	}
	if (cli_json_count(ans, "skipped", &skipped) < 0)
		skipped = 0;
	if (skipped)
		snprintf(skipnote, sizeof(skipnote),
			 " (%ld skipped: stored payload does not parse)",
			 skipped);
	fprintf(stderr,
		"optreg policy evaluate: %s would deny %zu and warn on %zu of "
		"%ld versions%s%s\n",
		f.name, json_array_size(denied), json_array_size(warned),
		evaluated, skipnote,
		json_is_true(json_object_get(ans, "truncated"))
			? " (truncated: only the first were evaluated)"
			: "");
	if (rc == 0 && json_array_size(denied))
		rc = OPTREG_EXIT_INVALID;
out:
	for (size_t i = 0; i < n * 4; i++)
		free(cells[i]);
	free(cells);
	json_decref(body);
	json_decref(ans);
	optreg_buf_release(&path);
	if (f.path)
		policy_file_release(&f);
	return rc;
}

static int delete_policy(struct cli_remote *r, const char *name,
			 const char *reason)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *body = json_pack("{s:s}", "reason", reason), *ans = NULL;
	int rc;

	policy_path(&path, name);
	rc = cli_remote_call(r, "DELETE", path.data, body, &ans);
	if (rc == 0) {
		if (r->json)
			rc = cli_print_json(ans);
		else
			printf("%s: deleted: %s\n", name, reason);
	}
	json_decref(body);
	json_decref(ans);
	optreg_buf_release(&path);
	return rc;
}

/* A subcommand's one NAME argument. */
static int one_name(const char *sub, const struct args *a, const char **name)
{
	if (a->len != 1) {
		fprintf(stderr, "optreg policy %s: expected one NAME%s\n", sub,
			a->len ? " (got more)" : "");
		return OPTREG_EXIT_USAGE;
	}
	*name = a->items[0];
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "policy"};
	struct args a = {NULL, 0, 0};
	const char *message = NULL, *verarg = NULL, *reason = NULL, *name;
	const char *sub;
	bool versions = false;
	long num;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--message", "TEXT", "push: why", &message),
		CLI_OPT_STRING("--version", "N", "show: version N", &verarg),
		CLI_OPT_BOOL("--versions", "show: the versions", &versions),
		CLI_OPT_STRING("--reason", "TEXT", "delete: why", &reason),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "policy",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = take_arg,
				     .arg_data = &a};

	if (argc < 2) {
		fprintf(stderr, "optreg policy: expected a subcommand\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	sub = argv[1];
	if (cli_is_help(sub)) {
		fputs(help, stdout);
		return OPTREG_EXIT_OK;
	}
	if (!strcmp(sub, "test"))
		return cmd_policy_test(argc - 1, argv + 1);
	if (strcmp(sub, "push") && strcmp(sub, "list") && strcmp(sub, "show") &&
	    strcmp(sub, "evaluate") && strcmp(sub, "delete")) {
		fprintf(stderr,
			"optreg policy: unknown subcommand \"%s\"\n"
			"  hint: push, list, show, evaluate, delete or test\n",
			sub);
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_parse_options(&p, options, argc - 1, argv + 1);
	if (rc) {
		free(a.items);
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	}
	rc = cli_change_check("policy", "--message", message,
			      CLI_CHANGE_MAX_TEXT, false);
	if (rc == 0)
		rc = cli_change_check("policy", "--reason", reason,
				      CLI_CHANGE_MAX_TEXT, false);
	if (rc == 0 && message && strcmp(sub, "push")) {
		fprintf(stderr, "optreg policy: --message is for push\n");
		rc = OPTREG_EXIT_USAGE;
	}
	if (rc == 0 && (verarg || versions) && strcmp(sub, "show")) {
		fprintf(stderr,
			"optreg policy: --version and --versions are for "
			"show\n");
		rc = OPTREG_EXIT_USAGE;
	}
	if (rc == 0 && reason && strcmp(sub, "delete")) {
		fprintf(stderr, "optreg policy: --reason is for delete\n");
		rc = OPTREG_EXIT_USAGE;
	}
	if (rc == 0 && verarg && cli_parse_count(verarg, &num) < 0) {
		fprintf(stderr,
			"optreg policy show: --version must be a whole number "
			"from 1 (got \"%s\")\n",
			verarg);
		rc = OPTREG_EXIT_USAGE;
	}
	if (rc)
		goto out;
	r.cmd = !strcmp(sub, "evaluate") ? "policy evaluate" : "policy";
	if (!strcmp(sub, "push")) {
		rc = push(&r, &a, message);
	} else if (!strcmp(sub, "list")) {
		if (a.len) {
			fprintf(stderr, "optreg policy list: takes no "
					"arguments\n");
			rc = OPTREG_EXIT_USAGE;
		} else {
			rc = list(&r);
		}
	} else if (!strcmp(sub, "show")) {
		rc = one_name("show", &a, &name);
		if (rc == 0)
			rc = show(&r, name, verarg, versions);
	} else if (!strcmp(sub, "evaluate")) {
		rc = one_name("evaluate", &a, &name);
		if (rc == 0)
			rc = evaluate(&r, name);
	} else {
		rc = one_name("delete", &a, &name);
		if (rc == 0 && !reason) {
			fprintf(stderr, "optreg policy delete: --reason is "
					"required\n");
			rc = OPTREG_EXIT_USAGE;
		}
		if (rc == 0)
			rc = delete_policy(&r, name, reason);
	}
	cli_remote_close(&r);
out:
	free(a.items);
	return rc;
}
