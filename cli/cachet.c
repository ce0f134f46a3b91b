/*
 * cachet: the administrator's tool.  Dispatches to a subcommand:
 *
 *	cachet check [options] FILE|-	run a message through the pipeline
 *	cachet sign [options] FILE|-	DKIM-sign a message
 *	cachet doctor [options] DOMAIN	check what a domain publishes for mail
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "check", cmd_check, "run a message through cachet's checks and show the verdict" },
	{ "sign", cmd_sign, "sign a message with a DKIM key and print it" },
	{ "doctor", cmd_doctor, "check a domain's MX, SPF, DKIM and DMARC records, say what to fix" },
};

int cli_parse_count(const char *s, long long *v_r)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*v_r = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`cachet COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
	log_open("cachet", true, LOG_MAIL);
	log_set_level(LOG_WARNING);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cachet: unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}
