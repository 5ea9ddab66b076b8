/*
 * cli/inputs.c: FILE arguments that are directories or glob patterns, the
 * summary table and the worst exit status. See inputs.h.
 */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/errcodes.h"
#include "output.h"

void cli_inputs_init(struct cli_inputs *in)
{
	memset(in, 0, sizeof(*in));
}

void cli_inputs_release(struct cli_inputs *in)
{
	for (size_t i = 0; i < in->len; i++)
		free(in->files[i]);
	free(in->files);
	free(in->why);
	cli_inputs_init(in);
}

static void append(struct cli_inputs *in, const char *path, const char *why)
{
	OPTREG_ALLOC_GROW(in->files, in->len + 1, in->alloc);
	OPTREG_ALLOC_GROW(in->why, in->len + 1, in->why_alloc);
	in->why[in->len] = why;
	in->files[in->len++] = optreg_xstrdup(path);
}

static void push(struct cli_inputs *in, const char *path)
{
	for (size_t i = 0; i < in->len; i++)
		if (!in->why[i] && !strcmp(in->files[i], path))
			return;
	append(in, path, NULL);
}

/* `why` is a static string: it is kept. */
static void missing(struct cli_inputs *in, const char *cmd, const char *arg,
		    const char *why, const char *detail)
{
	char *shown = cli_printable(arg);

	fprintf(stderr, "optreg %s: %s: %s%s%s\n", cmd, shown, why,
		detail ? ": " : "", detail ? detail : "");
	free(shown);
	append(in, arg, why);
	in->nmissing++;
	in->status = OPTREG_EXIT_IO;
}

/* True when `name` ends in .yaml, .yml or .json. */
static bool config_name(const char *name)
{
	static const char *const exts[] = {".yaml", ".yml", ".json"};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && !strcmp(name + n - e, exts[i]))
			return true;
	}
	return false;
}

/* `dir` + "/" + `name`, without doubling a trailing slash. */
static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "."))
		return optreg_xstrdup(name);
	return optreg_xasprintf("%s%s%s", dir,
				n && dir[n - 1] == '/' ? "" : "/", name);
}

/* `s` with glob(3)'s special characters (*, ?, [ and \\) escaped, so
 * that a path found on disk matches only itself. A new string. */
