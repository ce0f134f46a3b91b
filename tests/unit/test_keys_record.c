/*
 * Tests for what cachet-keys and cachet doctor publish and explain: the
 * key record of a private key (lib/mail/dkim_publish.c), the master-file
 * TXT writer (zone_txt_record, lib/dns/zone.c), and the words for a
 * published key record that does not work: cut, a stray space or quote,
 * several records, v= not first, k= unknown, h= without sha256, revoked.
 * Keys are made here with OpenSSL (1024-bit RSA to keep it fast, and
 * Ed25519), plus the RFC 8463 1024-bit RSA test key's record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "dkim.h"
#include "dns.h"
#include "t.h"
#include "xalloc.h"
#include "zone.h"

/* RFC 8463 A.2's RSA key (1024 bits): 216 base64 characters, 162 bytes. */
#define RSA_P "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static struct dkim_privkey *make_key(const char *type, size_t bits)
{
	EVP_PKEY *pkey = bits > 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
				  : EVP_PKEY_Q_keygen(NULL, NULL, type);
	T_CHECK(pkey != NULL);
	BIO *bio = BIO_new(BIO_s_mem());
	T_CHECK(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1);
	char *pem = NULL;
	long len = BIO_get_mem_data(bio, &pem);
	const char *err = NULL;
	struct dkim_privkey *key = dkim_privkey_load_pem(pem, (size_t)len, &err);
	T_CHECK(key != NULL);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return key;
}

static void test_zone_txt_one_string_stays_on_one_line(void)
{
	struct buf b;
	buf_init(&b, 0);
	struct slice part = slice_cstr("v=spf1 mx -all");
	zone_txt_record(&b, "lab.example.", &part, 1);
	T_EQ_STR(b.p, "lab.example. IN TXT \"v=spf1 mx -all\"\n");
	buf_reset(&b);
	part = slice_cstr("a \"quoted\" \\ word");
	zone_txt_record(&b, "x.", &part, 1);
	T_EQ_STR(b.p, "x. IN TXT \"a \\\"quoted\\\" \\\\ word\"\n");
	buf_free(&b);
}

static void test_zone_txt_splits_at_255_octets(void)
{
	char big[600];
	memset(big, 'A', sizeof(big));
	struct slice parts[2] = { slice_cstr("v=DKIM1; k=rsa; "), slice_make(big, sizeof(big)) };
	struct buf b;
	buf_init(&b, 0);
	zone_txt_record(&b, "s._domainkey.lab.example.", parts, 2);
	/* 1 + 3 strings (255 + 255 + 90), in parentheses, one per line */
	T_CHECK(strncmp(b.p, "s._domainkey.lab.example. IN TXT ( \"v=DKIM1; k=rsa; \"\n\t\"", 56) == 0);
	size_t quotes = 0, lines = 0;
	for (size_t i = 0; i < b.len; i++) {
		quotes += b.p[i] == '"';
		lines += b.p[i] == '\n';
	}
	T_EQ_INT(quotes, 8);
	T_EQ_INT(lines, 4);
	T_CHECK(strstr(b.p, "\"\n\t\"") != NULL);
	T_CHECK(b.len > 4 && strcmp(b.p + b.len - 4, "\" )\n") == 0);
	/* the strings read back as the parts joined: load it as a zone */
	char *err = NULL;
	struct zone *z = zone_parse("t", b.p, b.len, &err);
	T_CHECK(z != NULL);
	if (z != NULL) {
		struct dns_answer a = { 0 };
		zone_lookup(z, "s._domainkey.lab.example", DNS_T_TXT, &a);
		T_EQ_INT(a.status, DNS_OK);
		T_EQ_INT(a.count > 0 ? a.rr[0].u.txt.len : 0, 16 + sizeof(big));
		dns_answer_clear(&a);
		zone_free(&z);
	}
	free(err);
	buf_free(&b);
}

