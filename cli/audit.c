/*
 * cli/audit.c: `optreg audit log|checkpoint|verify`, the registry's
 * tamper-evident audit log from the outside (docs/audit.md).
 *
 *   log         a readable timeline of events, filtered by the registry
 *   checkpoint  fetches (or, with --new, makes) the latest signed
 *               checkpoint, checks its signature with the registry key and
 *               can save it with the leaf hash of every event it covers,
 *               recomputed here: a witness copy for a later verify
 *   verify      downloads the whole log, recomputes every leaf and the tree,
 *               and checks them against the latest signed checkpoint and,
 *               with --checkpoint, against a saved one
 *
 * Nothing the registry says about hashes is taken on trust: a leaf is
 * SHA-256(0x00 || RFC 8785 form of the event as parsed here), and roots are
 * computed from those leaves (common/merkle.h). The registry's leaf_hash,
 * its proofs and its checkpoints are only compared with what is computed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/merkle.h"
#include "../common/note.h"
#include "cli.h"

#define PAGE_SIZE    1000 /* the most GET /v1/audit/entries gives at once */
#define SAVED_FORMAT "optreg-audit-checkpoint-v1"
#define MAX_SHOWN    10 /* per-entry failures printed; the rest counted */

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

static const char log_help[] =
	"usage: optreg audit log [--actor A] [--action X] [--target T] "
	"[--since TIME]\n"
	"                        [--until TIME] [--limit N] [--json] [--url "
	"URL]\n"
	"                        [--token TOKEN]\n\n"
	"Prints the audit log oldest first, one event a line:\n"
	"  INDEX  TIME                      ACTOR   ACTION     TARGET          "
	"    DETAILS\n"
	"  17     2026-11-23T10:00:00.000Z  ci@nlp  tag.moved  "
	"team-nlp/bert@prod  prod: 2 -> 3\n"
	"The columns are as wide as their widest cell; DETAILS sums up what "
	"changed.\n\n"
	"Options:\n"
	"  --actor A        only events by principal A\n"
	"  --action X       only events with action X (version.created, "
	"tag.moved,\n"
	"                   version.yanked, key.added, key.revoked, "
	"token.created,\n"
	"                   token.revoked, namespace.settings, job.leased,\n"
	"                   job.expired, verdict.recorded, write.denied)\n"
	"  --target T       only events about T (team-nlp/bert@3, "
	"team-nlp/bert@prod,\n"
	"                   a key id, a token id, a namespace)\n"
	"  --since TIME     only events at or after TIME: RFC 3339 "
	"(2026-11-23T10:00:00Z)\n"
	"                   or an age such as 30m, 12h, 7d\n"
	"  --until TIME     only events before TIME (same forms)\n"
	"  --limit N        show at most N events (default: all)\n"
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

static const char checkpoint_help[] =
	"usage: optreg audit checkpoint [--out FILE] [--new] [--registry-key "
	"PUB]\n"
	"                               [--json] [--url URL] [--token "
	"TOKEN]\n\n"
	"Fetches the registry's latest signed checkpoint (a C2SP signed note: "
	"origin,\n"
	"tree size, root hash) and checks its signature with the registry "
	"key. Without\n"
	"--out it prints the note. With --out it also downloads every event "
	"the\n"
	"checkpoint covers, recomputes their leaf hashes and the root, checks "
	"that the\n"
	"root is the signed one, and saves the note and the leaf hashes to "
	"FILE: a\n"
	"witness copy that `optreg audit verify --checkpoint FILE` compares "
	"the log\n"
	"with later, naming the first entry that changed.\n\n"
	"Options:\n"
	"  --out FILE        save the checkpoint and its leaf hashes to FILE "
	"(JSON,\n"
	"                    docs/audit.md); replaced atomically\n"
	"  --new             ask the registry to sign a checkpoint of the "
	"current log\n"
	"                    first (POST /v1/audit/checkpoint)\n"
	"  --registry-key PUB\n"
	"                    the registry's public key (PEM) to check "
	"signatures with\n"
	"                    (default $OPTREG_REGISTRY_PUBKEY; else the keys "
	"the\n"
	"                    registry lists, with a warning: not pinned)\n"
	"  --json            print {\"origin\", \"size\", \"root\", "
	"\"registry_keyid\",\n"
	"                    \"note\", \"saved_to\"}\n"
	"  --url URL         the registry (default $OPTREG_URL, else\n"
	"                    http://127.0.0.1:8080)\n"
	"  --token TOKEN     bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 1 the checkpoint or the log does not verify, 2 "
	"usage, 3 I/O,\n"
	"4 denied, 6 unauthorized, 7 unavailable, 8 no checkpoint yet.\n";

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

/* ------------------------------------------------------------------ */
/* Hashes */

static void hex_of(const optreg_hash h, char out[2 * OPTREG_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < OPTREG_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * OPTREG_HASH_LEN] = '\0';
}

