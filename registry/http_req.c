/*
 * registry/http_req.c: the request object handlers see (query, headers,
 * per-request memory) and the replies they give (JSON, problems). Nothing
 * here knows libmicrohttpd (see http_server.c).
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/alloc.h"
#include "http_int.h"

/* ---- small helpers ---------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long http_pct_decode(const char *s, size_t n, char *out, bool plus)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	return (long)o;
}

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* The title of a problem: the status's reason phrase (RFC 9110). */
static const char *status_title(unsigned status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	if (status >= 500)
		return "Server Error";
	if (status >= 400)
		return "Client Error";
	return "Unknown";
}

/* ---- request objects ---------------------------------------------------- */

void optreg_http_req_init(struct optreg_http_req *req)
{
	memset(req, 0, sizeof(*req));
	optreg_buf_init(&req->body);
	optreg_buf_init(&req->resp);
}

void http_headers_free(struct optreg_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
}

/* Runs the dispose list, newest first. A dispose callback may defer more
 * work: it runs in turn, before the older entries. */
static void req_dispose_all(struct optreg_http_req *req)
{
	while (req->ndeferred) {
		struct optreg_http_deferred d = req->deferred[--req->ndeferred];

		d.dispose(d.ptr);
	}
	free(req->deferred);
	req->deferred = NULL;
	req->deferred_cap = 0;
}

void optreg_http_req_release(struct optreg_http_req *req)
{
	req_dispose_all(req);
	optreg_buf_release(&req->body);
	optreg_buf_release(&req->resp);
	http_headers_free(req->headers, req->nheaders);
	http_headers_free(req->req_headers, req->nreq_headers);
	optreg_http_req_init(req);
}

void optreg_http_req_defer(struct optreg_http_req *req, void (*dispose)(void *),
			   void *ptr)
{
	if (!ptr)
		return;
	OPTREG_ALLOC_GROW(req->deferred, req->ndeferred + 1, req->deferred_cap);
	req->deferred[req->ndeferred].dispose = dispose;
	req->deferred[req->ndeferred].ptr = ptr;
	req->ndeferred++;
}

/* Hands `s` (malloc'd) to the request, which frees it on release. */
static const char *req_own(struct optreg_http_req *req, char *s)
{
	optreg_http_req_defer(req, free, s);
	return s;
}

void optreg_http_req_add_header(struct optreg_http_req *req, const char *name,
				const char *value)
{
	struct optreg_http_header *h;

	if (req->nreq_headers == OPTREG_HTTP_MAX_HEADERS)
		return;
	h = &req->req_headers[req->nreq_headers++];
	h->name = optreg_xstrdup(name);
	h->value = optreg_xstrdup(value);
}

const char *optreg_http_query(struct optreg_http_req *req, const char *key)
{
	const char *p = req->query;
	size_t keylen = strlen(key);

	while (p && *p) {
		const char *end = strchr(p, '&');
		const char *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t klen;
		char *k, *v;
		long kn, vn;

		eq = memchr(p, '=', n);
		klen = eq ? (size_t)(eq - p) : n;
		k = optreg_xstrndup(p, klen);
		kn = http_pct_decode(k, klen, k, true);
		if (kn == (long)keylen && !memcmp(k, key, keylen)) {
			free(k);
			if (!eq)
				return req_own(req, optreg_xstrdup(""));
			v = optreg_xstrndup(eq + 1, n - klen - 1);
			vn = http_pct_decode(v, n - klen - 1, v, true);
			if (vn < 0 || memchr(v, '\0', (size_t)vn)) {
				/* Raw, so validation names what was sent. */
				free(v);
				v = optreg_xstrndup(eq + 1, n - klen - 1);
			} else {
				v[vn] = '\0';
			}
			return req_own(req, v);
		}
		free(k);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

const char *optreg_http_header(struct optreg_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nreq_headers; i++)
		if (!strcasecmp(req->req_headers[i].name, name))
			return req->req_headers[i].value;
	if (!req->conn)
		return NULL;
	return http_server_header(req->conn, name);
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

bool optreg_http_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm, *end;
	bool match = false;

	/* "*" only as the whole field; in a list it is malformed. */
	while (ows(*p))
		p++;
	if (*p == '*') {
		for (p++; ows(*p); p++)
			;
		return !*p;
	}
	for (;;) {
		while (ows(*p) || *p == ',')
			p++;
		if (!*p)
			return match;
		if (!strncmp(p, "W/", 2))
			p += 2;
		/* Malformed: the whole field is ignored. */
		if (*p != '"' || !(end = strchr(p + 1, '"')))
			return false;
		match |=
			(size_t)(end + 1 - p) == elen && !memcmp(p, etag, elen);
		for (p = end + 1; ows(*p); p++)
			;
		if (*p && *p != ',')
			return false; /* "a"x: not a list of entity tags */
	}
}

void optreg_http_set_header(struct optreg_http_req *req, const char *name,
			    const char *value)
{
	struct optreg_http_header *h;

	if (req->nheaders == OPTREG_HTTP_MAX_HEADERS || has_crlf(name) ||
	    has_crlf(value))
		return;
	h = &req->headers[req->nheaders++];
	h->name = optreg_xstrdup(name);
	h->value = optreg_xstrdup(value);
}

const char *optreg_http_resp_header(const struct optreg_http_req *req,
				    const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

static int dump_to_buf(const char *buffer, size_t size, void *data)
{
	optreg_buf_add(data, buffer, size);
	return 0;
}

void optreg_http_json(struct optreg_http_req *req, unsigned status,
		      json_t *body)
{
	optreg_buf_reset(&req->resp);
	req->status = status;
	req->content_type = "application/json";
	if (!body)
		return;
	if (json_dump_callback(body, dump_to_buf, &req->resp, JSON_COMPACT)) {
		json_decref(body);
		optreg_http_problem(req, 500, "internal", NULL,
				    "the response could not be serialized");
		return;
	}
	json_decref(body);
}

void optreg_http_problem(struct optreg_http_req *req, unsigned status,
			 const char *code, const struct optreg_errors *errs,
			 const char *fmt, ...)
{
	struct optreg_buf detail = OPTREG_BUF_INIT;
	json_t *p;

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		optreg_buf_vaddf(&detail, fmt, ap);
		va_end(ap);
	}
	/* type, title, status, detail, code, request_id, in that order. */
	p = optreg_problem_new(optreg_code_from_problem(code, status), code,
			       fmt ? detail.data : NULL, req->request_id, NULL);
	optreg_buf_release(&detail);
	/* The status and title are those of the answer, which a handler may
	 * pick apart from the table's row for the code. */
	json_object_set_new(p, "title", json_string(status_title(status)));
	json_object_set_new(p, "status", json_integer(status));
	if (errs && errs->len)
		json_object_set_new(p, "errors", optreg_errors_to_json(errs));

	optreg_buf_reset(&req->resp);
	req->status = status;
	req->content_type = "application/problem+json";
	/* Cannot fail: every string above is valid UTF-8. */
	json_dump_callback(p, dump_to_buf, &req->resp, JSON_COMPACT);
	json_decref(p);
}
