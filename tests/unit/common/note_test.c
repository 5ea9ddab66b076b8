/*
 * tests/unit/common/note_test.c: C2SP signed notes and tlog checkpoints
 * (common/note.h).
 *
 * Known answers come from outside this code: the examples of Go's
 * golang.org/x/mod/sumdb/note (example_test.go: PeterNeumann's key and
 * signed note, and EnochRoot's, generated from an all-zero seed), and the
 * checkpoint of c2sp.org/tlog-checkpoint. The PEM forms of those keys were
 * made with Python's base64 and python3-nacl from the keys' seeds. Hashes
 * and base64 the tests compute themselves use OpenSSL's SHA256() and
 * EVP_DecodeBlock, not the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/buf.h"
#include "common/base64.h"
#include "common/error.h"
#include "common/note.h"
#include "common/sign.h"

#define EM_DASH "\xe2\x80\x94"

/* sumdb/note: PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV...KDFz. */
static const char peter_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIIEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz\n"
	"-----END PRIVATE KEY-----\n";
static const char peter_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAGlzZBxQ8OExB6DDFvOEqqIF+xWSaqr8sMTiLNbLXRNY=\n"
	"-----END PUBLIC KEY-----\n";
static const char peter_vkey[] =
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

/* sumdb/note's EnochRoot: GenerateKey over a reader of zeros. */
static const char enoch_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	"-----END PRIVATE KEY-----\n";

static const char peter_text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char peter_sig_line[] =
	EM_DASH " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIu"
		"GUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_sig_line[] =
	EM_DASH " EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiO"
		"Hp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* c2sp.org/tlog-checkpoint's example (its key is not published). */
static const char sofa_text[] =
	"example.com/behind-the-sofa\n"
	"20852163\n"
	"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const unsigned char sofa_root[32] = {
	0x0a, 0xc5, 0x18, 0x6a, 0x91, 0x86, 0x3e, 0x8e, 0x1d, 0x90, 0xc8,
	0x08, 0x01, 0x4a, 0xa8, 0x9b, 0xf5, 0xda, 0x8e, 0x3e, 0xe1, 0xd9,
	0xf0, 0x76, 0x30, 0xf0, 0x37, 0x8f, 0x68, 0xf1, 0xab, 0x62};

static struct optreg_key *load(const char *pem)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;

	assert_int_equal(optreg_key_load_pem(&key, pem, strlen(pem), &errs), 0);
	optreg_errors_release(&errs);
	return key;
}

static struct optreg_key *generate(void)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;

	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	optreg_errors_release(&errs);
	return key;
}

/* Signs `text` and returns the note (the caller frees it). */
static char *sign(const char *text, const char *name,
		  const struct optreg_key *key)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(optreg_note_sign(text, name, key, &out, &errs), 0);
	assert_int_equal(errs.len, 0);
	optreg_errors_release(&errs);
	return optreg_buf_detach(&out, NULL);
}

/*
 * Opens `len` bytes of `note` and checks the outcome: `rc` 0 means the text
 * must come back as `want_text`; otherwise the code, exactly one error, its
 * rule and (when `line` > 0) its line must match, and `text` is untouched.
 */
static void check_open_len(const char *note, size_t len, const char *name,
			   const struct optreg_key *key, int rc,
			   const char *rule_or_text, int line)
{
	struct optreg_buf text = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int got;

	optreg_buf_adds(&text, "keep");
	got = optreg_note_open(note, len, name, key, &text, &errs);
	if (got != rc) {
		struct optreg_buf msg = OPTREG_BUF_INIT;

		optreg_errors_format(&errs, NULL, &msg);
		fail_msg("note_open returned %d, want %d: %s", got, rc,
			 msg.data);
	}
	if (rc == 0) {
		assert_int_equal(errs.len, 0);
		assert_string_equal(text.data + 4, rule_or_text);
	} else {
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, rule_or_text);
		if (line > 0)
			assert_int_equal(errs.items[0].line, line);
		assert_string_equal(text.data, "keep");
	}
	optreg_errors_release(&errs);
	optreg_buf_release(&text);
}

static void check_open(const char *note, const char *name,
		       const struct optreg_key *key, int rc,
		       const char *rule_or_text, int line)
{
	check_open_len(note, strlen(note), name, key, rc, rule_or_text, line);
}

