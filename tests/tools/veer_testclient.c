// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-testclient: the client of the end-to-end tests. It talks to
 * veer-testsrv, which sends "VERSION\n" on every connection and then echoes.
 *
 *   veer-testclient count  --addr A --port P -n N [-c C] [--timeout-ms T]
 *                          [--expect-peer]
 *   veer-testclient stream --addr A --port P -n N [--ready-file F]
 *                          [--progress-file F] [--duration-ms D]
 *                          [--expect-peer] ...
 *
 * count opens N short connections (at most C at once), reads each one's
 * version line, half-closes and waits for the server's FIN. It prints one
 * "<version> <count>" line per version (sorted by name), then "errors <n>",
 * and exits 0 only if there were no errors. SIGTERM or SIGINT ends it
 * early: no new connection, those under way finish, then the same summary.
 *
 * stream opens N long-lived connections and keeps sending each one a
 * per-connection pseudo-random byte pattern, checking every echoed byte,
 * with a bounded amount in flight. It writes --ready-file once every
 * connection has its version and has verified echoed bytes, rewrites
 * --progress-file periodically, and on SIGUSR2 takes a "mark" so a script
 * can wait until every connection has verified bytes since the mark. On
 * SIGTERM, SIGINT or SIGUSR1 (or after --duration-ms) it stops sending,
 * waits for all outstanding echoes, closes every connection with a FIN and
 * prints a summary; exit 0 only if nothing was reset, corrupted or stuck and
 * every connection verified bytes.
 *
 * --expect-peer (both modes): once a connection is established,
 * getpeername() must report exactly the --addr and --port dialled (what
 * veer's socket-level LB promises: connect() goes to a backend, the
 * application still sees the VIP). A mismatch is an error of kind "peer".
 *
 * --ipv6-options (both modes, IPv6 only): every packet the client sends
 * carries a hop-by-hop and a destination options header (PadN, 8 bytes
 * each) between the IPv6 and the TCP header, as sticky socket options
 * (needs CAP_NET_RAW).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tool_common.h"

#define PROG "veer-testclient"
#define VERSION_MAX 64
#define MAX_VERSIONS 32
#define MAX_EVENTS 256
#define RECV_BUF 65536
#define MAX_CHUNK 65536

/* ---- common ------------------------------------------------------------ */

struct opts {
	const char *addr;
	unsigned int port;
	unsigned long n;
	unsigned long conc;
	unsigned long timeout_ms;
	unsigned long duration_ms;
	unsigned long chunk;
	unsigned long inflight;
	unsigned long interval_ms;
	uint64_t seed;
	bool expect_peer;
	bool ipv6_options;
	const char *ready_file;
	const char *progress_file;
	struct sockaddr_storage ss;
	socklen_t slen;
};

struct version_count {
	char name[VERSION_MAX + 1];
	unsigned long count;
};

static struct version_count versions[MAX_VERSIONS];
static unsigned int nr_versions;

static int epfd = -1;
static unsigned char rbuf[RECV_BUF];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " count  --addr ADDR --port P -n N [-c CONC] "
		"[--timeout-ms T]\n"
		"                      [--expect-peer]\n"
		"       " PROG " stream --addr ADDR --port P -n N "
		"[--ready-file F] [--progress-file F]\n"
		"                      [--duration-ms D] [--timeout-ms T] "
		"[--chunk B] [--inflight B]\n"
		"                      [--interval-ms I] [--seed S] "
		"[--expect-peer]\n"
		"       (both: [--ipv6-options])\n"
		"\n"
		"count:  N short connections, at most CONC (default 32) at "
		"once, each\n"
		"        with a deadline of T ms (default 5000). Prints "
		"\"<version> <count>\"\n"
		"        lines sorted by version, then \"errors <n>\"; exit 0 "
		"iff no errors.\n"
		"        SIGTERM/SIGINT: starts no more, finishes those under "
		"way, prints.\n"
		"stream: N long-lived echo-verified connections. Each sends up "
		"to B bytes\n"
		"        (--chunk, default 1024) every I ms (default 10) with "
		"at most\n"
		"        --inflight bytes (default 16384) unechoed. "
		"SIGUSR2 takes a mark;\n"
		"        SIGTERM/SIGINT/SIGUSR1 or --duration-ms stop, drain "
		"and summarise.\n"
		"        T (default 10000) bounds connection setup and the "
		"final drain.\n"
		"--expect-peer: getpeername() of every established "
		"connection must be\n"
		"        ADDR:P, else it is an error of kind \"peer\".\n"
		"--ipv6-options: send every packet with a hop-by-hop and a "
		"destination\n"
		"        options header (IPv6 only; needs CAP_NET_RAW).\n"
		"ADDR is IPv4 or IPv6 (\"fd00::10\" or \"[fd00::10]\").\n"
		"Exit status: 0 success, 1 test failure, 2 usage error.\n");
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return 2;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	unsigned long long v;

	if (parse_decimal(s, min, max, &v))
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* Index of a version name, added if new; -1 when the table is full. */
static int version_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_versions; i++)
		if (!strcmp(versions[i].name, name))
			return (int)i;
	if (nr_versions == MAX_VERSIONS)
		return -1;
	snprintf(versions[nr_versions].name, sizeof(versions[0].name), "%s",
		 name);
	versions[nr_versions].count = 0;
	return (int)nr_versions++;
}