static void test_privkey_record_round_trips(void)
{
	static const struct {
		const char *type;
		size_t bits;
		const char *head;
	} cases[] = {
		{ "RSA", 1024, "v=DKIM1; k=rsa; p=MI" },
		{ "ED25519", 0, "v=DKIM1; k=ed25519; p=" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_privkey *key = make_key(cases[i].type, cases[i].bits);
		struct dkim_privkey *other = make_key(cases[i].type, cases[i].bits);
		struct buf rec;
		buf_init(&rec, 0);
		dkim_privkey_record(key, &rec);
		T_CHECK(strncmp(rec.p, cases[i].head, strlen(cases[i].head)) == 0);
		struct dkim_key *pub = NULL;
		T_EQ_INT(dkim_key_parse(rec.p, rec.len, &pub), DKIM_OK);
		T_CHECK(pub != NULL && dkim_key_matches(pub, key));
		T_CHECK(pub != NULL && !dkim_key_matches(pub, other));
		/* Ed25519's p= is the raw 32-byte key (RFC 8463 4): 44 characters */
		if (cases[i].bits == 0)
			T_EQ_INT(rec.len - strlen(cases[i].head), 44);
		struct dkim_keycheck kc;
		dkim_keycheck_record(rec.p, rec.len, &kc);
		T_EQ_INT(kc.status, DKIM_KEYCHECK_USABLE);
		T_EQ_INT(kc.n_problems, 0);
		dkim_keycheck_clear(&kc);
		buf_reset(&rec);
		dkim_privkey_zone_record(key, "s1", "lab.example", &rec);
		T_CHECK(strncmp(rec.p, "s1._domainkey.lab.example. IN TXT ", 34) == 0);
		dkim_key_free(&pub);
		buf_free(&rec);
		dkim_privkey_free(&key);
		dkim_privkey_free(&other);
	}
}

/* A record's problems, joined, for matching. */
static char *check_words(const char *txt, enum dkim_keycheck_status *status_r)
{
	struct dkim_keycheck kc;
	dkim_keycheck_record(txt, strlen(txt), &kc);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < kc.n_problems; i++)
		buf_printf(&b, "%s|", kc.problem[i]);
	*status_r = kc.status;
	dkim_keycheck_clear(&kc);
	return buf_steal(&b);
}

static void test_keycheck_explains_broken_records(void)
{
	static const struct {
		const char *record;
		enum dkim_keycheck_status status;
		const char *words;	/* in the problems; NULL: none */
	} cases[] = {
		{ "v=DKIM1; k=rsa; p=" RSA_P, DKIM_KEYCHECK_USABLE, NULL },
		{ "v=DKIM1; k=ed25519; p=" ED_P, DKIM_KEYCHECK_USABLE, NULL },
		{ "v=DKIM1; k=rsa; t=y; p=" RSA_P, DKIM_KEYCHECK_USABLE, NULL },
		/* cut on a quantum boundary: 108 of 216 characters */
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byY",
		  DKIM_KEYCHECK_BAD, "but the key in it announces 162: the record was cut" },
		/* cut anywhere */
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk0",
		  DKIM_KEYCHECK_BAD, "67 base64 characters where the key in it announces 162 bytes (216" },
		{ "v=DKIM1; k=rsa; p=AAAAA", DKIM_KEYCHECK_BAD, "not a multiple of 4: the key was cut short" },
		{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7h", DKIM_KEYCHECK_BAD,
		  "where an Ed25519 key has 32" },
		/* a space that replaced a character */
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQ B",
		  DKIM_KEYCHECK_BAD, "p= holds white space (at character 215)" },
		/* a space added: still a key, still said */
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQ B",
		  DKIM_KEYCHECK_BAD, "215 base64 characters where the key in it announces 162" },
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTI KT+l/K4w3QIDAQAB",
		  DKIM_KEYCHECK_USABLE, "p= holds white space (at character 201)" },
		{ "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1\"Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
		  DKIM_KEYCHECK_BAD, "the record holds a '\"' (at character 159)" },
		{ "\"v=DKIM1; k=rsa; \" \"p=" RSA_P "\"", DKIM_KEYCHECK_BAD,
		  "zone-file quotes got into the data" },
		{ "k=rsa; v=DKIM1; p=" RSA_P, DKIM_KEYCHECK_BAD, "v=DKIM1 is not the first tag" },
		{ "v=DKIM2; p=" RSA_P, DKIM_KEYCHECK_BAD, "v=DKIM2: the version must be DKIM1" },
		{ "v=DKIM1; k=dsa; p=" RSA_P, DKIM_KEYCHECK_BAD, "k=dsa: unknown key type" },
		{ "v=DKIM1; h=sha1; p=" RSA_P, DKIM_KEYCHECK_BAD, "h=sha1 leaves out sha256" },
		{ "v=DKIM1; h=sha1:sha256; p=" RSA_P, DKIM_KEYCHECK_USABLE, NULL },
		{ "v=DKIM1; s=tls; p=" RSA_P, DKIM_KEYCHECK_BAD, "the key is not for email" },
		{ "v=DKIM1; k=rsa; p=", DKIM_KEYCHECK_BAD, "p= is empty: the key is revoked" },
		{ "v=DKIM1; k=rsa", DKIM_KEYCHECK_BAD, "there is no p= tag" },
		{ "v=DKIM1 k=rsa p=x", DKIM_KEYCHECK_BAD, "v= runs on into \"k=\": a ';' is missing" },
		{ "v=DKIM1; k=rsa; p", DKIM_KEYCHECK_BAD, "not a list of tag=value pairs" },
		{ "v=DKIM1; p=" RSA_P "AAAA", DKIM_KEYCHECK_BAD, "after the end of the key" },
		{ "v=DKIM1; p=MIGfMA0G*SqGSIb3", DKIM_KEYCHECK_BAD, "holds '*' at character 9" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dkim_keycheck_status st;
		char *words = check_words(cases[i].record, &st);
		if (st != cases[i].status ||
		    (cases[i].words == NULL ? words[0] != '\0' : strstr(words, cases[i].words) == NULL))
			t_fail(__FILE__, __LINE__, "case %zu: status %d, words \"%s\"", i, (int)st,
			       words);
		free(words);
	}
}

