// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-loadgen: a load generator for benchmarking veer against
 * veer-testsrv backends (which send "<version>\n" on every connection and
 * then echo every byte until the client half-closes).
 *
 *   veer-loadgen conn --addr A [--addr B ... --weights WA,WB,...] --port P
 *                --duration-ms D --concurrency C
 *                [--request-bytes N] [--grace-ms G] [--json]
 *   veer-loadgen stream --addr A --port P --duration-ms D --concurrency C
 *                [--chunk-bytes N] [--grace-ms G] [--json]
 *   veer-loadgen http --addr A --port P --duration-ms D --concurrency C
 *                [--path PATH] [--header "Name: value"]... [--keepalive N]
 *                [--version-header NAME] [--grace-ms G] [--json]
 *
 * conn: C slots, each repeatedly connects, sends N bytes, reads the version
 * line and the N echoed bytes (checked against the pattern sent), and
 * closes. Latency runs from the connect() call to the last reply byte.
 *
 * http: like conn against any HTTP server (to cross-check conn against a
 * real tool such as wrk on the same server): each connection sends
 * "GET PATH HTTP/1.0" with "Connection: close" and reads the response until
 * the server closes. It counts when the status line starts with "HTTP/1."
 * and says 200 (else "bad_status"); latency runs from connect() to the EOF;
 * "versions" counts the status lines (e.g. "HTTP/1.1 200 OK"). The server
 * closes first here, so TIME_WAIT is on its side, as with wrk.
 * --header adds a request header (up to 8; the header-routing benchmark's
 * "User-Agent: debug"); --version-header NAME counts a response header's
 * value instead of the status line (veer-httpsrv's X-Veer-Version: which
 * backend answered).
 *
 * http --keepalive N: HTTP/1.1 keep-alive instead, N requests per
 * connection (0: as many as fit before the deadline), each sent when the
 * previous response (framed by its Content-Length) is complete; the client
 * closes after the last. conn/s counts finished connections, req/s
 * responses; latency is per request (from connect() for a connection's
 * first request, from its send for the others), and first_p50_us /
 * first_p99_us are those of first responses alone (connect() to the last
 * byte of the first response: what a new client waits for; in both http
 * modes), connect_p50_us / connect_p99_us those of the handshake alone
 * (connect() until the socket is writable). The response
 * bodies' rate is body_gbit_per_s (a bulk transfer: --path "/?size=N").
 *
 * --addr may be given up to 8 times, with --weights W1,W2,... (default
 * equal): each new connection goes to the next address of a smooth
 * weighted round robin, so the client itself splits exactly (the benchmark's
 * "direct" baseline: the split with no middle box).
 *
 * stream: C long connections, each sending a continuous pattern in chunks
 * with at most 4 chunks unechoed, reading the echo back; reports the echoed
 * payload rate.
 *
 * One thread, one epoll, non-blocking sockets; epoll_wait always sleeps
 * until the next event, backoff expiry or deadline. The first 10% of the
 * duration is warm-up: rates and percentiles are given for the window after
 * it, and for the whole run. At the deadline no new connection starts;
 * connections in flight get --grace-ms (default 1000) to finish (counted as
 * "late", not in rates or percentiles), then are abandoned (closed, counted).
 *
 * Closing: the client closes first with a plain close() once it has read
 * everything, so a FIN (never an RST: SO_LINGER {1,0} would upset stateful
 * middleboxes and skew what is measured) is sent and the client side holds
 * TIME_WAIT. At thousands of conn/s for 10 s from one client address this
 * relies on net.ipv4.tcp_tw_reuse (1, or 2 = loopback only) and a wide
 * net.ipv4.ip_local_port_range; port exhaustion shows up as
 * "addr_unavailable" errors, after which the slot backs off 10 ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tools/tool_common.h"

#define PROG "veer-loadgen"
#define VERSION_MAX 128
#define MAX_VERSIONS 64
#define MAX_EVENTS 256
#define PATTERN_PERIOD 251
#define SCRATCH_BYTES 65536
#ifndef SAMPLES_MAX
#define SAMPLES_MAX 10000000UL /* -DSAMPLES_MAX=N to test the reservoir */
#endif
#define BACKOFF_NS 10000000ULL
#define INFLIGHT_CHUNKS 4

enum mode { MODE_CONN, MODE_STREAM, MODE_HTTP };

static const char *const mode_names[] = {"conn", "stream", "http"};

enum err_kind {
	ERR_REFUSED,
	ERR_RESET,
	ERR_TIMEOUT,
	ERR_UNREACH,
	ERR_ADDR_UNAVAIL,
	ERR_NO_FDS,
	ERR_EARLY_EOF,
	ERR_BAD_VERSION,
	ERR_BAD_ECHO,
	ERR_BAD_STATUS,
	ERR_OTHER,
	NR_ERR_KINDS
};

static const char *const err_names[NR_ERR_KINDS] = {
	"refused",	    "reset",	  "timeout",   "unreachable",
	"addr_unavailable", "no_fds",	  "early_eof", "bad_version",
	"bad_echo",	    "bad_status", "other",
};

enum slot_state { S_IDLE, S_CONNECTING, S_ACTIVE, S_BACKOFF };