static int version_cmp(const void *a, const void *b)
{
	const struct version_count *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* A version line is 1..VERSION_MAX printable non-blank characters. */
static bool version_valid(const char *s, size_t len)
{
	size_t i;

	if (!len || len > VERSION_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Hop-by-hop or destination options header: next header (filled in by
 * the kernel), length 0 (8 bytes), one PadN option over the other 6. */
static const unsigned char ipv6_padn_opts[8] = {0, 0, 1, 4, 0, 0, 0, 0};

/* Non-blocking connect; returns the fd or -errno. *done is set if the
 * connection completed at once.
 */
static int start_connect(const struct opts *o, bool *done)
{
	int fd = socket(o->ss.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (o->ipv6_options &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_HOPOPTS, ipv6_padn_opts,
			sizeof(ipv6_padn_opts)) ||
	     setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, ipv6_padn_opts,
			sizeof(ipv6_padn_opts)))) {
		err = errno;
		close(fd);
		return -err;
	}
	*done = false;
	if (connect(fd, (const struct sockaddr *)&o->ss, o->slen) == 0) {
		*done = true;
		return fd;
	}
	if (errno == EINPROGRESS)
		return fd;
	err = errno;
	close(fd);
	return -err;
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static int epoll_set(int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};

	return epoll_ctl(epfd, op, fd, &ev);
}

/* ---- errors ------------------------------------------------------------- */

enum err_kind {
	ERR_REFUSED,
	ERR_RESET,
	ERR_TIMEOUT,
	ERR_UNREACH,
	ERR_EOF, /* the server closed too early */
	ERR_PROTO, /* bad version line or unexpected data */
	ERR_PEER, /* getpeername() is not the address dialled */
	ERR_OTHER,
	ERR_KINDS,
};

static const char *const err_names[ERR_KINDS] = {
	"refused", "reset",    "timeout", "unreachable",
	"eof",	   "protocol", "peer",	  "other",
};

static unsigned long errs[ERR_KINDS];

static enum err_kind classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return ERR_REFUSED;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return ERR_RESET;
	case ETIMEDOUT:
		return ERR_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EADDRNOTAVAIL:
		return ERR_UNREACH;
	default:
		return ERR_OTHER;
	}
}

static unsigned long total_errors(void)
{
	return errors_total(errs, ERR_KINDS);
}

static void print_error_detail(void)
{
	errors_print(PROG, errs, err_names, ERR_KINDS);
}

/* "10.0.0.1:80" or "[fd00::1]:80"; "?" for another family. */
static void format_sockaddr(const struct sockaddr_storage *ss, char *buf,
			    size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)))
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)))
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "? (family %u)", ss->ss_family);
}

/*
 * With --expect-peer: whether the established connection fd reports the
 * address and port dialled as its peer. Returns -1 if it does (or the
 * check is off), else the error kind, with what went wrong in why: ERR_PEER
 * for another address, the class of getpeername()'s errno if it fails
 * (ENOTCONN: reset meanwhile).
 */
