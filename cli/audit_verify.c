/*
 * cli/audit_verify.c: `optreg audit verify [--checkpoint FILE]`: the whole
 * log recomputed and checked against the latest signed checkpoint and,
 * with --checkpoint, against a saved one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/checkpoint.h"
#include "audit.h"

static const char verify_help[] =
	"usage: optreg audit verify [--checkpoint SAVED] [--registry-key PUB] "
	"[--json]\n"
	"                           [--url URL] [--token TOKEN]\n\n"
	"Downloads the whole audit log and checks it:\n"
	"  - indexes run 0, 1, ..., N-1 with no gap and no duplicate;\n"
	"  - each event's leaf hash, SHA-256(0x00 || RFC 8785 form of the "
	"event),\n"
	"    recomputed here, equals the registry's leaf_hash;\n"
	"  - the latest signed checkpoint's signature verifies with the "
	"registry key,\n"
	"    and the root recomputed from the first SIZE events is the signed "
	"root.\n"
	"With --checkpoint SAVED (from `optreg audit checkpoint --out`), "
	"also:\n"
	"  - the saved note's signature verifies and SIZE <= the log's size;\n"
	"  - every saved leaf hash equals the recomputed one (the first "
	"difference\n"
	"    is the first entry changed, removed or reordered since);\n"
	"  - the recomputed root at the saved size is the saved root;\n"
	"  - the registry's consistency proof from the saved checkpoint to "
	"the latest\n"
	"    verifies (the log only grew).\n"
	"Prints `verified N events; root ... matches the checkpoint of size M "
	"signed by\n"
	"ORIGIN ...` and exits 0, or names each failed check and the first "
	"bad entry\n"
	"(`entry 17 does not match: ...`) and exits 1.\n\n"
	"Options:\n"
	"  --checkpoint SAVED  a checkpoint saved earlier with `optreg audit "
	"checkpoint\n"
	"                      --out`\n"
	"  --registry-key PUB  the registry's public key (PEM) (default\n"
	"                      $OPTREG_REGISTRY_PUBKEY; else the keys the "
	"registry\n"
	"                      lists, with a warning: not pinned)\n"
	"  --json              print {\"verified\", \"events\", "
	"\"checkpoint\", \"saved\",\n"
	"                      \"first_bad_index\", \"failures\": [{\"check\", "
	"\"index\",\n"
	"                      \"message\"}]}\n"
	"  --url URL           the registry (default $OPTREG_URL, else\n"
	"                      http://127.0.0.1:8080)\n"
	"  --token TOKEN       bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 verified, 1 a check failed, 2 usage, 3 I/O (SAVED), "
	"4 denied,\n"
	"6 unauthorized, 7 unavailable.\n";

static void audit_saved_release(struct saved *s)
{
	optreg_checkpoint_release(&s->cp);
	free(s->leaves);
	s->leaves = NULL;
}

/*
 * Loads a saved checkpoint: its note must verify with the trusted keys, its
 * fields must agree with the note, and its leaves must hash to the note's
 * root. Exit status (reported).
 */
