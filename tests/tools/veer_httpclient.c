// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-httpclient: the HTTP/1.1 client of the header-routing tests, for
 * veer-httpsrv backends.
 *
 *   veer-httpclient count  --addr A --port P -n N [-c C] [-k K]
 *                          [-H 'Name: value']... [--path P] [--size S]
 *                          [--post B] [--timeout-ms T] [--stats-file F]
 *                          [--expect-peer] [--fail-ports]
 *   veer-httpclient stream --addr A --port P -n N [-H ...] [--path P]
 *                          [--post B] [--interval-ms I] [--ready-file F]
 *                          [--progress-file F] [--timeout-ms T]
 *                          [--expect-peer]
 *   veer-httpclient pattern N
 *
 * Every request is written with one send() (the header section, and the
 * body with it, so the header section is in the first segment) and every
 * response is checked: status 200, X-Veer-Head-Sum equal to the FNV-1a of
 * the header section sent (the request arrived byte-exact), the body
 * byte-exact (the POST body echoed, or the pattern for --size, or the
 * version line), and every response of a connection from the same backend
 * (X-Veer-Version) and the same backend connection (X-Veer-Conn).
 *
 * count: N connections (at most C at once, default 32), K requests each
 * (default 1) on keep-alive, then a half-close and the server's FIN. Prints
 * "<version> <connections>" per version (sorted), then "errors <n>"; exit
 * 0 iff no errors. --fail-ports: one stderr line per failed connection,
 * "failed <kind> local port <P>" (to find it in a packet capture).
 * --stats-file gets requests, bytes_verified,
 * corrupt_bytes, version_changes and the error kinds.
 *
 * stream: N keep-alive connections, each sending a request every I ms
 * (default 10) while the previous one is answered, POST bodies of B bytes
 * (default 1024) echoed and verified. Same files and signals as
 * veer-testclient stream: --ready-file once every connection has a
 * verified response, --progress-file ("mark", "bytes_verified",
 * "progressed_since_mark", ...), SIGUSR2 takes a mark, SIGTERM/SIGINT stop
 * (outstanding responses awaited, then FIN) and print the summary
 * (connections, resets, corrupt_bytes, bytes_verified, version_changes,
 * errors, unverified_connections, "version <name> <n>"); exit 0 iff
 * nothing failed.
 *
 * pattern: writes the N bytes `GET ...?size=N` answers with to stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_common.h"
#include "tool_common.h"

#define PROG "veer-httpclient"
#define VERSION_MAX 64
#define MAX_VERSIONS 32
#define MAX_HEADERS 16
#define MAX_EVENTS 256

enum err_kind {
	E_CONNECT,
	E_RESET,
	E_TIMEOUT,
	E_EOF, /* the server closed before answering */
	E_HTTP, /* not a 200 response we can read */
	E_CORRUPT, /* body or request head not byte-exact */
	E_CHANGED, /* another backend mid-connection */
	E_PEER,
	E_OTHER,
	E_KINDS
};
static const char *const err_names[E_KINDS] = {
	"connect", "reset",   "timeout", "eof",	  "http",
	"corrupt", "changed", "peer",	 "other",
};
static unsigned long errs[E_KINDS];

struct opts {
	bool stream;
	const char *addr;
	unsigned long long port, n, conc, reqs, size, post, timeout_ms,
		interval_ms;
	bool have_size, expect_peer;
	const char *path, *stats_file, *ready_file, *progress_file;
	const char *headers[MAX_HEADERS];
	unsigned int nr_headers;
	struct sockaddr_storage ss;
	socklen_t slen;
	char host[INET6_ADDRSTRLEN + 16];
};

enum cstate { C_IDLE, C_CONNECTING, C_ACTIVE, C_WAIT, C_SHUT, C_DONE };

struct conn {
	int fd;
	unsigned long idx;
	enum cstate state;
	bool failed, progressed, verified_any, peer_checked;
	unsigned long reqs;
	uint32_t seed, head_sum;
	uint64_t deadline, next_send, srv_conn;
	char version[VERSION_MAX + 1];
	char *out;
	size_t out_len, out_off;
	unsigned char *in;
	size_t in_len, in_cap;
};

