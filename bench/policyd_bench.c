/*
 * policyd_bench: a load generator that speaks the Postfix policy protocol.
 * C connections (default 50), each kept open and used as Postfix does (one
 * request, wait for the reply, the next), for T seconds; requests alternate
 * RCPT and END-OF-MESSAGE for users drawn from U names, so the server
 * checks and takes counters as under real load.  Prints one line:
 *
 *	conns N  requests N  req/s X  p50_us X  p99_us X  max_us X  errors N
 *
 *	policyd_bench -p PORT | -S PATH [-c CONNS] [-t SECONDS] [-u USERS] [-T THREADS]
 *		      [-r RATE]
 *
 * -p: 127.0.0.1:PORT over TCP; -S: the unix socket PATH.
 *
 * By default one thread per connection (blocking sockets).  With -T, the
 * connections are shared by THREADS threads, each waiting on its own
 * with epoll: the same requests and the same measure (from sending a
 * request to its whole reply), at a fraction of the generator's CPU (no
 * thread switch per request), which matters when the generator and the
 * server share few CPUs.  Latencies are kept per thread, up to
 * BENCH_MAX_SAMPLES each, and merged at the end.
 *
 * Those modes are closed loops: each connection sends as soon as its last
 * reply is in, so they measure the most the server does, and their
 * latency is only CONNS / (requests per second) (Little's law).  With
 * -r RATE (needs -T) the load is open: RATE requests a second in all,
 * each connection sending on its own schedule (every CONNS / RATE
 * seconds, the connections' schedules evenly staggered).  A connection
 * still has one request in flight at most, as Postfix does; when a reply
 * comes after the next request was due, that request goes out at once,
 * and every latency is counted from the time its request was due, not
 * from when it went out, so a slow reply's delay to the requests behind
 * it is counted too (no "coordinated omission").  The line then ends with
 * "offered RATE", and a second line says so when the replies came at
 * less than 97 % of RATE (the time to wait for the last replies counts)
 * or more than 1 % of the requests due were never answered: the
 * latencies are then those of an overloaded server.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_CONNS 1000
#define BENCH_MAX_SAMPLES 2000000

struct worker {
	pthread_t thread;
	int id;
	int port;
	int users;
	int conns;		/* -T: the connections of this thread */
	int first;		/* -T: the id of its first connection */
	double until;
	double interval;	/* -r: seconds between a connection's requests */
	int all_conns;		/* -r: the connections of all threads */
	unsigned long unsent;	/* -r: requests due before the end, never answered */
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

/* -S: a unix socket instead of 127.0.0.1:PORT (what check_policy_service unix: uses) */
static const char *unix_path;