static int hex_parse(const char *s, optreg_hash out)
{
	if (!s || strlen(s) != 2 * OPTREG_HASH_LEN ||
	    strspn(s, "0123456789abcdef") != 2 * OPTREG_HASH_LEN)
		return -1;
	for (size_t i = 0; i < OPTREG_HASH_LEN; i++) {
		int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0'
					     : s[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Standard padded base64, as the API and the checkpoints write hashes. */
static void b64_of(const optreg_hash h, char out[45])
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	snprintf(out, 45, "%s", b.data);
	optreg_buf_release(&b);
}

static int b64_parse(const char *s, optreg_hash out)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	int ok = s && optreg_base64_decode(s, strlen(s), &b) == 0 &&
		 b.len == OPTREG_HASH_LEN;

	if (ok)
		memcpy(out, b.data, OPTREG_HASH_LEN);
	optreg_buf_release(&b);
	return ok ? 0 : -1;
}

/*
 * The leaf hash of an event as this side sees it: SHA-256(0x00 || RFC 8785
 * form of the parsed event). -1 when the event cannot be canonicalized.
 */
static int event_leaf(const json_t *event, optreg_hash out)
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	int rc = optreg_jcs_serialize(event, &canon, NULL);

	if (rc == 0)
		optreg_merkle_leaf_hash(canon.data, canon.len, out);
	optreg_buf_release(&canon);
	return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Registry keys and checkpoints */

/* The registry keys checkpoint signatures are checked with. */
struct trust {
	struct optreg_key **keys;
	char (*ids)[OPTREG_KEYID_LEN + 1];
	size_t n;
	int pinned;
};

static void trust_add(struct trust *t, struct optreg_key *key)
{
	t->keys = optreg_xrealloc(t->keys, (t->n + 1) * sizeof(*t->keys));
	t->ids = optreg_xrealloc(t->ids, (t->n + 1) * sizeof(*t->ids));
	t->keys[t->n] = key;
	optreg_key_id(key, t->ids[t->n]);
	t->n++;
}

static void trust_release(struct trust *t)
{
	for (size_t i = 0; i < t->n; i++)
		optreg_key_free(t->keys[i]);
	free(t->keys);
	free(t->ids);
	memset(t, 0, sizeof(*t));
}

/*
 * Loads the pinned key (`pin`, else $OPTREG_REGISTRY_PUBKEY), else the keys
 * GET /v1/registry/keys lists, with a warning. Exit status.
 */
static int trust_load(struct cli_remote *r, const char *pin, struct trust *t)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *list = NULL, *k;
	size_t i;

	if (!pin || !pin[0])
		pin = getenv("OPTREG_REGISTRY_PUBKEY");
	if (pin && pin[0]) {
		struct optreg_key *key = NULL;
		int rc = optreg_key_load_file(&key, pin, &errs);

		if (rc < 0) {
			fprintf(stderr, "optreg %s: --registry-key: %s\n",
				r->cmd, errs.items[0].message);
			if (errs.items[0].hint)
				fprintf(stderr, "  hint: %s\n",
					errs.items[0].hint);
			optreg_errors_release(&errs);
			return rc == OPTREG_EIO ? OPTREG_EXIT_IO
						: OPTREG_EXIT_USAGE;
		}
		trust_add(t, key);
		t->pinned = 1;
		return OPTREG_EXIT_OK;
	}
	fprintf(stderr,
		"optreg %s: warning: the registry key was not pinned: trusting "
		"the keys the registry lists (trust on first use)\n"
		"  hint: pin it with --registry-key PUB or "
		"OPTREG_REGISTRY_PUBKEY, from the operator\n",
		r->cmd);
	struct optreg_http_resp resp;
	optreg_http_resp_init(&resp);
	int rc = cli_remote_request(r, "GET", "/v1/registry/keys", NULL, &resp);
	if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc == 0 && !(list = cli_response_json(r, &resp, 0)))
		rc = OPTREG_EXIT_UNAVAILABLE;
	optreg_http_resp_release(&resp);
	if (rc)
		return rc;
	json_array_foreach(json_object_get(list, "keys"), i, k)
	{
		const char *pem =
			json_string_value(json_object_get(k, "public_key"));
		struct optreg_key *key = NULL;

		if (pem &&
		    optreg_key_load_pem(&key, pem, strlen(pem), &errs) == 0)
			trust_add(t, key);
		optreg_errors_release(&errs);
	}
	json_decref(list);
	if (!t->n)
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry lists no usable registry key "
				  "(GET /v1/registry/keys)");
	return OPTREG_EXIT_OK;
}

/* A checkpoint whose signature verified. */
struct checkpoint {
	char *note; /* the signed note, as served or saved */
	char *origin;
	uint64_t size;
	optreg_hash root;
	char keyid[OPTREG_KEYID_LEN + 1]; /* the registry key that signed */
};

static void checkpoint_release(struct checkpoint *cp)
{
	free(cp->note);
	free(cp->origin);
	memset(cp, 0, sizeof(*cp));
}

