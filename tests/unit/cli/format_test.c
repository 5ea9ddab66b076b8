/*
 * tests/unit/cli/format_test.c: the pipeline formats of `optreg fetch`
 * (cli/format.c): shell quoting, YAML string escapes, and what torch, env
 * and configmap print for a config with and without the optional parts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/format.h"
#include "validator/jcs.h"

/* No schedule, no clipping, no groups: the defaults show. */
#define MINIMAL                                                                \
	"{\"apiVersion\":\"optreg/v1\",\"kind\":\"OptimizerConfig\","          \
	"\"metadata\":{\"name\":\"b_x.1\",\"namespace\":\"team-a\"},"          \
	"\"spec\":{\"betas\":[0.9,0.999],\"eps\":1e-8,\"lr\":0.001,"           \
	"\"optimizer\":\"adam\",\"weight_decay\":0}}"

#define FULL                                                                   \
	"{\"apiVersion\":\"optreg/v1\",\"kind\":\"OptimizerConfig\","          \
	"\"metadata\":{\"description\":\"it's\",\"name\":\"bert\","            \
	"\"namespace\":\"team-a\"},"                                           \
	"\"spec\":{\"amsgrad\":true,\"betas\":[0.9,0.98],\"eps\":1e-8,"        \
	"\"grad_clip_norm\":0.5,\"lr\":0.0003,\"optimizer\":\"adamw\","        \
	"\"param_groups\":[{\"lr\":0.001,\"match\":\"^head\\\\.\"}],"          \
	"\"schedule\":{\"kind\":\"linear\",\"total_steps\":1000,"              \
	"\"warmup_steps\":100},\"weight_decay\":0.1}}"

static void render(int (*fn)(const struct optreg_buf *,
			     const struct cli_format_meta *,
			     struct optreg_buf *, struct optreg_buf *),
		   const char *config, struct optreg_buf *out)
{
	struct optreg_buf canon = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	struct cli_format_meta m = {.ref = "team-a/x@3", .version = 3};

	optreg_buf_adds(&canon, config);
	optreg_jcs_digest(canon.data, canon.len, digest);
	m.digest = digest;
	optreg_buf_reset(out);
	assert_int_equal(fn(&canon, &m, out, &why), 0);
	optreg_buf_release(&canon);
	optreg_buf_release(&why);
}

static void test_shell_quote(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	cli_format_shell_quote("a'b $(x) `y` \\ \"z\"\n", &b);
	assert_string_equal(b.data, "'a'\\''b $(x) `y` \\ \"z\"\n'");
	optreg_buf_reset(&b);
	cli_format_shell_quote("", &b);
	assert_string_equal(b.data, "''");
	optreg_buf_release(&b);
}

static void test_yaml_string(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	/* quote, backslash, newline, DEL, e-acute, NEL, U+2028, an emoji */
	cli_format_yaml_string("\"\\\n\x7f\xc3\xa9\xc2\x85\xe2\x80\xa8"
			       "\xf0\x9f\x98\x80ok",
			       &b);
	assert_string_equal(b.data, "\"\\\"\\\\\\x0a\\x7f\\xe9\\x85\\u2028"
				    "\\U0001f600ok\"");
	optreg_buf_release(&b);
}