/* The raw public key, decoded here from the SPKI PEM's last 32 bytes. */
static void raw_public(const struct optreg_key *key, unsigned char raw[32])
{
	struct optreg_buf pem = OPTREG_BUF_INIT;
	unsigned char der[64];
	const char *b = NULL, *e = NULL;

	assert_int_equal(optreg_key_public_pem(key, &pem), 0);
	b = strchr(pem.data, '\n') + 1;
	e = strchr(b, '\n');
	assert_int_equal(e - b, 60);
	/* 44 bytes of DER, plus one byte of padding EVP_DecodeBlock keeps. */
	assert_int_equal(EVP_DecodeBlock(der, (const unsigned char *)b, 60),
			 45);
	memcpy(raw, der + 12, 32);
	optreg_buf_release(&pem);
}

/* SHA-256(name || "\n" || 0x01 || key)[:4] as the spec says. */
static uint32_t expected_hash(const char *name, const struct optreg_key *key)
{
	unsigned char in[256], md[SHA256_DIGEST_LENGTH];
	size_t n = strlen(name);

	assert_true(n + 34 <= sizeof(in));
	memcpy(in, name, n);
	in[n] = '\n';
	in[n + 1] = 0x01;
	raw_public(key, in + n + 2);
	SHA256(in, n + 34, md);
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	       (uint32_t)md[2] << 8 | md[3];
}

/* Go's ExampleSign: the same text and key give the same bytes. */
static void test_go_example_sign(void **state)
{
	struct optreg_key *peter = load(peter_priv_pem);
	char *note = sign(peter_text, "PeterNeumann", peter);
	struct optreg_buf want = OPTREG_BUF_INIT, vkey = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_adds(&want, peter_text);
	optreg_buf_adds(&want, "\n");
	optreg_buf_adds(&want, peter_sig_line);
	assert_string_equal(note, want.data);

	assert_int_equal(optreg_note_verifier_key("PeterNeumann", peter, &vkey),
			 0);
	assert_string_equal(vkey.data, peter_vkey);
	free(note);
	optreg_buf_release(&want);
	optreg_buf_release(&vkey);
	optreg_key_free(peter);
}

/* Go's ExampleOpen and ExampleSign_add_signatures, opened here. */
static void test_go_example_open(void **state)
{
	struct optreg_key *peter = load(peter_pub_pem);
	struct optreg_key *enoch = load(enoch_priv_pem);
	struct optreg_buf note = OPTREG_BUF_INIT, both = OPTREG_BUF_INIT;
	struct optreg_buf vkey = OPTREG_BUF_INIT;
	char *mine;

	(void)state;
	optreg_buf_adds(&note, peter_text);
	optreg_buf_adds(&note, "\n");
	optreg_buf_adds(&note, peter_sig_line);
	check_open(note.data, "PeterNeumann", peter, 0, peter_text, 0);
	/* A public key computes the same verifier key. */
	assert_int_equal(optreg_note_verifier_key("PeterNeumann", peter, &vkey),
			 0);
	assert_string_equal(vkey.data, peter_vkey);

	/* Two signatures: each key finds its own and ignores the other. */
	optreg_buf_add(&both, note.data, note.len);
	optreg_buf_adds(&both, enoch_sig_line);
	check_open(both.data, "PeterNeumann", peter, 0, peter_text, 0);
	check_open(both.data, "EnochRoot", enoch, 0, peter_text, 0);
	/* Only Peter signed the first one. */
	check_open(note.data, "EnochRoot", enoch, OPTREG_EINVAL, "unknown_key",
		   0);

	/* Ed25519 is deterministic: our signature line is Go's. */
	mine = sign(peter_text, "EnochRoot", enoch);
	assert_string_equal(mine + strlen(peter_text) + 1, enoch_sig_line);
	free(mine);
	optreg_buf_release(&note);
	optreg_buf_release(&both);
	optreg_buf_release(&vkey);
	optreg_key_free(peter);
	optreg_key_free(enoch);
}

