/*
 * tests/unit/common/base64_test.c: the strict base64 codec (common/base64.c):
 * RFC 4648 vectors, both alphabets, every byte value, and each refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/errcodes.h"

/* RFC 4648 section 10. */
static const struct {
	const char *raw, *b64;
} rfc4648[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

#define NVECTORS (sizeof(rfc4648) / sizeof(rfc4648[0]))

static void assert_decodes(const char *b64, const void *raw, size_t rawlen)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	assert_int_equal(optreg_base64_decode(b64, strlen(b64), &out), 0);
	assert_int_equal(out.len, rawlen);
	assert_memory_equal(out.data, raw, rawlen);
	assert_int_equal(out.data[out.len], '\0');
	optreg_buf_release(&out);
}

/* Asserts that `len` bytes of `b64` are refused and `out` left as it was. */
static void assert_refused_len(const char *b64, size_t len)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	optreg_buf_adds(&out, "keep");
	if (optreg_base64_decode(b64, len, &out) != OPTREG_EINVAL)
		fail_msg("base64 \"%s\" (%zu bytes) was accepted", b64, len);
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "keep");
	optreg_buf_release(&out);
}

static void assert_refused(const char *b64)
{
	assert_refused_len(b64, strlen(b64));
}

static void test_base64_encode_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		struct optreg_buf out = OPTREG_BUF_INIT;

		optreg_buf_adds(&out, ">");
		optreg_base64_encode(rfc4648[i].raw, strlen(rfc4648[i].raw),
				     &out);
		assert_string_equal(out.data + 1, rfc4648[i].b64);
		optreg_buf_release(&out);
	}
}

static void test_base64_decode_rfc4648_padded(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECTORS; i++)
		assert_decodes(rfc4648[i].b64, rfc4648[i].raw,
			       strlen(rfc4648[i].raw));
}

static void test_base64_decode_rfc4648_unpadded(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		char b64[16];
		size_t n = strlen(rfc4648[i].b64);

		memcpy(b64, rfc4648[i].b64, n + 1);
		while (n && b64[n - 1] == '=')
			b64[--n] = '\0';
		assert_decodes(b64, rfc4648[i].raw, strlen(rfc4648[i].raw));
	}
}

/* Bytes whose encoding uses characters 62 and 63 of each alphabet. */
static void test_base64_both_alphabets(void **state)
{
	static const unsigned char raw[] = {0xfb, 0xef, 0xbe, 0xff,
					    0xff, 0xff, 0xfb, 0xff};
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	optreg_base64_encode(raw, sizeof(raw), &out);
	assert_string_equal(out.data, "++++////+/8=");
	optreg_buf_release(&out);

	assert_decodes("++++////+/8=", raw, sizeof(raw));
	assert_decodes("++++////+/8", raw, sizeof(raw));
	assert_decodes("----____-_8=", raw, sizeof(raw));
	assert_decodes("----____-_8", raw, sizeof(raw));
}

/* Every byte value at every position of a quantum, both alphabets. */
static void test_base64_round_trip_all_bytes(void **state)
{
	unsigned char raw[259];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(raw); len += 1 + len / 8) {
		struct optreg_buf b64 = OPTREG_BUF_INIT;

		optreg_base64_encode(raw, len, &b64);
		assert_int_equal(b64.len, (len + 2) / 3 * 4);
		assert_decodes(b64.data, raw, len);
		for (size_t j = 0; j < b64.len; j++) {
			if (b64.data[j] == '+')
				b64.data[j] = '-';
			else if (b64.data[j] == '/')
				b64.data[j] = '_';
		}
		assert_decodes(b64.data, raw, len);
		optreg_buf_release(&b64);
	}
}

static void test_base64_refuses_bad_characters(void **state)
{
	(void)state;
	assert_refused("Zm9v Yg==");
	assert_refused("Zm9v\nYg==");
	assert_refused(" Zm9v");
	assert_refused("Zm9v\t");
	assert_refused("Zm9*");
	assert_refused("Zm9.");
	assert_refused("Zm9vYg\xc3\xa9");
	assert_refused_len("Zm9v\0Yg==", 9);
	/* One string, two alphabets. */
	assert_refused("+_8=");
	assert_refused("-/8=");
	assert_refused("++++____");
}

static void test_base64_refuses_bad_lengths_and_padding(void **state)
{
	(void)state;
	assert_refused("Z");
	assert_refused("Zm9vY");
	assert_refused("Z===");
	assert_refused("Zg=");
	assert_refused("Zm8==");
	assert_refused("Zm9v=");
	assert_refused("Zm9v==");
	assert_refused("=");
	assert_refused("==");
	assert_refused("====");
	assert_refused("Zg==Zg==");
	assert_refused("Z=g=");
	assert_refused("Zg=A");
	assert_refused("Zm9vYg===");
}

/* "Zh==" and "Zm9=" carry non-zero unused bits: other spellings of "f" and
 * "fo", refused so that each value has one encoding. */
static void test_base64_refuses_nonzero_trailing_bits(void **state)
{
	(void)state;
	assert_refused("Zh==");
	assert_refused("Zh");
	assert_refused("Zm9=");
	assert_refused("Zm9");
	assert_refused("Zm9vYm_");
	assert_decodes("Zm8", "fo", 2);
}

/* The example of the DSSE v1 protocol document. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encode_rfc4648),
		cmocka_unit_test(test_base64_decode_rfc4648_padded),
		cmocka_unit_test(test_base64_decode_rfc4648_unpadded),
		cmocka_unit_test(test_base64_both_alphabets),
		cmocka_unit_test(test_base64_round_trip_all_bytes),
		cmocka_unit_test(test_base64_refuses_bad_characters),
		cmocka_unit_test(test_base64_refuses_bad_lengths_and_padding),
		cmocka_unit_test(test_base64_refuses_nonzero_trailing_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