static int check_peer(const struct opts *o, int fd, char *why, size_t wlen)
{
	const struct sockaddr_in *want4 = (const struct sockaddr_in *)&o->ss;
	const struct sockaddr_in6 *want6 = (const struct sockaddr_in6 *)&o->ss;
	struct sockaddr_storage got;
	const struct sockaddr_in *got4 = (const struct sockaddr_in *)&got;
	const struct sockaddr_in6 *got6 = (const struct sockaddr_in6 *)&got;
	socklen_t len = sizeof(got);
	char gbuf[INET6_ADDRSTRLEN + 16], wbuf[INET6_ADDRSTRLEN + 16];
	bool same;

	if (!o->expect_peer)
		return -1;
	memset(&got, 0, sizeof(got));
	if (getpeername(fd, (struct sockaddr *)&got, &len) < 0) {
		snprintf(why, wlen, "getpeername(): %s", strerror(errno));
		return errno == ENOTCONN ? ERR_RESET : (int)classify(errno);
	}
	if (got.ss_family != o->ss.ss_family)
		same = false;
	else if (got.ss_family == AF_INET)
		same = got4->sin_port == want4->sin_port &&
		       got4->sin_addr.s_addr == want4->sin_addr.s_addr;
	else
		same = got.ss_family == AF_INET6 &&
		       got6->sin6_port == want6->sin6_port &&
		       !memcmp(&got6->sin6_addr, &want6->sin6_addr,
			       sizeof(got6->sin6_addr));
	if (same)
		return -1;
	format_sockaddr(&got, gbuf, sizeof(gbuf));
	format_sockaddr(&o->ss, wbuf, sizeof(wbuf));
	snprintf(why, wlen, "getpeername() is %s, dialled %s", gbuf, wbuf);
	return ERR_PEER;
}

/* ---- count -------------------------------------------------------------- */

static unsigned int peer_reports;

enum cphase { C_FREE, C_CONNECTING, C_LINE, C_DRAIN };

struct cslot {
	int fd;
	enum cphase phase;
	int version;
	size_t llen;
	uint64_t deadline;
	char line[VERSION_MAX + 1];
};

static void cslot_end(struct cslot *s, int err_kind, unsigned long *active,
		      unsigned long *done)
{
	if (err_kind >= 0)
		errs[err_kind]++;
	else
		versions[s->version].count++;
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->phase = C_FREE;
	(*active)--;
	(*done)++;
}

/* -1 (go on) for a recv() that would block, else the error kind. */
static int recv_failure(int err)
{
	if (err == EAGAIN || err == EINTR)
		return -1;
	return (int)classify(err);
}

/*
 * Advances one connection. Returns -1 while it goes on, otherwise the error
 * kind it ended with, or -2 for success.
 */
static int cslot_step(const struct opts *o, struct cslot *s, unsigned long idx)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (s->phase == C_CONNECTING) {
			int err = sock_error(s->fd);
			char why[160];

			if (err)
				return classify(err);
			err = check_peer(o, s->fd, why, sizeof(why));
			if (err >= 0) {
				/* The first few are enough to see why. */
				if (peer_reports++ < 5)
					fprintf(stderr, PROG ": %s\n", why);
				return err;
			}
			s->phase = C_LINE;
			if (epoll_set(EPOLL_CTL_MOD, s->fd, EPOLLIN, idx))
				return ERR_OTHER;
			continue;
		}
		if (s->phase == C_LINE) {
			n = recv(s->fd, s->line + s->llen,
				 sizeof(s->line) - 1 - s->llen, 0);
			if (n < 0)
				return recv_failure(errno);
			if (n == 0)
				return ERR_EOF;
			s->llen += (size_t)n;
			s->line[s->llen] = '\0';
			nl = memchr(s->line, '\n', s->llen);
			if (!nl) {
				if (s->llen == sizeof(s->line) - 1)
					return ERR_PROTO;
				continue;
			}
			/* Nothing was sent, so nothing may follow the line. */
			if (nl != s->line + s->llen - 1 ||
			    !version_valid(s->line, s->llen - 1))
				return ERR_PROTO;
			*nl = '\0';
			s->version = version_index(s->line);
			if (s->version < 0)
				return ERR_PROTO;
			if (shutdown(s->fd, SHUT_WR) < 0)
				return classify(errno);
			s->phase = C_DRAIN;
			continue;
		}
		/* C_DRAIN: wait for the server's FIN. */
		n = recv(s->fd, rbuf, sizeof(rbuf), 0);
		if (n < 0)
			return recv_failure(errno);
		if (n > 0)
			return ERR_PROTO;
		return -2;
	}
}

/* count: SIGTERM or SIGINT asks for the summary of what was started. */
static volatile sig_atomic_t count_stop;

static void count_stop_handler(int sig)
{
	(void)sig;
	count_stop = 1;
}

