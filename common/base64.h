/*
 * common/base64.h: base64 (RFC 4648), the one codec: DSSE payloads and
 * signatures, signed-note signatures and keys, Merkle hashes on the wire.
 * Writers emit the standard alphabet with padding; readers accept the
 * standard and the URL-safe alphabet, with or without padding, and nothing
 * else (no whitespace).
 */
#ifndef OPTREG_BASE64_H
#define OPTREG_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Appends the standard, padded base64 of `len` bytes. */
void optreg_base64_encode(const void *data, size_t len, struct optreg_buf *out);

/*
 * Appends the decoded bytes of standard or URL-safe base64 (padding
 * optional, no whitespace). Returns OPTREG_EINVAL, leaving `out` unchanged,
 * on any other character, an impossible length, incomplete padding or '='
 * before the end, characters of both alphabets in one string, or unused
 * trailing bits that are not zero (RFC 4648 3.5), so that each byte string
 * has exactly one accepted spelling per alphabet, with and without padding.
 */
int optreg_base64_decode(const char *in, size_t len, struct optreg_buf *out);

#endif
