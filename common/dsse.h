/*
 * common/dsse.h: DSSE envelopes (secure-systems-lab/dsse v1) and base64.
 *
 * {"payloadType": "...", "payload": "<base64>", "signatures": [{"keyid":
 * "...", "sig": "<base64>"}]}. Readers accept standard and URL-safe base64,
 * with or without padding; writers emit standard base64 with padding.
 * Signatures are made over PAE(type, body) = "DSSEv1" SP LEN(type) SP type
 * SP LEN(body) SP body, LEN in decimal bytes.
 */
#ifndef OPTREG_DSSE_H
#define OPTREG_DSSE_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "media.h" /* OPTREG_CONFIG_PAYLOAD_TYPE, for existing users */

/* Appends the standard, padded base64 of `len` bytes. */
void optreg_base64_encode(const void *data, size_t len, struct optreg_buf *out);

/*
 * Appends the decoded bytes of standard or URL-safe base64 (padding
 * optional, no whitespace). Returns OPTREG_EINVAL, leaving `out` unchanged,
 * on any other character, an impossible length, incomplete padding or '='
 * before the end, characters of both alphabets in one string, or unused
 * trailing bits that are not zero (RFC 4648 3.5), so that each byte string
 * has exactly one accepted spelling per alphabet, with and without padding.
 */
int optreg_base64_decode(const char *in, size_t len, struct optreg_buf *out);

/* Appends PAE(type, body). */
void optreg_dsse_pae(const char *type, const void *body, size_t len,
		     struct optreg_buf *out);

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

void optreg_dsse_init(struct optreg_dsse *env);
void optreg_dsse_release(struct optreg_dsse *env);

/*
 * Parses an envelope from JSON text into `env` (initialized; what it held is
 * released first). Unknown fields (top level or in a signature), a missing
 * or non-string payloadType/payload, payload that is not base64, signatures
 * missing or not an array of {keyid?, sig} objects with string members and
 * base64 sig are OPTREG_EINVAL with one error per problem naming the field
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
