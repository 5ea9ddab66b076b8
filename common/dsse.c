/*
 * common/dsse.c: DSSE envelopes: PAE, parsing and the JSON form. Base64 is
 * common/base64.c.
 */
#include "dsse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "jsonutil.h"

void optreg_dsse_pae(const char *type, const void *body, size_t len,
		     struct optreg_buf *out)
{
	optreg_buf_addf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	optreg_buf_add(out, body, len);
}

void optreg_dsse_init(struct optreg_dsse *env)
{
	env->payload_type = NULL;
	optreg_buf_init(&env->payload);
	env->sigs = NULL;
	env->nsigs = 0;
	env->sigs_alloc = 0;
}

void optreg_dsse_release(struct optreg_dsse *env)
{
	free(env->payload_type);
	optreg_buf_release(&env->payload);
	for (size_t i = 0; i < env->nsigs; i++) {
		free(env->sigs[i].keyid);
		free(env->sigs[i].sig);
	}
	free(env->sigs);
	optreg_dsse_init(env);
}

/*
 * The string member `key` of `obj`, or NULL after adding an error at `path`
 * (missing, or not a string). Missing is fine when `optional`.
 */
static const char *get_string(const json_t *obj, const char *key,
			      const char *path, int optional,
			      struct optreg_errors *errs)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		if (!optional)
			optreg_errors_add(errs, OPTREG_EINVAL, "envelope", path,
					  "missing required field");
		return NULL;
	}
	if (!json_is_string(v)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", path,
				  "must be a string (got %s)",
				  optreg_json_type_name(v));
		return NULL;
	}
	return json_string_value(v);
}

/* Adds an error for each member of `obj` not in `known` (NULL-ended). */
static void refuse_unknown(const json_t *obj, const char *const *known,
			   const char *prefix, struct optreg_errors *errs)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i;

		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (known[i])
			continue;
		char *path = optreg_xasprintf("%s%s", prefix, key);
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", path,
				  "unknown field");
		free(path);
	}
}

static void parse_sig(const json_t *s, size_t i, struct optreg_dsse *env,
		      struct optreg_errors *errs)
{
	static const char *const known[] = {"keyid", "sig", NULL};
	struct optreg_buf scratch = OPTREG_BUF_INIT;
	char path[64], prefix[48];
	const char *keyid, *sig;

	snprintf(prefix, sizeof(prefix), "signatures[%zu].", i);
	if (!json_is_object(s)) {
		snprintf(path, sizeof(path), "signatures[%zu]", i);
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", path,
				  "must be an object (got %s)",
				  optreg_json_type_name(s));
		return;
	}
	refuse_unknown(s, known, prefix, errs);
	snprintf(path, sizeof(path), "%skeyid", prefix);
	keyid = get_string(s, "keyid", path, 1, errs);
	snprintf(path, sizeof(path), "%ssig", prefix);
	sig = get_string(s, "sig", path, 0, errs);
	if (sig && optreg_base64_decode(sig, strlen(sig), &scratch) < 0) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", path,
				  "is not base64");
		sig = NULL;
	}
	optreg_buf_release(&scratch);
	if (!sig)
		return;
	env->sigs[env->nsigs].keyid = optreg_xstrdup(keyid ? keyid : "");
	env->sigs[env->nsigs].sig = optreg_xstrdup(sig);
	env->nsigs++;
}

int optreg_dsse_parse(struct optreg_dsse *env, const char *json, size_t len,
		      struct optreg_errors *errs)
{
	static const char *const known[] = {"payloadType", "payload",
					    "signatures", NULL};
	size_t nerrs = errs->len;
	const char *type, *payload;
	const json_t *sigs;
	json_error_t jerr;
	json_t *root;

	optreg_dsse_release(env);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (!root) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ESYNTAX, "syntax", "", "%s", jerr.text);
		e->line = jerr.line > 0 ? jerr.line : 0;
		e->col = jerr.line > 0 ? jerr.column : 0;
		return OPTREG_ESYNTAX;
	}
	if (!json_is_object(root)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", "",
				  "must be an object (got %s)",
				  optreg_json_type_name(root));
		json_decref(root);
		return OPTREG_EINVAL;
	}
	refuse_unknown(root, known, "", errs);

	type = get_string(root, "payloadType", "payloadType", 0, errs);
	if (type)
		env->payload_type = optreg_xstrdup(type);
	payload = get_string(root, "payload", "payload", 0, errs);
	if (payload && optreg_base64_decode(payload,
					    json_string_length(json_object_get(
						    root, "payload")),
					    &env->payload) < 0)
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", "payload",
				  "is not base64");

	sigs = json_object_get(root, "signatures");
	if (!sigs) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", "signatures",
				  "missing required field");
	} else if (!json_is_array(sigs)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "envelope", "signatures",
				  "must be an array (got %s)",
				  optreg_json_type_name(sigs));
	} else if (json_array_size(sigs) > OPTREG_DSSE_MAX_SIGS) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "envelope", "signatures",
			"has %zu signatures; at most %d are accepted",
			json_array_size(sigs), OPTREG_DSSE_MAX_SIGS);
		optreg_error_set_hint(e, "send only the signatures of the "
					 "keys that should count");
	} else {
		size_t n = json_array_size(sigs);
		env->sigs = optreg_xcalloc(n ? n : 1, sizeof(*env->sigs));
		env->sigs_alloc = n ? n : 1;
		for (size_t i = 0; i < n; i++)
			parse_sig(json_array_get(sigs, i), i, env, errs);
	}
	json_decref(root);
	if (errs->len > nerrs) {
		optreg_dsse_release(env);
		return OPTREG_EINVAL;
	}
	return 0;
}

/* `b64` (valid, either alphabet) re-encoded as standard padded base64. */
static json_t *standard_base64(const char *b64)
{
	struct optreg_buf raw = OPTREG_BUF_INIT, enc = OPTREG_BUF_INIT;
	json_t *s;

	if (optreg_base64_decode(b64, strlen(b64), &raw) < 0) {
		s = json_string(b64); /* not from the parser: keep as given */
	} else {
		optreg_base64_encode(raw.data, raw.len, &enc);
		s = json_string(enc.data);
	}
	optreg_buf_release(&raw);
	optreg_buf_release(&enc);
	return s;
}

json_t *optreg_dsse_to_json(const struct optreg_dsse *env)
{
	struct optreg_buf b64 = OPTREG_BUF_INIT;
	json_t *o = json_object(), *sigs = json_array();

	optreg_base64_encode(env->payload.data, env->payload.len, &b64);
	json_object_set_new(
		o, "payloadType",
		json_string(env->payload_type ? env->payload_type : ""));
	json_object_set_new(o, "payload", json_string(b64.data));
	for (size_t i = 0; i < env->nsigs; i++) {
		json_t *s = json_object();
		if (env->sigs[i].keyid && env->sigs[i].keyid[0])
			json_object_set_new(s, "keyid",
					    json_string(env->sigs[i].keyid));
		json_object_set_new(s, "sig",
				    standard_base64(env->sigs[i].sig));
		json_array_append_new(sigs, s);
	}
	json_object_set_new(o, "signatures", sigs);
	optreg_buf_release(&b64);
	return o;
}
