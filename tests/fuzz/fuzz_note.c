/*
 * tests/fuzz/fuzz_note.c: fuzzes the C2SP signed-note and checkpoint
 * readers of common/note.h and common/checkpoint.h: optreg_note_open,
 * optreg_note_checkpoint_parse, optreg_checkpoint_verify (common/verify.h)
 * and, for an input that starts with '{', the saved-checkpoint file of
 * `optreg audit checkpoint --out` (optreg_saved_checkpoint_decode).
 *
 * Beyond memory safety it checks the contract:
 *  - note_open (PeterNeumann's key of Go's sumdb/note examples) either
 *    refuses with an error and leaves `text` alone, or returns a text
 *    that is a prefix of the note and ends in a newline;
 *  - checkpoint_verify (the key of tests/cases/verify/checkpoint-good)
 *    refuses with an error and an empty result, or returns an origin that
 *    is the note's first line and whose checkpoint text, rebuilt with
 *    optreg_note_checkpoint_body, starts the note;
 *  - checkpoint_parse of the input as text refuses with exactly one
 *    error (rule "checkpoint", a line) and no origin, or its fields
 *    rebuild the text's first three lines byte for byte (one spelling
 *    per size and root);
 *  - a text that optreg_note_sign accepts (with a key made at start)
 *    opens again to itself, and signing is deterministic;
 *  - a saved checkpoint decodes with bad_leaf -1 or an index below
 *    nleaves, its leaves read back as the lowercase hex that was written,
 *    and encoding what was decoded decodes to the same note and leaves.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/checkpoint.h"
#include "../../common/error.h"
#include "../../common/hash.h"
#include "../../common/keyset.h"
#include "../../common/note.h"
#include "../../common/sign.h"
#include "../../common/verify.h"
#include "fuzz.h"

/* Go's sumdb/note example key (public half). */
static const char peter_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAGlzZBxQ8OExB6DDFvOEqqIF+xWSaqr8sMTiLNbLXRNY=\n"
	"-----END PUBLIC KEY-----\n";

/* tests/cases/verify/checkpoint-good/registry_keys.json. */
static const char registry_keys_json[] =
	"{\"keys\":[{\"keyid\":\"8bacec3f027df7011e916c17d7344e3cd603fd87c6ef1e"
	"5ca7299bfcde20188f\",\"public_key\":\"-----BEGIN PUBLIC KEY-----\\nMCo"
	"wBQYDK2VwAyEAEk+Dx00lmQ/Ej+LW5peviPGy3m1KMvF02b3Nm2trWTE=\\n-----END P"
	"UBLIC KEY-----\\n\"}]}";

static struct optreg_key *peter, *signer;
static struct optreg_keyset registry_keys;

/* The keys, made once (libFuzzer calls the target many times). */
static void fuzz_keys(void)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *list;

	if (peter)
		return;
	FUZZ_CHECK(optreg_key_load_pem(&peter, peter_pub_pem,
				       strlen(peter_pub_pem), &errs) == 0,
		   "the fixed public key does not load");
	FUZZ_CHECK(optreg_key_generate(&signer, &errs) == 0,
		   "no key could be made");
	list = json_loads(registry_keys_json, 0, NULL);
	optreg_keyset_init(&registry_keys);
	optreg_keyset_load_list(&registry_keys, list);
	json_decref(list);
	FUZZ_CHECK(registry_keys.n == 1, "the fixed key list does not load");
	optreg_errors_release(&errs);
}

static bool starts_with(const char *s, size_t n, const struct optreg_buf *p)
{
	return p->len <= n && !memcmp(s, p->data, p->len);
}