static void test_checkpoint_body(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	unsigned char root[32];

	(void)state;
	assert_int_equal(
		optreg_note_checkpoint_body("example.com/behind-the-sofa",
					    20852163, sofa_root, &out),
		0);
	assert_string_equal(out.data, sofa_text);

	/* Appends; the empty tree's size is "0". */
	optreg_buf_reset(&out);
	optreg_buf_adds(&out, "x");
	for (int i = 0; i < 32; i++)
		root[i] = (unsigned char)i;
	assert_int_equal(optreg_note_checkpoint_body("o", 0, root, &out), 0);
	assert_string_equal(
		out.data,
		"xo\n0\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
	optreg_buf_reset(&out);
	assert_int_equal(
		optreg_note_checkpoint_body("o", UINT64_MAX, root, &out), 0);
	assert_memory_equal(out.data, "o\n18446744073709551615\n", 23);

	/* Origins that would break the format. */
	optreg_buf_reset(&out);
	assert_int_equal(optreg_note_checkpoint_body("", 1, root, &out),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_note_checkpoint_body("a\nb", 1, root, &out),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_note_checkpoint_body("a\rb", 1, root, &out),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_note_checkpoint_body("a\xff", 1, root, &out),
			 OPTREG_EINVAL);
	assert_int_equal(out.len, 0);
	optreg_buf_release(&out);
}

static void test_checkpoint_parse(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	unsigned char root[32];
	uint64_t size = 1;
	char *origin = NULL;

	(void)state;
	assert_int_equal(optreg_note_checkpoint_parse(sofa_text, &origin, &size,
						      root, &errs),
			 0);
	assert_string_equal(origin, "example.com/behind-the-sofa");
	assert_true(size == 20852163);
	assert_memory_equal(root, sofa_root, 32);
	free(origin);

	/* Extension lines are accepted; limits of the size. */
	assert_int_equal(optreg_note_checkpoint_parse(
				 "a b+c\n0\nAAECAwQFBgcICQoLDA0ODxAREhM"
				 "UFRYXGBkaGxwdHh8=\next 1\next2\n",
				 &origin, &size, root, &errs),
			 0);
	assert_string_equal(origin, "a b+c");
	assert_true(size == 0);
	assert_int_equal(root[31], 31);
	free(origin);
	assert_int_equal(optreg_note_checkpoint_parse(
				 "o\n18446744073709551615\nAAECAwQFBgcIC"
				 "QoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
				 &origin, &size, root, &errs),
			 0);
	assert_true(size == UINT64_MAX);
	free(origin);
	assert_int_equal(errs.len, 0);
	optreg_errors_release(&errs);
}

static void test_checkpoint_parse_malformed(void **state)
{
#define R "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	static const struct {
		const char *text;
		int line;
	} bad[] = {
		{"", 1},
		{"o\n1\n" R, 3},	/* no final newline */
		{"o\n1\n", 3},		/* no root line */
		{"o\n", 2},		/* no size line */
		{"\n1\n" R "\n", 1},	/* empty origin */
		{"o\n\n" R "\n", 2},	/* empty size */
		{"o\n1\n" R "\n\n", 4}, /* empty extension line */
		{"o\n01\n" R "\n", 2},	/* leading zero */
		{"o\n00\n" R "\n", 2},	/* leading zero */
		{"o\n+1\n" R "\n", 2},	/* sign */
		{"o\n-1\n" R "\n", 2},	/* sign */
		{"o\n 1\n" R "\n", 2},	/* space */
		{"o\n1 \n" R "\n", 2},	/* space */
		{"o\n0x1\n" R "\n", 2}, /* hex */
		{"o\n18446744073709551616\n" R "\n", 2}, /* 2^64 */
		{"o\n99999999999999999999\n" R "\n", 2},
		{"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 3},
		{"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=\n", 3},
		{"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", 3},
		{"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAAA\n", 3},
		{"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 3},
		{"o\n1\n " R "\n", 3},
		{"o\r\n1\n" R "\n", 1},	  /* control character */
		{"o\xc3\n1\n" R "\n", 1}, /* invalid UTF-8 */
	};
#undef R
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		unsigned char root[32];
		uint64_t size;
		char *origin = (char *)"unset";
		int rc = optreg_note_checkpoint_parse(bad[i].text, &origin,
						      &size, root, &errs);

		if (rc != OPTREG_ESYNTAX)
			fail_msg("checkpoint %zu was not refused (%d)", i, rc);
		assert_null(origin);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, "checkpoint");
		if (errs.items[0].line != bad[i].line)
			fail_msg("checkpoint %zu: error on line %d, want %d: "
				 "%s",
				 i, errs.items[0].line, bad[i].line,
				 errs.items[0].message);
		assert_non_null(strstr(errs.items[0].message, "line"));
		optreg_errors_release(&errs);
	}
}