static int run_count(struct opts *o)
{
	struct epoll_event events[MAX_EVENTS];
	unsigned long started = 0, active = 0, done = 0, i;
	struct sigaction sa = {.sa_handler = count_stop_handler};
	struct cslot *slots;

	/* No SA_RESTART: epoll_wait returns at once (EINTR). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	slots = calloc(o->conc, sizeof(*slots));
	if (!slots) {
		perror(PROG);
		return 1;
	}
	for (i = 0; i < o->conc; i++)
		slots[i].fd = -1;

	while (done < o->n) {
		uint64_t now, next;
		int n, k, timeout;

		/* Stopped: what is under way finishes (or times out). */
		if (count_stop)
			o->n = started;

		/* Fill free slots. */
		for (i = 0; i < o->conc && started < o->n; i++) {
			struct cslot *s = &slots[i];
			bool at_once;
			int fd, r;

			if (s->phase != C_FREE)
				continue;
			started++;
			fd = start_connect(o, &at_once);
			if (fd < 0) {
				errs[classify(-fd)]++;
				done++;
				continue;
			}
			memset(s, 0, sizeof(*s));
			s->fd = fd;
			s->phase = C_CONNECTING;
			s->deadline = now_ms() + o->timeout_ms;
			active++;
			if (epoll_set(EPOLL_CTL_ADD, fd, EPOLLOUT, i)) {
				cslot_end(s, ERR_OTHER, &active, &done);
				continue;
			}
			if (at_once) {
				r = cslot_step(o, s, i);
				if (r != -1)
					cslot_end(s, r == -2 ? -1 : r, &active,
						  &done);
			}
		}
		if (!active)
			continue;

		now = now_ms();
		next = UINT64_MAX;
		for (i = 0; i < o->conc; i++)
			if (slots[i].phase != C_FREE &&
			    slots[i].deadline < next)
				next = slots[i].deadline;
		timeout = next <= now ? 0 : (int)(next - now);

		n = epoll_wait(epfd, events, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			perror(PROG ": epoll_wait");
			return 1;
		}
		for (k = 0; k < n; k++) {
			unsigned long idx = events[k].data.u64;
			struct cslot *s = &slots[idx];
			int r;

			if (s->phase == C_FREE)
				continue;
			r = cslot_step(o, s, idx);
			if (r != -1)
				cslot_end(s, r == -2 ? -1 : r, &active, &done);
		}
		now = now_ms();
		for (i = 0; i < o->conc; i++)
			if (slots[i].phase != C_FREE &&
			    slots[i].deadline <= now)
				cslot_end(&slots[i], ERR_TIMEOUT, &active,
					  &done);
	}
	free(slots);

	qsort(versions, nr_versions, sizeof(versions[0]), version_cmp);
	for (i = 0; i < nr_versions; i++)
		printf("%s %lu\n", versions[i].name, versions[i].count);
	printf("errors %lu\n", total_errors());
	fflush(stdout);
	print_error_detail();
	return total_errors() ? 1 : 0;
}

/* ---- stream ------------------------------------------------------------- */

/*
 * The byte a connection sends at stream offset i: 8 bytes per splitmix64
 * output, so both directions can be checked from the offset alone.
 */
static uint64_t splitmix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pattern_fill(uint64_t seed, uint64_t off, unsigned char *buf,
			 size_t len)
{
	uint64_t word = 0, block = UINT64_MAX;
	size_t i;

	for (i = 0; i < len; i++, off++) {
		if (off >> 3 != block) {
			block = off >> 3;
			word = splitmix64(seed ^
					  (block * 0xd1342543de82ef95ULL));
		}
		buf[i] = (unsigned char)(word >> ((off & 7) * 8));
	}
}

enum sphase {
	S_CONNECTING,
	S_RUNNING,
	S_DRAINING, /* SHUT_WR sent, waiting for the server's FIN */
	S_DONE,
	S_FAILED,
};

struct sconn {
	int fd;
	enum sphase phase;
	bool have_line;
	bool diverged; /* a corrupt byte was seen */
	int version;
	size_t llen;
	uint64_t seed;
	uint64_t sent; /* bytes written */
	uint64_t received; /* echoed bytes received (after the line) */
	uint64_t ok; /* received bytes that matched */
	uint64_t corrupt;
	uint64_t mark_ok; /* ok at the last mark */
	char line[VERSION_MAX + 1];
};

struct stream {
	struct opts *o;
	struct sconn *c;
	unsigned long resets;
	/* Of the errors: streams whose echo was complete and verified but
	 * whose server never closed (its FIN, or ours, lost at the end). */
	unsigned long closes_lost;
	unsigned long version_changes;
	unsigned long mark;
	bool ready;
	bool stopping;
	bool dirty; /* progress changed since last written */
	uint64_t stop_deadline;
	unsigned char *chunk;
	unsigned int failures_reported;
};

