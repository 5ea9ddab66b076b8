#include "buf.h"

#include "alloc.h"
#include "errcodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char optreg_buf_empty[1];

static void die_oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *optreg_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

size_t optreg_size_mul(size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		fprintf(stderr,
			"fatal: allocation size overflow: %zu * %zu bytes\n", a,
			b);
		abort();
	}
	return a * b;
}

void *optreg_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(n * size);
	return p;
}

void *optreg_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom(n);
	return q;
}

char *optreg_xstrdup(const char *s)
{
	return optreg_xstrndup(s, strlen(s));
}

char *optreg_xstrndup(const char *s, size_t n)
{
	char *p = optreg_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *optreg_xasprintf(const char *fmt, ...)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return optreg_buf_detach(&b, NULL);
}

void optreg_buf_init(struct optreg_buf *b)
{
	b->data = optreg_buf_empty;
	b->len = 0;
	b->cap = 0;
}

void optreg_buf_release(struct optreg_buf *b)
{
	if (b->cap)
		free(b->data);
	optreg_buf_init(b);
}

void optreg_buf_reset(struct optreg_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

void optreg_buf_grow(struct optreg_buf *b, size_t extra)
{
	size_t need;

	if (extra > (size_t)-1 / 2 - b->len)
		die_oom(extra);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (b->cap) {
		b->data = optreg_xrealloc(b->data, cap);
	} else {
		b->data = optreg_xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
}

void optreg_buf_add(struct optreg_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	optreg_buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void optreg_buf_adds(struct optreg_buf *b, const char *s)
{
	optreg_buf_add(b, s, strlen(s));
}

void optreg_buf_addch(struct optreg_buf *b, char c)
{
	optreg_buf_add(b, &c, 1);
}

void optreg_buf_vaddf(struct optreg_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n <= 0)
		return;
	optreg_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void optreg_buf_addf(struct optreg_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *optreg_buf_detach(struct optreg_buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	if (b->cap)
		p = b->data;
	else
		p = optreg_xstrdup("");
	optreg_buf_init(b);
	return p;
}

int optreg_buf_read_file(struct optreg_buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f)
		return OPTREG_EIO; /* errno from fopen */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		optreg_buf_add(b, chunk, n);
	if (ferror(f)) {
		int e = errno ? errno : EIO;
		fclose(f);
		errno = e; /* fclose must not hide the read error */
		return OPTREG_EIO;
	}
	fclose(f);
	return 0;
}
