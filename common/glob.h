/*
 * common/glob.h: namespace patterns, matched in C and in SQL alike.
 *
 * A namespace pattern (a token grant, a signing key's namespaces, a runner's
 * lease filter) is a glob over namespace names: `*` matches any run of
 * characters (also none), `?` exactly one, every other character itself.
 * Valid patterns (validator/names.h, optreg_name_check_pattern) hold only
 * [a-z0-9*?-], so this is what fnmatch(3) with no flags does on them, and
 * what SQL LIKE does on the translated form (`*` -> `%`, `?` -> `_`). The
 * matcher and the translation live together so the two cannot drift; the
 * unit test holds them to agreement.
 */
#ifndef OPTREG_GLOB_H
#define OPTREG_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * True when `name` matches `pattern` as a whole. Characters other than `*`
 * and `?` match only themselves (no bracket expressions, no escapes).
 */
bool optreg_glob_match(const char *pattern, const char *name);

/* True when any of the `n` patterns matches `name`. */
bool optreg_glob_match_any(const char *const *patterns, size_t n,
			   const char *name);

/*
 * Appends the SQL LIKE pattern (default escape character `\`) matching what
 * `pattern` matches: `*` -> `%`, `?` -> `_`, and `%`, `_` and `\` escaped
 * with `\` (none of which a valid pattern holds).
 */
void optreg_glob_to_like(const char *pattern, struct optreg_buf *out);

/*
 * Appends a PostgreSQL text[] literal, `{"p1","p2"}`, of the LIKE forms of
 * the `n` patterns, for `name LIKE ANY ($1::text[])` with the literal sent
 * as a parameter. Array quoting (`"` and `\`) is applied on top.
 */
void optreg_glob_like_array(const char *const *patterns, size_t n,
			    struct optreg_buf *out);

#endif