/*
 * Checks the signed note `note` with the trusted keys under the name its
 * first line gives (a checkpoint is signed under its origin) and parses it.
 * Returns 0, or -1 with the reason in `why`.
 */
static int checkpoint_open(const char *note, const struct trust *t,
			   struct checkpoint *cp, struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	const char *nl = strchr(note, '\n');
	char *name = nl ? optreg_xstrndup(note, (size_t)(nl - note)) : NULL;
	char *origin = NULL;
	int found = -1;

	memset(cp, 0, sizeof(*cp));
	if (!name || !optreg_note_name_is_valid(name)) {
		optreg_buf_adds(why, "it is not a checkpoint: its first line "
				     "is not an origin that can name a key");
		goto out;
	}
	for (size_t i = 0; i < t->n && found < 0; i++) {
		optreg_errors_release(&errs);
		optreg_buf_reset(&text);
		if (optreg_note_open(note, strlen(note), name, t->keys[i],
				     &text, &errs) == 0)
			found = (int)i;
		else if (!strcmp(errs.items[0].rule, "note_format"))
			break;
	}
	if (found < 0) {
		const struct optreg_error *e = &errs.items[0];
		if (!strcmp(e->rule, "note_format"))
			optreg_buf_addf(why,
					"it is not a signed note (line %d: "
					"%s)",
					e->line, e->message);
		else if (t->n == 1)
			optreg_buf_addf(why,
					"its signature does not verify with "
					"the %s registry key %.16s under the "
					"name %s: %s",
					t->pinned ? "pinned" : "listed",
					t->ids[0], name, e->message);
		else
			optreg_buf_addf(why,
					"its signature verifies with none of "
					"the %zu listed registry keys under "
					"the name %s: %s",
					t->n, name, e->message);
		goto out;
	}
	optreg_errors_release(&errs);
	if (optreg_checkpoint_parse(text.data, &origin, &cp->size, cp->root,
				    &errs) < 0) {
		optreg_buf_addf(why,
				"its text is not a checkpoint (line %d: %s)",
				errs.items[0].line, errs.items[0].message);
		goto out;
	}
	cp->note = optreg_xstrdup(note);
	cp->origin = origin;
	origin = NULL;
	memcpy(cp->keyid, t->ids[found], sizeof(cp->keyid));
out:
	free(origin);
	free(name);
	optreg_buf_release(&text);
	optreg_errors_release(&errs);
	return cp->note ? 0 : -1;
}

/*
 * GET (or with `make` POST) /v1/audit/checkpoint and checks it. A 404 (none
 * signed yet) sets *none and returns 0 when `none` is given. Exit status;
 * a checkpoint that does not verify is OPTREG_EXIT_INVALID, reported, or
 * when `bad` is given, described there instead.
 */
