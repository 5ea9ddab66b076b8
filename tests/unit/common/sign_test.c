/*
 * tests/unit/common/sign_test.c: Ed25519 keys, key ids, PEM files and DSSE
 * signatures (common/sign.h).
 *
 * Known answers come from outside this code: RFC 8032 section 7.1 (test 1)
 * for a key and its signatures, the DSSE spec for PAE, and key ids computed
 * with `xxd -r -p | sha256sum` over the SPKI DER. Computations the tests
 * make themselves use OpenSSL's one-shot SHA256() and EVP_DecodeBlock, not
 * the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "common/buf.h"
#include "common/base64.h"
#include "common/dsse.h"
#include "common/error.h"
#include "common/sign.h"

/* RFC 8032 7.1 test 1: secret key 9d61b19d...7f60 as PKCS#8. */
static const char rfc8032_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";
/* Its public key d75a9801...511a as SPKI. */
static const char rfc8032_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	"-----END PUBLIC KEY-----\n";
/* sha256 of 302a300506032b6570032100 || public key. */
static const char rfc8032_keyid[] =
	"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9";
/* The signature of the empty message (RFC 8032 7.1 test 1). */
static const unsigned char rfc8032_sig_empty[64] = {
	0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2,
	0xcc, 0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5,
	0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f,
	0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70,
	0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe,
	0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b,
};

/* The DER prefix of every Ed25519 SubjectPublicKeyInfo (RFC 8410). */
static const unsigned char spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

static struct optreg_key *load_pem_ok(const char *pem)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;

	if (optreg_key_load_pem(&key, pem, strlen(pem), &errs) != 0)
		fail_msg("key refused: %s",
			 errs.len ? errs.items[0].message : "?");
	optreg_errors_release(&errs);
	return key;
}

static struct optreg_key *generate_ok(void)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;

	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	assert_non_null(key);
	assert_int_equal(errs.len, 0);
	return key;
}

