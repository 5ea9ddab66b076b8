/*
 * cli/audit_trust.c: the registry keys that audit checkpoints are checked
 * with (pinned with --registry-key or $OPTREG_REGISTRY_PUBKEY, else the
 * keys the registry lists, trusted on first use), and opening a signed
 * checkpoint with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/note.h"
#include "audit.h"

static void trust_add(struct trust *t, struct optreg_key *key)
{
	t->keys = optreg_xrealloc(t->keys, (t->n + 1) * sizeof(*t->keys));
	t->ids = optreg_xrealloc(t->ids, (t->n + 1) * sizeof(*t->ids));
	t->keys[t->n] = key;
	optreg_key_id(key, t->ids[t->n]);
	t->n++;
}

void audit_trust_release(struct trust *t)
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
int audit_trust_load(struct cli_remote *r, const char *pin, struct trust *t)
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

void audit_checkpoint_release(struct checkpoint *cp)
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
int audit_checkpoint_open(const char *note, const struct trust *t,
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
	if (optreg_note_checkpoint_parse(text.data, &origin, &cp->size,
					 cp->root, &errs) < 0) {
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