static int fetch_checkpoint(struct cli_remote *r, int make,
			    const struct trust *t, struct checkpoint *cp,
			    int *none, struct optreg_buf *bad)
{
	struct optreg_http_resp resp;
	struct optreg_buf why = OPTREG_BUF_INIT;
	int rc;

	memset(cp, 0, sizeof(*cp));
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
	else if (checkpoint_open(resp.body.data, t, cp, &why) == 0)
		goto out;
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

struct filters {
	const char *actor, *action, *target, *since, *until;
};

/* Called for each entry in index order; nonzero stops the walk (and is
 * returned). */
typedef int (*entry_fn)(void *ctx, const json_t *entry);

struct walk {
	struct cli_remote *r;
	const struct filters *f; /* NULL: none */
	uint64_t start, end;	 /* [start, end); end UINT64_MAX: no bound */
	long limit;		 /* 0: all */
	uint64_t total;		 /* for the progress line; 0 unknown */
	entry_fn fn;
	void *ctx;
	/* Out: */
	long seen;
	json_t *next_start; /* where --limit stopped (or null) */
	int64_t broken;	    /* index of an entry that is not JSON, or -1 */
};

static int progress_on(const struct cli_remote *r)
{
	return !r->json && isatty(STDERR_FILENO);
}

static void progress(const struct walk *w, int done)
{
	if (!progress_on(w->r))
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
		const char *names[] = {"actor", "action", "target", "since",
				       "until"};
		const char *vals[] = {w->f->actor, w->f->action, w->f->target,
				      w->f->since, w->f->until};
		for (size_t i = 0; i < 5; i++)
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
static int walk_entries(struct walk *w)
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

/* The entry's index, or -1 when it has none that fits. */
static int64_t entry_index(const json_t *e)
{
	const json_t *v = json_object_get(e, "index");

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return (int64_t)json_integer_value(v);
}

/* ------------------------------------------------------------------ */
/* optreg audit log */

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
static const char *time_arg(const char *s, char buf[32])
{
	long long age = s ? age_seconds(s) : -1;

	if (age < 0)
		return s;
	time_t t = time(NULL) - (time_t)age;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
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

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The string member `key` of `o`, else `dflt` (also for ""). */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = str(o, key);

	return s && s[0] ? s : dflt;
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
		optreg_buf_addf(out, "%s: ", str_or(d, "tag", "?"));
		add_version_or_new(out, json_object_get(d, "from"));
		optreg_buf_adds(out, " -> ");
		add_version_or_new(out, json_object_get(d, "to"));
		return;
	}
	if (!strcmp(action, "version.created")) {
		size_t n = json_array_size(json_object_get(d, "signer_keyids"));
		optreg_buf_addf(out, "%.19s, %zu signer%s",
				str_or(d, "digest", "?"), n, n == 1 ? "" : "s");
		return;
	}
	if (!strcmp(action, "write.denied")) {
		const json_t *why = json_object_get(d, "reasons");
		size_t i;
		optreg_buf_addf(
			out, "%s %s: %" JSON_INTEGER_FORMAT " %s",
			str_or(d, "method", "?"), str_or(d, "route", "?"),
			json_integer_value(json_object_get(d, "status")),
			str_or(d, "code", "?"));
		if (str(d, "required_role"))
			optreg_buf_addf(out, " (needs %s on %s)",
					str(d, "required_role"),
					str_or(d, "namespace", "?"));
		json_array_foreach(why, i, v) optreg_buf_addf(
			out, "%s%s", i ? ", " : " (", str_or(v, "rule", "?"));
		if (json_array_size(why))
			optreg_buf_addch(out, ')');
		return;
	}
	if (!strcmp(action, "token.created")) {
		const json_t *g;
		size_t i;
		optreg_buf_addf(out, "for %s:", str_or(d, "principal", "?"));
		json_array_foreach(json_object_get(d, "grants"), i, g)
			optreg_buf_addf(out, "%s%s on %s", i ? "," : " ",
					str_or(g, "role", "?"),
					str_or(g, "namespace", "?"));
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
	json_t *entries; /* --json */
	char **cells;	 /* rows of 6 */
	size_t nrows, cap;
};

static int log_entry(void *ctx, const json_t *e)
{
	struct log_ctx *lc = ctx;
	const json_t *ev = json_object_get(e, "event");

	if (lc->entries) {
		json_array_append(lc->entries, (json_t *)e);
		return 0;
	}
	if (lc->nrows == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 64;
		lc->cells = optreg_xrealloc(lc->cells,
					    lc->cap * 6 * sizeof(*lc->cells));
	}
	char **row = lc->cells + lc->nrows++ * 6;
	struct optreg_buf d = OPTREG_BUF_INIT;
	const char *action = str_or(ev, "action", "-");

	summarize(action, json_object_get(ev, "details"), &d);
	row[0] = optreg_xasprintf("%" PRId64, entry_index(e));
	row[1] = cell(str_or(ev, "time", "-"), 40);
	row[2] = cell(str_or(json_object_get(ev, "actor"), "principal", "-"),
		      40);
	row[3] = cell(action, 40);
	row[4] = cell(str_or(ev, "target", "-"), 80);
	row[5] = cell(d.len ? d.data : "-", 120);
	optreg_buf_release(&d);
	return 0;
}

static int print_rows(char **cells, size_t nrows)
{
	static const char *const head[6] = {"INDEX",  "TIME",	"ACTOR",
					    "ACTION", "TARGET", "DETAILS"};
	size_t width[6];

	for (size_t c = 0; c < 6; c++)
		width[c] = strlen(head[c]);
	for (size_t i = 0; i < nrows * 6; i++)
		if (strlen(cells[i]) > width[i % 6])
			width[i % 6] = strlen(cells[i]);
	for (size_t i = 0; i <= nrows; i++)
		for (size_t c = 0; c < 6; c++) {
			const char *s = i ? cells[(i - 1) * 6 + c] : head[c];
			if (c < 5)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
	if (fflush(stdout) != 0) {
		perror("optreg audit log: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

static int cmd_log_events(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit log"};
	struct filters f = {0};
	struct log_ctx lc = {.r = &r};
	const char *limitarg = NULL;
	char since[32], until[32];
	long limit = 0;
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
	rc = walk_entries(&w);
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

/* ------------------------------------------------------------------ */
/* Saved checkpoints */

/* A checkpoint saved by `checkpoint --out`: the note, and the leaf hashes
 * of the entries it covers. */
struct saved {
	const char *path;
	struct checkpoint cp;
	optreg_hash *leaves; /* cp.size of them */
};

static void saved_release(struct saved *s)
{
	checkpoint_release(&s->cp);
	free(s->leaves);
	s->leaves = NULL;
}

/* Writes `b` to `path` by way of a temporary file and a rename. */
static int write_file(const char *cmd, const char *path,
		      const struct optreg_buf *b)
{
	char *tmp = optreg_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int err = fd < 0 ? errno : 0;

	for (size_t off = 0; !err && off < b->len;) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		if (fd >= 0)
			unlink(tmp);
		fprintf(stderr, "optreg %s: cannot write \"%s\": %s\n", cmd,
			path, strerror(err));
	}
	free(tmp);
	return err ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
}

static int save_checkpoint(const char *cmd, const char *path,
			   const struct checkpoint *cp,
			   const struct optreg_merkle_mem *tree)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char root[45], hex[2 * OPTREG_HASH_LEN + 1], now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	b64_of(cp->root, root);
	json_t *head =
		json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "format",
			  SAVED_FORMAT, "origin", cp->origin, "size",
			  (json_int_t)cp->size, "root", root, "registry_keyid",
			  cp->keyid, "saved_at", now, "note", cp->note);
	char *s = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER)
		       : NULL;
	json_decref(head);
	if (!s) {
		fprintf(stderr, "optreg %s: cannot encode the checkpoint\n",
			cmd);
		return OPTREG_EXIT_INVALID;
	}
	/* The head's members, then the leaves one a line (hex). */
	optreg_buf_add(&out, s, strlen(s) - 1);
	free(s);
	optreg_buf_adds(&out, ",\n\"leaves\":[");
	for (uint64_t i = 0; i < cp->size; i++) {
		hex_of(tree->levels[0][i], hex);
		optreg_buf_addf(&out, "%s\n\"%s\"", i ? "," : "", hex);
	}
	optreg_buf_adds(&out, "]}\n");
	int rc = write_file(cmd, path, &out);
	optreg_buf_release(&out);
	return rc;
}

/*
 * Loads a saved checkpoint: its note must verify with the trusted keys, its
 * fields must agree with the note, and its leaves must hash to the note's
 * root. Exit status (reported).
 */
static int saved_load(struct cli_remote *r, const char *path,
		      const struct trust *t, struct saved *s)
{
	struct optreg_buf why = OPTREG_BUF_INIT, in = OPTREG_BUF_INIT;
	struct optreg_merkle_mem tree;
	json_error_t jerr;
	json_t *o = NULL, *leaves, *v;
	optreg_hash root;
	int rc = OPTREG_EXIT_INVALID;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->path = path;
	optreg_merkle_mem_init(&tree);
	int err = optreg_buf_read_file(&in, path);
	if (err < 0) {
		fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n", r->cmd,
			path, strerror(-err));
		rc = OPTREG_EXIT_IO;
		goto out;
	}
	o = json_loadb(in.data, in.len, JSON_REJECT_DUPLICATES, &jerr);
	leaves = json_object_get(o, "leaves");
	if (!json_is_object(o) ||
	    strcmp(str_or(o, "format", ""), SAVED_FORMAT) || !str(o, "note") ||
	    !json_is_array(leaves)) {
		fprintf(stderr,
			"optreg %s: \"%s\" is not a saved checkpoint (JSON "
			"with \"format\": \"%s\", \"note\" and "
			"\"leaves\")%s%s\n"
			"  hint: save one with `optreg audit checkpoint --out "
			"FILE`\n",
			r->cmd, path, SAVED_FORMAT, o ? "" : ": ",
			o ? "" : jerr.text);
		goto out;
	}
	if (checkpoint_open(str(o, "note"), t, &s->cp, &why) < 0) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\" does not "
			"verify: %s\n",
			r->cmd, path, why.data);
		goto out;
	}
	if (json_array_size(leaves) != s->cp.size) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\" has %zu leaf "
			"hashes for a tree of size %" PRIu64 "\n",
			r->cmd, path, json_array_size(leaves), s->cp.size);
		goto out;
	}
	s->leaves = optreg_xcalloc(s->cp.size + 1, sizeof(*s->leaves));
	json_array_foreach(leaves, i, v)
	{
		if (hex_parse(json_string_value(v), s->leaves[i]) < 0) {
			fprintf(stderr,
				"optreg %s: the saved checkpoint \"%s\": "
				"leaves[%zu] is not 64 lowercase hex "
				"digits\n",
				r->cmd, path, i);
			goto out;
		}
		optreg_merkle_mem_append(&tree, s->leaves[i]);
	}
	if (optreg_merkle_root(s->cp.size, optreg_merkle_mem_get, &tree,
			       root) != 0 ||
	    memcmp(root, s->cp.root, OPTREG_HASH_LEN)) {
		fprintf(stderr,
			"optreg %s: the saved checkpoint \"%s\": its leaf "
			"hashes do not hash to its signed root (the file was "
			"changed)\n",
			r->cmd, path);
		goto out;
	}
	rc = OPTREG_EXIT_OK;
