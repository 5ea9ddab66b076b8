/*
 * common/sign.c: Ed25519 keys and DSSE signatures on OpenSSL 3's EVP API.
 *
 * Only EVP calls are used (no deprecated low-level APIs). Private key bytes
 * pass through this file only inside OpenSSL "secure memory" BIOs or our own
 * buffers, which are cleansed before they are freed; no message ever quotes
 * key material, only file names, key types and key ids.
 */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "alloc.h"
#include "base64.h"
#include "hash.h"

#define ED25519_SIG_LEN 64

struct optreg_key {
	EVP_PKEY *pkey;
	bool priv;
	char id[OPTREG_KEYID_LEN + 1];
};

/* A PEM key file is a few hundred bytes; anything this big is not one. */
#define KEY_FILE_MAX 65536

/* Computes the key id: hex SHA-256 of the SPKI DER of the public part. */
static int key_compute_id(struct optreg_key *key)
{
	unsigned char *der = NULL;
	int derlen = i2d_PUBKEY(key->pkey, &der);

	if (derlen <= 0)
		return OPTREG_EINTERNAL;
	optreg_sha256_hex(der, (size_t)derlen, key->id);
	OPENSSL_free(der);
	return 0;
}

/* Wraps `pkey` (consumed) as a key; checks its type first. */
static int key_wrap(struct optreg_key **out, EVP_PKEY *pkey, bool priv,
		    struct optreg_errors *errs)
{
	struct optreg_key *key;

	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		struct optreg_error *e;

		if (!type)
			type = OBJ_nid2sn(EVP_PKEY_get_id(pkey));
		e = optreg_errors_add(errs, OPTREG_EINVAL, "key_type", NULL,
				      "key must be Ed25519 (got %s)",
				      type ? type : "an unknown type");
		optreg_error_set_hint(e, "Create an Ed25519 key with `optreg "
					 "keygen --out NAME`.");
		EVP_PKEY_free(pkey);
		return OPTREG_EINVAL;
	}
	key = optreg_xcalloc(1, sizeof(*key));
	key->pkey = pkey;
	key->priv = priv;
	if (key_compute_id(key) < 0) {
		optreg_key_free(key);
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "cannot encode the public key");
		return OPTREG_EINTERNAL;
	}
	*out = key;
	return 0;
}

int optreg_key_generate(struct optreg_key **key, struct optreg_errors *errs)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	*key = NULL;
	if (!pkey) {
		ERR_clear_error();
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "cannot generate an Ed25519 key");
		return OPTREG_EINTERNAL;
	}
	return key_wrap(key, pkey, true, errs);
}

/* Never prompts: gives OpenSSL the passphrase `u` (a NUL-terminated
 * string) or, when it is NULL, none. */
