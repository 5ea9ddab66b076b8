/*
 * cli/sign.c: `optreg sign FILE --key KEY [--out FILE]`.
 *
 * Wraps a config in a signed DSSE envelope: the payload is the RFC 8785
 * form of the validated config, the signature Ed25519 over PAE. Given an
 * envelope instead of a config (JSON with a payloadType), adds one more
 * signature, so that several keys can sign one config for a namespace's
 * threshold. The payload is checked as the registry checks it, so that no
 * signature is spent on something the registry would refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/dsse.h"
#include "../common/sign.h"
#include "../validator/config.h"
#include "cli.h"

static const char help[] =
	"usage: optreg sign FILE --key KEY [--out FILE]\n\n"
	"Signs a config for submission. FILE (- for standard input) is a "
	"config in\nYAML or JSON, which is validated as by `optreg lint` and "
	"put in RFC 8785\ncanonical form, or a DSSE envelope made by an "
	"earlier `optreg sign`, which\ngets one more signature (for "
	"namespaces that need several signers).\nPrints the envelope, one "
	"line of JSON:\n"
	"  {\"payloadType\":\"" OPTREG_CONFIG_PAYLOAD_TYPE "\",\n"
	"   "
	"\"payload\":BASE64,\"signatures\":[{\"keyid\":ID,\"sig\":BASE64}]}\n\n"
	"Options:\n"
	"  --key KEY   the Ed25519 private key (NAME.pem from `optreg "
	"keygen`);\n"
	"              default $OPTREG_KEY\n"
	"  --out FILE  write the envelope to FILE (atomically) instead of "
	"stdout\n\n"
	"Exit status: 0 signed, 1 the config or envelope is invalid, 2 usage "
	"(also a\nkey that is not an Ed25519 private key), 3 a file cannot "
	"be read or written.\n";

/* Reads FILE ("-": standard input) into `in`; exit status. */
static int read_input(const char *file, struct optreg_buf *in)
{
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-")) {
		rc = optreg_buf_read_file(in, file);
		if (rc < 0) {
			fprintf(stderr, "optreg sign: cannot read \"%s\": %s\n",
				file, strerror(-rc));
			return OPTREG_EXIT_IO;
		}
		return OPTREG_EXIT_OK;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		optreg_buf_add(in, chunk, n);
	if (ferror(stdin)) {
		perror("optreg sign: cannot read standard input");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

/* True when `in` is a JSON object with a payloadType: an envelope. */
static bool is_envelope(const struct optreg_buf *in)
{
	json_t *root = json_loadb(in->data, in->len, JSON_DECODE_ANY, NULL);
	bool yes = json_is_object(root) &&
		   json_object_get(root, "payloadType") != NULL;

	json_decref(root);
	return yes;
}

/*
 * The payload must be the RFC 8785 form of a valid config, as the registry
 * requires. Prints what is wrong; exit status.
 */
static int check_payload(const char *file, const struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	char *where = optreg_xasprintf("%s (payload)", file);
	struct optreg_doc doc;
	int status = OPTREG_EXIT_OK;

	if (strcmp(env->payload_type, OPTREG_CONFIG_PAYLOAD_TYPE)) {
		fprintf(stderr,
			"%s: payloadType: must be \"%s\" (got \"%s\")\n", file,
			OPTREG_CONFIG_PAYLOAD_TYPE, env->payload_type);
		free(where);
		return OPTREG_EXIT_INVALID;
	}
	optreg_doc_init(&doc);
	if (optreg_doc_load_json(&doc, env->payload.data, env->payload.len,
				 &errs) < 0 ||
	    optreg_config_validate(&doc, NULL, &errs) < 0 ||
	    optreg_jcs_serialize(doc.root, &canon, &errs) < 0) {
		cli_print_errors(where, &errs);
		status = OPTREG_EXIT_INVALID;
	} else if (canon.len != env->payload.len ||
		   memcmp(canon.data, env->payload.data, canon.len)) {
		fprintf(stderr,
			"%s: payload: is not in RFC 8785 canonical form\n"
			"  hint: sign the config file itself; `optreg sign` "
			"puts it in canonical form\n",
			file);
		status = OPTREG_EXIT_INVALID;
	}
	optreg_doc_release(&doc);
	optreg_buf_release(&canon);
	optreg_errors_release(&errs);
	free(where);
	return status;
}

/* Fills `env` from a config document: validated, canonical. */
static int envelope_from_config(const char *file, const struct optreg_buf *in,
				struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc doc;
	int rc;

	optreg_doc_init(&doc);
	rc = optreg_doc_load(&doc, file, in->data, in->len, &errs);
	if (rc == 0)
		rc = optreg_config_validate(&doc, NULL, &errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(doc.root, &env->payload, &errs);
	if (rc == 0)
		env->payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	else
		cli_print_errors(file, &errs);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	return rc == 0 ? OPTREG_EXIT_OK : OPTREG_EXIT_INVALID;
}

/* Fills `env` from an envelope to sign again. */
static int envelope_from_envelope(const char *file, const struct optreg_buf *in,
				  struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	if (optreg_dsse_parse(env, in->data, in->len, &errs) < 0) {
		cli_print_errors(file, &errs);
		optreg_errors_release(&errs);
		return OPTREG_EXIT_INVALID;
	}
	return check_payload(file, env);
}

/* Writes `b` to `file` by way of a temporary file and a rename, so that
 * readers never see half an envelope. Exit status. */
static int write_output(const char *file, const struct optreg_buf *b)
{
	char *tmp;
	int fd, err = 0;

	if (!file || !strcmp(file, "-"))
		return cli_write_stdout(b);
	tmp = optreg_xasprintf("%s.tmp.%ld", file, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "optreg sign: cannot write \"%s\": %s\n", file,
			strerror(errno));
		free(tmp);
		return OPTREG_EXIT_IO;
	}
	for (size_t off = 0; off < b->len && !err;) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, file) < 0)
		err = errno;
	if (err) {
		fprintf(stderr, "optreg sign: cannot write \"%s\": %s\n", file,
			strerror(err));
		unlink(tmp);
	}
	free(tmp);
	return err ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
}

