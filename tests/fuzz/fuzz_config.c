/*
 * Fuzz target for the configuration parser and the host-list parser: the
 * same input is parsed as a configuration file (config_parse) and, up to
 * its first NUL byte, as a host list (netlist_parse), whose result is then
 * matched against a few clients.  Neither may crash, leak or hang.
 *
 * Include and file-valued options (TestDNSData, InternalHosts file:) read
 * whatever the input names, relative to the fuzzer's working directory;
 * the parser reads regular files only, so a name like /dev/stdin just
 * errors.  Nothing here writes a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *error = NULL;
	struct config *c = config_parse("fuzz.conf", (const char *)data, size, &error);
	if (c != NULL) {
		struct config *r = config_ref(c);
		config_unref(&r);
		/* a loaded configuration upholds what config.h promises */
		if (c->authserv_id == NULL || c->internal_hosts == NULL || c->socket == NULL)
			abort();
	}
	config_unref(&c);
	free(error);

	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	error = NULL;
	struct netlist *l = netlist_parse(text, &error);
	if (l != NULL) {
		static const char *const clients[][2] = {
			{ "192.0.2.1", "mail.example.com" },
			{ "::ffff:10.1.2.3", NULL },
			{ "2001:db8::1", "[2001:db8::1]" },
			{ NULL, "a.b.example" },
		};
		for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
			(void)netlist_match_text(l, clients[i][0], clients[i][1]);
		/* the text itself as a client name and as an address */
		(void)netlist_match_text(l, text, text);
	} else if (error == NULL) {
		abort();
	}
	netlist_free(&l);
	free(error);
	free(text);
	return 0;
}
