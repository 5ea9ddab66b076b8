/*
 * cli/diff.c: `optreg diff A B [--json]`.
 *
 * Compares two configs in optimizer terms (validator/config_diff.h). Each
 * side is a registry reference (a version, a tag, the latest version or a
 * digest) or a local file (a YAML or JSON config, or a signed envelope).
 * What comes from the registry is checked against its digest as `fetch`
 * checks it before it is compared; a local file is validated as `lint`
 * validates it. Exit status as diff(1) has it, moved off 1 (which is
 * `invalid` for every optreg command): 0 the same config, 13 they differ,
 * anything else trouble.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/jsonutil.h"
#include "../validator/config_diff.h"
#include "cli.h"
#include "wrap.h"

static const char help[] =
	"usage: optreg diff A B [--json] [--url URL] [--token TOKEN]\n\n"
	"Shows what changed from config A to config B in optimizer terms, one "
	"line\n"
	"per change:\n"
	"  --- team-nlp/bert@6  sha256:1f0c3a9e27b4\n"
	"  +++ team-nlp/bert@7  sha256:8d2e61c0f5a3\n"
	"  ~ lr 0.0003 -> 0.001 (x3.3)\n"
	"  ~ optimizer adam -> adamw: weight decay becomes decoupled (...)\n"
	"  - warmup 500 -> 0 steps: removed\n"
	"`~` marks a changed setting, `+` one that B adds, `-` one it "
	"removes. Two\n"
	"documents that differ only in form (layout, number spelling, "
	"defaults\n"
	"written out) are the same config.\n\n"
	"A and B are each one of\n"
	"  team-nlp/bert@7        version 7\n"
	"  team-nlp/bert@prod     the version the tag prod points at\n"
	"  team-nlp/bert          the latest version\n"
	"  sha256:<64 hex>        the content with that digest\n"
	"  FILE                   a YAML or JSON config, or a signed envelope "
	"(an\n"
	"                         existing file, or - for standard input; "
	"write ./NAME\n"
	"                         for a file named like a reference)\n"
	"Content from the registry is checked against its digest first, as "
	"fetch\n"
	"checks it; a local file is validated as lint validates it.\n\n"
	"Options:\n"
	"  --json           print {\"a\": {\"ref\", \"digest\", \"version\"}, "
	"\"b\": {...},\n"
	"                   \"equal\": true|false, \"changes\": [{\"path\", "
	"\"kind\", \"old\",\n"
	"                   \"new\", \"text\"}]} (kind: changed, added or "
	"removed)\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 the same config, 13 they differ, 1 invalid (a file "
	"fails\n"
	"validation, or content does not match its digest), 2 usage, 3 I/O, 4 "
	"denied,\n"
	"6 unauthorized, 7 unavailable, 8 not found. See docs/cli.md.\n";

/* One side of the comparison. */
struct side {
	const char *arg;		    /* as given */
	char *version;			    /* "ns/name@N", or NULL (a file) */
	struct optreg_checked_config cc;    /* the config and its digest */
	char digest[OPTREG_DIGEST_LEN + 1]; /* what the registry names */
};

/* `arg` names a local file: "-", or an existing file that is not a
 * folder (errno says why not). */
static bool is_file(const char *arg)
{
	struct stat st;

	if (!strcmp(arg, "-"))
		return true;
	if (stat(arg, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return false;
	}
	return true;
}

/*
 * Validates the canonical bytes `canon` of registry content as the
 * config of side `s`. Exit status (the registry holds only valid
 * configs: anything else is a broken answer).
 */
static int load_canon(struct cli_remote *r, struct side *s,
		      const struct optreg_buf *canon)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_config_load_checked(&s->cc, NULL, canon->data,
					    canon->len, OPTREG_CONFIG_JSON,
					    &errs);

	if (rc < 0) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry sent %s as a config that does "
				"not validate: %s: %s",
				s->arg, errs.len ? errs.items[0].path : "",
				errs.len ? errs.items[0].message : "?");
	}
	optreg_errors_release(&errs);
	return rc;
}

static void warn_yanked(struct cli_remote *r, const char *what, const char *why)
{
	char *shown = cli_printable(why ? why : "");

	fprintf(stderr, "optreg %s: warning: %s is yanked%s%s\n", r->cmd, what,
		why ? ": " : "", shown);
	free(shown);
}

