/*
 * cli/submit.c: `optreg submit FILE... [--key KEY] [--tag TAG]`.
 *
 * FILE arguments may be directories and glob patterns (cli/inputs.h);
 * each file is submitted on its own, and after several a summary table
 * goes to stderr, the exit status the worst (cli_exit_worst). The key is
 * loaded once (it may come from standard input).
 *
 * FILE is either a config document or a DSSE envelope made by `optreg
 * sign` (possibly signed by several keys, for a namespace's threshold).
 * A config is validated exactly as lint does (nothing is sent when it is
 * invalid), put in RFC 8785 form and signed with KEY; an envelope has its
 * payload checked the same way and goes to the registry as it is. With
 * --tag, the tag then moves to the new version by compare-and-set against
 * where it pointed just before, so a concurrent move is a conflict rather
 * than lost.
 *
 * --message and --link say why (stored with the version and shown by
 * `optreg log`); --wait then polls for the runners' verdict and exits with
 * what it was (0 pass, 10 warn, 11 fail or error, 12 no verdict in time).
 * Policy warnings in the registry's answer go to stderr; a policy denial
 * (422 policy_denied) is reported like lint, at the lines of FILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"
#include "inputs.h"

static const char help[] =
	"usage: optreg submit FILE... [--key KEY] [--passphrase-env VAR] "
	"[--tag TAG]\n"
	"                     [--message TEXT] [--link URL] [--wait "
	"[--timeout S]]\n"
	"                     [--json] [--url URL] [--token TOKEN]\n\n"
	"Validates FILE (YAML or JSON; - for standard input) like `optreg "
	"lint`, signs\n"
	"its RFC 8785 canonical form with KEY and submits it to the registry "
	"as a new\n"
	"version of metadata.namespace/metadata.name, and prints\n"
	"  team-nlp/bert@3 sha256:... (created)\n"
	"or (unchanged) when the registry already holds this content as that "
	"version.\n"
	"An invalid FILE is reported like lint and nothing is sent. The "
	"registry's\n"
	"policies are evaluated on submit: a denial (422 policy_denied) is "
	"reported\n"
	"at the lines of FILE and nothing is stored; warnings are printed on "
	"stderr.\n\n"
	"FILE may instead be a signed envelope from `optreg sign` (for "
	"namespaces that\n"
	"need several signatures, sign it with each key first): it is checked "
	"and\n"
	"submitted as it is, without --key.\n\n"
	"Several FILEs, directories (their *.yaml, *.yml and *.json files, "
	"recursively)\nand quoted glob patterns ('configs/**/*.yaml') are "
	"submitted one by one, each\non its own: a refused file does not "
	"stop the others; --tag and --wait apply\nto each; a summary table "
	"on stderr ends the run.\n\n"
	"Options:\n"
	"  --key KEY        the Ed25519 private key to sign with (NAME.pem "
	"from `optreg\n"
	"                   keygen`); default $OPTREG_KEY; required for a "
	"config FILE;\n"
	"                   - reads it from standard input; an encrypted "
	"key is\n"
	"                   decrypted with the passphrase in "
	"$OPTREG_KEY_PASSPHRASE\n"
	"  --passphrase-env VAR  take the passphrase from $VAR instead\n"
	"  --tag TAG        then point TAG at the version (compare-and-set "
	"against the\n"
	"                   version TAG points at now; a new tag is "
	"created);\n"
	"                   with --wait, only once the verdict is pass or "
	"warn; the\n"
	"                   --message and --link are the move's reason and "
	"link\n"
	"  --message TEXT   why this version (1 to 1024 characters), shown by "
	"`optreg log`\n"
	"  --link URL       a CI run, commit or ticket (1 to 512 characters)\n"
	"  --wait           wait for the verdict of the reference suite and "
	"exit with it:\n"
	"                   0 pass, 10 warn, 11 fail or error (or no verdict "
	"will come:\n"
	"                   every job abandoned), 12 none within --timeout; "
	"progress on\n"
	"                   stderr when it is a terminal\n"
	"  --timeout S      how long --wait waits, in seconds, 1 to 86400 "
	"(default 600)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid (also denied by a policy), 2 usage "
	"(also no KEY),\n"
	"3 FILE or KEY unreadable, 4 denied (the token's role, or signatures "
	"refused),\n"
	"5 conflict (the tag moved meanwhile, the version is yanked, or the "
	"gate refused\n"
	"it), 6 unauthorized, 7 unavailable, 8 not found; with --wait 10 "
	"warn, 11 fail,\n"
	"12 timeout. Several files: the worst, usage > unauthorized > denied "
	"> unavailable\n> I/O > invalid > conflict > not found > fail > "
	"timeout > warn. See docs/cli.md.\n";

