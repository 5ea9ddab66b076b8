/*
 * common/log.c: JSON lines on stderr. See log.h.
 */
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"

static FILE *log_stream;

void optreg_log_set_stream(FILE *stream)
{
	log_stream = stream;
}

/* Writes a built line and a newline in one call under the stream's lock. */
static void write_line(const char *s, size_t n)
{
	FILE *out = log_stream ? log_stream : stderr;

	flockfile(out);
	fwrite(s, 1, n, out);
	fflush(out);
	funlockfile(out);
}

void optreg_log_write(const char *level, const char *msg, json_t *fields)
{
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
	write_line(with_nl, n + 1);
	free(with_nl);
}

/* Appends `s` as a JSON string, as optreg_log_write writes
 * optreg_json_text(s): printable ASCII copied, the rest escaped; a string
 * with any byte >= 0x80 goes through jansson (UTF-8 checked, \xNN
 * otherwise). */
static void add_text(struct optreg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!s)
		s = "";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80) {
			json_t *j = optreg_json_text(s);
			char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(j);
			optreg_buf_adds(b, d ? d : "\"\"");
			free(d);
			return;
		}
	optreg_buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			optreg_buf_addch(b, '\\');
			optreg_buf_addch(b, (char)*p);
		} else if (*p < 0x20) {
			/* jansson's escapes: the short ones, else \u00XX */
			const char *sh = strchr("\bb\ff\nn\rr\tt", (char)*p);
			char esc[7] = {'\\',	     'u',	   '0', '0',
				       hex[*p >> 4], hex[*p & 15], 0};
			if (sh) {
				esc[1] = sh[1];
				esc[2] = 0;
			}
			optreg_buf_adds(b, esc);
		} else {
			optreg_buf_addch(b, (char)*p);
		}
	}
	optreg_buf_addch(b, '"');
}

void optreg_log_line_start(struct optreg_log_line *l, const char *level,
			   const char *msg)
{
	char ts[OPTREG_CLOCK_TS_SIZE];

	optreg_buf_init(&l->buf);
	optreg_clock_now_ms(ts);
	optreg_buf_adds(&l->buf, "{\"ts\":");
	add_text(&l->buf, ts);
	optreg_buf_adds(&l->buf, ",\"level\":");
	add_text(&l->buf, level);
	optreg_buf_adds(&l->buf, ",\"msg\":");
	add_text(&l->buf, msg);
}

void optreg_log_line_text(struct optreg_log_line *l, const char *key,
			  const char *value)
{
	optreg_buf_addf(&l->buf, ",\"%s\":", key);
	add_text(&l->buf, value);
}

void optreg_log_line_int(struct optreg_log_line *l, const char *key,
			 int64_t value)
{
	optreg_buf_addf(&l->buf, ",\"%s\":%" PRId64, key, value);
}

void optreg_log_line_ms(struct optreg_log_line *l, const char *key, uint64_t us)
{
	optreg_buf_addf(&l->buf, ",\"%s\":%" PRIu64 ".%03u", key, us / 1000,
			(unsigned)(us % 1000));
}

void optreg_log_line_end(struct optreg_log_line *l)
{
	optreg_buf_adds(&l->buf, "}\n");
	write_line(l->buf.data, l->buf.len);
	optreg_buf_release(&l->buf);
}
