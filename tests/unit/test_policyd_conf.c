/*
 * Tests for policyd/pconf.c: defaults, the Limit rule syntax (every
 * attribute, quoted text, each error with its words), word lists, and the
 * shared engine's behaviour seen through the policy server's schema
 * (FILE:LINE: KEY: errors, Include-free text).
 */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "pconf.h"
#include "t.h"

static struct pconf *parse(const char *text, char **error_r)
{
	*error_r = NULL;
	return pconf_parse("p.conf", text, strlen(text), error_r);
}

static void test_defaults(void)
{
	char *error;
	struct pconf *c = parse("", &error);
	T_CHECK(c != NULL);
	T_EQ_STR(c->socket, "inet:10031@127.0.0.1");
	T_EQ_STR(c->store, "memory");
	T_EQ_INT(c->store_timeout_ms, 200);
	T_EQ_INT(c->on_store_error, SE_DUNNO);
	T_CHECK(c->limits == NULL);
	pconf_free(&c);
	T_CHECK(c == NULL);
}

static void test_limit_full_syntax(void)
{
	char *error;
	struct pconf *c = parse(
		"Limit sub key=sasl_username messages=100/1h recipients=500/1d action=defer "
		"text=\"Too much # mail, \\\"really\\\"\" only=authenticated port=587 "
		"context=submission\n"
		"Limit net key=client_address/24 messages=10/30s action=reject ipv6_prefix=48\n"
		"Limit both key=sender+client_address recipients=5/1m action=hold\n"
		"limit dom key=sender_domain messages=1/1s action=prepend # comment\n",
		&error);
	T_CHECK(c != NULL);
	if (c == NULL) {
		t_fail(__FILE__, __LINE__, "%s", error);
		free(error);
		return;
	}
	T_EQ_INT(c->limits->n, 4);
	const struct limit_rule *r = &c->limits->v[0];
	T_EQ_STR(r->name, "sub");
	T_EQ_INT(r->keys, LK_SASL_USERNAME);
	T_EQ_INT(r->messages, 100);
	T_EQ_INT(r->messages_period_ms, 3600000);
	T_EQ_INT(r->recipients, 500);
	T_EQ_INT(r->recipients_period_ms, 86400000);
	T_EQ_INT(r->action, LA_DEFER);
	T_EQ_STR(r->text, "Too much # mail, \"really\"");
	T_CHECK(r->only_authenticated);
	T_EQ_INT(r->port, 587);
	T_EQ_STR(r->context, "submission");
	r = &c->limits->v[1];
	T_EQ_INT(r->keys, LK_CLIENT_ADDRESS);
	T_EQ_INT(r->v4_prefix, 24);
	T_EQ_INT(r->v6_prefix, 48);
	T_EQ_INT(r->messages_period_ms, 30000);
	T_EQ_INT(r->action, LA_REJECT);
	T_EQ_STR(r->text, "Rate limit exceeded, try again later");
	r = &c->limits->v[2];
	T_EQ_INT(r->keys, LK_SENDER | LK_CLIENT_ADDRESS);
	T_EQ_INT(r->v4_prefix, 32);
	T_EQ_INT(r->messages, 0);
	T_EQ_INT(r->action, LA_HOLD);
	T_EQ_INT(c->limits->v[3].action, LA_PREPEND);
	T_EQ_INT(c->limits->v[3].keys, LK_SENDER_DOMAIN);
	pconf_free(&c);
}

