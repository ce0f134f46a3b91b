/*
 * The dmarc check (RFC 7489): evaluates the DMARC policy of the RFC5322.From
 * domain of external mail against the SPF and DKIM results the earlier
 * checks reported, enforces it, writes dmarc= into Authentication-Results
 * and hands a report record to the reporting hook (dmarc_report.h).
 * See dmarc.c for who decides what (our code versus libopendmarc).
 */
#ifndef CACHET_DMARC_H
#define CACHET_DMARC_H

#include <stdbool.h>

#include "arena.h"
#include "check.h"
#include "psl.h"

/* The header a DMARCQuarantine "header" disposition adds: "X-Cachet-DMARC: quarantine". */
#define DMARC_QUARANTINE_HEADER_NAME "X-Cachet-DMARC"
#define DMARC_QUARANTINE_HEADER_VALUE "quarantine"

extern const struct check check_dmarc;

/*
 * Identifier alignment (RFC 7489 3.1): strict is an exact match, relaxed
 * the same Organizational Domain; case-insensitive, a trailing dot ignored.
 * A public suffix never aligns with anything but itself (RFC 7489 3.1.1:
 * d=com).  Scratch memory comes from the arena.
 */
bool dmarc_aligned(const struct psl *psl, struct arena *a, const char *from_domain,
		   const char *auth_domain, bool strict);

/*
 * The random source of pct= sampling (RFC 7489 6.6.4): a function returning
 * 0..99 (values above are taken modulo 100).  NULL restores the default
 * (arc4random_uniform).  Process-wide; for tests.
 */
void dmarc_set_sampler(unsigned (*fn)(void *ctx), void *ctx);

#endif