static int saved_load(struct cli_remote *r, const char *path,
		      const struct trust *t, struct saved *s)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf why = OPTREG_BUF_INIT, in = OPTREG_BUF_INIT;
	struct optreg_saved_checkpoint file;
	optreg_hash root;
	int rc = OPTREG_EXIT_INVALID, err;

	memset(s, 0, sizeof(*s));
	memset(&file, 0, sizeof(file));
	s->path = path;
	err = optreg_buf_read_file(&in, path);
	if (err < 0) {
		fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n", r->cmd,
			path, strerror(errno));
		rc = OPTREG_EXIT_IO;
		goto out;
	}
	err = optreg_saved_checkpoint_decode(in.data, in.len, &file, &errs);
	if (err < 0) {
		fprintf(stderr,
			"optreg %s: \"%s\" is not a saved checkpoint (JSON "
			"with \"format\": \"%s\", \"note\" and "
			"\"leaves\")%s%s\n"
			"  hint: save one with `optreg audit checkpoint --out "
			"FILE`\n",
			r->cmd, path, OPTREG_SAVED_CHECKPOINT_FORMAT,
			err == OPTREG_ESYNTAX ? ": " : "",
			err == OPTREG_ESYNTAX ? errs.items[0].message : "");
		goto out;
	}
	if (audit_checkpoint_open(file.note, t, &s->cp, &why) < 0) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\" does not "
			"verify: %s\n",
			r->cmd, path, why.data);
		goto out;
	}
	if (file.nleaves != s->cp.size) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\" has %zu leaf "
			"hashes for a tree of size %" PRIu64 "\n",
			r->cmd, path, file.nleaves, s->cp.size);
		goto out;
	}
	if (file.bad_leaf >= 0) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\": "
			"leaves[%zu] is not 64 lowercase hex "
			"digits\n",
			r->cmd, path, (size_t)file.bad_leaf);
		goto out;
	}
	if (optreg_saved_checkpoint_root(&file, root) != 0 ||
	    memcmp(root, s->cp.root, OPTREG_HASH_LEN)) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\": its leaf "
			"hashes do not hash to its signed root (the file was "
			"changed)\n",
			r->cmd, path);
		goto out;
	}
	/* The saved leaves move to `s`. */
	s->leaves = file.leaves;
	file.leaves = NULL;
	rc = OPTREG_EXIT_OK;
out:
	if (rc)
		audit_saved_release(s);
	optreg_saved_checkpoint_release(&file);
	optreg_buf_release(&in);
	optreg_buf_release(&why);
	optreg_errors_release(&errs);
	return rc;
}

