/*
 * Fuzz target for the policy server's admin commands: the input is what a
 * client sends on the AdminSocket (command lines, LF-ended, possibly CR,
 * too long, binary), taken line by line by admin_socket_input exactly as
 * the daemon does, each line run by admin_exec's parser and commands
 * (list, reset KEY, block USER, unblock USER) against a memory store that
 * holds counters and blocks.  Every answer must start with an exit code
 * 0, 1 or 2 and a LF.  Nothing here writes a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "buf.h"
#include "log.h"
#include "pconf.h"
#include "ratelimit.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
	"Limit u key=sasl_username messages=3/1m recipients=5/1m action=defer block=yes\n"
	"Limit s key=sender+client_address/24 messages=2/1h action=reject\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pconf *conf;
	char *error = NULL;
	if (conf == NULL) {
		log_set_level(LOG_CRIT);
		conf = pconf_parse("fuzz.conf", conf_text, strlen(conf_text), &error);
		if (conf == NULL)
			abort();
	}
	struct store *s = store_open("memory", 0, 1000, NULL, &error);
	store_set(s, "cachet:u:m:u=alice", INT64_MAX / 2);
	store_set(s, "cachet:u:r:u=alice", INT64_MAX / 2);
	store_set(s, "cachet:s:m:s=bob@example.org:c=192.0.2.0/24", INT64_MAX / 2);
	store_set(s, RATELIMIT_BLOCK_PREFIX "carol", STORE_FOREVER);
	/* the input in a buffer of its own, so reads past it are caught */
	char *in = malloc(size + 1);
	memcpy(in, data, size);
	size_t off = 0;
	while (off < size) {
		struct buf out;
		char line[ADMIN_MAX_LINE + 1];
		int rc = -1;
		buf_init(&out, 0);
		size_t took = admin_socket_input(s, conf, in + off, size - off, &out, &rc, line);
		if (took == 0) {
			buf_free(&out);
			break;
		}
		if (took > size - off || out.len < 2 || out.p[0] < '0' || out.p[0] > '2' ||
		    out.p[1] != '\n' || rc != out.p[0] - '0' || strlen(line) > ADMIN_MAX_LINE)
			abort();
		buf_free(&out);
		off += took;
	}
	free(in);
	store_close(&s);
	return 0;
}