/* What `submit` was asked to do besides submitting. */
struct submit_opts {
	const char *tag;
	const char *message;
	const char *link;
	bool wait;
	double timeout;
};

/* What goes to the registry, and what errors are located against. */
struct submission {
	const char *file;     /* as given on the command line */
	char *where;	      /* FILE, or "FILE (payload)" */
	struct optreg_buf in; /* FILE's bytes */
	/* The config: its document (for locating errors), validated model,
	 * canonical bytes and digest. */
	struct optreg_checked_config cc;
	char *body;    /* the envelope's JSON text (owned) */
	bool envelope; /* FILE was an envelope already */
	/* For the summary after several files: what happened, and why a
	 * refusal or a note (empty when there is nothing to say). */
	const char *result;
	struct optreg_buf reason;
};

/* The signing key, loaded once for every FILE (it may be standard input,
 * which can be read once). */
struct signing_key {
	const char *path;    /* --key or $OPTREG_KEY; NULL: none */
	const char *passenv; /* --passphrase-env; NULL: the default */
	bool flag;	     /* --key was given */
	bool tried;
	int status; /* of the load */
	struct optreg_key *key;
};

static void submission_release(struct submission *s)
{
	optreg_buf_release(&s->reason);
	free(s->where);
	optreg_buf_release(&s->in);
	optreg_checked_config_release(&s->cc);
	free(s->body);
}

/* With --json, the local failure as a problem object on stdout. */
static void json_problem(const struct cli_remote *r, const char *code,
			 const char *detail, const struct optreg_errors *errs)
{
	if (r->json)
		cli_print_problem(code, detail, errs);
}

/* Validates and canonicalizes a config document; exit status. */
static int prepare_config(struct cli_remote *r, struct submission *s)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_config_load_checked(&s->cc, s->file, s->in.data,
					    s->in.len, 0, &errs);

	if (rc < 0) {
		optreg_errors_print(stderr, s->file, &errs);
		if (errs.len > 1)
			optreg_buf_addf(&s->reason,
					"%zu errors; first: ", errs.len);
		if (errs.len && errs.items[0].path[0])
			optreg_buf_addf(&s->reason, "%s: ", errs.items[0].path);
		if (errs.len)
			optreg_buf_adds(&s->reason, errs.items[0].message);
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
			cli_print_problem("invalid_config", detail.data, &errs);
			optreg_buf_release(&detail);
		}
	}
	optreg_errors_release(&errs);
	s->where = optreg_xstrdup(s->file);
	return rc < 0 ? OPTREG_EXIT_INVALID : OPTREG_EXIT_OK;
}

/* Wraps the canonical bytes in an envelope signed with `key`; exit
 * status. */
static int sign_config(struct submission *s, const struct optreg_key *key)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	int rc;

	optreg_dsse_init(&env);
	env.payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, s->cc.canon.data, s->cc.canon.len);
	rc = optreg_dsse_sign(&env, key, &errs);
	if (rc == 0) {
		json_t *j = optreg_dsse_to_json(&env);
		s->body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
		if (!s->body) {
			fprintf(stderr, "fatal: out of memory serializing "
					"JSON\n");
			abort();
		}
	} else {
		fprintf(stderr, "optreg submit: %s\n", errs.items[0].message);
	}
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
	return rc < 0 ? OPTREG_EXIT_INVALID : OPTREG_EXIT_OK;
}