static struct {
	char name[VERSION_MAX + 1];
	unsigned long count;
} versions[MAX_VERSIONS];
static unsigned int nr_versions;
static int epfd = -1;
static uint64_t requests, bytes_verified, corrupt_bytes, version_changes;
static unsigned long resets;
static bool fail_ports; /* --fail-ports */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " count  --addr A --port P -n N [-c C] [-k K] "
		"[-H 'Name: value']...\n"
		"                       [--path P] [--size S] [--post B] "
		"[--timeout-ms T]\n"
		"                       [--stats-file F] [--expect-peer] "
		"[--fail-ports]\n"
		"       " PROG " stream --addr A --port P -n N [-H ...] "
		"[--path P] [--post B]\n"
		"                       [--interval-ms I] [--ready-file F] "
		"[--progress-file F]\n"
		"                       [--timeout-ms T] [--expect-peer]\n"
		"       " PROG " pattern N\n"
		"count: N connections (C at once, default 32), K requests "
		"each (default 1);\n"
		"  prints \"<version> <connections>\" lines, then "
		"\"errors <n>\".\n"
		"stream: N keep-alive connections, a request every I ms; "
		"SIGUSR2 marks,\n"
		"  SIGTERM/SIGINT stop and summarise.\n"
		"pattern: the N bytes a GET with size=N answers with.\n");
}

static int usage_error(const char *msg)
{
	fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", msg);
	return 2;
}

static unsigned long total_errors(void)
{
	return errors_total(errs, E_KINDS);
}

static void print_error_detail(void)
{
	errors_print(PROG, errs, err_names, E_KINDS);
}

static void version_add(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_versions; i++)
		if (!strcmp(versions[i].name, name)) {
			versions[i].count++;
			return;
		}
	if (nr_versions == MAX_VERSIONS)
		return;
	snprintf(versions[nr_versions].name, sizeof(versions[0].name), "%s",
		 name);
	versions[nr_versions++].count = 1;
}

static int version_cmp(const void *a, const void *b)
{
	return strcmp(a, b); /* name is the first member */
}

static uint32_t fnv1a(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

static void conn_fail(struct conn *c, enum err_kind kind)
{
	if (fail_ports && !c->failed) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		unsigned int port = 0;

		if (c->fd >= 0 &&
		    !getsockname(c->fd, (struct sockaddr *)&ss, &len))
			port = ntohs(ss.ss_family == AF_INET6
					     ? ((struct sockaddr_in6 *)&ss)
						       ->sin6_port
					     : ((struct sockaddr_in *)&ss)
						       ->sin_port);
		fprintf(stderr, PROG ": failed %s local port %u\n",
			err_names[kind], port);
	}
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (!c->failed)
		errs[kind]++;
	if (kind == E_RESET)
		resets++;
	c->failed = true;
	c->state = C_DONE;
}

static int conn_events(struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

	if (c->state == C_CONNECTING || c->out_off < c->out_len)
		ev.events |= EPOLLOUT;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Builds the connection's next request into c->out and sends what it can. */
static int conn_request(struct conn *c, const struct opts *o)
{
	char head[4096], q[64] = "";
	size_t hlen, blen = o->post;
	unsigned int i;
	int n;

	c->seed = (uint32_t)((c->idx + 1) * 1000003u + c->reqs * 7919u + 1);
	if (o->have_size)
		snprintf(q, sizeof(q), "%csize=%llu",
			 strchr(o->path, '?') ? '&' : '?', o->size);
	n = snprintf(head, sizeof(head), "%s %s%s HTTP/1.1\r\nHost: %s\r\n",
		     blen ? "POST" : "GET", o->path, q, o->host);
	for (i = 0; i < o->nr_headers && n > 0 && (size_t)n < sizeof(head); i++)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
			      o->headers[i]);
	if (n > 0 && (size_t)n < sizeof(head) && blen)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Length: %zu\r\n", blen);
	if (n <= 0 || (size_t)n + 2 >= sizeof(head))
		return -1;
	memcpy(head + n, "\r\n", 2);
	hlen = (size_t)n + 2;
	c->head_sum = fnv1a(head, hlen);
	free(c->out);
	c->out = malloc(hlen + blen);
	if (!c->out)
		return -1;
	memcpy(c->out, head, hlen);
	http_pattern_fill(c->seed, 0, (unsigned char *)c->out + hlen, blen);
	c->out_len = hlen + blen;
	c->out_off = 0;
	c->in_len = 0;
	c->state = C_ACTIVE;
	c->deadline = now_ms() + o->timeout_ms;
	return 0;
}

