/*
 * Tests for spf_dns_record_terms (milterd/spf_dns.c), the export `cachet
 * doctor` reads SPF records with: the terms of a record in their order,
 * the modifiers after them, nothing for a record that does not parse.
 */
#include <string.h>

#include "spf_dns.h"
#include "t.h"

static void test_spf_record_terms(void)
{
	struct spf_term t[SPF_MAX_RECORD_TERMS];
	size_t n = 0;
	const char *rec = "v=spf1 exp=e.example ip4:192.0.2.0/24 -include:_spf.example ?all "
			  "redirect=r.example";
	T_CHECK(spf_dns_record_terms(rec, strlen(rec), t, &n) == NULL);
	T_EQ_INT(n, 5);
	T_EQ_INT(t[0].type, SPF_TERM_IP4);
	T_CHECK(slice_eq(t[0].net, "192.0.2.0") && t[0].cidr4 == 24);
	T_EQ_INT(t[1].type, SPF_TERM_INCLUDE);
	T_CHECK(t[1].qualifier == '-' && slice_eq(t[1].spec, "_spf.example"));
	T_CHECK(t[2].type == SPF_TERM_ALL && t[2].qualifier == '?');
	T_CHECK(t[3].type == SPF_TERM_REDIRECT && slice_eq(t[3].spec, "r.example"));
	T_CHECK(t[4].type == SPF_TERM_EXP && slice_eq(t[4].spec, "e.example"));
	rec = "v=spf1 ip4:ADRESSE_IP -all";
	T_CHECK(spf_dns_record_terms(rec, strlen(rec), t, &n) != NULL);
	T_EQ_INT(n, 0);
	/* macros stay as written; unknown modifiers are left out */
	rec = "v=spf1 a:%{d2}.example/24//64 mx foo=bar ptr exists:%{i}.x.example";
	T_CHECK(spf_dns_record_terms(rec, strlen(rec), t, &n) == NULL);
	T_EQ_INT(n, 4);
	T_CHECK(t[0].type == SPF_TERM_A && slice_eq(t[0].spec, "%{d2}.example") &&
		t[0].cidr4 == 24 && t[0].cidr6 == 64);
	T_CHECK(t[1].type == SPF_TERM_MX && t[1].spec.p == NULL);
	T_CHECK(t[2].type == SPF_TERM_PTR && t[3].type == SPF_TERM_EXISTS);
}

int main(void)
{
	T_RUN(test_spf_record_terms);
	return t_done();
}
