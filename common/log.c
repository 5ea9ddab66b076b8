/*
 * common/log.c: JSON lines on stderr. See log.h.
 */
#include "log.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"

static FILE *log_stream;

void optreg_log_set_stream(FILE *stream)
{
	log_stream = stream;
}

void optreg_log_write(const char *level, const char *msg, json_t *fields)
{
	FILE *out = log_stream ? log_stream : stderr;
	char ts[OPTREG_CLOCK_TS_SIZE];
	json_t *line = json_object();
	char *s;

	optreg_clock_now_ms(ts);
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", optreg_json_text(level));
	json_object_set_new(line, "msg", optreg_json_text(msg));
	if (fields) {
		json_object_update(line, fields);
		json_decref(fields);
	}
	s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(line);
	if (!s)
		return;
	size_t n = strlen(s);
	char *with_nl = realloc(s, n + 2);
	if (!with_nl) {
		free(s);
		return;
	}
	with_nl[n] = '\n';
	with_nl[n + 1] = '\0';
	flockfile(out);
	fwrite(with_nl, 1, n + 1, out);
	fflush(out);
	funlockfile(out);
	free(with_nl);
}