/* A fresh temporary directory; remove it with rm_dir. */
static char *make_dir(void)
{
	const char *t = getenv("TMPDIR");
	char *d =
		optreg_xasprintf("%s/optreg-sign.XXXXXX", t && *t ? t : "/tmp");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_dir(char *d)
{
	char *cmd = optreg_xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The hex SHA-256 of the DER inside a PUBLIC KEY PEM, decoded with
 * OpenSSL's own base64 (not ours); also checks the DER is Ed25519 SPKI. */
static void independent_keyid(const char *pem, char out[65])
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----\n";
	unsigned char der[128], md[SHA256_DIGEST_LENGTH];
	const char *b64 = strstr(pem, begin), *end;
	char line[128];
	int n;

	assert_non_null(b64);
	b64 += strlen(begin);
	end = strchr(b64, '\n');
	assert_non_null(end);
	assert_true((size_t)(end - b64) < sizeof(line));
	memcpy(line, b64, (size_t)(end - b64));
	line[end - b64] = '\0';
	n = EVP_DecodeBlock(der, (const unsigned char *)line,
			    (int)strlen(line));
	/* EVP_DecodeBlock counts padding as zero bytes: 60 chars -> 45. */
	assert_int_equal(n, 45);
	n = 44;
	assert_memory_equal(der, spki_prefix, sizeof(spki_prefix));
	SHA256(der, (size_t)n, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_generate_and_key_id(void **state)
{
	struct optreg_key *a = generate_ok(), *b = generate_ok();
	struct optreg_buf pem = OPTREG_BUF_INIT;
	char id[OPTREG_KEYID_LEN + 1], idb[OPTREG_KEYID_LEN + 1], want[65];

	(void)state;
	assert_true(optreg_key_is_private(a));
	optreg_key_id(a, id);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);

	assert_int_equal(optreg_key_public_pem(a, &pem), 0);
	independent_keyid(pem.data, want);
	assert_string_equal(id, want);

	optreg_key_id(b, idb);
	assert_string_not_equal(id, idb);

	optreg_buf_release(&pem);
	optreg_key_free(a);
	optreg_key_free(b);
}

static void test_rfc8032_known_answers(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *priv = load_pem_ok(rfc8032_priv_pem);
	struct optreg_key *pub = load_pem_ok(rfc8032_pub_pem);
	struct optreg_buf sig = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT;
	char id[OPTREG_KEYID_LEN + 1];

	(void)state;
	assert_true(optreg_key_is_private(priv));
	assert_false(optreg_key_is_private(pub));
	optreg_key_id(priv, id);
	assert_string_equal(id, rfc8032_keyid);
	optreg_key_id(pub, id);
	assert_string_equal(id, rfc8032_keyid);

	/* The public half of the private key, as SPKI PEM. */
	assert_int_equal(optreg_key_public_pem(priv, &pem), 0);
	assert_string_equal(pem.data, rfc8032_pub_pem);

	/* Ed25519 is deterministic: the RFC's signature exactly. */
	assert_int_equal(optreg_key_sign(priv, "", 0, &sig, &errs), 0);
	assert_int_equal(sig.len, 64);
	assert_memory_equal(sig.data, rfc8032_sig_empty, 64);
	assert_true(optreg_key_verify(pub, "", 0, rfc8032_sig_empty, 64));
	assert_true(optreg_key_verify(priv, NULL, 0, rfc8032_sig_empty, 64));
	assert_false(optreg_key_verify(pub, "x", 1, rfc8032_sig_empty, 64));

	optreg_buf_release(&pem);
	optreg_buf_release(&sig);
	optreg_key_free(priv);
	optreg_key_free(pub);
	optreg_errors_release(&errs);
}

static void test_pem_round_trip(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = generate_ok(), *priv = NULL, *pub = NULL;
	struct optreg_buf text = OPTREG_BUF_INIT;
	char *dir = make_dir();
	char *name = optreg_xasprintf("%s/k", dir);
	char *privpath = optreg_xasprintf("%s.pem", name);
	char *pubpath = optreg_xasprintf("%s.pub.pem", name);
	char id[65], id1[65], id2[65];
	mode_t old = umask(0); /* the widest umask: modes must still hold */

	(void)state;
	assert_int_equal(optreg_key_write_pair(key, name, false, &errs), 0);
	umask(old);
	assert_int_equal(errs.len, 0);
	assert_int_equal(file_mode(privpath), 0600);
	assert_int_equal(file_mode(pubpath), 0644);

	assert_int_equal(optreg_buf_read_file(&text, privpath), 0);
	assert_non_null(strstr(text.data, "-----BEGIN PRIVATE KEY-----"));
	optreg_buf_reset(&text);
	assert_int_equal(optreg_buf_read_file(&text, pubpath), 0);
	assert_non_null(strstr(text.data, "-----BEGIN PUBLIC KEY-----"));

	assert_int_equal(optreg_key_load_file(&priv, privpath, &errs), 0);
	assert_int_equal(optreg_key_load_file(&pub, pubpath, &errs), 0);
	assert_true(optreg_key_is_private(priv));
	assert_false(optreg_key_is_private(pub));
	optreg_key_id(key, id);
	optreg_key_id(priv, id1);
	optreg_key_id(pub, id2);
	assert_string_equal(id, id1);
	assert_string_equal(id, id2);

	/* A public key cannot make a pair. */
	assert_int_equal(optreg_key_write_pair(pub, name, true, &errs),
			 OPTREG_EINVAL);
	optreg_errors_release(&errs);

	optreg_buf_release(&text);
	optreg_key_free(key);
	optreg_key_free(priv);
	optreg_key_free(pub);
	free(name);
	free(privpath);
	free(pubpath);
	rm_dir(dir);
}

static void test_write_pair_refuses_overwrite(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *a = generate_ok(), *b = generate_ok(), *back = NULL;
	char *dir = make_dir();
	char *name = optreg_xasprintf("%s/k", dir);
	char *privpath = optreg_xasprintf("%s.pem", name);
	char *pubpath = optreg_xasprintf("%s.pub.pem", name);
	char ida[65], idb[65], id[65];
	mode_t old = umask(0777); /* the narrowest: 0644 must still hold */

	(void)state;
	optreg_key_id(a, ida);
	optreg_key_id(b, idb);
	assert_int_equal(optreg_key_write_pair(a, name, false, &errs), 0);
	umask(old);
	assert_int_equal(file_mode(privpath), 0600);
	assert_int_equal(file_mode(pubpath), 0644);

	/* Without force: refused, the old pair untouched. */
	assert_int_equal(optreg_key_write_pair(b, name, false, &errs),
			 OPTREG_ECONFLICT);
	assert_int_equal(errs.len, 1);
	assert_non_null(strstr(errs.items[0].message, "already exists"));
	assert_non_null(errs.items[0].hint);
	optreg_errors_release(&errs);
	assert_int_equal(optreg_key_load_file(&back, privpath, &errs), 0);
	optreg_key_id(back, id);
	assert_string_equal(id, ida);
	optreg_key_free(back);

	/* Only the public file there: the new private file is removed. */
	assert_int_equal(unlink(privpath), 0);
	assert_int_equal(optreg_key_write_pair(b, name, false, &errs),
			 OPTREG_ECONFLICT);
	assert_non_null(strstr(errs.items[0].message, ".pub.pem"));
	optreg_errors_release(&errs);
	assert_false(file_exists(privpath));

	/* With force: replaced, still 0600 even when the old file was not. */
	assert_int_equal(chmod(pubpath, 0666), 0);
	assert_int_equal(optreg_key_write_pair(b, name, true, &errs), 0);
	assert_int_equal(file_mode(privpath), 0600);
	assert_int_equal(file_mode(pubpath), 0644);
	assert_int_equal(optreg_key_load_file(&back, privpath, &errs), 0);
	optreg_key_id(back, id);
	assert_string_equal(id, idb);
	optreg_key_free(back);
	assert_int_equal(optreg_key_load_file(&back, pubpath, &errs), 0);
	optreg_key_id(back, id);
	assert_string_equal(id, idb);
	optreg_key_free(back);

	optreg_key_free(a);
	optreg_key_free(b);
	free(name);
	free(privpath);
	free(pubpath);
	rm_dir(dir);
}

static void test_write_pair_io_error_leaves_nothing(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = generate_ok();
	char *dir = make_dir();
	char *name = optreg_xasprintf("%s/missing/k", dir);
	char *sub = optreg_xasprintf("%s/sub", dir);
	char *subname = optreg_xasprintf("%s/sub/k", dir);
	char *subpriv = optreg_xasprintf("%s/sub/k.pem", dir);

	(void)state;
	assert_int_equal(optreg_key_write_pair(key, name, false, &errs),
			 OPTREG_EIO);
	assert_non_null(strstr(errs.items[0].message, "cannot write"));
	assert_non_null(strstr(errs.items[0].message, "missing/k.pem"));
	optreg_errors_release(&errs);
	assert_int_equal(optreg_key_write_pair(key, name, true, &errs),
			 OPTREG_EIO);
	optreg_errors_release(&errs);

	/* The public file's name taken by a directory: with force the rename
	 * fails after the private file was replaced; neither stays. */
	assert_int_equal(mkdir(sub, 0755), 0);
	char *pubdir = optreg_xasprintf("%s.pub.pem", subname);
	assert_int_equal(mkdir(pubdir, 0755), 0);
	char *inner = optreg_xasprintf("%s/x", pubdir);
	FILE *f = fopen(inner, "w"); /* a non-empty directory */
	assert_non_null(f);
	fclose(f);
	assert_true(optreg_key_write_pair(key, subname, true, &errs) < 0);
	optreg_errors_release(&errs);
	assert_false(file_exists(subpriv));
	char *cmd = optreg_xasprintf("ls -A '%s' | grep -v '^k.pub.pem$' | "
				     "grep -q .",
				     sub);
	assert_int_not_equal(system(cmd), 0); /* no temporary files left */

	free(cmd);
	free(inner);
	free(pubdir);
	optreg_key_free(key);
	free(name);
	free(sub);
	free(subname);
	free(subpriv);
	rm_dir(dir);
}

static void flip(struct optreg_buf *b, size_t i)
{
	b->data[i] ^= 0x01;
}

static void test_sign_verify_pae(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = generate_ok(), *other = generate_ok();
	struct optreg_key *pub = NULL;
	struct optreg_buf pae = OPTREG_BUF_INIT, sig = OPTREG_BUF_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	static const char body[] = "{\"apiVersion\":\"optreg/v1\"}";

	(void)state;
	optreg_dsse_pae(OPTREG_CONFIG_PAYLOAD_TYPE, body, strlen(body), &pae);
	assert_int_equal(optreg_key_sign(key, pae.data, pae.len, &sig, &errs),
			 0);
	assert_int_equal(sig.len, 64);
	assert_true(optreg_key_verify(key, pae.data, pae.len, sig.data, 64));

	/* The public key alone verifies it. */
	assert_int_equal(optreg_key_public_pem(key, &pem), 0);
	assert_int_equal(optreg_key_load_pem(&pub, pem.data, pem.len, &errs),
			 0);
	assert_true(optreg_key_verify(pub, pae.data, pae.len, sig.data, 64));

	assert_false(optreg_key_verify(other, pae.data, pae.len, sig.data, 64));

	flip(&pae, pae.len - 3); /* a payload byte */
	assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data, 64));
	flip(&pae, pae.len - 3);
	flip(&pae, 7); /* a byte of the type's length */
	assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data, 64));
	flip(&pae, 7);

	for (size_t i = 0; i < 64; i += 21) {
		flip(&sig, i);
		assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data,
					       64));
		flip(&sig, i);
	}
	assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data, 63));
	assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data, 0));
	optreg_buf_addch(&sig, 0);
	assert_false(optreg_key_verify(key, pae.data, pae.len, sig.data, 65));
	assert_true(optreg_key_verify(key, pae.data, pae.len, sig.data, 64));

	/* Signing needs the private key. */
	optreg_buf_reset(&sig);
	assert_int_equal(optreg_key_sign(pub, pae.data, pae.len, &sig, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(sig.len, 0);
	assert_non_null(strstr(errs.items[0].message, "public key"));

	optreg_errors_release(&errs);
	optreg_buf_release(&pae);
	optreg_buf_release(&sig);
	optreg_buf_release(&pem);
	optreg_key_free(key);
	optreg_key_free(other);
	optreg_key_free(pub);
}

static void envelope(struct optreg_dsse *env, const char *body)
{
	optreg_dsse_init(env);
	env->payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	optreg_buf_adds(&env->payload, body);
}

/* Replaces signature i's base64 text. */
static void set_sig(struct optreg_dsse *env, size_t i, const char *b64)
{
	free(env->sigs[i].sig);
	env->sigs[i].sig = optreg_xstrdup(b64);
}

static void test_dsse_sign_and_verify_one(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = generate_ok(), *other = generate_ok();
	struct optreg_buf raw = OPTREG_BUF_INIT, b64 = OPTREG_BUF_INIT;
	struct optreg_dsse env, back;
	char id[65], *orig, *url;

	(void)state;
	envelope(&env, "{\"kind\":\"OptimizerConfig\"}");
	assert_int_equal(optreg_dsse_sign(&env, key, &errs), 0);
	assert_int_equal(env.nsigs, 1);
	optreg_key_id(key, id);
	assert_string_equal(env.sigs[0].keyid, id);
	assert_int_equal(strlen(env.sigs[0].sig), 88); /* standard, padded */
	assert_string_equal(env.sigs[0].sig + 86, "==");
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_VALID);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, other),
			 OPTREG_SIG_BAD_SIGNATURE);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, NULL),
			 OPTREG_SIG_UNKNOWN_KEY);
	assert_int_equal(optreg_dsse_verify_one(&env, 1, key),
			 OPTREG_SIG_BAD_SIGNATURE);

	/* A second signature, for thresholds. */
	assert_int_equal(optreg_dsse_sign(&env, other, &errs), 0);
	assert_int_equal(env.nsigs, 2);
	assert_int_equal(optreg_dsse_verify_one(&env, 1, other),
			 OPTREG_SIG_VALID);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_VALID);

	/* The URL-safe spelling, unpadded, of the same signature. */
	orig = optreg_xstrdup(env.sigs[0].sig);
	url = optreg_xstrdup(orig);
	for (char *p = url; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	url[86] = '\0';
	set_sig(&env, 0, url);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_VALID);

	/* Not base64; the wrong length; a flipped byte. */
	set_sig(&env, 0, "not base64!");
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	assert_int_equal(optreg_base64_decode(orig, strlen(orig), &raw), 0);
	optreg_base64_encode(raw.data, 63, &b64);
	set_sig(&env, 0, b64.data);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	optreg_buf_reset(&b64);
	optreg_buf_addch(&raw, 'x');
	optreg_base64_encode(raw.data, 65, &b64);
	set_sig(&env, 0, b64.data);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	optreg_buf_reset(&b64);
	raw.data[10] ^= 0x40;
	optreg_base64_encode(raw.data, 64, &b64);
	set_sig(&env, 0, b64.data);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	set_sig(&env, 0, orig);
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_VALID);

	/* The payload and its type are both signed. */
	env.payload.data[3] ^= 0x20;
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	env.payload.data[3] ^= 0x20;
	free(env.payload_type);
	env.payload_type = optreg_xstrdup("application/json");
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);
	free(env.payload_type);
	env.payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);

	/* Through JSON and back. */
	json_t *j = optreg_dsse_to_json(&env);
	char *text = json_dumps(j, JSON_COMPACT);
	optreg_dsse_init(&back);
	assert_int_equal(optreg_dsse_parse(&back, text, strlen(text), &errs),
			 0);
	assert_int_equal(optreg_dsse_verify_one(&back, 0, key),
			 OPTREG_SIG_VALID);
	assert_int_equal(optreg_dsse_verify_one(&back, 1, other),
			 OPTREG_SIG_VALID);
	free(text);
	json_decref(j);

	/* No payloadType: nothing to sign. */
	free(back.payload_type);
	back.payload_type = NULL;
	assert_int_equal(optreg_dsse_sign(&back, key, &errs), OPTREG_EINVAL);
	assert_int_equal(back.nsigs, 2);

	optreg_dsse_release(&back);
	free(orig);
	free(url);
	optreg_buf_release(&raw);
	optreg_buf_release(&b64);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
	optreg_key_free(key);
	optreg_key_free(other);
}

