/*
 * cli/format.h: the output formats of `optreg fetch` for training
 * pipelines: `torch` (what torch.optim.Adam/AdamW take), `env` (shell
 * variables) and `configmap` (a Kubernetes ConfigMap). docs/cli.md shows
 * each.
 */
#ifndef OPTREG_CLI_FORMAT_H
#define OPTREG_CLI_FORMAT_H

#include <jansson.h>

#include "../common/buf.h"

/* Where a config came from, for the formats that say so. */
struct cli_format_meta {
	const char *ref;       /* as asked: "team-nlp/bert@prod" */
	const char *ns, *name; /* NULL: unknown */
	long version;	       /* 0: unknown */
	const char *digest;    /* "sha256:..." */
	const json_t *receipt; /* the receipt envelope, or NULL */
};

/*
 * Renders the canonical config `canon` (RFC 8785 bytes of a valid config)
 * as one of the formats, appending to `out`. Each returns 0, or -1 with
 * why in `why` when `canon` is not a valid config.
 *
 * torch: one JSON object (canonical key order) and a newline:
 *   {"optimizer": "Adam"|"AdamW", "kwargs": {lr, betas, eps,
 *   weight_decay, amsgrad, maximize}, "param_groups": [{"match", and the
 *   overrides it sets, as torch names}], "grad_clip_norm": x|null,
 *   "schedule": {kind, warmup_steps, total_steps|null, min_lr, formula},
 *   "digest", "ref"}
 * env: OPTREG_NAME='value' lines, every value in single quotes, so that
 *   `. FILE` or `eval "$(...)"` in any POSIX shell sets them and runs
 *   nothing.
 * configmap: a Kubernetes ConfigMap (YAML) whose data "optimizer.json" is
 *   the canonical config, annotated with optreg.dev/ref, /digest, /version
 *   and /receipt; every string a double-quoted scalar with everything
 *   outside printable ASCII escaped.
 */
int cli_format_torch(const struct optreg_buf *canon,
		     const struct cli_format_meta *m, struct optreg_buf *out,
		     struct optreg_buf *why);
int cli_format_env(const struct optreg_buf *canon,
		   const struct cli_format_meta *m, struct optreg_buf *out,
		   struct optreg_buf *why);
int cli_format_configmap(const struct optreg_buf *canon,
			 const struct cli_format_meta *m,
			 struct optreg_buf *out, struct optreg_buf *why);

/* Appends `s` in single quotes for a POSIX shell ('\'' for each '). */
void cli_format_shell_quote(const char *s, struct optreg_buf *out);

/* Appends `s` (UTF-8) as a YAML double-quoted scalar in printable ASCII:
 * '"' and '\' escaped, everything else outside 0x20-0x7e as \xXX, \uXXXX
 * or \UXXXXXXXX. */
void cli_format_yaml_string(const char *s, struct optreg_buf *out);

#endif