/*
 * An envelope from `optreg sign`: parsed and its payload checked as the
 * registry checks it; then sent as it is. Exit status.
 */
static int prepare_envelope(struct cli_remote *r, struct submission *s)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	int rc;

	optreg_dsse_init(&env);
	s->envelope = true;
	s->where = optreg_xasprintf("%s (payload)", s->file);
	if (optreg_dsse_parse(&env, s->in.data, s->in.len, &errs) < 0) {
		optreg_errors_print(stderr, s->file, &errs);
		json_problem(r, "bad_envelope", "FILE is not a DSSE envelope",
			     &errs);
		rc = OPTREG_EXIT_INVALID;
		goto out;
	}
	rc = cli_check_config_payload(s->file, &env, NULL);
	if (rc) {
		json_problem(r, "invalid_config",
			     "the envelope's payload is not the canonical form "
			     "of a valid config",
			     NULL);
		goto out;
	}
	/* The payload is a valid canonical config (checked above), so this
	 * cannot fail. The document is for locating the registry's errors:
	 * positions are in the payload, which has none (JSON), so only the
	 * paths are shown. */
	optreg_config_load_checked(&s->cc, NULL, env.payload.data,
				   env.payload.len, OPTREG_CONFIG_JSON, &errs);
	s->body = optreg_xstrndup(s->in.data, s->in.len);
out:
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
	return rc;
}

/*
 * Reports a 403 signature_refused: why each signature did not count (its
 * rule and the registry's message, with the hint), then the threshold.
 * Exit status (OPTREG_EXIT_DENIED).
 */
static int report_signatures_refused(struct cli_remote *r,
				     const struct optreg_http_resp *resp)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;

	optreg_http_resp_problem(resp, &errs);
	optreg_buf_addf(&out, "optreg submit: %s (%ld signature_refused)\n",
			errs.items[0].message, resp->status);
	for (size_t i = 1; i < errs.len; i++) {
		const struct optreg_error *e = &errs.items[i];

		optreg_buf_addf(&out, "  %s: %s: %s\n",
				e->path[0] ? e->path : "signatures", e->rule,
				e->message);
		if (e->hint)
			optreg_buf_addf(&out, "    hint: %s\n", e->hint);
	}
	fputs(out.data, stderr);
	if (r->json)
		cli_print_json_text(resp->body.data, resp->body.len);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return OPTREG_EXIT_DENIED;
}

/* "code: message" of a refusal, for the summary. */
static void refusal_reason(const struct optreg_http_resp *resp,
			   struct optreg_buf *out)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *code = optreg_http_resp_problem(resp, &errs);

	/* The first of the problem's errors says most (a policy's rule and
	 * message); the detail when there are none. */
	if (errs.len > 1 && errs.items[1].rule[0])
		optreg_buf_addf(out, "%s: %s", errs.items[1].rule,
				errs.items[1].message);
	else if (errs.len > 1)
		optreg_buf_adds(out, errs.items[1].message);
	else
		optreg_buf_adds(out,
				errs.len ? errs.items[0].message : "refused");
	if (errs.len > 2)
		optreg_buf_addf(out, " (+%zu more)", errs.len - 2);
	optreg_buf_addf(out, " (%ld %s)", resp->status, code ? code : "error");
	optreg_errors_release(&errs);
}

/*
 * Points `tag` at `version`: reads where the tag points now (404: nowhere)
 * and moves it from there. Fills *result with the PUT's JSON; exit status.
 */