/* PEM text of `pkey`: its private key, traditional form or PKCS#8, or its
 * public key. */
static char *pem_of(EVP_PKEY *pkey, int which)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	char *s;

	assert_non_null(bio);
	if (which == 0)
		assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL,
							  0, NULL, NULL),
				 1);
	else if (which == 1)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(
					 bio, pkey, NULL, NULL, 0, NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
	BIO_get_mem_ptr(bio, &mem);
	s = optreg_xstrndup(mem->data, mem->length);
	BIO_free(bio);
	return s;
}

/* Loading `pem` is refused with a message containing `want`. */
/* Loads `pem` as given and behind a comment line, which a PEM reader skips
 * and which keeps it off the Ed25519 fast path: both must agree on whether
 * it is a key and on its id. Returns the key loaded as given, or NULL. */
static struct optreg_key *load_both_ways(const char *pem)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf slow = OPTREG_BUF_INIT;
	struct optreg_key *a = NULL, *b = NULL;
	char ida[OPTREG_KEYID_LEN + 1], idb[OPTREG_KEYID_LEN + 1];

	optreg_buf_addf(&slow, "a comment line\n%s", pem);
	int ra = optreg_key_load_pem(&a, pem, strlen(pem), &errs);
	int rb = optreg_key_load_pem(&b, slow.data, slow.len, &errs);
	assert_int_equal(ra, rb);
	assert_true((a == NULL) == (b == NULL));
	if (a) {
		optreg_key_id(a, ida);
		optreg_key_id(b, idb);
		assert_string_equal(ida, idb);
		assert_false(optreg_key_is_private(a));
	}
	optreg_key_free(b);
	optreg_buf_release(&slow);
	optreg_errors_release(&errs);
	return a;
}