static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	return conn_events(c);
}

static bool peer_ok(int fd, const struct opts *o)
{
	struct sockaddr_storage p;
	socklen_t len = sizeof(p);

	if (getpeername(fd, (struct sockaddr *)&p, &len) || len != o->slen)
		return false;
	if (p.ss_family == AF_INET) {
		const struct sockaddr_in *a = (void *)&p, *b = (void *)&o->ss;

		return a->sin_port == b->sin_port &&
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	{
		const struct sockaddr_in6 *a = (void *)&p, *b = (void *)&o->ss;

		return a->sin6_port == b->sin6_port &&
		       !memcmp(&a->sin6_addr, &b->sin6_addr, 16);
	}
}

static int conn_open(struct conn *c, const struct opts *o)
{
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};

	c->fd = socket(o->ss.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(c, E_OTHER);
		return -1;
	}
	c->state = C_CONNECTING;
	c->deadline = now_ms() + o->timeout_ms;
	if (connect(c->fd, (struct sockaddr *)&o->ss, o->slen) < 0 &&
	    errno != EINPROGRESS) {
		conn_fail(c, E_CONNECT);
		return -1;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_fail(c, E_OTHER);
		return -1;
	}
	return 0;
}

/*
 * A complete response in c->in? 1 and checked (c->failed set if it was
 * wrong), 0 not yet, -1 malformed.
 */
static int conn_response(struct conn *c, const struct opts *o)
{
	const char *h = (const char *)c->in, *v;
	size_t hend = http_head_end(h, c->in_len), vlen, i, bad = 0;
	uint64_t clen, srv_conn = 0;
	unsigned long long sum;
	char version[VERSION_MAX + 1], tmp[24];

	if (!hend)
		return c->in_len > HTTP_HEAD_MAX ? -1 : 0;
	if (c->in_len < 13 || memcmp(h, "HTTP/1.1 200 ", 13) ||
	    !http_header(h, hend, "content-length", &v, &vlen) ||
	    http_decimal(v, vlen, &clen) || clen > HTTP_BODY_MAX)
		return -1;
	if (c->in_len < hend + clen)
		return 0;
	if (c->in_len > hend + clen)
		return -1; /* bytes nobody asked for */
	if (!http_header(h, hend, "x-veer-version", &v, &vlen) || !vlen ||
	    vlen > VERSION_MAX)
		return -1;
	memcpy(version, v, vlen);
	version[vlen] = 0;
	if (http_header(h, hend, "x-veer-conn", &v, &vlen))
		http_decimal(v, vlen, &srv_conn);
	if (!http_header(h, hend, "x-veer-head-sum", &v, &vlen) || vlen != 8)
		return -1;
	memcpy(tmp, v, 8);
	tmp[8] = 0;
	sum = strtoull(tmp, NULL, 16);

	requests++;
	if ((uint32_t)sum != c->head_sum) {
		corrupt_bytes++;
		conn_fail(c, E_CORRUPT);
		return 1;
	}
	if (o->post) {
		for (i = 0; i < clen; i++)
			bad += c->in[hend + i] != http_pattern_byte(c->seed, i);
		bad += clen != o->post ? 1 : 0;
	} else if (o->have_size) {
		for (i = 0; i < clen; i++)
			bad += c->in[hend + i] != http_pattern_byte(0, i);
		bad += clen != o->size ? 1 : 0;
	} else {
		bad = clen != strlen(version) + 1 ||
		      memcmp(c->in + hend, version, clen - 1) ||
		      c->in[hend + clen - 1] != '\n';
	}
	if (bad) {
		corrupt_bytes += bad;
		conn_fail(c, E_CORRUPT);
		return 1;
	}
	if (!c->reqs) {
		memcpy(c->version, version, sizeof(version));
		c->srv_conn = srv_conn;
	} else if (strcmp(c->version, version) || c->srv_conn != srv_conn) {
		version_changes++;
		conn_fail(c, E_CHANGED);
		return 1;
	}
	c->reqs++;
	c->verified_any = true;
	c->progressed = true;
	bytes_verified += clen;
	c->in_len = 0;
	return 1;
}

