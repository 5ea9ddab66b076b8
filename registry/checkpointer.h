/*
 * registry/checkpointer.h: the thread that signs audit-log checkpoints
 * (docs/audit.md): once `every` events are unsigned, or `interval` seconds
 * after the first unsigned one. Any replica may run one; the checkpoint
 * table's primary key on size keeps one checkpoint per size.
 */
#ifndef OPTREG_CHECKPOINTER_H
#define OPTREG_CHECKPOINTER_H

struct registry;
struct optreg_checkpointer;

/*
 * Starts the thread, which looks twice a second, with connections from
 * r->db, signing with r->key under r->audit_origin. `r` is borrowed and
 * must outlive optreg_checkpointer_stop(). Failures are logged as JSON
 * lines on stderr, never fatal. Returns 0, or OPTREG_ENOMEM when the thread
 * cannot start (*out is then NULL).
 */
int optreg_checkpointer_start(struct optreg_checkpointer **out,
			      struct registry *r, long every, long interval);

/* Stops the thread, waits for it and frees `cp`. NULL is a no-op. */
void optreg_checkpointer_stop(struct optreg_checkpointer *cp);

#endif
