/*
 * common/http_client.c: the registry client's HTTP transport over libcurl.
 *
 * One easy handle per client, reset before each request so no option leaks
 * from one request into the next while the connection is kept alive.
 * Redirects are not followed: the API never redirects, and following one
 * could hand the token to another host.
 */
#include "http_client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#define USER_AGENT "optreg/0.1.0"

/* Wipes and frees a secret string. */
static void free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* A base URL we accept: http(s)://host[:port][/prefix], no userinfo,
 * query, fragment, spaces or controls. Returns a message or NULL. */
static const char *check_url(const char *url)
{
	const char *host, *end;

	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else
		return "must start with http:// or https://";
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "must not contain spaces or control characters";
	if (strpbrk(url, "?#"))
		return "must not contain a query or fragment";
	end = host + strcspn(host, "/");
	if (end == host)
		return "has no host";
	if (memchr(host, '@', (size_t)(end - host)))
		return "must not contain credentials (pass a token with "
		       "OPTREG_TOKEN or --token)";
	return NULL;
}

/* A token must fit in a header line: printable ASCII, no spaces. */
static int token_ok(const char *t)
{
	for (; *t; t++)
		if (*t <= ' ' || *t >= 0x7f)
			return 0;
	return 1;
}

int optreg_http_client_init(struct optreg_http_client *c, const char *url,
			    const char *token, struct optreg_errors *errs)
{
	const char *why, *url_from = url ? "--url" : "OPTREG_URL";
	size_t n;

	memset(c, 0, sizeof(*c));
	if (!url || !url[0])
		url = getenv("OPTREG_URL");
	if (!url || !url[0]) {
		url = OPTREG_DEFAULT_URL;
		url_from = "the default URL";
	}
	if (!token)
		token = getenv("OPTREG_TOKEN");
	if ((why = check_url(url))) {
		/* A URL with credentials is not echoed: they are secrets. */
		if (strstr(why, "credentials"))
			optreg_errors_add(errs, OPTREG_EUSAGE, "url", "",
					  "%s %s", url_from, why);
		else
			optreg_errors_add(errs, OPTREG_EUSAGE, "url", "",
					  "%s \"%s\" %s", url_from, url, why);
		return OPTREG_EUSAGE;
	}
	if (token && !token_ok(token)) {
		/* Never echo the token, not even in part. */
		optreg_errors_add(errs, OPTREG_EUSAGE, "token", "",
				  "the token has characters that cannot be "
				  "sent in a header (a space, newline or "
				  "control character)");
		return OPTREG_EUSAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(c->curl = curl_easy_init())) {
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "http", "",
				  "cannot initialize libcurl");
		return OPTREG_EUNAVAILABLE;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	c->base_url = optreg_xstrndup(url, n);
	c->token = token && token[0] ? optreg_xstrdup(token) : NULL;
	c->user_agent = optreg_xstrdup(USER_AGENT);
	c->connect_timeout_ms = OPTREG_HTTP_CONNECT_TIMEOUT_MS;
	c->timeout_ms = OPTREG_HTTP_TIMEOUT_MS;
	return 0;
}

void optreg_http_client_release(struct optreg_http_client *c)
{
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	free(c->base_url);
	free_secret(c->token);
	free(c->user_agent);
	memset(c, 0, sizeof(*c));
}

void optreg_http_resp_init(struct optreg_http_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	optreg_buf_init(&resp->body);
}

static void clear_headers(struct optreg_http_resp *resp)
{
	char **fields[] = {&resp->content_type, &resp->etag,
			   &resp->digest,	&resp->version,
			   &resp->yanked,	&resp->location,
			   &resp->request_id,	&resp->retry_after};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void optreg_http_resp_release(struct optreg_http_resp *resp)
{
	clear_headers(resp);
	optreg_buf_release(&resp->body);
	resp->status = 0;
}

/* State shared with the libcurl callbacks of one request. */
struct transfer {
	struct optreg_http_resp *resp;
	int too_large;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;

	if (t->resp->body.len + len > OPTREG_HTTP_MAX_RESPONSE) {
		t->too_large = 1;
		return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
	}
	optreg_buf_add(&t->resp->body, data, len);
	return len;
}

/* Keeps the headers the client uses. Each response (an interim 1xx one
 * included) starts with its status line, which clears the previous set. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	static const struct {
		const char *name;
		size_t offset;
	} wanted[] = {
		{"content-type",
		 offsetof(struct optreg_http_resp, content_type)},
		{"etag", offsetof(struct optreg_http_resp, etag)},
		{"x-optreg-digest", offsetof(struct optreg_http_resp, digest)},
		{"x-optreg-version",
		 offsetof(struct optreg_http_resp, version)},
		{"x-optreg-yanked", offsetof(struct optreg_http_resp, yanked)},
		{"location", offsetof(struct optreg_http_resp, location)},
		{"x-request-id", offsetof(struct optreg_http_resp, request_id)},
		{"retry-after", offsetof(struct optreg_http_resp, retry_after)},
	};
	struct transfer *t = arg;
	size_t len = size * n, namelen;
	const char *colon, *v, *end;

	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		clear_headers(t->resp);
		return len;
	}
	colon = memchr(data, ':', len);
	if (!colon)
		return len;
	namelen = (size_t)(colon - data);
	v = colon + 1;
	end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (strlen(wanted[i].name) != namelen ||
		    strncasecmp(data, wanted[i].name, namelen))
			continue;
		char **field = (char **)((char *)t->resp + wanted[i].offset);
		free(*field);
		*field = optreg_xstrndup(v, (size_t)(end - v));
		break;
	}
	return len;
}

/* Frees a header list after wiping it: one line carries the token. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

/* Appends to a header list; aborts when libcurl cannot allocate. */
static struct curl_slist *add_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *l = curl_slist_append(list, h);

	if (!l) {
		fprintf(stderr, "fatal: out of memory adding a header\n");
		abort();
	}
	return l;
}

