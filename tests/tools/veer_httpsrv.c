// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-httpsrv: the HTTP/1.1 backend of the header-routing tests.
 *
 *   veer-httpsrv --listen ADDR --port P --version NAME [--ready-file F]
 *
 * Serves HTTP/1.0 and 1.1 requests, keep-alive (1.1 unless
 * "Connection: close"; 1.0 only with "Connection: keep-alive"),
 * pipelined or not. Every response is 200 and carries:
 *
 *   X-Veer-Version: NAME     which backend answered
 *   X-Veer-Conn: C           this server's serial number of the connection
 *   X-Veer-Req: K            the request's index on its connection (1, 2..)
 *   X-Veer-Head-Sum: H       FNV-1a (32 bits, hex) of the request's whole
 *                            header section as received (request line to
 *                            the empty line), so a client can check the
 *                            request arrived byte-exact
 *
 * The body: a request with a body (Content-Length) gets it echoed back;
 * otherwise a URI with "size=N" in it gets N bytes of the pattern of
 * http_common.h (seed 0); anything else gets "NAME\n". Transfer-Encoding
 * is refused (501) and so are bodies above 16 MiB (413), both closing the
 * connection. One epoll loop, non-blocking; a connection whose responses
 * pile up unread stops being read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_common.h"
#include "tool_common.h"

#define PROG "veer-httpsrv"
#define VERSION_MAX 64
#define MAX_EVENTS 256
#define READ_CHUNK 65536
/* Stop reading a connection while this much response is unsent. */
#define OUT_HIGH (1UL << 20)

struct buf {
	char *p;
	size_t len, cap, off; /* off: first unconsumed byte */
};

struct conn {
	int fd;
	uint64_t serial;
	uint64_t requests;
	bool rd_eof;
	bool close_after; /* close once out is flushed */
	bool draining; /* our FIN sent: read and discard until the peer's */
	uint32_t events;
	struct buf in, out;
};

static char listen_tag, signal_tag;
static int epfd = -1;
static const char *version;
/* --status: every answer that would be 200 has this status instead. */
static unsigned long long forced_status;
/* --delay-ms: the whole server waits this long before each response. */
static unsigned long long delay_ms;
static uint64_t serials;

static void usage(FILE *out)
{
	fprintf(out, "usage: " PROG " --listen ADDR --port P --version NAME "
		     "[--ready-file F] [--status CODE] [--delay-ms MS]\n"
		     "  HTTP/1.1 with keep-alive on ADDR:P. Responses carry "
		     "X-Veer-Version: NAME,\n"
		     "  X-Veer-Conn, X-Veer-Req and X-Veer-Head-Sum; the body "
		     "echoes the request's,\n"
		     "  or is N pattern bytes for a URI with size=N, or "
		     "\"NAME\\n\"; --status CODE answers with CODE instead "
		     "of 200;\n  --delay-ms MS waits MS before each response "
		     "(the whole server: a slow backend).\n");
}

static int die_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	usage(stderr);
	return 2;
}

static int buf_reserve(struct buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->off > (1U << 16) && b->off * 2 > b->len) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len))
		return -1;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
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

static void conn_free(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in.p);
	free(c->out.p);
	free(c);
}