struct slot {
	int fd;
	enum slot_state state;
	uint32_t events; /* registered epoll events */
	bool have_line; /* the version (http: status) line is complete */
	bool wr_shut; /* stream: SHUT_WR sent at the deadline */
	int ver; /* index into versions[] once have_line */
	uint64_t t_start; /* ns, just before connect() */
	uint64_t sent; /* payload bytes sent */
	uint64_t rcvd; /* payload bytes echoed back (http: after the line) */
	uint64_t resume_at; /* S_BACKOFF: ns */
	/* http: the response being read. */
	uint64_t t_req; /* ns, when its request started */
	uint64_t reqs; /* responses complete on this connection */
	uint64_t body_left; /* keep-alive: body bytes still to come */
	bool in_body; /* its head is complete */
	size_t hdr_len; /* head bytes in its head buffer */
	size_t line_len;
	char line[VERSION_MAX];
};

struct reservoir {
	uint32_t *v;
	size_t len, cap;
	uint64_t seen;
	uint32_t max;
};

static struct {
	char name[VERSION_MAX];
	uint64_t count;
} versions[MAX_VERSIONS + 1]; /* the last entry is "(other)" */
static int nr_versions;

/* Options. */
static enum mode mode;
#define MAX_TARGETS 8
static struct target {
	const char *str;
	struct sockaddr_storage sa;
	socklen_t len;
	uint64_t weight;
	int64_t current; /* smooth weighted round robin state */
} targets[MAX_TARGETS];
static int nr_targets;
static char addr_str[MAX_TARGETS * 48]; /* "A,B,..." for the report */
static unsigned short port;
static uint64_t duration_ms, grace_ms = 1000;
static unsigned long concurrency;
static uint64_t req_bytes = 64, chunk_bytes = 65536;
static const char *http_path = "/";
#define MAX_HEADERS 8
static const char *http_headers[MAX_HEADERS];
static int nr_http_headers;
static const char *version_header; /* NULL: the status line */
static bool keepalive;
static uint64_t keepalive_reqs; /* 0: until the deadline */
static bool json;

/* Run state. */
static int epfd = -1;
static struct slot *slots;
static unsigned long *bq; /* backoff FIFO of slot indexes */
static unsigned long bq_head, bq_len;
static unsigned long nr_active; /* slots with an open socket */
static bool running; /* before the deadline */
static uint64_t t0, t_warm, t_end;
static unsigned char *pattern; /* SCRATCH_BYTES + PATTERN_PERIOD */
static char *http_req; /* http: the request, req_bytes long */
#define HEAD_MAX 4096
static char *heads; /* http: HEAD_MAX bytes per slot */
static unsigned char scratch[SCRATCH_BYTES];
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Results. */
static uint64_t done_warm, done_window, done_late, abandoned;
static uint64_t errors[NR_ERR_KINDS];
static uint64_t stream_conns, bytes_window, bytes_total;
static struct reservoir lat_window, lat_all, first_window, connect_window;
static uint64_t req_window, req_total; /* http: responses */

/*
 * The machine's busy CPU time (every CPU: user, nice, system, irq,
 * softirq; not idle, iowait or steal) in clock ticks, from /proc/stat,
 * whatever namespace this runs in: what the node pays for the window's
 * work, this process and the backends included (`make bench` subtracts
 * what the direct path pays for the same work). 0 if unreadable.
 */
static uint64_t cpu_busy_ticks(void)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
		   &sys, &idle, &iowait, &irq, &softirq);
	fclose(f);
	if (n != 7)
		return 0;
	return user + nice + sys + irq + softirq;
}

/* Busy ticks at the window's start and end (cpu_busy_ticks). */
static uint64_t busy_at_warm, busy_at_end;
static bool busy_sampled;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* Keeps every sample up to SAMPLES_MAX, then a uniform reservoir. */
static void reservoir_add(struct reservoir *r, uint32_t us)
{
	r->seen++;
	if (us > r->max)
		r->max = us;
	if (r->len < SAMPLES_MAX) {
		if (r->len == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 65536;
			uint32_t *v;

			if (cap > SAMPLES_MAX)
				cap = SAMPLES_MAX;
			v = realloc(r->v, cap * sizeof(*v));
			if (!v)
				goto sample; /* keep going with what we have */
			r->v = v;
			r->cap = cap;
		}
		r->v[r->len++] = us;
		return;
	}
sample:
	if (!r->len)
		return;
	{
		uint64_t j = rng_next() % r->seen;

		if (j < r->len)
			r->v[j] = us;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank on the sorted samples. */
static uint32_t percentile(const struct reservoir *r, double p)
{
	size_t rank;

	if (!r->len)
		return 0;
	rank = (size_t)((p / 100.0) * (double)r->len + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > r->len)
		rank = r->len;
	return r->v[rank - 1];
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " conn --addr A --port P --duration-ms D "
		"--concurrency C\n"
		"                    [--request-bytes N] [--grace-ms G] "
		"[--json]\n"
		"       " PROG " stream --addr A --port P --duration-ms D "
		"--concurrency C\n"
		"                    [--chunk-bytes N] [--grace-ms G] "
		"[--json]\n"
		"       " PROG " http --addr A --port P --duration-ms D "
		"--concurrency C\n"
		"                    [--path PATH] [--header 'Name: value']... "
		"[--keepalive N]\n"
		"                    [--version-header NAME] [--grace-ms G] "
		"[--json]\n"
		"  conn:   C concurrent connect/send N (default 64)/read "
		"version line + echo/close\n"
		"          loops; prints conn/s, latency percentiles, errors, "
		"versions.\n"
		"  stream: C long echo connections writing chunks of N bytes "
		"(default 65536);\n"
		"          prints Gbit/s of echoed payload and versions.\n"
		"  http:   like conn against an HTTP server: GET PATH "
		"(default /) HTTP/1.0,\n"
		"          Connection: close, read to EOF, status 200 "
		"expected; versions\n"
		"          counts status lines (or --version-header's "
		"values).\n"
		"          --keepalive N: HTTP/1.1, N requests per connection "
		"(0: no limit);\n"
		"          also prints req/s, first-response latency and the "
		"bodies' Gbit/s.\n"
		"  The first 10%% of the duration is warm-up. --addr is IPv4 "
		"or IPv6;\n"
		"  repeat it (up to 8) to split connections over addresses, "
		"weighted by\n"
		"  --weights W1,W2,... (default equal).\n");
}

static int die_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	usage(stderr);
	return 2;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;

	if (parse_decimal(s, min, max, &v))
		return -1;
	*out = v;
	return 0;
}

