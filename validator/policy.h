/*
 * validator/policy.h: policy files, their evaluation, waivers and gates.
 *
 * docs/policies.md is the contract. A policy file (YAML or JSON, checked
 * against schema/policy.v1.json and then by the rules below) names the
 * namespaces it covers, a mode (enforce, warn, audit), rules that assert
 * on fields of a config, change rules that compare a config with the
 * version a tag points at now, and gates that protect tags.
 *
 * This one evaluator serves the registry (on submit, on tag moves, in
 * POST /v1/validate and in the dry run of a new policy) and the CLI
 * offline (`optreg lint --policies`, `optreg policy test`): the same
 * inputs give the same violations with the same messages everywhere.
 */
#ifndef OPTREG_POLICY_H
#define OPTREG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "doc.h"

/* Upper bounds a policy file must keep (refused with rule "limit"). */
#define OPTREG_POLICY_MAX_RULES 256
#define OPTREG_POLICY_MAX_GATES 32
#define OPTREG_POLICY_MAX_BYTES (256 * 1024)

enum optreg_policy_mode {
	OPTREG_POLICY_ENFORCE, /* deny rules block, warn rules warn */
	OPTREG_POLICY_WARN,    /* every violation is a warning */
	OPTREG_POLICY_AUDIT,   /* violations are recorded, never shown as
				  blocking or warning */
};

enum optreg_policy_severity {
	OPTREG_SEVERITY_DENY,
	OPTREG_SEVERITY_WARN,
};

/* What a violation does, after the mode and waivers are applied. */
enum optreg_policy_effect {
	OPTREG_EFFECT_DENY,
	OPTREG_EFFECT_WARN,
	OPTREG_EFFECT_AUDIT,
	OPTREG_EFFECT_WAIVED,
};

/* A loaded and checked policy; opaque. */
struct optreg_policy;

/*
 * Loads and checks one policy file of `len` bytes (YAML or JSON, chosen as
 * optreg_doc_load does from `name`, which may be NULL). Every problem is
 * appended to `errs` with the policy file's line and column (rule
 * "schema" problems by JSON path, plus "regex", "field" for an unknown
 * config field, "limit", "duplicate" for a repeated rule id, "change" for
 * `of: previous` in a rule without `against`). Returns 0
 * and *out (free with optreg_policy_free), or OPTREG_ESYNTAX /
 * OPTREG_EINVAL / OPTREG_ELIMIT with *out NULL.
 */
int optreg_policy_load(struct optreg_policy **out, const char *name,
		       const char *data, size_t len,
		       struct optreg_errors *errs);
/* As optreg_policy_load on a file; unreadable is OPTREG_EIO (rule "io"). */
int optreg_policy_load_file(struct optreg_policy **out, const char *path,
			    struct optreg_errors *errs);
void optreg_policy_free(struct optreg_policy *p);

/* The policy's name (borrowed). */
const char *optreg_policy_name(const struct optreg_policy *p);
/* The stored version (0 offline, set by the registry when it loads one). */
long optreg_policy_version(const struct optreg_policy *p);
void optreg_policy_set_version(struct optreg_policy *p, long version);
enum optreg_policy_mode optreg_policy_mode(const struct optreg_policy *p);
const char *optreg_policy_mode_name(enum optreg_policy_mode m);
const char *optreg_policy_severity_name(enum optreg_policy_severity s);
const char *optreg_policy_effect_name(enum optreg_policy_effect e);
/* The policy document in RFC 8785 form (what the registry stores and
 * digests), borrowed. */
const struct optreg_buf *optreg_policy_canonical(const struct optreg_policy *p);
/* True when the policy has a rule with this id. */
bool optreg_policy_has_rule(const struct optreg_policy *p, const char *id);
/* True when one of the policy's namespace patterns matches `ns`. */
bool optreg_policy_covers(const struct optreg_policy *p, const char *ns);

/*
 * A waiver: exempts one rule (`policy`/`rule`) for configs of one
 * namespace whose name matches the glob `config` (common/glob.h rules,
 * over config names), until `expires_at`. Strings borrowed by the
 * evaluator.
 */
struct optreg_waiver {
	const char *id; /* "wvr_<hex>" in the registry, any label offline */
	const char *policy;
	const char *rule;
	const char *namespace_;
	const char *config;
	const char *reason;
	const char *owner;
	time_t expires_at;
};