static void sconn_fail(struct stream *st, struct sconn *c, int kind,
		       const char *why)
{
	unsigned long idx = (unsigned long)(c - st->c);

	if (kind == ERR_RESET)
		st->resets++;
	else
		errs[kind]++;
	if (st->failures_reported++ < 10)
		fprintf(stderr,
			PROG ": connection %lu (%s, %" PRIu64
			     " bytes verified): %s\n",
			idx, c->have_line ? versions[c->version].name : "-",
			c->ok, why);
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->phase = S_FAILED;
	st->dirty = true;
}

static void sconn_fail_errno(struct stream *st, struct sconn *c, int err)
{
	sconn_fail(st, c, classify(err), strerror(err));
}

/*
 * Whether buf starts with "NAME\n" for a plausible version NAME: the only
 * way a greeting can appear mid-stream is a connection that moved to
 * another backend.
 */
static bool looks_like_greeting(const unsigned char *buf, size_t len)
{
	const unsigned char *nl = memchr(buf, '\n', len);

	return nl && version_valid((const char *)buf, (size_t)(nl - buf));
}

/* Verifies echoed bytes; buf holds the bytes after the version line. */
static void sconn_verify(struct stream *st, struct sconn *c,
			 const unsigned char *buf, size_t len)
{
	unsigned char expect[4096];
	size_t done = 0;

	while (done < len) {
		size_t n = len - done, i;
		uint64_t valid;

		if (n > sizeof(expect))
			n = sizeof(expect);
		pattern_fill(c->seed, c->received, expect, n);
		/* Bytes past what was sent can never be right. */
		valid = c->sent > c->received ? c->sent - c->received : 0;
		for (i = 0; i < n; i++) {
			if (i < valid && buf[done + i] == expect[i]) {
				c->ok++;
				continue;
			}
			c->corrupt++;
			if (!c->diverged) {
				c->diverged = true;
				/* Did another backend's greeting turn up? */
				if (looks_like_greeting(buf + done + i,
							len - done - i))
					st->version_changes++;
				fprintf(stderr,
					PROG ": connection %ld: corrupt "
					     "echo at offset %" PRIu64 "\n",
					(long)(c - st->c), c->received + i);
			}
		}
		c->received += n;
		done += n;
	}
	st->dirty = true;
}

static void sconn_maybe_shutdown(struct stream *st, struct sconn *c)
{
	if (!st->stopping || c->phase != S_RUNNING || !c->have_line ||
	    c->received < c->sent)
		return;
	if (shutdown(c->fd, SHUT_WR) < 0) {
		sconn_fail_errno(st, c, errno);
		return;
	}
	c->phase = S_DRAINING;
}

static void sconn_readable(struct stream *st, struct sconn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, rbuf, sizeof(rbuf), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				sconn_fail_errno(st, c, errno);
			break;
		}
		if (n == 0) {
			if (c->phase == S_DRAINING && c->received == c->sent) {
				epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				c->phase = S_DONE;
			} else {
				sconn_fail(st, c, ERR_EOF,
					   "server closed the connection");
			}
			st->dirty = true;
			break;
		}
		if (!c->have_line) {
			unsigned char *nl;
			size_t take;

			nl = memchr(rbuf, '\n', (size_t)n);
			take = nl ? (size_t)(nl - rbuf) : (size_t)n;
			if (c->llen + take > VERSION_MAX) {
				sconn_fail(st, c, ERR_PROTO,
					   "version line too long");
				break;
			}
			memcpy(c->line + c->llen, rbuf, take);
			c->llen += take;
			if (!nl)
				continue;
			c->line[c->llen] = '\0';
			if (!version_valid(c->line, c->llen) ||
			    (c->version = version_index(c->line)) < 0) {
				sconn_fail(st, c, ERR_PROTO,
					   "bad version line");
				break;
			}
			versions[c->version].count++;
			c->have_line = true;
			off = take + 1;
		}
		if ((size_t)n > off)
			sconn_verify(st, c, rbuf + off, (size_t)n - off);
	}
	if (c->phase == S_RUNNING)
		sconn_maybe_shutdown(st, c);
}

static void sconn_send(struct stream *st, struct sconn *c)
{
	const struct opts *o = st->o;
	uint64_t unechoed = c->sent - c->received;
	size_t len;
	ssize_t n;

	if (c->phase != S_RUNNING || st->stopping || unechoed >= o->inflight)
		return;
	len = o->chunk;
	if (len > o->inflight - unechoed)
		len = o->inflight - unechoed;
	pattern_fill(c->seed, c->sent, st->chunk, len);
	n = send(c->fd, st->chunk, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			sconn_fail_errno(st, c, errno);
		return;
	}
	c->sent += (uint64_t)n;
}

