/*
 * cli/ref.h: references to configs as commands take them:
 * `NAMESPACE/NAME`, `NAMESPACE/NAME@VERSION`, `NAMESPACE/NAME@TAG` and
 * `sha256:DIGEST`.
 */
#ifndef OPTREG_CLI_REF_H
#define OPTREG_CLI_REF_H

#include <jansson.h>

#include "../common/buf.h"
#include "../validator/jcs.h"

enum cli_ref_kind {
	CLI_REF_CONFIG = 1,  /* ns/name */
	CLI_REF_VERSION = 2, /* ns/name@7 */
	CLI_REF_TAG = 4,     /* ns/name@prod */
	CLI_REF_DIGEST = 8,  /* sha256:<64 lowercase hex> */
};

struct cli_ref {
	enum cli_ref_kind kind;
	char ns[64];
	char name[129];
	long version;			    /* CLI_REF_VERSION */
	char tag[65];			    /* CLI_REF_TAG */
	char digest[OPTREG_DIGEST_LEN + 1]; /* CLI_REF_DIGEST */
};

/*
 * Parses a reference of one of the kinds in the `allowed` mask, checking
 * names as docs/api.md defines them (namespace [a-z0-9][a-z0-9-]{0,62},
 * name [a-z0-9][a-z0-9._-]{0,127}, tag [a-z0-9][a-z0-9._-]{0,63} and not
 * all digits). Returns 0, or -1 with a message in `why`.
 */
int cli_ref_parse(const char *s, unsigned allowed, struct cli_ref *ref,
		  struct optreg_buf *why);

/*
 * cli_ref_parse for a command's argument: on failure prints
 * `optreg CMD: WHY` on stderr and returns OPTREG_EXIT_USAGE; else 0.
 */
int cli_ref_arg(const char *cmd, const char *s, unsigned allowed,
		struct cli_ref *ref);

/* True when `ns` is a valid namespace name. */
int cli_namespace_valid(const char *ns);

/* True when `tag` is a valid tag name. */
int cli_tag_valid(const char *tag);

/* Prints `ns/name@tag -> N (was M)`, `(unchanged)` or `(new tag)` from the
 * answer to a tag PUT. */
void cli_print_tag_move(const struct cli_ref *ref, const char *tag,
			long version, const json_t *answer);

/* Appends "/v1/configs/{ns}/{name}", percent-encoded. */
void cli_config_path(struct optreg_buf *path, const struct cli_ref *ref);

struct cli_remote;

/*
 * `ns/name` with no `@` means the config's latest version: turns a
 * CLI_REF_CONFIG reference into the CLI_REF_VERSION of the newest version
 * (yanked or not) the registry lists, and leaves other kinds alone.
 * Returns 0, or the exit status after reporting the failure (a config
 * without versions is OPTREG_EXIT_NOT_FOUND, `optreg CMD: ns/name has no
 * versions`).
 */
int cli_ref_latest(struct cli_remote *r, struct cli_ref *ref);

#endif
