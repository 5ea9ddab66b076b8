/*
 * cli/trust.c: `optreg fetch --verify`: checks a version document end to
 * end, so that a registry (or a database) that changed a version after
 * accepting it is caught.
 *
 * The checks are optreg_version_verify's (common/verify.h): the digest,
 * the envelope's payload and signatures against the signer keys the
 * registry lists (GET /v1/keys), and the receipt, signed by a registry key
 * (the pinned ones, else those GET /v1/registry/keys lists: trust on first
 * use), naming this version, with its audit event's leaf in its audit
 * root. This file fetches the keys (or takes them from a lock file and the
 * cache: `fetch --lock`, `pin`) and reports; `optreg audit` loads its
 * registry keys here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../common/verify.h"
#include "cli.h"

int cli_registry_keys_load(struct cli_remote *r, const char *const *pins,
			   size_t npins, struct optreg_keyset *ks)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *list = NULL;
	int rc;

	if (npins) {
		rc = optreg_keyset_load_files(ks, pins, npins, &errs);
		if (rc < 0) {
			fprintf(stderr, "optreg %s: --registry-key: %s\n",
				r->cmd, errs.items[0].message);
			if (errs.items[0].hint)
				fprintf(stderr, "  hint: %s\n",
					errs.items[0].hint);
		}
		optreg_errors_release(&errs);
		if (rc < 0)
			return rc == OPTREG_EIO ? OPTREG_EXIT_IO
						: OPTREG_EXIT_USAGE;
		return OPTREG_EXIT_OK;
	}
	fprintf(stderr,
		"optreg %s: warning: the registry key was not pinned: trusting "
		"the keys the registry lists (trust on first use)\n"
		"  hint: pin it with --registry-key PUB or "
		"OPTREG_REGISTRY_PUBKEY, from the operator\n",
		r->cmd);
	rc = cli_remote_call(r, "GET", "/v1/registry/keys", NULL, &list);
	if (rc == 0)
		optreg_keyset_load_list(ks, list);
	json_decref(list);
	return rc;
}

/* Prints the failures (and the problem with --json); exit status. */
static int report_failures(struct cli_remote *r, const json_t *doc,
			   long version, const struct optreg_errors *fails)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char *what =
		optreg_xasprintf("%s/%s@%ld", optreg_json_str(doc, "namespace"),
				 optreg_json_str(doc, "name"), version);

	optreg_buf_addf(&out, "optreg %s: %s failed verification\n", r->cmd,
			what);
	for (size_t i = 0; i < fails->len; i++)
		optreg_buf_addf(&out, "  %s: %s\n", fails->items[i].path,
				fails->items[i].message);
	fputs(out.data, stderr);
	if (r->json) {
		char *detail = optreg_xasprintf("%s failed verification", what);
		cli_print_problem("verification_failed", detail, fails);
		free(detail);
	}
	optreg_buf_release(&out);
	free(what);
	return OPTREG_EXIT_INVALID;
}

void cli_trust_result_init(struct cli_trust_result *res)
{
	memset(res, 0, sizeof(*res));
}

void cli_trust_result_release(struct cli_trust_result *res)
{
	json_decref(res->signers);
	cli_trust_result_init(res);
}

/* {"keys": [...]}: the entries of `list` for keys that signed `doc`'s
 * envelope (a new reference). */
static json_t *signer_entries(const json_t *doc, const json_t *list)
{
	const json_t *sigs =
		json_object_get(json_object_get(doc, "envelope"), "signatures");
	const json_t *k, *sig;
	json_t *keep = json_array();
	size_t i, j;

	json_array_foreach(json_object_get(list, "keys"), i, k)
	{
		const char *id = optreg_json_str(k, "keyid");

		json_array_foreach(sigs, j, sig)
		{
			const char *sid = optreg_json_str(sig, "keyid");
			if (id && sid && !strcmp(id, sid)) {
				json_array_append(keep, (json_t *)k);
				break;
			}
		}
	}
	return json_pack("{s:o}", "keys", keep);
}

int cli_trust_verify(struct cli_remote *r, const json_t *doc,
		     const struct optreg_buf *canon, const char *want_digest,
		     const struct cli_trust_keys *keys,
		     struct cli_trust_result *res)
{
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_keyset rks, sks;
	struct optreg_version_check vc;
	const struct optreg_keyset *use_rks = &rks;
	json_t *slist = NULL;
	bool pinned = keys->registry || keys->npins > 0;
	long version;
	int rc = 0;

	if (!optreg_json_str(doc, "namespace") ||
	    !optreg_json_str(doc, "name") ||
	    !optreg_json_str(doc, "created_at") ||
	    !optreg_json_str(doc, "digest") ||
	    cli_json_count(doc, "version", &version) < 0)
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry's version document lacks "
				  "namespace, name, version, digest or "
				  "created_at");
	optreg_keyset_init(&rks);
	optreg_keyset_init(&sks);
	optreg_version_check_init(&vc);
	if (keys->registry)
		use_rks = keys->registry;
	else
		rc = cli_registry_keys_load(r, keys->pins, keys->npins, &rks);
	if (rc == 0 && keys->signers)
		slist = json_incref((json_t *)keys->signers);
	else if (rc == 0)
		rc = cli_remote_call(r, "GET", "/v1/keys", NULL, &slist);
	if (rc)
		goto out;
	optreg_keyset_load_list(&sks, slist);
	if (optreg_version_verify(doc, canon, want_digest, &sks, use_rks,
				  pinned, &vc, &fails) < 0) {
		rc = report_failures(r, doc, version, &fails);
		goto out;
	}
	fprintf(stderr, "verified: signed by %s; receipt by registry key %s\n",
		vc.signers.data, vc.receipt.keyid);
	if (vc.receipt.inclusion == OPTREG_INCLUSION_NOT_CARRIED)
		fprintf(stderr,
			"  note: the receipt carries no audit_leaf (it "
			"predates "
			"it), so its audit inclusion proof was not checked\n");
	if (res) {
		memcpy(res->receipt_keyid, vc.receipt.keyid,
		       sizeof(res->receipt_keyid));
		res->signers = signer_entries(doc, slist);
	}
out:
	json_decref(slist);
	optreg_keyset_release(&rks);
	optreg_keyset_release(&sks);
	optreg_version_check_release(&vc);
	optreg_errors_release(&fails);
	return rc;
}

int cli_trust_verify_version(struct cli_remote *r, const json_t *doc,
			     const struct optreg_buf *canon,
			     const char *want_digest, const char *const *pins,
			     size_t npins)
{
	struct cli_trust_keys keys = {.pins = pins, .npins = npins};

	return cli_trust_verify(r, doc, canon, want_digest, &keys, NULL);
}
