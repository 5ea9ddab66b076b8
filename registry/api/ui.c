/*
 * registry/api/ui.c: the routes of the embedded web page (registry/ui.h):
 * GET / redirects (302) to /ui/, GET /ui (308) to /ui/, GET /ui/ is
 * index.html and GET /ui/{file} one of the page's files; HEAD as GET.
 * Everything is answered from memory on the I/O thread, without a token;
 * with --no-ui (struct registry's no_ui) each of them answers 404 as an
 * unknown path does.
 */
#include <string.h>

#include "../ui.h"
#include "api.h"

/* False (having answered 404) when the server was started with --no-ui. */
static bool ui_on_or_reply(struct optreg_http_req *req)
{
	const struct registry *reg = req->ctx;

	if (!reg || !reg->no_ui)
		return true;
	optreg_http_problem(req, 404, "not_found", NULL,
			    "no resource at this path");
	return false;
}

static void ui_redirect(struct optreg_http_req *req, unsigned status)
{
	optreg_http_set_header(req, "Location", "/ui/");
	optreg_buf_reset(&req->resp);
	req->content_type = "text/plain; charset=utf-8";
	req->status = status;
}

static void handle_root(struct optreg_http_req *req)
{
	if (ui_on_or_reply(req))
		ui_redirect(req, 302);
}

static void handle_ui(struct optreg_http_req *req)
{
	if (!ui_on_or_reply(req))
		return;
	optreg_ui_set_headers(req);
	ui_redirect(req, 308);
}

static void handle_index(struct optreg_http_req *req)
{
	if (ui_on_or_reply(req))
		optreg_ui_answer(req, "");
}

static void handle_file(struct optreg_http_req *req)
{
	if (ui_on_or_reply(req))
		optreg_ui_answer(req, req->params[0]);
}

/* try_cached of each route: the answer never needs more than memory. */
#define UI_TRY(fn)                                                             \
	static bool fn##_try(struct optreg_http_req *req)                      \
	{                                                                      \
		fn(req);                                                       \
		return true;                                                   \
	}
UI_TRY(handle_root)
UI_TRY(handle_ui)
UI_TRY(handle_index)
UI_TRY(handle_file)

void optreg_registry_unrouted(struct optreg_http_req *req)
{
	const struct registry *reg = req->ctx;

	if ((reg && reg->no_ui) || strncmp(req->path, "/ui", 3) ||
	    (req->path[3] && req->path[3] != '/'))
		return;
	optreg_ui_set_headers(req);
}

const struct optreg_http_route api_ui_routes[] = {
	{"GET", "/", handle_root, handle_root_try},
	{"GET", "/ui", handle_ui, handle_ui_try},
	{"GET", "/ui/", handle_index, handle_index_try},
	{"GET", "/ui/{file}", handle_file, handle_file_try},
};
const size_t api_ui_nroutes = sizeof(api_ui_routes) / sizeof(api_ui_routes[0]);