/* Loads the signing key; exit status, the reason printed. */
static int load_signing_key(const char *path, struct optreg_key **key)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_key_load_file(key, path, &errs);

	if (rc == 0 && !optreg_key_is_private(*key)) {
		fprintf(stderr,
			"optreg sign: %s: is a public key; signing needs the "
			"private key\n"
			"  hint: pass NAME.pem from `optreg keygen`, not "
			"NAME.pub.pem\n",
			path);
		optreg_key_free(*key);
		*key = NULL;
		return OPTREG_EXIT_USAGE;
	}
	if (rc < 0) {
		fprintf(stderr, "optreg sign: %s\n", errs.items[0].message);
		if (errs.items[0].hint)
			fprintf(stderr, "  hint: %s\n", errs.items[0].hint);
	}
	optreg_errors_release(&errs);
	if (rc == OPTREG_EIO)
		return OPTREG_EXIT_IO;
	return rc < 0 ? OPTREG_EXIT_USAGE : OPTREG_EXIT_OK;
}

/*
 * Signs `env` with `key` unless `key` has signed it already, in which case
 * it is left as it is (when that signature verifies). Exit status.
 */
static int add_signature(const char *file, struct optreg_dsse *env,
			 const struct optreg_key *key)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char id[OPTREG_KEYID_LEN + 1];
	int rc;

	optreg_key_id(key, id);
	for (size_t i = 0; i < env->nsigs; i++) {
		if (strcmp(env->sigs[i].keyid, id))
			continue;
		if (optreg_dsse_verify_one(env, i, key) == OPTREG_SIG_VALID) {
			fprintf(stderr,
				"optreg sign: %s: already signed by %s; "
				"envelope unchanged\n",
				file, id);
			return OPTREG_EXIT_OK;
		}
		fprintf(stderr,
			"%s: signatures[%zu]: carries key id %s but does not "
			"verify under that key\n"
			"  hint: remove the broken signature, or sign the "
			"config file again\n",
			file, i, id);
		return OPTREG_EXIT_INVALID;
	}
	rc = optreg_dsse_sign(env, key, &errs);
	if (rc < 0)
		fprintf(stderr, "optreg sign: %s\n", errs.items[0].message);
	optreg_errors_release(&errs);
	return rc < 0 ? OPTREG_EXIT_INVALID : OPTREG_EXIT_OK;
}

int cmd_sign(int argc, char **argv)
{
	const char *file = NULL, *keypath = NULL, *out = NULL;
	struct optreg_buf in = OPTREG_BUF_INIT, text = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	struct optreg_dsse env;
	int rc, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (cli_is_help(a)) {
			fputs(help, stdout);
			return OPTREG_EXIT_OK;
		}
		rc = cli_opt_value("sign", argc, argv, &i, "--key", &keypath);
		if (rc == 0)
			rc = cli_opt_value("sign", argc, argv, &i, "--out",
					   &out);
		if (rc < 0)
			return OPTREG_EXIT_USAGE;
		if (rc > 0)
			continue;
		if ((a[0] == '-' && a[1]) || file) {
			fprintf(stderr,
				"optreg sign: unexpected argument \"%s\"\n%s",
				a, help);
			return OPTREG_EXIT_USAGE;
		}
		file = a;
	}
	if (!file) {
		fprintf(stderr, "optreg sign: expected one FILE\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (!keypath)
		keypath = getenv("OPTREG_KEY");
	if (!keypath || !keypath[0]) {
		fprintf(stderr, "optreg sign: no key: pass --key KEY or set "
				"OPTREG_KEY\n");
		return OPTREG_EXIT_USAGE;
	}

	optreg_dsse_init(&env);
	status = load_signing_key(keypath, &key);
	if (status == OPTREG_EXIT_OK)
		status = read_input(file, &in);
	if (status == OPTREG_EXIT_OK)
		status = is_envelope(&in)
				 ? envelope_from_envelope(file, &in, &env)
				 : envelope_from_config(file, &in, &env);
	if (status == OPTREG_EXIT_OK)
		status = add_signature(file, &env, key);
	if (status == OPTREG_EXIT_OK) {
		json_t *j = optreg_dsse_to_json(&env);
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s) {
			optreg_buf_adds(&text, s);
			optreg_buf_addch(&text, '\n');
			status = write_output(out, &text);
		} else {
			fprintf(stderr, "optreg sign: out of memory\n");
			status = OPTREG_EXIT_IO;
		}
		free(s);
		json_decref(j);
	}
	optreg_buf_release(&text);
	optreg_buf_release(&in);
	optreg_dsse_release(&env);
	optreg_key_free(key);
	return status;
}
