/*
 * common/note.c: C2SP signed notes and tlog checkpoints (Ed25519).
 *
 * The rules follow c2sp.org/signed-note and c2sp.org/tlog-checkpoint, and
 * where the specs leave room (base64 spelling, the signature limit, which
 * characters are "Unicode spaces") golang.org/x/mod/sumdb/note, the verifier
 * most of the ecosystem runs: a note we write opens there, and a note that
 * opens here would open there too.
 */
#include "note.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base64.h"
#include "hash.h"

#define ED25519_PUB_LEN	 32
#define ED25519_SIG_LEN	 64
#define NOTE_ALG_ED25519 0x01
#define ROOT_LEN	 32

/* U+2014 EM DASH and a space: how every signature line starts. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN (sizeof(sig_prefix) - 1)

/*
 * Decodes one UTF-8 sequence at `s` (`len` > 0 bytes left). Returns its
 * length and sets *cp, or 0 for anything Go's utf8.DecodeRune calls
 * RuneError: bad or missing continuation bytes, overlong forms, surrogates,
 * code points above U+10FFFF.
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Go's unicode.IsSpace: Latin-1 spaces and the White_Space property. */
static bool is_unicode_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

/*
 * Checks that `len` bytes are valid UTF-8 with no control character other
 * than newline (both specs' rule for note text). Returns 0, or -1 with the
 * 1-based line and column of the first offence and what it is.
 */
static int text_check(const char *s, size_t len, int *line, int *col,
		      const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, line_start = 0;
	int ln = 1;

	while (i < len) {
		uint32_t c;
		size_t n = utf8_decode(p + i, len - i, &c);

		if (n == 0 || (c < 0x20 && c != '\n')) {
			*line = ln;
			*col = (int)(i - line_start) + 1;
			*why = n == 0 ? "is not valid UTF-8"
				      : "holds a control character";
			return -1;
		}
		i += n;
		if (c == '\n') {
			ln++;
			line_start = i;
		}
	}
	return 0;
}

static bool name_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (len == 0)
		return false;
	while (i < len) {
		uint32_t c;
		size_t n = utf8_decode(p + i, len - i, &c);

		if (n == 0 || c < 0x20 || c == '+' || is_unicode_space(c))
			return false;
		i += n;
	}
	return true;
}

bool optreg_note_name_is_valid(const char *name)
{
	return name && name_is_valid(name, strlen(name));
}

/*
 * Decodes standard, padded base64 only (what Go's base64.StdEncoding reads):
 * optreg_base64_decode also takes the URL-safe alphabet and missing padding,
 * which a note must not use.
 */
static int base64_std_decode(const char *s, size_t len, struct optreg_buf *out)
{
	if (len % 4)
		return OPTREG_EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '-' || s[i] == '_')
			return OPTREG_EINVAL;
	return optreg_base64_decode(s, len, out);
}

/*
 * Appends `len` bytes for a message: printable ASCII as is, anything else
 * as \xNN, at most 40 bytes of it.
 */
static void add_quoted(struct optreg_buf *b, const char *s, size_t len)
{
	size_t n = len > 40 ? 40 : len;

	optreg_buf_addch(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			optreg_buf_addch(b, (char)c);
		else
			optreg_buf_addf(b, "\\x%02x", c);
	}
	optreg_buf_addch(b, '"');
	if (n < len)
		optreg_buf_adds(b, "...");
}

/* The raw 32-byte public key of an Ed25519 key, private or public. */
static int key_raw_public(const struct optreg_key *key,
			  unsigned char raw[ED25519_PUB_LEN])
{
	struct optreg_buf pem = OPTREG_BUF_INIT;
	EVP_PKEY *pkey = NULL;
	size_t rawlen = ED25519_PUB_LEN;
	BIO *bio;
	int rc = OPTREG_EINTERNAL;

	if (optreg_key_public_pem(key, &pem) != 0)
		goto out;
	bio = BIO_new_mem_buf(pem.data, (int)pem.len);
	if (bio) {
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (pkey && EVP_PKEY_is_a(pkey, "ED25519") &&
	    EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) == 1 &&
	    rawlen == ED25519_PUB_LEN)
		rc = 0;
out:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	optreg_buf_release(&pem);
	return rc;
}