/* A response with BODY (or, if body is NULL, BLEN pattern bytes). */
static int respond(struct conn *c, int status, const char *reason,
		   uint32_t head_sum, const char *body, size_t blen)
{
	char head[512];
	int n;

	if (delay_ms) {
		struct timespec ts = {(time_t)(delay_ms / 1000),
				      (long)(delay_ms % 1000) * 1000000L};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (status == 200 && forced_status) {
		status = (int)forced_status;
		reason = "Status Forced";
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nX-Veer-Version: %s\r\n"
		     "X-Veer-Conn: %" PRIu64 "\r\nX-Veer-Req: %" PRIu64 "\r\n"
		     "X-Veer-Head-Sum: %08x\r\nContent-Type: "
		     "application/octet-stream\r\nContent-Length: %zu\r\n%s"
		     "\r\n",
		     status, reason, version, c->serial, c->requests, head_sum,
		     blen, c->close_after ? "Connection: close\r\n" : "");
	if (buf_append(&c->out, head, (size_t)n))
		return -1;
	if (body)
		return buf_append(&c->out, body, blen);
	if (buf_reserve(&c->out, blen))
		return -1;
	http_pattern_fill(0, 0, (unsigned char *)c->out.p + c->out.len, blen);
	c->out.len += blen;
	return 0;
}

/* "size=N" anywhere in the URI: N, or -1. */
static int64_t uri_size(const char *uri, size_t len)
{
	size_t i;

	for (i = 0; i + 5 <= len; i++) {
		uint64_t v = 0;
		size_t j = i + 5, d = 0;

		if (memcmp(uri + i, "size=", 5))
			continue;
		while (j < len && uri[j] >= '0' && uri[j] <= '9' && d < 10) {
			v = v * 10 + (uint64_t)(uri[j++] - '0');
			d++;
		}
		if (d && v <= HTTP_BODY_MAX)
			return (int64_t)v;
		return -1;
	}
	return -1;
}

/*
 * Answers every complete request in c->in. -1: the connection must go
 * (malformed, out of memory).
 */
static int serve_requests(struct conn *c)
{
	while (!c->close_after) {
		const char *h = c->in.p + c->in.off, *v, *sp1, *sp2, *eol;
		size_t avail = c->in.len - c->in.off, hend, vlen;
		uint64_t clen = 0;
		bool http10, keep;
		int64_t size;
		uint32_t sum;

		if (!avail)
			return 0;
		hend = http_head_end(h, avail);
		if (!hend) {
			if (avail > HTTP_HEAD_MAX)
				return -1;
			return 0;
		}
		eol = memchr(h, '\n', hend);
		sp1 = memchr(h, ' ', (size_t)(eol - h));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))
			  : NULL;
		if (!sp1 || !sp2 || (size_t)(eol - sp2) < 9 ||
		    memcmp(sp2 + 1, "HTTP/1.", 7))
			return -1;
		http10 = sp2[8] == '0';
		if (http_header(h, hend, "transfer-encoding", &v, &vlen)) {
			c->requests++;
			c->close_after = true;
			c->in.off = c->in.len;
			return respond(c, 501, "Not Implemented", 0, "", 0);
		}
		if (http_header(h, hend, "content-length", &v, &vlen) &&
		    (http_decimal(v, vlen, &clen) || clen > HTTP_BODY_MAX)) {
			c->requests++;
			c->close_after = true;
			c->in.off = c->in.len;
			return respond(c, 413, "Payload Too Large", 0, "", 0);
		}
		if (avail < hend + clen)
			return 0; /* the body is still coming */
		keep = !http10;
		if (http_header(h, hend, "connection", &v, &vlen)) {
			if (vlen == 5 && !strncasecmp(v, "close", 5))
				keep = false;
			else if (vlen == 10 &&
				 !strncasecmp(v, "keep-alive", 10))
				keep = true;
		}
		c->requests++;
		c->close_after = !keep;
		sum = fnv1a(h, hend);
		size = uri_size(sp1 + 1, (size_t)(sp2 - sp1 - 1));
		if (clen) {
			if (respond(c, 200, "OK", sum, h + hend, clen))
				return -1;
		} else if (size >= 0) {
			if (respond(c, 200, "OK", sum, NULL, (size_t)size))
				return -1;
		} else {
			char line[VERSION_MAX + 2];
			int n = snprintf(line, sizeof(line), "%s\n", version);

			if (respond(c, 200, "OK", sum, line, (size_t)n))
				return -1;
		}
		c->in.off += hend + clen;
	}
	return 0;
}