int optreg_http_request(struct optreg_http_client *c, const char *method,
			const char *path, const char *body,
			const char *const *headers,
			struct optreg_http_resp *resp,
			struct optreg_errors *errs)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct transfer t = {resp, 0};
	struct curl_slist *list = NULL;
	CURL *curl = c->curl;
	char *url, *auth;
	CURLcode rc;

	optreg_http_resp_release(resp);
	url = optreg_xasprintf("%s%s", c->base_url, path);
	curl_easy_reset(curl);
	list = add_header(list, "Accept: application/json, "
				"application/problem+json");
	list = add_header(list, "Expect:");
	if (body)
		list = add_header(list, "Content-Type: application/json");
	if (c->token) {
		auth = optreg_xasprintf("Authorization: Bearer %s", c->token);
		list = add_header(list, auth);
		free_secret(auth);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		list = add_header(list, headers[i]);

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 c->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
	}
	if (!strcmp(method, "GET") && !body)
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") || !body)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	free_headers(list);

	if (rc != CURLE_OK) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EUNAVAILABLE, "unavailable", "",
			"cannot reach the registry at %s", c->base_url);
		if (t.too_large) {
			optreg_error_set_detail(
				e, "%s %s: the response is larger than %u MiB",
				method, url, OPTREG_HTTP_MAX_RESPONSE >> 20);
		} else {
			optreg_error_set_detail(
				e, "%s %s: %s", method, url,
				errbuf[0] ? errbuf : curl_easy_strerror(rc));
			if (rc == CURLE_COULDNT_CONNECT ||
			    rc == CURLE_COULDNT_RESOLVE_HOST ||
			    rc == CURLE_OPERATION_TIMEDOUT)
				optreg_error_set_hint(e,
						      "check that the registry "
						      "runs and that the URL "
						      "is right");
		}
		optreg_http_resp_release(resp);
		free(url);
		return OPTREG_EUNAVAILABLE;
	}
	free(url);
	return 0;
}

static int unreserved(unsigned char ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static void percent_encode(struct optreg_buf *out, const char *s,
			   int encode_dots)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) && !(encode_dots && *p == '.')) {
			optreg_buf_addch(out, (char)*p);
			continue;
		}
		optreg_buf_addch(out, '%');
		optreg_buf_addch(out, hex[*p >> 4]);
		optreg_buf_addch(out, hex[*p & 15]);
	}
}

void optreg_http_path_add(struct optreg_buf *path, const char *segment)
{
	optreg_buf_addch(path, '/');
	percent_encode(path, segment, strspn(segment, ".") == strlen(segment));
}

void optreg_http_query_add(struct optreg_buf *path, const char *key,
			   const char *value)
{
	optreg_buf_addch(path, strchr(path->data, '?') ? '&' : '?');
	percent_encode(path, key, 0);
	optreg_buf_addch(path, '=');
	percent_encode(path, value, 0);
}

const char *optreg_http_reason(long status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
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
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return "";
}

/* A string member of `o`, or NULL when absent, empty or not a string. */
static const char *member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0] ? s : NULL;
}

const char *optreg_http_resp_problem(const struct optreg_http_resp *resp,
				     struct optreg_errors *errs)
{
	json_t *root = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	const char *code = NULL, *msg = NULL, *reason;
	struct optreg_error *e;
	char fallback[32];
	int rc;

	if (json_is_object(root)) {
		code = member(root, "code");
		msg = member(root, "detail");
		if (!msg)
			msg = member(root, "title");
	}
	rc = optreg_code_from_problem(code, resp->status);
	snprintf(fallback, sizeof(fallback), "http_%ld", resp->status);
	reason = optreg_http_reason(resp->status);
	if (msg)
		e = optreg_errors_add(errs, rc, code ? code : fallback, "",
				      "%s", msg);
	else
		e = optreg_errors_add(errs, rc, code ? code : fallback, "",
				      "the registry answered %ld%s%s",
				      resp->status, reason[0] ? " " : "",
				      reason);
	if (resp->status >= 500 && resp->request_id)
		optreg_error_set_detail(e, "the request id is %s",
					resp->request_id);
	code = e->rule;

	if (json_is_object(root))
		optreg_errors_from_json(errs, json_object_get(root, "errors"),
					rc);
	json_decref(root);
	return code;
}
