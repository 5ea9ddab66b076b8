/*
 * cli/exit.h: the exit statuses of `optreg`, part of the interface CI
 * scripts rely on.
 *
 * Registry commands map HTTP outcomes onto these (cli_exit_for_http): 400,
 * 413, 415 and 422 are INVALID (the registry refused the input), 401
 * UNAUTHORIZED, 403 DENIED, 404 NOT_FOUND, 409 CONFLICT (a tag
 * compare-and-set lost, or a tag aimed at a yanked version), and transport
 * failures, 5xx, 429, redirects and responses that are not what docs/api.md
 * promises are UNAVAILABLE. docs/cli.md is the reference.
 */
#ifndef OPTREG_CLI_EXIT_H
#define OPTREG_CLI_EXIT_H

enum {
	OPTREG_EXIT_OK = 0,
	OPTREG_EXIT_INVALID = 1,      /* a document failed validation */
	OPTREG_EXIT_USAGE = 2,	      /* wrong arguments */
	OPTREG_EXIT_IO = 3,	      /* a file could not be read or written */
	OPTREG_EXIT_DENIED = 4,	      /* 403: the token lacks the role */
	OPTREG_EXIT_CONFLICT = 5,     /* 409: compare-and-set failed, yanked */
	OPTREG_EXIT_UNAUTHORIZED = 6, /* 401: no, bad or expired token */
	OPTREG_EXIT_UNAVAILABLE = 7,  /* no answer, 5xx, broken answer */
	OPTREG_EXIT_NOT_FOUND = 8,    /* 404: no such config/version/tag */
};

#endif
