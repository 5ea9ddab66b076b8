/*
 * runner/log.c: the runner's clock and JSON-lines log (log.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

void optreg_runner_time_utc(char out[32], int millis)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		strcpy(out, "1970-01-01T00:00:00");
	if (millis)
		snprintf(out + 19, 13, ".%03dZ",
			 (int)(ts.tv_nsec / 1000000) % 1000);
	else
		strcpy(out + 19, "Z");
}

double optreg_runner_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *optreg_runner_elapsed(double t0)
{
	return json_real(
		(double)(long long)((optreg_runner_monotonic() - t0) * 1000) /
		1000);
}

void optreg_runner_log(const char *level, const char *event, json_t *fields)
{
	char now[32];
	json_t *o;
	char *s;

	optreg_runner_time_utc(now, 1);
	o = json_pack("{s:s, s:s, s:s}", "time", now, "level", level, "event",
		      event);
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
				  JSON_REAL_PRECISION(9));
	if (s)
		fprintf(stderr, "%s\n", s);
	fflush(stderr);
	free(s);
	json_decref(o);
}

json_t *optreg_runner_errors_json(const struct optreg_errors *errs, size_t from)
{
	json_t *a = json_array();

	for (size_t i = from; i < errs->len; i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:s, s:s}", "path",
						errs->items[i].path, "rule",
						errs->items[i].rule, "message",
						errs->items[i].message));
	return a;
}