static void sconn_connected(struct stream *st, struct sconn *c)
{
	int err = sock_error(c->fd), kind;
	char why[160];

	if (err) {
		sconn_fail_errno(st, c, err);
		return;
	}
	kind = check_peer(st->o, c->fd, why, sizeof(why));
	if (kind >= 0) {
		sconn_fail(st, c, kind, why);
		return;
	}
	c->phase = S_RUNNING;
	if (epoll_set(EPOLL_CTL_MOD, c->fd, EPOLLIN, (uint64_t)(c - st->c))) {
		sconn_fail_errno(st, c, errno);
		return;
	}
	sconn_send(st, c);
}

struct stream_totals {
	unsigned long alive, ready, progressed, failed;
	uint64_t ok, corrupt;
};

static void stream_totals(const struct stream *st, struct stream_totals *t)
{
	unsigned long i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < st->o->n; i++) {
		const struct sconn *c = &st->c[i];

		t->ok += c->ok;
		t->corrupt += c->corrupt;
		if (c->phase == S_FAILED) {
			t->failed++;
			continue;
		}
		if (c->phase != S_CONNECTING)
			t->alive++;
		if (c->have_line && c->ok > 0)
			t->ready++;
		if (c->ok > c->mark_ok)
			t->progressed++;
	}
}

static void stream_write_progress(struct stream *st)
{
	struct stream_totals t;
	char text[512];

	if (!st->o->progress_file)
		return;
	stream_totals(st, &t);
	snprintf(text, sizeof(text),
		 "mark %lu\nconnections %lu\nalive %lu\nready %d\n"
		 "bytes_verified %" PRIu64 "\nprogressed_since_mark %lu\n"
		 "resets %lu\ncorrupt_bytes %" PRIu64 "\nerrors %lu\n",
		 st->mark, st->o->n, t.alive, st->ready ? 1 : 0, t.ok,
		 t.progressed, st->resets, t.corrupt, total_errors());
	if (write_file_atomic(st->o->progress_file, text) < 0)
		fprintf(stderr, PROG ": cannot write %s: %s\n",
			st->o->progress_file, strerror(errno));
	st->dirty = false;
}

static void stream_start_stop(struct stream *st)
{
	unsigned long i;

	if (st->stopping)
		return;
	st->stopping = true;
	st->stop_deadline = now_ms() + st->o->timeout_ms;
	for (i = 0; i < st->o->n; i++) {
		struct sconn *c = &st->c[i];

		/* Not yet connected: nothing to verify, so it is a failure. */
		if (c->phase == S_CONNECTING)
			sconn_fail(st, c, ERR_TIMEOUT,
				   "still connecting at stop");
		else
			sconn_maybe_shutdown(st, c);
	}
}

static bool stream_finished(const struct stream *st)
{
	unsigned long i;

	for (i = 0; i < st->o->n; i++)
		if (st->c[i].phase != S_DONE && st->c[i].phase != S_FAILED)
			return false;
	return true;
}