/* A checkpoint signed with a fresh key opens and parses back. */
static void test_round_trip(void **state)
{
	struct optreg_key *key = generate();
	struct optreg_buf body = OPTREG_BUF_INIT, text = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	unsigned char root[32], back[32];
	uint64_t size;
	char *note, *origin;

	(void)state;
	for (int i = 0; i < 32; i++)
		root[i] = (unsigned char)(0xa0 + i);
	assert_int_equal(optreg_note_checkpoint_body("optreg.example/log",
						     12345, root, &body),
			 0);
	note = sign(body.data, "optreg.example/log", key);
	assert_int_equal(optreg_note_open(note, strlen(note),
					  "optreg.example/log", key, &text,
					  &errs),
			 0);
	assert_string_equal(text.data, body.data);
	assert_int_equal(optreg_note_checkpoint_parse(text.data, &origin, &size,
						      back, &errs),
			 0);
	assert_string_equal(origin, "optreg.example/log");
	assert_true(size == 12345);
	assert_memory_equal(back, root, 32);
	assert_int_equal(errs.len, 0);

	/* Signing is deterministic; signing twice appends. */
	optreg_buf_reset(&text);
	assert_int_equal(optreg_note_sign(body.data, "optreg.example/log", key,
					  &text, &errs),
			 0);
	assert_int_equal(optreg_note_sign(body.data, "optreg.example/log", key,
					  &text, &errs),
			 0);
	assert_int_equal(text.len, 2 * strlen(note));
	assert_memory_equal(text.data, note, strlen(note));
	assert_memory_equal(text.data + strlen(note), note, strlen(note));

	free(origin);
	free(note);
	optreg_errors_release(&errs);
	optreg_buf_release(&body);
	optreg_buf_release(&text);
	optreg_key_free(key);
}

/* The key hash in the signature and the verifier key is the spec's. */
static void test_key_hash(void **state)
{
	static const char *const names[] = {"a", "optreg.example/log",
					    "caf\xc3\xa9", "PeterNeumann"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct optreg_key *key = generate();
		struct optreg_buf vkey = OPTREG_BUF_INIT;
		uint32_t want = expected_hash(names[i], key);
		char *note = sign("t\n", names[i], key), *b64, hex[9];
		unsigned char sig[96], pubkey[40], raw[32];
		const char *p;

		/* "t\n" "\n" "— " name " " base64(hash || sig) "\n" */
		b64 = note + 3 + strlen(EM_DASH " ") + strlen(names[i]) + 1;
		assert_int_equal(strlen(b64), 93);
		assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *)b64, 92),
				 69);
		assert_true(((uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 |
			     (uint32_t)sig[2] << 8 | sig[3]) == want);

		assert_int_equal(optreg_note_verifier_key(names[i], key, &vkey),
				 0);
		snprintf(hex, sizeof(hex), "%08x", (unsigned)want);
		p = vkey.data + strlen(names[i]);
		assert_memory_equal(vkey.data, names[i], strlen(names[i]));
		assert_int_equal(p[0], '+');
		assert_memory_equal(p + 1, hex, 8);
		assert_int_equal(p[9], '+');
		assert_int_equal(strlen(p + 10), 44);
		assert_int_equal(EVP_DecodeBlock(pubkey,
						 (const unsigned char *)p + 10,
						 44),
				 33);
		assert_int_equal(pubkey[0], 0x01);
		raw_public(key, raw);
		assert_memory_equal(pubkey + 1, raw, 32);

		free(note);
		optreg_buf_release(&vkey);
		optreg_key_free(key);
	}
}

