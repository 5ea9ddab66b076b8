/*
 * registry/store/tags.h: tags, moved by compare-and-set (one transaction
 * each, the SQL function move_tag of migrations/0001_registry.sql).
 */
#ifndef OPTREG_STORE_TAGS_H
#define OPTREG_STORE_TAGS_H

#include <libpq-fe.h>
#include <stddef.h>

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

/* Compare-and-set; `expected` < 0 means the tag must not exist. Audited
 * ("tag.moved") when it moves. OPTREG_ENOTFOUND (config or version),
 * OPTREG_ECONFLICT (rule "conflict" or "yanked"). */
int optreg_store_move_tag(PGconn *conn, const char *ns, const char *name,
			  const char *tag, int version, int expected,
			  const struct optreg_audit_actor *who, int *previous,
			  struct optreg_errors *errs);

#endif