static int conn_set_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->events == events)
		return 0;
	c->events = events;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Progress on one connection; -1 when it is finished and must be freed. */
static int conn_run(struct conn *c)
{
	for (;;) {
		size_t pending = c->out.len - c->out.off;
		uint32_t want = 0;
		ssize_t n;

		if (c->draining) {
			/* Closing with unread bytes would send an RST. */
			char sink[4096];

			n = recv(c->fd, sink, sizeof(sink), 0);
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			if (n < 0 && errno == EAGAIN)
				return conn_set_events(c, EPOLLIN) ? -1 : 0;
			return -1;
		}
		while (pending) {
			n = send(c->fd, c->out.p + c->out.off, pending,
				 MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					break;
				return -1;
			}
			c->out.off += (size_t)n;
			pending -= (size_t)n;
		}
		if (!pending) {
			c->out.off = c->out.len = 0;
			if (c->rd_eof)
				return -1; /* both sides done: close */
			if (c->close_after) {
				shutdown(c->fd, SHUT_WR);
				c->draining = true;
				continue;
			}
		} else {
			want |= EPOLLOUT;
		}
		if (c->rd_eof || c->close_after || pending >= OUT_HIGH)
			return conn_set_events(c, want ? want : EPOLLOUT) ? -1
									  : 0;
		if (buf_reserve(&c->in, READ_CHUNK))
			return -1;
		n = recv(c->fd, c->in.p + c->in.len, READ_CHUNK, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return conn_set_events(c, want | EPOLLIN) ? -1
									  : 0;
			return -1;
		}
		if (n == 0) {
			c->rd_eof = true;
		} else {
			c->in.len += (size_t)n;
			if (serve_requests(c))
				return -1;
		}
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, PROG ": accept: %s\n",
					strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->serial = ++serials;
		c->events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		if (conn_run(c) < 0)
			conn_free(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"version", required_argument, NULL, 'v'},
		{"ready-file", required_argument, NULL, 'r'},
		{"status", required_argument, NULL, 's'},
		{"delay-ms", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen_addr = NULL, *ready = NULL;
	struct epoll_event events[MAX_EVENTS], ev;
	unsigned long long port = 0;
	struct sockaddr_storage ss;
	int lfd, sfd, opt;
	bool running = true;
	socklen_t slen;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'p':
			if (parse_decimal(optarg, 1, 65535, &port))
				return die_usage("--port must be 1..65535");
			break;
		case 'v':
			version = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 's':
			if (parse_decimal(optarg, 100, 599, &forced_status))
				return die_usage("--status must be 100..599");
			break;
		case 'd':
			if (parse_decimal(optarg, 0, 60000, &delay_ms))
				return die_usage("--delay-ms must be 0..60000");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die_usage("unexpected argument");
	if (!listen_addr || !port || !version)
		return die_usage("--listen, --port and --version are required");
	if (!*version || strlen(version) > VERSION_MAX ||
	    strpbrk(version, " \t\r\n:"))
		return die_usage("--version must be 1..64 characters, no "
				 "whitespace or ':'");
	if (parse_addr(listen_addr, (unsigned short)port, &ss, &slen))
		return die_usage("--listen is not an IPv4 or IPv6 address");

	lfd = server_listen(PROG, &ss, slen, listen_addr, &sfd);
	if (lfd < 0)
		return 1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror(PROG ": epoll_create1");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &signal_tag;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (ready && write_file_atomic(ready, "ready\n") < 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", ready,
			strerror(errno));
		return 1;
	}

	while (running) {
		int i, n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror(PROG ": epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			void *p = events[i].data.ptr;

			if (p == &listen_tag) {
				accept_all(lfd);
			} else if (p == &signal_tag) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					running = false;
			} else if (conn_run(p) < 0) {
				conn_free(p);
			}
		}
	}
	close(lfd);
	if (ready)
		unlink(ready);
	return 0;
}
