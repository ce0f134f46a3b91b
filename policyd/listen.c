/*
 * The listening sockets (listen.h): Socket for Postfix and the
 * AdminSocket.  An old socket file at either path is removed before the
 * bind; Socket is chmod'ed to SocketMode after it, the AdminSocket is
 * created under umask 0177.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

#include "admin_server.h"
#include "conn.h"
#include "log.h"
#include "pconf.h"

const char *listen_unix_path(const char *spec)
{
	if (strncasecmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncasecmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* inet:PORT[@ADDR], inet6:PORT[@ADDR] (addresses only, no host names here) */
static int inet_addr_of(const char *spec, struct sockaddr_storage *ss, socklen_t *len_r)
{
	bool v6 = strncasecmp(spec, "inet6:", 6) == 0;
	const char *p = spec + (v6 ? 6 : 5);
	const char *at = strchr(p, '@');
	int port = atoi(p);
	char addr[INET6_ADDRSTRLEN + 2] = "";
	if (at != NULL) {
		snprintf(addr, sizeof(addr), "%s", at + 1);
		size_t n = strlen(addr);
		if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
			memmove(addr, addr + 1, n - 2);
			addr[n - 2] = '\0';
		}
	}
	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (addr[0] != '\0' && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -1;
		*len_r = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (addr[0] != '\0' && inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -1;
		*len_r = sizeof(*sin6);
	}
	return 0;
}

static int listen_on(struct server *srv)
{
	const char *spec = srv->conf->socket;
	const char *path = listen_unix_path(spec);
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
	if (path != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		memset(&ss, 0, sizeof(ss));
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
		len = sizeof(*sun);
		unlink(path);
	} else if (inet_addr_of(spec, &ss, &len) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: expected an IP address after @", spec);
		return -1;
	}
	srv->listener = evconnlistener_new_bind(srv->base, conn_accept, srv, flags, 128,
						(struct sockaddr *)&ss, (int)len);
	if (srv->listener == NULL) {
		log_msg(LOG_ERR, NULL, "Socket %s: cannot listen: %s", spec, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, conn_accept_error);
	if (path != NULL && chmod(path, srv->conf->socket_mode) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: chmod: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

/* Mode 0600 from the start (umask), not after a chmod race. */
static int listen_admin(struct server *srv)
{
	const char *path = srv->conf->admin_socket;
	struct sockaddr_un sun;
	if (path == NULL)
		return 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg(LOG_ERR, NULL, "AdminSocket %s: path too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	mode_t old = umask(0177);
	srv->admin = evconnlistener_new_bind(srv->base, admin_server_accept, srv,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					     (struct sockaddr *)&sun, (int)sizeof(sun));
	umask(old);
	if (srv->admin == NULL) {
		log_msg(LOG_ERR, NULL, "AdminSocket %s: cannot listen: %s", path, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->admin, conn_accept_error);
	return 0;
}

int listen_start(struct server *srv)
{
	return listen_on(srv) < 0 || listen_admin(srv) < 0 ? -1 : 0;
}

void listen_stop(struct server *srv)
{
	evconnlistener_free(srv->listener);
	srv->listener = NULL;
	if (srv->admin != NULL) {
		evconnlistener_free(srv->admin);
		srv->admin = NULL;
		unlink(srv->conf->admin_socket);
	}
}
