/*
 * common/media.h: the media types optreg speaks, in one place.
 *
 * DSSE payload types name what a signed envelope carries; the registry,
 * the CLI and the runner compare them byte for byte, so each is written
 * once here. The HTTP content types are those of the API (docs/api.md).
 * The macro names of the payload types are the ones used before this
 * header existed, so an identical definition elsewhere is not an error.
 */
#ifndef OPTREG_MEDIA_H
#define OPTREG_MEDIA_H

/* DSSE payload types. */
#define OPTREG_CONFIG_PAYLOAD_TYPE  "application/vnd.optreg.config.v1+json"
#define OPTREG_RECEIPT_PAYLOAD_TYPE "application/vnd.optreg.receipt.v1+json"
#define OPTREG_VERDICT_PAYLOAD_TYPE "application/vnd.optreg.verdict.v1+json"

/* HTTP content types. */
#define OPTREG_MEDIA_JSON	  "application/json"
#define OPTREG_MEDIA_PROBLEM_JSON "application/problem+json"
#define OPTREG_MEDIA_DSSE_JSON	  "application/vnd.dsse+json"

#endif