static int move_tag(struct cli_remote *r, const struct cli_ref *ref,
		    const char *tag, long version, const struct submit_opts *o,
		    json_t **result, struct optreg_buf *why)
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
		refusal_reason(&resp, why);
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}

	body = json_pack("{s:I, s:o}", "version", (json_int_t)version,
			 "expected_version",
			 cur ? json_integer(expected) : json_null());
	/* The version's message is the move's reason: a gated tag needs
	 * one. */
	cli_change_add(body, "reason", o->message);
	cli_change_add(body, "link", o->link);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "PUT", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		refusal_reason(&resp, why);
		rc = cli_report_refusal(r, &resp, NULL, NULL);
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

/*
 * Reads FILE and makes the envelope to send: a config is signed with the
 * key at `keypath` (NULL: none given, a usage error), an envelope is taken
 * as it is (`key_flag`: --key was given, which an envelope does not take).
 * Exit status.
 */
static int prepare(struct cli_remote *r, struct submission *s,
		   struct signing_key *k)
{
	int rc = cli_read_input("submit", s->file, &s->in);

	if (rc) {
		json_problem(r, "io", "cannot read FILE", NULL);
		optreg_buf_adds(&s->reason, "cannot read the file");
		return rc;
	}
	if (cli_is_envelope(&s->in)) {
		if (k->flag) {
			optreg_buf_adds(&s->reason,
					"a signed envelope takes no --key");
			fprintf(stderr,
				"optreg submit: %s is a signed envelope; "
				"--key signs config files only\n"
				"  hint: to add a signature, run `optreg sign "
				"%s --key KEY --out %s` first\n",
				s->file, s->file, s->file);
			return OPTREG_EXIT_USAGE;
		}
		return prepare_envelope(r, s);
	}
	if (!k->path || !k->path[0]) {
		optreg_buf_adds(&s->reason, "no signing key (--key or "
					    "OPTREG_KEY)");
		fprintf(stderr,
			"optreg submit: no signing key: the registry accepts "
			"only signed configs\n"
			"  hint: pass --key KEY or set OPTREG_KEY (NAME.pem "
			"from `optreg keygen`, registered with `optreg key "
			"register`)\n");
		return OPTREG_EXIT_USAGE;
	}
	if (!k->tried) {
		k->tried = true;
		k->status = cli_load_signing_key_pass("submit", k->path,
						      k->passenv, &k->key);
	}
	rc = k->status;
	if (rc)
		optreg_buf_adds(&s->reason, "the signing key could not be "
					    "loaded (see above)");
	if (rc == 0)
		rc = prepare_config(r, s);
	if (rc == 0)
		rc = sign_config(s, k->key);
	return rc;
}

/* The request body: the envelope, or {"envelope", "message", "link"}
 * when either is given. A new string (free it). */
static char *request_body(const struct submission *s,
			  const struct submit_opts *o)
{
	json_t *env, *body;
	char *text;

	if (!o->message && !o->link)
		return optreg_xstrdup(s->body);
	env = json_loads(s->body, 0, NULL);
	body = json_pack("{s:o}", "envelope", env ? env : json_null());
	cli_change_add(body, "message", o->message);
	cli_change_add(body, "link", o->link);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text) {
		fprintf(stderr, "fatal: out of memory serializing JSON\n");
		abort();
	}
	return text;
}

/* The summary row of `s`, submitted (or not) as `ref`@`version`. */
static void submit_outcome(struct cli_outcomes *out, const struct submission *s,
			   const struct cli_ref *ref, long version, int rc)
{
	struct optreg_buf what = OPTREG_BUF_INIT;
	const char *result = s->result;

	if (version > 0)
		optreg_buf_addf(&what, "%s/%s@%ld", ref->ns, ref->name,
				version);
	if (!result)
		result = rc == OPTREG_EXIT_INVALID	  ? "invalid"
			 : rc == OPTREG_EXIT_IO		  ? "unreadable"
			 : rc == OPTREG_EXIT_USAGE	  ? "usage"
			 : rc == OPTREG_EXIT_DENIED	  ? "denied"
			 : rc == OPTREG_EXIT_CONFLICT	  ? "conflict"
			 : rc == OPTREG_EXIT_UNAUTHORIZED ? "unauthorized"
			 : rc == OPTREG_EXIT_UNAVAILABLE  ? "unavailable"
			 : rc == OPTREG_EXIT_NOT_FOUND	  ? "not found"
							  : "failed";
	cli_outcomes_add(out, s->file, result, what.data, s->reason.data, rc);
	optreg_buf_release(&what);
}