static enum err_kind kind_of(int err)
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
	case ENETDOWN:
		return ERR_UNREACH;
	case EADDRNOTAVAIL:
	case EADDRINUSE:
		return ERR_ADDR_UNAVAIL;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return ERR_NO_FDS;
	default:
		return ERR_OTHER;
	}
}

static int version_index(const char *name)
{
	int i;

	for (i = 0; i < nr_versions; i++)
		if (!strcmp(versions[i].name, name))
			return i;
	if (nr_versions == MAX_VERSIONS)
		return MAX_VERSIONS;
	snprintf(versions[nr_versions].name, VERSION_MAX, "%s", name);
	return nr_versions++;
}

static void slot_set_events(struct slot *s, uint32_t events)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = (uint64_t)(s - slots)};

	if (s->events == events)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		s->events = events;
}

static void slot_close(struct slot *s)
{
	if (s->fd >= 0) {
		/* close() also removes it from the epoll set. */
		close(s->fd);
		s->fd = -1;
		nr_active--;
	}
	s->state = S_IDLE;
}

static void slot_backoff(struct slot *s)
{
	if (!running) {
		s->state = S_IDLE;
		return;
	}
	s->state = S_BACKOFF;
	s->resume_at = now_ns() + BACKOFF_NS;
	bq[(bq_head + bq_len++) % concurrency] = (unsigned long)(s - slots);
}

static void slot_fail(struct slot *s, enum err_kind kind)
{
	errors[kind]++;
	slot_close(s);
	slot_backoff(s);
}

static void slot_start(struct slot *s);

/*
 * Sends pattern bytes up to the limit. Returns 1 if the socket is full
 * (wait for EPOLLOUT), 0 if the limit was reached, -1 on error (errno).
 */
