/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the test server, the test client and the load generator share. */
#ifndef VEER_TOOL_COMMON_H
#define VEER_TOOL_COMMON_H

#include <sys/socket.h>

/* Raises the open-files soft limit to the hard limit. */
void raise_nofile(void);

/* "10.0.0.1", "fd00::1" or "[fd00::1]" with port -> sockaddr. 0 or -1. */
int parse_addr(const char *s, unsigned short port, struct sockaddr_storage *ss,
	       socklen_t *len);

/* A plain decimal in [min, max] (no sign, no blanks, no suffix). 0 or -1. */
int parse_decimal(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out);

/* Writes path atomically (path.tmp.PID, then rename): readers polling for
 * the file never see it half written. 0 or -1. */
int write_file_atomic(const char *path, const char *text);

/* Errors by kind, as the clients count them: their sum, and a line
 * "PROG: errors: name=n ..." on stderr when there are any. */
unsigned long errors_total(const unsigned long *errs, int kinds);
void errors_print(const char *prog, const unsigned long *errs,
		  const char *const *names, int kinds);

/*
 * A test server's start: more descriptors, SIGPIPE ignored, SIGTERM and
 * SIGINT blocked and delivered to *sfd (a signalfd), and a non-blocking
 * listening socket on ss (addr: its text, for the message). Returns the
 * socket, or -1 after printing why (prefixed with prog).
 */
int server_listen(const char *prog, const struct sockaddr_storage *ss,
		  socklen_t slen, const char *addr, int *sfd);

#endif /* VEER_TOOL_COMMON_H */
