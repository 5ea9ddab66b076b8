/*
 * validator/regex_check.h: refusing regular expressions that are too
 * costly or dangerous to compile or run.
 *
 * Patterns written by users (param_groups[i].match in a config, `pattern`
 * in a policy) are compiled with glibc's regcomp and run with regexec.
 * Backreferences make regexec exponential and have crashed it
 * (CVE-2019-9192: `(|)(\1\1)*`), and bounded repetition is expanded at
 * compile time, so `((a{1,1000}){1,1000}){1,1000}` takes seconds in
 * regcomp. Before compiling, optreg refuses (rule "regex"):
 *   - a pattern longer than OPTREG_REGEX_MAX bytes;
 *   - a backreference (\1 .. \9);
 *   - a repetition count above OPTREG_REGEX_MAX_REPEAT in `{m}`, `{m,}`
 *     or `{m,n}`;
 *   - a bounded repetition of a group that itself contains a bounded
 *     repetition (nested `{}`);
 *   - `+` and `{}` nested or stacked more than OPTREG_REGEX_MAX_COPY_NEST
 *     deep (`((a+)+)+)+`, `a++++`): glibc copies what each of them
 *     repeats, so every level doubles the compiled pattern at least, and
 *     `a` followed by 49 `+` runs regcomp out of memory.
 */
#ifndef OPTREG_REGEX_CHECK_H
#define OPTREG_REGEX_CHECK_H

#define OPTREG_REGEX_MAX	   256
#define OPTREG_REGEX_MAX_REPEAT	   255
#define OPTREG_REGEX_MAX_COPY_NEST 3

/* The hint given with a refused pattern. */
#define OPTREG_REGEX_HINT                                                      \
	"write a pattern of at most 256 characters without backreferences "    \
	"(\\1 .. \\9), with {m,n} counts of at most 255, no {m,n} "            \
	"applied to a group that has one inside, and + or {m,n} nested at "    \
	"most 3 deep"

/*
 * Returns NULL when `re` may be compiled, else a static sentence saying
 * what is refused (e.g. "uses a backreference (\\1 .. \\9)").
 */
const char *optreg_regex_check(const char *re);

#endif
