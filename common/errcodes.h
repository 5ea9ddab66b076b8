/*
 * common/errcodes.h: the one table of error codes.
 *
 * Every error optreg reports has one row here, as libuv's UV_ERRNO_MAP does:
 * the OPTREG_E* enum, its number, its stable short name, the problem `code`
 * on the wire (docs/api.md), the HTTP status the registry answers with, the
 * CLI exit status (docs/cli.md) and the HTTP title (reason phrase). The enum
 * and every optreg_code_* lookup in common/error.h come from these rows, and
 * tests/unit/common/error_test.c checks docs/api.md and docs/cli.md against
 * them both ways, so code and docs cannot disagree.
 *
 * Two lists make the table:
 *  - OPTREG_PROBLEM_MAP: the codes the registry sends as a problem `code`.
 *    Each has its own wire name, and its exit status is the one the CLI has
 *    always derived from the HTTP status (400, 405, 413, 415 and 422 are
 *    INVALID, 401 UNAUTHORIZED, 403 DENIED, 404 NOT_FOUND, 409 CONFLICT,
 *    5xx UNAVAILABLE).
 *  - OPTREG_LOCAL_MAP: codes the programs report locally (a file that cannot
 *    be read, a bad argument, malformed YAML) and that the registry never
 *    sends. Their wire name is their short name and their status is the one
 *    a registry handler would answer with if one escaped.
 *
 * Columns: XX(ENUM, number, name, problem, http_status, exit, title).
 * Numbers are stable: they are never reused or renumbered.
 */
#ifndef OPTREG_ERRCODES_H
#define OPTREG_ERRCODES_H

/*
 * CLI exit statuses, the same for every command (docs/cli.md). Registry
 * commands take them from the error code of the registry's problem
 * (optreg_code_exit), which gives what the HTTP status always gave.
 */
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
	/* Verdict outcomes (submit --wait, fetch --require-verdict): */
	OPTREG_EXIT_VERDICT_WARN = 10, /* the verdict is warn */
	OPTREG_EXIT_VERDICT_FAIL = 11, /* fail or error, or none when one is
					  required */
	OPTREG_EXIT_TIMEOUT = 12,      /* no verdict within --timeout */
	/* `optreg diff`: the two configs differ (diff(1)'s 1, which is
	   taken by OPTREG_EXIT_INVALID here): */
	OPTREG_EXIT_DIFFERENT = 13,
};

/* clang-format off */
#define OPTREG_LOCAL_MAP(XX)                                                   \
	XX(ENOMEM, -1, "out_of_memory", "out_of_memory", 500,                  \
	   OPTREG_EXIT_UNAVAILABLE, "Internal Server Error")                   \
	XX(EIO, -2, "io", "io", 500, OPTREG_EXIT_IO,                           \
	   "Internal Server Error")                                            \
	XX(ESYNTAX, -3, "syntax", "syntax", 400, OPTREG_EXIT_INVALID,          \
	   "Bad Request")                                                      \
	XX(EUSAGE, -5, "usage", "usage", 400, OPTREG_EXIT_USAGE,               \
	   "Bad Request")

#define OPTREG_PROBLEM_MAP(XX)                                                 \
	XX(EBADREQUEST, -13, "bad_request", "bad_request", 400,                \
	   OPTREG_EXIT_INVALID, "Bad Request")                                 \
	XX(EBADENVELOPE, -14, "bad_envelope", "bad_envelope", 400,             \
	   OPTREG_EXIT_INVALID, "Bad Request")                                 \
	XX(ENOTCANONICAL, -15, "not_canonical", "not_canonical", 400,          \
	   OPTREG_EXIT_INVALID, "Bad Request")                                 \
	XX(EUNAUTH, -10, "unauthorized", "unauthorized", 401,                  \
	   OPTREG_EXIT_UNAUTHORIZED, "Unauthorized")                           \
	XX(EDENIED, -9, "forbidden", "forbidden", 403, OPTREG_EXIT_DENIED,     \
	   "Forbidden")                                                        \
	XX(ESIGREFUSED, -16, "signature_refused", "signature_refused", 403,    \
	   OPTREG_EXIT_DENIED, "Forbidden")                                    \
	XX(ENOTFOUND, -7, "not_found", "not_found", 404,                       \
	   OPTREG_EXIT_NOT_FOUND, "Not Found")                                 \
	XX(EMETHOD, -17, "method_not_allowed", "method_not_allowed", 405,      \
	   OPTREG_EXIT_INVALID, "Method Not Allowed")                          \
	XX(ECONFLICT, -8, "conflict", "conflict", 409, OPTREG_EXIT_CONFLICT,   \
	   "Conflict")                                                         \
	XX(EYANKED, -18, "yanked", "yanked", 409, OPTREG_EXIT_CONFLICT,        \
	   "Conflict")                                                         \
	XX(ELEASELOST, -19, "lease_lost", "lease_lost", 409,                   \
	   OPTREG_EXIT_CONFLICT, "Conflict")                                   \
	XX(ERECORDED, -20, "recorded", "recorded", 409, OPTREG_EXIT_CONFLICT,  \
	   "Conflict")                                                         \
	XX(EGATE, -26, "gate_refused", "gate_refused", 409,                    \
	   OPTREG_EXIT_CONFLICT, "Conflict")                                   \
	XX(ELIMIT, -6, "limit", "too_large", 413, OPTREG_EXIT_INVALID,         \
	   "Content Too Large")                                                \
	XX(EMEDIATYPE, -21, "unsupported_media_type",                          \
	   "unsupported_media_type", 415, OPTREG_EXIT_INVALID,                 \
	   "Unsupported Media Type")                                           \
	XX(EINVAL, -4, "invalid", "invalid_config", 422, OPTREG_EXIT_INVALID,  \
	   "Unprocessable Content")                                            \
	XX(EPOLICY, -25, "policy_denied", "policy_denied", 422,                \
	   OPTREG_EXIT_INVALID, "Unprocessable Content")                       \
	XX(EBADPOLICY, -27, "invalid_policy", "invalid_policy", 422,           \
	   OPTREG_EXIT_INVALID, "Unprocessable Content")                       \
	XX(ENAMEMISMATCH, -22, "name_mismatch", "name_mismatch", 422,          \
	   OPTREG_EXIT_INVALID, "Unprocessable Content")                       \
	XX(EBADVERDICT, -23, "invalid_verdict", "invalid_verdict", 422,        \
	   OPTREG_EXIT_INVALID, "Unprocessable Content")                       \
	XX(ERATELIMITED, -24, "rate_limited", "rate_limited", 429,             \
	   OPTREG_EXIT_UNAVAILABLE, "Too Many Requests")                       \
	XX(EINTERNAL, -12, "internal", "internal", 500,                        \
	   OPTREG_EXIT_UNAVAILABLE, "Internal Server Error")                   \
	XX(EUNAVAILABLE, -11, "unavailable", "unavailable", 503,               \
	   OPTREG_EXIT_UNAVAILABLE, "Service Unavailable")

/* Every row: the local codes, then the ones on the wire. */
#define OPTREG_ERRNO_MAP(XX) OPTREG_LOCAL_MAP(XX) OPTREG_PROBLEM_MAP(XX)
/* clang-format on */

#define OPTREG_ERRNO_GEN(e, num, name, problem, status, exit, title)           \
	OPTREG_##e = (num),

enum optreg_code {
	OPTREG_OK = 0,
	OPTREG_ERRNO_MAP(OPTREG_ERRNO_GEN)
};

#undef OPTREG_ERRNO_GEN

#endif