static void check_open(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	int rc;

	optreg_buf_adds(&text, "keep");
	rc = optreg_note_open((const char *)data, size, "PeterNeumann", peter,
			      &text, &errs);
	fuzz_check_result("optreg_note_open", rc, &errs, 0);
	if (rc) {
		FUZZ_CHECK(rc == OPTREG_ESYNTAX || rc == OPTREG_EINVAL,
			   "open returned %s", optreg_code_name(rc));
		FUZZ_CHECK(text.len == 4 && !memcmp(text.data, "keep", 4),
			   "a refused note changed the text");
	} else {
		FUZZ_CHECK(text.len > 4 && text.data[text.len - 1] == '\n',
			   "an opened note's text does not end in a newline");
		FUZZ_CHECK(text.len - 4 < size &&
				   !memcmp(text.data + 4, data, text.len - 4),
			   "an opened note's text is not its start");
	}
	optreg_buf_release(&text);
	optreg_errors_release(&errs);
}

static void check_verify(const char *note)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf body = OPTREG_BUF_INIT;
	struct optreg_checkpoint cp;
	const char *nl;
	int rc;

	rc = optreg_checkpoint_verify(note, &registry_keys, &cp, &errs);
	fuzz_check_result("optreg_checkpoint_verify", rc, &errs, 0);
	if (rc) {
		FUZZ_CHECK(!cp.origin && !cp.keyid[0],
			   "a refused checkpoint left a result");
		goto out;
	}
	nl = strchr(note, '\n');
	FUZZ_CHECK(nl && strlen(cp.origin) == (size_t)(nl - note) &&
			   !memcmp(cp.origin, note, (size_t)(nl - note)),
		   "the origin \"%s\" is not the first line", cp.origin);
	FUZZ_CHECK(!strcmp(cp.keyid, registry_keys.items[0].id),
		   "verified by another key: %s", cp.keyid);
	FUZZ_CHECK(optreg_note_checkpoint_body(cp.origin, cp.size, cp.root,
					       &body) == 0,
		   "a verified origin cannot be written back");
	FUZZ_CHECK(starts_with(note, strlen(note), &body),
		   "the verified checkpoint does not rebuild its text");
out:
	optreg_checkpoint_release(&cp);
	optreg_buf_release(&body);
	optreg_errors_release(&errs);
}

static void check_parse(const char *text)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf body = OPTREG_BUF_INIT;
	unsigned char root[32];
	char *origin = (char *)"unset";
	uint64_t size;
	int rc;

	rc = optreg_note_checkpoint_parse(text, &origin, &size, root, &errs);
	fuzz_check_result("optreg_note_checkpoint_parse", rc, &errs, 0);
	if (rc) {
		FUZZ_CHECK(rc == OPTREG_ESYNTAX && !origin,
			   "parse returned %s with origin %p",
			   optreg_code_name(rc), (void *)origin);
		FUZZ_CHECK(errs.len == 1 &&
				   !strcmp(errs.items[0].rule, "checkpoint") &&
				   errs.items[0].line >= 1,
			   "a refusal is not one error with rule checkpoint "
			   "and a line");
		goto out;
	}
	FUZZ_CHECK(origin && origin[0], "accepted without an origin");
	FUZZ_CHECK(optreg_note_checkpoint_body(origin, size, root, &body) == 0,
		   "an accepted origin cannot be written back: \"%s\"", origin);
	FUZZ_CHECK(starts_with(text, strlen(text), &body),
		   "the fields do not rebuild the text:\n%s---\n%s", text,
		   body.data);
	free(origin);
out:
	optreg_buf_release(&body);
	optreg_errors_release(&errs);
}

