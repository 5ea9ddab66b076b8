/*
 * cli/receipt.c: `optreg receipt verify FILE [--registry-key PUB]
 * [--config FILE]`: checks a saved receipt offline.
 *
 * FILE holds a receipt (the registry's DSSE envelope of type
 * application/vnd.optreg.receipt+json) or a document that carries one
 * under "receipt" (a version as GET .../versions/{n} answers, the answer
 * to a submit). The receipt must be signed by a pinned registry key and
 * carry its audit inclusion proof: audit_leaf with audit_inclusion must
 * give audit_root (optreg_receipt_verify, common/verify.h). Nothing is
 * fetched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../common/keyset.h"
#include "../common/verify.h"
#include "../validator/jcs.h"
#include "cli.h"

static const char help[] =
	"usage: optreg receipt verify FILE [--registry-key PUB] [--config "
	"FILE]\n\n"
	"Checks a saved receipt offline: FILE (or - for standard input) is "
	"the\n"
	"registry's receipt (a DSSE envelope), or a document that carries one "
	"under\n"
	"\"receipt\" (a version as `optreg fetch --json` prints it, a submit's "
	"answer).\n"
	"The receipt must be signed by a pinned registry key and carry its "
	"audit\n"
	"inclusion proof (audit_leaf and audit_inclusion lead to audit_root). "
	"When the\n"
	"document names a version too, the receipt must name the same one, "
	"and its\n"
	"config must be the content the receipt names.\n"
	"On success prints what the receipt attests on standard output.\n\n"
	"Options:\n"
	"  --registry-key PUB\n"
	"                   the registry's public key (PEM; repeat for "
	"several);\n"
	"                   default $OPTREG_REGISTRY_PUBKEY. Required: "
	"offline there is\n"
	"                   nothing else to trust\n"
	"  --config FILE    also check that the receipt's digest is the "
	"digest of this\n"
	"                   config (JSON or YAML)\n"
	"\nExit status: 0 the receipt checks out, 1 it does not (each failed "
	"check on\nstderr), 2 usage, 3 I/O. See docs/cli.md.\n";

/* The receipt in `doc` (borrowed): doc itself when it is an envelope,
 * else doc.receipt. */
static const json_t *receipt_of(const json_t *doc)
{
	if (json_object_get(doc, "payloadType"))
		return doc;
	return json_object_get(doc, "receipt");
}

static void print_fails(const char *file, const struct optreg_errors *fails)
{
	fprintf(stderr, "optreg receipt: %s: the receipt failed verification\n",
		file);
	for (size_t i = 0; i < fails->len; i++) {
		char *m = cli_printable(fails->items[i].message);
		fprintf(stderr, "  %s: %s\n", fails->items[i].path, m);
		free(m);
	}
}

/* The payload's string `key` must equal the document's (when it has it). */
static void same(const json_t *doc, const json_t *p, const char *key,
		 struct optreg_errors *fails)
{
	const char *want = optreg_json_str(doc, key);
	const char *got = optreg_json_str(p, key);

	if (want && (!got || strcmp(want, got)))
		optreg_errors_add(fails, OPTREG_EINVAL, "receipt", key,
				  "the document says \"%s\", the receipt "
				  "\"%s\"",
				  want, got ? got : "");
}

/* The document's config must canonicalize to the receipt's digest. */
static void same_config(const json_t *cfg, const json_t *p,
			struct optreg_errors *fails)
{
	const char *want = optreg_json_str(p, "digest");
	struct optreg_buf canon = OPTREG_BUF_INIT;
	char got[OPTREG_DIGEST_LEN + 1];

	if (!json_is_object(cfg) ||
	    optreg_jcs_serialize(cfg, &canon, NULL) < 0) {
		optreg_errors_add(fails, OPTREG_EINVAL, "receipt", "config",
				  "the document's config is not a JSON object "
				  "that canonicalizes");
	} else {
		optreg_jcs_digest(canon.data, canon.len, got);
		if (!want || strcmp(got, want))
			optreg_errors_add(fails, OPTREG_EINVAL, "receipt",
					  "config",
					  "the document's config has digest "
					  "%s, the receipt names %s",
					  got, want ? want : "none");
	}
	optreg_buf_release(&canon);
}