/* Key hash: SHA-256(name || "\n" || 0x01 || public key)[:4], big-endian. */
static int key_hash(const char *name, const unsigned char raw[ED25519_PUB_LEN],
		    uint32_t *hash)
{
	static const unsigned char sep[] = {'\n', NOTE_ALG_ED25519};
	const struct optreg_hash_part parts[3] = {{name, strlen(name)},
						  {sep, sizeof(sep)},
						  {raw, ED25519_PUB_LEN}};
	unsigned char md[OPTREG_SHA256_LEN];

	optreg_sha256_parts(parts, 3, md);
	*hash = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
		(uint32_t)md[2] << 8 | md[3];
	return 0;
}

/* Reports an invalid key name (rule "note"). */
static int bad_name(struct optreg_errors *errs, const char *name)
{
	struct optreg_buf q = OPTREG_BUF_INIT;
	struct optreg_error *e;

	add_quoted(&q, name, strlen(name));
	e = optreg_errors_add(errs, OPTREG_EINVAL, "note", NULL,
			      "invalid note key name %s", q.data);
	optreg_error_set_hint(e, "A key name must be non-empty and hold no "
				 "spaces, control characters or '+'.");
	optreg_buf_release(&q);
	return OPTREG_EINVAL;
}

int optreg_note_checkpoint_body(const char *origin, uint64_t size,
				const unsigned char root[32],
				struct optreg_buf *out)
{
	size_t len = strlen(origin);
	int line, col;
	const char *why;

	if (len == 0 || text_check(origin, len, &line, &col, &why) != 0 ||
	    memchr(origin, '\n', len))
		return OPTREG_EINVAL;
	optreg_buf_addf(out, "%s\n%" PRIu64 "\n", origin, size);
	optreg_base64_encode(root, ROOT_LEN, out);
	optreg_buf_addch(out, '\n');
	return 0;
}

/* Adds a checkpoint error for line `line` (rule "checkpoint"). */
static int checkpoint_error(struct optreg_errors *errs, int line,
			    const char *what, const char *got, size_t gotlen)
{
	struct optreg_buf q = OPTREG_BUF_INIT;
	struct optreg_error *e;

	if (got) {
		optreg_buf_adds(&q, " (got ");
		add_quoted(&q, got, gotlen);
		optreg_buf_addch(&q, ')');
	}
	e = optreg_errors_add(errs, OPTREG_ESYNTAX, "checkpoint", NULL,
			      "malformed checkpoint line %d: %s%s", line, what,
			      q.data);
	e->line = line;
	e->col = 1;
	optreg_buf_release(&q);
	return OPTREG_ESYNTAX;
}

/* Parses a tree size: decimal, no sign, no leading zero, fits in 64 bits. */
static bool parse_size(const char *s, size_t len, uint64_t *size)
{
	uint64_t v = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*size = v;
	return true;
}

int optreg_note_checkpoint_parse(const char *text, char **origin,
				 uint64_t *size, unsigned char root[32],
				 struct optreg_errors *errs)
{
	size_t len = strlen(text), nlines = 0;
	const char *p = text, *end = text + len;
	struct optreg_buf hash = OPTREG_BUF_INIT;
	const char *line[3];
	size_t linelen[3];
	int ln, col;
	const char *why;

	*origin = NULL;
	if (text_check(text, len, &ln, &col, &why) != 0)
		return checkpoint_error(errs, ln, why, NULL, 0);
	if (len == 0 || text[len - 1] != '\n') {
		ln = 1;
		for (size_t i = 0; i < len; i++)
			ln += text[i] == '\n';
		return checkpoint_error(errs, ln,
					"checkpoint text must end in a newline",
					NULL, 0);
	}
	for (; p < end; nlines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == p)
			return checkpoint_error(errs, (int)nlines + 1,
						"line is empty", NULL, 0);
		if (nlines < 3) {
			line[nlines] = p;
			linelen[nlines] = (size_t)(nl - p);
		}
		p = nl + 1;
	}
	if (nlines < 3)
		return checkpoint_error(errs, (int)nlines + 1,
					"checkpoint needs an origin, a tree "
					"size and a root hash line",
					NULL, 0);
	if (!parse_size(line[1], linelen[1], size))
		return checkpoint_error(errs, 2,
					"tree size must be a decimal number "
					"without leading zeros below 2^64",
					line[1], linelen[1]);
	if (base64_std_decode(line[2], linelen[2], &hash) != 0 ||
	    hash.len != ROOT_LEN) {
		optreg_buf_release(&hash);
		return checkpoint_error(errs, 3,
					"root hash must be 32 bytes in "
					"standard padded base64",
					line[2], linelen[2]);
	}
	memcpy(root, hash.data, ROOT_LEN);
	optreg_buf_release(&hash);
	*origin = optreg_xstrndup(line[0], linelen[0]);
	return 0;
}

