/*
 * common/dsse.h: DSSE envelopes (secure-systems-lab/dsse v1).
 *
 * {"payloadType": "...", "payload": "<base64>", "signatures": [{"keyid":
 * "...", "sig": "<base64>"}]}. Readers accept standard and URL-safe base64,
 * with or without padding; writers emit standard base64 with padding.
 * Signatures are made over PAE(type, body) = "DSSEv1" SP LEN(type) SP type
 * SP LEN(body) SP body, LEN in decimal bytes. Base64 is common/base64.h.
 */
#ifndef OPTREG_DSSE_H
#define OPTREG_DSSE_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "media.h" /* OPTREG_CONFIG_PAYLOAD_TYPE, for existing users */

/* Appends PAE(type, body). */
void optreg_dsse_pae(const char *type, const void *body, size_t len,
		     struct optreg_buf *out);

/* The most signatures an envelope may carry: more is refused by
 * optreg_dsse_parse before any is decoded or checked. */
#define OPTREG_DSSE_MAX_SIGS 16

struct optreg_dsse_sig {
	char *keyid; /* owned; may be "" */
	char *sig;   /* owned; base64 as received */
};

struct optreg_dsse {
	char *payload_type;	   /* owned */
	struct optreg_buf payload; /* decoded payload bytes */
	struct optreg_dsse_sig *sigs;
	size_t nsigs;
	size_t sigs_alloc; /* capacity of `sigs`; at most what is allocated */
};

/* Makes `env` an empty envelope (embedded; nothing allocated). */
void optreg_dsse_init(struct optreg_dsse *env);
/* Frees what `env` owns and leaves it empty and reusable. */
void optreg_dsse_release(struct optreg_dsse *env);

/*
 * Parses an envelope from JSON text into `env` (initialized; what it held is
 * released first). Unknown fields (top level or in a signature), a missing
 * or non-string payloadType/payload, payload that is not base64, signatures
 * missing or not an array of {keyid?, sig} objects with string members and
 * base64 sig, and more than OPTREG_DSSE_MAX_SIGS signatures, are
 * OPTREG_EINVAL with one error per problem naming the field
 * by path ("payload", "signatures[1].sig"; rule "envelope"). Text that is
 * not JSON, or has duplicate keys, is OPTREG_ESYNTAX (rule "syntax", with
 * line and column). On failure `env` is left empty. Does not check
 * payloadType's value or any signature.
 */
int optreg_dsse_parse(struct optreg_dsse *env, const char *json, size_t len,
		      struct optreg_errors *errs);

/*
 * The envelope as a new JSON object (caller owns the reference): payload
 * and signatures re-encoded in standard padded base64; `keyid` left out
 * when empty.
 */
json_t *optreg_dsse_to_json(const struct optreg_dsse *env);

#endif