/* Every changed byte of a signed checkpoint is refused. */
static void test_tampering(void **state)
{
	struct optreg_key *key = generate();
	struct optreg_buf body = OPTREG_BUF_INIT, b64 = OPTREG_BUF_INIT;
	struct optreg_buf raw = OPTREG_BUF_INIT, forged = OPTREG_BUF_INIT;
	unsigned char root[32] = {1, 2, 3};
	char *note, *sigstart;
	size_t len;

	(void)state;
	assert_int_equal(optreg_note_checkpoint_body("log", 7, root, &body), 0);
	note = sign(body.data, "log", key);
	len = strlen(note);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct optreg_buf text = OPTREG_BUF_INIT;
			struct optreg_errors errs = OPTREG_ERRORS_INIT;

			note[i] ^= (char)(1 << bit);
			if (optreg_note_open(note, len, "log", key, &text,
					     &errs) == 0)
				fail_msg("flipping bit %d of byte %zu of the "
					 "note went unnoticed",
					 bit, i);
			assert_int_equal(text.len, 0);
			assert_true(errs.len == 1);
			note[i] ^= (char)(1 << bit);
			optreg_errors_release(&errs);
			optreg_buf_release(&text);
		}
	}
	/* Truncation and trailing bytes. */
	for (size_t n = 0; n < len; n++)
		check_open_len(note, n, "log", key, OPTREG_ESYNTAX,
			       "note_format", 0);
	check_open_len(note, len + 1, "log", key, OPTREG_ESYNTAX, "note_format",
		       0);

	/* A bit of the signature proper: the key matches, the sig not. */
	sigstart = strstr(note, EM_DASH " log ") + strlen(EM_DASH " log ");
	assert_int_equal(
		optreg_base64_decode(sigstart, strlen(sigstart) - 1, &raw), 0);
	assert_int_equal(raw.len, 68);
	raw.data[40] ^= 0x10;
	optreg_buf_add(&forged, note, (size_t)(sigstart - note));
	optreg_base64_encode(raw.data, raw.len, &forged);
	optreg_buf_addch(&forged, '\n');
	check_open(forged.data, "log", key, OPTREG_EINVAL, "bad_signature", 5);

	/* The text changed (a valid checkpoint still), signature kept. */
	optreg_buf_reset(&forged);
	optreg_buf_adds(&forged, "log\n8\n");
	optreg_buf_adds(&forged, strchr(strchr(note, '\n') + 1, '\n') + 1);
	check_open(forged.data, "log", key, OPTREG_EINVAL, "bad_signature", 5);

	free(note);
	optreg_buf_release(&body);
	optreg_buf_release(&b64);
	optreg_buf_release(&raw);
	optreg_buf_release(&forged);
	optreg_key_free(key);
}

static void test_wrong_key(void **state)
{
	struct optreg_key *key = generate(), *other = generate();
	struct optreg_buf hacked = OPTREG_BUF_INIT, raw = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	char *note = sign("hello\n", "log.example", key);
	char *by_other = sign("hello\n", "log.example", other);
	const char *b64;
	uint32_t h = expected_hash("log.example", key);

	(void)state;
	/* The right key under another name: the key hash differs too. */
	check_open(note, "log.example2", key, OPTREG_EINVAL, "unknown_key", 0);
	/* Another key under the right name. */
	check_open(note, "log.example", other, OPTREG_EINVAL, "unknown_key", 0);
	assert_int_equal(optreg_note_open(note, strlen(note), "log.example",
					  other, &text, &errs),
			 OPTREG_EINVAL);
	assert_non_null(strstr(errs.items[0].message, "log.example+"));
	assert_non_null(errs.items[0].detail);
	assert_non_null(strstr(errs.items[0].detail, "log.example+"));
	assert_non_null(errs.items[0].hint);

	/* Another key's signature relabelled with our key hash. */
	b64 = strstr(by_other, EM_DASH " log.example ") +
	      strlen(EM_DASH " log.example ");
	assert_int_equal(optreg_base64_decode(b64, strlen(b64) - 1, &raw), 0);
	raw.data[0] = (char)(h >> 24);
	raw.data[1] = (char)(h >> 16);
	raw.data[2] = (char)(h >> 8);
	raw.data[3] = (char)h;
	optreg_buf_add(&hacked, by_other, (size_t)(b64 - by_other));
	optreg_base64_encode(raw.data, raw.len, &hacked);
	optreg_buf_addch(&hacked, '\n');
	check_open(hacked.data, "log.example", key, OPTREG_EINVAL,
		   "bad_signature", 3);

	free(note);
	free(by_other);
	optreg_errors_release(&errs);
	optreg_buf_release(&text);
	optreg_buf_release(&hacked);
	optreg_buf_release(&raw);
	optreg_key_free(key);
	optreg_key_free(other);
}

