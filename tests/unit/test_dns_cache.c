/*
 * Unit tests of the in-process DNS answer cache (lib/dns/dns_cache.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_cache.h"
#include "t.h"
#include "xalloc.h"
#include "zone.h"

static struct dns_answer txt_answer(const char *text, uint32_t ttl)
{
	struct dns_answer a = { .status = DNS_OK, .type = DNS_T_TXT, .count = 1, .ttl = ttl };
	a.rr = xcalloc(1, sizeof(*a.rr));
	a.rr[0].u.txt.data = xstrdup(text);
	a.rr[0].u.txt.len = strlen(text);
	return a;
}

static void test_hit_is_a_deep_copy_and_key_ignores_case_and_dot(void)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_answer a = txt_answer("v=spf1 -all", 300);
	dns_cache_put(c, "Example.COM.", DNS_T_TXT, &a);
	dns_answer_clear(&a);
	struct dns_answer got = { 0 };
	T_CHECK(dns_cache_get(c, "example.com", DNS_T_TXT, &got));
	T_EQ_INT(got.status, DNS_OK);
	T_EQ_INT(got.count, 1);
	T_EQ_STR(got.rr[0].u.txt.data, "v=spf1 -all");
	dns_answer_clear(&got);
	T_CHECK(!dns_cache_get(c, "example.com", DNS_T_MX, &got));
	T_CHECK(!dns_cache_get(c, "www.example.com", DNS_T_TXT, &got));
	dns_cache_free(&c);
	T_CHECK(c == NULL);
}

static void test_negative_kept_temporary_and_ttl0_not(void)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_answer nx = { .status = DNS_NXDOMAIN, .type = DNS_T_TXT, .ttl = 60 };
	struct dns_answer sf = { .status = DNS_SERVFAIL, .type = DNS_T_TXT, .ttl = 60 };
	struct dns_answer to = { .status = DNS_TIMEOUT, .type = DNS_T_A, .ttl = 60 };
	struct dns_answer zero = txt_answer("x", 0);
	dns_cache_put(c, "nx.example", DNS_T_TXT, &nx);
	dns_cache_put(c, "sf.example", DNS_T_TXT, &sf);
	dns_cache_put(c, "to.example", DNS_T_A, &to);
	dns_cache_put(c, "zero.example", DNS_T_TXT, &zero);
	dns_answer_clear(&zero);
	struct dns_answer got = { 0 };
	T_CHECK(dns_cache_get(c, "nx.example", DNS_T_TXT, &got));
	T_EQ_INT(got.status, DNS_NXDOMAIN);
	dns_answer_clear(&got);
	T_CHECK(!dns_cache_get(c, "sf.example", DNS_T_TXT, &got));
	T_CHECK(!dns_cache_get(c, "to.example", DNS_T_A, &got));
	T_CHECK(!dns_cache_get(c, "zero.example", DNS_T_TXT, &got));
	dns_cache_free(&c);
}

static void test_entries_expire_with_their_ttl(void)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_answer a = txt_answer("short", 1);
	dns_cache_put(c, "short.example", DNS_T_TXT, &a);
	dns_answer_clear(&a);
	struct dns_answer got = { 0 };
	T_CHECK(dns_cache_get(c, "short.example", DNS_T_TXT, &got));
	dns_answer_clear(&got);
	sleep(2);
	T_CHECK(!dns_cache_get(c, "short.example", DNS_T_TXT, &got));
	dns_cache_free(&c);
}

static void test_replacing_an_entry_keeps_one(void)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_answer a = txt_answer("old", 300), b = txt_answer("new", 300);
	dns_cache_put(c, "r.example", DNS_T_TXT, &a);
	dns_cache_put(c, "r.example", DNS_T_TXT, &b);
	dns_answer_clear(&a);
	dns_answer_clear(&b);
	struct dns_answer got = { 0 };
	T_CHECK(dns_cache_get(c, "r.example", DNS_T_TXT, &got));
	T_EQ_STR(got.rr[0].u.txt.data, "new");
	dns_answer_clear(&got);
	dns_cache_free(&c);
}

static void test_capacity_is_bounded(void)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_answer a = txt_answer("v", 300);
	char name[64];
	for (int i = 0; i < DNS_CACHE_MAX_ENTRIES + 100; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		dns_cache_put(c, name, DNS_T_TXT, &a);
	}
	struct dns_answer got = { 0 };
	T_CHECK(dns_cache_get(c, "n0.example", DNS_T_TXT, &got));
	dns_answer_clear(&got);
	snprintf(name, sizeof(name), "n%d.example", DNS_CACHE_MAX_ENTRIES + 50);
	T_CHECK(!dns_cache_get(c, name, DNS_T_TXT, &got));
	dns_answer_clear(&a);
	dns_cache_free(&c);
}

int main(void)
{
	T_RUN(test_hit_is_a_deep_copy_and_key_ignores_case_and_dot);
	T_RUN(test_negative_kept_temporary_and_ttl0_not);
	T_RUN(test_entries_expire_with_their_ttl);
	T_RUN(test_replacing_an_entry_keeps_one);
	T_RUN(test_capacity_is_bounded);
	return t_done();
}
