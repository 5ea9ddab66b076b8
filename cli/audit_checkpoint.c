/*
 * cli/audit_checkpoint.c: `optreg audit checkpoint [--new] [--out FILE]`:
 * the latest signed checkpoint, checked, and optionally saved with every
 * leaf it covers as a witness copy (common/checkpoint.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/checkpoint.h"
#include "../common/clock.h"
#include "audit.h"

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

/* Saves `cp` and the leaves of `tree` (the first cp->size) to `path`,
 * readable by all (0644 before the umask), replaced atomically. */
static int save_checkpoint(const char *cmd, const char *path,
			   const struct optreg_checkpoint *cp, char *note,
			   const struct optreg_merkle_mem *tree)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char now[OPTREG_CLOCK_TS_SIZE];
	int rc;

	optreg_clock_now_s(now);
	struct optreg_saved_checkpoint file = {
		.note = note,
		.origin = cp->origin,
		.size = cp->size,
		.keyid = cp->keyid,
		.saved_at = now,
		.leaves = tree->levels[0],
		.nleaves = cp->size,
	};
	memcpy(file.root, cp->root, OPTREG_HASH_LEN);
	if (optreg_saved_checkpoint_encode(&file, &out) < 0) {
		fprintf(stderr, "optreg %s: cannot encode the checkpoint\n",
			cmd);
		return OPTREG_EXIT_INVALID;
	}
	rc = cli_write_file_mode(cmd, path, &out, 0644);
	optreg_buf_release(&out);
	return rc;
}

int cmd_audit_checkpoint(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "audit checkpoint"};
	struct trust t;
	struct optreg_checkpoint cp = {0};
	char *note = NULL;
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
	optreg_auditlog_init(&c.log);
	audit_trust_init(&t);
	c.failures = json_array();
	rc = audit_trust_load(&r, pin, &t);
	if (rc == 0)
		rc = audit_fetch_checkpoint(&r, make, &t, &cp, &note, NULL,
					    NULL);
	if (rc)
		goto done;
	optreg_hash_to_b64(cp.root, root);
	if (out) {
		/* The witness copy: every leaf recomputed and checked, and
		 * the root they make must be the signed one. */
		rc = audit_check_entries(&c, cp.size, cp.size);
		if (rc)
			goto done;
		optreg_hash mine;
		if (!c.nfailed && c.log.count < cp.size)
			audit_fail(
				&c, "checkpoint", (int64_t)c.log.count,
				"the checkpoint covers %" PRIu64
				" events but the registry lists only %" PRIu64,
				cp.size, c.log.count);
		if (!c.nfailed && (audit_check_root(&c, cp.size, mine) < 0 ||
				   memcmp(mine, cp.root, OPTREG_HASH_LEN))) {
			char got[45];
			optreg_hash_to_b64(mine, got);
			audit_fail(&c, "checkpoint_root", -1,
				   "the root of the first %" PRIu64
				   " events, recomputed from their contents, "
				   "is %s, "
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
		rc = save_checkpoint(r.cmd, out, &cp, note, &c.log.tree);
		if (rc)
			goto done;
	}
	if (r.json) {
		json_t *o =
			json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?}", "origin",
				  cp.origin, "size", (json_int_t)cp.size,
				  "root", root, "registry_keyid", cp.keyid,
				  "note", note, "saved_to", out);
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
		rc = cli_print_json_text(note, strlen(note));
		fprintf(stderr,
			"optreg audit checkpoint: verified: size %" PRIu64
			", root %s, signed by %s (registry key %.16s)\n",
			cp.size, root, cp.origin, cp.keyid);
	}
done:
	json_decref(c.failures);
	optreg_auditlog_release(&c.log);
	optreg_checkpoint_release(&cp);
	free(note);
	audit_trust_release(&t);
	cli_remote_close(&r);
	return rc;
}