/*
 * What is evaluated. `config` is a config document that passed
 * validation (json tree, borrowed); `doc`, when not NULL, is the document
 * it was loaded from, for line and column. Change rules run only when
 * `tag` is set (the tag being moved, or the tag a dry run or lint asks
 * about) and matches one of the rule's `against` patterns, and
 * `previous` (the config the tag points at now, or NULL when the tag
 * does not exist yet: change rules are then skipped) is given.
 */
struct optreg_policy_input {
	const char *namespace_;
	const char *name;
	const json_t *config;
	const struct optreg_doc *doc;
	const char *tag;
	const json_t *previous;
	const struct optreg_waiver *waivers;
	size_t nwaivers;
	time_t now; /* waivers with expires_at <= now do not apply */
};

struct optreg_violation {
	char *policy; /* owned strings */
	long policy_version;
	char *rule;
	enum optreg_policy_severity severity;
	enum optreg_policy_effect effect;
	char *path; /* the concrete JSON path, e.g. spec.param_groups[1].eps */
	char *message; /* the rule's message */
	char *detail;  /* generated: the value(s) and the limit */
	char *hint;    /* the rule's hint, or NULL */
	char *waiver;  /* the waiver's id when effect is WAIVED, else NULL */
	int line, col; /* in the config's source, 0 when unknown */
};

struct optreg_policy_result {
	struct optreg_violation *items;
	size_t len, cap;
	size_t denied, warned, audited, waived; /* counts by effect */
};

void optreg_policy_result_init(struct optreg_policy_result *r);
void optreg_policy_result_release(struct optreg_policy_result *r);

/*
 * Evaluates every policy of `ps` that covers in->namespace_ and appends
 * its violations to `out`, in policy order then rule order. Never fails
 * on a valid config; returns 0.
 */
int optreg_policy_evaluate(const struct optreg_policy *const *ps, size_t n,
			   const struct optreg_policy_input *in,
			   struct optreg_policy_result *out);

/*
 * The JSON form of a result (new reference): {"violations": [{"policy",
 * "policy_version", "rule", "severity", "effect", "path", "message",
 * "detail", "hint", "waiver", "line", "col"}], "denied", "warned",
 * "audited", "waived"} (absent optional fields left out).
 */
json_t *optreg_policy_result_to_json(const struct optreg_policy_result *r);

/*
 * Appends each violation whose effect is DENY to `errs` as an error of
 * `code` (the registry passes OPTREG_EPOLICY), rule "<policy>/<rule>",
 * with path, message, detail, hint, line and col.
 */
void optreg_policy_result_denials(const struct optreg_policy_result *r,
				  int code, struct optreg_errors *errs);

/* A tag's promotion gate, merged over every covering policy that gates
 * it: the strictest wins (allow_warn only when every gate allows it). */
struct optreg_gate {
	bool gated;
	bool allow_warn;
	char policy[128]; /* the first gating policy's name, for messages */
};

/* Fills `out` for moving `tag` of a config in namespace `ns`. */
void optreg_policy_gate(const struct optreg_policy *const *ps, size_t n,
			const char *ns, const char *tag,
			struct optreg_gate *out);

/*
 * Parses an RFC 3339 timestamp (`2026-01-31T12:00:00Z`, fractions and
 * `+hh:mm` offsets allowed) into *out. Returns 0 or OPTREG_EINVAL.
 */
int optreg_policy_time_parse(const char *s, time_t *out);

/*
 * Reads waivers from `arr`, a JSON array of objects with the fields of
 * struct optreg_waiver ("namespace" for namespace_, "expires_at" in RFC
 * 3339), as GET /v1/waivers lists them and `optreg lint --waivers`
 * reads them; a `{"waivers": [...]}` object is taken too. Fills *out
 * (free with free(); its strings are borrowed from `arr`, which must
 * outlive it) and *n. A missing or malformed field is OPTREG_EINVAL with
 * an error naming it (rule "waiver", path "waivers[i].field").
 */
int optreg_policy_waivers_from_json(const json_t *arr,
				    struct optreg_waiver **out, size_t *n,
				    struct optreg_errors *errs);

#endif
