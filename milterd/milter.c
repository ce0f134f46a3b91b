/*
 * The libmilter driver: the only file that sees SMFICTX and smfi_*.  Each
 * callback becomes a pipeline event; the pipeline's end-of-message result
 * becomes header changes, a reply and an sfsistat.  No checking happens
 * here.
 *
 * libmilter's lifecycle (STYLE.md): close may be the only callback a
 * connection gets, one connection may carry many messages, and abort can
 * come at any point, so the connection context (set at connect, freed at
 * close) and the message context (MAIL FROM to end of message or abort) are
 * kept apart and each is freed on every path.
 *
 * The protocol steps (negotiated per connection, from the snapshot the
 * connection will use, see milter_protocol_steps()): the MTA does not wait
 * for a reply to a step cachet only ever answers with continue (protocol
 * version 6's SMFIP_NR_*), and skips the steps no enabled check reads.
 */
#include "milter.h"

#include <errno.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "pipeline.h"
#include "xalloc.h"

/* libmilter's prototypes predate const; it does not write through these. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

/*
 * What libmilter keeps for us per SMTP session: the pipeline's connection
 * and what negotiation settled.  Created at negotiate (or connect, for an
 * MTA that does not negotiate), freed at close.
 */
struct session {
	/*
	 * The snapshot negotiation read (one reference), which every
	 * connection of the session then uses: a reload between negotiate and
	 * connect must not give the connection checks that need a step the MTA
	 * was told to skip.  NULL until negotiate or connect.
	 */
	struct runtime *rt;
	struct conn *conn;
	unsigned long steps;	/* SMFIP_* agreed at negotiate, 0 without */
	bool error_deferred;	/* an unanswered step failed; logged once */
};

static struct session *session_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* The session, created on first use; NULL only if libmilter refuses it. */
static struct session *session_get(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);
	if (s != NULL)
		return s;
	s = xcalloc(1, sizeof(*s));
	if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
		free(s);
		return NULL;
	}
	return s;
}

static struct conn *conn_of(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);
	return s != NULL ? s->conn : NULL;
}

static struct msg *msg_of(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	return c != NULL ? c->msg : NULL;
}

/* Did negotiation settle on SMFIP_* flag f for this session? */
static bool agreed(SMFICTX *ctx, unsigned long f)
{
	struct session *s = session_of(ctx);
	return s != NULL && (s->steps & f) != 0;
}

/*
 * What a step that went well returns: nothing at all where the MTA agreed
 * not to wait for a reply (nr, an SMFIP_NR_* flag; libmilter logs and drops
 * any other value there), else continue.
 */
