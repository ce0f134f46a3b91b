/*
 * Reading the configuration, at start and on SIGHUP (reload.h).  The new
 * configuration is swapped in whole; a rate-limit decision still waiting
 * for the store keeps a reference to the one it was planned with
 * (ratelimit.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reload.h"

#include "buf.h"
#include "log.h"
#include "state.h"
#include "store_impl.h"
#include "xalloc.h"

/* A relative path from the file is taken from the start directory. */
static void absolute_path(char **p, const char *start_dir)
{
	if (*p == NULL || (*p)[0] == '/' || start_dir == NULL)
		return;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", start_dir, *p);
	free(*p);
	*p = buf_steal(&b);
}

struct pconf *reload_read(const struct server *srv, const struct pconf *old, char **error_r)
{
	struct pconf *c = pconf_load(srv->config_path, error_r);
	if (c == NULL)
		return NULL;
	absolute_path(&c->state_file, srv->start_dir);
	absolute_path(&c->pid_file, srv->start_dir);
	absolute_path(&c->redis_password_file, srv->start_dir);
	if (pconf_read_secret(c, error_r) == 0)
		return c;
	if (old != NULL && old->redis_password != NULL && errno == EACCES &&
	    strcmp(old->redis_password_file, c->redis_password_file) == 0) {
		log_msg(LOG_NOTICE, NULL, "reload: %s; keeping the Redis password read at start",
			*error_r);
		free(*error_r);
		*error_r = NULL;
		c->redis_password = xstrdup(old->redis_password);
		return c;
	}
	pconf_free(&c);
	return NULL;
}

/* Two settings that may be unset (NULL) are the same. */
static bool same_text(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Store or StoreTimeout changed: c's store replaces the running one.  -1: it did not open. */
static int reload_store(struct server *srv, const struct pconf *c)
{
	uint64_t gen;
	struct store *s = state_store_open(c, srv->base, &gen), *old = srv->store;
	if (s == NULL)
		return -1;
	state_save(srv);
	state_journal_stop(srv);
	srv->gen = gen;
	if (store_is_memory(s) && c->state_file != NULL && c->journal)
		log_msg(LOG_WARNING, NULL, "reload: the new memory store has no journal "
			"until a restart (snapshots only)");
	/* swapped first: requests the old store answers now go on with the new */
	srv->store = s;
	srv->rl.store = s;
	store_close(&old);
	return 0;
}

/* One setting that keeps its running value until a restart (a change is logged). */
static void keep_text(char **now, const char *running, const char *name)
{
	if (same_text(*now, running))
		return;
	log_msg(LOG_WARNING, NULL, "reload: %s changes need a restart", name);
	free(*now);
	*now = running != NULL ? xstrdup(running) : NULL;
}

/*
 * Socket, PidFile, StateFile, Journal and AdminSocket keep their running
 * values: what was opened or written at start is what is removed at exit.
 */
static void keep_running(const struct pconf *run, struct pconf *c)
{
	keep_text(&c->socket, run->socket, "Socket");
	keep_text(&c->pid_file, run->pid_file, "PidFile");
	/* the journal's files are named after the StateFile: both stay */
	if (!same_text(c->state_file, run->state_file) || c->journal != run->journal) {
		log_msg(LOG_WARNING, NULL, "reload: StateFile and Journal changes need a restart");
		free(c->state_file);
		c->state_file = run->state_file != NULL ? xstrdup(run->state_file) : NULL;
		c->journal = run->journal;
	}
	keep_text(&c->admin_socket, run->admin_socket, "AdminSocket");
}

/* SIGHUP: new rules, same counters (unless the store itself changed). */
void reload_on_hup(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	char *error = NULL;
	struct pconf *c = reload_read(srv, srv->conf, &error);
	if (c == NULL) {
		log_msg(LOG_ERR, NULL, "reload: %s; keeping the old configuration", error);
		free(error);
		return;
	}
	if (!same_text(c->user_id, srv->conf->user_id) || c->allow_root != srv->conf->allow_root)
		log_msg(LOG_WARNING, NULL, "reload: UserID and AllowRoot changes need a restart");
	if (strcmp(c->store, srv->conf->store) != 0 ||
	    c->store_timeout_ms != srv->conf->store_timeout_ms) {
		if (reload_store(srv, c) < 0) {
			pconf_free(&c);
			return;
		}
	} else {
		/* the same Redis: new credentials from the next connection on */
		store_redis_set_auth(srv->store, c->redis_user, c->redis_password);
	}
	keep_running(srv->conf, c);
	pconf_free(&srv->conf);
	srv->conf = c;
	srv->rl.conf = c;
	log_set_level(c->log_debug ? LOG_DEBUG : LOG_INFO);
	state_timer_arm(srv);
	log_msg(LOG_INFO, NULL, "reloaded %s: %zu limit rules", c->path,
		c->limits != NULL ? c->limits->n : 0);
}