static int conn_read(struct conn *c, const struct opts *o)
{
	for (;;) {
		ssize_t n;
		int r;

		if (c->in_cap - c->in_len < 65536) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
			unsigned char *p;

			if (cap > HTTP_BODY_MAX + 2 * HTTP_HEAD_MAX) {
				conn_fail(c, E_HTTP);
				return -1;
			}
			p = realloc(c->in, cap);
			if (!p) {
				conn_fail(c, E_OTHER);
				return -1;
			}
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			conn_fail(c, errno == ECONNRESET ? E_RESET : E_OTHER);
			return -1;
		}
		if (n == 0) {
			if (c->state == C_SHUT && !c->in_len) {
				c->state = C_DONE;
				epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				return 1;
			}
			conn_fail(c, c->in_len ? E_HTTP : E_EOF);
			return -1;
		}
		c->in_len += (size_t)n;
		if (c->state != C_ACTIVE) {
			conn_fail(c, E_HTTP); /* unasked bytes */
			return -1;
		}
		r = conn_response(c, o);
		if (r < 0) {
			conn_fail(c, E_HTTP);
			return -1;
		}
		if (r > 0)
			return c->failed ? -1 : 2; /* one answered */
	}
}

static void conn_shut(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->state = C_SHUT;
}

/* ---- count ------------------------------------------------------------ */

static void count_next(struct conn *c, const struct opts *o)
{
	if (c->reqs < o->reqs) {
		if (conn_request(c, o) || conn_flush(c))
			conn_fail(c, E_OTHER);
	} else {
		conn_shut(c);
	}
}

/* Handles an event (or a deadline) of a count connection. */
static void count_event(struct conn *c, const struct opts *o, uint32_t ev)
{
	int r;

	if (c->state == C_DONE)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_fail(c, err == ECONNRESET ? E_RESET : E_CONNECT);
			return;
		}
		if (o->expect_peer && !peer_ok(c->fd, o)) {
			conn_fail(c, E_PEER);
			return;
		}
		count_next(c, o);
		return;
	}
	if (ev & EPOLLOUT) {
		if (conn_flush(c)) {
			conn_fail(c, errno == ECONNRESET ? E_RESET : E_OTHER);
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		while ((r = conn_read(c, o)) == 2)
			count_next(c, o);
	}
}

static int run_count(const struct opts *o)
{
	struct conn *cs = calloc(o->n, sizeof(*cs));
	struct epoll_event events[MAX_EVENTS];
	unsigned long started = 0, done = 0, active = 0, i, ok = 0;
	FILE *f;

	if (!cs)
		return 1;
	for (i = 0; i < o->n; i++) {
		cs[i].fd = -1;
		cs[i].idx = i;
	}
	while (done < o->n) {
		uint64_t now;
		int n, k;

		while (active < o->conc && started < o->n) {
			conn_open(&cs[started], o);
			started++;
			active++;
		}
		n = epoll_wait(epfd, events, MAX_EVENTS, 10);
		for (k = 0; k < n; k++)
			count_event(events[k].data.ptr, o, events[k].events);
		now = now_ms();
		for (i = done; i < started; i++) {
			struct conn *c = &cs[i];

			if (c->state != C_DONE && now > c->deadline)
				conn_fail(c, E_TIMEOUT);
		}
		/* Connections finish in any order; count those done. */
		active = 0;
		while (done < started && cs[done].state == C_DONE)
			done++;
		for (i = done; i < started; i++)
			if (cs[i].state != C_DONE)
				active++;
	}
	for (i = 0; i < o->n; i++) {
		if (!cs[i].failed) {
			version_add(cs[i].version);
			ok++;
		}
		free(cs[i].in);
		free(cs[i].out);
	}
	qsort(versions, nr_versions, sizeof(versions[0]), version_cmp);
	for (i = 0; i < nr_versions; i++)
		printf("%s %lu\n", versions[i].name, versions[i].count);
	printf("errors %llu\n", o->n - ok);
	fflush(stdout);
	print_error_detail();
	if (o->stats_file && (f = fopen(o->stats_file, "w"))) {
		fprintf(f,
			"requests %" PRIu64 "\nbytes_verified %" PRIu64
			"\ncorrupt_bytes %" PRIu64 "\nversion_changes %" PRIu64
			"\n",
			requests, bytes_verified, corrupt_bytes,
			version_changes);
		for (i = 0; i < E_KINDS; i++)
			fprintf(f, "error_%s %lu\n", err_names[i], errs[i]);
		fclose(f);
	}
	free(cs);
	return ok == o->n ? 0 : 1;
}