static int slot_send(struct slot *s, uint64_t limit)
{
	while (s->sent < limit) {
		uint64_t want = limit - s->sent;
		size_t n = want > SCRATCH_BYTES ? SCRATCH_BYTES : (size_t)want;
		ssize_t r;

		if (mode == MODE_STREAM && n > chunk_bytes)
			n = (size_t)chunk_bytes;
		r = send(s->fd,
			 mode == MODE_HTTP ? (unsigned char *)http_req + s->sent
					   : pattern + s->sent % PATTERN_PERIOD,
			 n, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		s->sent += (uint64_t)r;
	}
	return 0;
}

static uint64_t send_limit(const struct slot *s)
{
	if (mode != MODE_STREAM)
		return req_bytes;
	if (s->wr_shut)
		return s->sent;
	return s->rcvd + INFLIGHT_CHUNKS * chunk_bytes;
}

/* Payload bytes arrived: the version line first, then the echo. */
static int slot_consume(struct slot *s, const unsigned char *p, size_t n,
			uint64_t t)
{
	while (!s->have_line && n) {
		if (*p == '\n') {
			s->line[s->line_len] = '\0';
			if (!s->line_len)
				return ERR_BAD_VERSION;
			s->ver = version_index(s->line);
			s->have_line = true;
			if (mode == MODE_STREAM) {
				stream_conns++;
				versions[s->ver].count++;
			}
		} else {
			if (s->line_len == VERSION_MAX - 1)
				return ERR_BAD_VERSION;
			s->line[s->line_len++] = (char)*p;
		}
		p++;
		n--;
	}
	if (!n)
		return -1;
	if (s->rcvd + n > s->sent ||
	    memcmp(p, pattern + s->rcvd % PATTERN_PERIOD, n))
		return ERR_BAD_ECHO;
	s->rcvd += n;
	if (mode == MODE_STREAM) {
		if (t < t_end)
			bytes_total += n;
		if (t >= t_warm && t < t_end)
			bytes_window += n;
	}
	return -1;
}

/* "HTTP/1.x 200" and then the end of the line or a reason phrase. */
static bool http_status_ok(const char *line)
{
	return !strncmp(line, "HTTP/1.", 7) && line[7] >= '0' &&
	       line[7] <= '9' && !strncmp(line + 8, " 200", 4) &&
	       (line[12] == ' ' || line[12] == '\0');
}

/* The value of header NAME in a response head (NUL-terminated), or NULL. */
static const char *head_value(char *head, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	char *line = strstr(head, "\r\n");

	while (line && line[2] != '\r') {
		char *v, *end;

		line += 2;
		end = strstr(line, "\r\n");
		if (!end)
			return NULL;
		if (!strncasecmp(line, name, nlen) && line[nlen] == ':') {
			v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			*len = (size_t)(end - v);
			return v;
		}
		line = end;
	}
	return NULL;
}

/* http: a response head is complete: status, version, body length. */
static int http_head(struct slot *s)
{
	char *head = heads + (size_t)(s - slots) * HEAD_MAX, *eol;
	char name[VERSION_MAX];
	const char *v;
	size_t len;

	head[s->hdr_len] = '\0';
	eol = strstr(head, "\r\n");
	len = (size_t)(eol - head);
	if (len > VERSION_MAX - 1)
		len = VERSION_MAX - 1;
	memcpy(s->line, head, len);
	s->line[len] = '\0';
	if (!http_status_ok(s->line))
		return ERR_BAD_STATUS;
	if (!version_header)
		s->ver = version_index(s->line);
	else {
		v = head_value(head, version_header, &len);
		if (!v || !len)
			return ERR_BAD_VERSION;
		if (len > VERSION_MAX - 1)
			len = VERSION_MAX - 1;
		memcpy(name, v, len);
		name[len] = '\0';
		s->ver = version_index(name);
	}
	if (keepalive) {
		unsigned long long cl;
		char num[24];

		v = head_value(head, "content-length", &len);
		if (!v || !len || len >= sizeof(num))
			return ERR_BAD_STATUS;
		memcpy(num, v, len);
		num[len] = '\0';
		if (parse_decimal(num, 0, 1ULL << 40, &cl))
			return ERR_BAD_STATUS;
		s->body_left = cl;
	}
	s->have_line = true;
	s->in_body = true;
	return -1;
}

#define HTTP_GONE (-2) /* the slot's connection ended (or started anew) */
#define HTTP_NEXT (-3) /* keep-alive: the next request is due */

static void slot_done(struct slot *s, uint64_t t);

/* keep-alive: a response is complete. */
static int http_response_done(struct slot *s, uint64_t t)
{
	uint64_t us = (t - s->t_req) / 1000, fus = (t - s->t_start) / 1000;

	s->reqs++;
	if (running && t < t_end) {
		versions[s->ver].count++;
		req_total++;
		reservoir_add(&lat_all,
			      us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
		if (t >= t_warm) {
			req_window++;
			reservoir_add(&lat_window, us > UINT32_MAX
							   ? UINT32_MAX
							   : (uint32_t)us);
			if (s->reqs == 1)
				reservoir_add(&first_window,
					      fus > UINT32_MAX ? UINT32_MAX
							       : (uint32_t)fus);
		}
	}
	if ((keepalive_reqs && s->reqs == keepalive_reqs) || !running ||
	    t >= t_end) {
		slot_done(s, t);
		return HTTP_GONE;
	}
	s->in_body = false;
	s->have_line = false;
	s->hdr_len = 0;
	s->sent = 0;
	s->t_req = t;
	return HTTP_NEXT;
}

/*
 * http: response bytes arrived: the head (kept in the slot's head buffer
 * until its empty line), then the body, counted (keep-alive: up to its
 * Content-Length, then the response is complete).
 */
static int http_consume(struct slot *s, const unsigned char *p, size_t n,
			uint64_t t)
{
	char *head = heads + (size_t)(s - slots) * HEAD_MAX;

	while (n) {
		if (!s->in_body) {
			int r;

			if (s->hdr_len == HEAD_MAX - 1)
				return ERR_BAD_STATUS;
			head[s->hdr_len++] = (char)*p++;
			n--;
			if (s->hdr_len < 4 ||
			    memcmp(head + s->hdr_len - 4, "\r\n\r\n", 4))
				continue;
			r = http_head(s);
			if (r >= 0)
				return r;
		} else {
			size_t take = n;

			if (keepalive && take > s->body_left)
				take = (size_t)s->body_left;
			s->rcvd += take;
			if (t < t_end)
				bytes_total += take;
			if (t >= t_warm && t < t_end)
				bytes_window += take;
			p += take;
			n -= take;
			if (keepalive)
				s->body_left -= take;
		}
		if (keepalive && s->in_body && !s->body_left) {
			if (n) /* no pipelining: nothing may follow */
				return ERR_BAD_STATUS;
			return http_response_done(s, t);
		}
	}
	return -1;
}

/* The full reply arrived (conn and http modes). */
static void slot_done(struct slot *s, uint64_t t)
{
	uint64_t us = (t - s->t_start) / 1000;
	uint32_t us32 = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;

	slot_close(s);
	if (!running || t >= t_end) {
		done_late++;
		return;
	}
	if (keepalive) { /* its responses are counted already */
		if (t >= t_warm)
			done_window++;
		else
			done_warm++;
		slot_start(s);
		return;
	}
	versions[s->ver].count++;
	if (mode == MODE_HTTP) {
		req_total++;
		if (t >= t_warm) {
			req_window++;
			reservoir_add(&first_window, us32);
		}
	}
	reservoir_add(&lat_all, us32);
	if (t >= t_warm) {
		done_window++;
		reservoir_add(&lat_window, us32);
	} else {
		done_warm++;
	}
	slot_start(s);
}

/* Sends what it may, reads what there is. */
static void slot_io(struct slot *s, uint32_t ev)
{
	bool full = false;
	int r;

	if (ev & EPOLLOUT) {
		r = slot_send(s, send_limit(s));
		if (r < 0)
			goto fail_errno;
		full = r == 1;
	}
	for (;;) {
		ssize_t n = recv(s->fd, scratch, sizeof(scratch), 0);
		uint64_t t;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			goto fail_errno;
		}
		t = now_ns();
		if (n == 0) {
			if (mode == MODE_HTTP && !keepalive && s->in_body) {
				slot_done(s, t); /* the server closed: done */
				return;
			}
			if (mode == MODE_STREAM && s->wr_shut && s->have_line &&
			    s->rcvd == s->sent) {
				slot_close(s); /* drained cleanly */
				return;
			}
			slot_fail(s, ERR_EARLY_EOF);
			return;
		}
		if (mode == MODE_HTTP)
			r = http_consume(s, scratch, (size_t)n, t);
		else
			r = slot_consume(s, scratch, (size_t)n, t);
		if (r == HTTP_GONE)
			return;
		if (r == HTTP_NEXT) {
			r = slot_send(s, send_limit(s));
			if (r < 0)
				goto fail_errno;
			full = r == 1;
			continue;
		}
		if (r >= 0) {
			slot_fail(s, (enum err_kind)r);
			return;
		}
		if (mode == MODE_CONN && s->have_line && s->rcvd == req_bytes) {
			slot_done(s, t);
			return;
		}
		/* Room in flight again: keep the pipe full. */
		if (mode == MODE_STREAM && !full) {
			r = slot_send(s, send_limit(s));
			if (r < 0)
				goto fail_errno;
			full = r == 1;
		}
		/* http: the EOF usually comes with the last bytes. */
		if ((size_t)n < sizeof(scratch) && mode != MODE_HTTP)
			break;
	}
	slot_set_events(s, EPOLLIN | (full ? EPOLLOUT : 0));
	return;
fail_errno:
	slot_fail(s, kind_of(errno));
}

/* Smooth weighted round robin (as nginx): exact shares, well interleaved. */
static const struct target *next_target(void)
{
	struct target *best = &targets[0];
	int64_t total = 0;
	int i;

	for (i = 0; i < nr_targets; i++) {
		targets[i].current += (int64_t)targets[i].weight;
		total += (int64_t)targets[i].weight;
		if (targets[i].current > best->current)
			best = &targets[i];
	}
	best->current -= total;
	return best;
}

static void slot_start(struct slot *s)
{
	struct epoll_event ev = {.events = EPOLLOUT,
				 .data.u64 = (uint64_t)(s - slots)};
	const struct target *t;
	int fd;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->state = S_IDLE;
	if (!running)
		return;
	t = next_target();
	fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		errors[kind_of(errno)]++;
		slot_backoff(s);
		return;
	}
	s->fd = fd;
	nr_active++;
	if (mode != MODE_STREAM) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		slot_fail(s, kind_of(errno));
		return;
	}
	s->events = EPOLLOUT;
	s->t_start = now_ns();
	s->t_req = s->t_start;
	if (connect(fd, (const struct sockaddr *)&t->sa, t->len) < 0 &&
	    errno != EINPROGRESS) {
		slot_fail(s, kind_of(errno));
		return;
	}
	s->state = S_CONNECTING;
}