/* The checks that need the whole log: roots and consistency. */
static int verify_roots(struct check *c, const struct optreg_checkpoint *latest,
			const struct saved *s)
{
	char mine[45], theirs[45];
	optreg_hash root;
	const uint64_t n = c->log.next;

	if (c->stopped) {
		/* The entries after the one that stopped the walk were not
		 * read: sizes and roots cannot be compared. */
	} else if (latest->size > n) {
		audit_fail(c, "checkpoint", (int64_t)n,
			   "the registry's latest checkpoint covers %" PRIu64
			   " events but it lists only %" PRIu64
			   ": entries %" PRIu64 " to %" PRIu64 " are missing",
			   latest->size, n, n, latest->size - 1);
	} else if (!c->gaps) {
		if (audit_check_root(c, latest->size, root) < 0) {
			audit_fail(
				c, "checkpoint_root", -1,
				"cannot compute the root of the first %" PRIu64
				" events",
				latest->size);
		} else if (memcmp(root, latest->root, OPTREG_HASH_LEN)) {
			optreg_hash_to_b64(root, mine);
			optreg_hash_to_b64(latest->root, theirs);
			audit_fail(
				c, "checkpoint_root", -1,
				"the root of the first %" PRIu64
				" events, recomputed from their contents, is "
				"%s, "
				"but the checkpoint of that size signed by %s "
				"says "
				"%s: they are not the events that were "
				"signed%s",
				latest->size, mine, latest->origin, theirs,
				c->first_bad >= 0
					? ""
					: " (their stored hashes were changed "
					  "too: only a saved checkpoint, "
					  "--checkpoint, can name the first "
					  "changed entry)");
		}
	}
	if (!s)
		return 0;
	if (strcmp(s->cp.origin, latest->origin))
		audit_fail(
			c, "origin", -1,
			"the saved checkpoint is of the log %s, the registry's "
			"latest of %s",
			s->cp.origin, latest->origin);
	if (c->stopped) {
		/* As above. */
	} else if (s->cp.size > n) {
		audit_fail(c, "saved", (int64_t)n,
			   "the log has only %" PRIu64
			   " events but the saved checkpoint covers %" PRIu64
			   ": entries %" PRIu64 " to %" PRIu64 " were removed",
			   n, s->cp.size, n, s->cp.size - 1);
	} else if (!c->gaps) {
		if (audit_check_root(c, s->cp.size, root) == 0 &&
		    memcmp(root, s->cp.root, OPTREG_HASH_LEN)) {
			optreg_hash_to_b64(root, mine);
			optreg_hash_to_b64(s->cp.root, theirs);
			audit_fail(c, "saved_root", -1,
				   "the root of the first %" PRIu64
				   " events, recomputed, is %s, the saved "
				   "checkpoint's is %s",
				   s->cp.size, mine, theirs);
		}
	}
	if (s->cp.size > latest->size) {
		audit_fail(
			c, "consistency", -1,
			"the saved checkpoint (size %" PRIu64
			") is newer than the registry's latest (size %" PRIu64
			"): signed checkpoints were removed",
			s->cp.size, latest->size);
		return 0;
	}
	/* The registry's own proof that its latest signed tree extends the
	 * saved one: this holds whatever the entries say. */
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *answer = NULL;
	char num[24];
	optreg_buf_adds(&path, "/v1/audit/proof/consistency");
	snprintf(num, sizeof(num), "%" PRIu64, s->cp.size);
	optreg_http_query_add(&path, "from", num);
	snprintf(num, sizeof(num), "%" PRIu64, latest->size);
	optreg_http_query_add(&path, "to", num);
	int rc = cli_remote_call(c->r, "GET", path.data, NULL, &answer);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	const json_t *hashes = json_object_get(answer, "hashes"), *h;
	size_t len = json_array_size(hashes), i;
	optreg_hash *proof = optreg_xcalloc(len + 1, sizeof(*proof));
	int ok = json_is_array(hashes) && len <= OPTREG_MERKLE_MAX_PROOF;
	json_array_foreach(hashes, i, h) ok =
		ok && optreg_hash_from_b64(json_string_value(h), proof[i]) == 0;
	if (!ok || !optreg_merkle_verify_consistency(s->cp.size, latest->size,
						     s->cp.root, latest->root,
						     proof, len))
		audit_fail(
			c, "consistency", -1,
			"the registry's consistency proof from the saved "
			"checkpoint (size %" PRIu64
			") to its latest (size %" PRIu64
			") does not verify: the signed log was rewritten, not "
			"only extended",
			s->cp.size, latest->size);
	free(proof);
	json_decref(answer);
	return 0;
}

