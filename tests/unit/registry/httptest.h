/*
 * tests/unit/registry/httptest.h: a real optreg HTTP server on a thread
 * and a libcurl client for it, shared by the server and metrics tests
 * (header-only; include after cmocka.h).
 *
 * The server takes SIGTERM with sigwait(), so main() must block SIGTERM and
 * SIGINT before any thread starts: every thread inherits the mask and the
 * signal can only be taken by the serving thread. server_stop() sends it.
 */
#ifndef OPTREG_TEST_HTTPTEST_H
#define OPTREG_TEST_HTTPTEST_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/buf.h"
#include "registry/http.h"

#define TEST_MAX_BODY 1024

static inline json_t *parse(const struct optreg_buf *b)
{
	json_error_t err;
	json_t *j = json_loadb(b->data, b->len, 0, &err);

	if (!j)
		fail_msg("not JSON (%s): %s", err.text, b->data);
	return j;
}

struct server {
	struct optreg_http_config cfg;
	const struct optreg_http_route *routes;
	size_t nroutes;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned port;
	bool ready, done;
	int rc;
};

/* The server being started (one at a time). */
static struct server *current;

static inline void server_ready(unsigned port, void *ctx)
{
	struct server *s = current;

	assert_ptr_equal(ctx, s->ctx);
	pthread_mutex_lock(&s->mu);
	s->port = port;
	s->ready = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static inline void *server_main(void *arg)
{
	struct server *s = arg;
	int rc = optreg_http_serve(&s->cfg, s->routes, s->nroutes, s->ctx,
				   server_ready);

	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	s->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Starts a server of `routes` with `ctx` and the extra `metrics` (may be
 * NULL); returns true once it listens, false when serve ended (s->rc says
 * why). */
static inline bool server_start(struct server *s, const char *listen,
				const struct optreg_http_route *routes,
				size_t nroutes, void *ctx,
				void (*metrics)(struct optreg_buf *, void *))
{
	memset(s, 0, sizeof(*s));
	s->cfg.listen = listen;
	s->cfg.threads = 2;
	s->cfg.max_body = TEST_MAX_BODY;
	s->cfg.drain_s = 5;
	s->cfg.metrics = metrics;
	s->routes = routes;
	s->nroutes = nroutes;
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	current = s;
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	pthread_mutex_lock(&s->mu);
	while (!s->ready && !s->done)
		pthread_cond_wait(&s->cond, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return s->ready;
}

static inline int server_stop(struct server *s)
{
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	return s->rc;
}

struct reply {
	long status;
	CURLcode code;
	struct optreg_buf body;
	struct optreg_buf headers;
};

static inline size_t on_data(char *p, size_t size, size_t n, void *data)
{
	optreg_buf_add(data, p, size * n);
	return size * n;
}

struct upload {
	const char *data;
	size_t len, off;
};

static inline size_t on_read(char *p, size_t size, size_t n, void *data)
{
	struct upload *u = data;
	size_t k = size * n;

	if (k > u->len - u->off)
		k = u->len - u->off;
	if (k > 300) /* several chunks */
		k = 300;
	memcpy(p, u->data + u->off, k);
	u->off += k;
	return k;
}

/* The server the tests talk to. */
static struct server srv;

/*
 * One request to the test server. `headers` is NULL or NULL-ended;
 * `chunked` sends the body with Transfer-Encoding: chunked.
 */
static inline void request(const char *method, const char *target,
			   const char *const *headers, const char *body,
			   size_t len, bool chunked, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct upload up = {body, len, 0};
	char url[512];

	memset(r, 0, sizeof(*r));
	optreg_buf_init(&r->body);
	optreg_buf_init(&r->headers);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", srv.port, target);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (body && chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	r->code = curl_easy_perform(c);
	if (r->code == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static inline void reply_release(struct reply *r)
{
	optreg_buf_release(&r->body);
	optreg_buf_release(&r->headers);
}

/* A response header's value (copied into `out`), or NULL. */
static inline const char *header(const struct reply *r, const char *name,
				 char *out, size_t outlen)
{
	size_t nl = strlen(name);

	for (const char *p = r->headers.data; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(p + len - v), v);
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

#endif
