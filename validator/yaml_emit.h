/*
 * validator/yaml_emit.h: the other direction of doc.h's YAML loader:
 * writing a document tree as block YAML that the loader (and YAML 1.1
 * readers such as PyYAML) read back as the same tree.
 *
 * Strings that a plain scalar would turn into something else (null, yes,
 * on, 1e3, .inf, "", ...) are double-quoted; strings with a newline are
 * literal blocks where libyaml allows; numbers are written in their
 * RFC 8785 form, with `.0` added before an exponent (1.0e-7) so that YAML
 * 1.1 reads a float too. Keys keep the tree's order.
 */
#ifndef OPTREG_YAML_EMIT_H
#define OPTREG_YAML_EMIT_H

#include <jansson.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/error.h"

/*
 * Appends `root` (borrowed; a tree as the loaders make it) to `out` as one
 * block YAML document. Returns 0, or OPTREG_EINVAL with an
 * error in `errs` when libyaml refuses a value (a number that has no
 * RFC 8785 form, text that is not UTF-8); `out` then holds part of it.
 */
int optreg_doc_to_yaml(const json_t *root, struct optreg_buf *out,
		       struct optreg_errors *errs);

/*
 * Renders the RFC 8785 canonical JSON `canon` (`len` bytes) as YAML into
 * `out` and checks that the YAML loads back (optreg_doc_load_yaml) to
 * exactly `canon`. Returns 0, or a negative OPTREG_E* code with an error in
 * `errs`: the loader's code for input that is not JSON, OPTREG_EINVAL when
 * the YAML cannot be written or does not load back the same.
 */
int optreg_doc_yaml_of_canonical(const char *canon, size_t len,
				 struct optreg_buf *out,
				 struct optreg_errors *errs);

#endif
