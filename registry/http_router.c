/*
 * registry/http_router.c: matching a request's method and raw path against
 * the route table, and the Allow header of a 405.
 */
#include "http.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

/*
 * Splits a raw path into decoded segments stored in `buf` (strlen(path) + 1
 * bytes). Returns the number of segments, or -1 when the path does not start
 * with '/', has more than HTTP_MAX_SEGMENTS segments, a bad escape, or a
 * segment decoding to something with NUL or '/' in it.
 */
static int split_path(const char *path, char *buf, size_t buflen,
		      const char *segs[HTTP_MAX_SEGMENTS])
{
	const char *p;
	char *o = buf;
	int n = 0;

	if (path[0] != '/' || buflen < strlen(path) + 1)
		return -1;
	p = path + 1;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		long dn;

		if (n == HTTP_MAX_SEGMENTS)
			return -1;
		dn = http_pct_decode(p, len, o, false);
		if (dn < 0 || memchr(o, '\0', (size_t)dn) ||
		    memchr(o, '/', (size_t)dn))
			return -1;
		o[dn] = '\0';
		segs[n++] = o;
		o += dn + 1;
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

/* Whether `pattern` matches the segments; fills params when non-NULL. */
static bool pattern_match(const char *pattern, const char *const *segs,
			  int nsegs, const char **params, size_t *nparams)
{
	const char *p = pattern;
	size_t np = 0;
	int i = 0;

	if (*p++ != '/')
		return false;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (i == nsegs)
			return false;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (!segs[i][0] || np == OPTREG_HTTP_MAX_PARAMS)
				return false;
			if (params)
				params[np] = segs[i];
			np++;
		} else if (strlen(segs[i]) != len || memcmp(segs[i], p, len)) {
			return false;
		}
		i++;
		if (!end)
			break;
		p = end + 1;
	}
	if (i != nsegs)
		return false;
	if (nparams)
		*nparams = np;
	return true;
}

int optreg_http_match(const struct optreg_http_route *routes, size_t nroutes,
		      const char *method, const char *path,
		      const char *params[OPTREG_HTTP_MAX_PARAMS],
		      size_t *nparams, char *params_buf, size_t params_buf_len)
{
	const char *segs[HTTP_MAX_SEGMENTS];
	bool path_hit = false;
	long head_get = -1;
	int nsegs;

	*nparams = 0;
	nsegs = split_path(path, params_buf, params_buf_len, segs);
	if (nsegs < 0)
		return -1;
	for (size_t i = 0; i < nroutes; i++) {
		if (!pattern_match(routes[i].pattern, segs, nsegs, NULL, NULL))
			continue;
		path_hit = true;
		if (!strcmp(routes[i].method, method)) {
			pattern_match(routes[i].pattern, segs, nsegs, params,
				      nparams);
			return (int)i;
		}
		if (head_get < 0 && !strcmp(method, "HEAD") &&
		    !strcmp(routes[i].method, "GET"))
			head_get = (long)i;
	}
	if (head_get >= 0) {
		pattern_match(routes[head_get].pattern, segs, nsegs, params,
			      nparams);
		return (int)head_get;
	}
	return path_hit ? -2 : -1;
}

char *http_router_allow(const struct optreg_http_route *routes, size_t nroutes,
			const char *path)
{
	const char *segs[HTTP_MAX_SEGMENTS];
	struct optreg_buf out = OPTREG_BUF_INIT;
	size_t len = strlen(path) + 1;
	char *buf = optreg_xmalloc(len);
	int nsegs = split_path(path, buf, len, segs);
	bool get = false, head = false;

	for (size_t i = 0; nsegs >= 0 && i < nroutes; i++) {
		const char *m = routes[i].method;

		if (!pattern_match(routes[i].pattern, segs, nsegs, NULL, NULL))
			continue;
		/* Leave out a method listed already. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(routes[j].method, m) &&
			       pattern_match(routes[j].pattern, segs, nsegs,
					     NULL, NULL);
		if (seen)
			continue;
		get |= !strcmp(m, "GET");
		head |= !strcmp(m, "HEAD");
		optreg_buf_addf(&out, "%s%s", out.len ? ", " : "", m);
	}
	if (get && !head)
		optreg_buf_adds(&out, ", HEAD");
	free(buf);
	return optreg_buf_detach(&out, NULL);
}
