/*
 * The `cachet` command: one entry point per subcommand.  Each returns the
 * process exit status (0 done, 1 bad input, 2 usage or configuration).
 */
#ifndef CACHET_CLI_H
#define CACHET_CLI_H

int cmd_check(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* A whole number >= 0 in decimal (times, seconds).  0, or -1 if s is not one. */
int cli_parse_count(const char *s, long long *v_r);

#endif
