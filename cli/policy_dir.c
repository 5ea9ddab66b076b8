/*
 * cli/policy_dir.c: loading a folder of policy files and a waiver file for
 * the offline policy commands.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/alloc.h"
#include "../common/errcodes.h"
#include "../validator/doc.h"
#include "policy_dir.h"

void cli_policy_set_init(struct cli_policy_set *s)
{
	memset(s, 0, sizeof(*s));
}

void cli_policy_set_release(struct cli_policy_set *s)
{
	for (size_t i = 0; i < s->len; i++) {
		optreg_policy_free(s->items[i]);
		free(s->files[i]);
	}
	free(s->items);
	free(s->files);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool policy_file_name(const char *n)
{
	size_t len = strlen(n);

	if (n[0] == '.')
		return false;
	return (len > 5 && !strcmp(n + len - 5, ".yaml")) ||
	       (len > 4 && !strcmp(n + len - 4, ".yml")) ||
	       (len > 5 && !strcmp(n + len - 5, ".json"));
}

static int load_one(const char *cmd, const char *file, struct cli_policy_set *s,
		    cli_policy_report_fn report)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *p = NULL;
	int rc = optreg_policy_load_file(&p, file, &errs);

	if (rc) {
		if (report)
			report(file, &errs);
		else
			optreg_errors_print(stderr, file, &errs);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
	}
	for (size_t i = 0; i < s->len; i++)
		if (!strcmp(optreg_policy_name(s->items[i]),
			    optreg_policy_name(p))) {
			fprintf(stderr,
				"optreg %s: %s: policy \"%s\" is also defined "
				"in %s\nhint: give every policy its own name\n",
				cmd, file, optreg_policy_name(p), s->files[i]);
			optreg_policy_free(p);
			return OPTREG_EXIT_INVALID;
		}
	OPTREG_ALLOC_GROW(s->items, s->len + 1, s->cap);
	s->files = optreg_xrealloc(s->files, s->cap * sizeof(*s->files));
	s->items[s->len] = p;
	s->files[s->len] = optreg_xstrdup(file);
	s->len++;
	return 0;
}

int cli_policy_set_load(const char *cmd, const char *dir,
			struct cli_policy_set *s, cli_policy_report_fn report)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int status = 0;

	if (stat(dir, &st) != 0) {
		fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n", cmd, dir,
			strerror(errno));
		return OPTREG_EXIT_IO;
	}
	if (!S_ISDIR(st.st_mode))
		return load_one(cmd, dir, s, report);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n", cmd, dir,
			strerror(errno));
		return OPTREG_EXIT_IO;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!policy_file_name(de->d_name))
			continue;
		OPTREG_ALLOC_GROW(names, n + 1, cap);
		names[n++] = optreg_xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat fst;
		if (stat(names[i], &fst) == 0 && S_ISREG(fst.st_mode)) {
			int rc = load_one(cmd, names[i], s, report);
			if (rc > status)
				status = rc;
		}
		free(names[i]);
	}
	free(names);
	if (!status && !s->len) {
		fprintf(stderr,
			"optreg %s: no policy files (*.yaml, *.yml, *.json) "
			"in \"%s\"\n",
			cmd, dir);
		return OPTREG_EXIT_USAGE;
	}
	return status;
}

int cli_waivers_load(const char *cmd, const char *file, json_t **doc,
		     struct optreg_waiver **w, size_t *n)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc d;
	int rc;

	*doc = NULL;
	*w = NULL;
	*n = 0;
	optreg_doc_init(&d);
	rc = optreg_doc_load_file(&d, file, &errs);
	if (rc == 0)
		rc = optreg_policy_waivers_from_json(d.root, w, n, &errs);
	if (rc) {
		fprintf(stderr, "optreg %s: --waivers:\n", cmd);
		optreg_errors_print(stderr, file, &errs);
		optreg_errors_release(&errs);
		optreg_doc_release(&d);
		return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
	}
	*doc = json_incref(d.root);
	optreg_doc_release(&d);
	return 0;
}