static int given_passphrase(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t n = pass ? strlen(pass) : 0;

	(void)rwflag;
	if (!pass || n > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

/* True when `len` bytes at `s` contain `needle`. */
static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (!memcmp(s + i, needle, n))
			return true;
	return false;
}

int optreg_key_load_pem(struct optreg_key **key, const char *pem, size_t len,
			struct optreg_errors *errs)
{
	return optreg_key_load_pem_pass(key, pem, len, NULL, errs);
}

/*
 * The SPKI DER of an Ed25519 public key is this prefix and the 32 key
 * bytes; its PEM is one line of 60 base64 characters between the two
 * markers.
 */
static const unsigned char ED25519_SPKI_PREFIX[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
#define PUBLIC_PEM_BEGIN    "-----BEGIN PUBLIC KEY-----\n"
#define PUBLIC_PEM_END	    "\n-----END PUBLIC KEY-----"
#define ED25519_PEM_B64_LEN 60

/*
 * An Ed25519 public key in the exact form `optreg keygen` and the registry
 * write it, read without OpenSSL's decoder chain (which tries every
 * decoder it has, under locks, and dominated a signed submit's CPU time).
 * Anything else, and anything this does not accept, returns NULL: the
 * caller then takes the general path, so the keys accepted and the ids
 * computed are the same either way (tests/unit/common/sign_test.c
 * compares the two).
 */
static EVP_PKEY *ed25519_public_pem(const char *pem, size_t len,
				    char id[OPTREG_KEYID_LEN + 1])
{
	const size_t head = sizeof(PUBLIC_PEM_BEGIN) - 1,
		     tail = sizeof(PUBLIC_PEM_END) - 1;
	struct optreg_buf der = OPTREG_BUF_INIT;
	const char *b64 = pem + head;
	EVP_PKEY *pkey = NULL;

	if (len == head + ED25519_PEM_B64_LEN + tail + 1 &&
	    pem[len - 1] == '\n')
		len--;
	if (len != head + ED25519_PEM_B64_LEN + tail ||
	    memcmp(pem, PUBLIC_PEM_BEGIN, head) ||
	    memcmp(b64 + ED25519_PEM_B64_LEN, PUBLIC_PEM_END, tail))
		return NULL;
	/* The standard alphabet only: our decoder also takes the URL-safe
	 * one, which a PEM reader refuses. */
	for (size_t i = 0; i < ED25519_PEM_B64_LEN; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
			    "yz"
			    "0123456789+/=",
			    b64[i]))
			return NULL;
	if (optreg_base64_decode(b64, ED25519_PEM_B64_LEN, &der) == 0 &&
	    der.len == sizeof(ED25519_SPKI_PREFIX) + 32 &&
	    !memcmp(der.data, ED25519_SPKI_PREFIX, sizeof(ED25519_SPKI_PREFIX)))
		pkey = EVP_PKEY_new_raw_public_key_ex(
			NULL, "ED25519", NULL,
			(const unsigned char *)der.data +
				sizeof(ED25519_SPKI_PREFIX),
			32);
	if (pkey)
		optreg_sha256_hex(der.data, der.len, id);
	ERR_clear_error();
	optreg_buf_release(&der);
	return pkey;
}

int optreg_key_load_pem_pass(struct optreg_key **key, const char *pem,
			     size_t len, const char *passphrase,
			     struct optreg_errors *errs)
{
	struct optreg_error *e;
	char id[OPTREG_KEYID_LEN + 1];
	EVP_PKEY *pkey;
	BIO *bio;

	*key = NULL;
	if ((pkey = ed25519_public_pem(pem, len, id))) {
		*key = optreg_xcalloc(1, sizeof(**key));
		(*key)->pkey = pkey;
		memcpy((*key)->id, id, sizeof(id));
		return 0;
	}
	if (len > INT_MAX)
		len = INT_MAX; /* no key is that long; it fails as garbage */
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		optreg_errors_add(errs, OPTREG_ENOMEM, "internal", NULL,
				  "out of memory");
		return OPTREG_ENOMEM;
	}
	/* A private key first ("PRIVATE KEY", or a traditional RSA/EC one so
	 * that it is named in the refusal), then a public key. */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, given_passphrase,
				       (void *)passphrase);
	if (pkey) {
		BIO_free(bio);
		ERR_clear_error();
		return key_wrap(key, pkey, true, errs);
	}
	if (BIO_reset(bio) == 1)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, given_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey)
		return key_wrap(key, pkey, false, errs);

	if (contains(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") &&
	    !passphrase) {
		e = optreg_errors_add(errs, OPTREG_EINVAL, "key_passphrase",
				      NULL,
				      "is an encrypted private key and no "
				      "passphrase was given");
		optreg_error_set_hint(e, "Set OPTREG_KEY_PASSPHRASE (or the "
					 "variable named by --passphrase-env) "
					 "to the key's passphrase.");
	} else if (contains(pem, len,
			    "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		e = optreg_errors_add(errs, OPTREG_EINVAL, "key_passphrase",
				      NULL,
				      "cannot decrypt the private key with "
				      "the passphrase given (wrong "
				      "passphrase?)");
		optreg_error_set_hint(e, "Check the passphrase variable; "
					 "`optreg keygen --encrypt` used the "
					 "one in OPTREG_KEY_PASSPHRASE.");
	} else {
		e = optreg_errors_add(errs, OPTREG_EINVAL, "key_format", NULL,
				      "not a PEM private key (PKCS#8) or "
				      "public key (SubjectPublicKeyInfo)");
		optreg_error_set_hint(e,
				      "Create a key pair with `optreg keygen "
				      "--out NAME`.");
	}
	return OPTREG_EINVAL;
}

/*
 * Reads up to `cap` bytes of `path` into `out` with plain read(2): no stdio
 * buffer or growing heap buffer keeps a copy of a private key. Returns 0,
 * -errno, or -EFBIG when the file holds more than `cap` bytes.
 */
