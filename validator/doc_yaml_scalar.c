/*
 * validator/doc_yaml_scalar.c: YAML scalar resolution. Plain scalars are
 * resolved by the YAML 1.2 core schema (null, booleans, decimal, 0o and 0x
 * integers, floats); tags are classified into the core tags optreg accepts.
 * doc_yaml.c builds the tree with these.
 */
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doc_int.h"

#define CORE_TAG_PREFIX "tag:yaml.org,2002:"

/* ------------------------------------------------------------------------ */
/* YAML: scalar resolution */

enum doc_yaml_tag doc_yaml_classify_tag(const yaml_char_t *tag, bool scalar)
{
	static const struct {
		const char *name;
		enum doc_yaml_tag tag;
	} core[] = {
		{"str", TAG_STR},   {"int", TAG_INT},	{"float", TAG_FLOAT},
		{"bool", TAG_BOOL}, {"null", TAG_NULL}, {"map", TAG_MAP},
		{"seq", TAG_SEQ},
	};
	const char *t = (const char *)tag;
	size_t plen = strlen(CORE_TAG_PREFIX);

	if (!t)
		return TAG_NONE;
	if (!strcmp(t, "!"))
		return scalar ? TAG_STR : TAG_NONE;
	if (strncmp(t, CORE_TAG_PREFIX, plen))
		return TAG_UNKNOWN;
	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
		if (!strcmp(t + plen, core[i].name))
			return core[i].tag;
	}
	return TAG_UNKNOWN;
}

/* The tag as people write it: "!!int" for core tags (malloc'd). */
char *doc_yaml_tag_name(const yaml_char_t *tag)
{
	const char *t = (const char *)tag;
	size_t plen = strlen(CORE_TAG_PREFIX);

	if (!strncmp(t, CORE_TAG_PREFIX, plen))
		return optreg_xasprintf("!!%s", t + plen);
	return optreg_xstrdup(t);
}

bool doc_yaml_is_null(const char *s)
{
	return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Returns 1 for true, 0 for false and -1 for anything else. */
int doc_yaml_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

static bool is_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!strchr(set, *s))
			return false;
	}
	return true;
}

#define DEC_DIGITS "0123456789"
#define OCT_DIGITS "01234567"
#define HEX_DIGITS "0123456789abcdefABCDEF"

/* [-+]?[0-9]+ */
bool doc_yaml_is_decimal_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return is_digits(s, DEC_DIGITS);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
bool doc_yaml_is_float(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		n = strspn(s + 1, DEC_DIGITS);
		if (!n)
			return false;
		s += 1 + n;
	} else {
		n = strspn(s, DEC_DIGITS);
		if (!n)
			return false;
		s += n;
		if (*s == '.')
			s += 1 + strspn(s + 1, DEC_DIGITS);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		n = strspn(s, DEC_DIGITS);
		if (!n)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* [-+]?(\.inf|\.Inf|\.INF) and \.nan|\.NaN|\.NAN */
bool doc_yaml_is_non_finite(const char *s)
{
	const char *u = s;

	if (*u == '-' || *u == '+')
		u++;
	if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF"))
		return true;
	return !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* 0o[0-7]+ and 0x[0-9a-fA-F]+ */
bool doc_yaml_is_octal_int(const char *s)
{
	return s[0] == '0' && s[1] == 'o' && is_digits(s + 2, OCT_DIGITS);
}

bool doc_yaml_is_hex_int(const char *s)
{
	return s[0] == '0' && s[1] == 'x' && is_digits(s + 2, HEX_DIGITS);
}

/*
 * strtod in the "C" locale, so '.' is the decimal point whatever the process
 * locale says. `text` is already known to be a decimal or hex number, so the
 * whole string is consumed. Returns 0, or OPTREG_ENOMEM when no C locale can
 * be made.
 */
static int c_strtod(const char *text, double *out)
{
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	locale_t old;

	if (c == (locale_t)0)
		return OPTREG_ENOMEM;
	old = uselocale(c);
	*out = strtod(text, NULL);
	uselocale(old);
	freelocale(c);
	return 0;
}

/*
 * Converts an 0o literal to the equivalent 0x literal (3 bits per octal
 * digit regrouped into 4), so strtod rounds it correctly however long it is.
 */
static char *octal_to_hex(const char *digits)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(digits), bits = 3 * n;
	size_t nhex = (bits + 3) / 4, pad = 4 * nhex - bits;
	char *out = optreg_xmalloc(nhex + 3);

	out[0] = '0';
	out[1] = 'x';
	for (size_t h = 0; h < nhex; h++) {
		unsigned v = 0;

		/* Hex digit h is bits 4h..4h+3 of the value's bit string,
		 * most significant first, after `pad` leading zero bits. */
		for (size_t b = 0; b < 4; b++) {
			size_t pos = 4 * h + b;
			unsigned bit = 0;

			if (pos >= pad) {
				size_t i = pos - pad;
				unsigned d = (unsigned)(digits[i / 3] - '0');

				bit = (d >> (2 - i % 3)) & 1;
			}
			v = (v << 1) | bit;
		}
		out[2 + h] = hex[v];
	}
	out[2 + nhex] = '\0';
	return out;
}

/*
 * Converts number text that matched one of the core-schema number forms.
 * Returns 0, OPTREG_ESYNTAX when the value is not finite (the caller reports
 * it) or OPTREG_ENOMEM.
 */
int doc_yaml_number(const char *text, double *out)
{
	int rc;

	if (doc_yaml_is_octal_int(text)) {
		char *hex = octal_to_hex(text + 2);

		rc = c_strtod(hex, out);
		free(hex);
	} else {
		/* Decimal and 0x forms are both strtod syntax. */
		rc = c_strtod(text, out);
	}
	if (rc)
		return rc;
	return isfinite(*out) ? 0 : OPTREG_ESYNTAX;
}
