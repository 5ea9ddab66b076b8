/*
 * tests/fuzz/fuzz_policy.c: fuzzes optreg_policy_load and, on what it
 * accepts, optreg_policy_evaluate, the result's JSON form, its denials and
 * optreg_policy_gate.
 *
 * Beyond memory safety it checks the contract: a refusal carries an error
 * and no policy; a loaded policy has a canonical form that canonicalizes
 * to itself; evaluation never fails, its counts add up to its items, and
 * every item has a policy, rule, path and message; the denials are exactly
 * the items with effect deny.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/doc.h"
#include "../../validator/jcs.h"
#include "../../validator/policy.h"
#include "fuzz.h"

static const char config_json[] =
	"{\"apiVersion\":\"optreg/v1\",\"kind\":\"OptimizerConfig\","
	"\"metadata\":{\"namespace\":\"team-nlp\",\"name\":\"bert\","
	"\"labels\":{\"precision\":\"fp16\"}},"
	"\"spec\":{\"optimizer\":\"adam\",\"lr\":0.5,\"betas\":[0.9,0.8],"
	"\"eps\":1e-9,\"weight_decay\":0.01,\"schedule\":{\"kind\":\"cosine\","
	"\"warmup_steps\":6000,\"total_steps\":10000},\"param_groups\":["
	"{\"match\":\"bias\",\"lr\":0.2,\"eps\":0.1},{\"match\":\"norm\","
	"\"betas\":[0.9,0.5]}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *p = NULL;
	struct optreg_doc cfg;
	struct optreg_policy_result r;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	int rc;

	optreg_doc_init(&cfg);
	optreg_policy_result_init(&r);
	rc = optreg_policy_load(&p, NULL, (const char *)data, size, &errs);
	fuzz_check_result("optreg_policy_load", rc, &errs, 0);
	FUZZ_CHECK((rc == 0) == (p != NULL), "load returned %d with policy %p",
		   rc, (void *)p);
	if (rc != 0)
		goto out;

	const struct optreg_buf *c = optreg_policy_canonical(p);
	FUZZ_CHECK(optreg_jcs_canonicalize(c->data, c->len, &canon, NULL) ==
				   0 &&
			   canon.len == c->len &&
			   memcmp(canon.data, c->data, c->len) == 0,
		   "the canonical form is not canonical");

	rc = optreg_doc_load_json(&cfg, config_json, strlen(config_json),
				  &errs);
	FUZZ_CHECK(rc == 0, "the fixed config does not load");
	json_t *prev = json_deep_copy(cfg.root);
	json_object_set_new(json_object_get(prev, "spec"), "lr",
			    json_real(0.001));
	json_object_set_new(json_object_get(prev, "spec"), "optimizer",
			    json_string("adamw"));
	struct optreg_waiver w = {.id = "w",
				  .policy = optreg_policy_name(p),
				  .rule = "r",
				  .namespace_ = "team-*",
				  .config = "*",
				  .expires_at = 2};
	struct optreg_policy_input in = {.namespace_ = "team-nlp",
					 .name = "bert",
					 .config = cfg.root,
					 .doc = &cfg,
					 .tag = "prod",
					 .previous = prev,
					 .waivers = &w,
					 .nwaivers = 1,
					 .now = 1};
	const struct optreg_policy *ps[] = {p};
	FUZZ_CHECK(optreg_policy_evaluate(ps, 1, &in, &r) == 0,
		   "evaluation failed");
	FUZZ_CHECK(r.denied + r.warned + r.audited + r.waived == r.len,
		   "counts do not add up to %zu", r.len);
	for (size_t i = 0; i < r.len; i++)
		FUZZ_CHECK(r.items[i].policy && r.items[i].rule &&
				   r.items[i].path && r.items[i].message,
			   "violation %zu lacks a field", i);
	json_t *j = optreg_policy_result_to_json(&r);
	FUZZ_CHECK(json_array_size(json_object_get(j, "violations")) == r.len,
		   "JSON form has another number of violations");
	json_decref(j);
	size_t before = errs.len;
	optreg_policy_result_denials(&r, OPTREG_EPOLICY, &errs);
	FUZZ_CHECK(errs.len - before == r.denied, "denials are not the denied");

	struct optreg_gate g;
	optreg_policy_gate(ps, 1, "team-nlp", "prod", &g);
	FUZZ_CHECK(!g.gated || !strcmp(g.policy, optreg_policy_name(p)),
		   "gate names another policy");
	json_decref(prev);
out:
	optreg_buf_release(&canon);
	optreg_policy_result_release(&r);
	optreg_doc_release(&cfg);
	optreg_policy_free(p);
	optreg_errors_release(&errs);
	return 0;
}
