/*
 * common/path.h: finding the files that ship beside the programs.
 *
 * The registry's migrations, the runner's golden traces and its default
 * suite are found the same way: an environment variable when set, else
 * next to the running executable (bin/ sits one level below the checkout,
 * build/<kind>/bin/ three), else a path relative to the working directory.
 */
#ifndef OPTREG_PATH_H
#define OPTREG_PATH_H

enum optreg_path_kind {
	OPTREG_PATH_DIR,
	OPTREG_PATH_FILE,
};

/*
 * The first "<d>/<rel>" that exists and is of `kind`, where d is the
 * directory holding `exe`, then its parent, and so on for `levels`
 * directories in all; NULL when none is. The root directory is written as
 * "" (so "/rel"). Returns a malloc'd string the caller frees.
 */
char *optreg_path_beside(const char *exe, const char *rel,
			 enum optreg_path_kind kind, int levels);

/*
 * The path of a file shipped with optreg (malloc'd, never NULL): the value
 * of the environment variable `env` when it is set and not empty; else
 * optreg_path_beside() of the running executable (/proc/self/exe); else a
 * copy of `fallback`. Example: the registry's migrations are
 * optreg_path_beside_exe("OPTREG_MIGRATIONS", "../migrations",
 * OPTREG_PATH_DIR, 1, "migrations").
 */
char *optreg_path_beside_exe(const char *env, const char *rel,
			     enum optreg_path_kind kind, int levels,
			     const char *fallback);

#endif
