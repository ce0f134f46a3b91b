/*
 * Logging: syslog by default, stderr when a program runs in the foreground
 * or as a command-line tool.  Every line about a message names its queue id
 * (pass it as `qid`; NULL for lines about no message).  Priorities are
 * syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG).
 */
#ifndef CACHET_LOG_H
#define CACHET_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "compiler.h"

/* ident is kept by reference.  facility is a syslog LOG_* facility. */
void log_open(const char *ident, bool to_stderr, int facility);
/* Lines below min_prio (numerically greater) are dropped.  Default LOG_INFO. */
void log_set_level(int min_prio);
void log_msg(int prio, const char *qid, const char *fmt, ...) PRINTF(3, 4);
void log_vmsg(int prio, const char *qid, const char *fmt, va_list ap) PRINTF(3, 0);

/* Maps "mail", "daemon", "local0".."local7", "user" to a facility; -1 if unknown. */
int log_facility_from_name(const char *name);

#endif
