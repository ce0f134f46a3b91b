/*
 * Notifications when a limit trips: NotifyCommand (fork + exec, never a
 * shell) and/or a short e-mail to NotifyAddress through SendmailPath -t -i.
 * The event loop never waits: children are reaped on SIGCHLD, killed
 * (their whole process group) after NotifyTimeout, and every failure
 * (cannot fork, exit status not 0, killed, timed out) is logged.  At most
 * NOTIFY_MAX_CHILDREN run at once; more are dropped with a log line.  The
 * caller (ratelimit.c) calls notify_trip() at most once per period per
 * (rule, key).
 *
 * NotifyCommand gets the arguments LIMIT KEY USER and the environment
 * CACHET_LIMIT, CACHET_KEY, CACHET_USER, CACHET_CLIENT, CACHET_SENDER,
 * CACHET_ACTION, CACHET_QUEUE_ID, CACHET_BLOCKED (yes/no), PATH.
 */
#ifndef CACHET_NOTIFY_H
#define CACHET_NOTIFY_H

#include <event2/event.h>

#include "pconf.h"
#include "proto.h"

#define NOTIFY_MAX_CHILDREN 16

struct notify;

struct notify *notify_new(struct event_base *base);
/* Kills and reaps the children still running. */
void notify_free(struct notify **n);
/* Starts the configured notifications (none configured: nothing). */
void notify_trip(struct notify *n, const struct pconf *c, const struct limit_rule *rule,
		 const char *key, const struct proto_req *r);

#endif