out:
	if (rc)
		saved_release(s);
	optreg_merkle_mem_release(&tree);
	json_decref(o);
	optreg_buf_release(&in);
	optreg_buf_release(&why);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Checking entries (checkpoint --out and verify) */

struct check {
	struct cli_remote *r;
	struct optreg_merkle_mem tree; /* recomputed leaves, in order */
	uint64_t next;		       /* the index expected next */
	uint64_t count;		       /* entries accepted into the tree */
	int gaps;		       /* a sequence check failed */
	int stopped;		       /* the walk ended before the end */
	const struct saved *saved;     /* verify --checkpoint, or NULL */
	int64_t first_bad;	       /* lowest bad index, or -1 */
	size_t nfailed, nshown;
	int collect;	  /* verify --json: into `failures`, not stderr */
	json_t *failures; /* [{check, index, message}] */
};

static void fail(struct check *c, const char *check, int64_t index,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records a failed check; `index` -1 when no entry can be named. */
static void fail(struct check *c, const char *check, int64_t index,
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
		if (progress_on(c->r))
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
	char got[2 * OPTREG_HASH_LEN + 1], want[2 * OPTREG_HASH_LEN + 1];
	optreg_hash leaf, theirs;
	int64_t idx = entry_index(e);
	const json_t *event = json_object_get(e, "event");

	if (idx < 0) {
		fail(c, "sequence", (int64_t)c->next,
		     "entry %" PRIu64 " is malformed: the registry listed an "
		     "entry with no valid index where it was expected",
		     c->next);
		return -1;
	}
	if ((uint64_t)idx > c->next) {
		if (c->next == 0)
			fail(c, "sequence", 0,
			     "entry 0 is missing: the registry's list starts "
			     "at entry %" PRId64,
			     idx);
		else if ((uint64_t)idx == c->next + 1)
			fail(c, "sequence", (int64_t)c->next,
			     "entry %" PRIu64
			     " is missing: the registry's list goes from entry "
			     "%" PRIu64 " to entry %" PRId64,
			     c->next, c->next - 1, idx);
		else
			fail(c, "sequence", (int64_t)c->next,
			     "entries %" PRIu64 " to %" PRId64
			     " are missing: the registry's list goes from "
			     "entry %" PRIu64 " to entry %" PRId64,
			     c->next, idx - 1, c->next - 1, idx);
		c->gaps = 1;
		c->next = (uint64_t)idx;
	} else if ((uint64_t)idx < c->next) {
		fail(c, "sequence", idx,
		     "entry %" PRId64 " is listed twice (or out of order): "
		     "expected entry %" PRIu64 " next",
		     idx, c->next);
		c->gaps = 1;
		return 0;
	}
	c->next = (uint64_t)idx + 1;
	if (!event || event_leaf(event, leaf) < 0) {
		fail(c, "leaf", idx,
		     "entry %" PRId64 " does not match: it has no event that "
		     "can be canonicalized (RFC 8785)",
		     idx);
		memset(leaf, 0, sizeof(leaf));
	} else if (b64_parse(str(e, "leaf_hash"), theirs) < 0) {
		fail(c, "leaf", idx,
		     "entry %" PRId64 " does not match: its leaf_hash is not "
		     "a base64 SHA-256 hash",
		     idx);
	} else if (memcmp(leaf, theirs, OPTREG_HASH_LEN)) {
		hex_of(leaf, got);
		hex_of(theirs, want);
		fail(c, "leaf", idx,
		     "entry %" PRId64 " does not match: its event hashes to "
		     "%.16s..., the registry's leaf_hash is %.16s... (the "
		     "event or its hash was changed after it was logged)",
		     idx, got, want);
	}
	if (c->saved && (uint64_t)idx < c->saved->cp.size &&
	    memcmp(leaf, c->saved->leaves[idx], OPTREG_HASH_LEN)) {
		hex_of(leaf, got);
		hex_of(c->saved->leaves[idx], want);
		fail(c, "saved", idx,
		     "entry %" PRId64 " does not match the saved checkpoint: "
		     "its leaf hash is now %.16s..., %s saved %.16s... (the "
		     "entry was changed, removed or reordered since)",
		     idx, got, c->saved->path, want);
	}
	optreg_merkle_mem_append(&c->tree, leaf);
	c->count++;
	return 0;
}

/*
 * Walks entries [0, end) through check_entry. Exit status of the walk; an
 * entry that is not JSON is recorded as a failure (and ends the walk).
 */
static int check_entries(struct check *c, uint64_t end, uint64_t total)
{
	struct walk w = {.r = c->r,
			 .end = end,
			 .total = total,
			 .fn = check_entry,
			 .ctx = c};
	int rc = walk_entries(&w);

	json_decref(w.next_start);
	if (rc == -1) {
		c->stopped = 1; /* check_entry stopped it, with a failure */
		return 0;
	}
	if (rc == 0 && w.broken >= 0) {
		if ((uint64_t)w.broken > c->next)
			fail(c, "sequence", (int64_t)c->next,
			     "entry %" PRIu64 " is missing: the registry's "
			     "list goes on with entry %" PRId64,
			     c->next, w.broken);
		fail(c, "leaf", w.broken,
		     "entry %" PRId64 " does not match: its event is not valid "
		     "JSON (the stored text was changed)",
		     w.broken);
		c->stopped = 1; /* the rest was not read */
	}
	return rc;
}

/* The root of the first `n` recomputed leaves; -1 when there are fewer. */
static int check_root(struct check *c, uint64_t n, optreg_hash out)
{
	if (n > c->tree.size)
		return -1;
	return optreg_merkle_root(n, optreg_merkle_mem_get, &c->tree, out) ? -1
									   : 0;
}

/* ------------------------------------------------------------------ */
/* optreg audit checkpoint */

static int cmd_checkpoint(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit checkpoint"};
	struct trust t = {0};
	struct checkpoint cp = {0};
	struct check c = {.r = &r, .first_bad = -1};
	const char *out = NULL, *pin = NULL;
	char root[45];
	int make = 0, rc;

	const struct cli_option options[] = {
		CLI_OPT_FLAG("--new", "ask for a new checkpoint", &make),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--out", "FILE", "save a witness copy", &out),
		CLI_OPT_STRING("--registry-key", "PUB", "pinned registry key",
			       &pin),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = r.cmd,
				     .help = checkpoint_help,
				     .flags = CLI_PARSE_UNKNOWN_KIND |
					      CLI_PARSE_HELP_ON_ERROR};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (out && !out[0]) {
		fprintf(stderr, "optreg audit checkpoint: --out needs a file "
				"name\n");
		return OPTREG_EXIT_USAGE;
	}
	optreg_merkle_mem_init(&c.tree);
	c.failures = json_array();
	rc = trust_load(&r, pin, &t);
	if (rc == 0)
		rc = fetch_checkpoint(&r, make, &t, &cp, NULL, NULL);
	if (rc)
		goto done;
	b64_of(cp.root, root);
	if (out) {
		/* The witness copy: every leaf recomputed and checked, and
		 * the root they make must be the signed one. */
		rc = check_entries(&c, cp.size, cp.size);
		if (rc)
			goto done;
		optreg_hash mine;
		if (!c.nfailed && c.count < cp.size)
			fail(&c, "checkpoint", (int64_t)c.count,
			     "the checkpoint covers %" PRIu64
			     " events but the registry lists only %" PRIu64,
			     cp.size, c.count);
		if (!c.nfailed && (check_root(&c, cp.size, mine) < 0 ||
				   memcmp(mine, cp.root, OPTREG_HASH_LEN))) {
			char got[45];
			b64_of(mine, got);
			fail(&c, "checkpoint_root", -1,
			     "the root of the first %" PRIu64
			     " events, recomputed from their contents, is %s, "
			     "but the checkpoint signed by %s says %s",
			     cp.size, got, cp.origin, root);
		}
		if (c.nfailed) {
			rc = cli_report(&r, OPTREG_EXIT_INVALID, "not_verified",
					"not saved: the log does not match its "
					"signed checkpoint%s (run `optreg "
					"audit verify`)",
					c.first_bad >= 0 ? " from the entry "
							   "named above"
							 : "");
			goto done;
		}
		rc = save_checkpoint(r.cmd, out, &cp, &c.tree);
		if (rc)
			goto done;
	}
	if (r.json) {
		json_t *o =
			json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?}", "origin",
				  cp.origin, "size", (json_int_t)cp.size,
				  "root", root, "registry_keyid", cp.keyid,
				  "note", cp.note, "saved_to", out);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rc = s ? cli_print_json_text(s, strlen(s)) : OPTREG_EXIT_IO;
		free(s);
		json_decref(o);
	} else if (out) {
		printf("saved the checkpoint of size %" PRIu64
		       " (root %s) signed by %s (registry key %.16s) and its "
		       "%" PRIu64 " leaf hashes to %s\n",
		       cp.size, root, cp.origin, cp.keyid, cp.size, out);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
	} else {
		rc = cli_print_json_text(cp.note, strlen(cp.note));
		fprintf(stderr,
			"optreg audit checkpoint: verified: size %" PRIu64
			", root %s, signed by %s (registry key %.16s)\n",
			cp.size, root, cp.origin, cp.keyid);
	}
