/*
 * cli/submit.c: `optreg submit FILE [--tag TAG]`.
 *
 * Validates the document exactly as lint does and sends nothing when it is
 * invalid. A valid one goes to the registry as a DSSE envelope around its
 * canonical bytes; the envelope is unsigned until signing lands (DESIGN.md
 * section 4), which the registry accepts for now. With --tag, the tag then
 * moves to the new version by compare-and-set against where it pointed
 * just before, so a concurrent move is a conflict rather than lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dsse.h"
#include "../validator/config.h"
#include "cli.h"

static const char help[] =
	"usage: optreg submit FILE [--tag TAG] [--json] [--url URL] "
	"[--token TOKEN]\n\n"
	"Validates FILE (YAML or JSON; - for standard input) like `optreg "
	"lint`, then\n"
	"submits its RFC 8785 canonical form to the registry as a new "
	"version of\n"
	"metadata.namespace/metadata.name, and prints\n"
	"  team-nlp/bert@3 sha256:... (created)\n"
	"or (unchanged) when the registry already holds this content as that "
	"version.\n"
	"An invalid FILE is reported like lint and nothing is sent.\n\n"
	"The config travels in a DSSE envelope with no signatures: signing "
	"(--key)\n"
	"comes with a later release.\n\n"
	"Options:\n"
	"  --tag TAG        then point TAG at the version (compare-and-set "
	"against the\n"
	"                   version TAG points at now; a new tag is "
	"created)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid, 2 usage, 3 FILE unreadable, 4 "
	"denied,\n"
	"5 conflict (the tag moved meanwhile, or the version is yanked), 6 "
	"unauthorized,\n"
	"7 unavailable, 8 not found. See docs/cli.md.\n";

/* Loads, validates and canonicalizes FILE; exit status. */
static int prepare(struct cli_remote *r, const char *file,
		   struct optreg_doc *doc, struct optreg_config *cfg,
		   struct optreg_buf *canon)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = cli_load_doc(file, doc, &errs);

	if (rc == 0)
		rc = optreg_config_validate(doc, cfg, &errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(doc->root, canon, &errs);
	if (rc < 0) {
		cli_print_errors(file, &errs);
		if (r->json) {
			/* The registry's problem shape, so a pipeline reads
			 * one format whichever side refused. */
			struct optreg_buf detail = OPTREG_BUF_INIT;
			if (errs.len == 1)
				optreg_buf_adds(&detail, errs.items[0].message);
			else
				optreg_buf_addf(&detail,
						"the config has %zu errors",
						errs.len);
			cli_print_problem(rc == OPTREG_EIO ? "io"
							   : "invalid_config",
					  detail.data, &errs);
			optreg_buf_release(&detail);
		}
	}
	optreg_errors_release(&errs);
	if (rc == 0)
		return OPTREG_EXIT_OK;
	return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
}

/* The envelope around `canon`, as compact JSON text (caller frees). */
static char *envelope_text(const struct optreg_buf *canon)
{
	struct optreg_dsse env;
	json_t *j;
	char *s;

	optreg_dsse_init(&env);
	env.payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, canon->data, canon->len);
	j = optreg_dsse_to_json(&env);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	optreg_dsse_release(&env);
	if (!s) {
		fprintf(stderr, "fatal: out of memory serializing JSON\n");
		abort();
	}
	return s;
}

/*
 * Points `tag` at `version`: reads where the tag points now (404: nowhere)
 * and moves it from there. Fills *result with the PUT's JSON; exit status.
 */
static int move_tag(struct cli_remote *r, const struct cli_ref *ref,
		    const char *tag, long version, json_t **result)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	json_t *cur = NULL, *body;
	long expected = 0;
	char *text;
	int rc;

	optreg_http_resp_init(&resp);
	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/tags");
	optreg_http_path_add(&path, tag);

	rc = cli_remote_request(r, "GET", path.data, NULL, &resp);
	if (rc)
		goto out;
	if (resp.status == 200) {
		cur = cli_response_json(r, &resp, 0);
		if (!cur) {
			rc = OPTREG_EXIT_UNAVAILABLE;
			goto out;
		}
		if (cli_json_count(cur, "version", &expected) < 0) {
			rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry's answer for tag \"%s\" "
					"has no version",
					tag);
			goto out;
		}
	} else if (resp.status != 404) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}

	body = json_pack("{s:I, s:o}", "version", (json_int_t)version,
			 "expected_version",
			 cur ? json_integer(expected) : json_null());
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "PUT", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}
	*result = cli_response_json(r, &resp, 0);
	rc = *result ? OPTREG_EXIT_OK : OPTREG_EXIT_UNAVAILABLE;
