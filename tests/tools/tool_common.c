// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What the test server, the test client and the load generator share. */
#include "tool_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Many concurrent connections need many descriptors. */
void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* strtoull alone accepts "-1" (as ULLONG_MAX), leading blanks and "+". */
int parse_decimal(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "10.0.0.1", "fd00::1" or "[fd00::1]". */
int parse_addr(const char *s, unsigned short port, struct sockaddr_storage *ss,
	       socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Writes path atomically: path.tmp.PID, then rename. */
int write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text);
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int server_listen(const char *prog, const struct sockaddr_storage *ss,
		  socklen_t slen, const char *addr, int *sfd)
{
	sigset_t mask;
	int lfd, one = 1;
	unsigned int port = ntohs(((const struct sockaddr_in *)ss)->sin_port);

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	*sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     0);
	if (lfd < 0 || *sfd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (const struct sockaddr *)ss, slen) < 0) {
		fprintf(stderr, "%s: bind %s port %u: %s\n", prog, addr, port,
			strerror(errno));
		return -1;
	}
	if (listen(lfd, 4096) < 0) {
		fprintf(stderr, "%s: listen: %s\n", prog, strerror(errno));
		return -1;
	}
	return lfd;
}

unsigned long errors_total(const unsigned long *errs, int kinds)
{
	unsigned long t = 0;
	int i;

	for (i = 0; i < kinds; i++)
		t += errs[i];
	return t;
}

void errors_print(const char *prog, const unsigned long *errs,
		  const char *const *names, int kinds)
{
	int i;

	if (!errors_total(errs, kinds))
		return;
	fprintf(stderr, "%s: errors:", prog);
	for (i = 0; i < kinds; i++)
		if (errs[i])
			fprintf(stderr, " %s=%lu", names[i], errs[i]);
	fprintf(stderr, "\n");
}
