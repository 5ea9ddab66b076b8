/*
 * validator/names.h: the name rules of optreg, written once.
 *
 *   namespace    ^[a-z0-9][a-z0-9-]{0,62}$
 *   config name  ^[a-z0-9][a-z0-9._-]{0,127}$
 *   tag          ^[a-z0-9][a-z0-9._-]{0,63}$ and not all digits (a version)
 *   digest       sha256: and 64 lowercase hex digits
 *   key id       64 lowercase hex digits (hex SHA-256 of the key's SPKI)
 *   pattern      1 to 63 of [a-z0-9*?-], not starting with '-' (a namespace
 *                glob, common/glob.h)
 *   label key    ^[a-z0-9][a-z0-9._-]{0,62}$
 *   label value  ^[A-Za-z0-9._-]{0,63}$
 *   principal    1 to 200 bytes of printable UTF-8 (no control or
 *                format characters; see optreg_name_printable_len)
 *
 * Each check returns 0 or OPTREG_EINVAL. On refusal it appends one error to
 * `errs` (which may be NULL to ask only) with rule "pattern" (or
 * "tag_numeric" for an all-digit tag), the caller's `path` naming the field,
 * a message quoting the value, and a hint saying what is allowed. Checks
 * are byte-wise and do not depend on the locale.
 */
#ifndef OPTREG_NAMES_H
#define OPTREG_NAMES_H

#include "../common/buf.h"
#include "../common/error.h"

#define OPTREG_NAMESPACE_MAX   63
#define OPTREG_CONFIG_NAME_MAX 128
#define OPTREG_TAG_MAX	       64
#define OPTREG_NS_PATTERN_MAX  63
#define OPTREG_PRINCIPAL_MAX   200

int optreg_name_check_namespace(const char *s, const char *path,
				struct optreg_errors *errs);
int optreg_name_check_config(const char *s, const char *path,
			     struct optreg_errors *errs);
int optreg_name_check_tag(const char *s, const char *path,
			  struct optreg_errors *errs);
int optreg_name_check_digest(const char *s, const char *path,
			     struct optreg_errors *errs);
int optreg_name_check_keyid(const char *s, const char *path,
			    struct optreg_errors *errs);
int optreg_name_check_pattern(const char *s, const char *path,
			      struct optreg_errors *errs);
int optreg_name_check_label_key(const char *s, const char *path,
				struct optreg_errors *errs);
int optreg_name_check_label_value(const char *s, const char *path,
				  struct optreg_errors *errs);

/* A principal (who holds a token or a key): rule "principal". */
int optreg_name_check_principal(const char *s, const char *path,
				struct optreg_errors *errs);

/*
 * The length in bytes of the character at `s` (`n` bytes left, n > 0)
 * when it is a printable UTF-8 character, else 0: C0 and C1 controls,
 * DEL, invalid or overlong UTF-8, surrogates, and the invisible format
 * characters that reorder or hide text (U+061C, U+200B..U+200F,
 * U+2028..U+202E, U+2060..U+2069, U+FEFF). `*cp` (may be NULL) gets the
 * code point when the bytes are valid UTF-8, else -1.
 */
size_t optreg_name_printable_len(const char *s, size_t n, long *cp);

/*
 * Appends `s` quoted for a message, as every validator error shows a
 * string: in double quotes, `"` `\` and newline escaped, other controls as
 * \u00XX, cut after 64 bytes (never inside a UTF-8 sequence) with "...".
 */
void optreg_name_quote(struct optreg_buf *out, const char *s);

#endif
