/*
 * validator/names.c: the name rules (see names.h and docs/config.md).
 */
#include "names.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jcs.h"

/* Character classes, byte-wise (no <ctype.h>: it follows the locale). */
static bool is_lower_digit(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_name_char(char ch)
{
	return is_lower_digit(ch) || ch == '.' || ch == '_' || ch == '-';
}

static bool is_ns_char(char ch)
{
	return is_lower_digit(ch) || ch == '-';
}

static bool is_label_value_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || is_name_char(ch);
}

static bool is_hex_lower(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool is_pattern_char(char ch)
{
	return is_ns_char(ch) || ch == '*' || ch == '?';
}

static bool is_pattern_first(char ch)
{
	return is_lower_digit(ch) || ch == '*' || ch == '?';
}

struct name_rule {
	bool (*first)(char); /* NULL: no special first character */
	bool (*rest)(char);
	size_t minlen, maxlen;
	const char *pattern; /* as shown in messages */
	const char *hint;
};

static const struct name_rule namespace_rule = {
	is_lower_digit,
	is_ns_char,
	1,
	OPTREG_NAMESPACE_MAX,
	"^[a-z0-9][a-z0-9-]{0,62}$",
	"use 1 to 63 lowercase letters, digits and '-', starting with a "
	"letter or digit"};
static const struct name_rule config_rule = {
	is_lower_digit,
	is_name_char,
	1,
	OPTREG_CONFIG_NAME_MAX,
	"^[a-z0-9][a-z0-9._-]{0,127}$",
	"use 1 to 128 lowercase letters, digits, '.', '_' and '-', starting "
	"with a letter or digit"};
static const struct name_rule tag_rule = {
	is_lower_digit,
	is_name_char,
	1,
	OPTREG_TAG_MAX,
	"^[a-z0-9][a-z0-9._-]{0,63}$",
	"use 1 to 64 lowercase letters, digits, '.', '_' and '-', starting "
	"with a letter or digit"};
static const struct name_rule digest_rule = {
	NULL,
	is_hex_lower,
	64,
	64,
	"^sha256:[0-9a-f]{64}$",
	"write sha256: and the 64 lowercase hex digits of the digest"};
static const struct name_rule keyid_rule = {
	NULL,
	is_hex_lower,
	64,
	64,
	"^[0-9a-f]{64}$",
	"a key id is the 64 lowercase hex digits `optreg keygen` prints"};
static const struct name_rule pattern_rule = {
	is_pattern_first,
	is_pattern_char,
	1,
	OPTREG_NS_PATTERN_MAX,
	"^[a-z0-9*?][a-z0-9*?-]{0,62}$",
	"use 1 to 63 lowercase letters, digits, '-', '*' and '?', not "
	"starting with '-'"};
static const struct name_rule label_key_rule = {
	is_lower_digit,
	is_name_char,
	1,
	63,
	"^[a-z0-9][a-z0-9._-]{0,62}$",
	"use 1 to 63 lowercase letters, digits, '.', '_' and '-', starting "
	"with a letter or digit"};
static const struct name_rule label_value_rule = {
	NULL,
	is_label_value_char,
	0,
	63,
	"^[A-Za-z0-9._-]{0,63}$",
	"use at most 63 letters, digits, '.', '_' and '-'"};

static bool matches(const char *s, const struct name_rule *r)
{
	size_t n = strlen(s);

	if (n < r->minlen || n > r->maxlen)
		return false;
	if (r->first) {
		if (!r->first(s[0]))
			return false;
		s++;
	}
	for (; *s; s++)
		if (!r->rest(*s))
			return false;
	return true;
}

void optreg_name_quote(struct optreg_buf *out, const char *s)
{
	size_t n = strlen(s), shown = n > 64 ? 64 : n;

	/* Do not cut a UTF-8 sequence in half. */
	while (shown < n && ((unsigned char)s[shown] & 0xC0) == 0x80)
		shown--;
	optreg_buf_addch(out, '"');
	for (size_t i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			optreg_buf_addf(out, "\\%c", ch);
		else if (ch == '\n')
			optreg_buf_adds(out, "\\n");
		else if (ch < 0x20 || ch == 0x7f)
			optreg_buf_addf(out, "\\u%04x", ch);
		else
			optreg_buf_addch(out, (char)ch);
	}
	optreg_buf_adds(out, shown < n ? "\"..." : "\"");
}

static int refuse(const char *s, const char *path, const char *rule,
		  const char *pattern, const char *hint,
		  struct optreg_errors *errs)
{
	struct optreg_buf got = OPTREG_BUF_INIT;
	struct optreg_error *e;

	if (!errs)
		return OPTREG_EINVAL;
	optreg_name_quote(&got, s);
	e = optreg_errors_add(errs, OPTREG_EINVAL, rule, path ? path : "",
			      "must match %s (got %s)", pattern, got.data);
	optreg_error_set_hint(e, "%s", hint);
	optreg_buf_release(&got);
	return OPTREG_EINVAL;
}

static int check(const char *s, const char *path, const struct name_rule *r,
		 struct optreg_errors *errs)
{
	if (s && matches(s, r))
		return 0;
	return refuse(s ? s : "", path, "pattern", r->pattern, r->hint, errs);
}

int optreg_name_check_namespace(const char *s, const char *path,
				struct optreg_errors *errs)
{
	return check(s, path, &namespace_rule, errs);
}

int optreg_name_check_config(const char *s, const char *path,
			     struct optreg_errors *errs)
{
	return check(s, path, &config_rule, errs);
}

int optreg_name_check_tag(const char *s, const char *path,
			  struct optreg_errors *errs)
{
	int rc = check(s, path, &tag_rule, errs);

	if (rc == 0 && strspn(s, "0123456789") == strlen(s)) {
		struct optreg_buf got = OPTREG_BUF_INIT;
		struct optreg_error *e;

		if (!errs)
			return OPTREG_EINVAL;
		optreg_name_quote(&got, s);
		e = optreg_errors_add(
			errs, OPTREG_EINVAL, "tag_numeric", path ? path : "",
			"must not be all digits (got %s)", got.data);
		optreg_error_set_hint(e, "an all-digit tag would read as a "
					 "version number; add a letter");
		optreg_buf_release(&got);
		return OPTREG_EINVAL;
	}
	return rc;
}

int optreg_name_check_digest(const char *s, const char *path,
			     struct optreg_errors *errs)
{
	if (s && !strncmp(s, "sha256:", 7) && matches(s + 7, &digest_rule))
		return 0;
	return refuse(s ? s : "", path, "pattern", digest_rule.pattern,
		      digest_rule.hint, errs);
}

int optreg_name_check_keyid(const char *s, const char *path,
			    struct optreg_errors *errs)
{
	return check(s, path, &keyid_rule, errs);
}

int optreg_name_check_pattern(const char *s, const char *path,
			      struct optreg_errors *errs)
{
	return check(s, path, &pattern_rule, errs);
}

int optreg_name_check_label_key(const char *s, const char *path,
				struct optreg_errors *errs)
{
	return check(s, path, &label_key_rule, errs);
}

int optreg_name_check_label_value(const char *s, const char *path,
				  struct optreg_errors *errs)
{
	return check(s, path, &label_value_rule, errs);
}

static bool is_invisible(long c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C ||
	       (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

size_t optreg_name_printable_len(const char *s, size_t n, long *cp)
{
	uint32_t u = 0;
	size_t len = optreg_utf8_next((const unsigned char *)s, n, &u);
	long c = (long)u;

	if (len && c >= 0xD800 && c <= 0xDFFF)
		len = 0; /* a surrogate is not text */
	if (cp)
		*cp = len ? c : -1;
	return len && !is_invisible(c) ? len : 0;
}

int optreg_name_check_principal(const char *s, const char *path,
				struct optreg_errors *errs)
{
	size_t n = s ? strlen(s) : 0;
	bool ok = n >= 1 && n <= OPTREG_PRINCIPAL_MAX;

	for (size_t i = 0, len; ok && i < n; i += len) {
		len = optreg_name_printable_len(s + i, n - i, NULL);
		ok = len > 0;
	}
	if (ok)
		return 0;
	if (!errs)
		return OPTREG_EINVAL;

	struct optreg_buf got = OPTREG_BUF_INIT;
	struct optreg_error *e;

	optreg_name_quote(&got, s ? s : "");
	e = optreg_errors_add(errs, OPTREG_EINVAL, "principal",
			      path ? path : "",
			      "must be 1 to %d bytes of printable UTF-8 "
			      "(got %s)",
			      OPTREG_PRINCIPAL_MAX, got.data);
	optreg_error_set_hint(e, "use a name such as ci@team-nlp: letters, "
				 "digits, punctuation and spaces, without "
				 "control or invisible format characters");
	optreg_buf_release(&got);
	return OPTREG_EINVAL;
}
