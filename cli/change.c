/*
 * cli/change.c: the why of a change (submit --message, tag and rollback
 * --reason, yank --reason, --link), checked here as the registry checks
 * it, so a bad value is a usage error before anything is sent.
 */
#include <stdio.h>
#include <string.h>

#include "../common/errcodes.h"
#include "cli.h"

/* Counts UTF-8 characters (the API's limits are in characters). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int cli_change_check(const char *cmd, const char *opt, const char *val,
		     size_t max, bool link)
{
	json_t *check;
	size_t n;

	if (!val)
		return 0;
	if (!val[0]) {
		fprintf(stderr,
			"optreg %s: %s is empty\n"
			"  hint: give 1 to %zu characters, or leave %s out\n",
			cmd, opt, max, opt);
		return OPTREG_EXIT_USAGE;
	}
	check = json_string(val);
	if (!check) {
		fprintf(stderr, "optreg %s: %s is not valid UTF-8\n", cmd, opt);
		return OPTREG_EXIT_USAGE;
	}
	json_decref(check);
	n = utf8_chars(val);
	if (n > max) {
		fprintf(stderr,
			"optreg %s: %s is longer than %zu characters (got "
			"%zu)\n",
			cmd, opt, max, n);
		return OPTREG_EXIT_USAGE;
	}
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || (link && *p == ' ')) {
			fprintf(stderr,
				"optreg %s: %s has a %s (byte 0x%02x at "
				"offset %zu)\n"
				"  hint: %s\n",
				cmd, opt,
				*p == ' ' ? "space" : "control character", *p,
				(size_t)(p - (const unsigned char *)val),
				link ? "a link is one URL or reference, e.g. "
				       "https://ci.example/run/42"
				     : "the registry takes printable text "
				       "only, "
				       "on one line");
			return OPTREG_EXIT_USAGE;
		}
	}
	return 0;
}

void cli_change_add(json_t *body, const char *key, const char *val)
{
	if (val)
		json_object_set_new(body, key, json_string(val));
}
