/*
 * runner/philox.h: Philox4x32-10 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), counter-based, so the CPU and a GPU draw
 * the same numbers for the same (key, counter) with no shared state.
 *
 * Compiles as C and as CUDA device code (OPTREG_HD). Every random quantity
 * in a workload is addressed as (seed, stream, index): key = seed, counter
 * = {index low, index high, stream, 0}; one call yields four 32-bit words.
 */
#ifndef OPTREG_PHILOX_H
#define OPTREG_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define OPTREG_HD __host__ __device__
#else
#define OPTREG_HD
#endif

#define OPTREG_PHILOX_M0 0xD2511F53u
#define OPTREG_PHILOX_M1 0xCD9E8D57u
#define OPTREG_PHILOX_W0 0x9E3779B9u
#define OPTREG_PHILOX_W1 0xBB67AE85u

static inline OPTREG_HD void optreg_philox4x32_10(const uint32_t ctr_in[4],
						  const uint32_t key_in[2],
						  uint32_t out[4])
{
	uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
	uint32_t k0 = key_in[0], k1 = key_in[1];

	for (int r = 0; r < 10; r++) {
		uint64_t p0 = (uint64_t)OPTREG_PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)OPTREG_PHILOX_M1 * c2;
		uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
		uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
		uint32_t n0 = hi1 ^ c1 ^ k0;
		uint32_t n2 = hi0 ^ c3 ^ k1;
		c0 = n0;
		c1 = lo1;
		c2 = n2;
		c3 = lo0;
		k0 += OPTREG_PHILOX_W0;
		k1 += OPTREG_PHILOX_W1;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

/* Four 32-bit words for (seed, stream, index). */
static inline OPTREG_HD void optreg_philox_draw(uint64_t seed, uint32_t stream,
						uint64_t index, uint32_t out[4])
{
	uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, 0};
	uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};

	optreg_philox4x32_10(ctr, key, out);
}

/* A float in [0, 1) from the top 24 bits of a word (exact in float). */
static inline OPTREG_HD float optreg_philox_u01f(uint32_t w)
{
	return (float)(w >> 8) * (1.0f / 16777216.0f);
}

/* A double in [0, 1) from two words (53 bits). */
static inline OPTREG_HD double optreg_philox_u01(uint32_t hi, uint32_t lo)
{
	uint64_t x = ((uint64_t)hi << 21) ^ (lo >> 11);
	return (double)(x & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/*
 * Two standard normal doubles for (seed, stream, index) by Box-Muller on
 * the four words (u1 in (0, 1], so the log is finite).
 */
static inline OPTREG_HD void optreg_philox_normal2(uint64_t seed,
						   uint32_t stream,
						   uint64_t index,
						   double out[2])
{
	uint32_t w[4];

	optreg_philox_draw(seed, stream, index, w);
	double u1 = 1.0 - optreg_philox_u01(w[0], w[1]);
	double u2 = optreg_philox_u01(w[2], w[3]);
	double r = sqrt(-2.0 * log(u1));
	out[0] = r * cos(6.283185307179586 * u2);
	out[1] = r * sin(6.283185307179586 * u2);
}

#endif