static void test_keycheck_reports_a_short_rsa_key(void)
{
	/* dkim_privkey_load_pem refuses 512 bits: the record comes from the EVP key */
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	struct buf rec;
	buf_init(&rec, 0);
	buf_puts(&rec, "v=DKIM1; p=");
	dkim_base64_encode(der, (size_t)len, &rec);
	struct dkim_keycheck kc;
	dkim_keycheck_record(rec.p, rec.len, &kc);
	T_EQ_INT(kc.status, DKIM_KEYCHECK_BAD);
	T_CHECK(kc.key != NULL && kc.key->bits == 512);
	T_CHECK(kc.n_problems == 1 && strstr(kc.problem[0], "512 bits") != NULL);
	dkim_keycheck_clear(&kc);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	buf_free(&rec);
}

static void test_keycheck_answer_several_absent_temp(void)
{
	char r1[] = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byY";
	char r2[] = "zCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
	struct dns_rr rr[2];
	rr[0].u.txt.data = r2;	/* the piece first: the record with p= is the one explained */
	rr[0].u.txt.len = strlen(r2);
	rr[1].u.txt.data = r1;
	rr[1].u.txt.len = strlen(r1);
	struct dns_answer a = { .status = DNS_OK, .type = DNS_T_TXT, .count = 2, .rr = rr };
	struct dkim_keycheck kc;
	dkim_keycheck_answer(&a, &kc);
	T_EQ_INT(kc.status, DKIM_KEYCHECK_BAD);
	T_EQ_INT(kc.records, 2);
	T_CHECK(kc.n_problems >= 3);
	T_CHECK(strstr(kc.problem[0], "2 TXT records at this name") != NULL);
	T_CHECK(strstr(kc.problem[1], "looks like the rest of p=") != NULL);
	T_CHECK(strstr(kc.problem[2], "the record was cut") != NULL);
	dkim_keycheck_clear(&kc);

	struct dns_answer none = { .status = DNS_NXDOMAIN, .type = DNS_T_TXT };
	dkim_keycheck_answer(&none, &kc);
	T_EQ_INT(kc.status, DKIM_KEYCHECK_ABSENT);
	dkim_keycheck_clear(&kc);
	struct dns_answer temp = { .status = DNS_SERVFAIL, .type = DNS_T_TXT };
	dkim_keycheck_answer(&temp, &kc);
	T_EQ_INT(kc.status, DKIM_KEYCHECK_TEMP);
	dkim_keycheck_clear(&kc);
}

int main(void)
{
	T_RUN(test_zone_txt_one_string_stays_on_one_line);
	T_RUN(test_zone_txt_splits_at_255_octets);
	T_RUN(test_privkey_record_round_trips);
	T_RUN(test_keycheck_explains_broken_records);
	T_RUN(test_keycheck_reports_a_short_rsa_key);
	T_RUN(test_keycheck_answer_several_absent_temp);
	return t_done();
}
