/*
 * validator/regex_check.c: see regex_check.h.
 */
#include "regex_check.h"

#include <stdbool.h>
#include <string.h>

/* Skips a bracket expression starting at re[i] == '['; returns the index
 * just past its closing ']' (or the end of the string). */
static size_t skip_bracket(const char *re, size_t i)
{
	i++;
	if (re[i] == '^')
		i++;
	if (re[i] == ']')
		i++;
	while (re[i] && re[i] != ']') {
		if (re[i] == '[' && (re[i + 1] == ':' || re[i + 1] == '.' ||
				     re[i + 1] == '=')) {
			char end = re[i + 1];
			const char *close = NULL;
			for (size_t k = i + 2; re[k] && re[k + 1]; k++)
				if (re[k] == end && re[k + 1] == ']') {
					close = re + k;
					break;
				}
			if (close) {
				i = (size_t)(close - re) + 2;
				continue;
			}
		}
		i++;
	}
	return re[i] ? i + 1 : i;
}

/*
 * Reads a bound `{m}`, `{m,}`, `{,n}` or `{m,n}` at re[i] == '{'. Returns
 * the index past '}' and sets *too_big when a count is over the limit;
 * returns i (no bound) when it is not one.
 */
static size_t read_bound(const char *re, size_t i, bool *too_big)
{
	size_t k = i + 1;
	bool any = false;

	for (int part = 0; part < 2; part++) {
		unsigned long n = 0;
		size_t start = k;
		while (re[k] >= '0' && re[k] <= '9') {
			if (n <= OPTREG_REGEX_MAX_REPEAT)
				n = n * 10 + (unsigned long)(re[k] - '0');
			k++;
		}
		if (k > start) {
			any = true;
			if (n > OPTREG_REGEX_MAX_REPEAT)
				*too_big = true;
		}
		if (part == 0 && re[k] == ',')
			k++;
		else
			break;
	}
	if (re[k] != '}' || !any)
		return i;
	return k + 1;
}

const char *optreg_regex_check(const char *re)
{
	/* For each open group: whether it contains a bounded repetition,
	 * and how deep the repetitions that copy it (+, {m,n}) nest in it. */
	bool stack[OPTREG_REGEX_MAX + 1];
	unsigned char stack_copies[OPTREG_REGEX_MAX + 1];
	size_t depth = 0;
	bool here = false;	       /* the current level contains a bound */
	bool last_group_bound = false; /* the atom just before is a group
					  containing a bound */
	unsigned here_copies = 0; /* the deepest copying nest at this level */
	unsigned last_copies = 0; /* ... in the atom just before, as
				     repeated so far */
	size_t n = strlen(re);

	if (n > OPTREG_REGEX_MAX)
		return "is longer than 256 characters";
	for (size_t i = 0; i < n;) {
		char ch = re[i];
		if (ch == '\\') {
			if (re[i + 1] >= '1' && re[i + 1] <= '9')
				return "uses a backreference (\\1 .. \\9)";
			i += re[i + 1] ? 2 : 1;
			last_group_bound = false;
			last_copies = 0;
		} else if (ch == '[') {
			i = skip_bracket(re, i);
			last_group_bound = false;
			last_copies = 0;
		} else if (ch == '(') {
			stack_copies[depth] = (unsigned char)here_copies;
			stack[depth++] = here;
			here = false;
			here_copies = 0;
			last_group_bound = false;
			last_copies = 0;
			i++;
		} else if (ch == ')') {
			bool inner = here;
			unsigned inner_copies = here_copies;
			if (depth) {
				depth--;
				here = stack[depth] || inner;
				if (stack_copies[depth] > here_copies)
					here_copies = stack_copies[depth];
			}
			last_group_bound = inner;
			last_copies = inner_copies;
			i++;
		} else if (ch == '{') {
			bool too_big = false;
			size_t end = read_bound(re, i, &too_big);
			if (end == i) {
				last_group_bound = false;
				last_copies = 0;
				i++;
				continue;
			}
			if (too_big)
				return "repeats more than 255 times in a {m,n} "
				       "bound";
			if (last_group_bound)
				return "nests a {m,n} bound inside another";
			if (++last_copies > OPTREG_REGEX_MAX_COPY_NEST)
				return "nests + and {m,n} repetitions more "
				       "than 3 deep";
			if (last_copies > here_copies)
				here_copies = last_copies;
			here = true;
			i = end;
		} else if (ch == '+') {
			/* glibc compiles x+ as xx*: each + copies what it
			 * repeats, so nested or stacked ones double it again
			 * (a+++...+ runs regcomp out of memory). */
			if (++last_copies > OPTREG_REGEX_MAX_COPY_NEST)
				return "nests + and {m,n} repetitions more "
				       "than 3 deep";
			if (last_copies > here_copies)
				here_copies = last_copies;
			i++;
		} else {
			if (ch != '*' && ch != '?') {
				last_group_bound = false;
				last_copies = 0;
			}
			i++;
		}
	}
	return NULL;
}
