/*
 * tests/unit/common/error_test.c: the error table (common/errcodes.h), the
 * error list, its one JSON form and its printed layout, and the agreement of
 * docs/api.md and docs/cli.md with the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/http_client.h"

struct row {
	int code;
	const char *ename;
	const char *name;
	const char *problem;
	int status;
	int exit;
	const char *title;
	int on_wire;
};

#define LOCAL_ROW(e, num, name, problem, status, exit, title)                  \
	{num, #e, name, problem, status, exit, title, 0},
#define WIRE_ROW(e, num, name, problem, status, exit, title)                   \
	{num, #e, name, problem, status, exit, title, 1},
static const struct row rows[] = {OPTREG_LOCAL_MAP(LOCAL_ROW)
					  OPTREG_PROBLEM_MAP(WIRE_ROW)};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/*
 * The exit status the CLI derived from an HTTP status before the table
 * existed (cli_exit_for_http in cli/main.c), kept here as the reference the
 * table must reproduce.
 */
static int legacy_exit_for_http(long status)
{
	switch (status) {
	case 401:
		return OPTREG_EXIT_UNAUTHORIZED;
	case 403:
		return OPTREG_EXIT_DENIED;
	case 404:
		return OPTREG_EXIT_NOT_FOUND;
	case 409:
		return OPTREG_EXIT_CONFLICT;
	case 429:
		return OPTREG_EXIT_UNAVAILABLE;
	}
	if (status >= 400 && status < 500)
		return OPTREG_EXIT_INVALID;
	return OPTREG_EXIT_UNAVAILABLE;
}

static int is_lower_name(const char *s)
{
	if (!s[0])
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

static void test_table_is_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		assert_true(rows[i].code < 0);
		for (size_t j = i + 1; j < NROWS; j++) {
			assert_int_not_equal(rows[i].code, rows[j].code);
			assert_string_not_equal(rows[i].ename, rows[j].ename);
			assert_string_not_equal(rows[i].name, rows[j].name);
			assert_string_not_equal(rows[i].problem,
						rows[j].problem);
		}
	}
}

static void test_table_rows_are_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];

		assert_true(is_lower_name(r->name));
		assert_true(is_lower_name(r->problem));
		assert_true(r->status >= 400 && r->status <= 599);
		assert_true(r->exit >= OPTREG_EXIT_INVALID &&
			    r->exit <= OPTREG_EXIT_NOT_FOUND);
		/* The title is the reason phrase the client knows. */
		assert_string_equal(r->title, optreg_http_reason(r->status));
		/* The lookups come from the same rows. */
		assert_string_equal(optreg_code_name(r->code), r->name);
		assert_string_equal(optreg_code_problem(r->code), r->problem);
		assert_int_equal(optreg_code_http_status(r->code), r->status);
		assert_int_equal(optreg_code_exit(r->code), r->exit);
		assert_string_equal(optreg_code_title(r->code), r->title);
	}
}

/* The codes that existed before the table keep their numbers and names. */
static void test_table_keeps_old_codes(void **state)
{
	static const struct {
		int code, num;
		const char *name;
	} old[] = {
		{OPTREG_ENOMEM, -1, "out_of_memory"},
		{OPTREG_EIO, -2, "io"},
		{OPTREG_ESYNTAX, -3, "syntax"},
		{OPTREG_EINVAL, -4, "invalid"},
		{OPTREG_EUSAGE, -5, "usage"},
		{OPTREG_ELIMIT, -6, "limit"},
		{OPTREG_ENOTFOUND, -7, "not_found"},
		{OPTREG_ECONFLICT, -8, "conflict"},
		{OPTREG_EDENIED, -9, "forbidden"},
		{OPTREG_EUNAUTH, -10, "unauthorized"},
		{OPTREG_EUNAVAILABLE, -11, "unavailable"},
		{OPTREG_EINTERNAL, -12, "internal"},
	};

	(void)state;
	assert_int_equal(OPTREG_OK, 0);
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		assert_int_equal(old[i].code, old[i].num);
		assert_string_equal(optreg_code_name(old[i].code), old[i].name);
	}
	assert_string_equal(optreg_code_name(OPTREG_OK), "ok");
	assert_int_equal(optreg_code_exit(OPTREG_OK), OPTREG_EXIT_OK);
	assert_int_equal(optreg_code_http_status(OPTREG_OK), 200);
	assert_string_equal(optreg_code_name(-9999), "unknown");
	assert_string_equal(optreg_code_problem(-9999), "internal");
	assert_int_equal(optreg_code_http_status(-9999), 500);
	assert_int_equal(optreg_code_exit(-9999), OPTREG_EXIT_UNAVAILABLE);
	assert_string_equal(optreg_code_title(-9999), "Internal Server Error");
}

