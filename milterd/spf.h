/*
 * The SPF check (RFC 7208) as a pipeline module: see spf.c.  Its results
 * are "spf" entries in the verdict with .scope "mfrom" (domain of MAIL
 * FROM) or "helo" (the HELO name) and .domain the identity's domain; DMARC
 * reads the "mfrom" one, or the "helo" one for the null sender, which has
 * no "mfrom" entry.
 */
#ifndef CACHET_SPF_H
#define CACHET_SPF_H

#include "check.h"

#define SPF_SCOPE_MFROM "mfrom"
#define SPF_SCOPE_HELO "helo"

extern const struct check check_spf;

#endif