static sfsistat go_on(SMFICTX *ctx, unsigned long nr)
{
	return agreed(ctx, nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* What to answer when cachet itself cannot go on (OnInternalError). */
static sfsistat internal_error(SMFICTX *ctx, const char *what)
{
	struct session *s = session_of(ctx);
	struct runtime *rt = s != NULL && s->rt != NULL ? runtime_ref(s->rt) : runtime_current();
	enum on_error e = rt != NULL ? rt->cfg->on_internal_error : ON_ERROR_TEMPFAIL;
	runtime_unref(&rt);
	if (s != NULL)
		s->error_deferred = false;
	struct msg *m = msg_of(ctx);
	log_msg(LOG_ERR, m != NULL ? m->qid : NULL, "internal error: %s; %s", what,
		on_error_name(e));
	if (e == ON_ERROR_ACCEPT)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, unconst("451"), unconst("4.3.0"),
		      unconst("internal error in the mail filter, try again later"));
	return SMFIS_TEMPFAIL;
}

/*
 * An error in step nr.  Where the step is answered, OnInternalError answers
 * it.  Where it is not (SMFIP_NR_*), nothing can be said now: it is logged
 * (once until something is answered) and left to the next answered step,
 * which fails too, since what caused it stays (no connection, no message):
 * end of message at the latest answers with OnInternalError.
 */
static sfsistat step_error(SMFICTX *ctx, unsigned long nr, const char *what)
{
	if (!agreed(ctx, nr))
		return internal_error(ctx, what);
	struct session *s = session_of(ctx);
	if (!s->error_deferred) {
		struct msg *m = msg_of(ctx);
		log_msg(LOG_ERR, m != NULL ? m->qid : NULL,
			"internal error: %s; answered at the next step that has a reply", what);
		s->error_deferred = true;
	}
	return SMFIS_NOREPLY;
}

static void take_qid(SMFICTX *ctx, struct msg *m)
{
	if (strcmp(m->qid, "NOQUEUE") == 0)
		pipeline_msg_set_qid(m, smfi_getsymval(ctx, unconst("i")));
}

/*
 * The steps unanswered when the MTA agrees (SMFIP_NR_*): every callback of
 * these says continue or nothing, the verdict coming at end of message.
 * Postfix then writes the steps up to the next answered one in one go
 * instead of waiting a round trip for each (measured: a third less milter
 * CPU per message, bench/milter_bench.sh).
 *
 * DATA is the exception: Postfix's smtpd hands the milter connection to
 * cleanup after it, so what smtpd wrote last goes out alone, and over TCP
 * cleanup's first write then waits in Nagle's algorithm for its delayed
 * ACK (about 40 ms per message, measured) unless a reply to DATA carried
 * that ACK.  So DATA is answered over TCP (libmilter does it: we have no
 * callback), and skipped over a unix socket, where Nagle does not apply.
 */
#define STEPS_NO_REPLY (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
			SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

/* Listening on a unix socket (set at start-up by milter_open). */
static bool listen_local;

unsigned long milter_protocol_steps(const struct runtime *rt, unsigned long offered,
				    bool local)
{
	/* header values exactly as sent (DKIM's simple canonicalization) */
	unsigned long steps = offered & (SMFIP_HDR_LEADSPC | STEPS_NO_REPLY);
	/* no callback: libmilter would answer each unknown command itself */
	steps |= offered & SMFIP_NOUNKNOWN;
	if (local)
		steps |= offered & SMFIP_NODATA;
	/* the body also feeds the spool */
	if (rt != NULL && !rt->wants_body && !rt->wants_spool)
		steps |= offered & SMFIP_NOBODY;
	if (rt != NULL && !rt->wants_rcpt)
		steps |= offered & SMFIP_NORCPT;
	return steps;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	struct session *s = session_get(ctx);
	if (s == NULL)
		return SMFIS_REJECT; /* libmilter: refuse the negotiation; MTA's default action */
	runtime_unref(&s->rt);
	/* NULL (nothing loaded yet): connect answers OnInternalError */
	s->rt = runtime_current();
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	*pf0 = want & f0;
	/*
	 * libmilter offers every SMFIP_NR_* flag whatever the MTA's protocol
	 * version, and answers continue itself for an MTA without them.
	 */
	*pf1 = milter_protocol_steps(s->rt, f1, listen_local);
	s->steps = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct session *s = session_get(ctx);
	if (s == NULL)
		return internal_error(ctx, "smfi_setpriv failed");
	/*
	 * No snapshot from negotiate: a new connection after SMFIC_QUIT_NC,
	 * close having freed the session.  XXX what negotiation settled is
	 * lost with it (header values would get a second leading space;
	 * libmilter keeps the steps and turns our continue into no reply where
	 * none is wanted): close cannot tell QUIT_NC from the end.  Postfix
	 * opens a milter connection per SMTP session and never sends QUIT_NC.
	 */
	if (s->rt == NULL)
		s->rt = runtime_current();
	if (s->rt == NULL)
		return step_error(ctx, SMFIP_NR_CONN, "no configuration loaded");
	pipeline_conn_free(&s->conn);
	s->conn = pipeline_conn_new(s->rt, hostname, addr);
	return go_on(ctx, SMFIP_NR_CONN);
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return step_error(ctx, SMFIP_NR_HELO, "HELO without a connection");
	pipeline_helo(c, helo);
	return go_on(ctx, SMFIP_NR_HELO);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return step_error(ctx, SMFIP_NR_MAIL, "MAIL FROM without a connection");
	struct msg *m = pipeline_msg_begin(c, argv[0], smfi_getsymval(ctx, unconst("{auth_authen}")));
	take_qid(ctx, m);
	return go_on(ctx, SMFIP_NR_MAIL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct msg *m = msg_of(ctx);
	if (m == NULL)
		return step_error(ctx, SMFIP_NR_RCPT, "RCPT TO without MAIL FROM");
	pipeline_rcpt(m, argv[0]);
	return go_on(ctx, SMFIP_NR_RCPT);
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct msg *m = msg_of(ctx);
	if (m == NULL)
		return step_error(ctx, SMFIP_NR_HDR, "header without MAIL FROM");
	take_qid(ctx, m);
	if (agreed(ctx, SMFIP_HDR_LEADSPC)) {
		pipeline_header(m, name, value, strlen(value));
	} else {
		/* the MTA dropped the space after the colon: put the usual one back */
		char *v = arena_printf(m->arena, " %s", value);
		pipeline_header(m, name, v, strlen(v));
	}
	return go_on(ctx, SMFIP_NR_HDR);
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct msg *m = msg_of(ctx);
	if (m == NULL)
		return step_error(ctx, SMFIP_NR_EOH, "end of header without MAIL FROM");
	take_qid(ctx, m);
	pipeline_eoh(m);
	return go_on(ctx, SMFIP_NR_EOH);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct msg *m = msg_of(ctx);
	if (m == NULL)
		return step_error(ctx, SMFIP_NR_BODY, "body without MAIL FROM");
	pipeline_body(m, data, len);
	return go_on(ctx, SMFIP_NR_BODY);
}

/* libmilter's reply text must be printable, and '%' is special to it. */
static void set_reply(SMFICTX *ctx, const struct eom_result *r, struct arena *a)
{
	if (r->smtp_code == NULL)
		return;
	const char *t = r->smtp_text != NULL ? r->smtp_text : "";
	char *text = arena_alloc(a, strlen(t) * 2 + 1), *o = text;
	for (; *t != '\0'; t++) {
		unsigned char ch = (unsigned char)*t;
		*o++ = ch < 0x20 || ch > 0x7e ? ' ' : (char)ch;
		if (ch == '%')
			*o++ = '%';
	}
	*o = '\0';
	smfi_setreply(ctx, unconst(r->smtp_code), unconst(r->smtp_xcode), text);
}

/* value with each CRLF made LF, and a leading space when asked. */
static char *mta_header_value(struct arena *a, const char *value, bool lead_space)
{
	char *out = arena_alloc(a, strlen(value) + 2), *o = out;
	if (lead_space)
		*o++ = ' ';
	for (const char *p = value; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	return out;
}

static int apply_edit(SMFICTX *ctx, const struct header_edit *e, struct arena *a)
{
	char *name = unconst(e->name);
	char *value = unconst(e->value);
	if (value != NULL) {
		/*
		 * The MTA writes its own line ends: folds go as LF + WSP.  Under
		 * SMFIP_HDR_LEADSPC it writes "Name:" + value verbatim, so the
		 * space after the colon is ours to give.
		 */
		value = mta_header_value(a, value, agreed(ctx, SMFIP_HDR_LEADSPC));
	}
	switch (e->op) {
	case EDIT_INSERT:
		return smfi_insheader(ctx, (int)e->index, name, value);
	case EDIT_DELETE:
		return smfi_chgheader(ctx, name, (int)e->index, NULL);
	case EDIT_ADD:
		return smfi_addheader(ctx, name, value);
	}
	return MI_FAILURE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct msg *m = msg_of(ctx);
	if (m == NULL)
		return internal_error(ctx, "end of message without MAIL FROM");
	take_qid(ctx, m);
	const struct eom_result *r = pipeline_eom(m);
	sfsistat st = SMFIS_CONTINUE;
	for (size_t i = 0; i < r->n_edits; i++) {
		if (apply_edit(ctx, &r->edits[i], m->arena) != MI_SUCCESS) {
			st = internal_error(ctx, "the MTA refused a header change");
			pipeline_msg_end(m->conn);
			return st;
		}
	}
	set_reply(ctx, r, m->arena);
	switch (r->action) {
	case ACTION_ACCEPT:
		break;
	case ACTION_QUARANTINE:
		if (smfi_quarantine(ctx, unconst(r->smtp_text != NULL ? r->smtp_text
								      : "cachet")) != MI_SUCCESS)
			log_msg(LOG_ERR, m->qid, "the MTA refused to quarantine the message");
		break;
	case ACTION_DISCARD:
		st = SMFIS_DISCARD;
		break;
	case ACTION_TEMPFAIL:
		st = SMFIS_TEMPFAIL;
		break;
	case ACTION_REJECT:
		st = SMFIS_REJECT;
		break;
	}
	pipeline_msg_end(m->conn);
	return st;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c != NULL)
		pipeline_msg_end(c);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);
	if (s != NULL) {
		smfi_setpriv(ctx, NULL);
		pipeline_conn_free(&s->conn);
		runtime_unref(&s->rt);
		free(s);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = (char *)(uintptr_t)"cachet",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
};

/* Descriptors scanned for libmilter's listening socket, opened at start-up. */
#define MILTER_LISTEN_FD_SCAN 256

/* The TCP port of an "inet:PORT@HOST" or "inet6:PORT@HOST" spec, else 0. */
static int milter_spec_port(const char *spec)
{
	const char *p = strchr(spec, ':');
	char *end;
	long port;

	if (p == NULL || (strncmp(spec, "inet:", 5) != 0 && strncmp(spec, "inet6:", 6) != 0))
		return 0;
	port = strtol(p + 1, &end, 10);
	if (end == p + 1 || (*end != '@' && *end != '\0') || port < 1 || port > 65535)
		return 0;
	return (int)port;
}

/* True if fd is a listening TCP socket bound to port. */
static bool milter_is_listener(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int on = 0, type = 0;
	socklen_t olen = sizeof(on), tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || on == 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
	return false;
}

/*
 * Sets TCP_NODELAY on libmilter's listening socket, which Linux copies to
 * every accepted socket: libmilter gives no handle on either.  Without it
 * each message waits in Nagle/delayed-ACK stalls of ~40 ms when a reply
 * follows a small write (measured: bench/milter_bench.sh, 48 ms -> 4 ms
 * per message in one session).  Best effort: a unix socket
 * or a listener not found leaves things as libmilter made them.
 */
static void milter_set_nodelay(const char *socket_spec)
{
	int port = milter_spec_port(socket_spec), one = 1;

	if (port == 0)
		return;
	for (int fd = 0; fd < MILTER_LISTEN_FD_SCAN; fd++) {
		if (!milter_is_listener(fd, port))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_msg(LOG_WARNING, NULL, "Socket %s: TCP_NODELAY: %s", socket_spec,
				strerror(errno));
		return;
	}
	log_msg(LOG_WARNING, NULL, "Socket %s: listening socket not found, no TCP_NODELAY",
		socket_spec);
}

/*
 * SIGHUP.  libmilter runs a thread that sigwait()s for SIGHUP, SIGTERM and
 * SIGINT and stops the milter on any of them (libmilter/signal.c): Postfix
 * then defers all mail until someone restarts it.  libmilter offers no
 * hook, so the daemon links libmilter's static archive with
 * -Wl,--wrap=sigwait (Makefile): libmilter's call lands here, a SIGHUP
 * becomes a call of the reload hook and the wait goes on; the other
 * signals return as before.  Every other thread of the process blocks all
 * three (main.c), so none of them can take a SIGHUP away from this wait.
 * XXX relies on libmilter waiting with sigwait(), as it has since 8.12;
 * tests/integration/t_reload.sh shows it working with Debian's.
 */
static void (*reload_hook)(void);

int __real_sigwait(const sigset_t *set, int *sig);
int __wrap_sigwait(const sigset_t *set, int *sig);

int __wrap_sigwait(const sigset_t *set, int *sig)
{
	for (;;) {
		int rc = __real_sigwait(set, sig);
		if (rc != 0 || *sig != SIGHUP || reload_hook == NULL)
			return rc;
		reload_hook();
	}
}

int milter_open(const char *socket_spec, void (*on_reload)(void))
{
	reload_hook = on_reload;
	/* libmilter takes "local:", "unix:" or a bare path for a unix socket */
	listen_local = strncmp(socket_spec, "inet:", 5) != 0 &&
		       strncmp(socket_spec, "inet6:", 6) != 0;
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		log_msg(LOG_ERR, NULL, "libmilter refused the registration");
		return -1;
	}
	/* libmilter reads "unix:" as "local:" and wants "inet:PORT@HOST" */
	if (smfi_setconn(unconst(socket_spec)) != MI_SUCCESS) {
		log_msg(LOG_ERR, NULL, "Socket %s: libmilter cannot use it", socket_spec);
		return -1;
	}
	/* removes a stale local socket and listens now, before privileges drop */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		log_msg(LOG_ERR, NULL, "Socket %s: cannot listen (in use? permissions?)",
			socket_spec);
		return -1;
	}
	milter_set_nodelay(socket_spec);
	return 0;
}

void milter_block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}
