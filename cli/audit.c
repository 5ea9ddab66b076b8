/*
 * cli/audit.c: `optreg audit log|checkpoint|verify`, the registry's
 * tamper-evident audit log from the outside (docs/audit.md).
 *
 *   log         a readable timeline of events, filtered by the registry
 *               (audit_log.c)
 *   checkpoint  fetches (or, with --new, makes) the latest signed
 *               checkpoint, checks its signature with the registry key and
 *               can save it with the leaf hash of every event it covers,
 *               recomputed here: a witness copy for a later verify
 *               (audit_checkpoint.c)
 *   verify      downloads the whole log, recomputes every leaf and the tree,
 *               and checks them against the latest signed checkpoint and,
 *               with --checkpoint, against a saved one (audit_verify.c)
 *
 * Nothing the registry says about hashes is taken on trust: leaves and
 * roots are computed from the events (common/auditlog.h). The registry's
 * leaf_hash, its proofs and its checkpoints are only compared with what is
 * computed. This file holds the dispatcher and what the subcommands share:
 * fetching checkpoints, walking the entries, and the check engine.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/jsonutil.h"
#include "../common/checkpoint.h"
#include "../common/hash.h"
#include "../validator/jcs.h"
#include "audit.h"

#define PAGE_SIZE 1000 /* the most GET /v1/audit/entries gives at once */
#define MAX_SHOWN 10   /* per-entry failures printed; the rest counted */

static const char help[] =
	"usage: optreg audit <command> [options]\n\n"
	"Reads and checks the registry's tamper-evident audit log (needs the "
	"auditor\n"
	"or admin role on \"*\"). Every change to the registry is one event, "
	"a leaf of\n"
	"a Merkle tree whose roots the registry signs as checkpoints.\n\n"
	"Commands:\n"
	"  log          print events as a timeline, optionally filtered\n"
	"  checkpoint   fetch the latest signed checkpoint, check it, save a "
	"copy\n"
	"  verify       download the log, recompute it, check it against "
	"signed\n"
	"               checkpoints\n\n"
	"Run `optreg audit <command> --help` for its options. See "
	"docs/audit.md.\n";

int audit_fetch_checkpoint(struct cli_remote *r, int make,
			   const struct trust *t, struct optreg_checkpoint *cp,
			   char **note, int *none, struct optreg_buf *bad)
{
	struct optreg_http_resp resp;
	struct optreg_buf why = OPTREG_BUF_INIT;
	int rc;

	memset(cp, 0, sizeof(*cp));
	if (note)
		*note = NULL;
	if (none)
		*none = 0;
	optreg_http_resp_init(&resp);
	rc = cli_remote_request(r, make ? "POST" : "GET",
				"/v1/audit/checkpoint", NULL, &resp);
	if (rc)
		goto out;
	if (resp.status == 404 && none) {
		*none = 1;
		goto out;
	}
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}
	if (memchr(resp.body.data, '\0', resp.body.len))
		optreg_buf_adds(&why, "it holds a NUL byte");
	else if (audit_checkpoint_open(resp.body.data, t, cp, &why) == 0) {
		if (note)
			*note = optreg_xstrdup(resp.body.data);
		goto out;
	}
	rc = OPTREG_EXIT_INVALID;
	if (bad)
		optreg_buf_addf(bad, "%s", why.data);
	else
		cli_report(r, rc, "bad_checkpoint",
			   "the registry's latest checkpoint does not verify: "
			   "%s",
			   why.data);
