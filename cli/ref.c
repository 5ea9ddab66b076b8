/*
 * cli/ref.c: parsing config references and the name rules they check.
 */
#include <stdio.h>
#include <string.h>

#include "../common/errcodes.h"
#include "../common/http_client.h"
#include "../validator/names.h"
#include "args.h"
#include "output.h"
#include "ref.h"
#include "remote.h"

/* A name check of validator/names.h. */
typedef int (*name_check)(const char *s, const char *path,
			  struct optreg_errors *errs);

/* Whether the `len` bytes at `s` (not NUL-terminated) pass `check`. */
static int part_valid(const char *s, size_t len, name_check check)
{
	char part[OPTREG_CONFIG_NAME_MAX + 2]; /* the longest name, and one */

	if (len >= sizeof(part))
		return 0;
	memcpy(part, s, len);
	part[len] = '\0';
	return check(part, NULL, NULL) == 0;
}

int cli_namespace_valid(const char *ns)
{
	return optreg_name_check_namespace(ns, NULL, NULL) == 0;
}

int cli_tag_valid(const char *tag)
{
	return optreg_name_check_tag(tag, NULL, NULL) == 0;
}

static const char *kind_list(unsigned allowed)
{
	switch (allowed) {
	case CLI_REF_CONFIG:
		return "NAMESPACE/NAME";
	case CLI_REF_VERSION:
		return "NAMESPACE/NAME@VERSION";
	case CLI_REF_VERSION | CLI_REF_TAG:
		return "NAMESPACE/NAME@VERSION or NAMESPACE/NAME@TAG";
	}
	return "NAMESPACE/NAME@VERSION, NAMESPACE/NAME@TAG or sha256:DIGEST";
}

int cli_ref_parse(const char *s, unsigned allowed, struct cli_ref *ref,
		  struct optreg_buf *why)
{
	const char *slash, *at, *name;
	size_t nslen, namelen;

	memset(ref, 0, sizeof(*ref));
	if (!strncmp(s, "sha256:", 7)) {
		if (!(allowed & CLI_REF_DIGEST)) {
			optreg_buf_addf(why, "\"%s\": expected %s", s,
					kind_list(allowed));
			return -1;
		}
		if (optreg_name_check_digest(s, NULL, NULL) < 0) {
			optreg_buf_addf(why,
					"\"%s\": a digest is sha256: and 64 "
					"lowercase hex digits",
					s);
			return -1;
		}
		ref->kind = CLI_REF_DIGEST;
		memcpy(ref->digest, s, OPTREG_DIGEST_LEN + 1);
		return 0;
	}
	slash = strchr(s, '/');
	if (!slash) {
		optreg_buf_addf(why, "\"%s\": expected %s", s,
				kind_list(allowed));
		return -1;
	}
	nslen = (size_t)(slash - s);
	name = slash + 1;
	at = strchr(name, '@');
	namelen = at ? (size_t)(at - name) : strlen(name);
	if (!part_valid(s, nslen, optreg_name_check_namespace)) {
		optreg_buf_addf(why,
				"\"%.*s\": a namespace is 1 to 63 of a-z, 0-9 "
				"and -, starting with a letter or digit",
				(int)nslen, s);
		return -1;
	}
	if (!part_valid(name, namelen, optreg_name_check_config)) {
		optreg_buf_addf(why,
				"\"%.*s\": a config name is 1 to 128 of a-z, "
				"0-9, '.', '_' and '-', starting with a letter "
				"or digit",
				(int)namelen, name);
		return -1;
	}
	memcpy(ref->ns, s, nslen);
	memcpy(ref->name, name, namelen);
	if (!at) {
		ref->kind = CLI_REF_CONFIG;
	} else if (at[1] >= '0' && at[1] <= '9' &&
		   strspn(at + 1, "0123456789") == strlen(at + 1)) {
		ref->kind = CLI_REF_VERSION;
		if (cli_parse_count(at + 1, &ref->version) < 0) {
			optreg_buf_addf(why,
					"\"%s\": a version is a whole number "
					"from 1, without leading zeros",
					at + 1);
			return -1;
		}
	} else {
		ref->kind = CLI_REF_TAG;
		if (!cli_tag_valid(at + 1)) {
			optreg_buf_addf(why,
					"\"%s\": a tag is 1 to 64 of a-z, 0-9, "
					"'.', '_' and '-', starting with a "
					"letter or digit",
					at + 1);
			return -1;
		}
		memcpy(ref->tag, at + 1, strlen(at + 1) + 1);
	}
	if (!(allowed & ref->kind)) {
		optreg_buf_addf(why, "\"%s\": expected %s", s,
				kind_list(allowed));
		return -1;
	}
	return 0;
}

int cli_ref_arg(const char *cmd, const char *s, unsigned allowed,
		struct cli_ref *ref)
{
	struct optreg_buf why = OPTREG_BUF_INIT;

	if (cli_ref_parse(s, allowed, ref, &why) == 0)
		return 0;
	fprintf(stderr, "optreg %s: %s\n", cmd, why.data);
	optreg_buf_release(&why);
	return OPTREG_EXIT_USAGE;
}

void cli_print_tag_move(const struct cli_ref *ref, const char *tag,
			long version, const json_t *answer)
{
	long prev;

	printf("%s/%s@%s -> %ld ", ref->ns, ref->name, tag, version);
	if (cli_json_count(answer, "previous_version", &prev) < 0)
		printf("(new tag)\n");
	else if (prev == version)
		printf("(unchanged)\n");
	else
		printf("(was %ld)\n", prev);
}

void cli_config_path(struct optreg_buf *path, const struct cli_ref *ref)
{
	optreg_buf_adds(path, "/v1/configs");
	optreg_http_path_add(path, ref->ns);
	optreg_http_path_add(path, ref->name);
}

int cli_ref_latest(struct cli_remote *r, struct cli_ref *ref)
{
	struct optreg_buf path;
	json_t *answer = NULL;
	const json_t *first;
	long version;
	int rc;

	if (ref->kind != CLI_REF_CONFIG)
		return 0;
	optreg_buf_init(&path);
	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/versions?page_size=1");
	rc = cli_remote_call(r, "GET", path.data, NULL, &answer);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	first = json_array_get(json_object_get(answer, "versions"), 0);
	if (!first) {
		fprintf(stderr, "optreg %s: %s/%s has no versions\n", r->cmd,
			ref->ns, ref->name);
		rc = OPTREG_EXIT_NOT_FOUND;
	} else if (cli_json_count(first, "version", &version) < 0 ||
		   version < 1) {
		fprintf(stderr,
			"optreg %s: the registry's versions list for %s/%s "
			"has no valid version number\n",
			r->cmd, ref->ns, ref->name);
		rc = OPTREG_EXIT_UNAVAILABLE;
	} else {
		ref->kind = CLI_REF_VERSION;
		ref->version = version;
	}
	json_decref(answer);
	return rc;
}
