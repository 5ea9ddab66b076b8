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
 * root. This file fetches the keys and reports; `optreg audit` loads its
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

int cli_trust_verify_version(struct cli_remote *r, const json_t *doc,
			     const struct optreg_buf *canon,
			     const char *want_digest, const char *const *pins,
			     size_t npins)
{
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_keyset rks, sks;
	struct optreg_version_check vc;
	json_t *slist = NULL;
	long version;
	int rc;

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
	rc = cli_registry_keys_load(r, pins, npins, &rks);
	if (rc == 0)
		rc = cli_remote_call(r, "GET", "/v1/keys", NULL, &slist);
	if (rc)
		goto out;
	optreg_keyset_load_list(&sks, slist);
	if (optreg_version_verify(doc, canon, want_digest, &sks, &rks,
				  npins > 0, &vc, &fails) < 0) {
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
out:
	json_decref(slist);
	optreg_keyset_release(&rks);
	optreg_keyset_release(&sks);
	optreg_version_check_release(&vc);
	optreg_errors_release(&fails);
	return rc;
}