static int read_key_file(const char *path, char *out, size_t cap, size_t *len)
{
	bool in = !strcmp(path, "-");
	int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC), err = 0;

	*len = 0;
	if (fd < 0)
		return -errno;
	for (;;) {
		char extra;
		ssize_t n = *len < cap ? read(fd, out + *len, cap - *len)
				       : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		else if (n > 0 && *len == cap)
			err = -EFBIG;
		if (n <= 0 || err)
			break;
		*len += (size_t)n;
	}
	if (!in)
		close(fd);
	return err;
}

int optreg_key_load_file(struct optreg_key **key, const char *path,
			 struct optreg_errors *errs)
{
	return optreg_key_load_file_pass(key, path, NULL, errs);
}

int optreg_key_load_file_pass(struct optreg_key **key, const char *path,
			      const char *passphrase,
			      struct optreg_errors *errs)
{
	char *pem = optreg_xmalloc(KEY_FILE_MAX);
	const char *name = strcmp(path, "-") ? path : "standard input";
	size_t len;
	int rc;

	*key = NULL;
	rc = read_key_file(path, pem, KEY_FILE_MAX, &len);
	if (rc < 0) {
		OPENSSL_cleanse(pem, KEY_FILE_MAX);
		free(pem);
		if (rc == -EFBIG) {
			optreg_errors_add(errs, OPTREG_EINVAL, "key_format",
					  NULL,
					  "%s: is larger than %d bytes: not a "
					  "PEM key",
					  name, KEY_FILE_MAX);
			return OPTREG_EINVAL;
		}
		optreg_errors_add(errs, OPTREG_EIO, "io", NULL,
				  "cannot read key file \"%s\": %s", name,
				  strerror(-rc));
		return OPTREG_EIO;
	}
	size_t nerrs = errs->len;
	rc = optreg_key_load_pem_pass(key, pem, len, passphrase, errs);
	OPENSSL_cleanse(pem, KEY_FILE_MAX);
	free(pem);
	/* Say which file; the loader's message knows only the bytes. */
	for (size_t i = nerrs; i < errs->len; i++) {
		struct optreg_error *e = &errs->items[i];
		char *m = optreg_xasprintf("%s: %s", name, e->message);
		free(e->message);
		e->message = m;
	}
	return rc;
}

void optreg_key_free(struct optreg_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

bool optreg_key_is_private(const struct optreg_key *key)
{
	return key->priv;
}

void optreg_key_id(const struct optreg_key *key, char out[OPTREG_KEYID_LEN + 1])
{
	memcpy(out, key->id, OPTREG_KEYID_LEN + 1);
}

/* Appends what `bio` (a memory BIO) holds to `out`. */
static void bio_drain(BIO *bio, struct optreg_buf *out)
{
	BUF_MEM *mem = NULL;

	BIO_get_mem_ptr(bio, &mem);
	if (mem && mem->length)
		optreg_buf_add(out, mem->data, mem->length);
}

int optreg_key_public_pem(const struct optreg_key *key, struct optreg_buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int ok;

	if (!bio)
		return OPTREG_ENOMEM;
	ok = PEM_write_bio_PUBKEY(bio, key->pkey);
	if (ok)
		bio_drain(bio, out);
	BIO_free(bio);
	ERR_clear_error();
	return ok ? 0 : OPTREG_EINTERNAL;
}

/*
 * The private key as unencrypted PKCS#8 PEM, in a new BIO (caller frees).
 * It is a secure-memory BIO, which clears its buffer when it grows and when
 * it is freed, and the key is written to disk straight from it, so no copy
 * outlives the caller. NULL on failure.
 */
static BIO *key_private_pem(const struct optreg_key *key,
			    const char *passphrase)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	const EVP_CIPHER *cipher = passphrase ? EVP_aes_256_cbc() : NULL;
	size_t n = passphrase ? strlen(passphrase) : 0;

	if (n > INT_MAX)
		n = 0;
	if (bio && !PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, cipher,
						  (const char *)passphrase,
						  (int)n, NULL, NULL)) {
		BIO_free(bio);
		bio = NULL;
	}
	ERR_clear_error();
	return bio;
}

/* Writes `len` bytes to `fd`, then fsyncs; returns 0 or an errno value. */
static int write_all(int fd, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0)
			off += (size_t)n;
	}
	return fsync(fd) < 0 ? errno : 0;
}

