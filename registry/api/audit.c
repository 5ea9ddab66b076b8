/*
 * registry/api/audit.c: the audit log: checkpoints, entries, proofs.
 * The log spans every namespace: auditor (or admin) on "*".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base64.h"
#include "../../validator/names.h"
#include "../svc/auditlog.h"
#include "api.h"

/* Proof errors (a size past the log, ...) are the client's: 400. */
static const struct api_fail_as proof_fail_as[] = {
	{OPTREG_EINVAL, OPTREG_EBADREQUEST, NULL, true},
	{0, 0, NULL, false},
};

static bool query_u64_or_reply(struct api_call *call, const char *name,
			       bool required, uint64_t dflt, uint64_t *out)
{
	const char *s = optreg_http_query(call->req, name);
	char *end;

	*out = dflt;
	if (!s) {
		if (!required)
			return true;
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "query parameter %s is required", name);
		return false;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-') {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "%s must be a non-negative integer (got \"%.40s\")",
			    name, s);
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

static json_t *hash_json(const unsigned char *h)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	json_t *j = json_string(b.data);
	optreg_buf_release(&b);
	return j;
}

static json_t *proof_json(const optreg_hash *proof, size_t len)
{
	json_t *h = json_array();

	for (size_t i = 0; i < len; i++)
		json_array_append_new(h, hash_json(proof[i]));
	return h;
}

/* Answers the checkpoint `note` (rc 0; NULL: none yet) with `status`,
 * or the problem for rc. */
static void checkpoint_reply(struct api_call *call, int rc, char *note,
			     unsigned status)
{
	if (rc) {
		api_fail(call, rc, &call->errs);
	} else if (!note) {
		api_problem(call, OPTREG_ENOTFOUND, NULL,
			    "no checkpoint has been signed yet; POST "
			    "/v1/audit/checkpoint makes one");
	} else {
		call->req->status = status;
		call->req->content_type = "text/plain; charset=utf-8";
		optreg_buf_adds(&call->req->resp, note);
	}
	free(note);
}

API_HANDLER(handle_audit_checkpoint)
static void handle_audit_checkpoint(struct api_call *call)
{
	char *note = NULL;

	if (!api_allow_or_reply(call, OPTREG_ROLE_AUDITOR, NULL))
		return;
	int rc = optreg_auditlog_checkpoint(call->reg, &note, &call->errs);
	checkpoint_reply(call, rc, note, 200);
}

API_HANDLER(handle_audit_checkpoint_make)
static void handle_audit_checkpoint_make(struct api_call *call)
{
	char *note = NULL;
	bool made = false;

	if (!api_allow_or_reply(call, OPTREG_ROLE_AUDITOR, NULL))
		return;
	int rc = optreg_auditlog_checkpoint_make(call->reg, &made, &note,
						 &call->errs);
	checkpoint_reply(call, rc, note, made ? 201 : 200);
}

/* True for an RFC 3339 date-time that exists: YYYY-MM-DDTHH:MM:SS, an
 * optional fraction, and Z or a numeric offset. PostgreSQL would refuse
 * the others with an error that is the client's, not ours. */
static bool rfc3339_ok(const char *t)
{
	int y, mo, d, h, mi, sec, n = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (strlen(t) > 40 ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return false;
	const char *p = t + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) &&
	    p[6] == '\0')
		return (p[1] - '0') * 10 + (p[2] - '0') < 24 &&
		       (p[4] - '0') * 10 + (p[5] - '0') < 60;
	return false;
}

/* Whether `s` is "ns/name" with valid names. */
static bool config_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	char ns[OPTREG_NAMESPACE_MAX + 2];
	size_t n = slash ? (size_t)(slash - s) : 0;

	if (!slash || n >= sizeof(ns))
		return false;
	memcpy(ns, s, n);
	ns[n] = '\0';
	return optreg_name_check_namespace(ns, "", NULL) == 0 &&
	       optreg_name_check_config(slash + 1, "", NULL) == 0;
}

static bool filter_or_reply(struct api_call *call,
			    struct optreg_audit_filter *f)
{
	uint64_t start, end, size;

