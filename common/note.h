/*
 * common/note.h: C2SP signed notes and tlog checkpoints (Ed25519).
 *
 * A signed note (c2sp.org/signed-note) is a text ending in a newline, a
 * blank line, and one or more signature lines
 *
 *     "\u2014 " <key name> " " base64(key hash (4 bytes, big-endian) || sig)
 *
 * where the key hash is the first four bytes of
 * SHA-256(name || "\n" || 0x01 || 32-byte Ed25519 public key) and the
 * signature is Ed25519 over the text (final newline included, blank line
 * not). A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is
 * "<origin>\n<decimal tree size>\n<base64 root hash>\n", optionally followed
 * by extension lines. What this file writes, Go's golang.org/x/mod/sumdb/note
 * accepts, and the other way round (tests/note/).
 *
 * Every writer appends to its `out` buffer and leaves it as it was on
 * failure. Keys are common/sign.h keys; a private key serves wherever a
 * public key is asked for.
 */
#ifndef OPTREG_NOTE_H
#define OPTREG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "sign.h"

/* Verifiers must accept 16 signatures; like Go, we refuse more than 100. */
#define OPTREG_NOTE_MAX_SIGS 100

/*
 * True when `name` may name a note key: non-empty, valid UTF-8, no Unicode
 * white space (Go's unicode.IsSpace), no control character below U+0020,
 * no '+'.
 */
bool optreg_note_name_is_valid(const char *name);

/*
 * Appends the checkpoint text "<origin>\n<size>\n<base64 root>\n". The
 * origin must be non-empty, valid UTF-8 with no control characters (so no
 * newline): otherwise OPTREG_EINVAL. The key name that signs a checkpoint
 * should be its origin, which then also follows optreg_note_name_is_valid.
 */
int optreg_note_checkpoint_body(const char *origin, uint64_t size,
				const unsigned char root[32],
				struct optreg_buf *out);

/*
 * Parses a checkpoint text (as optreg_note_open returns it): at least three
 * lines, each ending in a newline; a non-empty origin; a size in decimal
 * with no sign and no leading zero (except "0") that fits in 64 bits; a
 * root hash in standard padded base64 of exactly 32 bytes; extension lines,
 * if any, non-empty (they are accepted and not returned). On success
 * *origin is a malloc'd copy for the caller to free; on failure it is NULL
 * and the result is OPTREG_ESYNTAX with one error (rule "checkpoint",
 * `line` set) naming the line and what is wrong with it.
 */
int optreg_note_checkpoint_parse(const char *text, char **origin,
				 uint64_t *size, unsigned char root[32],
				 struct optreg_errors *errs);

/*
 * Appends the signed note: `text`, a blank line, and one signature line by
 * `key` (private) under `key_name`. The text must be non-empty, end in a
 * newline and be valid UTF-8 with no control characters besides newline;
 * the name must pass optreg_note_name_is_valid. Breaking either is
 * OPTREG_EINVAL (rule "note"); a public key is OPTREG_EINVAL (rule
 * "key_type"). Ed25519 is deterministic: the same text, name and key give
 * the same bytes.
 */
int optreg_note_sign(const char *text, const char *key_name,
		     const struct optreg_key *key, struct optreg_buf *out,
		     struct optreg_errors *errs);

/*
 * Appends the verifier key in golang.org/x/mod/sumdb/note's form,
 * "<name>+<8 hex digits of key hash>+<base64(0x01 || public key)>", which
 * note.NewVerifier accepts. An invalid name is OPTREG_EINVAL.
 */
int optreg_note_verifier_key(const char *name, const struct optreg_key *pub,
			     struct optreg_buf *out);

/*
 * Checks the signed note `note` (`len` bytes, NUL not needed) against the
 * one trusted key (`key_name`, `pub`) and, when it holds, appends the note's
 * text (final newline included) to `text`.
 *
 * The note must be valid UTF-8 with no control characters besides newline,
 * have a blank line before the signatures, and every line after the last
 * blank line must be a well-formed signature line (em dash, space, valid
 * name, space, standard padded base64 of at least 5 bytes); at most
 * OPTREG_NOTE_MAX_SIGS of them. Breaking that is OPTREG_ESYNTAX (rule
 * "note_format", `line` = the 1-based line of the note).
 *
 * As the spec requires, signatures whose (name, key hash) is not the
 * trusted key's are ignored, even when one of the two matches. Every
 * signature by the trusted key must verify, or the result is OPTREG_EINVAL
 * (rule "bad_signature"); a note with no signature by it is OPTREG_EINVAL
 * (rule "unknown_key", the detail lists the keys that did sign). An
 * invalid `key_name` is OPTREG_EINVAL (rule "note").
 */
int optreg_note_open(const char *note, size_t len, const char *key_name,
		     const struct optreg_key *pub, struct optreg_buf *text,
		     struct optreg_errors *errs);

#endif
