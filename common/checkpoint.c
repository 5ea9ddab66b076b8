/*
 * common/checkpoint.c: the saved-checkpoint file (see checkpoint.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "base64.h"
#include "hash.h"

void optreg_hash_to_b64(const optreg_hash h, char out[OPTREG_HASH_B64_LEN + 1])
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	snprintf(out, OPTREG_HASH_B64_LEN + 1, "%s", b.data);
	optreg_buf_release(&b);
}

int optreg_hash_from_b64(const char *s, optreg_hash out)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	int ok = s && optreg_base64_decode(s, strlen(s), &b) == 0 &&
		 b.len == OPTREG_HASH_LEN;

	if (ok)
		memcpy(out, b.data, OPTREG_HASH_LEN);
	optreg_buf_release(&b);
	return ok ? 0 : OPTREG_EINVAL;
}

int optreg_saved_checkpoint_encode(const struct optreg_saved_checkpoint *cp,
				   struct optreg_buf *out)
{
	char root[OPTREG_HASH_B64_LEN + 1], hex[OPTREG_SHA256_HEX_LEN + 1];
	json_t *head;
	char *s;

	optreg_hash_to_b64(cp->root, root);
	head = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "format",
			 OPTREG_SAVED_CHECKPOINT_FORMAT, "origin", cp->origin,
			 "size", (json_int_t)cp->size, "root", root,
			 "registry_keyid", cp->keyid, "saved_at", cp->saved_at,
			 "note", cp->note);
	s = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(head);
	if (!s)
		return OPTREG_EINVAL;
	/* The head's members, then the leaves one a line (hex). */
	optreg_buf_add(out, s, strlen(s) - 1);
	free(s);
	optreg_buf_adds(out, ",\n\"leaves\":[");
	for (size_t i = 0; i < cp->nleaves; i++) {
		optreg_hex_encode(cp->leaves[i], OPTREG_HASH_LEN, hex);
		optreg_buf_addf(out, "%s\n\"%s\"", i ? "," : "", hex);
	}
	optreg_buf_adds(out, "]}\n");
	return 0;
}

int optreg_saved_checkpoint_decode(const char *data, size_t len,
				   struct optreg_saved_checkpoint *cp,
				   struct optreg_errors *errs)
{
	json_error_t jerr;
	json_t *o, *leaves, *v;
	const char *format, *note;
	size_t i;

	memset(cp, 0, sizeof(*cp));
	cp->bad_leaf = -1;
	o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		optreg_errors_add(errs, OPTREG_ESYNTAX, "json", "", "%s",
				  jerr.text);
		return OPTREG_ESYNTAX;
	}
	leaves = json_object_get(o, "leaves");
	format = json_string_value(json_object_get(o, "format"));
	note = json_string_value(json_object_get(o, "note"));
	if (!json_is_object(o) || !format ||
	    strcmp(format, OPTREG_SAVED_CHECKPOINT_FORMAT) || !note ||
	    !json_is_array(leaves)) {
		json_decref(o);
		optreg_errors_add(errs, OPTREG_EINVAL, "format", "",
				  "not a saved checkpoint");
		return OPTREG_EINVAL;
	}
	cp->note = optreg_xstrdup(note);
	cp->nleaves = json_array_size(leaves);
	cp->leaves = optreg_xcalloc(cp->nleaves + 1, sizeof(*cp->leaves));
	json_array_foreach(leaves, i, v)
	{
		const char *hex = json_string_value(v);

		if (!hex || optreg_hex_decode(hex, strlen(hex), cp->leaves[i],
					      OPTREG_HASH_LEN) < 0) {
			cp->bad_leaf = (int64_t)i;
			break;
		}
	}
	json_decref(o);
	return 0;
}

void optreg_saved_checkpoint_release(struct optreg_saved_checkpoint *cp)
{
	free(cp->note);
	free(cp->leaves);
	memset(cp, 0, sizeof(*cp));
	cp->bad_leaf = -1;
}

int optreg_saved_checkpoint_root(const struct optreg_saved_checkpoint *cp,
				 optreg_hash out)
{
	struct optreg_merkle_mem tree;
	int rc;

	if (cp->bad_leaf >= 0)
		return -1;
	optreg_merkle_mem_init(&tree);
	for (size_t i = 0; i < cp->nleaves; i++)
		optreg_merkle_mem_append(&tree, cp->leaves[i]);
	rc = optreg_merkle_root(cp->nleaves, optreg_merkle_mem_get, &tree, out)
		     ? -1
		     : 0;
	optreg_merkle_mem_release(&tree);
	return rc;
}
