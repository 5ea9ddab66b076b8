/*
 * tests/unit/runner/philox_test.c: runner/philox.h, the Philox4x32-10 stream
 * every workload draws from.
 *
 * The generator itself is checked against Random123's published
 * known-answer vectors (DEShawResearch/random123, tests/kat_vectors: the
 * philox4x32 lines with 10 rounds); the conversions to uniforms and
 * normals by their ranges and moments; the addressing by determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <math.h>

#include <cmocka.h>

#include "runner/philox.h"

/* counter[4], key[2] -> output[4], as in Random123's kat_vectors. */
static const struct {
	uint32_t ctr[4], key[2], out[4];
} kat[] = {
	{{0x00000000, 0x00000000, 0x00000000, 0x00000000},
	 {0x00000000, 0x00000000},
	 {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
	{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
	 {0xffffffff, 0xffffffff},
	 {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
	{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
	 {0xa4093822, 0x299f31d0},
	 {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		uint32_t out[4];

		optreg_philox4x32_10(kat[i].ctr, kat[i].key, out);
		if (memcmp(out, kat[i].out, sizeof(out)))
			fail_msg("vector %zu: got %08x %08x %08x %08x, want "
				 "%08x %08x %08x %08x",
				 i, out[0], out[1], out[2], out[3],
				 kat[i].out[0], kat[i].out[1], kat[i].out[2],
				 kat[i].out[3]);
	}
}

/* optreg_philox_draw addresses (seed, stream, index) as documented: key =
 * seed, counter = {index low, index high, stream, 0}. */
static void test_draw_layout(void **state)
{
	uint64_t seed = 0x299f31d0a4093822ULL, index = 0x85a308d3243f6a88ULL;
	uint32_t stream = 0x13198a2e;
	uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0};
	uint32_t key[2] = {0xa4093822, 0x299f31d0};
	uint32_t a[4], b[4];

	(void)state;
	optreg_philox_draw(seed, stream, index, a);
	optreg_philox4x32_10(ctr, key, b);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_deterministic_and_distinct(void **state)
{
	uint32_t a[4], b[4];

	(void)state;
	optreg_philox_draw(7, 3, 12345, a);
	optreg_philox_draw(7, 3, 12345, b);
	assert_memory_equal(a, b, sizeof(a));
	/* Each coordinate of the address changes the words. */
	optreg_philox_draw(8, 3, 12345, b);
	assert_memory_not_equal(a, b, sizeof(a));
	optreg_philox_draw(7, 4, 12345, b);
	assert_memory_not_equal(a, b, sizeof(a));
	optreg_philox_draw(7, 3, 12346, b);
	assert_memory_not_equal(a, b, sizeof(a));
	optreg_philox_draw(7, 3, 12345 + (1ULL << 32), b);
	assert_memory_not_equal(a, b, sizeof(a));

	double n1[2], n2[2];
	optreg_philox_normal2(7, 3, 99, n1);
	optreg_philox_normal2(7, 3, 99, n2);
	assert_memory_equal(n1, n2, sizeof(n1));
}

static void test_u01_ranges(void **state)
{
	(void)state;
	assert_true(optreg_philox_u01f(0) == 0.0f);
	assert_true(optreg_philox_u01f(0xffffffffu) == 1.0f - 0x1p-24f);
	assert_true(optreg_philox_u01f(0x80000000u) == 0.5f);
	assert_true(optreg_philox_u01(0, 0) == 0.0);
	assert_true(optreg_philox_u01(0xffffffffu, 0xffffffffu) ==
		    1.0 - 0x1p-53);

	/* Over a stream: always in [0, 1), and the mean near 1/2. */
	double sum = 0.0, sumf = 0.0;
	const int n = 100000;
	for (int i = 0; i < n; i++) {
		uint32_t w[4];

		optreg_philox_draw(1, 0, (uint64_t)i, w);
		double u = optreg_philox_u01(w[0], w[1]);
		float uf = optreg_philox_u01f(w[2]);
		assert_true(u >= 0.0 && u < 1.0);
		assert_true(uf >= 0.0f && uf < 1.0f);
		sum += u;
		sumf += uf;
	}
	/* sd of the mean is sqrt(1/12 / n) ~ 0.0009; allow 5 sd. */
	assert_true(fabs(sum / n - 0.5) < 0.0046);
	assert_true(fabs(sumf / n - 0.5) < 0.0046);
}

/* 100,000 normals (50,000 Box-Muller pairs): finite, mean ~ 0, variance
 * ~ 1, and the two members of a pair uncorrelated. Bounds are about 5
 * standard errors, so a correct generator never trips them. */
static void test_normal_moments(void **state)
{
	const int pairs = 50000, n = 2 * pairs;
	double sum = 0.0, sumsq = 0.0, cross = 0.0;
	int beyond3 = 0;

	(void)state;
	for (int i = 0; i < pairs; i++) {
		double z[2];

		optreg_philox_normal2(2024, 5, (uint64_t)i, z);
		assert_true(isfinite(z[0]) && isfinite(z[1]));
		sum += z[0] + z[1];
		sumsq += z[0] * z[0] + z[1] * z[1];
		cross += z[0] * z[1];
		beyond3 += (fabs(z[0]) > 3.0) + (fabs(z[1]) > 3.0);
	}
	double mean = sum / n;
	double var = sumsq / n - mean * mean;
	assert_true(fabs(mean) < 0.016);	  /* sd 0.0032 */
	assert_true(fabs(var - 1.0) < 0.023);	  /* sd sqrt(2 / n) = 0.0045 */
	assert_true(fabs(cross / pairs) < 0.023); /* sd 0.0045 */
	/* P(|z| > 3) = 0.0027: about 270 of 100,000. */
	assert_true(beyond3 > 190 && beyond3 < 360);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_draw_layout),
		cmocka_unit_test(test_deterministic_and_distinct),
		cmocka_unit_test(test_u01_ranges),
		cmocka_unit_test(test_normal_moments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
