/*
 * runner/log.h: the runner's clock and its JSON-lines log.
 *
 * One line per event on stderr, keys in this order: "time" (UTC, with
 * milliseconds), "level", "event", then the event's own fields. The runner
 * never logs a bearer token, a lease token or key material; callers make
 * sure the fields they pass hold none.
 */
#ifndef OPTREG_RUNNER_LOG_H
#define OPTREG_RUNNER_LOG_H

#include <jansson.h>

#include "../common/error.h"

/* The time now, UTC: "YYYY-MM-DDTHH:MM:SS.mmmZ" when `millis`, else
 * "YYYY-MM-DDTHH:MM:SSZ". `out` gets at most 25 bytes with the '\0'. */
void optreg_runner_time_utc(char out[32], int millis);

/* Seconds on the monotonic clock, for durations. */
double optreg_runner_monotonic(void);

/* Seconds since `t0` (from optreg_runner_monotonic), cut to the
 * millisecond: a new JSON real for a log line. */
json_t *optreg_runner_elapsed(double t0);

/* Writes one line to stderr: time, level ("info", "warn" or "error"),
 * event, then the members of `fields`, which is stolen (may be NULL). */
void optreg_runner_log(const char *level, const char *event, json_t *fields);

/* errs->items[from..] as [{path, rule, message}]: a new array. */
json_t *optreg_runner_errors_json(const struct optreg_errors *errs,
				  size_t from);

#endif
