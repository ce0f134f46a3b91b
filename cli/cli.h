/*
 * The `cachet` command: one entry point per subcommand.  Each returns the
 * process exit status (0 done, 1 bad input, 2 usage or configuration).
 */
#ifndef CACHET_CLI_H
#define CACHET_CLI_H

int cmd_check(int argc, char **argv);
int cmd_sign(int argc, char **argv);

#endif
