// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-testsrv: the backend of the end-to-end tests.
 *
 *   veer-testsrv --listen ADDR --port P --version NAME [--ready-file F]
 *
 * For every accepted TCP connection it sends one line "NAME\n" and then
 * echoes every byte it receives until the client half-closes, after which it
 * flushes what is pending and closes. One epoll loop serves all connections;
 * a connection whose peer does not read is back-pressured (the server stops
 * reading from it until its echo buffer drains), so memory stays bounded.
 *
 * The ready file is written (tmp + rename) once the socket listens, and
 * removed again on a clean exit (SIGTERM or SIGINT).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_common.h"

#define PROG "veer-testsrv"
#define VERSION_MAX 64
/* Echo buffer per connection: at 16 KiB the server, not the path under
 * test, capped `make bench` echo streams (scripts/bench-crosscheck.sh). */
#define CONN_BUF 65536
#define MAX_EVENTS 256

struct conn {
	int fd;
	bool rd_eof; /* the client half-closed */
	bool want_out; /* registered for EPOLLOUT (and not EPOLLIN) */
	size_t off; /* first unsent byte of buf */
	size_t len; /* bytes in buf */
	char buf[CONN_BUF];
};

/* epoll data.ptr values for the two non-connection descriptors. */
static char listen_tag, signal_tag;

static int epfd = -1;
static unsigned long nr_conns;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --listen ADDR --port P --version NAME "
		"[--ready-file F]\n"
		"  Accepts TCP connections on ADDR:P (IPv4 or IPv6); sends "
		"\"NAME\\n\" on each,\n"
		"  then echoes every byte until the client closes.\n");
}

static int die_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	usage(stderr);
	return 2;
}

static int parse_port(const char *s, unsigned short *port)
{
	unsigned long long v;

	if (parse_decimal(s, 1, 65535, &v))
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static void conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	nr_conns--;
}

static int conn_set_events(struct conn *c, bool want_out)
{
	struct epoll_event ev = {
		.events = want_out ? EPOLLOUT : EPOLLIN,
		.data.ptr = c,
	};

	if (c->want_out == want_out)
		return 0;
	c->want_out = want_out;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Sends what is buffered. Returns 1 when the buffer is empty, 0 when the
 * socket is full (the caller waits for EPOLLOUT), -1 on error.
 */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->off += (size_t)n;
	}
	c->off = 0;
	c->len = 0;
	return 1;
}

/*
 * Makes progress on one connection: flush, then read and echo until the
 * socket would block. Returns -1 when the connection is finished (closed
 * cleanly or failed) and must be freed.
 */
static int conn_run(struct conn *c)
{
	for (;;) {
		ssize_t n;
		int r = conn_flush(c);

		if (r < 0)
			return -1;
		if (r == 0)
			return conn_set_events(c, true) ? -1 : 0;
		if (c->rd_eof)
			return -1; /* everything echoed: close */
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return conn_set_events(c, false) ? -1 : 0;
			return -1;
		}
		if (n == 0)
			c->rd_eof = true;
		c->len = (size_t)n;
	}
}

static void accept_all(int lfd, const char *line, size_t line_len,
		       int *reserve_fd)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    *reserve_fd >= 0) {
				/* Shed one connection rather than spin. */
				fprintf(stderr,
					PROG ": out of descriptors (%lu "
					     "connections), dropping one\n",
					nr_conns);
				close(*reserve_fd);
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				*reserve_fd =
					open("/dev/null", O_RDONLY | O_CLOEXEC);
				continue;
			}
			if (errno != EAGAIN)
				fprintf(stderr, PROG ": accept: %s\n",
					strerror(errno));
			return;
		}
		/* Not calloc: zeroing the echo buffer of every connection
		 * would cost more than serving a short one. */
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct conn, buf));
		c->fd = fd;
		memcpy(c->buf, line, line_len);
		c->len = line_len;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		nr_conns++;
		if (conn_run(c) < 0)
			conn_close(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"version", required_argument, NULL, 'v'},
		{"ready-file", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *listen_addr = NULL, *version = NULL, *ready = NULL;
	struct epoll_event events[MAX_EVENTS], ev;
	struct sockaddr_storage ss;
	unsigned short port = 0;
	char line[VERSION_MAX + 2];
	int lfd, sfd, reserve_fd, opt;
	size_t line_len;
	socklen_t slen;
	bool running = true;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'p':
			if (parse_port(optarg, &port))
				return die_usage("--port must be 1..65535");
			break;
		case 'v':
			version = optarg;
			break;
		case 'r':
			ready = optarg;
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
	    strpbrk(version, " \t\r\n"))
		return die_usage("--version must be 1..64 characters, no "
				 "whitespace");
	if (parse_addr(listen_addr, port, &ss, &slen))
		return die_usage("--listen is not an IPv4 or IPv6 address");
	line_len = (size_t)snprintf(line, sizeof(line), "%s\n", version);

	lfd = server_listen(PROG, &ss, slen, listen_addr, &sfd);
	if (lfd < 0)
		return 1;
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

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
				accept_all(lfd, line, line_len, &reserve_fd);
			} else if (p == &signal_tag) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					running = false;
			} else if (conn_run(p) < 0) {
				conn_close(p);
			}
		}
	}

	/* Connections still open are closed by exit(). */
	close(lfd);
	if (ready)
		unlink(ready);
	return 0;
}
