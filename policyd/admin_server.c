/*
 * The AdminSocket's connections (admin_server.h), as bufferevents: an
 * admin command is rare, so the cost of a bufferevent does not matter
 * here as it does for Postfix's connections (conn.c).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <string.h>

#include "admin_server.h"

#include "admin.h"
#include "buf.h"
#include "log.h"
#include "server.h"
#include "state.h"

/* -- one command line, "RC\n" + output, close -- */

static void admin_done(struct bufferevent *bev, void *arg UNUSED)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void admin_event(struct bufferevent *bev, short what UNUSED, void *arg UNUSED)
{
	bufferevent_free(bev);
}

static void admin_read(struct bufferevent *bev, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	char line[ADMIN_MAX_LINE + 1];
	int rc = ADMIN_OK;
	struct buf out;
	buf_init(&out, 0);
	size_t took = admin_socket_input(srv->store, srv->conf, p != NULL ? p : "", len, &out, &rc,
					 line);
	if (took == 0) {
		buf_free(&out);
		return;
	}
	evbuffer_drain(in, took);
	if (line[0] != '\0' || rc != ADMIN_USAGE)
		log_msg(rc == ADMIN_OK ? LOG_INFO : LOG_WARNING, NULL, "admin: %.100s: %s", line,
			rc == ADMIN_OK ? "done" : "failed");
	/* blocks and resets should be in the snapshot at once, not wait for the timer */
	if (rc == ADMIN_OK && strcmp(line, "list") != 0)
		state_save(srv);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, admin_done, admin_event, srv);
	bufferevent_write(bev, out.p, out.len);
	buf_free(&out);
}

void admin_server_accept(struct evconnlistener *l UNUSED, evutil_socket_t fd,
			 struct sockaddr *sa UNUSED, int salen UNUSED, void *arg)
{
	struct server *srv = arg;
	struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	struct timeval tv = { 10, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, admin_read, NULL, admin_event, srv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}
