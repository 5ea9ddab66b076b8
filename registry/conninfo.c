/*
 * registry/conninfo.c: parsed connection strings with optreg's defaults,
 * and the notice receiver of our connections (see conninfo.h).
 */
#include "conninfo.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int64_t optreg_conninfo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
void optreg_conninfo_notice(void *arg, const PGresult *res)
{
	const char *sev =
		PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (arg && sev && (!strcmp(sev, "FATAL") || !strcmp(sev, "PANIC")))
		*(bool *)arg = true;
}
static const struct {
	const char *key, *val;
} param_defaults[] = {
	{"connect_timeout", "2"}, /* a dead server must not stall acquire */
	{"keepalives", "1"},	  /* notice a peer that vanished silently */
	{"keepalives_idle", "30"},
	{"keepalives_interval", "10"},
	{"keepalives_count", "3"},
	{"fallback_application_name", "optreg-server"},
};

void optreg_conninfo_release(struct optreg_conninfo *p)
{
	for (size_t i = 0; p->keys && p->keys[i]; i++) {
		free(p->keys[i]);
		free(p->vals[i]);
	}
	free(p->keys);
	free(p->vals);
	memset(p, 0, sizeof(*p));
}

/* True when the option is given in the conninfo or its environment
 * variable, i.e. when our default must not override it. */
static bool param_given(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, key))
			continue;
		if (o->val)
			return true;
		return o->envvar && getenv(o->envvar);
	}
	return false;
}

int optreg_conninfo_parse(struct optreg_conninfo *p, const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts =
		PQconninfoParse(conninfo ? conninfo : "", &err);
	size_t n = ARRAY_SIZE(param_defaults), i = 0;

	memset(p, 0, sizeof(*p));
	if (!opts) {
		PQfreemem(err);
		return OPTREG_EINVAL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	p->keys = optreg_xcalloc(n + 1, sizeof(*p->keys));
	p->vals = optreg_xcalloc(n + 1, sizeof(*p->vals));
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		p->keys[i] = optreg_xstrdup(o->keyword);
		p->vals[i] = optreg_xstrdup(o->val);
		i++;
	}
	for (size_t d = 0; d < ARRAY_SIZE(param_defaults); d++) {
		if (param_given(opts, param_defaults[d].key))
			continue;
		p->keys[i] = optreg_xstrdup(param_defaults[d].key);
		p->vals[i] = optreg_xstrdup(param_defaults[d].val);
		i++;
	}
	PQconninfoFree(opts);

	const char *t = getenv("PGCONNECT_TIMEOUT");
	for (size_t k = 0; k < i; k++)
		if (!strcmp(p->keys[k], "connect_timeout"))
			t = p->vals[k];
	p->connect_timeout_s = t ? atoi(t) : 0;
	if (p->connect_timeout_s < 0)
		p->connect_timeout_s = 0;
	return 0;
}

void optreg_conninfo_add_options(struct optreg_conninfo *p, const char *opts)
{
	struct optreg_buf v = OPTREG_BUF_INIT;
	const char *old = getenv("PGOPTIONS");
	size_t k = 0;

	for (; p->keys && p->keys[k]; k++)
		if (!strcmp(p->keys[k], "options"))
			break;
	if (p->keys && p->keys[k])
		old = p->vals[k];
	optreg_buf_adds(&v, opts);
	if (old && *old)
		optreg_buf_addf(&v, " %s", old);
	if (p->keys && p->keys[k]) {
		free(p->vals[k]);
		p->vals[k] = optreg_buf_detach(&v, NULL);
		return;
	}
	/* Append a key: the arrays grow by one, still NULL-terminated. */
	p->keys = optreg_xrealloc(p->keys, (k + 2) * sizeof(*p->keys));
	p->vals = optreg_xrealloc(p->vals, (k + 2) * sizeof(*p->vals));
	p->keys[k] = optreg_xstrdup("options");
	p->vals[k] = optreg_buf_detach(&v, NULL);
	p->keys[k + 1] = NULL;
	p->vals[k + 1] = NULL;
}

PGconn *optreg_conninfo_connect(const struct optreg_conninfo *p, bool *goodbye)
{
	return optreg_conninfo_connect_until(p, goodbye, 0);
}

PGconn *optreg_conninfo_connect_until(const struct optreg_conninfo *p,
				      bool *goodbye, int64_t deadline_ms)
{
	PGconn *conn = PQconnectStartParams((const char *const *)p->keys,
					    (const char *const *)p->vals, 0);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t end = deadline_ms;

	if (p->connect_timeout_s > 0) {
		int64_t ct = optreg_conninfo_now_ms() +
			     (int64_t)p->connect_timeout_s * 1000;
		if (!end || ct < end)
			end = ct;
	}
	if (!conn || PQstatus(conn) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		struct pollfd pfd;
		int left = -1, rc;

		if (st == PGRES_POLLING_FAILED)
			goto fail;
		if (end) {
			int64_t d = end - optreg_conninfo_now_ms();
			if (d <= 0)
				goto fail;
			left = (int)d;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (pfd.fd < 0)
			goto fail;
		rc = poll(&pfd, 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			continue; /* the deadline is checked above */
		st = PQconnectPoll(conn);
	}
	PQsetNoticeReceiver(conn, optreg_conninfo_notice, goodbye);
	return conn;
fail:
	PQfinish(conn);
	return NULL;
}
