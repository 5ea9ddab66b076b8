/*
 * tests/note/mknote.c: common/note.h on the command line, for
 * tests/note/note_test.sh (which compiles it with the common/ sources).
 *
 *   mknote vkey KEY.pem NAME          prints the sumdb/note verifier key
 *   mknote checkpoint KEY.pem NAME ORIGIN SIZE ROOTHEX
 *                                     prints the signed checkpoint note
 *   mknote open VKEY NOTE             opens NOTE with the key a sumdb/note
 *                                     verifier key names; prints the text
 *
 * For `open` the verifier key is taken apart here: its public key becomes
 * SPKI PEM, and the key hash must be the one optreg_note_verifier_key
 * computes, so a key Go made and a key we read agree. Exits 1 with the
 * errors on stderr when something fails, 2 on bad usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/base64.h"
#include "common/error.h"
#include "common/note.h"
#include "common/sign.h"

static int fail(struct optreg_errors *errs, const char *what)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;

	optreg_errors_format(errs, NULL, &msg);
	fprintf(stderr, "mknote: %s\n%s", what, msg.data);
	optreg_buf_release(&msg);
	optreg_errors_release(errs);
	return 1;
}

static int hex_root(const char *hex, unsigned char root[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		root[i] = (unsigned char)v;
	}
	return 0;
}

/* NAME+HASH+base64(0x01 || key) to a public key; checks the hash. */
static struct optreg_key *vkey_load(const char *vkey,
				    struct optreg_errors *errs)
{
	static const unsigned char spki_prefix[] = {0x30, 0x2a, 0x30, 0x05,
						    0x06, 0x03, 0x2b, 0x65,
						    0x70, 0x03, 0x21, 0x00};
	const char *plus1 = strchr(vkey, '+');
	const char *plus2 = plus1 ? strchr(plus1 + 1, '+') : NULL;
	struct optreg_buf raw = OPTREG_BUF_INIT, der = OPTREG_BUF_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT, again = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	char *name;

	if (!plus2 ||
	    optreg_base64_decode(plus2 + 1, strlen(plus2 + 1), &raw) != 0 ||
	    raw.len != 33 || raw.data[0] != 0x01) {
		optreg_errors_add(errs, OPTREG_EINVAL, "vkey", NULL,
				  "malformed verifier key \"%s\"", vkey);
		goto out;
	}
	optreg_buf_add(&der, spki_prefix, sizeof(spki_prefix));
	optreg_buf_add(&der, raw.data + 1, 32);
	optreg_buf_adds(&pem, "-----BEGIN PUBLIC KEY-----\n");
	optreg_base64_encode(der.data, der.len, &pem);
	optreg_buf_adds(&pem, "\n-----END PUBLIC KEY-----\n");
	if (optreg_key_load_pem(&key, pem.data, pem.len, errs) != 0)
		goto out;
	name = optreg_xstrndup(vkey, (size_t)(plus1 - vkey));
	if (optreg_note_verifier_key(name, key, &again) != 0 ||
	    strcmp(again.data, vkey) != 0) {
		optreg_errors_add(errs, OPTREG_EINVAL, "vkey", NULL,
				  "verifier key \"%s\" is not ours (\"%s\")",
				  vkey, again.data);
		optreg_key_free(key);
		key = NULL;
	}
	free(name);
out:
	optreg_buf_release(&raw);
	optreg_buf_release(&der);
	optreg_buf_release(&pem);
	optreg_buf_release(&again);
	return key;
}

int main(int argc, char **argv)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT, in = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	int rc = 1;

	if (argc == 4 && !strcmp(argv[1], "vkey")) {
		if (optreg_key_load_file(&key, argv[2], &errs) != 0)
			return fail(&errs, "cannot load the key");
		if (optreg_note_verifier_key(argv[3], key, &out) != 0) {
			fprintf(stderr, "mknote: invalid key name\n");
			goto out;
		}
		printf("%s\n", out.data);
	} else if (argc == 7 && !strcmp(argv[1], "checkpoint")) {
		unsigned char root[32];
		char *end;
		unsigned long long size = strtoull(argv[5], &end, 10);

		if (*end || hex_root(argv[6], root) != 0) {
			fprintf(stderr, "mknote: bad size or root\n");
			return 2;
		}
		if (optreg_key_load_file(&key, argv[2], &errs) != 0)
			return fail(&errs, "cannot load the key");
		if (optreg_note_checkpoint_body(argv[4], (uint64_t)size, root,
						&in) != 0) {
			fprintf(stderr, "mknote: bad origin\n");
			goto out;
		}
		if (optreg_note_sign(in.data, argv[3], key, &out, &errs) != 0) {
			rc = fail(&errs, "cannot sign");
			goto out;
		}
		fwrite(out.data, 1, out.len, stdout);
	} else if (argc == 4 && !strcmp(argv[1], "open")) {
		const char *name_end = strchr(argv[2], '+');
		char *name;

		if (!(key = vkey_load(argv[2], &errs)))
			return fail(&errs, "cannot use the verifier key");
		if (optreg_buf_read_file(&in, argv[3]) != 0) {
			perror(argv[3]);
			goto out;
		}
		name = optreg_xstrndup(argv[2], (size_t)(name_end - argv[2]));
		if (optreg_note_open(in.data, in.len, name, key, &out, &errs) !=
		    0) {
			free(name);
			rc = fail(&errs, "cannot open the note");
			goto out;
		}
		free(name);
		fwrite(out.data, 1, out.len, stdout);
	} else {
		fprintf(stderr, "usage: mknote vkey KEY.pem NAME | checkpoint "
				"KEY.pem NAME ORIGIN SIZE ROOTHEX | open VKEY "
				"NOTE\n");
		return 2;
	}
	rc = 0;
out:
	optreg_key_free(key);
	optreg_buf_release(&in);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return rc;
}
