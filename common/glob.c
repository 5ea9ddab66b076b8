/*
 * common/glob.c: the namespace-pattern matcher and its LIKE translation.
 */
#include "glob.h"

/*
 * Iterative wildcard matching with one backtrack point: on a mismatch, the
 * last `*` takes one more character. Linear in practice and never
 * exponential, whatever the pattern.
 */
bool optreg_glob_match(const char *pattern, const char *name)
{
	const char *p = pattern, *s = name;
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool optreg_glob_match_any(const char *const *patterns, size_t n,
			   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (patterns[i] && optreg_glob_match(patterns[i], name))
			return true;
	return false;
}

void optreg_glob_to_like(const char *pattern, struct optreg_buf *out)
{
	for (const char *c = pattern; *c; c++) {
		if (*c == '*') {
			optreg_buf_addch(out, '%');
		} else if (*c == '?') {
			optreg_buf_addch(out, '_');
		} else {
			if (*c == '%' || *c == '_' || *c == '\\')
				optreg_buf_addch(out, '\\');
			optreg_buf_addch(out, *c);
		}
	}
}

void optreg_glob_like_array(const char *const *patterns, size_t n,
			    struct optreg_buf *out)
{
	struct optreg_buf like = OPTREG_BUF_INIT;

	optreg_buf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		optreg_buf_reset(&like);
		optreg_glob_to_like(patterns[i], &like);
		optreg_buf_adds(out, i ? ",\"" : "\"");
		for (size_t j = 0; j < like.len; j++) {
			if (like.data[j] == '"' || like.data[j] == '\\')
				optreg_buf_addch(out, '\\');
			optreg_buf_addch(out, like.data[j]);
		}
		optreg_buf_addch(out, '"');
	}
	optreg_buf_addch(out, '}');
	optreg_buf_release(&like);
}