/* Up to 100 signatures; ours may be anywhere among the others'. */
static void test_many_signatures(void **state)
{
	struct optreg_key *key = generate(), *other = generate();
	struct optreg_buf note = OPTREG_BUF_INIT;
	char *mine = sign("t\n", "me", key),
	     *theirs = sign("t\n", "them", other);
	const char *my_line = mine + 3, *their_line = theirs + 3;

	(void)state;
	optreg_buf_adds(&note, "t\n\n");
	for (int i = 0; i < 15; i++)
		optreg_buf_adds(&note, their_line);
	optreg_buf_adds(&note, my_line);
	check_open(note.data, "me", key, 0, "t\n", 0);
	/* A repeated signature of ours is checked again and holds. */
	optreg_buf_adds(&note, my_line);
	check_open(note.data, "me", key, 0, "t\n", 0);
	check_open(note.data, "them", other, 0, "t\n", 0);

	optreg_buf_reset(&note);
	optreg_buf_adds(&note, "t\n\n");
	for (int i = 0; i < 99; i++)
		optreg_buf_adds(&note, their_line);
	optreg_buf_adds(&note, my_line);
	check_open(note.data, "me", key, 0, "t\n", 0);
	optreg_buf_adds(&note, my_line);
	check_open(note.data, "me", key, OPTREG_ESYNTAX, "note_format", 103);

	/* Only signatures by others. */
	optreg_buf_reset(&note);
	optreg_buf_adds(&note, "t\n\n");
	for (int i = 0; i < 7; i++)
		optreg_buf_adds(&note, their_line);
	check_open(note.data, "me", key, OPTREG_EINVAL, "unknown_key", 0);

	free(mine);
	free(theirs);
	optreg_buf_release(&note);
	optreg_key_free(key);
	optreg_key_free(other);
}

static void test_malformed_notes(void **state)
{
	struct optreg_key *key = generate();
	char *good = sign("a\nb\n", "K", key);
	const char *sig = strstr(good, EM_DASH " K ") + strlen(EM_DASH " K ");
	struct optreg_buf n = OPTREG_BUF_INIT;
	size_t siglen = strlen(sig) - 1; /* without the newline */

	(void)state;
	check_open(good, "K", key, 0, "a\nb\n", 0);

	/* No blank line, no signature lines, unterminated last line. */
	check_open("a\nb\n", "K", key, OPTREG_ESYNTAX, "note_format", 0);
	check_open("a\nb\n\n", "K", key, OPTREG_ESYNTAX, "note_format", 4);
	check_open_len(good, strlen(good) - 1, "K", key, OPTREG_ESYNTAX,
		       "note_format", 4);
	/* The last blank line separates: a trailing one leaves none. */
	optreg_buf_adds(&n, good);
	optreg_buf_adds(&n, "\n");
	check_open(n.data, "K", key, OPTREG_ESYNTAX, "note_format", 0);

	/* Each bad signature line, on line 4: before + signature + after. */
	static const struct {
		const char *before, *after;
	} lines[] = {
		{"-- K ", "\n"},		/* ASCII dashes */
		{EM_DASH "K ", "\n"},		/* no space after the dash */
		{EM_DASH "  K ", "\n"},		/* empty name */
		{EM_DASH " K", NULL},		/* no signature */
		{EM_DASH " K ", NULL},		/* empty signature */
		{EM_DASH " K  ", "\n"},		/* two spaces */
		{EM_DASH " K ", " \n"},		/* trailing space */
		{EM_DASH " K+1 ", "\n"},	/* '+' in the name */
		{EM_DASH " K\xc2\xa0x ", "\n"}, /* NBSP in the name */
		{EM_DASH " K\xe2\x80\x83x ", "\n"}, /* EM SPACE in the name */
		{EM_DASH " K AAAAAA==", NULL},	    /* 4 bytes: a hash only */
		{"", "\n"},			    /* no prefix at all */
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		optreg_buf_reset(&n);
		optreg_buf_adds(&n, "a\nb\n\n");
		optreg_buf_adds(&n, lines[i].before);
		if (lines[i].after) {
			optreg_buf_add(&n, sig, siglen);
			optreg_buf_adds(&n, lines[i].after);
		} else {
			optreg_buf_adds(&n, "\n");
		}
		check_open(n.data, "K", key, OPTREG_ESYNTAX, "note_format", 4);
	}

	/* Base64 spellings Go's StdEncoding refuses. */
	optreg_buf_reset(&n);
	optreg_buf_adds(&n, "a\nb\n\n" EM_DASH " K ");
	optreg_buf_add(&n, sig, siglen - 1); /* without its '=' */
	optreg_buf_adds(&n, "\n");
	check_open(n.data, "K", key, OPTREG_ESYNTAX, "note_format", 4);
	for (size_t i = 0; i < n.len; i++) {
		if (n.data[i] == '+' && i > 10)
			n.data[i] = '-';
		else if (n.data[i] == '/')
			n.data[i] = '_';
	}
	check_open(n.data, "K", key, OPTREG_ESYNTAX, "note_format", 4);

	/* Control characters and bad UTF-8 anywhere. */
	check_open("a\r\nb\n\n" EM_DASH " K AAAAAAA=\n", "K", key,
		   OPTREG_ESYNTAX, "note_format", 1);
	check_open("a\nb\tc\n\n" EM_DASH " K AAAAAAA=\n", "K", key,
		   OPTREG_ESYNTAX, "note_format", 2);
	check_open("a\n\xed\xa0\x80\n\n" EM_DASH " K AAAAAAA=\n", "K", key,
		   OPTREG_ESYNTAX, "note_format", 2);
	check_open("a\n\xc0\xaf\n\n" EM_DASH " K AAAAAAA=\n", "K", key,
		   OPTREG_ESYNTAX, "note_format", 2);
	{
		static const char nul[] = "a\n\0\n\n" EM_DASH " K AAAAAAA=\n";

		check_open_len(nul, sizeof(nul) - 1, "K", key, OPTREG_ESYNTAX,
			       "note_format", 2);
	}
	check_open("a\n\n" EM_DASH " K AAAAAAA=\n" EM_DASH "\x01 K AAAAAAA=\n",
		   "K", key, OPTREG_ESYNTAX, "note_format", 4);

	/* A signature line hiding in the text is just text. */
	optreg_buf_reset(&n);
	optreg_buf_adds(&n, good);
	optreg_buf_adds(&n, "\n");
	optreg_buf_adds(&n, good + 5);
	check_open(n.data, "K", key, OPTREG_EINVAL, "bad_signature", 0);

	free(good);
	optreg_buf_release(&n);
	optreg_key_free(key);
}

