// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer metrics --listen ADDR:PORT: the counters of `veer stats -o
 * prometheus`, served at /metrics over HTTP by libmicrohttpd, read from
 * the pinned maps afresh for every scrape. One scrape at a time (one
 * server thread), a few connections at most, each with a time limit: a
 * scrape costs one model read, a few lookups per service and one batched
 * walk of each conntrack table. Runs until SIGTERM or SIGINT, then exits
 * 0. The maps are those of the pin root in the network namespace veer
 * runs in; run it there (nsenter --net=...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "cmd.h"
#include "dynlib.h"
#include "metrics.h"

/* Connections served at once, and how long an idle one is kept. */
#define METRICS_MAX_CONNECTIONS 16
#define METRICS_CONNECTION_TIMEOUT_S 10
#define METRICS_PATH "/metrics"

struct metrics_opts {
	const char *listen;
	bool no_conntrack;
};

static const struct metrics_opts metrics_defaults = {};

static const struct cli_option metrics_options[] = {
	{
		.name = "listen",
		.flag = 'l',
		.type = CLI_STRING,
		.field = offsetof(struct metrics_opts, listen),
		.metavar = "ADDR:PORT",
		.help = "where to serve /metrics: an IPv4 address and port "
			"(127.0.0.1:9100) or an IPv6 one in brackets "
			"([::1]:9100); required",
	},
	{
		.name = "no-conntrack",
		.type = CLI_FLAG,
		.field = offsetof(struct metrics_opts, no_conntrack),
		.help = "leave out the conntrack fill "
			"(veer_conntrack_entries), "
			"whose reading walks the three tables on every scrape "
			"(about 35 ms at the default --ct-size when empty, "
			"over "
			"a second when full)",
	},
	{},
};

static void mhd_log(void *ctx, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)ctx;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fprintf(stderr, "veer: metrics: %s\n", msg);
}

/* libmicrohttpd, opened by this command alone (dynlib.h says why). */
static struct {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) create_response;
	__typeof__(&MHD_add_response_header) add_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
} mhd;

/* 0, or -1 with one line said. */
static int mhd_open(void)
{
	const struct veer_dynsym syms[] = {
		{"MHD_start_daemon", (void **)&mhd.start_daemon},
		{"MHD_stop_daemon", (void **)&mhd.stop_daemon},
		{"MHD_create_response_from_buffer",
		 (void **)&mhd.create_response},
		{"MHD_add_response_header", (void **)&mhd.add_header},
		{"MHD_queue_response", (void **)&mhd.queue_response},
		{"MHD_destroy_response", (void **)&mhd.destroy_response},
	};
	char err[VEER_ERR_LEN];

	if (veer_dynlib_open(VEER_SONAME_MICROHTTPD, "libmicrohttpd12", syms,
			     sizeof(syms) / sizeof(syms[0]), err,
			     sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = mhd.create_response(len, body, mode);
	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd.add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn,
				  unsigned int status, const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", (char *)text,
		     strlen(text), MHD_RESPMEM_PERSISTENT);
}

/* The exposition of a fresh snapshot into *body; an error into err. */
static int scrape(unsigned int flags, char **body, size_t *len, char *err,
		  size_t errlen)
{
	struct veer_metrics_snapshot snap;
	struct veer_maps maps;
	FILE *out;
	int ret = -1;

	*body = NULL;
	*len = 0;
	veer_maps_init(&maps);
	if (veer_maps_open(cli.pin_root, &maps, err, errlen))
		goto close;
	if (veer_metrics_snapshot_read(&maps, &snap, flags, err, errlen))
		goto close;
	veer_metrics_read_watch(&snap, cli.pin_root);
	out = open_memstream(body, len);
	if (!out) {
		snprintf(err, errlen, "out of memory");
	} else {
		ret = veer_metrics_write(out, &snap);
		if (fclose(out) || ret) {
			snprintf(err, errlen, "out of memory");
			free(*body);
			*body = NULL;
			ret = -1;
		}
	}
	veer_metrics_snapshot_free(&snap);
close:
	veer_maps_close(&maps);
	return ret;
}

static enum MHD_Result handle(void *ctx, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **req_ctx)
{
	char err[VEER_ERR_LEN], msg[VEER_ERR_LEN + 32];
	size_t len;
	char *body;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_ctx;
	if (strcmp(url, METRICS_PATH))
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found: veer serves " METRICS_PATH "\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: GET or HEAD\n");
	/* ctx: the snapshot's VEER_METRICS_READ_* flags. */
	if (scrape(*(const unsigned int *)ctx, &body, &len, err, sizeof(err))) {
		/* Prometheus marks the target down (up == 0) and keeps the
		 * message as the scrape's error. */
		snprintf(msg, sizeof(msg), "cannot read the maps: %s\n", err);
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "text/plain; charset=utf-8", msg, strlen(msg),
			     MHD_RESPMEM_MUST_COPY);
	}
	return reply(conn, MHD_HTTP_OK, VEER_METRICS_CONTENT_TYPE, body, len,
		     MHD_RESPMEM_MUST_FREE);
}

/* ADDR:PORT as a socket address; -1 after a one-line error. */
static int parse_listen(const char *text, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char quoted[CLI_QUOTE_BUF];
	union veer_addr addr;
	uint16_t port_be;
	uint8_t family;

	memset(ss, 0, sizeof(*ss));
	if (veer_endpoint_parse(text, &addr, &family, &port_be)) {
		fail("--listen %s: want ADDR:PORT, e.g. 127.0.0.1:9100 or "
		     "[::1]:9100",
		     cli_quote(text, quoted));
		return -1;
	}
	if (family == VEER_AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port_be;
		memcpy(&sin->sin_addr, addr.bytes, 4);
		*sl = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port_be;
		memcpy(&sin6->sin6_addr, addr.bytes, 16);
		*sl = sizeof(*sin6);
	}
	return 0;
}

/*
 * A listening TCP socket, or -1 after a one-line error. Bound here rather
 * than by libmicrohttpd, so that a port in use or an address not on this
 * host is said as such.
 */
static int listen_on(const char *text, const struct sockaddr_storage *ss,
		     socklen_t sl)
{
	char quoted[CLI_QUOTE_BUF];
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("cannot listen on %s: %s", cli_quote(text, quoted),
		     strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) || listen(fd, 64)) {
		fail("cannot listen on %s: %s", cli_quote(text, quoted),
		     strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int run_metrics(const void *opts, int argc, char **argv)
{
	const struct metrics_opts *o = opts;
	struct MHD_Daemon *daemon;
	struct sockaddr_storage ss;
	struct veer_maps maps;
	unsigned int flags;
	socklen_t sl;
	sigset_t stop, old;
	int fd, sig;

	(void)argv;
	if (argc) {
		fail("takes no arguments");
		return EXIT_USAGE;
	}
	if (!o->listen) {
		fail("--listen ADDR:PORT is required");
		return EXIT_USAGE;
	}
	if (parse_listen(o->listen, &ss, &sl))
		return EXIT_USAGE;
	if (require_root() || mhd_open())
		return EXIT_FAILED;
	flags = o->no_conntrack ? 0 : VEER_METRICS_READ_CT;
	/* The maps must be there now; each scrape opens them again (an
	 * attach after a detach makes new ones). */
	veer_maps_init(&maps);
	if (open_maps(&maps)) {
		veer_maps_close(&maps);
		return EXIT_FAILED;
	}
	veer_maps_close(&maps);
	fd = listen_on(o->listen, &ss, sl);
	if (fd < 0)
		return EXIT_FAILED;
	/* Blocked before the server thread starts, which inherits the mask:
	 * only sigwait below takes them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	daemon = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, handle, &flags,
		/* First, or MHD logs some messages its own way. */
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)METRICS_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)METRICS_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!daemon) {
		fail("cannot start the HTTP server on %s", o->listen);
		close(fd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return EXIT_FAILED;
	}
	fprintf(stderr, "veer: metrics: serving http://%s%s\n", o->listen,
		METRICS_PATH);
	while (sigwait(&stop, &sig))
		;
	mhd.stop_daemon(daemon); /* closes fd: it was given to it */
	return 0;
}

const struct cli_command metrics_command = {
	.name = "metrics",
	.args = "--listen ADDR:PORT [--no-conntrack]",
	.summary = "serve the counters to Prometheus at /metrics",
	.details =
		"  Serves GET /metrics over HTTP: the counters, weights and\n"
		"  conntrack fill of veer stats -o prometheus, read from the\n"
		"  maps for every scrape. Other paths get 404, other methods\n"
		"  405. Runs in the foreground until SIGTERM or SIGINT (exit\n"
		"  0). Run it in the network namespace veer is attached in.\n",
	CLI_OPTIONS(metrics_options, metrics_defaults),
	.run = run_metrics,
};
