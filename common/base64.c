/*
 * common/base64.c: a strict base64 codec (RFC 4648).
 *
 * OpenSSL's EVP_DecodeBlock accepts whitespace, needs padding and does not
 * know the URL-safe alphabet, so base64 is done here. Decoding is strict so
 * that one byte string has one accepted spelling per alphabet: characters of
 * one alphabet only, padding either complete or absent, no '=' inside, and
 * the unused low bits of the last character zero (RFC 4648 section 3.5).
 */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errcodes.h"

static const char b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void optreg_base64_encode(const void *data, size_t len, struct optreg_buf *out)
{
	const unsigned char *p = data;
	size_t i;

	optreg_buf_grow(out, (len + 2) / 3 * 4);
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
		optreg_buf_addch(out, b64_std[v >> 18]);
		optreg_buf_addch(out, b64_std[(v >> 12) & 63]);
		optreg_buf_addch(out, b64_std[(v >> 6) & 63]);
		optreg_buf_addch(out, b64_std[v & 63]);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		optreg_buf_addch(out, b64_std[v >> 18]);
		optreg_buf_addch(out, b64_std[(v >> 12) & 63]);
		optreg_buf_adds(out, "==");
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		optreg_buf_addch(out, b64_std[v >> 18]);
		optreg_buf_addch(out, b64_std[(v >> 12) & 63]);
		optreg_buf_addch(out, b64_std[(v >> 6) & 63]);
		optreg_buf_addch(out, '=');
	}
}

enum {
	B64_STD = 1, /* saw '+' or '/' */
	B64_URL = 2, /* saw '-' or '_' */
};

/* The 6-bit value of `c`, or -1; records which alphabet it belongs to. */
static int b64_value(unsigned char c, int *alphabets)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	switch (c) {
	case '+':
		*alphabets |= B64_STD;
		return 62;
	case '/':
		*alphabets |= B64_STD;
		return 63;
	case '-':
		*alphabets |= B64_URL;
		return 62;
	case '_':
		*alphabets |= B64_URL;
		return 63;
	}
	return -1;
}

int optreg_base64_decode(const char *in, size_t len, struct optreg_buf *out)
{
	size_t pad = 0, nchars, tail, start = out->len;
	int alphabets = 0;
	uint32_t acc = 0;
	int bits = 0;

	/* Padding, when present, completes the last quantum exactly. */
	if (len >= 1 && in[len - 1] == '=')
		pad = len >= 2 && in[len - 2] == '=' ? 2 : 1;
	if (pad && len % 4 != 0)
		return OPTREG_EINVAL;
	nchars = len - pad;
	tail = nchars % 4;
	if (tail == 1 || (pad && 4 - tail != pad))
		return OPTREG_EINVAL;

	optreg_buf_grow(out, nchars / 4 * 3 + 2);
	for (size_t i = 0; i < nchars; i++) {
		int v = b64_value((unsigned char)in[i], &alphabets);
		if (v < 0 || alphabets == (B64_STD | B64_URL))
			goto fail;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			optreg_buf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
	/* 2 or 4 bits are left over after a partial quantum: they must be
	 * zero, or several spellings would decode to the same bytes. */
	if (acc & ((1u << bits) - 1))
		goto fail;
	return 0;
fail:
	out->len = start;
	out->data[start] = '\0';
	return OPTREG_EINVAL;
}