	if (!query_u64_or_reply(call, "start", false, 0, &start) ||
	    !query_u64_or_reply(call, "end", false, UINT64_MAX, &end) ||
	    !query_u64_or_reply(call, "page_size", false, 100, &size))
		return false;
	if (size < 1 || size > 1000) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "page_size must be from 1 to 1000");
		return false;
	}
	f->actor = optreg_http_query(call->req, "actor");
	f->action = optreg_http_query(call->req, "action");
	f->target = optreg_http_query(call->req, "target");
	f->config = optreg_http_query(call->req, "config");
	if (f->config && !config_ok(f->config)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "config must be NAMESPACE/NAME, a namespace and a "
			    "config name (got \"%.140s\")",
			    f->config);
		return false;
	}
	f->since = optreg_http_query(call->req, "since");
	f->until = optreg_http_query(call->req, "until");
	for (int i = 0; i < 2; i++) {
		const char *t = i ? f->until : f->since;
		if (t && !rfc3339_ok(t)) {
			api_problem(call, OPTREG_EBADREQUEST, NULL,
				    "%s must be an RFC 3339 time (got "
				    "\"%.40s\")",
				    i ? "until" : "since", t);
			return false;
		}
	}
	f->start = start > INT64_MAX ? INT64_MAX : (int64_t)start;
	f->end = end == UINT64_MAX ? -1 : (int64_t)end;
	f->limit = (int)size;
	return true;
}

API_HANDLER(handle_audit_entries)
static void handle_audit_entries(struct api_call *call)
{
	struct optreg_audit_filter f = {0};

	if (!filter_or_reply(call, &f) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_AUDITOR, NULL))
		return;
	int rc = optreg_auditlog_entries(call->reg, &f, &call->req->resp,
					 &call->errs);
	if (rc) {
		optreg_buf_reset(&call->req->resp);
		api_fail(call, rc, &call->errs);
	} else {
		call->req->status = 200;
	}
}

API_HANDLER(handle_audit_inclusion)
static void handle_audit_inclusion(struct api_call *call)
{
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root;
	uint64_t index, size;
	size_t len = 0;

	if (!query_u64_or_reply(call, "index", true, 0, &index) ||
	    !query_u64_or_reply(call, "size", true, 0, &size) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_AUDITOR, NULL))
		return;
	int rc = optreg_auditlog_inclusion(call->reg, index, size, proof, &len,
					   root, &call->errs);
	if (rc)
		api_fail_as(call, rc, &call->errs, proof_fail_as);
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:I, s:I, s:o, s:o}", "index",
					   (json_int_t)index, "size",
					   (json_int_t)size, "root",
					   hash_json(root), "hashes",
					   proof_json(proof, len)));
}

API_HANDLER(handle_audit_consistency)
static void handle_audit_consistency(struct api_call *call)
{
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF];
	uint64_t from, to;
	size_t len = 0;

	if (!query_u64_or_reply(call, "from", true, 0, &from) ||
	    !query_u64_or_reply(call, "to", true, 0, &to) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_AUDITOR, NULL))
		return;
	int rc = optreg_auditlog_consistency(call->reg, from, to, proof, &len,
					     &call->errs);
	if (rc)
		api_fail_as(call, rc, &call->errs, proof_fail_as);
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:I, s:I, s:o}", "from",
					   (json_int_t)from, "to",
					   (json_int_t)to, "hashes",
					   proof_json(proof, len)));
}

const struct optreg_http_route api_audit_routes[] = {
	API_ROUTE("GET", "/v1/audit/checkpoint", handle_audit_checkpoint),
	API_ROUTE("POST", "/v1/audit/checkpoint", handle_audit_checkpoint_make),
	API_ROUTE("GET", "/v1/audit/entries", handle_audit_entries),
	API_ROUTE("GET", "/v1/audit/proof/inclusion", handle_audit_inclusion),
	API_ROUTE("GET", "/v1/audit/proof/consistency",
		  handle_audit_consistency),
};
const size_t api_audit_nroutes =
	sizeof(api_audit_routes) / sizeof(api_audit_routes[0]);