/* Every code the registry sends exits as its HTTP status always did. */
static void test_table_exit_matches_http_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS; i++) {
		if (!rows[i].on_wire)
			continue;
		assert_int_equal(rows[i].exit,
				 legacy_exit_for_http(rows[i].status));
		assert_int_equal(optreg_code_from_problem(rows[i].problem,
							  rows[i].status),
				 rows[i].code);
		assert_int_equal(optreg_code_from_problem(rows[i].problem, 0),
				 rows[i].code);
	}
}

/* Whatever the body says, the exit status is the one the status gave. */
static void test_from_problem_follows_status(void **state)
{
	(void)state;
	for (long status = 100; status < 600; status++) {
		int want = legacy_exit_for_http(status);

		assert_int_equal(optreg_code_exit(optreg_code_from_problem(
					 NULL, status)),
				 want);
		assert_int_equal(optreg_code_exit(optreg_code_from_problem(
					 "no_such_code", status)),
				 want);
		for (size_t i = 0; i < NROWS; i++)
			assert_int_equal(
				optreg_code_exit(optreg_code_from_problem(
					rows[i].problem, status)),
				want);
	}
	assert_int_equal(optreg_code_from_problem("what", 400),
			 OPTREG_EBADREQUEST);
	assert_int_equal(optreg_code_from_problem("what", 422), OPTREG_EINVAL);
	assert_int_equal(optreg_code_from_problem("what", 413), OPTREG_ELIMIT);
	assert_int_equal(optreg_code_from_problem(NULL, 500), OPTREG_EINTERNAL);
	assert_int_equal(optreg_code_from_problem(NULL, 502),
			 OPTREG_EUNAVAILABLE);
	/* Local codes are never read off the wire. */
	assert_int_equal(optreg_code_from_problem("usage", 400),
			 OPTREG_EBADREQUEST);
}

static void test_errors_format(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	struct optreg_error *e = optreg_errors_add(
		&errs, OPTREG_EINVAL, "exclusive_maximum", "spec.betas[1]",
		"must be less than %d (got %d)", 1, 1);
	e->line = 7;
	e->col = 10;
	e = optreg_errors_add(&errs, OPTREG_ESYNTAX, "syntax", NULL,
			      "unexpected end of input");
	optreg_error_set_hint(e, "close the %s", "mapping");
	optreg_errors_format(&errs, "config.yaml", &out);
	assert_string_equal(out.data,
			    "config.yaml:7:10: spec.betas[1]: must be less "
			    "than 1 (got 1)\n"
			    "config.yaml: unexpected end of input\n"
			    "  hint: close the mapping\n");
	assert_string_equal(optreg_code_name(errs.items[1].code), "syntax");
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	assert_int_equal(errs.len, 0);
}