static void test_limit_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "Limit\n", "p.conf:1: Limit: missing value" },
		{ "Limit a=b key=sender messages=1/1s action=defer\n",
		  "p.conf:1: Limit: expected a rule name (letters, digits, _ - .) first" },
		{ "Limit x messages=1/1s action=defer\n", "p.conf:1: Limit: expected key=..." },
		{ "Limit x key=sender action=defer\n",
		  "p.conf:1: Limit: expected messages=N/PERIOD or recipients=N/PERIOD (or both)" },
		{ "Limit x key=sender messages=1/1s\n",
		  "p.conf:1: Limit: expected action=defer, reject, hold or prepend" },
		{ "Limit x key=sender messages=1/1s action=ok\n",
		  "p.conf:1: Limit: action: expected defer, reject, hold or prepend" },
		{ "Limit x key=sender messages=0/1s action=defer\n",
		  "p.conf:1: Limit: messages: expected N/PERIOD, N from 1 to 1000000, PERIOD "
		  "from 1s to 30d with unit s, m, h or d (e.g. 100/1h)" },
		{ "Limit x key=sender messages=5/1w action=defer\n",
		  "p.conf:1: Limit: messages: expected N/PERIOD, N from 1 to 1000000, PERIOD "
		  "from 1s to 30d with unit s, m, h or d (e.g. 100/1h)" },
		{ "Limit x key=sender messages=5/31d action=defer\n",
		  "p.conf:1: Limit: messages: expected N/PERIOD, N from 1 to 1000000, PERIOD "
		  "from 1s to 30d with unit s, m, h or d (e.g. 100/1h)" },
		{ "Limit x key=sender+sender messages=1/1s action=defer\n",
		  "p.conf:1: Limit: key: expected sasl_username, sender, sender_domain, "
		  "client_address[/NN] or recipient_domain, or several joined by '+'" },
		{ "Limit x key=sender/24 messages=1/1s action=defer\n",
		  "p.conf:1: Limit: key: expected sasl_username, sender, sender_domain, "
		  "client_address[/NN] or recipient_domain, or several joined by '+'" },
		{ "Limit x key=client_address/33 messages=1/1s action=defer\n",
		  "p.conf:1: Limit: key: expected sasl_username, sender, sender_domain, "
		  "client_address[/NN] or recipient_domain, or several joined by '+'" },
		{ "Limit x key=sender messages=1/1s action=defer text=\"open\n",
		  "p.conf:1: Limit: unterminated double quote" },
		{ "Limit x key=sender messages=1/1s action=defer colour=red\n",
		  "p.conf:1: Limit: unknown attribute \"colour\"" },
		{ "Limit x key=sender messages=1/1s action=defer port=0\n",
		  "p.conf:1: Limit: port: expected a port from 1 to 65535" },
		{ "Limit x key=sender messages=1/1s action=defer only=anyone\n",
		  "p.conf:1: Limit: only: expected authenticated" },
		{ "Limit x key=sender messages=1/1s action=defer\n"
		  "Limit X key=sender messages=1/1s action=defer\n",
		  "p.conf:2: Limit: a rule named X exists already" },
		{ "RateLimitStore mysql://x\n",
		  "p.conf: RateLimitStore: expected memory, redis://HOST:PORT/DB or unix:PATH" },
		{ "OnStoreError accept\n", "p.conf:1: OnStoreError: expected dunno or defer" },
		{ "Limitt x\n", "p.conf:1: Limitt: unknown option; did you mean Limit?" },
		{ "Limit x key=sender messages=1/1s action=defer block=yes\n",
		  "p.conf:1: Limit: block=yes needs a key with sasl_username" },
		{ "Limit x key=sasl_username messages=1/1s action=defer block=maybe\n",
		  "p.conf:1: Limit: block: expected yes or no" },
		{ "Limit x key=recipient_domain+recipient_domain messages=1/1s action=defer\n",
		  "p.conf:1: Limit: key: expected sasl_username, sender, sender_domain, "
		  "client_address[/NN] or recipient_domain, or several joined by '+'" },
		{ "Limit x key=sender messages=1/1s action=defer text=\"\"\n",
		  "p.conf:1: Limit: text: expected 1 to 200 printable ASCII characters" },
		{ "Limit x key=sender messages=1/1s action=defer context=a/b\n",
		  "p.conf:1: Limit: context: expected a policy_context name" },
		{ "Limit x key=sender messages=1/1s action=defer ipv6_prefix=129\n",
		  "p.conf:1: Limit: ipv6_prefix: expected 1 to 128" },
		{ "Limit x key=sender recipients=1/0s action=defer\n",
		  "p.conf:1: Limit: recipients: expected N/PERIOD, N from 1 to 1000000, PERIOD "
		  "from 1s to 30d with unit s, m, h or d (e.g. 100/1h)" },
		{ "Limit x key=sender messages=1/1s action=defer loud\n",
		  "p.conf:1: Limit: expected name=value, not \"loud\"" },
		{ "Limit x key=sender key=sasl_username messages=1/1s action=defer\n",
		  "p.conf:1: Limit: key: expected sasl_username, sender, sender_domain, "
		  "client_address[/NN] or recipient_domain, or several joined by '+'" },
		{ "NotifyCommand notify.sh\n", "p.conf: NotifyCommand: expected an absolute path" },
		{ "SendmailPath sendmail\n", "p.conf: SendmailPath: expected an absolute path" },
		{ "AdminSocket admin.sock\n", "p.conf: AdminSocket: expected an absolute path" },
		{ "NotifyAddress postmaster\n",
		  "p.conf: NotifyAddress: expected one address, local@domain" },
		{ "NotifyAddress a@b.example,c@d.example\n",
		  "p.conf: NotifyAddress: expected one address, local@domain" },
		{ "NotifyTimeout 0\n",
		  "p.conf:1: NotifyTimeout: expected a duration (seconds, or suffix ms, s, m "
		  "or h) from 100ms to 10m" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error;
		struct pconf *c = parse(cases[i].text, &error);
		T_CHECK(c == NULL);
		T_EQ_STR(error, cases[i].error);
		free(error);
		pconf_free(&c);
	}
}

