/*
 * cli/policy_dir.h: what `optreg lint --policies` and `optreg policy test`
 * share offline: loading every policy file of a folder, and waivers from a
 * file.
 */
#ifndef OPTREG_CLI_POLICY_DIR_H
#define OPTREG_CLI_POLICY_DIR_H

#include <stddef.h>

#include <jansson.h>

#include "../validator/policy.h"

struct cli_policy_set {
	struct optreg_policy **items;
	char **files; /* the file each policy came from */
	size_t len, cap;
};

void cli_policy_set_init(struct cli_policy_set *s);
void cli_policy_set_release(struct cli_policy_set *s);

/* Reports the problems of one policy file that did not load. */
typedef void (*cli_policy_report_fn)(const char *file,
				     const struct optreg_errors *errs);

/*
 * Loads every *.yaml, *.yml and *.json file directly in the folder `dir`
 * (sorted by name; subfolders such as tests/ are not read), or the one
 * file `dir` when it is a file, into `s`. Every problem of every file is
 * passed to `report`, or, when it is NULL, printed on stderr as
 * `file:line:col: path: message` (with hints); two policies with one name
 * are refused. Returns 0, OPTREG_EXIT_INVALID or OPTREG_EXIT_IO (the
 * worst of the files).
 */
int cli_policy_set_load(const char *cmd, const char *dir,
			struct cli_policy_set *s, cli_policy_report_fn report);

/*
 * Reads waivers from the JSON or YAML file `file` (an array, or
 * {"waivers": [...]} as GET /v1/waivers answers) into *w and *n; *doc
 * keeps the tree the waivers' strings point into (json_decref it after
 * freeing *w). Prints what is wrong and returns an exit status, or 0.
 */
int cli_waivers_load(const char *cmd, const char *file, json_t **doc,
		     struct optreg_waiver **w, size_t *n);

#endif