/* Reads back what optreg_errors_print wrote to a temporary file. */
static char *printed(const char *file, const struct optreg_errors *errs)
{
	FILE *f = tmpfile();
	char *s = calloc(4096, 1);

	assert_non_null(f);
	assert_non_null(s);
	optreg_errors_print(f, file, errs);
	rewind(f);
	size_t n = fread(s, 1, 4095, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void test_errors_print_layout(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf want = OPTREG_BUF_INIT;
	struct optreg_error *e;
	char *got;

	(void)state;
	e = optreg_errors_add(&errs, OPTREG_EINVAL, "range", "spec.lr",
			      "must be at most 0.01 (got 0.5)");
	e->line = 13;
	e->col = 7;
	optreg_error_set_detail(e, "The limit is %s.", "0.01");
	optreg_error_set_hint(e, "lower the learning rate");
	e = optreg_errors_add(&errs, OPTREG_EIO, "io", NULL, "cannot read");
	optreg_error_set_detail(e, "first");
	optreg_error_set_detail(e, "second"); /* replaces, no leak */

	got = printed("bert.yaml", &errs);
	assert_string_equal(got, "bert.yaml:13:7: spec.lr: must be at most "
				 "0.01 (got 0.5)\n"
				 "  detail: The limit is 0.01.\n"
				 "  hint: lower the learning rate\n"
				 "bert.yaml: cannot read\n"
				 "  detail: second\n");
	optreg_errors_format(&errs, "bert.yaml", &want);
	assert_string_equal(got, want.data);
	free(got);

	got = printed(NULL, &errs);
	assert_string_equal(got, "13:7: spec.lr: must be at most 0.01 (got "
				 "0.5)\n"
				 "  detail: The limit is 0.01.\n"
				 "  hint: lower the learning rate\n"
				 "cannot read\n"
				 "  detail: second\n");
	free(got);
	optreg_buf_release(&want);
	optreg_errors_release(&errs);
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

static void assert_same_error(const struct optreg_error *a,
			      const struct optreg_error *b)
{
	assert_int_equal(a->code, b->code);
	assert_string_equal(a->rule, b->rule);
	assert_string_equal(a->path, b->path);
	assert_string_equal(a->message, b->message);
	if (a->detail || b->detail)
		assert_string_equal(a->detail, b->detail);
	if (a->hint || b->hint)
		assert_string_equal(a->hint, b->hint);
	assert_int_equal(a->line, b->line);
	assert_int_equal(a->col, b->col);
}

static void test_errors_json_round_trip(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     back = OPTREG_ERRORS_INIT;
	struct optreg_error *e;
	json_t *arr, *again;
	char *s;

	(void)state;
	e = optreg_errors_add(&errs, OPTREG_EINVAL, "exclusive_maximum",
			      "spec.betas[1]", "must be less than 1 (got 1)");
	e->line = 7;
	e->col = 10;
	optreg_error_set_detail(e, "betas are decay rates");
	optreg_error_set_hint(e, "use 0.999");
	optreg_errors_add(&errs, OPTREG_ELEASELOST, "lease_lost", "lease_token",
			  "job 3 is not leased with this token");
	for (size_t i = 0; i < NROWS; i++)
		optreg_errors_add(&errs, rows[i].code, rows[i].name, "",
				  "row %zu", i);

	arr = optreg_errors_to_json(&errs);
	s = dump(json_array_get(arr, 0));
	assert_string_equal(
		s, "{\"code\":\"invalid_config\",\"path\":\"spec.betas[1]\","
		   "\"rule\":\"exclusive_maximum\",\"message\":\"must be less "
		   "than 1 (got 1)\",\"detail\":\"betas are decay rates\","
		   "\"hint\":\"use 0.999\",\"line\":7,\"col\":10}");
	free(s);
	s = dump(json_array_get(arr, 1));
	assert_string_equal(
		s, "{\"code\":\"lease_lost\",\"path\":\"lease_token\",\"rule\":"
		   "\"lease_lost\",\"message\":\"job 3 is not leased with "
		   "this token\"}");
	free(s);

	assert_int_equal(optreg_errors_from_json(&back, arr, OPTREG_EINTERNAL),
			 errs.len);
	assert_int_equal(back.len, errs.len);
	for (size_t i = 0; i < errs.len; i++)
		assert_same_error(&errs.items[i], &back.items[i]);
	again = optreg_errors_to_json(&back);
	assert_true(json_equal(arr, again));
	json_decref(again);
	json_decref(arr);
	optreg_errors_release(&back);
	optreg_errors_release(&errs);
}

static void test_errors_from_json_defaults(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *arr = json_loads(
		"[{\"rule\":\"r\",\"message\":\"kept\",\"hint\":\"\","
		"\"line\":-3,\"col\":\"x\"},"
		"{\"code\":\"no_such\",\"message\":\"unknown code\"},"
		"{\"code\":\"usage\",\"message\":\"local code\"},"
		"{\"path\":\"p\",\"message\":\"\"},"
		"{\"path\":\"p\"},"
		"42]",
		0, NULL);

	(void)state;
	assert_non_null(arr);
	assert_int_equal(optreg_errors_from_json(&errs, arr, OPTREG_EDENIED),
			 3);
	assert_int_equal(errs.items[0].code, OPTREG_EDENIED);
	assert_string_equal(errs.items[0].rule, "r");
	assert_string_equal(errs.items[0].path, "");
	assert_null(errs.items[0].hint);
	assert_null(errs.items[0].detail);
	assert_int_equal(errs.items[0].line, 0);
	assert_int_equal(errs.items[0].col, 0);
	assert_int_equal(errs.items[1].code, OPTREG_EDENIED);
	assert_int_equal(errs.items[2].code, OPTREG_EUSAGE);
	assert_int_equal(optreg_errors_from_json(&errs, NULL, 0), 0);
	json_decref(arr);
	optreg_errors_release(&errs);
}

static void test_problem_body(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *p;
	char *s;

	(void)state;
	optreg_errors_add(&errs, OPTREG_EINVAL, "exclusive_maximum",
			  "spec.betas[1]", "must be less than 1 (got 1)");
	p = optreg_problem_new(OPTREG_EINVAL, NULL, "the config has 1 error",
			       "req-1", &errs);
	s = dump(p);
	assert_string_equal(
		s, "{\"type\":\"https://optreg.dev/problems/invalid_config\","
		   "\"title\":\"Unprocessable Content\",\"status\":422,"
		   "\"detail\":\"the config has 1 error\",\"code\":"
		   "\"invalid_config\",\"request_id\":\"req-1\",\"errors\":"
		   "[{\"code\":\"invalid_config\",\"path\":\"spec.betas[1]\","
		   "\"rule\":\"exclusive_maximum\",\"message\":\"must be less "
		   "than 1 (got 1)\"}]}");
	free(s);
	json_decref(p);

	p = optreg_problem_new(OPTREG_ENOTFOUND, NULL, NULL, NULL, NULL);
	s = dump(p);
	assert_string_equal(s, "{\"type\":\"https://optreg.dev/problems/"
			       "not_found\",\"title\":\"Not Found\","
			       "\"status\":404,\"code\":\"not_found\"}");
	free(s);
	json_decref(p);

	p = optreg_problem_new(OPTREG_ECONFLICT, "custom", "d\xff", "r", NULL);
	assert_string_equal(json_string_value(json_object_get(p, "code")),
			    "custom");
	assert_string_equal(json_string_value(json_object_get(p, "detail")),
			    "d\\xFF");
	assert_int_equal(json_integer_value(json_object_get(p, "status")), 409);
	json_decref(p);
	optreg_errors_release(&errs);
}

static void test_json_text(void **state)
{
	json_t *j;

	(void)state;
	j = optreg_json_text("caf\xc3\xa9");
	assert_string_equal(json_string_value(j), "caf\xc3\xa9");
	json_decref(j);
	j = optreg_json_text("a\x80z");
	assert_string_equal(json_string_value(j), "a\\x80z");
	json_decref(j);
	j = optreg_json_text(NULL);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

/* ---- docs agree with the table ------------------------------------------ */

/*
 * Calls `fn` for each table row (a line starting with "| " and a digit) of
 * the section of `path` that starts with the line `heading`, with the row's
 * cells (trimmed) and their count.
 */
static int doc_rows(const char *path, const char *heading,
		    void (*fn)(char **cells, int n, void *arg), void *arg)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	char *p, *end;
	int rows_seen = 0;

	assert_int_equal(optreg_buf_read_file(&b, path), 0);
	p = strstr(b.data, heading);
	assert_non_null(p);
	p += strlen(heading);
	end = strstr(p, "\n## ");
	if (end)
		*end = '\0';
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n")) {
		char *cells[8];
		int n = 0;

		if (line[0] != '|' || line[1] != ' ' || line[2] < '0' ||
		    line[2] > '9')
			continue;
		for (char *c = line + 1; n < 8 && *c;) {
			char *bar = strchr(c, '|');
			if (!bar)
				break;
			*bar = '\0';
			while (*c == ' ')
				c++;
			for (char *t = bar - 1; t >= c && *t == ' '; t--)
				*t = '\0';
			cells[n++] = c;
			c = bar + 1;
		}
		fn(cells, n, arg);
		rows_seen++;
	}
	optreg_buf_release(&b);
	return rows_seen;
}

/* The row whose wire name is `problem`, or NULL. */
static const struct row *row_named(const char *problem)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].problem, problem))
			return &rows[i];
	return NULL;
}

