/*
 * common/hex.c: hashes as hex and base64 text (see hex.h).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "base64.h"
#include "hash.h"
#include "hex.h"

void optreg_hash_to_hex(const optreg_hash h, char out[OPTREG_HASH_HEX_LEN + 1])
{
	optreg_hex_encode(h, OPTREG_HASH_LEN, out);
}

int optreg_hash_from_hex(const char *s, optreg_hash out)
{
	if (!s || optreg_hex_decode(s, strlen(s), out, OPTREG_HASH_LEN) < 0)
		return -1;
	return 0;
}

void optreg_hash_to_b64(const optreg_hash h, char out[OPTREG_HASH_B64_LEN + 1])
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	snprintf(out, OPTREG_HASH_B64_LEN + 1, "%s", b.data);
	optreg_buf_release(&b);
}

int optreg_hash_from_b64(const char *s, optreg_hash out)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	int ok = s && optreg_base64_decode(s, strlen(s), &b) == 0 &&
		 b.len == OPTREG_HASH_LEN;

	if (ok)
		memcpy(out, b.data, OPTREG_HASH_LEN);
	optreg_buf_release(&b);
	return ok ? 0 : -1;
}
