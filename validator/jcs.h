/*
 * validator/jcs.h: RFC 8785 JSON Canonicalization Scheme and digests.
 *
 * Canonical form: object members sorted by the UTF-16 code units of their
 * names, no insignificant whitespace, strings with only the mandatory escapes
 * (\" \\ \b \f \n \r \t and \u00XX for other controls, lowercase hex), and
 * numbers in ECMAScript Number.prototype.toString form (shortest round-trip).
 */
#ifndef OPTREG_JCS_H
#define OPTREG_JCS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/error.h"

#define OPTREG_DIGEST_LEN 71 /* "sha256:" + 64 hex, without NUL */

/*
 * Decodes the UTF-8 sequence at s (n > 0 bytes available) into *cp and
 * returns its length (1-4), or 0 when the bytes are malformed: truncated,
 * overlong, above U+10FFFF or a stray continuation byte. A surrogate
 * (U+D800..DFFF) is decoded, not refused, so that callers can name it:
 * callers that want valid text refuse it themselves.
 */
size_t optreg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/*
 * Appends the ECMAScript string form of `v` to `out` (e.g. 1e+21, 5e-7,
 * 0.000001, -0 as "0"). Returns OPTREG_EINVAL for NaN and infinities.
 */
int optreg_jcs_number(double v, struct optreg_buf *out);

/*
 * Appends the canonical form of `value` (numbers must be json_real or
 * json_integer) to `out`. Returns OPTREG_EINVAL, with an error naming the
 * path, for non-finite numbers or strings/keys that are not valid UTF-8
 * (surrogates included), and OPTREG_ELIMIT for nesting deeper than 2048
 * (which also stops cyclic trees). On failure `out` is left as it was;
 * `errs` may be NULL. Keys containing U+0000 are supported.
 */
int optreg_jcs_serialize(const json_t *value, struct optreg_buf *out,
			 struct optreg_errors *errs);

/*
 * Parses JSON text and appends its canonical form: the whole pipeline for
 * `optreg canonicalize`. Refuses duplicate keys, NaN/Infinity (and numbers
 * that overflow a double) and lone surrogates, with OPTREG_ESYNTAX or
 * OPTREG_EINVAL and an error (rules "syntax", "utf8", "duplicate_key",
 * "non_finite", "surrogate", "nul_in_key": jansson cannot parse keys
 * containing U+0000; "depth" with OPTREG_ELIMIT). Line and column are
 * jansson's: the end of the offending token, counted in characters.
 */
int optreg_jcs_canonicalize(const char *json, size_t len,
			    struct optreg_buf *out, struct optreg_errors *errs);

/*
 * The digest of canonical bytes (a config's identity): writes
 * "sha256:<64 lowercase hex>" and a NUL into out[OPTREG_DIGEST_LEN + 1].
 * Aborts only if OpenSSL cannot compute SHA-256 at all.
 */
void optreg_jcs_digest(const void *data, size_t len,
		       char out[OPTREG_DIGEST_LEN + 1]);

#endif
