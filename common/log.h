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

#include <stdio.h>

#include <jansson.h>

/*
 * Writes one line: ts, level ("info", "warn", "error"), msg, then the
 * members of `fields` (stolen; may be NULL), which replace ts, level or msg
 * if they name them. Reals are written with 10 significant digits.
 */
void optreg_log_write(const char *level, const char *msg, json_t *fields);

/*
 * Sends the lines to `stream` (borrowed; NULL: back to stderr). Call it
 * before other threads log, e.g. at start-up or in a test.
 */
void optreg_log_set_stream(FILE *stream);

#endif
