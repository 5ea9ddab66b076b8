/*
 * validator/jcs_number.c: numbers in RFC 8785 form, which is ECMAScript's
 * Number.prototype.toString: the shortest decimal that reads back as the
 * same double, written plainly when its decimal exponent is from -6 to 20
 * and in exponent form otherwise (1e+21, 1e-7), as RFC 8785 section
 * 3.2.2.3 asks.
 */
#include "jcs.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Numbers */

/* A candidate decimal: mant * 10^(exp10), mant having `digits` digits. */
struct decimal {
	uint64_t mant;
	int exp10;
};

/* Whether the decimal reads back (correctly rounded) as exactly v. The text
 * has no decimal point, so the result does not depend on LC_NUMERIC. */
static int decimal_round_trips(struct decimal d, double v)
{
	char text[48];

	snprintf(text, sizeof(text), "%llue%d", (unsigned long long)d.mant,
		 d.exp10);
	return strtod(text, NULL) == v;
}

/*
 * Rounds v (finite, > 0) correctly to `prec` significant digits. Parses
 * "%.*e" output by its digits alone, skipping whatever the locale uses as
 * decimal point.
 */
static struct decimal decimal_round(double v, int prec)
{
	char text[64];
	struct decimal d = {0, 0};
	const char *p;
	int ndigits = 0;

	snprintf(text, sizeof(text), "%.*e", prec - 1, v);
	for (p = text; *p && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9') {
			d.mant = d.mant * 10 + (uint64_t)(*p - '0');
			ndigits++;
		}
	}
	assert(*p == 'e');
	d.exp10 = (int)strtol(p + 1, NULL, 10) - (ndigits - 1);
	return d;
}

/*
 * Finds the shortest decimal that reads back as v (finite, > 0), and among
 * those of that length the one closest to v (ECMA-262 Number::toString).
 * At each length the correctly rounded candidate is closest; when it does
 * not round-trip, a neighbour one unit in the last digit away still may,
 * because the rounding interval of a power of two is wider above it than
 * below (2^-24 is 5.960464477539063e-8, not ...9062e-8). Only the upper
 * neighbour can win in theory; the lower one is checked too, cheaply, so the
 * search does not rest on that argument. Trailing zeros are removed.
 */
/* The round-tripping decimal of `prec` digits closest to v, if any. */
static int decimal_at(double v, int prec, struct decimal *d)
{
	uint64_t low = 1; /* 10^(prec - 1), the smallest prec-digit mantissa */

	for (int i = 1; i < prec; i++)
		low *= 10;
	struct decimal c = decimal_round(v, prec);
	struct decimal up = {c.mant + 1, c.exp10};
	/* Below 10^(prec-1) the next lower prec-digit decimal has one more
	 * digit of scale: 1.00e5 - 1 unit is 9.99e4. */
	struct decimal down =
		c.mant > low ? (struct decimal){c.mant - 1, c.exp10}
			     : (struct decimal){low * 10 - 1, c.exp10 - 1};

	if (decimal_round_trips(c, v))
		*d = c;
	else if (decimal_round_trips(up, v))
		*d = up;
	else if (decimal_round_trips(down, v))
		*d = down;
	else
		return 0;
	return 1;
}

static struct decimal shortest_decimal(double v)
{
	struct decimal d = {0, 0};
	int prec;

	/* Integers below 2^53 are their own shortest form: every integer
	 * there is a double, so no shorter decimal reads back as v. */
	if (v < 9007199254740992.0 && v == floor(v)) {
		d.mant = (uint64_t)v;
	} else if (decimal_at(v, 15, &d)) {
		/* Some decimal of 15 digits reads back, so one of every
		 * longer length does too (append zeros): the shortest is at
		 * most 15 digits, and human-written numbers are found within
		 * the first few tries. */
		for (prec = 1; prec < 15; prec++)
			if (decimal_at(v, prec, &d))
				break;
	} else {
		/* Most computed doubles need 16 or 17 digits. */
		if (!decimal_at(v, 16, &d))
			decimal_at(v, 17, &d);
	}
	/* 17 significant digits always round-trip. */
	assert(d.mant != 0);
	while (d.mant % 10 == 0) {
		d.mant /= 10;
		d.exp10++;
	}
	return d;
}

int optreg_jcs_number(double v, struct optreg_buf *out)
{
	struct decimal d;
	char digits[24];
	int k, n;

	if (!isfinite(v))
		return OPTREG_EINVAL;
	if (v == 0) {
		/* Both zeros print as "0". */
		optreg_buf_addch(out, '0');
		return 0;
	}
	if (v < 0) {
		optreg_buf_addch(out, '-');
		v = -v;
	}
	d = shortest_decimal(v);
	k = snprintf(digits, sizeof(digits), "%llu",
		     (unsigned long long)d.mant);
	/* v = 0.digits * 10^n, in the notation of ECMA-262 6.1.6.1.20. */
	n = d.exp10 + k;

	if (k <= n && n <= 21) {
		optreg_buf_add(out, digits, (size_t)k);
		for (int i = k; i < n; i++)
			optreg_buf_addch(out, '0');
	} else if (0 < n && n <= 21) {
		optreg_buf_add(out, digits, (size_t)n);
		optreg_buf_addch(out, '.');
		optreg_buf_add(out, digits + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		optreg_buf_adds(out, "0.");
		for (int i = n; i < 0; i++)
			optreg_buf_addch(out, '0');
		optreg_buf_add(out, digits, (size_t)k);
	} else {
		optreg_buf_addch(out, digits[0]);
		if (k > 1) {
			optreg_buf_addch(out, '.');
			optreg_buf_add(out, digits + 1, (size_t)(k - 1));
		}
		optreg_buf_addf(out, "e%c%d", n - 1 >= 0 ? '+' : '-',
				abs(n - 1));
	}
	return 0;
}
