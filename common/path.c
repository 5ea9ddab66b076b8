/*
 * common/path.c: files beside the executable.
 */
#include "path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

char *optreg_path_beside(const char *exe, const char *rel,
			 enum optreg_path_kind kind, int levels)
{
	char *dir = optreg_xstrdup(exe);

	for (int up = 0; up < levels; up++) {
		char *slash = strrchr(dir, '/');
		struct stat st;
		char *path;

		if (!slash)
			break;
		*slash = '\0';
		path = optreg_xasprintf("%s/%s", dir, rel);
		if (stat(path, &st) == 0 &&
		    (kind == OPTREG_PATH_DIR ? S_ISDIR(st.st_mode)
					     : S_ISREG(st.st_mode))) {
			free(dir);
			return path;
		}
		free(path);
	}
	free(dir);
	return NULL;
}

char *optreg_path_beside_exe(const char *env, const char *rel,
			     enum optreg_path_kind kind, int levels,
			     const char *fallback)
{
	const char *value = env ? getenv(env) : NULL;
	char exe[PATH_MAX], *found;
	ssize_t n;

	if (value && *value)
		return optreg_xstrdup(value);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		found = optreg_path_beside(exe, rel, kind, levels);
		if (found)
			return found;
	}
	return optreg_xstrdup(fallback);
}