out:
	optreg_buf_release(&why);
	optreg_http_resp_release(&resp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Walking the entries */

int audit_progress_on(const struct cli_remote *r)
{
	return !r->json && isatty(STDERR_FILENO);
}

static void progress(const struct walk *w, int done)
{
	if (!audit_progress_on(w->r))
		return;
	if (done)
		fprintf(stderr, "\r\033[K");
	else if (w->total)
		fprintf(stderr, "\roptreg %s: %ld of %" PRIu64 " events...",
			w->r->cmd, w->seen, w->total);
	else
		fprintf(stderr, "\roptreg %s: %ld events...", w->r->cmd,
			w->seen);
	fflush(stderr);
}

/* One page: GET /v1/audit/entries?start=&page_size=&... Exit status; a
 * body that is not JSON leaves *page NULL and returns 0. */
static int fetch_page(struct walk *w, uint64_t start, long size, json_t **page,
		      struct optreg_buf *raw)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	char num[24];
	int rc;

	*page = NULL;
	optreg_buf_adds(&path, "/v1/audit/entries");
	snprintf(num, sizeof(num), "%" PRIu64, start);
	optreg_http_query_add(&path, "start", num);
	if (w->end != UINT64_MAX) {
		snprintf(num, sizeof(num), "%" PRIu64, w->end);
		optreg_http_query_add(&path, "end", num);
	}
	snprintf(num, sizeof(num), "%ld", size);
	optreg_http_query_add(&path, "page_size", num);
	if (w->f) {
		const char *names[] = {"actor", "action", "target",
				       "since", "until",  "config"};
		const char *vals[] = {w->f->actor, w->f->action, w->f->target,
				      w->f->since, w->f->until,	 w->f->config};
		for (size_t i = 0; i < 6; i++)
			if (vals[i])
				optreg_http_query_add(&path, names[i], vals[i]);
	}
	optreg_http_resp_init(&resp);
	rc = cli_remote_request(w->r, "GET", path.data, NULL, &resp);
	if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(w->r, &resp, NULL, NULL);
	if (rc == 0) {
		/* Duplicate keys are allowed here: an event with two of one
		 * key then fails its leaf check, by index, instead of failing
		 * the whole page. */
		*page = json_loadb(resp.body.data, resp.body.len,
				   JSON_ALLOW_NUL, NULL);
		if (*page && !json_is_object(*page)) {
			json_decref(*page);
			*page = NULL;
		}
		optreg_buf_reset(raw);
		optreg_buf_add(raw, resp.body.data, resp.body.len);
	}
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

/*
 * Fetches entries page by page from w->start, following next_start, and
 * hands each to w->fn. A page that is not JSON (an event text that is not
 * JSON, spliced in as stored) is fetched again one entry at a time, to
 * find that entry: its index goes to w->broken and the walk stops there
 * (returning 0). Exit status.
 */
int audit_walk_entries(struct walk *w)
{
	struct optreg_buf raw = OPTREG_BUF_INIT;
	uint64_t start = w->start;
	long careful = 0; /* entries left to fetch one at a time */
	int rc = 0;

	w->seen = 0;
	w->broken = -1;
	w->next_start = json_null();
	for (;;) {
		long size = PAGE_SIZE;
		json_t *page, *entries, *e, *next;
		size_t i;

		if (w->limit && w->limit - w->seen < size)
			size = w->limit - w->seen;
		if (careful)
			size = 1;
		rc = fetch_page(w, start, size, &page, &raw);
		if (rc)
			break;
		if (!page) {
			if (size > 1) {
				careful = size;
				continue;
			}
			long long idx = (long long)start;
			sscanf(raw.data, "{\"entries\":[{\"index\":%lld", &idx);
			w->broken = idx;
			break;
		}
		entries = json_object_get(page, "entries");
		next = json_object_get(page, "next_start");
		if (!json_is_array(entries) ||
		    (!json_is_null(next) && !json_is_integer(next))) {
			json_decref(page);
			rc = cli_report(w->r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry's entries page has no "
					"entries array or a bad next_start");
			break;
		}
		json_array_foreach(entries, i, e)
		{
			if (w->limit && w->seen >= w->limit)
				break;
			w->seen++;
			rc = w->fn(w->ctx, e);
			if (rc)
				break;
		}
		if (careful)
			careful--;
		if (rc) {
			json_decref(page);
			break;
		}
		progress(w, 0);
		/* Stop at the end, and on a next_start that does not move
		 * forward, so a confused server cannot loop us forever. */
		if (json_is_null(next) || json_integer_value(next) < 0 ||
		    (uint64_t)json_integer_value(next) <= start) {
			json_decref(page);
			break;
		}
		start = (uint64_t)json_integer_value(next);
		json_decref(page);
		if (w->limit && w->seen >= w->limit) {
			json_decref(w->next_start);
			w->next_start = json_integer((json_int_t)start);
			break;
		}
	}
	progress(w, 1);
	optreg_buf_release(&raw);
	return rc;
}

const char *audit_str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = optreg_json_str(o, key);

	return s && s[0] ? s : dflt;
}