/* A PUBLIC KEY PEM of the base64 `b64`, lines ended by `nl`. */
static void public_pem(struct optreg_buf *pem, const char *b64, const char *nl,
		       bool last_nl)
{
	optreg_buf_reset(pem);
	optreg_buf_adds(pem, "-----BEGIN PUBLIC KEY-----");
	optreg_buf_adds(pem, nl);
	optreg_buf_adds(pem, b64);
	optreg_buf_adds(pem, nl);
	optreg_buf_adds(pem, "-----END PUBLIC KEY-----");
	if (last_nl)
		optreg_buf_adds(pem, nl);
}

/* The Ed25519 public-key PEM is read without OpenSSL's decoders when it has
 * the exact form keygen writes; whatever it is, the keys accepted, their
 * ids and the signatures they verify are those of the general path. */
static void test_public_pem_fast_path_agrees(void **state)
{
	unsigned char der[44], msg[] = "payload";
	struct optreg_buf sig = OPTREG_BUF_INIT;
	char want[65];

	(void)state;
	memcpy(der, spki_prefix, sizeof(spki_prefix));
	srand(7);
	for (int round = 0; round < 200; round++) {
		struct optreg_buf b64 = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT;
		for (size_t i = sizeof(spki_prefix); i < sizeof(der); i++)
			der[i] = (unsigned char)rand();
		optreg_base64_encode(der, sizeof(der), &b64);
		/* As keygen writes it, without the last newline, with CRLF
		 * line ends, and in the URL-safe alphabet (no PEM). */
		for (int f = 0; f < 3; f++) {
			public_pem(&pem, b64.data, f == 2 ? "\r\n" : "\n",
				   f != 1);
			struct optreg_key *k = load_both_ways(pem.data);
			/* Every 32 bytes make an Ed25519 public key. */
			assert_non_null(k);
			if (f == 0)
				independent_keyid(pem.data, want);
			char id[OPTREG_KEYID_LEN + 1];
			optreg_key_id(k, id);
			assert_string_equal(id, want);
			optreg_key_free(k);
		}
		for (char *c = b64.data; *c; c++)
			*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
		public_pem(&pem, b64.data, "\n", true);
		struct optreg_key *k = load_both_ways(pem.data);
		if (strpbrk(b64.data, "-_"))
			assert_null(k);
		optreg_key_free(k);
		optreg_buf_release(&b64);
		optreg_buf_release(&pem);
	}

	/* A real key's signature verifies with its public key read either
	 * way; another message's does not. */
	struct optreg_key *priv = generate_ok(), *pub;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	assert_int_equal(optreg_key_public_pem(priv, &pem), 0);
	pub = load_both_ways(pem.data);
	assert_non_null(pub);
	assert_int_equal(optreg_key_sign(priv, msg, sizeof(msg), &sig, NULL),
			 0);
	assert_true(
		optreg_key_verify(pub, msg, sizeof(msg), sig.data, sig.len));
	msg[0] ^= 1;
	assert_false(
		optreg_key_verify(pub, msg, sizeof(msg), sig.data, sig.len));
	/* Unused low bits set in the last base64 character: not the one
	 * spelling our decoder takes, so the general path judges it. */
	char *odd = strstr(pem.data, "=\n");
	assert_non_null(odd);
	odd[-1] = odd[-1] == 'A' ? 'B' : odd[-1];
	optreg_key_free(load_both_ways(pem.data));
	optreg_key_free(pub);
	optreg_key_free(priv);
	optreg_buf_release(&pem);
	optreg_buf_release(&sig);
}