static void test_notify_block_and_rcpt_domain_options(void)
{
	char *error;
	struct pconf *c = parse("AdminSocket /run/p.sock\nNotifyCommand /bin/true\n"
				"NotifyAddress postmaster@example.org\nNotifyTimeout 5s\n"
				"Limit u key=sasl_username messages=1/1m action=reject block=yes\n"
				"Limit d key=sasl_username+recipient_domain recipients=5/1h "
				"action=defer\n", &error);
	T_CHECK(c != NULL);
	if (c == NULL) {
		t_fail(__FILE__, __LINE__, "%s", error);
		free(error);
		return;
	}
	T_EQ_STR(c->admin_socket, "/run/p.sock");
	T_EQ_STR(c->notify_command, "/bin/true");
	T_EQ_STR(c->notify_address, "postmaster@example.org");
	T_EQ_STR(c->sendmail_path, "/usr/sbin/sendmail");
	T_EQ_INT(c->notify_timeout_ms, 5000);
	T_CHECK(c->limits->v[0].block);
	T_CHECK(!c->limits->v[1].block);
	T_EQ_INT(c->limits->v[1].keys, LK_SASL_USERNAME | LK_RECIPIENT_DOMAIN);
	pconf_free(&c);
}

static void test_word_lists_accumulate(void)
{
	char *error;
	struct pconf *c = parse("AllowSASLUsers Alice, bob\nAllowSASLUsers carol\n"
				"AllowSenderDomains lists.example.com\n", &error);
	T_CHECK(c != NULL);
	T_CHECK(word_list_has(c->allow_sasl_users, "alice"));
	T_CHECK(word_list_has(c->allow_sasl_users, "BOB"));
	T_CHECK(word_list_has(c->allow_sasl_users, "carol"));
	T_CHECK(!word_list_has(c->allow_sasl_users, "dave"));
	T_CHECK(word_list_has(c->allow_sender_domains, "lists.example.com"));
	T_CHECK(!word_list_has(NULL, "x"));
	pconf_free(&c);
}

static void test_example_config_loads(void)
{
	char *error = NULL;
	struct pconf *c = pconf_load("conf/cachet-policyd.conf", &error);
	if (c == NULL)
		t_fail(__FILE__, __LINE__, "%s", error);
	free(error);
	T_CHECK(c != NULL && c->limits != NULL && c->limits->n >= 1);
	pconf_free(&c);
}

int main(void)
{
	T_RUN(test_defaults);
	T_RUN(test_limit_full_syntax);
	T_RUN(test_limit_errors);
	T_RUN(test_notify_block_and_rcpt_domain_options);
	T_RUN(test_word_lists_accumulate);
	T_RUN(test_example_config_loads);
	return t_done();
}