static int verify(const char *file, const char *const *pins, size_t npins,
		  const char *config)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     fails = OPTREG_ERRORS_INIT;
	struct optreg_buf in = OPTREG_BUF_INIT;
	struct optreg_receipt rec;
	struct optreg_keyset ks;
	const json_t *receipt, *p;
	json_error_t jerr;
	json_t *doc = NULL;
	long v, dv;
	int rc;

	optreg_keyset_init(&ks);
	optreg_receipt_init(&rec);
	rc = optreg_keyset_load_files(&ks, pins, npins, &errs);
	if (rc < 0) {
		fprintf(stderr, "optreg receipt: --registry-key: %s\n",
			errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
		rc = rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_USAGE;
		goto out;
	}
	rc = cli_read_input("receipt", file, &in);
	if (rc)
		goto out;
	doc = json_loadb(in.data, in.len, JSON_REJECT_DUPLICATES, &jerr);
	receipt = json_is_object(doc) ? receipt_of(doc) : NULL;
	if (!receipt) {
		fprintf(stderr,
			"optreg receipt: %s: expected a receipt (a DSSE "
			"envelope) or a document with a \"receipt\", got %s\n"
			"  hint: save one with `optreg fetch REF --json > "
			"FILE` or from a submit's answer\n",
			file,
			doc ? (json_is_object(doc) ? "an object without one"
						   : optreg_json_type_name(doc))
			    : jerr.text);
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	optreg_receipt_verify(receipt, &ks, true, &rec, &fails);
	p = rec.payload;
	if (p && rec.inclusion == OPTREG_INCLUSION_NOT_CARRIED)
		optreg_errors_add(&fails, OPTREG_EINVAL, "receipt",
				  "receipt.audit_leaf",
				  "expected an audit inclusion proof, got a "
				  "receipt without audit_leaf (from before the "
				  "registry recorded one)");
	if (p && receipt != doc) {
		const json_t *cfg = json_object_get(doc, "config");

		same(doc, p, "namespace", &fails);
		same(doc, p, "name", &fails);
		same(doc, p, "digest", &fails);
		/* A version document's config is what a reader takes from
		 * it: it must be the content the receipt names. */
		if (cfg)
			same_config(cfg, p, &fails);
		if (cli_json_count(doc, "version", &dv) == 0 &&
		    (cli_json_count(p, "version", &v) < 0 || v != dv))
			optreg_errors_add(&fails, OPTREG_EINVAL, "receipt",
					  "version",
					  "the document says %ld, the receipt "
					  "another version",
					  dv);
	}
	if (p && config) {
		struct optreg_checked_config cc;
		const char *got = optreg_json_str(p, "digest");

		optreg_checked_config_init(&cc);
		optreg_errors_release(&errs);
		if (optreg_config_load_checked_file(&cc, config, 0, &errs) <
		    0) {
			optreg_errors_print(stderr, config, &errs);
			optreg_checked_config_release(&cc);
			rc = errs.len && errs.items[0].code == OPTREG_EIO
				     ? OPTREG_EXIT_IO
				     : OPTREG_EXIT_INVALID;
			goto out;
		}
		if (!got || strcmp(got, cc.digest))
			optreg_errors_add(
				&fails, OPTREG_EINVAL, "receipt", "digest",
				"--config %s has digest %s, the "
				"receipt names %s",
				config, cc.digest, got ? got : "none");
		optreg_checked_config_release(&cc);
	}
	if (fails.len) {
		print_fails(file, &fails);
		rc = OPTREG_EXIT_INVALID;
		goto out;
	}
	cli_json_count(p, "version", &v);
	printf("receipt verified: %s/%s@%ld %s\n",
	       optreg_json_str(p, "namespace"), optreg_json_str(p, "name"), v,
	       optreg_json_str(p, "digest"));
	printf("  signed by registry key %s", rec.keyid);
	if (optreg_json_str(p, "time"))
		printf(", accepted %s", optreg_json_str(p, "time"));
	printf("\n");
	{
		long idx = -1, size = -1;
		cli_json_count(p, "audit_index", &idx);
		cli_json_count(p, "audit_tree_size", &size);
		printf("  audit log: leaf %ld of a tree of %ld, root %s "
		       "(inclusion proof verified)\n",
		       idx, size, optreg_json_str(p, "audit_root"));
	}
	if (config)
		printf("  config %s: digest matches\n", config);
	rc = OPTREG_EXIT_OK;
out:
	json_decref(doc);
	optreg_receipt_release(&rec);
	optreg_keyset_release(&ks);
	optreg_errors_release(&fails);
	optreg_errors_release(&errs);
	optreg_buf_release(&in);
	return rc;
}

int cmd_receipt(int argc, char **argv)
{
	const char *file = NULL, *config = NULL, *val;
	int rc, status = OPTREG_EXIT_USAGE;
	struct cli_string_list pins = {
		optreg_xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	const struct cli_option options[] = {
		CLI_OPT_LIST("--registry-key", "PUB",
			     "pinned registry public key", &pins),
		CLI_OPT_STRING("--config", "FILE", "the config it names",
			       &config),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "receipt verify",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_DASH_ARG |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "FILE",
				     .arg_slot = &file};

	if (argc < 2 || strcmp(argv[1], "verify")) {
		if (argc >= 2 &&
		    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(help, stdout);
			status = OPTREG_EXIT_OK;
		} else {
			fprintf(stderr,
				"optreg receipt: expected the subcommand "
				"verify%s%s%s\n%s",
				argc >= 2 ? " (got \"" : "",
				argc >= 2 ? argv[1] : "",
				argc >= 2 ? "\")" : "", help);
		}
		goto out;
	}
	rc = cli_parse_options(&p, options, argc - 1, argv + 1);
	if (rc) {
		status = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (!file) {
		fprintf(stderr, "optreg receipt verify: expected a FILE\n%s",
			help);
		goto out;
	}
	if (!pins.len && (val = getenv("OPTREG_REGISTRY_PUBKEY")) && val[0])
		pins.items[pins.len++] = val;
	if (!pins.len) {
		fprintf(stderr,
			"optreg receipt verify: no registry key to check the "
			"receipt with\n  hint: pass --registry-key PUB or set "
			"OPTREG_REGISTRY_PUBKEY (the operator publishes it; "
			"`make run` prints where it is)\n");
		goto out;
	}
	status = verify(file, pins.items, pins.len, config);
out:
	free(pins.items);
	return status;
}