static void assert_key_refused(const char *pem, const char *want)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;

	assert_int_equal(optreg_key_load_pem(&key, pem, strlen(pem), &errs),
			 OPTREG_EINVAL);
	assert_null(key);
	assert_int_equal(errs.len, 1);
	if (!strstr(errs.items[0].message, want))
		fail_msg("message \"%s\" does not contain \"%s\"",
			 errs.items[0].message, want);
	assert_non_null(errs.items[0].hint);
	optreg_errors_release(&errs);
}

static void test_refuses_other_key_types(void **state)
{
	/* `traditional`: the type has a pre-PKCS#8 "RSA PRIVATE KEY" or
	 * "EC PRIVATE KEY" form too. */
	struct {
		EVP_PKEY *pkey;
		int traditional;
		const char *want;
	} keys[] = {
		{EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), 1,
		 "key must be Ed25519 (got RSA)"},
		{EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), 1,
		 "key must be Ed25519 (got EC)"},
		{EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), 0,
		 "key must be Ed25519 (got ED448)"},
		{EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), 0,
		 "key must be Ed25519 (got X25519)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_non_null(keys[i].pkey);
		for (int which = 0; which < 3; which++) {
			if (which == 1 && !keys[i].traditional)
				continue;
			char *pem = pem_of(keys[i].pkey, which);
			assert_key_refused(pem, keys[i].want);
			free(pem);
		}
		EVP_PKEY_free(keys[i].pkey);
	}
}