static char *glob_escape(const char *s)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	for (; *s; s++) {
		if (strchr("*?[\\", *s))
			optreg_buf_addch(&b, '\\');
		optreg_buf_addch(&b, *s);
	}
	return optreg_buf_detach(&b, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The visible entries of `dir`, sorted, as full paths: files (config
 * names only when `configs_only`) into *files, real directories into
 * *dirs. Returns 0 or an errno value.
 */
static int list_dir(const char *dir, bool configs_only, char ***files,
		    size_t *nfiles, char ***dirs, size_t *ndirs)
{
	size_t falloc = 0, dalloc = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	*files = NULL;
	*dirs = NULL;
	*nfiles = *ndirs = 0;
	if (!dp)
		return errno;
	while ((d = readdir(dp))) {
		struct stat st, lst;
		if (d->d_name[0] == '.')
			continue;
		char *p = join_path(dir, d->d_name);
		if (lstat(p, &lst) < 0 || stat(p, &st) < 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode) && !S_ISLNK(lst.st_mode)) {
			OPTREG_ALLOC_GROW(*dirs, *ndirs + 1, dalloc);
			(*dirs)[(*ndirs)++] = p;
		} else if (S_ISREG(st.st_mode) &&
			   (!configs_only || config_name(d->d_name))) {
			OPTREG_ALLOC_GROW(*files, *nfiles + 1, falloc);
			(*files)[(*nfiles)++] = p;
		} else {
			free(p);
		}
	}
	closedir(dp);
	if (*nfiles)
		qsort(*files, *nfiles, sizeof(char *), cmp_str);
	if (*ndirs)
		qsort(*dirs, *ndirs, sizeof(char *), cmp_str);
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Every config file under `dir`, recursively, in path order (files of a
 * directory before its subdirectories). A subdirectory that cannot be
 * read is said on stderr by its own path, recorded (status I/O) and
 * skipped; the walk goes on. Returns 0 or the errno value of `dir`
 * itself, which the caller reports.
 */
static int walk(struct cli_inputs *in, const char *cmd, const char *dir,
		size_t *found)
{
	char **files, **dirs;
	size_t nfiles, ndirs;
	int err = list_dir(dir, true, &files, &nfiles, &dirs, &ndirs);

	if (err)
		return err;
	for (size_t i = 0; i < nfiles; i++)
		push(in, files[i]);
	*found += nfiles;
	for (size_t i = 0; i < ndirs; i++) {
		int suberr = walk(in, cmd, dirs[i], found);
		if (suberr)
			missing(in, cmd, dirs[i], "cannot read the directory",
				strerror(suberr));
	}
	free_list(files, nfiles);
	free_list(dirs, ndirs);
	return 0;
}

/* `dir` and every directory under it (visible, not through links). */
static void all_dirs(const char *dir, char ***out, size_t *n, size_t *alloc)
{
	char **files, **dirs;
	size_t nfiles, ndirs;

	OPTREG_ALLOC_GROW(*out, *n + 1, *alloc);
	(*out)[(*n)++] = optreg_xstrdup(dir);
	if (list_dir(dir, true, &files, &nfiles, &dirs, &ndirs))
		return;
	for (size_t i = 0; i < ndirs; i++)
		all_dirs(dirs[i], out, n, alloc);
	free_list(files, nfiles);
	free_list(dirs, ndirs);
}

/*
 * Expands `pattern` into the paths it matches (files and directories),
 * appended to *out. A segment "**" matches zero or more directories.
 */
static void expand(const char *pattern, char ***out, size_t *n, size_t *alloc)
{
	const char *star = NULL;

	for (const char *p = pattern; (p = strstr(p, "**")); p += 2) {
		bool start = p == pattern || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';
		if (start && end) {
			star = p;
			break;
		}
	}
	if (star) {
		char *base = optreg_xstrndup(pattern, (size_t)(star - pattern));
		const char *rest = star[2] == '/' ? star + 3 : star + 2;
		char **dirs = NULL, **bases = NULL;
		size_t ndirs = 0, dalloc = 0, nbases = 0, balloc = 0;

		/* The part before "**" may be a pattern too. */
		if (!base[0]) {
			OPTREG_ALLOC_GROW(bases, 1, balloc);
			bases[nbases++] = optreg_xstrdup(".");
		} else {
			expand(base, &bases, &nbases, &balloc);
		}
		for (size_t i = 0; i < nbases; i++) {
			struct stat st;
			if (stat(bases[i], &st) == 0 && S_ISDIR(st.st_mode))
				all_dirs(bases[i], &dirs, &ndirs, &dalloc);
		}
		for (size_t i = 0; i < ndirs; i++) {
			if (!rest[0]) {
				OPTREG_ALLOC_GROW(*out, *n + 1, *alloc);
				(*out)[(*n)++] = optreg_xstrdup(dirs[i]);
				continue;
			}
			/* The directory as found, escaped: its name may
			 * hold *, ? or [ and is not a pattern. */
			char *lit = glob_escape(dirs[i]);
			char *sub = join_path(lit, rest);
			expand(sub, out, n, alloc);
			free(sub);
			free(lit);
		}
		free_list(dirs, ndirs);
		free_list(bases, nbases);
		free(base);
		return;
	}
	glob_t g;
	memset(&g, 0, sizeof(g));
	if (glob(pattern, 0, NULL, &g) == 0) {
		/* Hidden entries are left out as by the shell: glob(3)
		 * matches a leading '.' only when the pattern spells it. */
		for (size_t i = 0; i < g.gl_pathc; i++) {
			OPTREG_ALLOC_GROW(*out, *n + 1, *alloc);
			(*out)[(*n)++] = optreg_xstrdup(g.gl_pathv[i]);
		}
	}
	globfree(&g);
}

static void add_dir(struct cli_inputs *in, const char *cmd, const char *arg,
		    const char *dir)
{
	size_t found = 0;
	int err = walk(in, cmd, dir, &found);

	if (err)
		missing(in, cmd, arg, "cannot read the directory",
			strerror(err));
	else if (!found)
		missing(in, cmd, arg,
			"the directory holds no *.yaml, *.yml or *.json file",
			NULL);
}

void cli_inputs_add(struct cli_inputs *in, const char *cmd, const char *arg)
{
	struct stat st;

	if (!strcmp(arg, "-")) {
		push(in, arg);
		return;
	}
	if (stat(arg, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			add_dir(in, cmd, arg, arg);
		else
			push(in, arg);
		return;
	}
	if (!strpbrk(arg, "*?[")) {
		/* Not there: reading it reports why, in the file's row. */
		push(in, arg);
		return;
	}
	char **paths = NULL;
	size_t n = 0, alloc = 0, found = 0;
	expand(arg, &paths, &n, &alloc);
	/* Sorted as a whole, so that "**" lists in path order. */
	if (n)
		qsort(paths, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			int err = walk(in, cmd, paths[i], &found);
			if (err) {
				missing(in, cmd, paths[i],
					"cannot read the directory",
					strerror(err));
				found++; /* said: not "matches no file" */
			}
		} else {
			push(in, paths[i]);
			found++;
		}
	}
	free_list(paths, n);
	if (!found)
		missing(in, cmd, arg, "the pattern matches no file", NULL);
}

/* Rank of an exit status: higher is worse. */
static int rank(int status)
{
	static const int order[] = {
		OPTREG_EXIT_OK,		  OPTREG_EXIT_VERDICT_WARN,
		OPTREG_EXIT_TIMEOUT,	  OPTREG_EXIT_VERDICT_FAIL,
		OPTREG_EXIT_NOT_FOUND,	  OPTREG_EXIT_CONFLICT,
		OPTREG_EXIT_INVALID,	  OPTREG_EXIT_IO,
		OPTREG_EXIT_UNAVAILABLE,  OPTREG_EXIT_DENIED,
		OPTREG_EXIT_UNAUTHORIZED, OPTREG_EXIT_USAGE,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (order[i] == status)
			return (int)i;
	/* Anything else is treated as the worst but usage. */
	return (int)(sizeof(order) / sizeof(order[0])) - 2;
}

int cli_exit_worst(int a, int b)
{
	return rank(b) > rank(a) ? b : a;
}

void cli_outcomes_release(struct cli_outcomes *o)
{
	for (size_t i = 0; i < o->len; i++) {
		free(o->items[i].file);
		free(o->items[i].result);
		free(o->items[i].what);
		free(o->items[i].reason);
	}
	free(o->items);
	memset(o, 0, sizeof(*o));
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? optreg_xstrdup(s) : NULL;
}

void cli_outcomes_add(struct cli_outcomes *o, const char *file,
		      const char *result, const char *what, const char *reason,
		      int status)
{
	OPTREG_ALLOC_GROW(o->items, o->len + 1, o->alloc);
	struct cli_outcome *r = &o->items[o->len++];
	r->file = optreg_xstrdup(file);
	r->result = optreg_xstrdup(result);
	r->what = dup_or_null(what);
	r->reason = dup_or_null(reason);
	r->status = status;
}

/* The longest REASON cell, in bytes, before it is cut with "...". */
#define REASON_MAX 72

void cli_outcomes_print(FILE *out, const struct cli_outcomes *o,
			const char *what, int ok_too, int status)
{
	enum {
		NCOLS = 5
	};
	const char *head[NCOLS] = {"FILE", "RESULT", what, "EXIT", "REASON"};
	size_t n = o->len, width[NCOLS] = {0}, ok = 0;
	char **cells = optreg_xcalloc((n + 1) * NCOLS, sizeof(*cells));

	for (size_t c = 0; c < NCOLS; c++)
		cells[c] = optreg_xstrdup(head[c]);
	for (size_t i = 0; i < n; i++) {
		const struct cli_outcome *r = &o->items[i];
		char **row = cells + (i + 1) * NCOLS;
		char *reason = cli_printable(cli_cell(r->reason));
		char code[16];

		if (strlen(reason) > REASON_MAX) {
			/* Cut on a character boundary. */
			size_t cut = REASON_MAX - 3;
			while (cut && (reason[cut] & 0xC0) == 0x80)
				cut--;
			strcpy(reason + cut, "...");
		}
		snprintf(code, sizeof(code), "%d", r->status);
		row[0] = cli_printable(r->file);
		row[1] = cli_printable(r->result);
		row[2] = cli_printable(cli_cell(r->what));
		row[3] = optreg_xstrdup(code);
		row[4] = reason;
		if (r->status == OPTREG_EXIT_OK || r->status == ok_too)
			ok++;
	}
	for (size_t i = 0; i < (n + 1) * NCOLS; i++)
		if (strlen(cells[i]) > width[i % NCOLS])
			width[i % NCOLS] = strlen(cells[i]);
	for (size_t i = 0; i <= n; i++)
		for (size_t c = 0; c < NCOLS; c++)
			if (c + 1 < NCOLS)
				fprintf(out, "%-*s  ", (int)width[c],
					cells[i * NCOLS + c]);
			else
				fprintf(out, "%s\n", cells[i * NCOLS + c]);
	fprintf(out, "%zu file%s: %zu ok, %zu failed; exit status %d\n", n,
		n == 1 ? "" : "s", ok, n - ok, status);
	fflush(out);
	for (size_t i = 0; i < (n + 1) * NCOLS; i++)
		free(cells[i]);
	free(cells);
}