static int run_stream(struct opts *o)
{
	struct itimerspec its = {0};
	struct epoll_event events[MAX_EVENTS];
	struct stream st = {.o = o};
	uint64_t start = now_ms(), setup_deadline = start + o->timeout_ms;
	unsigned long i, no_verify = 0;
	uint64_t last_progress = 0;
	const uint64_t tag_signal = UINT64_MAX, tag_timer = UINT64_MAX - 1;
	int sfd, tfd;
	sigset_t mask;
	int ok;

	st.c = calloc(o->n, sizeof(*st.c));
	st.chunk = malloc(o->chunk);
	if (!st.c || !st.chunk) {
		perror(PROG);
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0) {
		perror(PROG ": signalfd/timerfd");
		return 1;
	}
	its.it_interval.tv_sec = (time_t)(o->interval_ms / 1000);
	its.it_interval.tv_nsec = (long)(o->interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(tfd, 0, &its, NULL);
	epoll_set(EPOLL_CTL_ADD, sfd, EPOLLIN, tag_signal);
	epoll_set(EPOLL_CTL_ADD, tfd, EPOLLIN, tag_timer);

	for (i = 0; i < o->n; i++) {
		struct sconn *c = &st.c[i];
		bool at_once;
		int fd;

		c->seed = splitmix64(o->seed * 0x100000001b3ULL + i);
		c->fd = -1;
		c->phase = S_CONNECTING;
		fd = start_connect(o, &at_once);
		if (fd < 0) {
			sconn_fail_errno(&st, c, -fd);
			continue;
		}
		c->fd = fd;
		if (epoll_set(EPOLL_CTL_ADD, fd, EPOLLOUT, i)) {
			sconn_fail_errno(&st, c, errno);
			continue;
		}
		if (at_once)
			sconn_connected(&st, c);
	}
	stream_write_progress(&st);

	while (!stream_finished(&st)) {
		uint64_t now;
		int n, k;

		n = epoll_wait(epfd, events, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			perror(PROG ": epoll_wait");
			return 1;
		}
		for (k = 0; k < n; k++) {
			uint64_t tag = events[k].data.u64;
			struct sconn *c;

			if (tag == tag_signal) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo != SIGUSR2) {
						stream_start_stop(&st);
						continue;
					}
					st.mark++;
					for (i = 0; i < o->n; i++)
						st.c[i].mark_ok = st.c[i].ok;
					st.dirty = true;
					stream_write_progress(&st);
				}
				continue;
			}
			if (tag == tag_timer) {
				uint64_t expirations;

				if (read(tfd, &expirations,
					 sizeof(expirations)) < 0)
					continue;
				for (i = 0; i < o->n; i++)
					sconn_send(&st, &st.c[i]);
				continue;
			}
			c = &st.c[tag];
			if (c->phase == S_CONNECTING)
				sconn_connected(&st, c);
			else if (c->phase == S_RUNNING ||
				 c->phase == S_DRAINING)
				sconn_readable(&st, c);
		}

		now = now_ms();
		if (!st.ready && !st.stopping) {
			struct stream_totals t;

			stream_totals(&st, &t);
			if (t.ready == o->n) {
				st.ready = true;
				st.dirty = true;
				if (o->ready_file &&
				    write_file_atomic(o->ready_file,
						      "ready\n") < 0) {
					fprintf(stderr,
						PROG ": cannot write %s: %s\n",
						o->ready_file, strerror(errno));
					stream_start_stop(&st);
				}
			} else if (now >= setup_deadline || t.failed) {
				fprintf(stderr,
					PROG ": only %lu of %lu connections "
					     "ready after %" PRIu64 " ms\n",
					t.ready, o->n, now - start);
				stream_start_stop(&st);
			}
		}
		if (o->duration_ms && !st.stopping &&
		    now - start >= o->duration_ms)
			stream_start_stop(&st);
		if (st.stopping && now >= st.stop_deadline) {
			for (i = 0; i < o->n; i++) {
				struct sconn *c = &st.c[i];

				if (c->phase == S_DRAINING &&
				    c->received == c->sent)
					st.closes_lost++;
				if (c->phase != S_DONE && c->phase != S_FAILED)
					sconn_fail(&st, c, ERR_TIMEOUT,
						   c->phase == S_DRAINING
							   ? "no FIN from the "
							     "server"
							   : "echo incomplete "
							     "at stop");
			}
		}
		if (st.dirty && now - last_progress >= 50) {
			stream_write_progress(&st);
			last_progress = now;
		}
	}
	stream_write_progress(&st);

	for (i = 0; i < o->n; i++)
		if (!st.c[i].ok)
			no_verify++;
	{
		struct stream_totals t;

		stream_totals(&st, &t);
		printf("connections %lu\nresets %lu\ncorrupt_bytes %" PRIu64
		       "\nbytes_verified %" PRIu64 "\nversion_changes %lu\n"
		       "errors %lu\nunverified_connections %lu\n"
		       "closes_lost %lu\n",
		       o->n, st.resets, t.corrupt, t.ok, st.version_changes,
		       total_errors(), no_verify, st.closes_lost);
		qsort(versions, nr_versions, sizeof(versions[0]), version_cmp);
		for (i = 0; i < nr_versions; i++)
			printf("version %s %lu\n", versions[i].name,
			       versions[i].count);
		fflush(stdout);
		print_error_detail();
		ok = !st.resets && !t.corrupt && !total_errors() &&
		     !no_verify && !st.version_changes;
	}
	free(st.c);
	free(st.chunk);
	return ok ? 0 : 1;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	enum {
		O_ADDR = 256,
		O_PORT,
		O_TIMEOUT,
		O_DURATION,
		O_READY,
		O_PROGRESS,
		O_CHUNK,
		O_INFLIGHT,
		O_INTERVAL,
		O_SEED,
		O_EXPECT_PEER,
		O_IPV6_OPTIONS,
	};
	static const struct option lopts[] = {
		{"addr", required_argument, NULL, O_ADDR},
		{"port", required_argument, NULL, O_PORT},
		{"timeout-ms", required_argument, NULL, O_TIMEOUT},
		{"duration-ms", required_argument, NULL, O_DURATION},
		{"ready-file", required_argument, NULL, O_READY},
		{"progress-file", required_argument, NULL, O_PROGRESS},
		{"chunk", required_argument, NULL, O_CHUNK},
		{"inflight", required_argument, NULL, O_INFLIGHT},
		{"interval-ms", required_argument, NULL, O_INTERVAL},
		{"seed", required_argument, NULL, O_SEED},
		{"expect-peer", no_argument, NULL, O_EXPECT_PEER},
		{"ipv6-options", no_argument, NULL, O_IPV6_OPTIONS},
		{"concurrency", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {
		.conc = 32,
		.chunk = 1024,
		.inflight = 16384,
		.interval_ms = 10,
		.seed = 1,
	};
	unsigned long port = 0, seed;
	bool stream, timeout_set = false;
	const char *mode;
	int opt;

	if (argc < 2)
		return usage_error("missing subcommand (count or stream)");
	mode = argv[1];
	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(mode, "count") && strcmp(mode, "stream"))
		return usage_error("unknown subcommand '%s'", mode);
	stream = !strcmp(mode, "stream");

	optind = 2;
	while ((opt = getopt_long(argc, argv, "n:c:h", lopts, NULL)) != -1) {
		switch (opt) {
		case O_ADDR:
			o.addr = optarg;
			break;
		case O_PORT:
			if (parse_ulong(optarg, 1, 65535, &port))
				return usage_error("--port '%s': must be "
						   "1..65535",
						   optarg);
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 10000000, &o.n))
				return usage_error("-n '%s': must be "
						   "1..10000000",
						   optarg);
			break;
		case 'c':
			if (parse_ulong(optarg, 1, 100000, &o.conc))
				return usage_error("-c '%s': must be "
						   "1..100000",
						   optarg);
			break;
		case O_TIMEOUT:
			if (parse_ulong(optarg, 1, 3600000, &o.timeout_ms))
				return usage_error("--timeout-ms '%s': must "
						   "be 1..3600000",
						   optarg);
			timeout_set = true;
			break;
		case O_DURATION:
			if (parse_ulong(optarg, 1, 86400000, &o.duration_ms))
				return usage_error("--duration-ms '%s': must "
						   "be 1..86400000",
						   optarg);
			break;
		case O_READY:
			o.ready_file = optarg;
			break;
		case O_PROGRESS:
			o.progress_file = optarg;
			break;
		case O_CHUNK:
			if (parse_ulong(optarg, 1, MAX_CHUNK, &o.chunk))
				return usage_error("--chunk '%s': must be "
						   "1..65536",
						   optarg);
			break;
		case O_INFLIGHT:
			if (parse_ulong(optarg, 1, 1UL << 24, &o.inflight))
				return usage_error("--inflight '%s': must be "
						   "1..16777216",
						   optarg);
			break;
		case O_INTERVAL:
			if (parse_ulong(optarg, 1, 60000, &o.interval_ms))
				return usage_error("--interval-ms '%s': must "
						   "be 1..60000",
						   optarg);
			break;
		case O_SEED:
			if (parse_ulong(optarg, 0, ULONG_MAX, &seed))
				return usage_error("--seed '%s': not a "
						   "number",
						   optarg);
			o.seed = seed;
			break;
		case O_EXPECT_PEER:
			o.expect_peer = true;
			break;
		case O_IPV6_OPTIONS:
			o.ipv6_options = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.addr)
		return usage_error("--addr is required");
	if (!port)
		return usage_error("--port is required");
	if (!o.n)
		return usage_error("-n is required");
	if (!stream && (o.ready_file || o.progress_file || o.duration_ms))
		return usage_error("--ready-file, --progress-file and "
				   "--duration-ms are for stream");
	o.port = (unsigned int)port;
	if (parse_addr(o.addr, o.port, &o.ss, &o.slen))
		return usage_error("--addr '%s': not an IPv4 or IPv6 address",
				   o.addr);
	if (o.ipv6_options && o.ss.ss_family != AF_INET6)
		return usage_error("--ipv6-options needs an IPv6 --addr");
	if (!timeout_set)
		o.timeout_ms = stream ? 10000 : 5000;

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror(PROG ": epoll_create1");
		return 1;
	}
	return stream ? run_stream(&o) : run_count(&o);
}
