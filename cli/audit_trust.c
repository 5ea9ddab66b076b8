/*
 * cli/audit_trust.c: the registry keys that audit checkpoints are checked
 * with (pinned with --registry-key or $OPTREG_REGISTRY_PUBKEY, else the
 * keys the registry lists, trusted on first use: cli_registry_keys_load),
 * and the CLI's words for a checkpoint that does not verify
 * (optreg_checkpoint_verify does the checking).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

void audit_trust_init(struct trust *t)
{
	optreg_keyset_init(&t->keys);
	t->pinned = 0;
}

void audit_trust_release(struct trust *t)
{
	optreg_keyset_release(&t->keys);
	t->pinned = 0;
}

int audit_trust_load(struct cli_remote *r, const char *pin, struct trust *t)
{
	int rc;

	if (!pin || !pin[0])
		pin = getenv("OPTREG_REGISTRY_PUBKEY");
	t->pinned = pin && pin[0];
	rc = cli_registry_keys_load(r, &pin, t->pinned ? 1 : 0, &t->keys);
	if (rc == 0 && !t->keys.n)
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry lists no usable registry key "
				  "(GET /v1/registry/keys)");
	return rc;
}

int audit_checkpoint_open(const char *note, const struct trust *t,
			  struct optreg_checkpoint *cp, struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const struct optreg_error *e;
	const char *nl;

	if (optreg_checkpoint_verify(note, &t->keys, cp, &errs) == 0) {
		optreg_errors_release(&errs);
		return 0;
	}
	e = &errs.items[0];
	nl = strchr(note, '\n');
	if (!strcmp(e->rule, "note_format"))
		optreg_buf_addf(why, "it is not a signed note (line %d: %s)",
				e->line, e->message);
	else if (!strcmp(e->rule, "checkpoint"))
		optreg_buf_adds(why, e->message);
	else if (t->keys.n == 1)
		optreg_buf_addf(why,
				"its signature does not verify with the %s "
				"registry key %.16s under the name %.*s: %s",
				t->pinned ? "pinned" : "listed",
				t->keys.items[0].id, (int)(nl - note), note,
				e->message);
	else
		optreg_buf_addf(why,
				"its signature verifies with none of the %zu "
				"listed registry keys under the name %.*s: %s",
				t->keys.n, (int)(nl - note), note, e->message);
	optreg_errors_release(&errs);
	return -1;
}
