/*
 * common/hash.h: SHA-256 and lowercase hex, the one implementation.
 *
 * Every digest in optreg is SHA-256: config digests ("sha256:<hex>"), key
 * ids, Merkle leaves and nodes, note key hashes, token hashes. The OpenSSL
 * implementation is fetched once for the process. SHA-256 cannot fail
 * unless OpenSSL itself is broken (no default provider); then, as on
 * allocation failure, the process aborts with a message rather than hand
 * out a wrong hash.
 */
#ifndef OPTREG_HASH_H
#define OPTREG_HASH_H

#include <stddef.h>

#define OPTREG_SHA256_LEN     32 /* bytes */
#define OPTREG_SHA256_HEX_LEN 64 /* lowercase hex digits, without NUL */

/* One piece of a message hashed in parts. */
struct optreg_hash_part {
	const void *data; /* borrowed; may be NULL when len is 0 */
	size_t len;
};

/* out = SHA-256(data[0..len)); `data` may be NULL when len is 0. */
void optreg_sha256(const void *data, size_t len,
		   unsigned char out[OPTREG_SHA256_LEN]);

/* out = SHA-256 of the concatenation of the `n` parts, without copying. */
void optreg_sha256_parts(const struct optreg_hash_part *parts, size_t n,
			 unsigned char out[OPTREG_SHA256_LEN]);

/* Writes the lowercase hex of SHA-256(data) and a NUL into `out`. */
void optreg_sha256_hex(const void *data, size_t len,
		       char out[OPTREG_SHA256_HEX_LEN + 1]);

/* Writes 2 * len lowercase hex digits and a NUL into `out`. */
void optreg_hex_encode(const void *data, size_t len, char *out);

/*
 * Decodes exactly 2 * len lowercase hex digits of `hex` into out[0..len).
 * Returns 0, or OPTREG_EINVAL when `hex` is not exactly that long or holds
 * anything else, uppercase digits included: optreg writes hashes in
 * lowercase and compares them as strings (`out` is then unspecified).
 */
int optreg_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
		      size_t len);

#endif
