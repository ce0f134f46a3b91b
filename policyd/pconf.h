/*
 * Configuration of cachet-policyd: `Key value` lines read by the shared
 * engine (lib/util/conffile.h), so syntax, Include and error words are the
 * milter's.  Options are listed in doc/cachet-policyd.conf.5; the table in
 * pconf.c is the single list of them.
 *
 * `Limit` is repeatable; each line is one named rule:
 *
 *	Limit NAME key=KEY [messages=N/PERIOD] [recipients=N/PERIOD]
 *	      action=defer|reject|hold|prepend [text="..."]
 *	      [only=authenticated] [port=N] [context=NAME] [ipv6_prefix=NN]
 *
 *	      [block=yes]
 *
 * KEY is one or more of sasl_username, sender, sender_domain,
 * client_address[/NN], recipient_domain joined by '+'.  PERIOD is a number with s, m, h or d.
 * At least one of messages/recipients.  Limits: PCONF_MAX_LIMITS rules,
 * N up to PCONF_MAX_COUNT, PERIOD from 1 s to 30 d, text up to
 * PCONF_MAX_TEXT printable ASCII bytes.
 */
#ifndef CACHET_PCONF_H
#define CACHET_PCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlist.h"

#define PCONF_MAX_LIMITS 256
#define PCONF_MAX_COUNT 1000000
#define PCONF_MAX_TEXT 200
#define PCONF_MAX_NAME 64

/* KEY parts */
#define LK_SASL_USERNAME 0x1
#define LK_SENDER 0x2
#define LK_SENDER_DOMAIN 0x4
#define LK_CLIENT_ADDRESS 0x8
#define LK_RECIPIENT_DOMAIN 0x10

enum limit_action {
	LA_PREPEND,	/* accept, with a header (weakest) */
	LA_HOLD,	/* accept into the hold queue */
	LA_DEFER,	/* DEFER_IF_PERMIT 4.7.1 */
	LA_REJECT,	/* REJECT 5.7.1 (strongest) */
};

enum store_error_action {
	SE_DUNNO,
	SE_DEFER,
};

struct limit_rule {
	char *name;
	unsigned keys;			/* LK_* */
	unsigned v4_prefix;		/* client_address/NN, IPv4 (default 32) */
	unsigned v6_prefix;		/* ipv6_prefix=NN (default 64) */
	uint64_t messages;		/* 0 = not limited */
	uint64_t messages_period_ms;
	uint64_t recipients;		/* 0 = not limited */
	uint64_t recipients_period_ms;
	enum limit_action action;
	char *text;			/* reply text; never NULL */
	bool only_authenticated;
	unsigned port;			/* only this server_port; 0 = any */
	char *context;			/* only this policy_context; NULL = any */
	bool block;			/* block=yes: a tripped SASL user is blocked */
};

struct limit_set {
	size_t n;
	struct limit_rule *v;
};

/* A word list (AllowSASLUsers, AllowSenderDomains), lowercased. */
struct word_list {
	size_t n;
	char **v;
};

struct pconf {
	unsigned refs;			/* references beyond the first (pconf_ref) */
	char *path;			/* the file it was loaded from */
	char *socket;			/* Socket: inet:PORT@ADDR or unix:PATH */
	unsigned socket_mode;		/* SocketMode */
	char *pid_file;			/* PidFile */
	bool syslog;			/* Syslog */
	int syslog_facility;		/* SyslogFacility */
	bool log_debug;			/* LogDebug */
	char *store;			/* RateLimitStore: "memory" or redis://... / unix:... */
	unsigned store_timeout_ms;	/* StoreTimeout */
	char *state_file;		/* StateFile: snapshot of the memory store, or NULL */
	unsigned snapshot_interval_ms;	/* SnapshotInterval */
	unsigned max_entries;		/* MaxEntries: of the memory store */
	unsigned max_connections;	/* MaxConnections */
	int on_store_error;		/* OnStoreError: enum store_error_action */
	struct netlist *allow_clients;	/* AllowClients, or NULL */
	struct word_list *allow_sasl_users;	/* AllowSASLUsers, or NULL */
	struct word_list *allow_sender_domains;	/* AllowSenderDomains, or NULL */
	struct limit_set *limits;	/* Limit lines, or NULL */
	char *admin_socket;		/* AdminSocket: unix socket path, or NULL */
	char *notify_command;		/* NotifyCommand: absolute path, or NULL */
	char *notify_address;		/* NotifyAddress, or NULL */
	char *sendmail_path;		/* SendmailPath */
	unsigned notify_timeout_ms;	/* NotifyTimeout */
	char *user_id;			/* UserID: user[:group], or NULL */
	bool allow_root;		/* AllowRoot: may keep running as root */
	bool journal;			/* Journal: of the memory store, beside StateFile */
	char *redis_user;		/* RedisUser: ACL user for AUTH, or NULL */
	char *redis_password_file;	/* RedisPasswordFile, or NULL */
	char *redis_password;		/* read from it by pconf_read_secret, or NULL */
};

/* Returns NULL and *error_r ("FILE:LINE: KEY: ...", free() it) on error. */
struct pconf *pconf_load(const char *path, char **error_r);
struct pconf *pconf_parse(const char *name, const char *text, size_t len, char **error_r);
/*
 * One more reference to c (a decision that waits for the store keeps the
 * rules it points into, even when a reload swaps the configuration).
 */
struct pconf *pconf_ref(struct pconf *c);
/* Drops a reference; the last one frees c.  Sets *c to NULL. */
void pconf_free(struct pconf **c);

/*
 * Reads RedisPasswordFile into c->redis_password (first line, without its
 * end; at most PCONF_MAX_SECRET bytes).  The file must be a regular file
 * that neither its group nor others may read or write.  No file
 * configured: 0.  -1 and *error_r ("FILE: ...", free() it) otherwise.
 */
#define PCONF_MAX_SECRET 512
int pconf_read_secret(struct pconf *c, char **error_r);

bool word_list_has(const struct word_list *l, const char *word);
const char *limit_action_name(enum limit_action a);

#endif