static void api_row(char **cells, int n, void *arg)
{
	int *seen = arg;
	char code[64];

	assert_true(n >= 3);
	assert_int_equal(sscanf(cells[1], "`%63[a-z_]`", code), 1);
	const struct row *r = row_named(code);
	if (!r || !r->on_wire)
		fail_msg("docs/api.md lists %s, which is not in "
			 "OPTREG_PROBLEM_MAP",
			 code);
	assert_int_equal(atoi(cells[0]), r->status);
	seen[r - rows]++;
}

static void test_docs_api_errors_table(void **state)
{
	int seen[NROWS] = {0};

	(void)state;
	assert_true(doc_rows("docs/api.md", "\n## Errors\n", api_row, seen) >
		    0);
	for (size_t i = 0; i < NROWS; i++)
		if (seen[i] != (rows[i].on_wire ? 1 : 0))
			fail_msg("docs/api.md lists %s %d times",
				 rows[i].problem, seen[i]);
}

static void cli_row(char **cells, int n, void *arg)
{
	int *seen = arg;
	int status = atoi(cells[0]);
	char *p;

	assert_true(n >= 4);
	for (p = strchr(cells[2], '`'); p; p = strchr(p + 1, '`')) {
		char code[64];
		char *close = strchr(p + 1, '`');

		assert_non_null(close);
		assert_true(close - p - 1 < (long)sizeof(code));
		memcpy(code, p + 1, (size_t)(close - p - 1));
		code[close - p - 1] = '\0';
		const struct row *r = row_named(code);
		if (!r)
			fail_msg("docs/cli.md lists %s, which is not in "
				 "common/errcodes.h",
				 code);
		if (r->exit != status)
			fail_msg("docs/cli.md gives %s exit %d, the table %d",
				 code, status, r->exit);
		seen[r - rows]++;
		p = close;
	}
}

