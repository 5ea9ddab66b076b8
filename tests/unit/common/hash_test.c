/*
 * tests/unit/common/hash_test.c: SHA-256 (FIPS 180-4 examples) and hex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/hash.h"

static void test_known_values(void **state)
{
	char hex[OPTREG_SHA256_HEX_LEN + 1];

	(void)state;
	optreg_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
	optreg_sha256_hex(NULL, 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");
	optreg_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop"
			  "nopq";
	optreg_sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
				 "a33ce45964ff2167f6ecedd419db06c1");
}

static void test_parts_equal_whole(void **state)
{
	unsigned char whole[OPTREG_SHA256_LEN], parts[OPTREG_SHA256_LEN];
	unsigned char data[300];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	optreg_sha256(data, sizeof(data), whole);
	for (size_t cut = 0; cut <= sizeof(data); cut += 37) {
		const struct optreg_hash_part p[3] = {
			{data, cut},
			{NULL, 0},
			{data + cut, sizeof(data) - cut}};
		optreg_sha256_parts(p, 3, parts);
		assert_memory_equal(whole, parts, sizeof(whole));
	}
	optreg_sha256_parts(NULL, 0, parts);
	optreg_sha256("", 0, whole);
	assert_memory_equal(whole, parts, sizeof(whole));
}

static void test_hex_round_trip(void **state)
{
	unsigned char in[256], out[256];
	char hex[513];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	optreg_hex_encode(in, sizeof(in), hex);
	assert_int_equal(strlen(hex), 512);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 512);
	assert_int_equal(optreg_hex_decode(hex, 512, out, 256), 0);
	assert_memory_equal(in, out, 256);
	assert_int_equal(optreg_hex_decode("deadbeef", 8, out, 4), 0);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(out[3], 0xef);
	optreg_hex_encode("", 0, hex);
	assert_string_equal(hex, "");
}

static void test_hex_refuses(void **state)
{
	unsigned char out[4];

	(void)state;
	assert_int_equal(optreg_hex_decode("abc", 3, out, 2), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("abcd", 4, out, 3), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("abcdef", 6, out, 2), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("zz", 2, out, 1), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("a ", 2, out, 1), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("AB", 2, out, 1), OPTREG_EINVAL);
	assert_int_equal(optreg_hex_decode("", 0, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_parts_equal_whole),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