int optreg_note_verifier_key(const char *name, const struct optreg_key *pub,
			     struct optreg_buf *out)
{
	unsigned char key[1 + ED25519_PUB_LEN];
	uint32_t hash;
	int rc;

	if (!optreg_note_name_is_valid(name))
		return OPTREG_EINVAL;
	key[0] = NOTE_ALG_ED25519;
	if ((rc = key_raw_public(pub, key + 1)) != 0 ||
	    (rc = key_hash(name, key + 1, &hash)) != 0)
		return rc;
	optreg_buf_addf(out, "%s+%08" PRIx32 "+", name, hash);
	optreg_base64_encode(key, sizeof(key), out);
	return 0;
}

int optreg_note_sign(const char *text, const char *key_name,
		     const struct optreg_key *key, struct optreg_buf *out,
		     struct optreg_errors *errs)
{
	size_t len = strlen(text);
	struct optreg_buf sig = OPTREG_BUF_INIT;
	unsigned char raw[ED25519_PUB_LEN];
	uint32_t hash;
	int rc, line, col;
	const char *why;

	if (!optreg_note_name_is_valid(key_name))
		return bad_name(errs, key_name);
	if (len == 0 || text[len - 1] != '\n') {
		optreg_errors_add(errs, OPTREG_EINVAL, "note", NULL,
				  "note text must end in a newline");
		return OPTREG_EINVAL;
	}
	if (text_check(text, len, &line, &col, &why) != 0) {
		struct optreg_error *e =
			optreg_errors_add(errs, OPTREG_EINVAL, "note", NULL,
					  "note text line %d %s", line, why);
		e->line = line;
		e->col = col;
		return OPTREG_EINVAL;
	}
	if ((rc = key_raw_public(key, raw)) != 0 ||
	    (rc = key_hash(key_name, raw, &hash)) != 0) {
		optreg_errors_add(errs, rc, "internal", NULL,
				  "cannot compute the note key hash of key %s",
				  key_name);
		return rc;
	}
	optreg_buf_addch(&sig, (char)(hash >> 24));
	optreg_buf_addch(&sig, (char)(hash >> 16));
	optreg_buf_addch(&sig, (char)(hash >> 8));
	optreg_buf_addch(&sig, (char)hash);
	if ((rc = optreg_key_sign(key, text, len, &sig, errs)) != 0) {
		optreg_buf_release(&sig);
		return rc;
	}
	optreg_buf_add(out, text, len);
	optreg_buf_addch(out, '\n');
	optreg_buf_add(out, sig_prefix, SIG_PREFIX_LEN);
	optreg_buf_adds(out, key_name);
	optreg_buf_addch(out, ' ');
	optreg_base64_encode(sig.data, sig.len, out);
	optreg_buf_addch(out, '\n');
	optreg_buf_release(&sig);
	return 0;
}

/* Adds a "malformed note" error for line `line` of the note. */
static int note_malformed(struct optreg_errors *errs, int line, int col,
			  const char *what)
{
	struct optreg_error *e;

	e = optreg_errors_add(errs, OPTREG_ESYNTAX, "note_format", NULL,
			      "malformed note line %d: %s", line, what);
	e->line = line;
	e->col = col;
	optreg_error_set_hint(e, "A signed note is its text, a blank line, "
				 "and lines \"\xe2\x80\x94 NAME SIGNATURE\" "
				 "(c2sp.org/signed-note).");
	return OPTREG_ESYNTAX;
}

/* Finds the last "\n\n" in `len` bytes; returns its offset or -1. */
static long last_blank_line(const char *s, size_t len)
{
	for (size_t i = len; i >= 2; i--)
		if (s[i - 2] == '\n' && s[i - 1] == '\n')
			return (long)(i - 2);
	return -1;
}

int optreg_note_open(const char *note, size_t len, const char *key_name,
		     const struct optreg_key *pub, struct optreg_buf *text,
		     struct optreg_errors *errs)
{
	unsigned char raw[ED25519_PUB_LEN];
	struct optreg_buf others = OPTREG_BUF_INIT, sig = OPTREG_BUF_INIT;
	const char *p, *end = note + len;
	const char *nl;
	size_t textlen, nsigs = 0, nothers = 0, verified = 0;
	uint32_t want;
	long split;
	int rc, line, col;
	const char *why;