/* ---- stream ----------------------------------------------------------- */

static unsigned long mark;

static void stream_progress(const struct opts *o, struct conn *cs, bool ready)
{
	unsigned long alive = 0, progressed = 0, i;
	char text[512];

	if (!o->progress_file)
		return;
	for (i = 0; i < o->n; i++) {
		alive += cs[i].state != C_DONE;
		progressed += cs[i].progressed;
	}
	snprintf(text, sizeof(text),
		 "mark %lu\nconnections %llu\nalive %lu\nready %d\n"
		 "bytes_verified %" PRIu64 "\nprogressed_since_mark %lu\n"
		 "resets %lu\ncorrupt_bytes %" PRIu64 "\nerrors %lu\n",
		 mark, o->n, alive, ready, bytes_verified, progressed, resets,
		 corrupt_bytes, total_errors());
	if (write_file_atomic(o->progress_file, text) < 0)
		fprintf(stderr, PROG ": cannot write %s: %s\n",
			o->progress_file, strerror(errno));
}

static void stream_event(struct conn *c, const struct opts *o, uint32_t ev,
			 bool stopping)
{
	int r;

	if (c->state == C_DONE)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_fail(c, err == ECONNRESET ? E_RESET : E_CONNECT);
			return;
		}
		if (o->expect_peer && !peer_ok(c->fd, o)) {
			conn_fail(c, E_PEER);
			return;
		}
		if (conn_request(c, o) || conn_flush(c))
			conn_fail(c, E_OTHER);
		return;
	}
	if ((ev & EPOLLOUT) && conn_flush(c)) {
		conn_fail(c, errno == ECONNRESET ? E_RESET : E_OTHER);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		r = conn_read(c, o);
		if (r == 2) {
			if (stopping) {
				conn_shut(c);
			} else {
				c->state = C_WAIT;
				c->next_send = now_ms() + o->interval_ms;
			}
		}
	}
}

