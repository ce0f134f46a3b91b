/*
 * Logging to syslog or stderr: see log.h.  The destination is chosen once at
 * start-up (before threads exist); after that the functions are thread-safe
 * because syslog(3) and a single fprintf(3) to stderr are.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool use_stderr = true;
static const char *log_ident = "cachet";
static int log_level = LOG_INFO;

void log_open(const char *ident, bool to_stderr, int facility)
{
	log_ident = ident;
	use_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void log_set_level(int min_prio)
{
	log_level = min_prio;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void log_vmsg(int prio, const char *qid, const char *fmt, va_list ap)
{
	if (prio > log_level)
		return;
	char text[4096];
	vsnprintf(text, sizeof(text), fmt, ap);
	/* a log line is one line, whatever the caller's text held */
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (use_stderr) {
		if (qid != NULL)
			fprintf(stderr, "%s: %s: %s: %s\n", log_ident, prio_name(prio), qid, text);
		else
			fprintf(stderr, "%s: %s: %s\n", log_ident, prio_name(prio), text);
	} else if (qid != NULL) {
		syslog(prio, "%s: %s", qid, text);
	} else {
		syslog(prio, "%s", text);
	}
}

void log_msg(int prio, const char *qid, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(prio, qid, fmt, ap);
	va_end(ap);
}

int log_facility_from_name(const char *name)
{
	static const struct {
		const char *name;
		int facility;
	} names[] = {
		{ "mail", LOG_MAIL },	  { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].facility;
	return -1;
}

void assert_fail(const char *cond, const char *file, int line)
{
	log_msg(LOG_CRIT, NULL, "assertion failed: %s (%s:%d); aborting", cond, file, line);
	abort();
}
