/*
 * tests/unit/common/log_test.c: the JSON-lines logger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

/* Everything written to `f`, NUL-terminated; closes `f`. */
static char *contents(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Checks that `line` starts with a "ts" in the millisecond format and
 * returns what follows the timestamp's closing quote. */
static const char *after_ts(const char *line)
{
	const char *ts = line + strlen("{\"ts\":\"");

	assert_memory_equal(line, "{\"ts\":\"", strlen("{\"ts\":\""));
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[OPTREG_CLOCK_MS_LEN - 1], 'Z');
	assert_int_equal(ts[OPTREG_CLOCK_MS_LEN], '"');
	return ts + OPTREG_CLOCK_MS_LEN + 1;
}

static void test_line_schema(void **state)
{
	FILE *f = tmpfile();
	char *s, *second;

	(void)state;
	assert_non_null(f);
	optreg_log_set_stream(f);
	optreg_log_write("info", "request",
			 json_pack("{s:s, s:i, s:f}", "method", "GET", "status",
				   200, "duration_ms", 0.1 + 0.2));
	optreg_log_write("error", "bad \xff byte", NULL);
	optreg_log_set_stream(NULL);
	s = contents(f);

	second = strchr(s, '\n');
	assert_non_null(second);
	*second++ = '\0';
	assert_string_equal(after_ts(s),
			    ",\"level\":\"info\",\"msg\":\"request\","
			    "\"method\":\"GET\",\"status\":200,"
			    "\"duration_ms\":0.3}");
	assert_string_equal(after_ts(second),
			    ",\"level\":\"error\",\"msg\":\"bad \\\\xFF "
			    "byte\"}\n");
	free(s);
}

/* A line built member by member writes its text exactly as optreg_log_write
 * does (escapes, UTF-8 kept, other high bytes as \xNN), its integers, and
 * microseconds as milliseconds with three decimals. */
static void test_built_line(void **state)
{
	static const char *texts[] = {
		"/v1/configs/a/b?x=1",		"quote \" and back\\slash",
		"ctl \n\t\r\b\f \x01 \x1f end", "caf\xc3\xa9 \xf0\x9f\x98\x80",
		"bad \xff\xc3 bytes",		""};
	FILE *f = tmpfile();
	struct optreg_log_line line;
	char *s;

	(void)state;
	assert_non_null(f);
	optreg_log_set_stream(f);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		optreg_log_write("info", "request",
				 json_pack("{s:o, s:I}", "path",
					   optreg_json_text(texts[i]), "status",
					   (json_int_t)404));
		optreg_log_line_start(&line, "info", "request");
		optreg_log_line_text(&line, "path", texts[i]);
		optreg_log_line_int(&line, "status", 404);
		optreg_log_line_end(&line);
	}
	optreg_log_line_start(&line, "warn", "timing");
	optreg_log_line_ms(&line, "a", 7444);
	optreg_log_line_ms(&line, "b", 5);
	optreg_log_line_ms(&line, "c", 12000);
	optreg_log_line_end(&line);
	optreg_log_set_stream(NULL);
	s = contents(f);

	char *p = s;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *one = p, *two = strchr(one, '\n') + 1;
		p = strchr(two, '\n') + 1;
		two[-1] = p[-1] = '\0';
		assert_string_equal(after_ts(one), after_ts(two));
	}
	assert_string_equal(after_ts(p), ",\"level\":\"warn\",\"msg\":"
					 "\"timing\",\"a\":7.444,\"b\":0.005,"
					 "\"c\":12.000}\n");
	free(s);
}

#define THREADS 8
#define LINES	200

static void *writer(void *arg)
{
	long id = (long)(intptr_t)arg;

	for (int i = 0; i < LINES; i++)
		optreg_log_write(
			"info", "tick",
			json_pack("{s:i, s:i, s:s}", "thread", (int)id, "i", i,
				  "pad",
				  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	return NULL;
}

/* Lines from many threads never interleave. */
static void test_threads_never_interleave(void **state)
{
	FILE *f = tmpfile();
	pthread_t t[THREADS];
	int count[THREADS] = {0};
	char *s, *line, *save = NULL;
	int lines = 0;

	(void)state;
	assert_non_null(f);
	optreg_log_set_stream(f);
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer,
						(void *)(intptr_t)i),
				 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	optreg_log_set_stream(NULL);
	s = contents(f);
	for (line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		assert_non_null(o);
		json_int_t id =
			json_integer_value(json_object_get(o, "thread"));
		json_int_t i = json_integer_value(json_object_get(o, "i"));
		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(i, count[id]); /* in order per thread */
		count[id]++;
		lines++;
		json_decref(o);
	}
	assert_int_equal(lines, THREADS * LINES);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_schema),
		cmocka_unit_test(test_built_line),
		cmocka_unit_test(test_threads_never_interleave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
