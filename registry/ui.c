/*
 * registry/ui.c: answering the embedded web page's files (see ui.h).
 */
#include "ui.h"

#include <string.h>

const struct optreg_ui_file *optreg_ui_find(const char *name)
{
	size_t lo = 0, hi = optreg_ui_nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, optreg_ui_files[mid].name);

		if (!c)
			return &optreg_ui_files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void optreg_ui_set_headers(struct optreg_http_req *req)
{
	optreg_http_set_header(req, "Content-Security-Policy", OPTREG_UI_CSP);
	optreg_http_set_header(req, "X-Content-Type-Options", "nosniff");
	optreg_http_set_header(req, "Referrer-Policy", "no-referrer");
	optreg_http_set_header(req, "X-Frame-Options", "DENY");
	optreg_http_set_header(req, "Cache-Control", "no-cache");
}

void optreg_ui_answer(struct optreg_http_req *req, const char *name)
{
	const struct optreg_ui_file *f =
		optreg_ui_find(name[0] ? name : "index.html");
	const char *inm;

	optreg_ui_set_headers(req);
	if (!f) {
		optreg_http_problem(req, 404, "not_found", NULL,
				    "the web page has no such file");
		return;
	}
	optreg_http_set_header(req, "ETag", f->etag);
	inm = optreg_http_header(req, "If-None-Match");
	optreg_buf_reset(&req->resp);
	if (inm && optreg_http_etag_match(inm, f->etag)) {
		req->status = 304;
		return;
	}
	optreg_buf_add(&req->resp, f->data, f->len);
	req->content_type = f->content_type;
	req->status = 200;
}
