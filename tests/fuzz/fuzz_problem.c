/*
 * tests/fuzz/fuzz_problem.c: fuzzes optreg_http_resp_problem, the client's
 * reader of the registry's RFC 9457 problem bodies (and through it
 * optreg_errors_from_json), as the CLI and every registry command use it.
 *
 * The body is the input; the status is the body's own "status" when it
 * is one (100 to 599), else 422, and then again 503 with a request id.
 * Beyond memory safety it checks the contract: the reader always appends
 * at least one error and returns that error's rule; every error has a
 * rule, a path, a message and a code of the table; the first error's code
 * is optreg_code_from_problem(code, status), so its exit status is the
 * one the status alone gives. And what it read survives the trip the
 * registry makes it take: the errors written back as a problem
 * (optreg_problem_new, as optreg_http_problem does) read back the same,
 * code, rule, path, message, detail, hint, line and column.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../common/http_client.h"
#include "fuzz.h"

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_error(const struct optreg_error *e, size_t i)
{
	FUZZ_CHECK(e->rule && e->path && e->message,
		   "error %zu lacks a rule, path or message", i);
	FUZZ_CHECK(strcmp(optreg_code_name(e->code), "unknown") != 0,
		   "error %zu has code %d", i, e->code);
	FUZZ_CHECK(e->line >= 0 && e->col >= 0, "error %zu is at %d:%d", i,
		   e->line, e->col);
}

static void check_same(const struct optreg_error *a,
		       const struct optreg_error *b, size_t i)
{
	FUZZ_CHECK(a->code == b->code, "error %zu: code %s became %s", i,
		   optreg_code_name(a->code), optreg_code_name(b->code));
	FUZZ_CHECK(!strcmp(a->rule, b->rule), "error %zu: rule %s became %s", i,
		   a->rule, b->rule);
	FUZZ_CHECK(!strcmp(a->path, b->path), "error %zu: path changed", i);
	FUZZ_CHECK(!strcmp(a->message, b->message),
		   "error %zu: message \"%s\" became \"%s\"", i, a->message,
		   b->message);
	FUZZ_CHECK(same_str(a->detail, b->detail), "error %zu: detail changed",
		   i);
	FUZZ_CHECK(same_str(a->hint, b->hint), "error %zu: hint changed", i);
	FUZZ_CHECK(a->line == b->line && a->col == b->col,
		   "error %zu: %d:%d became %d:%d", i, a->line, a->col, b->line,
		   b->col);
}

/* Reads `body` as an answer of `status`; returns the errors appended. */
static void read_problem(const char *body, size_t len, long status,
			 const char *request_id, struct optreg_errors *errs)
{
	struct optreg_http_resp resp;
	const char *code;
	json_t *root;
	const char *wire;

	optreg_http_resp_init(&resp);
	resp.status = status;
	resp.request_id = request_id ? optreg_xstrdup(request_id) : NULL;
	optreg_buf_add(&resp.body, body, len);
	code = optreg_http_resp_problem(&resp, errs);
	FUZZ_CHECK(errs->len >= 1, "a problem gave no error");
	FUZZ_CHECK(code == errs->items[0].rule,
		   "the returned code is not the first error's rule");
	for (size_t i = 0; i < errs->len; i++)
		check_error(&errs->items[i], i);

	root = json_loadb(body, len, 0, NULL);
	wire = json_string_value(json_object_get(root, "code"));
	if (wire && !wire[0])
		wire = NULL;
	FUZZ_CHECK(errs->items[0].code ==
			   optreg_code_from_problem(wire, status),
		   "the first error's code is %s for problem code %s, status "
		   "%ld",
		   optreg_code_name(errs->items[0].code), wire ? wire : "none",
		   status);
	FUZZ_CHECK(optreg_code_exit(errs->items[0].code) ==
			   optreg_code_exit(
				   optreg_code_from_problem(NULL, status)),
		   "status %ld exits %d, not as the status says", status,
		   optreg_code_exit(errs->items[0].code));
	json_decref(root);
	optreg_http_resp_release(&resp);
}

/* Writes the errors back as the registry would and reads them again. */
static void check_round_trip(const struct optreg_errors *errs)
{
	const struct optreg_error *first = &errs->items[0];
	struct optreg_errors rest = {.items = errs->items + 1,
				     .len = errs->len - 1,
				     .cap = errs->len - 1};
	struct optreg_errors back = OPTREG_ERRORS_INIT;
	json_t *p = optreg_problem_new(first->code, first->rule, first->message,
				       NULL, &rest);
	char *text = json_dumps(p, JSON_COMPACT);
	long status = optreg_code_http_status(first->code);

	FUZZ_CHECK(text != NULL, "the problem does not serialize");
	read_problem(text, strlen(text), status, NULL, &back);
	FUZZ_CHECK(back.len == errs->len, "%zu errors came back as %zu:\n%s",
		   errs->len, back.len, text);
	FUZZ_CHECK(!strcmp(back.items[0].rule, first->rule),
		   "the problem code %s came back as %s", first->rule,
		   back.items[0].rule);
	FUZZ_CHECK(!strcmp(back.items[0].message, first->message),
		   "the detail changed");
	for (size_t i = 1; i < errs->len; i++)
		check_same(&errs->items[i], &back.items[i], i);
	free(text);
	json_decref(p);
	optreg_errors_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *root = json_loadb((const char *)data, size, 0, NULL);
	json_t *st = json_object_get(root, "status");
	long status = 422;

	if (json_is_integer(st) && json_integer_value(st) >= 100 &&
	    json_integer_value(st) <= 599)
		status = (long)json_integer_value(st);
	json_decref(root);

	read_problem((const char *)data, size, status, NULL, &errs);
	check_round_trip(&errs);
	optreg_errors_release(&errs);

	read_problem((const char *)data, size, 503, "req-1", &errs);
	FUZZ_CHECK(errs.items[0].detail &&
			   strstr(errs.items[0].detail, "req-1"),
		   "a 5xx problem does not name the request id");
	optreg_errors_release(&errs);
	return 0;
}
