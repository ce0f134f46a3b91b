/*
 * null_milter: the floor under any milter, for bench/milter_bench.sh.  A
 * libmilter filter that does nothing but take part: every callback is
 * present, none asks for a step to be skipped or left unanswered (no
 * SMFIP_NO* and no SMFIP_NR_* flags), each answers continue, and end of
 * message adds one header field (X-Null-Milter: seen), so the MTA's
 * end-of-message path carries one modification as cachet's does.
 *
 *	null_milter [-N] SOCKET
 *
 * SOCKET as libmilter takes it ("inet:PORT@127.0.0.1", "local:/PATH").  A
 * TCP listener gets TCP_NODELAY (Linux copies it to accepted sockets), as
 * cachet-milterd's does, so the two differ in their work and in what they
 * negotiate, not in Nagle; -N leaves Nagle on, to see what that costs.
 * Runs in the foreground until SIGTERM or SIGINT.  Not a test: it checks
 * nothing and keeps no state.
 */
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libmilter's prototypes predate const; it does not write through these. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx, (void)host, (void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx, (void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat on_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx, (void)cmd;
	return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx, (void)name, (void)value;
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	if (smfi_addheader(ctx, unconst("X-Null-Milter"), unconst("seen")) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
	.xxfi_name = (char *)(uintptr_t)"null",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_unknown = on_unknown,
	.xxfi_data = on_data,
	/* no negotiate callback: libmilter asks for every step that has one */
};

/* TCP_NODELAY on the listener bound to the spec's port (Linux: inherited). */
static void set_nodelay(const char *spec)
{
	if (strncmp(spec, "inet:", 5) != 0)
		return;
	int port = atoi(spec + 5), one = 1;
	for (int fd = 0; fd < 256; fd++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int on = 0;
		socklen_t olen = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || on == 0 ||
		    getsockname(fd, (struct sockaddr *)&sin, &len) != 0 ||
		    sin.sin_family != AF_INET || ntohs(sin.sin_port) != port)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			perror("null_milter: TCP_NODELAY");
		return;
	}
	fprintf(stderr, "null_milter: %s: listener not found, Nagle stays on\n", spec);
}

int main(int argc, char **argv)
{
	bool nagle = false;
	int opt;
	while ((opt = getopt(argc, argv, "N")) != -1) {
		if (opt != 'N')
			goto usage;
		nagle = true;
	}
	if (optind != argc - 1)
		goto usage;
	const char *spec = argv[optind];
	if (smfi_register(null_desc) != MI_SUCCESS || smfi_setconn(unconst(spec)) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", spec);
		return 1;
	}
	if (!nagle)
		set_nodelay(spec);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: null_milter [-N] SOCKET\n");
	return 2;
}