static void check_sign(const char *text)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf note = OPTREG_BUF_INIT, again = OPTREG_BUF_INIT,
			  opened = OPTREG_BUF_INIT;
	int rc;

	rc = optreg_note_sign(text, "fuzz.example/log", signer, &note, &errs);
	fuzz_check_result("optreg_note_sign", rc, &errs, 0);
	if (rc) {
		FUZZ_CHECK(rc == OPTREG_EINVAL && note.len == 0,
			   "a refused text returned %s with %zu bytes",
			   optreg_code_name(rc), note.len);
		goto out;
	}
	FUZZ_CHECK(optreg_note_sign(text, "fuzz.example/log", signer, &again,
				    &errs) == 0 &&
			   again.len == note.len &&
			   !memcmp(again.data, note.data, note.len),
		   "signing the same text twice differs");
	rc = optreg_note_open(note.data, note.len, "fuzz.example/log", signer,
			      &opened, &errs);
	FUZZ_CHECK(rc == 0, "a note just signed does not open (%s: %s)",
		   optreg_code_name(rc),
		   errs.len ? errs.items[errs.len - 1].message : "no error");
	FUZZ_CHECK(opened.len == strlen(text) &&
			   !memcmp(opened.data, text, opened.len),
		   "a note just signed opens to another text");
out:
	optreg_buf_release(&note);
	optreg_buf_release(&again);
	optreg_buf_release(&opened);
	optreg_errors_release(&errs);
}

/* The saved-checkpoint file: decode, the leaves as written, re-encode. */
static void check_saved(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_saved_checkpoint cp, back;
	struct optreg_buf out = OPTREG_BUF_INIT;
	char hex[OPTREG_SHA256_HEX_LEN + 1];
	json_t *root, *leaves;
	size_t good;
	int rc;

	rc = optreg_saved_checkpoint_decode((const char *)data, size, &cp,
					    &errs);
	fuzz_check_result("optreg_saved_checkpoint_decode", rc, &errs, 0);
	if (rc) {
		FUZZ_CHECK(rc == OPTREG_ESYNTAX || rc == OPTREG_EINVAL,
			   "decode returned %s", optreg_code_name(rc));
		goto out;
	}
	FUZZ_CHECK(cp.note != NULL, "decoded without a note");
	FUZZ_CHECK(cp.bad_leaf >= -1 && cp.bad_leaf < (int64_t)cp.nleaves,
		   "bad_leaf %lld of %zu leaves", (long long)cp.bad_leaf,
		   cp.nleaves);
	root = json_loadb((const char *)data, size, 0, NULL);
	leaves = json_object_get(root, "leaves");
	good = cp.bad_leaf < 0 ? cp.nleaves : (size_t)cp.bad_leaf;
	for (size_t i = 0; i < good; i++) {
		optreg_hex_encode(cp.leaves[i], OPTREG_HASH_LEN, hex);
		FUZZ_CHECK(!strcmp(hex, json_string_value(
						json_array_get(leaves, i))),
			   "leaves[%zu] reads as %s", i, hex);
	}
	json_decref(root);
	check_verify(cp.note);
	if (cp.bad_leaf >= 0)
		goto out;

	cp.origin = (char *)"fuzz.example/log";
	cp.keyid = "k";
	cp.saved_at = "2026-01-01T00:00:00Z";
	rc = optreg_saved_checkpoint_encode(&cp, &out);
	cp.origin = NULL;
	if (rc == 0) {
		rc = optreg_saved_checkpoint_decode(out.data, out.len, &back,
						    &errs);
		FUZZ_CHECK(rc == 0, "an encoded checkpoint does not decode");
		FUZZ_CHECK(!strcmp(back.note, cp.note), "the note changed");
		FUZZ_CHECK(back.nleaves == cp.nleaves && back.bad_leaf == -1 &&
				   !memcmp(back.leaves, cp.leaves,
					   cp.nleaves * sizeof(*cp.leaves)),
			   "the leaves changed");
		optreg_saved_checkpoint_release(&back);
	}
out:
	optreg_saved_checkpoint_release(&cp);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	fuzz_keys();
	if (size && data[0] == '{') {
		check_saved(data, size);
		return 0;
	}
	text = optreg_xstrndup((const char *)data, size);
	check_open(data, size);
	check_verify(text);
	check_parse(text);
	check_sign(text);
	free(text);
	return 0;
}