static int connect_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", unix_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int port)
{
	if (unix_path != NULL)
		return connect_unix();
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

/* The i-th request of connection id. */
static int make_request(char *req, size_t size, int id, unsigned long i, unsigned *seed,
			int users)
{
	int user = (int)(rand_r(seed) % (unsigned)users);
	return snprintf(req, size,
			"request=smtpd_access_policy\nprotocol_state=%s\n"
			"protocol_name=ESMTP\nclient_address=198.51.100.%d\n"
			"client_name=client.example\nhelo_name=client.example\n"
			"sender=user%d@example.org\nrecipient=rcpt@example.com\n"
			"recipient_count=%d\nqueue_id=\ninstance=%d.%lu\nsize=4096\n"
			"sasl_method=PLAIN\nsasl_username=user%d\nserver_port=587\n\n",
			i % 2 ? "END-OF-MESSAGE" : "RCPT", user % 250, user, i % 2 ? 1 : 0, id,
			i / 2, user);
}

/* -T: one connection's state in a multiplexing thread */
struct mconn {
	int fd;
	int id;
	unsigned seed;
	unsigned long i;
	double t0;		/* the request's send time; -r: the time it was due */
	double due;		/* -r: when the next request is due */
	bool busy;		/* a request is in flight */
	char buf[1024];
	size_t have;
};

static void record(struct worker *w, double us)
{
	if (w->n < BENCH_MAX_SAMPLES)
		w->lat_us[w->n++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

/* Sends the next request; t0 is the time latency is counted from. */
static int mconn_send(struct mconn *m, struct worker *w, double t0)
{
	char req[1024];
	int len = make_request(req, sizeof(req), m->id, m->i++, &m->seed, w->users);
	m->have = 0;
	m->t0 = t0;
	m->busy = true;
	return write(m->fd, req, (size_t)len) == len ? 0 : -1;
}

/* Connects the thread's connections and watches them with ep; how many are up. */
static int mconn_open(struct worker *w, struct mconn *m, int ep)
{
	struct epoll_event ev;
	int live = 0;
	for (int k = 0; k < w->conns; k++) {
		m[k].id = w->first + k;
		m[k].seed = (unsigned)m[k].id * 7919u + 1;
		m[k].fd = connect_to(w->port);
		if (m[k].fd < 0) {
			w->errors++;
			continue;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = &m[k];
		epoll_ctl(ep, EPOLL_CTL_ADD, m[k].fd, &ev);
		live++;
	}
	return live;
}

/*
 * Reads what c's socket has: 1 when the whole reply is in (its latency
 * recorded), 0 when more is to come, -1 when the connection is lost.
 */
static int mconn_read(struct mconn *c, struct worker *w, int ep)
{
	ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	if (r <= 0 || (c->have += (size_t)r) == sizeof(c->buf)) {
		w->errors++;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (c->have < 2 || c->buf[c->have - 1] != '\n' || c->buf[c->have - 2] != '\n')
		return 0;
	record(w, (now_s() - c->t0) * 1e6);
	if (strncmp(c->buf, "action=", 7) != 0)
		w->errors++;
	c->busy = false;
	return 1;
}

/* Closed loop: each connection sends its next request when its reply is in. */
static void multi_closed(struct worker *w, struct mconn *m, int ep, int live)
{
	struct epoll_event evs[64];
	for (int k = 0; k < w->conns; k++)
		if (m[k].fd >= 0 && mconn_send(&m[k], w, now_s()) < 0)
			w->errors++;
	while (live > 0 && now_s() < w->until) {
		int n = epoll_wait(ep, evs, 64, 100);
		for (int e = 0; e < n; e++) {
			struct mconn *c = evs[e].data.ptr;
			int got = mconn_read(c, w, ep);
			if (got < 0)
				live--;
			else if (got > 0 && now_s() < w->until && mconn_send(c, w, now_s()) < 0)
				w->errors++;
		}
	}
}

/*
 * -r: sends every request that is due on an idle connection, counted
 * from when it was due; the time the next one is due (w->until if none).
 */
static double multi_send_due(struct worker *w, struct mconn *m, double now)
{
	double next = w->until;
	for (int k = 0; k < w->conns; k++) {
		struct mconn *c = &m[k];
		if (c->fd < 0 || c->busy || c->due >= w->until)
			continue;
		if (c->due <= now) {
			if (mconn_send(c, w, c->due) < 0)
				w->errors++;
			c->due += w->interval;
			continue;
		}
		if (c->due < next)
			next = c->due;
	}
	return next;
}

/* -r: requests due before the end that were never sent or never answered. */
static void multi_count_unsent(struct worker *w, struct mconn *m)
{
	for (int k = 0; k < w->conns; k++) {
		if (m[k].fd < 0)
			continue;
		w->unsent += m[k].busy;
		for (double due = m[k].due; due < w->until; due += w->interval)
			w->unsent++;
	}
}

/*
 * Open loop (-r): each connection's requests are due every w->interval,
 * from the start plus its place among all connections; the thread sleeps
 * until the next is due or a reply comes.  Replies to the last requests
 * are waited for up to a second past the end.
 */
static void multi_open(struct worker *w, struct mconn *m, int ep, int live)
{
	struct epoll_event evs[64];
	double start = now_s();
	for (int k = 0; k < w->conns; k++)
		m[k].due = start + w->interval * m[k].id / w->all_conns;
	/* wake on time: the default timer slack (50 us) is most of a gap between sends */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	for (;;) {
		double now = now_s();
		int busy = 0;
		double next = multi_send_due(w, m, now);
		for (int k = 0; k < w->conns; k++)
			busy += m[k].fd >= 0 && m[k].busy;
		if (live == 0 || (now >= w->until && busy == 0) || now >= w->until + 1)
			break;
		double wait = (now < w->until ? next : w->until + 1) - now;
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		int n = epoll_pwait2(ep, evs, 64, wait > 0 ? &ts : &(struct timespec){ 0, 0 }, NULL);
		for (int e = 0; e < n; e++)
			if (mconn_read(evs[e].data.ptr, w, ep) < 0)
				live--;
	}
	multi_count_unsent(w, m);
}

static void *work_multi(void *arg)
{
	struct worker *w = arg;
	struct mconn *m = calloc((size_t)w->conns, sizeof(*m));
	int ep = epoll_create1(0);
	int live = mconn_open(w, m, ep);
	if (w->interval > 0)
		multi_open(w, m, ep, live);
	else
		multi_closed(w, m, ep, live);
	for (int k = 0; k < w->conns; k++)
		if (m[k].fd >= 0)
			close(m[k].fd);
	close(ep);
	free(m);
	return NULL;
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
		int len = make_request(req, sizeof(req), w->id, i, &seed, w->users);
		double t0 = now_s();
		if (write(fd, req, (size_t)len) != len || read_reply(fd) < 0) {
			w->errors++;
			break;
		}
		record(w, (now_s() - t0) * 1e6);
	}
	close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The result line; with -r, the offered rate, and a line when it was not met. */
static void report(int conns, double rate, uint32_t *all, size_t total, double elapsed,
		   unsigned long errors, unsigned long unsent)
{
	double done = (double)total / elapsed;
	printf("conns %d  requests %zu  req/s %.0f  p50_us %u  p99_us %u  max_us %u  errors %lu",
	       conns, total, done, total ? all[total / 2] : 0, total ? all[total * 99 / 100] : 0,
	       total ? all[total - 1] : 0, errors);
	if (rate > 0)
		printf("  offered %.0f", rate);
	printf("\n");
	if (rate > 0 && (done < 0.97 * rate || unsent > total / 100))
		printf("short: %.0f req/s of the %.0f offered, %lu requests due never answered: "
		       "the latencies are those of an overloaded server or generator\n",
		       done, rate, unsent);
}

int main(int argc, char **argv)
{
	int port = 0, conns = 50, users = 1000, threads = 0, ch;
	double secs = 5, rate = 0;
	while ((ch = getopt(argc, argv, "p:S:c:t:u:T:r:")) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'S':
			unix_path = optarg;
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
		case 'T':
			threads = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: policyd_bench -p PORT | -S PATH [-c CONNS] [-t SECONDS] "
					"[-u USERS] [-T THREADS] [-r RATE]\n");
			return 2;
		}
	}
	if ((unix_path == NULL && (port < 1 || port > 65535)) ||
	    (unix_path != NULL && strlen(unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) ||
	    conns < 1 || conns > BENCH_MAX_CONNS || secs <= 0 ||
	    users < 1 || threads < 0 || threads > conns || rate < 0 || (rate > 0 && threads == 0)) {
		fprintf(stderr, "policyd_bench: bad arguments (-r needs -T)\n");
		return 2;
	}
	int nw = threads > 0 ? threads : conns;
	struct worker *w = calloc((size_t)nw, sizeof(*w));
	double start = now_s();
	for (int i = 0, first = 0; i < nw; i++) {
		w[i].id = i;
		w[i].port = port;
		w[i].users = users;
		w[i].until = start + secs;
		w[i].interval = rate > 0 ? conns / rate : 0;
		w[i].all_conns = conns;
		w[i].conns = conns / nw + (i < conns % nw);
		w[i].first = first;
		first += w[i].conns;
		w[i].lat_us = malloc(BENCH_MAX_SAMPLES * sizeof(uint32_t));
		if (w[i].lat_us == NULL ||
		    pthread_create(&w[i].thread, NULL, threads > 0 ? work_multi : work, &w[i]) != 0) {
			fprintf(stderr, "policyd_bench: cannot start worker %d\n", i);
			return 1;
		}
	}
	size_t total = 0;
	unsigned long errors = 0, unsent = 0;
	for (int i = 0; i < nw; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		errors += w[i].errors;
		unsent += w[i].unsent;
	}
	double elapsed = now_s() - start;
	uint32_t *all = malloc((total + 1) * sizeof(uint32_t));
	size_t k = 0;
	for (int i = 0; i < nw; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(uint32_t));
		k += w[i].n;
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(uint32_t), cmp_u32);
	report(conns, rate, all, total, elapsed, errors, unsent);
	free(all);
	free(w);
	return errors > 0 ? 1 : 0;
}
