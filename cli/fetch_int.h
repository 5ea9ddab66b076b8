/*
 * cli/fetch_int.h: what cli/fetch.c (the command, online) and
 * cli/fetch_offline.c (lock files and the cache) share. Nothing else
 * includes it.
 */
#ifndef OPTREG_CLI_FETCH_INT_H
#define OPTREG_CLI_FETCH_INT_H

#include <stdbool.h>

#include "../common/keyset.h"
#include "cli.h"
#include "lock.h"

enum fetch_format {
	FORMAT_JSON,
	FORMAT_YAML,
	FORMAT_TORCH,
	FORMAT_ENV,
	FORMAT_CONFIGMAP,
};

/* A primary request the registry did not answer usefully (no answer, a
 * timeout, a 5xx), kept so the cache can stand in and, when it cannot,
 * the failure is reported as it would have been. */
struct fetch_down {
	bool set;
	long status; /* 0: no answer (transport) */
	struct optreg_errors errs;
	struct optreg_buf why; /* "connection refused", "HTTP 503 ..." */
};

#define FETCH_DOWN (-1) /* the registry is unavailable; `down` says why */

/* What to print and how far to check it. */
struct fetch_opts {
	enum fetch_format fmt;
	const char *output;
	bool verify;
	const char **pins; /* --registry-key files */
	size_t npins;
	const char *require; /* --require-verdict: "pass", "warn" or NULL */
	bool allow_yanked;
	const struct cli_lock *lock;	 /* --lock, or NULL */
	struct optreg_keyset *lock_keys; /* the lock's registry key */
	const char *cache;		 /* the cache folder, or NULL: none */
	const char *shown_ref;		 /* the reference as asked */
};

/* What a fetch found. */
struct fetch_result {
	struct optreg_buf canon;       /* the config's canonical bytes */
	struct optreg_http_resp resp;  /* the primary answer */
	struct optreg_http_resp vresp; /* a digest's version document */
	json_t *doc;		       /* the version document, or NULL */
	const struct optreg_buf *raw;  /* its bytes as answered */
	struct optreg_buf cached;      /* the bytes read from the cache */
	json_t *cached_keys;	       /* the cached signer keys, or NULL */
	struct cli_trust_result trust; /* after a verification */
	bool verified;
	bool from_cache;
};

void fetch_fetched_init(struct fetch_result *f);
void fetch_fetched_release(struct fetch_result *f);

/*
 * GETs `path`. Without `down` as cli_remote_request. With it, a transport
 * failure or a 5xx answer is not reported: it is recorded in `down` and
 * the result is FETCH_DOWN. Otherwise 0 (any other status) or an exit
 * status.
 */
int fetch_primary_get(struct cli_remote *r, const char *path,
		      struct optreg_http_resp *resp, struct fetch_down *down);

/* Reports a recorded failure as it would have been without the cache;
 * the exit status. */
int fetch_report_down(struct cli_remote *r, const struct fetch_down *down,
		      const struct optreg_http_resp *resp);

/* The keys a verification uses: the lock's, else --registry-key. */
struct cli_trust_keys fetch_trust_keys(const struct fetch_opts *o,
				       const json_t *signers);

/* Keeps a checked version document in the cache (a warning on failure). */
void fetch_cache_fill(const struct fetch_opts *o, struct fetch_result *f);

/*
 * The registry is unavailable (`down`): serves `ref` (a digest or a
 * version; with --lock, the lock's version) from the cache when an entry
 * passes every check it would have online, saying so on stderr. An entry
 * that fails is removed. Exit status: 0, the failure as it would have
 * been reported without the cache when there is no usable entry, or
 * OPTREG_EXIT_INVALID for an entry that failed its checks.
 */
int fetch_from_cache(struct cli_remote *r, const struct cli_ref *ref,
		     const struct fetch_opts *o, const struct fetch_down *down,
		     struct fetch_result *f);

/* Reads and parses --lock FILE, loading its key into o->lock_keys, and
 * checks that a pinned --registry-key includes it. Exit status. */
int fetch_lock_load(const char *file, struct cli_lock *lock,
		    struct fetch_opts *o);

#endif