static void test_torch(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	render(cli_format_torch, MINIMAL, &out);
	assert_non_null(strstr(out.data, "\"grad_clip_norm\":null"));
	assert_non_null(strstr(
		out.data, "\"kwargs\":{\"amsgrad\":false,\"betas\":[0.9,0.999],"
			  "\"eps\":1e-8,\"lr\":0.001,\"maximize\":false,"
			  "\"weight_decay\":0}"));
	assert_non_null(strstr(out.data, "\"optimizer\":\"Adam\""));
	assert_non_null(strstr(out.data, "\"param_groups\":[]"));
	assert_non_null(strstr(out.data, "\"kind\":\"constant\",\"min_lr\":0,"
					 "\"total_steps\":null,"
					 "\"warmup_steps\":0}"));
	assert_non_null(strstr(out.data, "\"ref\":\"team-a/x@3\""));
	assert_int_equal(out.data[out.len - 1], '\n');

	render(cli_format_torch, FULL, &out);
	assert_non_null(strstr(out.data, "\"optimizer\":\"AdamW\""));
	assert_non_null(strstr(out.data, "\"grad_clip_norm\":0.5"));
	assert_non_null(strstr(out.data, "\"param_groups\":[{\"lr\":0.001,"
					 "\"match\":\"^head\\\\.\"}]"));
	assert_non_null(strstr(out.data, "\"kind\":\"linear\""));
	assert_non_null(strstr(out.data, "lr + (min_lr - lr) * p"));
	assert_non_null(strstr(out.data, "\"total_steps\":1000"));
	optreg_buf_release(&out);
}

static void test_env(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	render(cli_format_env, FULL, &out);
	assert_non_null(strstr(out.data, "OPTREG_REF='team-a/x@3'\n"
					 "OPTREG_NAMESPACE='team-a'\n"
					 "OPTREG_NAME='bert'\n"
					 "OPTREG_VERSION='3'\n"
					 "OPTREG_DIGEST='sha256:"));
	assert_non_null(strstr(out.data, "OPTREG_OPTIMIZER='adamw'\n"
					 "OPTREG_LR='0.0003'\n"
					 "OPTREG_BETA1='0.9'\n"
					 "OPTREG_BETA2='0.98'\n"
					 "OPTREG_EPS='1e-8'\n"
					 "OPTREG_WEIGHT_DECAY='0.1'\n"
					 "OPTREG_AMSGRAD='true'\n"
					 "OPTREG_MAXIMIZE='false'\n"
					 "OPTREG_GRAD_CLIP_NORM='0.5'\n"
					 "OPTREG_SCHEDULE='linear'\n"
					 "OPTREG_WARMUP_STEPS='100'\n"
					 "OPTREG_TOTAL_STEPS='1000'\n"
					 "OPTREG_MIN_LR='0'\n"));
	assert_non_null(strstr(out.data, "OPTREG_DESCRIPTION='it'\\''s'\n"));
	render(cli_format_env, MINIMAL, &out);
	assert_non_null(strstr(out.data, "OPTREG_GRAD_CLIP_NORM=''\n"));
	assert_non_null(strstr(out.data, "OPTREG_TOTAL_STEPS=''\n"));
	assert_non_null(strstr(out.data, "OPTREG_CONFIG_JSON='" MINIMAL "'\n"));
	optreg_buf_release(&out);
}

static void test_configmap(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	render(cli_format_configmap, MINIMAL, &out);
	/* The name is a DNS label: '_' and '.' become '-'. */
	assert_non_null(strstr(out.data, "apiVersion: v1\nkind: ConfigMap\n"
					 "metadata:\n"
					 "  name: \"optreg-team-a-b-x-1\"\n"));
	assert_non_null(strstr(out.data, "    optreg.dev/version: \"3\"\n"));
	assert_null(strstr(out.data, "optreg.dev/receipt"));
	assert_non_null(strstr(out.data, "data:\n  optimizer.json: \"{\\\""
					 "apiVersion\\\":\\\"optreg/v1\\\","));
	optreg_buf_release(&out);
}

static void test_not_a_config(void **state)
{
	struct optreg_buf canon = OPTREG_BUF_INIT, out = OPTREG_BUF_INIT,
			  why = OPTREG_BUF_INIT;
	struct cli_format_meta m = {.ref = "x", .digest = "sha256:0"};

	(void)state;
	optreg_buf_adds(&canon, "{\"kind\":\"Other\"}");
	assert_int_equal(cli_format_torch(&canon, &m, &out, &why), -1);
	assert_non_null(strstr(why.data, "not a valid config"));
	optreg_buf_release(&canon);
	optreg_buf_release(&out);
	optreg_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_yaml_string),
		cmocka_unit_test(test_torch),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_configmap),
		cmocka_unit_test(test_not_a_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