/* GET /v1/digests/{d}: the bytes must hash to the digest. Exit status. */
static int get_digest(struct cli_remote *r, const struct cli_ref *ref,
		      struct side *s)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	char got[OPTREG_DIGEST_LEN + 1];
	int rc;

	optreg_http_resp_init(&resp);
	optreg_buf_adds(&path, "/v1/digests");
	optreg_http_path_add(&path, ref->digest);
	rc = cli_remote_request(r, "GET", path.data, NULL, &resp);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}
	optreg_jcs_digest(resp.body.data, resp.body.len, got);
	if (strcmp(got, ref->digest)) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				"the registry sent content whose digest is "
				"%s, not %s",
				got, ref->digest);
		goto out;
	}
	if (resp.version)
		s->version = cli_printable(resp.version);
	if (resp.yanked && !strcasecmp(resp.yanked, "true"))
		warn_yanked(r, s->version ? s->version : ref->digest, NULL);
	memcpy(s->digest, got, sizeof(got));
	rc = load_canon(r, s, &resp.body);
out:
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

/*
 * GET a version by number or tag; checks that it is the one asked for and
 * that its config canonicalizes to its digest. Exit status.
 */
static int get_version(struct cli_remote *r, const struct cli_ref *ref,
		       struct side *s)
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	char got[OPTREG_DIGEST_LEN + 1];
	const char *digest, *ns, *name;
	json_t *doc = NULL;
	long version;
	int rc;

	optreg_http_resp_init(&resp);
	rc = cli_version_get(r, ref, s->arg, &resp, NULL, &doc);
	if (rc)
		goto out;
	digest = optreg_json_str(doc, "digest");
	ns = optreg_json_str(doc, "namespace");
	name = optreg_json_str(doc, "name");
	cli_json_count(doc, "version", &version);
	s->version = optreg_xasprintf("%s/%s@%ld", ns, name, version);
	if (optreg_jcs_serialize(json_object_get(doc, "config"), &canon, NULL) <
	    0) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				"the config of %s cannot be canonicalized",
				s->version);
		goto out;
	}
	optreg_jcs_digest(canon.data, canon.len, got);
	if (strcmp(got, digest) || (resp.digest && strcmp(resp.digest, got))) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				"the config of %s does not match its digest: "
				"it canonicalizes to %s, the registry says %s",
				s->version, got,
				strcmp(got, digest) ? digest : resp.digest);
		goto out;
	}
	if (json_is_true(json_object_get(doc, "yanked")))
		warn_yanked(r, s->version, optreg_json_str(doc, "yank_reason"));
	memcpy(s->digest, got, sizeof(got));
	rc = load_canon(r, s, &canon);
out:
	json_decref(doc);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&canon);
	return rc;
}

/* Prints a local file's errors (and the problem with --json); returns the
 * exit status for `code`. */
static int file_errors(struct cli_remote *r, const char *file, int code,
		       const char *where, const struct optreg_errors *errs)
{
	optreg_errors_print(stderr, where, errs);
	if (r->json)
		cli_print_problem(code == OPTREG_EIO ? "io" : "invalid_config",
				  code == OPTREG_EIO
					  ? "cannot read the file"
					  : "the file is not a valid config",
				  errs);
	(void)file;
	return code == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
}

/*
 * A local file: a signed envelope (its payload must be a canonical valid
 * config, as the registry requires) or a config. Exit status.
 */
static int load_file(struct cli_remote *r, struct side *s)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf in = OPTREG_BUF_INIT;
	struct optreg_dsse env;
	int rc;

	optreg_dsse_init(&env);
	rc = cli_read_input(r->cmd, s->arg, &in);
	if (rc) {
		if (r->json)
			cli_print_problem("io", "cannot read the file", NULL);
		goto out;
	}
	if (cli_is_envelope(&in)) {
		if (optreg_dsse_parse(&env, in.data, in.len, &errs) < 0) {
			rc = file_errors(r, s->arg, OPTREG_EINVAL, s->arg,
					 &errs);
			goto out;
		}
		rc = cli_check_config_payload(s->arg, &env, NULL);
		if (rc) {
			if (r->json)
				cli_print_problem("invalid_config",
						  "the envelope's payload is "
						  "not the canonical form of a "
						  "valid config",
						  NULL);
			goto out;
		}
		rc = optreg_config_load_checked(&s->cc, NULL, env.payload.data,
						env.payload.len,
						OPTREG_CONFIG_JSON, &errs);
	} else {
		rc = optreg_config_load_checked(
			&s->cc, strcmp(s->arg, "-") ? s->arg : NULL, in.data,
			in.len, 0, &errs);
	}
	if (rc < 0) {
		rc = file_errors(r, s->arg, rc, s->arg, &errs);
		goto out;
	}
	memcpy(s->digest, s->cc.digest, sizeof(s->digest));
out:
	optreg_dsse_release(&env);
	optreg_buf_release(&in);
	optreg_errors_release(&errs);
	return rc;
}