static void test_refuses_openssl_genpkey_files(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	char *dir = make_dir();
	char *rsa = optreg_xasprintf("%s/rsa.pem", dir);
	char *cmd = optreg_xasprintf("openssl genpkey -algorithm RSA -pkeyopt "
				     "rsa_keygen_bits:1024 -out '%s' "
				     "2>/dev/null",
				     rsa);

	(void)state;
	assert_int_equal(system(cmd), 0);
	assert_int_equal(optreg_key_load_file(&key, rsa, &errs), OPTREG_EINVAL);
	assert_null(key);
	/* The file is named, then the reason. */
	assert_non_null(strstr(errs.items[0].message, rsa));
	assert_non_null(
		strstr(errs.items[0].message, "key must be Ed25519 (got RSA)"));
	optreg_errors_release(&errs);
	free(cmd);
	free(rsa);
	rm_dir(dir);
}

static void test_refuses_garbage(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem;
	char *enc, *truncated;

	(void)state;
	assert_key_refused("", "not a PEM private key");
	assert_key_refused("hello", "not a PEM private key");
	assert_key_refused("-----BEGIN PRIVATE KEY-----\n!!!!\n"
			   "-----END PRIVATE KEY-----\n",
			   "not a PEM private key");
	assert_key_refused("-----BEGIN PUBLIC KEY-----\n"
			   "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMl\n"
			   "-----END PUBLIC KEY-----\n",
			   "not a PEM private key");
	/* An Ed25519 key cut short: 31 key bytes in a 32-byte frame. */
	truncated = optreg_xstrdup(rfc8032_pub_pem);
	memcpy(strstr(truncated, "URo="), "UR==", 4);
	assert_key_refused(truncated, "not a PEM");
	free(truncated);

	/* An encrypted private key without a passphrase: refused, and no
	 * key text is quoted. */
	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey,
						       EVP_aes_256_cbc(), NULL,
						       0, NULL, "secret"),
			 1);
	BIO_get_mem_ptr(bio, &mem);
	enc = optreg_xstrndup(mem->data, mem->length);
	assert_key_refused(enc, "is an encrypted private key and no "
				"passphrase was given");
	assert_int_equal(optreg_key_load_pem(&key, enc, strlen(enc), &errs),
			 OPTREG_EINVAL);
	/* The first characters of the encrypted key's base64 body. */
	char *body = optreg_xstrndup(strchr(enc, '\n') + 1, 12);
	assert_null(strstr(errs.items[0].message, body));
	assert_null(strstr(errs.items[0].hint, body));
	free(body);
	optreg_errors_release(&errs);
	free(enc);
	BIO_free(bio);
	EVP_PKEY_free(pkey);

	/* A file that is not there is an I/O error naming it. */
	assert_int_equal(
		optreg_key_load_file(&key, "/nonexistent/k.pem", &errs),
		OPTREG_EIO);
	assert_null(key);
	assert_non_null(strstr(errs.items[0].message, "/nonexistent/k.pem"));
	optreg_errors_release(&errs);
}

