/*
 * common/log.h: one JSON-lines logger.
 *
 * Each call writes one line of compact JSON: "ts" (RFC 3339 UTC with
 * milliseconds, common/clock.h), "level", "msg", then the caller's extra
 * fields in their order. This is the registry's log schema (the access log,
 * "listening", "stopped", ... of registry/http.c), byte for byte, so the
 * registry can use it unchanged; other programs adopt it later.
 *
 * A line is built whole and written with one call under the stream's lock,
 * so lines from several threads never interleave. Strings that are not
 * UTF-8 are written with their high bytes as \xNN (optreg_json_text), so a
 * line is always written whatever a client sent.
 */
#ifndef OPTREG_LOG_H
#define OPTREG_LOG_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"

/*
 * Writes one line: ts, level ("info", "warn", "error"), msg, then the
 * members of `fields` (stolen; may be NULL), which replace ts, level or msg
 * if they name them. Reals are written with 10 significant digits.
 */
void optreg_log_write(const char *level, const char *msg, json_t *fields);

/*
 * The same line built member by member, without a JSON document: for the
 * access log, written once a request (registry/http_server.c). Start it,
 * add members (`key` a plain name that needs no escape), end it (written
 * and released). Text is written as optreg_log_write writes it.
 */
struct optreg_log_line {
	struct optreg_buf buf;
};

void optreg_log_line_start(struct optreg_log_line *l, const char *level,
			   const char *msg);
void optreg_log_line_text(struct optreg_log_line *l, const char *key,
			  const char *value);
void optreg_log_line_int(struct optreg_log_line *l, const char *key,
			 int64_t value);
/* Microseconds as milliseconds with three decimals ("7.444"). */
void optreg_log_line_ms(struct optreg_log_line *l, const char *key,
			uint64_t us);
void optreg_log_line_end(struct optreg_log_line *l);

/*
 * Sends the lines to `stream` (borrowed; NULL: back to stderr). Call it
 * before other threads log, e.g. at start-up or in a test.
 */
void optreg_log_set_stream(FILE *stream);

#endif