static int submit(struct cli_remote *r, const char *file, struct signing_key *k,
		  const struct submit_opts *o, struct cli_outcomes *outcomes)
{
	const char *tag = o->tag;
	json_t *verdict = NULL;
	char *reqbody = NULL;
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	struct submission s;
	json_t *created = NULL, *tagged = NULL;
	struct cli_ref ref;
	const char *got;
	long version = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&ref, 0, sizeof(ref));
	s.file = file;
	optreg_buf_init(&s.in);
	optreg_buf_init(&s.reason);
	optreg_checked_config_init(&s.cc);
	optreg_http_resp_init(&resp);
	rc = prepare(r, &s, k);
	if (rc)
		goto out;

	ref.kind = CLI_REF_CONFIG;
	snprintf(ref.ns, sizeof(ref.ns), "%s", s.cc.cfg.namespace_);
	snprintf(ref.name, sizeof(ref.name), "%s", s.cc.cfg.name);
	cli_config_path(&path, &ref);
	optreg_buf_adds(&path, "/versions");

	reqbody = request_body(&s, o);
	rc = cli_remote_request(r, "POST", path.data, reqbody, &resp);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		struct optreg_errors perrs = OPTREG_ERRORS_INIT;
		const char *code = optreg_http_resp_problem(&resp, &perrs);
		s.result = !strcmp(code, "policy_denied") ? "denied by policy"
			   : !strcmp(code, "signature_refused")
				   ? "signature refused"
				   : NULL;
		refusal_reason(&resp, &s.reason);
		if (resp.status == 403 && !strcmp(code, "signature_refused"))
			rc = report_signatures_refused(r, &resp);
		else
			rc = cli_report_refusal(r, &resp, s.where, &s.cc.doc);
		optreg_errors_release(&perrs);
		goto out;
	}
	created = cli_response_json(r, &resp, 0);
	if (!created) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	got = optreg_json_str(created, "digest");
	if (cli_json_count(created, "version", &version) < 0 || version < 1 ||
	    !got) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no version or "
				"digest");
		goto out;
	}
	if (strcmp(got, s.cc.digest)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "digest_mismatch",
				"the registry recorded %s/%s@%ld as %s, but "
				"the submitted config is %s",
				ref.ns, ref.name, version, got, s.cc.digest);
		goto out;
	}
	s.result = resp.status == 201 ? "created" : "unchanged";
	if (!r->json)
		printf("%s/%s@%ld %s (%s)\n", ref.ns, ref.name, version,
		       s.cc.digest, s.result);
	fflush(stdout);
	cli_violations_summary(stderr, "submit",
			       json_object_get(created, "violations"));

	if (o->wait) {
		struct optreg_buf what = OPTREG_BUF_INIT;

		rc = cli_verdict_wait(r, &ref, version, o->timeout, &verdict);
		if (rc == 0) {
			const char *result = optreg_json_str(verdict, "result");
			cli_verdict_describe(verdict, &what);
			fprintf(stderr,
				"optreg submit: verdict on %s/%s@%ld: %s\n",
				ref.ns, ref.name, version, what.data);
			rc = cli_verdict_exit(result);
			s.result = rc == 0 ? "verdict pass"
				   : rc == OPTREG_EXIT_VERDICT_WARN
					   ? "verdict warn"
					   : "verdict fail";
		} else if (rc == OPTREG_EXIT_TIMEOUT) {
			s.result = "no verdict";
			optreg_buf_adds(&s.reason,
					"no verdict within --timeout");
		} else {
			s.result = "no verdict";
			optreg_buf_adds(&s.reason, "waiting for the verdict "
						   "failed (see above)");
		}
		optreg_buf_release(&what);
		/* A tag moves only to a version that passed (or warned). */
		if (tag && rc != 0 && rc != OPTREG_EXIT_VERDICT_WARN) {
			fprintf(stderr,
				"optreg submit: tag \"%s\" not moved: no "
				"passing verdict\n",
				tag);
			optreg_buf_addf(&s.reason, "%stag %s not moved",
					s.reason.len ? "; " : "", tag);
			tag = NULL;
		}
	}
	if (tag) {
		struct optreg_buf why = OPTREG_BUF_INIT;
		int trc = move_tag(r, &ref, tag, version, o, &tagged, &why);
		if (trc == 0 && !r->json) {
			cli_print_tag_move(&ref, tag, version, tagged);
			fflush(stdout);
			cli_print_tag_gate_new(
				"submit", tagged,
				json_object_get(created, "violations"));
		}
		if (trc) {
			rc = trc;
			s.result = "tag refused";
			optreg_buf_addf(&s.reason, "%stag %s: %s",
					s.reason.len ? "; " : "", tag,
					why.len ? why.data : "not moved");
		} else {
			optreg_buf_addf(&s.reason, "%stagged %s",
					s.reason.len ? "; " : "", tag);
		}
		optreg_buf_release(&why);
	}
	if (r->json &&
	    (rc == 0 || rc == OPTREG_EXIT_VERDICT_WARN ||
	     rc == OPTREG_EXIT_VERDICT_FAIL || rc == OPTREG_EXIT_TIMEOUT)) {
		/* The version's answer (with the registry's receipt), with
		 * the tag's answer and the verdict inside. */
		if (tagged)
			json_object_set(created, "tag", tagged);
		if (o->wait)
			json_object_set(created, "verdict",
					verdict ? verdict : json_null());
		char *text =
			json_dumps(created, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text && cli_print_json_text(text, strlen(text)))
			rc = OPTREG_EXIT_IO;
		free(text);
	}
	if (fflush(stdout) != 0) {
		perror("optreg submit: cannot write to standard output");
		rc = OPTREG_EXIT_IO;
	}
