/*
 * common/clock.h: the one timestamp format.
 *
 * Every timestamp optreg writes is RFC 3339 in UTC with a "Z" suffix. Where
 * the value comes from a clock with sub-second resolution and a reader may
 * order events by it, it has milliseconds; where it is a whole-second
 * instant, it has none:
 *
 *   with milliseconds, 2026-11-23T10:00:00.123Z (optreg_clock_format_ms):
 *     - audit events' "time" (registry/audit.c, optreg_audit_now)
 *     - the registry's log lines' "ts" (registry/http.c; common/log.h)
 *     - the runner's log lines' "ts" (common/log.h, as the registry's)
 *     - timestamps PostgreSQL formats for the API (the TS() macro of
 *       registry/store.c, jobs.c and keys.c: to_char ... 'SS.MS"Z"')
 *   to the second, 2026-11-23T10:00:00Z (optreg_clock_format_s):
 *     - a token's "expires_at" (registry/handlers.c, POST /v1/tokens)
 *     - `optreg audit --since/--until` ages turned into instants
 *       (cli/audit.c)
 *     - a suite run's "started" (runner/suite.c)
 *
 * The formatters never fail: an instant gmtime_r cannot represent, or one
 * after year 9999 or before year 1000, is written as the epoch, so the output
 * always has the fixed length OPTREG_CLOCK_MS_LEN or OPTREG_CLOCK_S_LEN.
 */
#ifndef OPTREG_CLOCK_H
#define OPTREG_CLOCK_H

#include <time.h>

/* Room for either format with its NUL. */
#define OPTREG_CLOCK_TS_SIZE 32
/* strlen("2026-11-23T10:00:00.123Z") and strlen("2026-11-23T10:00:00Z") */
#define OPTREG_CLOCK_MS_LEN 24
#define OPTREG_CLOCK_S_LEN  20

/* Writes `t` (UTC) as YYYY-MM-DDTHH:MM:SS.mmmZ, the milliseconds truncated
 * from tv_nsec. */
void optreg_clock_format_ms(char out[OPTREG_CLOCK_TS_SIZE],
			    const struct timespec *t);

/* Writes `t` (UTC) as YYYY-MM-DDTHH:MM:SSZ. */
void optreg_clock_format_s(char out[OPTREG_CLOCK_TS_SIZE], time_t t);

/* The wall clock now (CLOCK_REALTIME), with milliseconds. */
void optreg_clock_now_ms(char out[OPTREG_CLOCK_TS_SIZE]);

/* The wall clock now, to the second. */
void optreg_clock_now_s(char out[OPTREG_CLOCK_TS_SIZE]);

/* Seconds on CLOCK_MONOTONIC, for measuring durations (never for output as
 * a date). */
double optreg_clock_monotonic(void);

#endif
