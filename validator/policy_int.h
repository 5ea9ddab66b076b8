/*
 * validator/policy_int.h: what policy_load.c (loading and checking a
 * policy file) and policy.c (evaluation) share. Private to the policy
 * module.
 */
#ifndef OPTREG_POLICY_INT_H
#define OPTREG_POLICY_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../common/buf.h"
#include "policy.h"

/* One step of a field path: `.key` / `["key"]`, `[N]` or `[*]`. */
enum policy_seg_kind {
	POLICY_SEG_KEY,
	POLICY_SEG_INDEX,
	POLICY_SEG_ALL,
};

struct policy_seg {
	enum policy_seg_kind kind;
	char *key; /* POLICY_SEG_KEY, owned */
	size_t index;
};

struct policy_path {
	char *text; /* as written in the policy, owned */
	struct policy_seg *segs;
	size_t nsegs;
	bool wildcard; /* has a [*] step */
};

/* A bound: a number, or another field of the same config times K. */
struct policy_operand {
	bool set;
	bool is_field;
	double num;
	struct policy_path field;
	double times;
};

/* A field and the assertions on it (all must hold). */
struct policy_cond {
	struct policy_path field;
	bool of_previous; /* when: { of: previous } */
	struct policy_operand at_least, at_most, above, below;
	json_t *equals; /* owned reference, or NULL */
	json_t *one_of; /* owned reference (array), or NULL */
	char *pattern;	/* owned, or NULL */
	regex_t re;	/* compiled `pattern` when has_re */
	bool has_re;
	int present; /* -1 not asked, 0 present: false, 1 present: true */
	bool has_max_ratio;
	double max_ratio;
	bool unchanged;
};

struct policy_rule {
	char *id;
	enum optreg_policy_severity severity;
	struct policy_cond *when;
	size_t nwhen;
	struct policy_cond assert;
	char **against; /* tag globs; a change rule when nagainst > 0 */
	size_t nagainst;
	char *message;
	char *hint; /* or NULL */
};

struct policy_gate {
	char **tags;
	size_t ntags;
	bool allow_warn;
};

struct optreg_policy {
	char *name;
	char *description; /* or NULL */
	long version;
	enum optreg_policy_mode mode;
	char **namespaces;
	size_t nnamespaces;
	struct policy_rule *rules;
	size_t nrules;
	struct policy_gate *gates;
	size_t ngates;
	struct optreg_buf canonical;
};

/*
 * Parses a field path (`spec.param_groups[*].eps`, `metadata.labels.team`,
 * `metadata.labels["a.b"]`) into `p` (released by policy_path_release).
 * Returns false, with `p` empty, when it is not a path.
 */
bool policy_path_parse(struct policy_path *p, const char *text);
void policy_path_release(struct policy_path *p);

/* True when the path names a field an OptimizerConfig v1 may have. */
bool policy_path_known(const struct policy_path *p);

/* Loading: where errors go and where they are positioned. */
struct policy_lctx {
	const struct optreg_doc *doc;
	struct optreg_errors *errs;
	size_t nerrs_at_start;
};

/* Appends an error of `code` and `rule` at `path`, with the line and
 * column of `path` (or its nearest recorded ancestor) in the policy. */
struct optreg_error *policy_fail(const struct policy_lctx *c, int code,
				 const char *rule, const char *path,
				 const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* `path` + `.key` / `[i]`, malloc'd. */
char *policy_child(const char *path, const char *key);
char *policy_item(const char *path, size_t i);

/* The schema layer (policy_schema.c): every problem with rule "schema". */
void policy_check_schema(const struct policy_lctx *c, const json_t *root);

/* Frees a condition's members (not the struct). */
void policy_cond_release(struct policy_cond *c);

#endif
