/*
 * registry/http_listen.c: the listening socket of optreg-server. See
 * http_int.h.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/error.h"
#include "../common/jsonutil.h"
#include "../common/log.h"
#include "http_int.h"

/* Splits "host:port" / "[v6]:port" / ":port". Returns 0 or OPTREG_EUSAGE. */
static int parse_listen(const char *addr, char *host, size_t hostlen,
			char *port, size_t portlen)
{
	const char *colon, *h = addr;
	size_t hl;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return OPTREG_EUSAGE;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return OPTREG_EUSAGE;
		hl = (size_t)(colon - addr);
		if (memchr(addr, ':', hl)) /* IPv6 without brackets */
			return OPTREG_EUSAGE;
	}
	if (hl >= hostlen || strlen(colon + 1) >= portlen)
		return OPTREG_EUSAGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strtoul(colon + 1, NULL, 10) > 65535)
		return OPTREG_EUSAGE;
	strcpy(port, colon + 1);
	return 0;
}

void http_listen_log_error(const char *msg, const char *addr, const char *why)
{
	json_t *f = json_object();

	json_object_set_new(f, "listen", optreg_json_text(addr));
	if (why)
		json_object_set_new(f, "error", optreg_json_text(why));
	optreg_log_write("error", msg, f);
}

/* Binds and listens; returns the socket or a negative OPTREG_E* code. */
int http_listen_open(const char *addr, int *family)
{
	char host[256], port[8];
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = 0, rc;

	if (parse_listen(addr, host, sizeof(host), port, sizeof(port))) {
		http_listen_log_error(
			"cannot listen: expected host:port or [ipv6]:port",
			addr, NULL);
		return OPTREG_EUSAGE;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		http_listen_log_error("cannot listen: cannot resolve the host",
				      addr, gai_strerror(rc));
		return OPTREG_EUSAGE;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0) {
			*family = ai->ai_family;
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		http_listen_log_error("cannot listen", addr, strerror(err));
		return OPTREG_EIO;
	}
	return fd;
}