/* One file of a key pair being written. */
struct pair_file {
	char *path;   /* final name */
	char *tmp;    /* with --force: the temporary name, renamed at the end */
	bool created; /* `path` (or `tmp`) exists because of us */
	mode_t mode;
	const char *data; /* borrowed */
	size_t len;
};

/*
 * Creates f->path exclusively (or, with `force`, a temporary file next to
 * it) with mode f->mode, never wider even under an odd umask, and writes
 * f->data. Returns 0 or an errno value; EEXIST when the file is there and
 * not `force`.
 */
static int pair_file_write(struct pair_file *f, bool force)
{
	int fd, err;

	if (force) {
		f->tmp = optreg_xasprintf("%s.tmpXXXXXX", f->path);
		fd = mkstemp(f->tmp); /* mode 0600 */
	} else {
		fd = open(f->path,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  f->mode & 0600);
	}
	if (fd < 0) {
		err = errno;
		if (f->tmp) {
			free(f->tmp);
			f->tmp = NULL;
		}
		return err;
	}
	f->created = true;
	/* Tighten (or, for the public file, set) the mode before any byte of
	 * the key is in the file. */
	err = fchmod(fd, f->mode) < 0 ? errno : 0;
	if (!err)
		err = write_all(fd, f->data, f->len);
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

/* Removes what pair_file_write made. */
static void pair_file_undo(struct pair_file *f)
{
	if (f->created)
		unlink(f->tmp ? f->tmp : f->path);
	f->created = false;
}

int optreg_key_write_pair(const struct optreg_key *key, const char *name,
			  bool force, struct optreg_errors *errs)
{
	return optreg_key_write_pair_pass(key, name, force, NULL, errs);
}

int optreg_key_write_pair_pass(const struct optreg_key *key, const char *name,
			       bool force, const char *passphrase,
			       struct optreg_errors *errs)
{
	struct optreg_buf pub = OPTREG_BUF_INIT;
	struct pair_file files[2] = {
		{optreg_xasprintf("%s.pem", name), NULL, false, 0600, NULL, 0},
		{optreg_xasprintf("%s.pub.pem", name), NULL, false, 0644, NULL,
		 0},
	};
	BUF_MEM *mem = NULL;
	BIO *priv = NULL;
	struct optreg_error *e;
	int rc = 0, err = 0;
	size_t i;

	if (!key->priv) {
		optreg_errors_add(errs, OPTREG_EINVAL, "key_type", NULL,
				  "cannot write a key pair from a public key");
		rc = OPTREG_EINVAL;
		goto out;
	}
	priv = key_private_pem(key, passphrase);
	if (priv)
		BIO_get_mem_ptr(priv, &mem);
	if (!mem || !mem->length || optreg_key_public_pem(key, &pub) < 0) {
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "cannot encode the key as PEM");
		rc = OPTREG_EINTERNAL;
		goto out;
	}
	files[0].data = mem->data;
	files[0].len = mem->length;
	files[1].data = pub.data;
	files[1].len = pub.len;
	for (i = 0; i < 2 && !err; i++)
		err = pair_file_write(&files[i], force);
	/* With --force both files are complete before either replaces an
	 * old one. */
	for (size_t j = 0; force && !err && j < 2; j++) {
		if (rename(files[j].tmp, files[j].path) < 0) {
			err = errno;
			i = j + 1;
		} else {
			free(files[j].tmp);
			files[j].tmp = NULL;
		}
	}
	if (err) {
		const char *failed = files[i - 1].path;

		if (err == EEXIST) {
			e = optreg_errors_add(errs, OPTREG_ECONFLICT, "exists",
					      NULL,
					      "\"%s\" already exists; not "
					      "overwriting it",
					      failed);
			optreg_error_set_hint(e, "Choose another name, or "
						 "pass --force to replace the "
						 "key pair.");
			rc = OPTREG_ECONFLICT;
		} else {
			optreg_errors_add(errs, OPTREG_EIO, "io", NULL,
					  "cannot write \"%s\": %s", failed,
					  strerror(err));
			rc = OPTREG_EIO;
		}
		/* Leave no half pair behind: neither a new private key
		 * without its public half nor the reverse. */
		for (size_t j = 0; j < 2; j++)
			pair_file_undo(&files[j]);
	}
out:
	for (i = 0; i < 2; i++) {
		free(files[i].path);
		free(files[i].tmp);
	}
	BIO_free(priv);
	optreg_buf_release(&pub);
	return rc;
}

