/*
 * common/buf.h: the one growable byte buffer used for all text building.
 *
 * Modelled on git's strbuf: `data` is never NULL and always NUL-terminated,
 * so a buffer can be printed or compared at any time. Memory is owned by the
 * buffer until optreg_buf_detach() hands it to the caller. Allocation failure
 * aborts the process (see optreg_xmalloc), so appends cannot fail.
 */
#ifndef OPTREG_BUF_H
#define OPTREG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct optreg_buf {
	char *data; /* never NULL; NUL-terminated */
	size_t len; /* bytes in use, excluding the terminating NUL */
	size_t cap; /* bytes allocated; 0 while data points at the shared "" */
};

#define OPTREG_BUF_INIT                                                        \
	{                                                                      \
		optreg_buf_empty, 0, 0                                         \
	}
extern char optreg_buf_empty[];

/* Makes `b` empty without allocating (as OPTREG_BUF_INIT does). */
void optreg_buf_init(struct optreg_buf *b);
/* Frees the memory and leaves the buffer empty and reusable. */
void optreg_buf_release(struct optreg_buf *b);
/* Empties the buffer, keeping its memory. */
void optreg_buf_reset(struct optreg_buf *b);
/* Makes room for at least `extra` more bytes. */
void optreg_buf_grow(struct optreg_buf *b, size_t extra);
void optreg_buf_add(struct optreg_buf *b, const void *data, size_t len);
void optreg_buf_adds(struct optreg_buf *b, const char *s);
void optreg_buf_addch(struct optreg_buf *b, char c);
void optreg_buf_addf(struct optreg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void optreg_buf_vaddf(struct optreg_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Hands the (NUL-terminated, malloc'd) bytes to the caller; the buffer is
 * left empty. `len` may be NULL. The result is never NULL. */
char *optreg_buf_detach(struct optreg_buf *b, size_t *len);

/*
 * Reads a whole file into `b` (appending). Returns 0, or OPTREG_EIO with
 * errno left as the failing call set it (for strerror(errno)); `b` then
 * holds whatever was read before the failure.
 */
int optreg_buf_read_file(struct optreg_buf *b, const char *path);

/* Allocation helpers: abort with a message on exhaustion, never return NULL. */
void *optreg_xmalloc(size_t n);
void *optreg_xcalloc(size_t n, size_t size);
void *optreg_xrealloc(void *p, size_t n);
char *optreg_xstrdup(const char *s);
char *optreg_xstrndup(const char *s, size_t n);
char *optreg_xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