/* Encrypted PKCS#8: written by keygen --encrypt, read back with the
 * passphrase, refused without it or with a wrong one, never quoting it. */
static void test_encrypted_keys(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL, *back = NULL;
	char *dir = make_dir();
	char *name = optreg_xasprintf("%s/enc", dir);
	char *pem = optreg_xasprintf("%s/enc.pem", dir);
	char id[65], id2[65];
	char text[4096] = {0};
	FILE *f;

	(void)state;
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	assert_int_equal(optreg_key_write_pair_pass(key, name, false,
						    "correct horse", &errs),
			 0);
	f = fopen(pem, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));

	/* The right passphrase gives the same key. */
	assert_int_equal(
		optreg_key_load_file_pass(&back, pem, "correct horse", &errs),
		0);
	assert_true(optreg_key_is_private(back));
	optreg_key_id(key, id);
	optreg_key_id(back, id2);
	assert_string_equal(id, id2);
	optreg_key_free(back);

	/* None, or a wrong one: key_passphrase, naming the file, never the
	 * passphrase. */
	assert_int_equal(optreg_key_load_file_pass(&back, pem, NULL, &errs),
			 OPTREG_EINVAL);
	assert_null(back);
	assert_string_equal(errs.items[0].rule, "key_passphrase");
	assert_non_null(strstr(errs.items[0].message, pem));
	assert_non_null(strstr(errs.items[0].message, "no passphrase"));
	optreg_errors_release(&errs);
	assert_int_equal(
		optreg_key_load_file_pass(&back, pem, "wrong horse", &errs),
		OPTREG_EINVAL);
	assert_null(back);
	assert_string_equal(errs.items[0].rule, "key_passphrase");
	assert_non_null(strstr(errs.items[0].message, "wrong passphrase"));
	assert_null(strstr(errs.items[0].message, "wrong horse"));
	assert_null(strstr(errs.items[0].hint, "wrong horse"));
	optreg_errors_release(&errs);

	/* An unencrypted key ignores a passphrase. */
	optreg_key_free(key);
	key = NULL;
	char *plain = optreg_xasprintf("%s/plain", dir);
	char *plainpem = optreg_xasprintf("%s/plain.pem", dir);
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	assert_int_equal(optreg_key_write_pair(key, plain, false, &errs), 0);
	assert_int_equal(
		optreg_key_load_file_pass(&back, plainpem, "unused", &errs), 0);
	optreg_key_free(back);
	free(plain);
	free(plainpem);

	optreg_key_free(key);
	free(name);
	free(pem);
	rm_dir(dir);
}