static int run_stream(const struct opts *o, int sfd)
{
	struct conn *cs = calloc(o->n, sizeof(*cs));
	struct epoll_event events[MAX_EVENTS], sev = {.events = EPOLLIN};
	unsigned long i, unverified = 0;
	bool stopping = false, ready = false;
	uint64_t stop_deadline = 0, last_progress = 0;

	if (!cs)
		return 1;
	sev.data.ptr = NULL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev);
	for (i = 0; i < o->n; i++) {
		cs[i].fd = -1;
		cs[i].idx = i;
		conn_open(&cs[i], o);
	}
	for (;;) {
		unsigned long live = 0;
		uint64_t now;
		int n, k;

		n = epoll_wait(epfd, events, MAX_EVENTS, 5);
		for (k = 0; k < n; k++) {
			if (!events[k].data.ptr) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGUSR2) {
						mark++;
						for (i = 0; i < o->n; i++)
							cs[i].progressed =
								false;
					} else if (!stopping) {
						stopping = true;
						stop_deadline = now_ms() +
								o->timeout_ms;
					}
				}
				continue;
			}
			stream_event(events[k].data.ptr, o, events[k].events,
				     stopping);
		}
		now = now_ms();
		for (i = 0; i < o->n; i++) {
			struct conn *c = &cs[i];

			if (c->state == C_WAIT) {
				if (stopping) {
					conn_shut(c);
				} else if (now >= c->next_send) {
					if (conn_request(c, o) || conn_flush(c))
						conn_fail(c, E_OTHER);
				}
			}
			if (c->state != C_DONE && c->state != C_WAIT &&
			    now > (stopping && stop_deadline < c->deadline
					   ? stop_deadline
					   : c->deadline))
				conn_fail(c, E_TIMEOUT);
			if (stopping && c->state == C_SHUT &&
			    now > stop_deadline)
				conn_fail(c, E_TIMEOUT);
			live += c->state != C_DONE;
		}
		if (!ready) {
			ready = true;
			for (i = 0; i < o->n; i++)
				if (!cs[i].verified_any)
					ready = false;
			if (ready && o->ready_file &&
			    write_file_atomic(o->ready_file, "ready\n") < 0)
				fprintf(stderr, PROG ": cannot write %s\n",
					o->ready_file);
		}
		if (now - last_progress >= 50) {
			stream_progress(o, cs, ready);
			last_progress = now;
		}
		if (!live)
			break;
	}
	stream_progress(o, cs, ready);
	for (i = 0; i < o->n; i++) {
		if (!cs[i].verified_any)
			unverified++;
		if (cs[i].reqs)
			version_add(cs[i].version);
		free(cs[i].in);
		free(cs[i].out);
	}
	printf("connections %llu\nresets %lu\ncorrupt_bytes %" PRIu64
	       "\nbytes_verified %" PRIu64 "\nrequests %" PRIu64
	       "\nversion_changes %" PRIu64 "\nerrors %lu\n"
	       "unverified_connections %lu\n",
	       o->n, resets, corrupt_bytes, bytes_verified, requests,
	       version_changes, total_errors(), unverified);
	qsort(versions, nr_versions, sizeof(versions[0]), version_cmp);
	for (i = 0; i < nr_versions; i++)
		printf("version %s %lu\n", versions[i].name, versions[i].count);
	fflush(stdout);
	print_error_detail();
	free(cs);
	return !resets && !corrupt_bytes && !total_errors() && !unverified &&
			       !version_changes
		       ? 0
		       : 1;
}

