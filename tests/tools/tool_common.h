/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the test server and the test client both need. */
#ifndef VEER_TOOL_COMMON_H
#define VEER_TOOL_COMMON_H

#include <sys/socket.h>

/* Raises the open-files soft limit to the hard limit. */
void raise_nofile(void);

/* "10.0.0.1", "fd00::1" or "[fd00::1]" with port -> sockaddr. 0 or -1. */
int parse_addr(const char *s, unsigned short port, struct sockaddr_storage *ss,
	       socklen_t *len);

/* Writes path atomically (path.tmp.PID, then rename): readers polling for
 * the file never see it half written. 0 or -1. */
int write_file_atomic(const char *path, const char *text);

#endif /* VEER_TOOL_COMMON_H */