static void test_key_files(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	char *dir = make_dir();
	char *big = optreg_xasprintf("%s/big.pem", dir);
	char *exact = optreg_xasprintf("%s/exact.pem", dir);
	char id[65];
	FILE *f;

	(void)state;
	/* A directory is unreadable as a key: I/O. */
	assert_int_equal(optreg_key_load_file(&key, dir, &errs), OPTREG_EIO);
	assert_null(key);
	optreg_errors_release(&errs);

	/* A key followed by padding up to 64 KiB loads; one byte more is
	 * refused before any parsing. */
	f = fopen(exact, "w");
	assert_non_null(f);
	fputs(rfc8032_pub_pem, f);
	for (size_t i = strlen(rfc8032_pub_pem); i < 65536; i++)
		fputc('\n', f);
	fclose(f);
	assert_int_equal(optreg_key_load_file(&key, exact, &errs), 0);
	optreg_key_id(key, id);
	assert_string_equal(id, rfc8032_keyid);
	optreg_key_free(key);

	f = fopen(big, "w");
	assert_non_null(f);
	fputs(rfc8032_pub_pem, f);
	for (size_t i = strlen(rfc8032_pub_pem); i < 65537; i++)
		fputc('\n', f);
	fclose(f);
	assert_int_equal(optreg_key_load_file(&key, big, &errs), OPTREG_EINVAL);
	assert_null(key);
	assert_non_null(strstr(errs.items[0].message, "is larger than"));
	optreg_errors_release(&errs);

	free(big);
	free(exact);
	rm_dir(dir);
}

static void test_pae_spec_example(void **state)
{
	/* secure-systems-lab/dsse protocol.md, "Signature definition". */
	struct optreg_buf pae = OPTREG_BUF_INIT;

	(void)state;
	optreg_dsse_pae("http://example.com/HelloWorld", "hello world", 11,
			&pae);
	assert_string_equal(
		pae.data,
		"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	optreg_buf_release(&pae);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(optreg_sig_status_name(OPTREG_SIG_VALID), "valid");
	assert_string_equal(optreg_sig_status_name(OPTREG_SIG_UNKNOWN_KEY),
			    "unknown_key");
	assert_string_equal(optreg_sig_status_name(OPTREG_SIG_REVOKED_KEY),
			    "revoked_key");
	assert_string_equal(optreg_sig_status_name(OPTREG_SIG_NOT_ALLOWED),
			    "key_not_allowed");
	assert_string_equal(optreg_sig_status_name(OPTREG_SIG_BAD_SIGNATURE),
			    "bad_signature");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_and_key_id),
		cmocka_unit_test(test_rfc8032_known_answers),
		cmocka_unit_test(test_pem_round_trip),
		cmocka_unit_test(test_write_pair_refuses_overwrite),
		cmocka_unit_test(test_write_pair_io_error_leaves_nothing),
		cmocka_unit_test(test_sign_verify_pae),
		cmocka_unit_test(test_dsse_sign_and_verify_one),
		cmocka_unit_test(test_refuses_other_key_types),
		cmocka_unit_test(test_refuses_openssl_genpkey_files),
		cmocka_unit_test(test_refuses_garbage),
		cmocka_unit_test(test_public_pem_fast_path_agrees),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_encrypted_keys),
		cmocka_unit_test(test_pae_spec_example),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
