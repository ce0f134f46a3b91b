/*
 * Notification children (see notify.h).  Each child runs in its own
 * process group so a timeout kills whatever it started too.  The e-mail
 * is a few hundred bytes, written at once into the pipe to sendmail (far
 * below the pipe's buffer), so writing never waits either.  Values from
 * the request cannot hold control characters (proto.c refuses them), so
 * they cannot add header lines to the e-mail.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "xalloc.h"

#define NOTIFY_MAX_MAIL 4096

struct child {
	pid_t pid;		/* 0: free slot */
	struct timespec deadline;
	const char *what;	/* "NotifyCommand" or "NotifyAddress" */
};

struct notify {
	struct event_base *base;
	struct event *sigchld;
	struct event *tick;
	struct child kids[NOTIFY_MAX_CHILDREN];
	size_t running;
};

static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void reap(struct notify *n)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < NOTIFY_MAX_CHILDREN; i++) {
			struct child *k = &n->kids[i];
			if (k->pid != pid)
				continue;
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_msg(LOG_WARNING, NULL, "%s (pid %ld) failed: exit status %d%s",
					k->what, (long)pid, WEXITSTATUS(status),
					WEXITSTATUS(status) == 127 ? " (cannot execute)" : "");
			else if (WIFSIGNALED(status))
				log_msg(LOG_WARNING, NULL, "%s (pid %ld) killed by signal %d",
					k->what, (long)pid, WTERMSIG(status));
			k->pid = 0;
			n->running--;
		}
	}
}

static void on_sigchld(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	reap(arg);
}

/* Once a second while children run: kill the late ones. */
static void on_tick(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct notify *n = arg;
	reap(n);
	for (size_t i = 0; i < NOTIFY_MAX_CHILDREN; i++) {
		struct child *k = &n->kids[i];
		if (k->pid != 0 && past(&k->deadline)) {
			log_msg(LOG_WARNING, NULL, "%s (pid %ld) timed out; killing it", k->what,
				(long)k->pid);
			kill(-k->pid, SIGKILL);
			/* reaped by SIGCHLD; push the deadline so we kill once */
			k->deadline.tv_sec += 3600;
		}
	}
	if (n->running > 0) {
		struct timeval tv = { 0, 200000 };
		event_add(n->tick, &tv);
	}
}

struct notify *notify_new(struct event_base *base)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	n->base = base;
	n->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, n);
	n->tick = evtimer_new(base, on_tick, n);
	event_add(n->sigchld, NULL);
	return n;
}

void notify_free(struct notify **np)
{
	struct notify *n = *np;
	*np = NULL;
	if (n == NULL)
		return;
	for (size_t i = 0; i < NOTIFY_MAX_CHILDREN; i++) {
		if (n->kids[i].pid != 0) {
			kill(-n->kids[i].pid, SIGKILL);
			waitpid(n->kids[i].pid, NULL, 0);
		}
	}
	event_free(n->sigchld);
	event_free(n->tick);
	free(n);
}

/* In the child: a clean process for exec (own group, no inherited fds). */
static void child_setup(int stdin_fd)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (stdin_fd < 0)
		stdin_fd = open("/dev/null", O_RDONLY);
	if (stdin_fd >= 0 && stdin_fd != 0) {
		dup2(stdin_fd, 0);
		close(stdin_fd);
	}
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close(fd);
}

/* Forks and execs argv with envp; stdin from stdin_fd (or /dev/null). */
static void spawn(struct notify *n, const struct pconf *c, const char *what,
		  char *const argv[], char *const envp[], int stdin_fd)
{
	size_t slot = 0;
	while (slot < NOTIFY_MAX_CHILDREN && n->kids[slot].pid != 0)
		slot++;
	if (slot == NOTIFY_MAX_CHILDREN) {
		log_msg(LOG_WARNING, NULL, "%s: %d notifications running already; dropping this one",
			what, NOTIFY_MAX_CHILDREN);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, NULL, "%s: fork: %s", what, strerror(errno));
		return;
	}
	if (pid == 0) {
		child_setup(stdin_fd);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);	/* both sides, so kill(-pid) works at once */
	struct child *k = &n->kids[slot];
	k->pid = pid;
	k->what = what;
	clock_gettime(CLOCK_MONOTONIC, &k->deadline);
	k->deadline.tv_sec += c->notify_timeout_ms / 1000;
	k->deadline.tv_nsec += (long)(c->notify_timeout_ms % 1000) * 1000000;
	if (k->deadline.tv_nsec >= 1000000000) {
		k->deadline.tv_sec++;
		k->deadline.tv_nsec -= 1000000000;
	}
	if (n->running++ == 0) {
		struct timeval tv = { 0, 200000 };
		event_add(n->tick, &tv);
	}
}

