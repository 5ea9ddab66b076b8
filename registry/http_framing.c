/*
 * registry/http_framing.c: refuses requests whose body length is ambiguous
 * (request smuggling). See http_int.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "http_int.h"

/* What the request's headers say about the length of its body. */
struct framing {
	size_t ncl;	   /* Content-Length headers */
	size_t nte;	   /* Transfer-Encoding headers */
	const char *cl;	   /* the first Content-Length */
	bool cl_differ;	   /* two Content-Lengths disagree */
	bool cl_malformed; /* one is not just digits */
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->nte++;
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		value = value ? value : "";
		if (!*value || strspn(value, "0123456789") != strlen(value))
			f->cl_malformed = true;
		if (f->ncl++ && strcmp(f->cl, value))
			f->cl_differ = true;
		else if (!f->cl)
			f->cl = value;
	}
	return MHD_YES;
}

const char *http_framing_problem(struct MHD_Connection *conn)
{
	struct framing f = {0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
	if (f.ncl && f.nte)
		return "the request has both Content-Length and "
		       "Transfer-Encoding; send one of them";
	if (f.cl_differ)
		return "the request has Content-Length headers that disagree; "
		       "send one";
	if (f.cl_malformed)
		return "Content-Length must be one decimal number of bytes";
	if (f.nte > 1)
		return "the request has more than one Transfer-Encoding "
		       "header; send one";
	return NULL;
}
