/*
 * The dkim_sign check (dkim_sign.c): signs outbound mail in the seal phase,
 * over the header as it will leave.
 */
#ifndef CACHET_DKIM_SIGN_H
#define CACHET_DKIM_SIGN_H

#include <stdbool.h>

#include "check.h"

/* Canonicalization: (header << 1) | body, each CANON_SIMPLE or CANON_RELAXED. */
#define CANON_SIMPLE 0
#define CANON_RELAXED 1
#define CANON_PAIR(h, b) ((h) << 1 | (b))

/* SignatureAlgorithm */
enum sign_alg {
	SIGN_RSA_SHA256,
	SIGN_ED25519_SHA256,
};

/* Its options. */
struct dkim_sign_options {
	char *key_table;		/* KeyTable: file:, refile:, csl: or a path */
	char *signing_table;		/* SigningTable */
	char *domain;			/* Domain: comma list, with Selector + KeyFile */
	char *selector;			/* Selector */
	char *key_file;			/* KeyFile */
	int canonicalization;		/* Canonicalization: CANON_PAIR(h, b) */
	int signature_algorithm;	/* SignatureAlgorithm: enum sign_alg */
	char *sign_headers;		/* SignHeaders: names, or NULL = built-in list */
	char *oversign_headers;		/* OversignHeaders: names, or NULL = built-in */
	bool multiple_signatures;	/* MultipleSignatures */
	bool subdomains;		/* SubDomains: Domain also covers subdomains */
	bool require_safe_keys;		/* RequireSafeKeys */
	unsigned signature_ttl_ms;	/* SignatureTTL: x= lies this far after t=; 0 = none */
};

extern const struct check check_dkim_sign;

#endif
