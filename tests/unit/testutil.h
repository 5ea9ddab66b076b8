/*
 * tests/unit/testutil.h: helpers shared by the unit tests (header-only).
 */
#ifndef OPTREG_TESTUTIL_H
#define OPTREG_TESTUTIL_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Switches LC_NUMERIC to a locale whose decimal point is a comma, so tests
 * can prove number parsing and printing ignore the process locale. Uses an
 * installed de_DE/fr_FR locale when there is one; otherwise compiles de_DE
 * with localedef (Debian's `locales` package, which bootstrap installs) into
 * a temporary LOCPATH. Returns false when neither works; the caller fails.
 * Call test_restore_locale() afterwards.
 */
static inline int test_use_comma_locale(void)
{
	static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",
					    "fr_FR.UTF-8", "fr_FR.utf8"};
	static char dir[] = "/tmp/optreg-locale.XXXXXX";
	char cmd[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (setlocale(LC_NUMERIC, names[i]) &&
		    !strcmp(localeconv()->decimal_point, ","))
			return 1;
	if (!mkdtemp(dir))
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
		 dir);
	int rc = system(cmd);
	setenv("LOCPATH", dir, 1);
	int ok = rc == 0 && setlocale(LC_NUMERIC, "de_DE.UTF-8") &&
		 !strcmp(localeconv()->decimal_point, ",");
	/* glibc has loaded the locale; the files can go. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
	return ok;
}

static inline void test_restore_locale(void)
{
	setlocale(LC_NUMERIC, "C");
}

#endif