static void slot_event(struct slot *s, uint32_t ev)
{
	if (s->state == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			slot_fail(s, kind_of(err));
			return;
		}
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		s->state = S_ACTIVE;
		ev |= EPOLLOUT;
		if (mode == MODE_HTTP && running) {
			uint64_t t = now_ns(), us = (t - s->t_start) / 1000;

			if (t >= t_warm && t < t_end)
				reservoir_add(&connect_window,
					      us > UINT32_MAX ? UINT32_MAX
							      : (uint32_t)us);
		}
	}
	if (s->state == S_ACTIVE)
		slot_io(s, ev);
}

static int wait_ms(uint64_t now, uint64_t until)
{
	uint64_t ms;

	if (until <= now)
		return 0;
	ms = (until - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int poll_once(uint64_t until)
{
	struct epoll_event events[MAX_EVENTS];
	uint64_t t = now_ns();
	int i, n;

	n = epoll_wait(epfd, events, MAX_EVENTS, wait_ms(t, until));
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		perror(PROG ": epoll_wait");
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct slot *s = &slots[events[i].data.u64];

		if (s->fd >= 0)
			slot_event(s, events[i].events);
	}
	return 0;
}

/* At the deadline: stream connections half-close and drain. */
static void stream_wind_down(void)
{
	unsigned long i;

	for (i = 0; i < concurrency; i++) {
		struct slot *s = &slots[i];

		if (s->state == S_CONNECTING) {
			abandoned++;
			slot_close(s);
		} else if (s->state == S_ACTIVE) {
			s->wr_shut = true;
			if (shutdown(s->fd, SHUT_WR) < 0) {
				abandoned++;
				slot_close(s);
			} else {
				slot_set_events(s, EPOLLIN);
			}
		} else {
			s->state = S_IDLE;
		}
	}
}

static int run(void)
{
	uint64_t t_grace;
	unsigned long i;

	t0 = now_ns();
	t_warm = t0 + duration_ms * 100000ULL; /* 10% */
	t_end = t0 + duration_ms * 1000000ULL;
	t_grace = t_end + grace_ms * 1000000ULL;
	running = true;
	for (i = 0; i < concurrency; i++)
		slot_start(&slots[i]);

	for (;;) {
		uint64_t t = now_ns(), until = t_end;

		if (t >= t_end)
			break;
		if (!busy_sampled) {
			if (t >= t_warm) {
				busy_at_warm = cpu_busy_ticks();
				busy_sampled = true;
			} else {
				until = t_warm; /* wake up to sample it */
			}
		}
		while (bq_len) {
			struct slot *s = &slots[bq[bq_head]];

			if (s->resume_at > t) {
				if (s->resume_at < until)
					until = s->resume_at;
				break;
			}
			bq_head = (bq_head + 1) % concurrency;
			bq_len--;
			slot_start(s);
		}
		if (poll_once(until) < 0)
			return -1;
	}
	busy_at_end = cpu_busy_ticks();
	running = false;
	bq_len = 0;
	if (mode == MODE_STREAM)
		stream_wind_down();
	while (nr_active && now_ns() < t_grace)
		if (poll_once(t_grace) < 0)
			return -1;
	for (i = 0; i < concurrency; i++) {
		if (slots[i].fd >= 0) {
			abandoned++;
			slot_close(&slots[i]);
		}
	}
	return 0;
}

static uint64_t total_errors(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < NR_ERR_KINDS; i++)
		sum += errors[i];
	return sum;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void versions_json(void)
{
	int i, n = nr_versions + (versions[MAX_VERSIONS].count ? 1 : 0);
	bool first = true;

	printf("{");
	for (i = 0; i < n; i++) {
		int k = i < nr_versions ? i : MAX_VERSIONS;

		printf(first ? "" : ",");
		json_str(k == MAX_VERSIONS ? "(other)" : versions[k].name);
		printf(":%" PRIu64, versions[k].count);
		first = false;
	}
	printf("}");
}

/*
 * The window's busy CPU time, and per unit of work: microseconds per
 * connection (conn and http modes) or seconds per GB of payload echoed
 * back (stream). null when /proc/stat was unreadable or nothing was done.
 */
static void print_cpu_json(bool conns)
{
	double busy_s, ticks = (double)sysconf(_SC_CLK_TCK);

	if (!busy_sampled || !busy_at_warm || busy_at_end < busy_at_warm ||
	    ticks <= 0) {
		printf(",\"cpu_busy_s\":null,\"cpu_us_per_conn\":null"
		       ",\"cpu_s_per_gb\":null");
		return;
	}
	busy_s = (double)(busy_at_end - busy_at_warm) / ticks;
	printf(",\"cpu_busy_s\":%.3f", busy_s);
	if (conns && done_window)
		printf(",\"cpu_us_per_conn\":%.3f",
		       busy_s * 1e6 / (double)done_window);
	else
		printf(",\"cpu_us_per_conn\":null");
	if (!conns && bytes_window)
		printf(",\"cpu_s_per_gb\":%.4f",
		       busy_s / ((double)bytes_window / 1e9));
	else
		printf(",\"cpu_s_per_gb\":null");
}

static void print_json(double win_s, double all_s)
{
	uint64_t done = done_warm + done_window;
	bool c = mode != MODE_STREAM;
	int i;

	printf("{\"mode\":\"%s\",\"addr\":", mode_names[mode]);
	json_str(addr_str);
	printf(",\"port\":%u,\"duration_ms\":%" PRIu64 ",\"concurrency\":%lu",
	       port, duration_ms, concurrency);
	if (mode == MODE_HTTP) {
		printf(",\"path\":");
		json_str(http_path);
		printf(",\"keepalive\":%s,\"requests_per_conn\":%" PRIu64,
		       keepalive ? "true" : "false",
		       keepalive ? keepalive_reqs : 1);
		printf(",\"requests\":%" PRIu64 ",\"req_per_s\":%.1f",
		       req_total, (double)req_window / win_s);
		printf(",\"first_p50_us\":%u,\"first_p99_us\":%u"
		       ",\"first_responses\":%zu",
		       percentile(&first_window, 50),
		       percentile(&first_window, 99), first_window.len);
		printf(",\"connect_p50_us\":%u,\"connect_p99_us\":%u",
		       percentile(&connect_window, 50),
		       percentile(&connect_window, 99));
		if (keepalive)
			printf(",\"body_gbit_per_s\":%.3f",
			       (double)bytes_window * 8 / win_s / 1e9);
		else
			printf(",\"body_gbit_per_s\":null");
	}
	if (c) {
		printf(",\"request_bytes\":%" PRIu64, req_bytes);
		printf(",\"connections\":%" PRIu64
		       ",\"connections_window\":%" PRIu64
		       ",\"connections_warmup\":%" PRIu64,
		       done, done_window, done_warm);
		printf(",\"conn_per_s\":%.1f,\"conn_per_s_total\":%.1f",
		       (double)done_window / win_s, (double)done / all_s);
		printf(",\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u"
		       ",\"max_us\":%u",
		       percentile(&lat_window, 50), percentile(&lat_window, 90),
		       percentile(&lat_window, 99), lat_window.max);
		printf(",\"latency_all\":{\"p50_us\":%u,\"p90_us\":%u"
		       ",\"p99_us\":%u,\"max_us\":%u}",
		       percentile(&lat_all, 50), percentile(&lat_all, 90),
		       percentile(&lat_all, 99), lat_all.max);
		printf(",\"gbit_per_s\":null");
	} else {
		printf(",\"chunk_bytes\":%" PRIu64, chunk_bytes);
		printf(",\"connections\":%" PRIu64, stream_conns);
		printf(",\"conn_per_s\":null,\"p50_us\":null,\"p90_us\":null"
		       ",\"p99_us\":null,\"max_us\":null");
		printf(",\"gbit_per_s\":%.3f,\"gbit_per_s_total\":%.3f",
		       (double)bytes_window * 8 / win_s / 1e9,
		       (double)bytes_total * 8 / all_s / 1e9);
		printf(",\"bytes_window\":%" PRIu64 ",\"bytes_total\":%" PRIu64,
		       bytes_window, bytes_total);
	}
	print_cpu_json(c);
	printf(",\"late\":%" PRIu64 ",\"abandoned\":%" PRIu64, done_late,
	       abandoned);
	printf(",\"errors\":%" PRIu64 ",\"errors_by_kind\":{", total_errors());
	for (i = 0; i < NR_ERR_KINDS; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", err_names[i],
		       errors[i]);
	printf("},\"versions\":");
	versions_json();
	printf("}\n");
}

static void print_human(double win_s, double all_s)
{
	uint64_t done = done_warm + done_window, vtotal = 0;
	int i, n = nr_versions + (versions[MAX_VERSIONS].count ? 1 : 0);

	printf(PROG " %s %s port %u: %" PRIu64 " ms, concurrency %lu, ",
	       mode_names[mode], addr_str, port, duration_ms, concurrency);
	if (mode != MODE_STREAM) {
		if (mode == MODE_HTTP)
			printf("GET %s, %s, ", http_path,
			       keepalive ? "keep-alive" : "one request");
		printf("request %" PRIu64 " bytes\n", req_bytes);
		printf("  connections   %" PRIu64 " (warm-up %" PRIu64
		       ", window %" PRIu64 ")\n",
		       done, done_warm, done_window);
		printf("  conn/s        %.1f in the window (%.0f ms), %.1f "
		       "over the whole run\n",
		       (double)done_window / win_s, win_s * 1000,
		       (double)done / all_s);
		printf("  latency (us)  window: p50 %u  p90 %u  p99 %u  max "
		       "%u\n",
		       percentile(&lat_window, 50), percentile(&lat_window, 90),
		       percentile(&lat_window, 99), lat_window.max);
		printf("                all:    p50 %u  p90 %u  p99 %u  max "
		       "%u\n",
		       percentile(&lat_all, 50), percentile(&lat_all, 90),
		       percentile(&lat_all, 99), lat_all.max);
		if (mode == MODE_HTTP) {
			printf("  req/s         %.1f in the window\n",
			       (double)req_window / win_s);
			printf("  first resp.   p50 %u  p99 %u us\n",
			       percentile(&first_window, 50),
			       percentile(&first_window, 99));
			if (keepalive)
				printf("  bodies        %.3f Gbit/s in the "
				       "window\n",
				       (double)bytes_window * 8 / win_s / 1e9);
		}
		printf("  at the end    %" PRIu64 " finished late, %" PRIu64
		       " abandoned\n",
		       done_late, abandoned);
	} else {
		printf("chunk %" PRIu64 " bytes\n", chunk_bytes);
		printf("  connections   %" PRIu64 "\n", stream_conns);
		printf("  echoed        %.3f Gbit/s in the window (%.0f ms), "
		       "%.3f over the whole run\n",
		       (double)bytes_window * 8 / win_s / 1e9, win_s * 1000,
		       (double)bytes_total * 8 / all_s / 1e9);
		printf("  at the end    %" PRIu64 " abandoned (not drained)\n",
		       abandoned);
	}
	printf("  errors        %" PRIu64, total_errors());
	for (i = 0; i < NR_ERR_KINDS; i++)
		if (errors[i])
			printf("  %s %" PRIu64, err_names[i], errors[i]);
	printf("\n  versions     ");
	for (i = 0; i < n; i++)
		vtotal += versions[i < nr_versions ? i : MAX_VERSIONS].count;
	for (i = 0; i < n; i++) {
		int k = i < nr_versions ? i : MAX_VERSIONS;

		printf(" %s %" PRIu64 " (%.1f%%)",
		       k == MAX_VERSIONS ? "(other)" : versions[k].name,
		       versions[k].count,
		       100.0 * (double)versions[k].count / (double)vtotal);
	}
	printf("%s\n", n ? "" : " none");
}

/*
 * http: builds the request; Host is the address (bracketed if IPv6):port,
 * then the --header lines.
 */
static int http_request(void)
{
	const char *host = targets[0].str;
	bool v6 = strchr(host, ':') && host[0] != '[';
	char *extra = NULL, *next;
	int i, n;

	if (asprintf(&extra, "%s", "") < 0)
		return -1;
	for (i = 0; i < nr_http_headers; i++) {
		if (asprintf(&next, "%s%s\r\n", extra, http_headers[i]) < 0) {
			free(extra);
			return -1;
		}
		free(extra);
		extra = next;
	}
	n = asprintf(&http_req,
		     "GET %s HTTP/1.%c\r\nHost: %s%s%s:%u\r\n%s%s\r\n",
		     http_path, keepalive ? '1' : '0', v6 ? "[" : "", host,
		     v6 ? "]" : "", port, extra,
		     keepalive ? "" : "Connection: close\r\n");
	free(extra);
	if (n < 0)
		return -1;
	req_bytes = (uint64_t)n;
	return 0;
}

/* "W1,W2,...": one weight per --addr, at least one non-zero. */
static int parse_weights(const char *list)
{
	char buf[256], *tok, *save = NULL;
	uint64_t sum = 0;
	int n = 0;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == nr_targets ||
		    parse_u64(tok, 0, 1000000, &targets[n].weight))
			return -1;
		sum += targets[n++].weight;
	}
	return n == nr_targets && sum ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"addr", required_argument, NULL, 'a'},
		{"weights", required_argument, NULL, 'w'},
		{"port", required_argument, NULL, 'p'},
		{"duration-ms", required_argument, NULL, 'd'},
		{"concurrency", required_argument, NULL, 'c'},
		{"request-bytes", required_argument, NULL, 'r'},
		{"chunk-bytes", required_argument, NULL, 'k'},
		{"grace-ms", required_argument, NULL, 'g'},
		{"path", required_argument, NULL, 'P'},
		{"header", required_argument, NULL, 'H'},
		{"keepalive", required_argument, NULL, 'K'},
		{"version-header", required_argument, NULL, 'V'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_req = false, have_chunk = false, have_path = false;
	bool have_http_opt = false;
	const char *weights = NULL;
	uint64_t port64 = 0, conc = 0;
	double win_s, all_s;
	int opt;
	size_t i;

	if (argc < 2)
		return die_usage("missing mode (conn, stream or http)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "conn"))
		mode = MODE_CONN;
	else if (!strcmp(argv[1], "stream"))
		mode = MODE_STREAM;
	else if (!strcmp(argv[1], "http"))
		mode = MODE_HTTP;
	else
		return die_usage("mode must be conn, stream or http");
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if (nr_targets == MAX_TARGETS)
				return die_usage("at most 8 --addr");
			targets[nr_targets++].str = optarg;
			break;
		case 'w':
			weights = optarg;
			break;
		case 'p':
			if (parse_u64(optarg, 1, 65535, &port64))
				return die_usage("--port must be 1..65535");
			break;
		case 'd':
			if (parse_u64(optarg, 10, 86400000, &duration_ms))
				return die_usage("--duration-ms must be "
						 "10..86400000");
			break;
		case 'c':
			if (parse_u64(optarg, 1, 1000000, &conc))
				return die_usage("--concurrency must be "
						 "1..1000000");
			break;
		case 'r':
			if (parse_u64(optarg, 0, 1ULL << 30, &req_bytes))
				return die_usage("--request-bytes must be "
						 "0..1073741824");
			have_req = true;
			break;
		case 'k':
			if (parse_u64(optarg, 1, SCRATCH_BYTES, &chunk_bytes))
				return die_usage("--chunk-bytes must be "
						 "1..65536");
			have_chunk = true;
			break;
		case 'g':
			if (parse_u64(optarg, 0, 600000, &grace_ms))
				return die_usage("--grace-ms must be "
						 "0..600000");
			break;
		case 'P':
			if (optarg[0] != '/' || strpbrk(optarg, " \t\r\n"))
				return die_usage("--path must start with / and "
						 "hold no white space");
			http_path = optarg;
			have_path = true;
			break;
		case 'H':
			if (nr_http_headers == MAX_HEADERS)
				return die_usage("at most 8 --header");
			if (!strchr(optarg, ':') || strpbrk(optarg, "\r\n"))
				return die_usage("--header must be "
						 "'Name: value' on one line");
			http_headers[nr_http_headers++] = optarg;
			have_http_opt = true;
			break;
		case 'K':
			if (parse_u64(optarg, 0, 1ULL << 32, &keepalive_reqs))
				return die_usage("--keepalive must be "
						 "0..4294967296");
			keepalive = true;
			have_http_opt = true;
			break;
		case 'V':
			if (!*optarg || strpbrk(optarg, ": \t\r\n"))
				return die_usage("--version-header must be a "
						 "header name");
			version_header = optarg;
			have_http_opt = true;
			break;
		case 'j':
			json = true;
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
	if (!nr_targets || !port64 || !duration_ms || !conc)
		return die_usage("--addr, --port, --duration-ms and "
				 "--concurrency are required");
	if (mode != MODE_STREAM && have_chunk)
		return die_usage("--chunk-bytes is for stream mode");
	if (mode != MODE_CONN && have_req)
		return die_usage("--request-bytes is for conn mode");
	if (mode != MODE_HTTP && (have_path || have_http_opt))
		return die_usage("--path, --header, --keepalive and "
				 "--version-header are for http mode");
	port = (unsigned short)port64;
	concurrency = (unsigned long)conc;
	for (i = 0; i < (size_t)nr_targets; i++) {
		if (parse_addr(targets[i].str, port, &targets[i].sa,
			       &targets[i].len))
			return die_usage("--addr is not an IPv4 or IPv6 "
					 "address");
		targets[i].weight = 1;
		snprintf(addr_str + strlen(addr_str),
			 sizeof(addr_str) - strlen(addr_str), "%s%s",
			 i ? "," : "", targets[i].str);
	}
	if (weights && parse_weights(weights))
		return die_usage("--weights must be one integer 0..1000000 "
				 "per --addr, not all 0");

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	slots = calloc(concurrency, sizeof(*slots));
	bq = calloc(concurrency, sizeof(*bq));
	pattern = malloc(SCRATCH_BYTES + PATTERN_PERIOD);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || !bq || !pattern || epfd < 0) {
		perror(PROG ": setup");
		return 1;
	}
	for (i = 0; i < SCRATCH_BYTES + PATTERN_PERIOD; i++)
		pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
	for (i = 0; i < concurrency; i++)
		slots[i].fd = -1;
	if (mode == MODE_HTTP &&
	    (!(heads = malloc(concurrency * HEAD_MAX)) || http_request() < 0)) {
		perror(PROG ": setup");
		return 1;
	}

	if (run() < 0)
		return 1;

	win_s = (double)(t_end - t_warm) / 1e9;
	all_s = (double)(t_end - t0) / 1e9;
	qsort(lat_window.v, lat_window.len, sizeof(uint32_t), cmp_u32);
	qsort(lat_all.v, lat_all.len, sizeof(uint32_t), cmp_u32);
	qsort(first_window.v, first_window.len, sizeof(uint32_t), cmp_u32);
	qsort(connect_window.v, connect_window.len, sizeof(uint32_t), cmp_u32);
	if (json)
		print_json(win_s, all_s);
	else
		print_human(win_s, all_s);
	if (mode == MODE_HTTP && keepalive ? req_total == 0
	    : mode != MODE_STREAM	   ? done_warm + done_window == 0
					   : bytes_total == 0) {
		fprintf(stderr, PROG ": nothing completed\n");
		return 1;
	}
	return 0;
}