static void test_docs_cli_exit_table(void **state)
{
	int seen[NROWS] = {0};

	(void)state;
	assert_int_equal(
		doc_rows("docs/cli.md", "\n## Exit statuses\n", cli_row, seen),
		OPTREG_EXIT_NOT_FOUND + 1);
	for (size_t i = 0; i < NROWS; i++)
		if (seen[i] != 1)
			fail_msg("docs/cli.md lists %s %d times",
				 rows[i].problem, seen[i]);
}

/*
 * Every problem the registry answered in the recorded API snapshot
 * (tests/e2e/api_snapshot.json) is a row of the table with that status.
 */
static void test_snapshot_codes_are_in_table(void **state)
{
	json_error_t jerr;
	json_t *snap = json_load_file("tests/e2e/api_snapshot.json", 0, &jerr);
	const char *key;
	json_t *v;
	int problems = 0;

	(void)state;
	if (!snap)
		fail_msg("tests/e2e/api_snapshot.json: %s", jerr.text);
	json_object_foreach(snap, key, v)
	{
		const char *code =
			json_string_value(json_object_get(v, "code"));
		json_int_t status =
			json_integer_value(json_object_get(v, "status"));

		if (status < 400)
			continue;
		const struct row *r = code ? row_named(code) : NULL;
		if (!r || !r->on_wire || r->status != status)
			fail_msg("%s: %lld %s is not a row of the table", key,
				 (long long)status, code ? code : "(none)");
		problems++;
	}
	assert_true(problems > 0);
	json_decref(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_unique),
		cmocka_unit_test(test_table_rows_are_complete),
		cmocka_unit_test(test_table_keeps_old_codes),
		cmocka_unit_test(test_table_exit_matches_http_status),
		cmocka_unit_test(test_from_problem_follows_status),
		cmocka_unit_test(test_errors_format),
		cmocka_unit_test(test_errors_print_layout),
		cmocka_unit_test(test_errors_json_round_trip),
		cmocka_unit_test(test_errors_from_json_defaults),
		cmocka_unit_test(test_problem_body),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_docs_api_errors_table),
		cmocka_unit_test(test_docs_cli_exit_table),
		cmocka_unit_test(test_snapshot_codes_are_in_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
