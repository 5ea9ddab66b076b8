/*
 * common/hash.c: SHA-256 through OpenSSL's EVP API, and hex.
 */
#include "hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

static void die_digest(void)
{
	fprintf(stderr, "optreg: SHA-256 failed in OpenSSL\n");
	abort();
}

/*
 * Fetched once: EVP_sha256() makes every digest fetch the implementation
 * again, which doubles the cost of a Merkle node hash (and `optreg audit
 * verify` hashes the whole log). Kept for the process's life.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	if (pthread_once(&sha256_once, sha256_fetch) != 0 || !sha256_md)
		die_digest();
	return sha256_md;
}

void optreg_sha256(const void *data, size_t len,
		   unsigned char out[OPTREG_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(len ? data : "", len, out, &outlen, sha256(), NULL) !=
		    1 ||
	    outlen != OPTREG_SHA256_LEN)
		die_digest();
}

void optreg_sha256_parts(const struct optreg_hash_part *parts, size_t n,
			 unsigned char out[OPTREG_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;

	if (!ctx || EVP_DigestInit_ex(ctx, sha256(), NULL) != 1)
		die_digest();
	for (size_t i = 0; i < n; i++)
		if (parts[i].len &&
		    EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1)
			die_digest();
	if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 ||
	    outlen != OPTREG_SHA256_LEN)
		die_digest();
	EVP_MD_CTX_free(ctx);
}

void optreg_sha256_hex(const void *data, size_t len,
		       char out[OPTREG_SHA256_HEX_LEN + 1])
{
	unsigned char md[OPTREG_SHA256_LEN];

	optreg_sha256(data, len, md);
	optreg_hex_encode(md, sizeof(md), out);
}

void optreg_hex_encode(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		*out++ = hex[p[i] >> 4];
		*out++ = hex[p[i] & 15];
	}
	*out = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int optreg_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
		      size_t len)
{
	if (hexlen / 2 != len || hexlen % 2)
		return OPTREG_EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return OPTREG_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