int cmd_audit_verify(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit verify"};
	struct trust t;
	struct optreg_checkpoint latest = {0};
	struct saved s = {0};
	struct check c = {.r = &r, .first_bad = -1};
	struct optreg_buf why = OPTREG_BUF_INIT;
	const char *saved_path = NULL, *pin = NULL;
	char root[45] = "";
	int rc, none = 0, have_saved = 0, have_latest = 0;

	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--checkpoint", "FILE", "a saved checkpoint",
			       &saved_path),
		CLI_OPT_STRING("--registry-key", "PUB", "pinned registry key",
			       &pin),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = r.cmd,
				     .help = verify_help,
				     .flags = CLI_PARSE_UNKNOWN_KIND |
					      CLI_PARSE_HELP_ON_ERROR};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	optreg_auditlog_init(&c.log);
	c.failures = json_array();
	c.collect = r.json;
	audit_trust_init(&t);
	rc = audit_trust_load(&r, pin, &t);
	if (rc == 0 && saved_path) {
		rc = saved_load(&r, saved_path, &t, &s);
		have_saved = rc == 0;
		c.saved = have_saved ? &s : NULL;
	}
	/* The checkpoint first: every event it covers was logged before we
	 * start reading, so appends while we read cannot confuse us. */
	if (rc == 0)
		rc = audit_fetch_checkpoint(&r, 0, &t, &latest, NULL, &none,
					    &why);
	if (rc == OPTREG_EXIT_INVALID) {
		audit_fail(
			&c, "checkpoint_signature", -1,
			"the registry's latest checkpoint does not verify: %s",
			why.data);
		rc = 0;
	}
	if (rc)
		goto done;
	have_latest = latest.origin != NULL;
	rc = audit_check_entries(&c, UINT64_MAX, have_latest ? latest.size : 0);
	if (rc)
		goto done;
	if (have_latest)
		rc = verify_roots(&c, &latest, have_saved ? &s : NULL);
	else if (none && (c.log.next > 0 || have_saved))
		audit_fail(&c, "checkpoint", -1,
			   "the registry has signed no checkpoint yet, so the "
			   "%" PRIu64 " events cannot be checked against a "
			   "signed root (`optreg "
			   "audit checkpoint --new` asks for one)",
			   c.log.next);
	if (rc)
		goto done;
	if (c.nshown < c.nfailed && !r.json)
		fprintf(stderr,
			"optreg audit verify: ... and %zu more failed checks "
			"not shown\n",
			c.nfailed - c.nshown);
	if (have_latest)
		optreg_hash_to_b64(latest.root, root);
	if (r.json) {
		json_t *o = json_pack(
			"{s:b, s:I, s:o, s:o, s:o, s:O}", "verified",
			c.nfailed == 0, "events", (json_int_t)c.log.count,
			"checkpoint",
			!have_latest
				? json_null()
				: json_pack("{s:I, s:s, s:s, s:s}", "size",
					    (json_int_t)latest.size, "root",
					    root, "origin", latest.origin,
					    "registry_keyid", latest.keyid),
			"saved",
			have_saved ? json_pack("{s:s, s:I}", "file", saved_path,
					       "size", (json_int_t)s.cp.size)
				   : json_null(),
			"first_bad_index",
			c.first_bad >= 0 ? json_integer((json_int_t)c.first_bad)
					 : json_null(),
			"failures", c.failures);
		char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		int prc = js ? cli_print_json_text(js, strlen(js))
			     : OPTREG_EXIT_IO;
		free(js);
		json_decref(o);
		rc = c.nfailed ? OPTREG_EXIT_INVALID : prc;
		goto done;
	}
	if (c.nfailed) {
		if (c.first_bad >= 0)
			fprintf(stderr,
				"optreg audit verify: NOT VERIFIED: %zu "
				"check%s failed; the first bad entry is "
				"%" PRId64 "\n",
				c.nfailed, c.nfailed == 1 ? "" : "s",
				c.first_bad);
		else
			fprintf(stderr,
				"optreg audit verify: NOT VERIFIED: %zu "
				"check%s failed\n",
				c.nfailed, c.nfailed == 1 ? "" : "s");
		rc = OPTREG_EXIT_INVALID;
		goto done;
	}
	if (!have_latest) {
		printf("verified 0 events: the log is empty and no checkpoint "
		       "has been signed\n");
	} else {
		printf("verified %" PRIu64 " events; root %s matches the "
		       "checkpoint of size %" PRIu64
		       " signed by %s (registry key %.16s%s)",
		       c.log.count, root, latest.size, latest.origin,
		       latest.keyid, t.pinned ? ", pinned" : ", not pinned");
		if (have_saved)
			printf("; consistent with the saved checkpoint of size "
			       "%" PRIu64,
			       s.cp.size);
		if (c.log.count > latest.size)
			printf("; %" PRIu64 " newer event%s not yet in a "
			       "signed checkpoint",
			       c.log.count - latest.size,
			       c.log.count - latest.size == 1 ? " is"
							      : "s are");
		printf("\n");
	}
	rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
done:
	optreg_buf_release(&why);
	json_decref(c.failures);
	optreg_auditlog_release(&c.log);
	optreg_checkpoint_release(&latest);
	audit_saved_release(&s);
	audit_trust_release(&t);
	cli_remote_close(&r);
	return rc;
}
