/*
 * `cachet doctor DOMAIN`: what a domain publishes in DNS for mail, checked
 * the way a big receiver will, with a plain sentence per finding and the
 * records that fix what failed.  doctor.c holds the driver (options, DNS,
 * the order of the checks) and the output (text or --json); each area is
 * its own file: doctor_mx.c (MX hosts and their addresses, MTA-STS and
 * TLS-RPT as information), doctor_spf.c, doctor_dkim.c, doctor_dmarc.c.
 *
 * A check reads DNS through doctor_lookup() (every answer lives until the
 * end of the run) and reports with doctor_say() and doctor_publish(); it
 * never prints.  Checks run in a fixed order because later ones read what
 * earlier ones learnt (SPF evaluates the MX hosts' addresses).
 */
#ifndef CACHET_CLI_DOCTOR_H
#define CACHET_CLI_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "array.h"
#include "dkim.h"
#include "dns.h"

#define DOCTOR_MAX_IPS 16
#define DOCTOR_MAX_SELECTORS 16
#define DOCTOR_MAX_MX 10		/* MX hosts looked at */
#define DOCTOR_MAX_DETAILS 8

enum doctor_mark {
	DOCTOR_OK,
	DOCTOR_WARN,	/* worth fixing; does not fail the run */
	DOCTOR_FAIL,
	DOCTOR_INFO,	/* neither good nor bad: something to know */
};

struct doctor_finding {
	const char *area;	/* "mx", "spf", "dkim", "dmarc", "mta-sts", "tls-rpt" */
	const char *id;		/* stable name for scripts: "spf.lookups" */
	enum doctor_mark mark;
	const char *text;	/* one sentence */
	const char *detail[DOCTOR_MAX_DETAILS];	/* more sentences, shown below it */
	size_t n_detail;
};

/* A record that fixes something, to publish as it is. */
struct doctor_record {
	const char *area;
	const char *name;	/* owner, with its final dot */
	const char *type;	/* "TXT", "MX", "A" or "AAAA" */
	const char *text;	/* the record's data (TXT: the strings joined) */
	const char *zone;	/* master-file syntax, one or more lines ending in "\n" */
	const char *note;	/* what it fixes, and where it goes if not the domain's zone */
};

/* A MX host and an address it has. */
struct doctor_addr {
	const char *host;
	const char *ip;
};

/* A DKIM selector to check, and the private key that goes with it (or NULL). */
struct doctor_selector {
	const char *selector;
	const char *key_path;
};

struct doctor {
	struct arena *a;
	struct dns *dns;
	const char *domain;	/* lower case, no final dot */
	/* from the command line */
	const char *ips[DOCTOR_MAX_IPS];
	size_t n_ips;
	struct doctor_selector selectors[DOCTOR_MAX_SELECTORS];
	size_t n_selectors;
	const char *key_path;	/* --key */
	/* what the checks learnt */
	ARRAY(struct doctor_addr) mx_addrs;
	ARRAY(struct doctor_finding) findings;
	ARRAY(struct doctor_record) records;
	ARRAY(struct dns_lookup *) lookups;
	unsigned queries;
	bool no_answer;		/* the first lookup timed out: the rest is not tried */
};

/*
 * One DNS question; the answer lives until the end of the run.  Counts
 * the queries (the output says how many were made).
 */
const struct dns_answer *doctor_lookup(struct doctor *d, const char *name, enum dns_type type);

/* Adds a finding; returns it so that details can follow (doctor_detail). */
struct doctor_finding *doctor_say(struct doctor *d, const char *area, const char *id,
				  enum doctor_mark mark, const char *fmt, ...) PRINTF(5, 6);
void doctor_detail(struct doctor *d, struct doctor_finding *f, const char *fmt, ...)
	PRINTF(3, 4);
/*
 * Adds a TXT record to publish at name (with or without its final dot),
 * its text given in parts (each starts a new character-string); note says
 * what it fixes (and whose zone it goes into when not the domain's).  One
 * record per name and type: the first one given wins.
 */
void doctor_publish(struct doctor *d, const char *area, const char *name,
		    const struct slice *parts, size_t n, const char *note);
/* The same, the zone text given whole (DKIM's, from dkim_privkey_zone_record). */
void doctor_publish_zone(struct doctor *d, const char *area, const char *name,
			 const char *text, const char *zone, const char *note);
/* A record of another type at name (MX, A, AAAA), its data as a zone file writes it. */
void doctor_publish_rr(struct doctor *d, const char *area, const char *name, const char *type,
		       const char *data, const char *note);

/* Does the TXT record start with word, ASCII case ignored, then a space or its end? */
bool doctor_txt_starts(const struct dns_rr *rr, const char *word);
/* Its first n bytes, printable, with "..." when longer (for a sentence). */
const char *doctor_excerpt(struct doctor *d, const char *s, size_t len, size_t n);

/* Runs every check below, in order. */
void doctor_run(struct doctor *d);
/* Frees what a run gathered, the arena and the resolver included. */
void doctor_clear(struct doctor *d);

/* The checks, in the order they run. */
void doctor_mx(struct doctor *d);
void doctor_spf(struct doctor *d);
void doctor_dkim(struct doctor *d);
void doctor_dmarc(struct doctor *d);
void doctor_transport(struct doctor *d);

#endif