	if (!optreg_note_name_is_valid(key_name))
		return bad_name(errs, key_name);
	if ((rc = key_raw_public(pub, raw)) != 0 ||
	    (rc = key_hash(key_name, raw, &want)) != 0) {
		optreg_errors_add(errs, rc, "internal", NULL,
				  "cannot compute the note key hash of key %s",
				  key_name);
		return rc;
	}
	if (text_check(note, len, &line, &col, &why) != 0)
		return note_malformed(errs, line, col, why);
	split = last_blank_line(note, len);
	if (split < 0)
		return note_malformed(errs, 1, 1,
				      "note has no blank line before its "
				      "signatures");
	textlen = (size_t)split + 1;
	p = note + split + 2;
	line = 1;
	for (size_t i = 0; i < textlen + 1; i++)
		line += note[i] == '\n';
	if (p == end)
		return note_malformed(errs, line, 1,
				      "note has no signature lines");
	if (end[-1] != '\n')
		return note_malformed(errs, line, 1,
				      "the last signature line does not end "
				      "in a newline");

	/* Each line: em dash, space, name, space, base64(hash || sig). */
	for (; p < end; p = nl + 1, line++) {
		const char *name = p + SIG_PREFIX_LEN, *sp, *b64;
		size_t namelen;
		uint32_t hash;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (++nsigs > OPTREG_NOTE_MAX_SIGS) {
			rc = note_malformed(
				errs, line, 1,
				"note has more than 100 signatures");
			goto out;
		}
		if ((size_t)(nl - p) < SIG_PREFIX_LEN ||
		    memcmp(p, sig_prefix, SIG_PREFIX_LEN) != 0) {
			rc = note_malformed(errs, line, 1,
					    "signature line must start with "
					    "an em dash (U+2014) and a space");
			goto out;
		}
		sp = memchr(name, ' ', (size_t)(nl - name));
		namelen = sp ? (size_t)(sp - name) : 0;
		if (!sp || !name_is_valid(name, namelen)) {
			rc = note_malformed(errs, line, 3,
					    "signature line must hold a valid "
					    "key name and a space");
			goto out;
		}
		b64 = sp + 1;
		optreg_buf_reset(&sig);
		if (base64_std_decode(b64, (size_t)(nl - b64), &sig) != 0 ||
		    sig.len < 5) {
			rc = note_malformed(errs, line, (int)(b64 - p) + 1,
					    "signature must be standard padded "
					    "base64 of a key hash and a "
					    "signature");
			goto out;
		}
		hash = (uint32_t)(unsigned char)sig.data[0] << 24 |
		       (uint32_t)(unsigned char)sig.data[1] << 16 |
		       (uint32_t)(unsigned char)sig.data[2] << 8 |
		       (unsigned char)sig.data[3];
		if (hash != want || namelen != strlen(key_name) ||
		    memcmp(name, key_name, namelen) != 0) {
			/* Some other key's: ignored, but named if no
			 * signature of ours turns up. */
			if (nothers++ < 5)
				optreg_buf_addf(&others, "%s%.*s+%08" PRIx32,
						others.len ? ", " : "",
						(int)namelen, name, hash);
			continue;
		}
		if (!optreg_key_verify(pub, note, textlen, sig.data + 4,
				       sig.len - 4)) {
			struct optreg_error *e = optreg_errors_add(
				errs, OPTREG_EINVAL, "bad_signature", NULL,
				"bad signature by note key %s+%08" PRIx32
				" on line %d",
				key_name, want, line);
			e->line = line;
			e->col = 1;
			optreg_error_set_hint(
				e, "The note was changed after it was signed, "
				   "or signed by another key with the same "
				   "name and key hash.");
			rc = OPTREG_EINVAL;
			goto out;
		}
		verified++;
	}
	if (verified == 0) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "unknown_key", NULL,
			"note is not signed by key %s+%08" PRIx32, key_name,
			want);
		optreg_error_set_detail(e, "It is signed only by %s%s.",
					others.data,
					nothers > 5 ? " and others" : "");
		optreg_error_set_hint(e, "Check that the note comes from the "
					 "log whose key you trust.");
		rc = OPTREG_EINVAL;
		goto out;
	}
	optreg_buf_add(text, note, textlen);
	rc = 0;
out:
	optreg_buf_release(&sig);
	optreg_buf_release(&others);
	return rc;
}
