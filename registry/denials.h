/*
 * registry/denials.h: refused writes in the audit log, in bounded form
 * (docs/audit.md, "Refused writes").
 *
 * Each principal (token) gets at most `max_events` "write.denied" events
 * per window of `window` seconds, each of bounded size (strings cut to
 * OPTREG_DENIALS_STRING_MAX bytes, arrays to OPTREG_DENIALS_ARRAY_MAX items
 * with a count of the rest, details at most OPTREG_DENIALS_DETAILS_MAX
 * bytes). Refusals past that, and writes answered 429, are counted; when
 * the window ends, one "write.denied.summary" event records the counts.
 * A thread writes summaries of ended windows about once a second, and the
 * rest when the table is freed. The table of principals is bounded too;
 * counts that find no room go to a summary with an empty principal.
 */
#ifndef OPTREG_DENIALS_H
#define OPTREG_DENIALS_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"

#define OPTREG_DENIALS_STRING_MAX  256
#define OPTREG_DENIALS_ARRAY_MAX   8
#define OPTREG_DENIALS_DETAILS_MAX 2048

struct registry;
struct optreg_denials;

/* The defaults of the settings denied_events and denied_window. */
#define OPTREG_DENIALS_DEFAULT_EVENTS 10
#define OPTREG_DENIALS_DEFAULT_WINDOW 60

/*
 * A recorder for `reg` (borrowed; it must outlive the recorder) with room
 * for `slots` principals, and its summary thread. Returns NULL when the
 * thread cannot start.
 */
struct optreg_denials *optreg_denials_new(struct registry *reg, size_t slots,
					  long max_events, long window);

/* Writes the pending summaries, stops the thread, frees `d`; NULL does
 * nothing. */
void optreg_denials_free(struct optreg_denials *d);

/*
 * Records a refused write by `who` (a token's principal) on `target`:
 * a "write.denied" event with `details` (stolen, then bounded) in a
 * transaction of its own, or a count toward the window's summary when the
 * principal has had its events. A NULL `d` records every refusal. Returns
 * 0 or the audit append's error (in `errs`).
 */
int optreg_denials_record(struct optreg_denials *d, struct registry *reg,
			  const struct optreg_audit_actor *who,
			  const char *target, json_t *details,
			  struct optreg_errors *errs);

/* As optreg_denials_record, with event `action` instead of
 * "write.denied" (a policy denial is "policy.denied"); the same budget. */
int optreg_denials_record_as(struct optreg_denials *d, struct registry *reg,
			     const struct optreg_audit_actor *who,
			     const char *action, const char *target,
			     json_t *details, struct optreg_errors *errs);

/* Counts a write by `who` answered 429 toward the window's summary. */
void optreg_denials_limited(struct optreg_denials *d,
			    const struct optreg_audit_actor *who);

/* Bounds `details` in place as described above (for the recorder and its
 * tests); returns it. */
json_t *optreg_denials_bound(json_t *details);

#endif