out:
	submit_outcome(outcomes, &s, &ref, version, rc);
	free(reqbody);
	json_decref(verdict);
	json_decref(created);
	json_decref(tagged);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	submission_release(&s);
	return rc;
}

/* The FILE arguments, in order. */
struct file_args {
	const char **v;
	int n;
};

static int add_file(void *data, const char *a)
{
	struct file_args *l = data;

	l->v[l->n++] = a;
	return 0;
}

static int check_args(const struct file_args *files,
		      const struct submit_opts *o, const char *timeoutarg,
		      const char *keypath, const char *passenv);

/* Submits every file the arguments name, each on its own; the worst exit
 * status. */
static int submit_all(struct cli_remote *r, const struct file_args *args,
		      struct signing_key *k, const struct submit_opts *o)
{
	struct cli_outcomes out = {0};
	struct cli_inputs in;
	int status;

	cli_inputs_init(&in);
	for (int i = 0; i < args->n; i++)
		cli_inputs_add(&in, "submit", args->v[i]);
	status = in.status;
	for (size_t i = 0; i < in.len; i++) {
		if (in.why[i]) {
			cli_outcomes_add(&out, in.files[i], "no file", NULL,
					 in.why[i], OPTREG_EXIT_IO);
			continue;
		}
		if (in.len > 1 && !r->json)
			fprintf(stderr, "optreg submit: %s\n", in.files[i]);
		status = cli_exit_worst(status,
					submit(r, in.files[i], k, o, &out));
	}
	if (out.len > 1)
		cli_outcomes_print(stderr, &out, "VERSION",
				   o->wait ? OPTREG_EXIT_VERDICT_WARN : -1,
				   status);
	cli_outcomes_release(&out);
	cli_inputs_release(&in);
	return status;
}