static void run_command(struct notify *n, const struct pconf *c, const struct limit_rule *rule,
			const char *key, const struct proto_req *r)
{
	struct buf env[9];
	static const char *const names[] = { "CACHET_LIMIT", "CACHET_KEY", "CACHET_USER",
					     "CACHET_CLIENT", "CACHET_SENDER", "CACHET_ACTION",
					     "CACHET_QUEUE_ID", "CACHET_BLOCKED" };
	const char *values[] = { rule->name, key, proto_get(r, PA_SASL_USERNAME),
				 proto_get(r, PA_CLIENT_ADDRESS), proto_get(r, PA_SENDER),
				 limit_action_name(rule->action), proto_get(r, PA_QUEUE_ID),
				 rule->block && proto_get(r, PA_SASL_USERNAME)[0] != '\0' ? "yes"
											  : "no" };
	char *envp[ARRAY_LEN(env) + 1];
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		buf_init(&env[i], 0);
		buf_printf(&env[i], "%s=%s", names[i], values[i]);
		envp[i] = env[i].p;
	}
	buf_init(&env[8], 0);
	buf_puts(&env[8], "PATH=/usr/bin:/bin");
	envp[8] = env[8].p;
	envp[9] = NULL;
	char *argv[] = { c->notify_command, rule->name, (char *)(uintptr_t)key,
			 (char *)(uintptr_t)values[2], NULL };
	spawn(n, c, "NotifyCommand", argv, envp, -1);
	for (size_t i = 0; i < ARRAY_LEN(env); i++)
		buf_free(&env[i]);
}

static void send_mail(struct notify *n, const struct pconf *c, const struct limit_rule *rule,
		      const char *key, const struct proto_req *r)
{
	int fds[2];
	struct buf m;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_msg(LOG_ERR, NULL, "NotifyAddress: pipe: %s", strerror(errno));
		return;
	}
	buf_init(&m, NOTIFY_MAX_MAIL);
	const char *user = proto_get(r, PA_SASL_USERNAME);
	buf_printf(&m, "To: %s\nSubject: cachet-policyd: limit %s exceeded%s%.100s\n"
		       "Auto-Submitted: auto-generated\nContent-Type: text/plain; charset=us-ascii\n\n"
		       "The rate limit %s was exceeded.\n\n  key:       %.300s\n"
		       "  SASL user: %.100s\n  client:    %.64s\n  sender:    %.300s\n"
		       "  action:    %s\n  blocked:   %s\n\n"
		       "You get at most one such message per limit, key and period.\n",
		   c->notify_address, rule->name, user[0] != '\0' ? " by " : "", user, rule->name,
		   key, user, proto_get(r, PA_CLIENT_ADDRESS), proto_get(r, PA_SENDER),
		   limit_action_name(rule->action),
		   rule->block && user[0] != '\0' ? "yes, until an admin runs cachet-policyd unblock"
						  : "no");
	char *argv[] = { c->sendmail_path, (char *)(uintptr_t)"-t", (char *)(uintptr_t)"-i",
			 NULL };
	char *envp[] = { (char *)(uintptr_t)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	/* the child gets the read end as stdin (dup2 clears O_CLOEXEC) */
	spawn(n, c, "NotifyAddress", argv, envp, fds[0]);
	close(fds[0]);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	ssize_t w = write(fds[1], m.p, m.len);
	if (w < 0 || (size_t)w != m.len)
		log_msg(LOG_WARNING, NULL, "NotifyAddress: could not hand the message to %s: %s",
			c->sendmail_path, w < 0 ? strerror(errno) : "short write");
	close(fds[1]);
	buf_free(&m);
}

void notify_trip(struct notify *n, const struct pconf *c, const struct limit_rule *rule,
		 const char *key, const struct proto_req *r)
{
	if (c->notify_command != NULL)
		run_command(n, c, rule, key, r);
	if (c->notify_address != NULL)
		send_mail(n, c, rule, key, r);
}
