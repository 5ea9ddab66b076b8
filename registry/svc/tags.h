/*
 * registry/svc/tags.h: tags of a config (the tags service). See svc.h.
 */
#ifndef OPTREG_SVC_TAGS_H
#define OPTREG_SVC_TAGS_H

#include <jansson.h>

#include "../../common/error.h"
#include "../store/tags.h"

struct registry;
struct optreg_audit_actor;

/* The version tag ns/name/tag points at. OPTREG_ENOTFOUND. */
int optreg_tags_resolve(struct registry *reg, const char *ns, const char *name,
			const char *tag, int *version,
			struct optreg_errors *errs);

/* The tags of ns/name; `out` is filled (release it) on success. */
int optreg_tags_list(struct registry *reg, const char *ns, const char *name,
		     struct optreg_tag_list *out, struct optreg_errors *errs);

/* Compare-and-set of tag ns/name/tag to `version` (audited): `expected`
 * is the version it points at now, or < 0 for a new tag; OPTREG_ECONFLICT
 * otherwise. Writes the version it pointed at (-1: none) to *previous. */
int optreg_tags_move(struct registry *reg, const struct optreg_audit_actor *who,
		     const char *ns, const char *name, const char *tag,
		     int version, int expected, int *previous,
		     struct optreg_errors *errs);

#endif