static void test_sign_refuses(void **state)
{
	struct optreg_key *key = generate();
	struct optreg_key *pub;
	struct optreg_buf out = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT;
	static const char *const bad_names[] = {
		"",	     "a b",	     "a+b",   "a\tb", "a\nb",
		"a\xc2\xa0", "\xe3\x80\x80", "a\xff", "\xc3", "a\x01b",
	};
	static const char *const bad_texts[] = {
		"", "no newline", "a\r\n", "a\n\x01\n", "\xff\n", "\xc3\n",
	};

	(void)state;
	optreg_buf_adds(&out, "keep");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;

		assert_false(optreg_note_name_is_valid(bad_names[i]));
		assert_int_equal(
			optreg_note_sign("t\n", bad_names[i], key, &out, &errs),
			OPTREG_EINVAL);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, "note");
		assert_non_null(errs.items[0].hint);
		assert_int_equal(
			optreg_note_verifier_key(bad_names[i], key, &out),
			OPTREG_EINVAL);
		check_open("t\n\n" EM_DASH " a AAAAAAA=\n", bad_names[i], key,
			   OPTREG_EINVAL, "note", 0);
		optreg_errors_release(&errs);
	}
	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;

		assert_int_equal(
			optreg_note_sign(bad_texts[i], "k", key, &out, &errs),
			OPTREG_EINVAL);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, "note");
		optreg_errors_release(&errs);
	}
	assert_true(optreg_note_name_is_valid("caf\xc3\xa9"));
	assert_true(optreg_note_name_is_valid("sum.golang.org"));
	assert_false(optreg_note_name_is_valid(NULL));

	/* A public key cannot sign. */
	assert_int_equal(optreg_key_public_pem(key, &pem), 0);
	pub = load(pem.data);
	{
		struct optreg_errors errs = OPTREG_ERRORS_INIT;

		assert_int_equal(optreg_note_sign("t\n", "k", pub, &out, &errs),
				 OPTREG_EINVAL);
		assert_string_equal(errs.items[0].rule, "key_type");
		optreg_errors_release(&errs);
	}
	assert_string_equal(out.data, "keep");
	optreg_buf_release(&out);
	optreg_buf_release(&pem);
	optreg_key_free(key);
	optreg_key_free(pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_example_sign),
		cmocka_unit_test(test_go_example_open),
		cmocka_unit_test(test_checkpoint_body),
		cmocka_unit_test(test_checkpoint_parse),
		cmocka_unit_test(test_checkpoint_parse_malformed),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_many_signatures),
		cmocka_unit_test(test_malformed_notes),
		cmocka_unit_test(test_sign_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