int optreg_key_sign(const struct optreg_key *key, const void *msg, size_t len,
		    struct optreg_buf *sig, struct optreg_errors *errs)
{
	unsigned char out[ED25519_SIG_LEN];
	size_t outlen = sizeof(out);
	EVP_MD_CTX *ctx;
	int ok;

	if (!key->priv) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "key_type", NULL,
			"key %s is a public key; signing needs the private "
			"key",
			key->id);
		optreg_error_set_hint(e, "Pass the NAME.pem file that `optreg "
					 "keygen` wrote, not NAME.pub.pem.");
		return OPTREG_EINVAL;
	}
	ctx = EVP_MD_CTX_new();
	/* Ed25519 hashes internally: no digest, one-shot only. */
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestSign(ctx, out, &outlen, len ? msg : (const void *)"",
			    len) == 1 &&
	     outlen == ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "cannot sign with key %s", key->id);
		return OPTREG_EINTERNAL;
	}
	optreg_buf_add(sig, out, outlen);
	return 0;
}

bool optreg_key_verify(const struct optreg_key *key, const void *msg,
		       size_t len, const void *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	bool ok;

	if (siglen != ED25519_SIG_LEN)
		return false;
	ctx = EVP_MD_CTX_new();
	ok = ctx &&
	     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, len ? msg : (const void *)"",
			      len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int optreg_dsse_sign(struct optreg_dsse *env, const struct optreg_key *key,
		     struct optreg_errors *errs)
{
	struct optreg_buf pae = OPTREG_BUF_INIT, sig = OPTREG_BUF_INIT;
	struct optreg_buf b64 = OPTREG_BUF_INIT;
	int rc;

	if (!env->payload_type) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope",
				  "payloadType", "missing required field");
		return OPTREG_EINVAL;
	}
	optreg_dsse_pae(env->payload_type, env->payload.data, env->payload.len,
			&pae);
	rc = optreg_key_sign(key, pae.data, pae.len, &sig, errs);
	if (rc == 0) {
		optreg_base64_encode(sig.data, sig.len, &b64);
		OPTREG_ALLOC_GROW(env->sigs, env->nsigs + 1, env->sigs_alloc);
		env->sigs[env->nsigs].keyid = optreg_xstrdup(key->id);
		env->sigs[env->nsigs].sig = optreg_buf_detach(&b64, NULL);
		env->nsigs++;
	}
	optreg_buf_release(&pae);
	optreg_buf_release(&sig);
	optreg_buf_release(&b64);
	return rc;
}

const char *optreg_sig_status_name(enum optreg_sig_status s)
{
	/* The `rule` names of docs/api.md's signature_refused errors. */
	switch (s) {
	case OPTREG_SIG_VALID:
		return "valid";
	case OPTREG_SIG_UNKNOWN_KEY:
		return "unknown_key";
	case OPTREG_SIG_REVOKED_KEY:
		return "revoked_key";
	case OPTREG_SIG_NOT_ALLOWED:
		return "key_not_allowed";
	case OPTREG_SIG_BAD_SIGNATURE:
		return "bad_signature";
	case OPTREG_SIG_WRONG_PURPOSE:
		return "key_purpose";
	}
	return "unknown";
}

enum optreg_sig_status optreg_dsse_verify_one(const struct optreg_dsse *env,
					      size_t i,
					      const struct optreg_key *key)
{
	struct optreg_buf pae = OPTREG_BUF_INIT, sig = OPTREG_BUF_INIT;
	const char *b64;
	bool ok;

	if (!key)
		return OPTREG_SIG_UNKNOWN_KEY;
	if (i >= env->nsigs || !env->payload_type || !env->sigs[i].sig)
		return OPTREG_SIG_BAD_SIGNATURE;
	b64 = env->sigs[i].sig;
	if (optreg_base64_decode(b64, strlen(b64), &sig) < 0 ||
	    sig.len != ED25519_SIG_LEN) {
		optreg_buf_release(&sig);
		return OPTREG_SIG_BAD_SIGNATURE;
	}
	optreg_dsse_pae(env->payload_type, env->payload.data, env->payload.len,
			&pae);
	ok = optreg_key_verify(key, pae.data, pae.len, sig.data, sig.len);
	optreg_buf_release(&pae);
	optreg_buf_release(&sig);
	return ok ? OPTREG_SIG_VALID : OPTREG_SIG_BAD_SIGNATURE;
}