/* ------------------------------------------------------------------ */
/* Checking entries (checkpoint --out and verify) */

/* Records a failed check; `index` -1 when no entry can be named. */
void audit_fail(struct check *c, const char *check, int64_t index,
		const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (index >= 0 && (c->first_bad < 0 || index < c->first_bad))
		c->first_bad = index;
	c->nfailed++;
	if (c->collect) {
		if (json_array_size(c->failures) < 1000)
			json_array_append_new(
				c->failures,
				json_pack("{s:s, s:o, s:s}", "check", check,
					  "index",
					  index >= 0 ? json_integer((
							       json_int_t)index)
						     : json_null(),
					  "message", msg.data));
	} else if (c->nshown < MAX_SHOWN || index < 0) {
		if (audit_progress_on(c->r))
			fprintf(stderr, "\r\033[K");
		fprintf(stderr, "optreg %s: %s\n", c->r->cmd, msg.data);
		c->nshown++;
	}
	optreg_buf_release(&msg);
}

/* Checks one entry: its place in the sequence, its leaf hash against the
 * registry's and against the saved copy; adds it to the tree. */
static int check_entry(void *ctx, const json_t *e)
{
	struct check *c = ctx;
	char got[OPTREG_SHA256_HEX_LEN + 1], want[OPTREG_SHA256_HEX_LEN + 1];
	struct optreg_auditlog_step st;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	const json_t *event = json_object_get(e, "event");
	int hashable = event && optreg_jcs_serialize(event, &canon, NULL) == 0;
	uint64_t next;
	int64_t idx;

	/* The leaf is of the event's RFC 8785 form, made here. */
	optreg_auditlog_add(&c->log, e, hashable ? &canon : NULL, &st);
	optreg_buf_release(&canon);
	next = st.expected;
	idx = st.index;
	switch (st.seq) {
	case OPTREG_AUDITLOG_SEQ_NO_INDEX:
		audit_fail(c, "sequence", (int64_t)next,
			   "entry %" PRIu64 " is malformed: the registry "
			   "listed an entry with no valid index where it was "
			   "expected",
			   next);
		return -1;
	case OPTREG_AUDITLOG_SEQ_GAP:
		if (next == 0)
			audit_fail(c, "sequence", 0,
				   "entry 0 is missing: the registry's list "
				   "starts at entry %" PRId64,
				   idx);
		else if ((uint64_t)idx == next + 1)
			audit_fail(c, "sequence", (int64_t)next,
				   "entry %" PRIu64
				   " is missing: the registry's list goes from "
				   "entry %" PRIu64 " to entry %" PRId64,
				   next, next - 1, idx);
		else
			audit_fail(c, "sequence", (int64_t)next,
				   "entries %" PRIu64 " to %" PRId64
				   " are missing: the registry's list goes "
				   "from entry %" PRIu64 " to entry %" PRId64,
				   next, idx - 1, next - 1, idx);
		c->gaps = 1;
		break;
	case OPTREG_AUDITLOG_SEQ_REPEAT:
		audit_fail(c, "sequence", idx,
			   "entry %" PRId64 " is listed twice (or out of "
			   "order): expected entry %" PRIu64 " next",
			   idx, next);
		c->gaps = 1;
		return 0;
	case OPTREG_AUDITLOG_SEQ_OK:
		break;
	}
	switch (st.leaf) {
	case OPTREG_AUDITLOG_LEAF_NO_EVENT:
		audit_fail(c, "leaf", idx,
			   "entry %" PRId64 " does not match: it has no event "
			   "that can be canonicalized (RFC 8785)",
			   idx);
		break;
	case OPTREG_AUDITLOG_LEAF_BAD_HASH:
		audit_fail(c, "leaf", idx,
			   "entry %" PRId64 " does not match: its leaf_hash is "
			   "not a base64 SHA-256 hash",
			   idx);
		break;
	case OPTREG_AUDITLOG_LEAF_MISMATCH:
		optreg_hex_encode(st.computed, OPTREG_HASH_LEN, got);
		optreg_hex_encode(st.listed, OPTREG_HASH_LEN, want);
		audit_fail(c, "leaf", idx,
			   "entry %" PRId64 " does not match: its event hashes "
			   "to %.16s..., the registry's leaf_hash is %.16s... "
			   "(the event or its hash was changed after it was "
			   "logged)",
			   idx, got, want);
		break;
	case OPTREG_AUDITLOG_LEAF_OK:
		break;
	}
	if (c->saved && (uint64_t)idx < c->saved->cp.size &&
	    memcmp(st.computed, c->saved->leaves[idx], OPTREG_HASH_LEN)) {
		optreg_hex_encode(st.computed, OPTREG_HASH_LEN, got);
		optreg_hex_encode(c->saved->leaves[idx], OPTREG_HASH_LEN, want);
		audit_fail(
			c, "saved", idx,
			"entry %" PRId64 " does not match the saved "
			"checkpoint: its leaf hash is now %.16s..., %s saved "
			"%.16s... (the entry was changed, removed or "
			"reordered since)",
			idx, got, c->saved->path, want);
	}
	return 0;
}