static int load_side(struct cli_remote *r, struct side *s)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct cli_ref ref;
	int rc, err;

	if (is_file(s->arg))
		return load_file(r, s);
	err = errno;
	if (cli_ref_parse(s->arg,
			  CLI_REF_CONFIG | CLI_REF_VERSION | CLI_REF_TAG |
				  CLI_REF_DIGEST,
			  &ref, &why) < 0) {
		char *shown = cli_printable(s->arg);

		fprintf(stderr,
			"optreg diff: \"%s\" is not a file (%s), nor a "
			"reference: %s\n",
			shown, strerror(err), why.data);
		free(shown);
		optreg_buf_release(&why);
		return OPTREG_EXIT_USAGE;
	}
	optreg_buf_release(&why);
	rc = cli_ref_latest(r, &ref);
	if (rc)
		return rc;
	if (ref.kind == CLI_REF_DIGEST)
		return get_digest(r, &ref, s);
	return get_version(r, &ref, s);
}

static void header(struct optreg_buf *out, const char *mark,
		   const struct side *s)
{
	char *shown = cli_printable(s->version		  ? s->version
				    : strcmp(s->arg, "-") ? s->arg
							  : "(standard input)");

	/* sha256: and 12 hex digits, as `log` shows digests. */
	optreg_buf_addf(out, "%s %s  %.19s\n", mark, shown, s->digest);
	free(shown);
}

static json_t *side_json(const struct side *s)
{
	return json_pack("{s:s, s:s, s:s?}", "ref", s->arg, "digest", s->digest,
			 "version", s->version);
}

static int print_diff(struct cli_remote *r, const struct side *a,
		      const struct side *b, const struct optreg_config_diff *d)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	int rc;

	if (r->json) {
		json_t *o = json_pack("{s:o, s:o, s:b, s:o}", "a", side_json(a),
				      "b", side_json(b), "equal", d->len == 0,
				      "changes", optreg_config_diff_json(d));

		if (optreg_jcs_serialize(o, &out, NULL) < 0)
			optreg_buf_adds(&out, "{}");
		optreg_buf_addch(&out, '\n');
		json_decref(o);
	} else {
		header(&out, "---", a);
		header(&out, "+++", b);
		for (size_t i = 0; i < d->len; i++) {
			const struct optreg_config_change *c = &d->items[i];

			/* Wrapped at 80 columns, the lines after the first
			 * indented by two; a word longer than that (a long
			 * param group pattern) is cut across lines. */
			cli_wrap_add(&out,
				     c->kind == OPTREG_CHANGE_ADDED	? "+ "
				     : c->kind == OPTREG_CHANGE_REMOVED ? "- "
									: "~ ",
				     c->text, 2, CLI_WRAP_WIDTH);
		}
		if (!d->len && !strcmp(a->digest, b->digest))
			optreg_buf_adds(&out,
					"no changes: the same document\n");
		else if (!d->len)
			optreg_buf_adds(&out,
					"no changes: the documents differ "
					"only in form (layout, numbers, "
					"defaults)\n");
	}
	rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	return rc;
}

/* The positional arguments A and B. */
struct diff_args {
	const char *v[2];
	int n;
};

static int take_arg(void *data, const char *a)
{
	struct diff_args *x = data;

	if (x->n >= 2) {
		char *shown = cli_printable(a);

		fprintf(stderr,
			"optreg diff: expected two configs A and B (got a "
			"third, \"%s\")\n",
			shown);
		free(shown);
		return OPTREG_EXIT_USAGE;
	}
	x->v[x->n++] = a;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "diff"};
	struct diff_args args = {{NULL, NULL}, 0};
	struct side sides[2];
	struct optreg_config_diff d;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "diff",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_DASH_ARG |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = take_arg,
				     .arg_data = &args};

	memset(sides, 0, sizeof(sides));
	optreg_config_diff_init(&d);
	for (int i = 0; i < 2; i++)
		optreg_checked_config_init(&sides[i].cc);
	rc = cli_parse_options(&p, options, argc, argv);
	if (rc) {
		rc = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (args.n != 2) {
		fprintf(stderr,
			"optreg diff: expected two configs A and B (got "
			"%d)\n%s",
			args.n, help);
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	if (!strcmp(args.v[0], "-") && !strcmp(args.v[1], "-")) {
		fprintf(stderr, "optreg diff: only one of A and B can be - "
				"(standard input)\n");
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		sides[i].arg = args.v[i];
		rc = load_side(&r, &sides[i]);
		if (rc)
			goto out;
	}
	optreg_config_diff_compute(&d, &sides[0].cc.cfg, &sides[1].cc.cfg);
	rc = print_diff(&r, &sides[0], &sides[1], &d);
	if (rc == 0 && d.len)
		rc = OPTREG_EXIT_DIFFERENT;
out:
	cli_remote_close(&r);
	optreg_config_diff_release(&d);
	for (int i = 0; i < 2; i++) {
		free(sides[i].version);
		optreg_checked_config_release(&sides[i].cc);
	}
	return rc;
}
