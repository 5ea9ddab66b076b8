/*
 * registry/store/tags.h: tags, moved by compare-and-set (one transaction
 * each, the SQL function move_tag of migrations/0001_registry.sql).
 */
#ifndef OPTREG_STORE_TAGS_H
#define OPTREG_STORE_TAGS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/jcs.h"

struct optreg_audit_actor;

/* A tag of a config; strings owned. */
struct optreg_tag {
	char *tag;
	int version;
	char digest[OPTREG_DIGEST_LEN + 1];
	char *updated_at, *updated_by;
};

struct optreg_tag_list {
	struct optreg_tag *items;
	size_t len;
};

void optreg_tag_list_release(struct optreg_tag_list *l);

/* The version tag ns/name/tag points at; OPTREG_ENOTFOUND. */
int optreg_store_resolve_tag(PGconn *conn, const char *ns, const char *name,
			     const char *tag, int *version,
			     struct optreg_errors *errs);

/* The tags of config ns/name by name (OPTREG_ENOTFOUND without the
 * config). Fills `out` (release it) on success. */
int optreg_store_list_tags(PGconn *conn, const char *ns, const char *name,
			   struct optreg_tag_list *out,
			   struct optreg_errors *errs);

/* Why a tag moves (borrowed; any field may be NULL). */
struct optreg_tag_why {
	const char *reason, *link;
	bool rollback;
	const json_t *gate; /* {policy, verdict, suite} of a gated move */
};

/* Compare-and-set, in the caller's transaction; `expected` < 0 means the
 * tag must not exist. When it moves, adds a row to tag_moves and the
 * audit event "tag.moved" (with reason, link, rollback and gate).
 * OPTREG_ENOTFOUND (config or version), OPTREG_ECONFLICT (rule
 * "conflict" or "yanked"). */
int optreg_store_move_tag(PGconn *conn, const char *ns, const char *name,
			  const char *tag, int version, int expected,
			  const struct optreg_audit_actor *who,
			  const struct optreg_tag_why *why, int *previous,
			  struct optreg_errors *errs);

/* Locks config ns/name (in the caller's transaction) and reads its id
 * and the version `tag` points at (-1: none). OPTREG_ENOTFOUND. */
int optreg_store_tag_lock(PGconn *conn, const char *ns, const char *name,
			  const char *tag, long long *config_id, int *current,
			  struct optreg_errors *errs);

/* As optreg_store_tag_lock, without the lock (for reads). */
int optreg_store_tag_peek(PGconn *conn, const char *ns, const char *name,
			  const char *tag, long long *config_id, int *current,
			  struct optreg_errors *errs);

/* Whether version `version` of config `config_id` is yanked, and its
 * canonical config bytes appended to `payload`. OPTREG_ENOTFOUND with no
 * error added. */
int optreg_store_tag_target(PGconn *conn, long long config_id, int version,
			    bool *yanked, struct optreg_buf *payload,
			    struct optreg_errors *errs);

/* The previous_version of the newest move of `tag` (-1: no move, or the
 * move that created the tag). */
int optreg_store_tag_last_previous(PGconn *conn, long long config_id,
				   const char *tag, int *previous,
				   struct optreg_errors *errs);

/* The moves of tag ns/name/tag newest first, below move id `before` (0:
 * from the newest), at most `limit`, as a new array of {id, version,
 * previous_version, moved_at, moved_by, reason, link, rollback}.
 * OPTREG_ENOTFOUND without the config. */
int optreg_store_tag_history(PGconn *conn, const char *ns, const char *name,
			     const char *tag, long long before, int limit,
			     json_t **out, struct optreg_errors *errs);

#endif
