/*
 * cli/audit.h: what the `optreg audit` subcommands share (private to
 * cli/audit*.c): the registry keys checkpoints are checked with, signed
 * checkpoints, walking the entries page by page, and the check engine
 * that `checkpoint --out` and `verify` run over them.
 *
 * One file per subcommand: audit_log.c, audit_checkpoint.c,
 * audit_verify.c; audit.c holds the dispatcher and the shared code,
 * audit_trust.c the registry-key trust set.
 */
#ifndef OPTREG_CLI_AUDIT_H
#define OPTREG_CLI_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "../common/auditlog.h"
#include "../common/merkle.h"
#include "../common/sign.h"
#include "../common/verify.h"
#include "cli.h"

/* ---- Registry keys and checkpoints (audit_trust.c) ---------------------- */

/* The registry keys checkpoint signatures are checked with. */
struct trust {
	struct optreg_keyset keys;
	int pinned; /* pinned by the user, not listed by the registry */
};

void audit_trust_init(struct trust *t);
void audit_trust_release(struct trust *t);

/*
 * Loads the pinned key (`pin`, else $OPTREG_REGISTRY_PUBKEY), else the keys
 * GET /v1/registry/keys lists, with a warning (cli_registry_keys_load); a
 * list without a usable key is reported. Exit status.
 */
int audit_trust_load(struct cli_remote *r, const char *pin, struct trust *t);

/*
 * Checks the signed note `note` with the trusted keys
 * (optreg_checkpoint_verify) and parses it into `cp` (the caller releases
 * it with optreg_checkpoint_release). Returns 0, or -1 with the reason,
 * in the CLI's words, appended to `why`.
 */
int audit_checkpoint_open(const char *note, const struct trust *t,
			  struct optreg_checkpoint *cp, struct optreg_buf *why);

/*
 * GET (or with `make` POST) /v1/audit/checkpoint and checks it. A 404 (none
 * signed yet) sets *none and returns 0 when `none` is given. On success
 * `*note` (when not NULL) gets the signed note as served (owned by the
 * caller). Exit status; a checkpoint that does not verify is
 * OPTREG_EXIT_INVALID, reported, or when `bad` is given, described there
 * instead.
 */
int audit_fetch_checkpoint(struct cli_remote *r, int make,
			   const struct trust *t, struct optreg_checkpoint *cp,
			   char **note, int *none, struct optreg_buf *bad);

/* ---- Walking the entries (audit.c) ------------------------------------- */

struct filters {
	const char *actor, *action, *target, *since, *until;
	const char
		*config; /* ns/name: its own, its versions' and tags' events */
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

/* True when a progress line goes to stderr (a terminal, not --json). */
int audit_progress_on(const struct cli_remote *r);

/*
 * Fetches entries page by page from w->start, following next_start, and
 * hands each to w->fn. A page that is not JSON (an event text that is not
 * JSON, spliced in as stored) is fetched again one entry at a time, to
 * find that entry: its index goes to w->broken and the walk stops there
 * (returning 0). Exit status.
 */
int audit_walk_entries(struct walk *w);

/* The string member `key` of `o`, else `dflt` (also for ""). */
const char *audit_str_or(const json_t *o, const char *key, const char *dflt);

/* ---- Checking entries (audit.c; checkpoint --out and verify) ----------- */

/* A checkpoint saved by `checkpoint --out`: the note, and the leaf hashes
 * of the entries it covers. */
struct saved {
	const char *path;
	struct optreg_checkpoint cp;
	optreg_hash *leaves; /* cp.size of them */
};

struct check {
	struct cli_remote *r;
	struct optreg_auditlog log; /* the recomputed tree */
	int gaps;		    /* a sequence check failed */
	int stopped;		    /* the walk ended before the end */
	const struct saved *saved;  /* verify --checkpoint, or NULL */
	int64_t first_bad;	    /* lowest bad index, or -1 */
	size_t nfailed, nshown;
	int collect;	  /* verify --json: into `failures`, not stderr */
	json_t *failures; /* [{check, index, message}] */
};

/* Records a failed check; `index` -1 when no entry can be named. */
void audit_fail(struct check *c, const char *check, int64_t index,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Walks entries [0, end) through the checks. Exit status of the walk; an
 * entry that is not JSON is recorded as a failure (and ends the walk).
 */
int audit_check_entries(struct check *c, uint64_t end, uint64_t total);

/* The root of the first `n` recomputed leaves; -1 when there are fewer. */
int audit_check_root(struct check *c, uint64_t n, optreg_hash out);

/* ---- The subcommands ---------------------------------------------------- */

int cmd_audit_log(int argc, char **argv);
int cmd_audit_checkpoint(int argc, char **argv);
int cmd_audit_verify(int argc, char **argv);

#endif
