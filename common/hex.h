/*
 * common/hex.h: Merkle hashes (optreg_hash) as text: lowercase hex (saved
 * checkpoints; common/hash.h does the encoding) and standard padded base64
 * (the API's leaf_hash, checkpoint roots).
 */
#ifndef OPTREG_HEX_H
#define OPTREG_HEX_H

#include "merkle.h"

#define OPTREG_HASH_HEX_LEN (2 * OPTREG_HASH_LEN) /* without the NUL */
#define OPTREG_HASH_B64_LEN 44			  /* without the NUL */

/* Writes the 64 lowercase hex digits of `h` and a NUL. */
void optreg_hash_to_hex(const optreg_hash h, char out[OPTREG_HASH_HEX_LEN + 1]);

/* Parses exactly 64 lowercase hex digits (`s` may be NULL); 0 or -1. */
int optreg_hash_from_hex(const char *s, optreg_hash out);

/* Writes the standard padded base64 of `h` and a NUL. */
void optreg_hash_to_b64(const optreg_hash h, char out[OPTREG_HASH_B64_LEN + 1]);

/* Parses base64 (standard or URL-safe) of exactly 32 bytes (`s` may be
 * NULL); 0 or -1. */
int optreg_hash_from_b64(const char *s, optreg_hash out);

#endif
