/*
 * common/hex.c: hashes as hex and base64 text (see hex.h).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dsse.h"
#include "hex.h"

void optreg_hash_to_hex(const optreg_hash h, char out[OPTREG_HASH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < OPTREG_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * OPTREG_HASH_LEN] = '\0';
}

int optreg_hash_from_hex(const char *s, optreg_hash out)
{
	if (!s || strlen(s) != 2 * OPTREG_HASH_LEN ||
	    strspn(s, "0123456789abcdef") != 2 * OPTREG_HASH_LEN)
		return -1;
	for (size_t i = 0; i < OPTREG_HASH_LEN; i++) {
		int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0'
					     : s[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
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