/*
 * Walks entries [0, end) through check_entry. Exit status of the walk; an
 * entry that is not JSON is recorded as a failure (and ends the walk).
 */
int audit_check_entries(struct check *c, uint64_t end, uint64_t total)
{
	struct walk w = {.r = c->r,
			 .end = end,
			 .total = total,
			 .fn = check_entry,
			 .ctx = c};
	int rc = audit_walk_entries(&w);

	json_decref(w.next_start);
	if (rc == -1) {
		c->stopped = 1; /* check_entry stopped it, with a failure */
		return 0;
	}
	if (rc == 0 && w.broken >= 0) {
		if ((uint64_t)w.broken > c->log.next)
			audit_fail(c, "sequence", (int64_t)c->log.next,
				   "entry %" PRIu64
				   " is missing: the registry's "
				   "list goes on with entry %" PRId64,
				   c->log.next, w.broken);
		audit_fail(c, "leaf", w.broken,
			   "entry %" PRId64
			   " does not match: its event is not valid "
			   "JSON (the stored text was changed)",
			   w.broken);
		c->stopped = 1; /* the rest was not read */
	}
	return rc;
}

/* The root of the first `n` recomputed leaves; -1 when there are fewer. */
int audit_check_root(struct check *c, uint64_t n, optreg_hash out)
{
	return optreg_auditlog_root(&c->log, n, out);
}

/* ------------------------------------------------------------------ */

int cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help, stderr);
		return OPTREG_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		fputs(help, stdout);
		return OPTREG_EXIT_OK;
	}
	if (!strcmp(argv[1], "log"))
		return cmd_audit_log(argc - 1, argv + 1);
	if (!strcmp(argv[1], "checkpoint"))
		return cmd_audit_checkpoint(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_audit_verify(argc - 1, argv + 1);
	fprintf(stderr,
		"optreg audit: unknown command \"%s\"\n"
		"  hint: the commands are log, checkpoint and verify\n",
		argv[1]);
	return OPTREG_EXIT_USAGE;
}
