/*
 * The DKIM checks of the pipeline: verification of inbound mail
 * (dkim_verify.c) and signing of outbound mail (dkim_sign.c).
 */
#ifndef CACHET_DKIM_CHECKS_H
#define CACHET_DKIM_CHECKS_H

#include "check.h"

extern const struct check check_dkim_verify;
extern const struct check check_dkim_sign;

#endif