out:
	json_decref(cur);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

static int submit(struct cli_remote *r, const char *file, const char *tag)
{
	char digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_buf canon = OPTREG_BUF_INIT, path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	struct optreg_config cfg;
	json_t *created = NULL, *tagged = NULL;
	struct optreg_doc doc;
	struct cli_ref ref;
	const char *got;
	long version;
	char *text;
	int rc;

	optreg_doc_init(&doc);
	optreg_http_resp_init(&resp);
	memset(&cfg, 0, sizeof(cfg));
	rc = prepare(r, file, &doc, &cfg, &canon);
	if (rc)
		goto out;
	optreg_digest(canon.data, canon.len, digest);

	memset(&ref, 0, sizeof(ref));
	ref.kind = CLI_REF_CONFIG;
	snprintf(ref.ns, sizeof(ref.ns), "%s", cfg.namespace_);
	snprintf(ref.name, sizeof(ref.name), "%s", cfg.name);
	cli_config_path(&path, &ref);
	optreg_buf_adds(&path, "/versions");

	text = envelope_text(&canon);
	rc = cli_remote_request(r, "POST", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_http_error(r, &resp, file, &doc);
		goto out;
	}
	created = cli_response_json(r, &resp, 0);
	if (!created) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	got = json_string_value(json_object_get(created, "digest"));
	if (cli_json_count(created, "version", &version) < 0 || version < 1 ||
	    !got) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no version or "
				"digest");
		goto out;
	}
	if (strcmp(got, digest)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "digest_mismatch",
				"the registry recorded %s/%s@%ld as %s, but "
				"the submitted config is %s",
				ref.ns, ref.name, version, got, digest);
		goto out;
	}
	if (!r->json)
		printf("%s/%s@%ld %s (%s)\n", ref.ns, ref.name, version, digest,
		       resp.status == 201 ? "created" : "unchanged");

	if (tag) {
		rc = move_tag(r, &ref, tag, version, &tagged);
		if (rc == 0 && !r->json)
			cli_print_tag_move(&ref, tag, version, tagged);
	}
	if (r->json && rc == 0) {
		/* The version's answer, with the tag's answer inside. */
		if (tagged)
			json_object_set(created, "tag", tagged);
		char *s =
			json_dumps(created, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			rc = cli_print_json_text(s, strlen(s));
		free(s);
	}
	if (rc == 0 && fflush(stdout) != 0) {
		perror("optreg submit: cannot write to standard output");
		rc = OPTREG_EXIT_IO;
	}
out:
	json_decref(created);
	json_decref(tagged);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	optreg_buf_release(&canon);
	optreg_config_release(&cfg);
	optreg_doc_release(&doc);
	return rc;
}

int cmd_submit(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "submit"};
	const char *file = NULL, *tag = NULL;
	int rc, only_args = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_args || !strcmp(a, "-") || a[0] != '-') {
			if (file) {
				fprintf(stderr,
					"optreg submit: expected one FILE "
					"(got \"%s\" and \"%s\")\n",
					file, a);
				return OPTREG_EXIT_USAGE;
			}
			file = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = 1;
			continue;
		}
		if (cli_is_help(a)) {
			fputs(help, stdout);
			return OPTREG_EXIT_OK;
		}
		rc = cli_remote_option(&r, argc, argv, &i);
		if (rc == 0)
			rc = cli_opt_value("submit", argc, argv, &i, "--tag",
					   &tag);
		if (rc < 0)
			return OPTREG_EXIT_USAGE;
		if (rc == 0) {
			fprintf(stderr,
				"optreg submit: unknown option \"%s\"\n%s", a,
				help);
			return OPTREG_EXIT_USAGE;
		}
	}
	if (!file) {
		fprintf(stderr, "optreg submit: expected a FILE\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (tag && !cli_tag_valid(tag)) {
		fprintf(stderr,
			"optreg submit: invalid tag \"%s\"\n"
			"  hint: a tag is 1 to 64 of a-z, 0-9, '.', '_' and "
			"'-', starts with a letter or digit and is not all "
			"digits\n",
			tag);
		return OPTREG_EXIT_USAGE;
	}
	rc = submit(&r, file, tag);
	cli_remote_close(&r);
	return rc;
}
