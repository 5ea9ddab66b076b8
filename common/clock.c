/*
 * common/clock.c: RFC 3339 UTC timestamps. See clock.h.
 */
#include "clock.h"

#include <stdio.h>
#include <string.h>

/* Writes `t` in UTC as YYYY-MM-DDTHH:MM:SS (19 characters); the epoch when
 * it cannot be written in that fixed width. */
static void seconds(char out[OPTREG_CLOCK_TS_SIZE], time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1000 ||
	    tm.tm_year + 1900 > 9999 ||
	    strftime(out, OPTREG_CLOCK_TS_SIZE, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		strcpy(out, "1970-01-01T00:00:00");
}

void optreg_clock_format_ms(char out[OPTREG_CLOCK_TS_SIZE],
			    const struct timespec *t)
{
	long ns = t->tv_nsec >= 0 && t->tv_nsec < 1000000000L ? t->tv_nsec : 0;

	seconds(out, t->tv_sec);
	snprintf(out + 19, OPTREG_CLOCK_TS_SIZE - 19, ".%03dZ",
		 (int)(ns / 1000000) % 1000);
}

void optreg_clock_format_s(char out[OPTREG_CLOCK_TS_SIZE], time_t t)
{
	seconds(out, t);
	strcpy(out + 19, "Z");
}

void optreg_clock_now_ms(char out[OPTREG_CLOCK_TS_SIZE])
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	optreg_clock_format_ms(out, &now);
}

void optreg_clock_now_s(char out[OPTREG_CLOCK_TS_SIZE])
{
	optreg_clock_format_s(out, time(NULL));
}

double optreg_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
