/*
 * policyd_bench: a load generator that speaks the Postfix policy protocol.
 * C connections (default 50), each kept open and used as Postfix does (one
 * request, wait for the reply, the next), for T seconds; requests alternate
 * RCPT and END-OF-MESSAGE for users drawn from U names, so the server
 * checks and takes counters as under real load.  Prints one line:
 *
 *	conns N  requests N  req/s X  p50_us X  p99_us X  max_us X  errors N
 *
 *	policyd_bench -p PORT [-c CONNS] [-t SECONDS] [-u USERS]
 *
 * One thread per connection (blocking sockets); latencies are kept per
 * thread, up to BENCH_MAX_SAMPLES each, and merged at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_CONNS 1000
#define BENCH_MAX_SAMPLES 2000000

struct worker {
	pthread_t thread;
	int id;
	int port;
	int users;
	double until;
	uint32_t *lat_us;
	size_t n;
	unsigned long errors;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin;
	int one = 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads until the reply's empty line; 0 on success. */
static int read_reply(int fd)
{
	char buf[1024];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		if (have >= 2 && buf[have - 1] == '\n' && buf[have - 2] == '\n')
			return strncmp(buf, "action=", 7) == 0 ? 0 : -1;
		if (have == sizeof(buf))
			return -1;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	int fd = connect_to(w->port);
	unsigned seed = (unsigned)w->id * 7919u + 1;
	char req[1024];
	if (fd < 0) {
		w->errors++;
		return NULL;
	}
	for (unsigned long i = 0; now_s() < w->until; i++) {
		int user = (int)(rand_r(&seed) % (unsigned)w->users);
		int len = snprintf(req, sizeof(req),
				   "request=smtpd_access_policy\nprotocol_state=%s\n"
				   "protocol_name=ESMTP\nclient_address=198.51.100.%d\n"
				   "client_name=client.example\nhelo_name=client.example\n"
				   "sender=user%d@example.org\nrecipient=rcpt@example.com\n"
				   "recipient_count=%d\nqueue_id=\ninstance=%d.%lu\nsize=4096\n"
				   "sasl_method=PLAIN\nsasl_username=user%d\nserver_port=587\n\n",
				   i % 2 ? "END-OF-MESSAGE" : "RCPT", user % 250, user,
				   i % 2 ? 1 : 0, w->id, i / 2, user);
		double t0 = now_s();
		if (write(fd, req, (size_t)len) != len || read_reply(fd) < 0) {
			w->errors++;
			break;
		}
		double us = (now_s() - t0) * 1e6;
		if (w->n < BENCH_MAX_SAMPLES)
			w->lat_us[w->n++] = us > 4e9 ? 4000000000u : (uint32_t)us;
	}
	close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int port = 0, conns = 50, users = 1000, ch;
	double secs = 5;
	while ((ch = getopt(argc, argv, "p:c:t:u:")) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'u':
			users = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: policyd_bench -p PORT [-c CONNS] [-t SECONDS] [-u USERS]\n");
			return 2;
		}
	}
	if (port < 1 || port > 65535 || conns < 1 || conns > BENCH_MAX_CONNS || secs <= 0 ||
	    users < 1) {
		fprintf(stderr, "policyd_bench: bad arguments\n");
		return 2;
	}
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	double start = now_s();
	for (int i = 0; i < conns; i++) {
		w[i].id = i;
		w[i].port = port;
		w[i].users = users;
		w[i].until = start + secs;
		w[i].lat_us = malloc(BENCH_MAX_SAMPLES * sizeof(uint32_t));
		if (w[i].lat_us == NULL || pthread_create(&w[i].thread, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "policyd_bench: cannot start worker %d\n", i);
			return 1;
		}
	}
	size_t total = 0;
	unsigned long errors = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	double elapsed = now_s() - start;
	uint32_t *all = malloc((total + 1) * sizeof(uint32_t));
	size_t k = 0;
	for (int i = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(uint32_t));
		k += w[i].n;
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(uint32_t), cmp_u32);
	printf("conns %d  requests %zu  req/s %.0f  p50_us %u  p99_us %u  max_us %u  errors %lu\n",
	       conns, total, (double)total / elapsed, total ? all[total / 2] : 0,
	       total ? all[total * 99 / 100] : 0, total ? all[total - 1] : 0, errors);
	free(all);
	free(w);
	return errors > 0 ? 1 : 0;
}