int cmd_submit(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "submit"};
	const char *keypath = NULL, *timeoutarg = NULL, *passenv = NULL;
	struct file_args files = {
		optreg_xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	struct signing_key k = {0};
	struct submit_opts o = {.timeout = 600};
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--tag", "TAG", "point TAG at the new version",
			       &o.tag),
		CLI_OPT_STRING("--message", "TEXT", "why this version",
			       &o.message),
		CLI_OPT_STRING("--link", "URL", "CI run, commit or ticket",
			       &o.link),
		CLI_OPT_BOOL("--wait", "wait for the verdict", &o.wait),
		CLI_OPT_STRING("--timeout", "S", "how long --wait waits",
			       &timeoutarg),
		CLI_OPT_STRING("--key", "KEY", "private key to sign with",
			       &keypath),
		CLI_OPT_STRING("--passphrase-env", "VAR",
			       "the variable holding the key's passphrase",
			       &passenv),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "submit",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_DASH_ARG |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = add_file,
				     .arg_data = &files};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc == 0)
		rc = check_args(&files, &o, timeoutarg, keypath, passenv);
	if (rc) {
		free(files.v);
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	}
	if (timeoutarg) {
		long timeout = 0;
		cli_parse_count(timeoutarg, &timeout);
		o.timeout = (double)timeout;
	}
	k.path = keypath ? keypath : getenv("OPTREG_KEY");
	k.passenv = passenv;
	k.flag = keypath != NULL;
	rc = submit_all(&r, &files, &k, &o);
	optreg_key_free(k.key);
	free(files.v);
	cli_remote_close(&r);
	return rc;
}

/* The checks of the arguments before anything is read; exit status. */
static int check_args(const struct file_args *files,
		      const struct submit_opts *o, const char *timeoutarg,
		      const char *keypath, const char *passenv)
{
	long timeout = 0;
	int rc;

	if (!files->n) {
		fprintf(stderr, "optreg submit: expected a FILE\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (o->tag && !cli_tag_valid(o->tag)) {
		fprintf(stderr,
			"optreg submit: invalid tag \"%s\"\n"
			"  hint: a tag is 1 to 64 of a-z, 0-9, '.', '_' and "
			"'-', starts with a letter or digit and is not all "
			"digits\n",
			o->tag);
		return OPTREG_EXIT_USAGE;
	}
	if (timeoutarg && !o->wait) {
		fprintf(stderr, "optreg submit: --timeout needs --wait\n");
		return OPTREG_EXIT_USAGE;
	}
	if (timeoutarg &&
	    (cli_parse_count(timeoutarg, &timeout) < 0 || timeout > 86400)) {
		fprintf(stderr,
			"optreg submit: --timeout must be a whole number of "
			"seconds from 1 to 86400 (got \"%s\")\n",
			timeoutarg);
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("submit", "--message", o->message,
			      CLI_CHANGE_MAX_TEXT, false);
	if (rc == 0)
		rc = cli_change_check("submit", "--link", o->link,
				      CLI_CHANGE_MAX_LINK, true);
	if (rc)
		return rc;
	if (keypath && !keypath[0]) {
		fprintf(stderr, "optreg submit: --key needs a file name\n");
		return OPTREG_EXIT_USAGE;
	}
	if (!keypath)
		keypath = getenv("OPTREG_KEY");
	for (int i = 0; i < files->n; i++) {
		rc = cli_key_args_check("submit", files->v[i], keypath,
					passenv);
		if (rc)
			return rc;
	}
	return OPTREG_EXIT_OK;
}