static int run_pattern(const char *arg)
{
	unsigned long long n, off = 0;
	unsigned char buf[65536];

	if (parse_decimal(arg, 0, HTTP_BODY_MAX, &n))
		return usage_error("pattern: N must be 0..16777216");
	while (off < n) {
		size_t len =
			n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);

		http_pattern_fill(0, off, buf, len);
		if (fwrite(buf, 1, len, stdout) != len)
			return 1;
		off += len;
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_ADDR = 256,
		OPT_PORT,
		OPT_PATH,
		OPT_SIZE,
		OPT_POST,
		OPT_TIMEOUT,
		OPT_INTERVAL,
		OPT_STATS,
		OPT_READY,
		OPT_PROGRESS,
		OPT_PEER,
		OPT_FAIL_PORTS,
	};
	static const struct option lopts[] = {
		{"addr", required_argument, NULL, OPT_ADDR},
		{"port", required_argument, NULL, OPT_PORT},
		{"header", required_argument, NULL, 'H'},
		{"path", required_argument, NULL, OPT_PATH},
		{"size", required_argument, NULL, OPT_SIZE},
		{"post", required_argument, NULL, OPT_POST},
		{"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
		{"interval-ms", required_argument, NULL, OPT_INTERVAL},
		{"stats-file", required_argument, NULL, OPT_STATS},
		{"ready-file", required_argument, NULL, OPT_READY},
		{"progress-file", required_argument, NULL, OPT_PROGRESS},
		{"expect-peer", no_argument, NULL, OPT_PEER},
		{"fail-ports", no_argument, NULL, OPT_FAIL_PORTS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {
		.n = 0,
		.conc = 32,
		.reqs = 1,
		.path = "/",
		.timeout_ms = 5000,
		.interval_ms = 10,
	};
	const char *mode;
	sigset_t mask;
	int opt, sfd;
	char a[INET6_ADDRSTRLEN];

	if (argc < 2)
		return usage_error("a mode is required: count, stream or "
				   "pattern");
	mode = argv[1];
	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(mode, "pattern"))
		return argc == 3 ? run_pattern(argv[2])
				 : usage_error("pattern N");
	if (!strcmp(mode, "stream")) {
		o.stream = true;
		o.post = 1024;
		o.timeout_ms = 10000;
	} else if (strcmp(mode, "count")) {
		return usage_error("mode must be count, stream or pattern");
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "n:c:k:H:h", lopts, NULL)) !=
	       -1) {
		switch (opt) {
		case OPT_ADDR:
			o.addr = optarg;
			break;
		case OPT_PORT:
			if (parse_decimal(optarg, 1, 65535, &o.port))
				return usage_error("--port must be 1..65535");
			break;
		case 'n':
			if (parse_decimal(optarg, 1, 1000000, &o.n))
				return usage_error("-n must be 1..1000000");
			break;
		case 'c':
			if (parse_decimal(optarg, 1, 10000, &o.conc))
				return usage_error("-c must be 1..10000");
			break;
		case 'k':
			if (parse_decimal(optarg, 1, 100000, &o.reqs))
				return usage_error("-k must be 1..100000");
			break;
		case 'H':
			if (o.nr_headers == MAX_HEADERS ||
			    !strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
				return usage_error("-H 'Name: value' (at most "
						   "16)");
			o.headers[o.nr_headers++] = optarg;
			break;
		case OPT_PATH:
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n"))
				return usage_error("--path must start with / "
						   "and have no blanks");
			o.path = optarg;
			break;
		case OPT_SIZE:
			if (parse_decimal(optarg, 0, HTTP_BODY_MAX, &o.size))
				return usage_error("--size must be "
						   "0..16777216");
			o.have_size = true;
			break;
		case OPT_POST:
			if (parse_decimal(optarg, 0, HTTP_BODY_MAX, &o.post))
				return usage_error("--post must be "
						   "0..16777216");
			break;
		case OPT_TIMEOUT:
			if (parse_decimal(optarg, 1, 3600000, &o.timeout_ms))
				return usage_error("--timeout-ms must be "
						   "1..3600000");
			break;
		case OPT_INTERVAL:
			if (parse_decimal(optarg, 0, 60000, &o.interval_ms))
				return usage_error("--interval-ms must be "
						   "0..60000");
			break;
		case OPT_STATS:
			o.stats_file = optarg;
			break;
		case OPT_READY:
			o.ready_file = optarg;
			break;
		case OPT_PROGRESS:
			o.progress_file = optarg;
			break;
		case OPT_PEER:
			o.expect_peer = true;
			break;
		case OPT_FAIL_PORTS:
			fail_ports = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument");
	if (!o.addr || !o.port || !o.n)
		return usage_error("--addr, --port and -n are required");
	if (o.post && o.have_size)
		return usage_error("--post and --size exclude each other");
	if (o.stream && !o.post)
		return usage_error("stream needs --post B > 0");
	if (!o.stream && (o.ready_file || o.progress_file))
		return usage_error("--ready-file and --progress-file are "
				   "stream options");
	if (parse_addr(o.addr, (unsigned short)o.port, &o.ss, &o.slen))
		return usage_error("--addr is not an IPv4 or IPv6 address");
	if (o.ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&o.ss)->sin6_addr,
			  a, sizeof(a));
		snprintf(o.host, sizeof(o.host), "[%s]:%llu", a, o.port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&o.ss)->sin_addr, a,
			  sizeof(a));
		snprintf(o.host, sizeof(o.host), "%s:%llu", a, o.port);
	}

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror(PROG ": epoll_create1");
		return 1;
	}
	if (!o.stream)
		return run_count(&o);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		perror(PROG ": signalfd");
		return 1;
	}
	return run_stream(&o, sfd);
}