done:
	json_decref(c.failures);
	optreg_merkle_mem_release(&c.tree);
	checkpoint_release(&cp);
	trust_release(&t);
	cli_remote_close(&r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* optreg audit verify */

/* The checks that need the whole log: roots and consistency. */
static int verify_roots(struct check *c, const struct checkpoint *latest,
			const struct saved *s)
{
	char mine[45], theirs[45];
	optreg_hash root;
	const uint64_t n = c->next;

	if (c->stopped) {
		/* The entries after the one that stopped the walk were not
		 * read: sizes and roots cannot be compared. */
	} else if (latest->size > n) {
		fail(c, "checkpoint", (int64_t)n,
		     "the registry's latest checkpoint covers %" PRIu64
		     " events but it lists only %" PRIu64 ": entries %" PRIu64
		     " to %" PRIu64 " are missing",
		     latest->size, n, n, latest->size - 1);
	} else if (!c->gaps) {
		if (check_root(c, latest->size, root) < 0) {
			fail(c, "checkpoint_root", -1,
			     "cannot compute the root of the first %" PRIu64
			     " events",
			     latest->size);
		} else if (memcmp(root, latest->root, OPTREG_HASH_LEN)) {
			b64_of(root, mine);
			b64_of(latest->root, theirs);
			fail(c, "checkpoint_root", -1,
			     "the root of the first %" PRIu64
			     " events, recomputed from their contents, is %s, "
			     "but the checkpoint of that size signed by %s "
			     "says "
			     "%s: they are not the events that were signed%s",
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
		fail(c, "origin", -1,
		     "the saved checkpoint is of the log %s, the registry's "
		     "latest of %s",
		     s->cp.origin, latest->origin);
	if (c->stopped) {
		/* As above. */
	} else if (s->cp.size > n) {
		fail(c, "saved", (int64_t)n,
		     "the log has only %" PRIu64
		     " events but the saved checkpoint covers %" PRIu64
		     ": entries %" PRIu64 " to %" PRIu64 " were removed",
		     n, s->cp.size, n, s->cp.size - 1);
	} else if (!c->gaps) {
		if (check_root(c, s->cp.size, root) == 0 &&
		    memcmp(root, s->cp.root, OPTREG_HASH_LEN)) {
			b64_of(root, mine);
			b64_of(s->cp.root, theirs);
			fail(c, "saved_root", -1,
			     "the root of the first %" PRIu64
			     " events, recomputed, is %s, the saved "
			     "checkpoint's is %s",
			     s->cp.size, mine, theirs);
		}
	}
	if (s->cp.size > latest->size) {
		fail(c, "consistency", -1,
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
		ok && b64_parse(json_string_value(h), proof[i]) == 0;
	if (!ok || !optreg_merkle_verify_consistency(s->cp.size, latest->size,
						     s->cp.root, latest->root,
						     proof, len))
		fail(c, "consistency", -1,
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

static int cmd_verify_log(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit verify"};
	struct trust t = {0};
	struct checkpoint latest = {0};
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
	optreg_merkle_mem_init(&c.tree);
	c.failures = json_array();
	c.collect = r.json;
	rc = trust_load(&r, pin, &t);
	if (rc == 0 && saved_path) {
		rc = saved_load(&r, saved_path, &t, &s);
		have_saved = rc == 0;
		c.saved = have_saved ? &s : NULL;
	}
	/* The checkpoint first: every event it covers was logged before we
	 * start reading, so appends while we read cannot confuse us. */
	if (rc == 0)
		rc = fetch_checkpoint(&r, 0, &t, &latest, &none, &why);
	if (rc == OPTREG_EXIT_INVALID) {
		fail(&c, "checkpoint_signature", -1,
		     "the registry's latest checkpoint does not verify: %s",
		     why.data);
		rc = 0;
	}
	if (rc)
		goto done;
	have_latest = latest.note != NULL;
	rc = check_entries(&c, UINT64_MAX, have_latest ? latest.size : 0);
	if (rc)
		goto done;
	if (have_latest)
		rc = verify_roots(&c, &latest, have_saved ? &s : NULL);
	else if (none && (c.next > 0 || have_saved))
		fail(&c, "checkpoint", -1,
		     "the registry has signed no checkpoint yet, so the "
		     "%" PRIu64
		     " events cannot be checked against a signed root (`optreg "
		     "audit checkpoint --new` asks for one)",
		     c.next);
	if (rc)
		goto done;
	if (c.nshown < c.nfailed && !r.json)
		fprintf(stderr,
			"optreg audit verify: ... and %zu more failed checks "
			"not shown\n",
			c.nfailed - c.nshown);
	if (have_latest)
		b64_of(latest.root, root);
	if (r.json) {
		json_t *o = json_pack(
			"{s:b, s:I, s:o, s:o, s:o, s:O}", "verified",
			c.nfailed == 0, "events", (json_int_t)c.count,
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
		       c.count, root, latest.size, latest.origin, latest.keyid,
		       t.pinned ? ", pinned" : ", not pinned");
		if (have_saved)
			printf("; consistent with the saved checkpoint of size "
			       "%" PRIu64,
			       s.cp.size);
		if (c.count > latest.size)
			printf("; %" PRIu64 " newer event%s not yet in a "
			       "signed checkpoint",
			       c.count - latest.size,
			       c.count - latest.size == 1 ? " is" : "s are");
		printf("\n");
	}
	rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
done:
	optreg_buf_release(&why);
	json_decref(c.failures);
	optreg_merkle_mem_release(&c.tree);
	checkpoint_release(&latest);
	saved_release(&s);
	trust_release(&t);
	cli_remote_close(&r);
	return rc;
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
		return cmd_log_events(argc - 1, argv + 1);
	if (!strcmp(argv[1], "checkpoint"))
		return cmd_checkpoint(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify_log(argc - 1, argv + 1);
	fprintf(stderr,
		"optreg audit: unknown command \"%s\"\n"
		"  hint: the commands are log, checkpoint and verify\n",
		argv[1]);
	return OPTREG_EXIT_USAGE;
}
