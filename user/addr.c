// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Text <-> address conversions. Strict on purpose: whatever is accepted here
 * ends up as a map key, and a key that almost matches what the user meant
 * (a trailing space, a zone id, an IPv4 address in brackets) never matches
 * any packet and fails silently.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"

/* Longest address text inet_pton can accept, plus NUL. */
#define ADDR_TEXT_MAX INET6_ADDRSTRLEN
/* "65535" */
#define PORT_DIGITS_MAX 5
#define PORT_MAX 65535

int veer_addr_parse(const char *text, union veer_addr *addr, uint8_t *family)
{
	union veer_addr out;

	if (!text || !*text || strnlen(text, ADDR_TEXT_MAX) >= ADDR_TEXT_MAX)
		return -1;
	memset(&out, 0, sizeof(out));
	/*
	 * inet_pton already refuses spaces, zone ids ("%eth0"), brackets,
	 * octal/hex IPv4 forms and leading zeros, which is exactly the
	 * strictness wanted.
	 */
	if (inet_pton(AF_INET, text, &out.v4) == 1) {
		*addr = out;
		*family = VEER_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out.bytes) == 1) {
		*addr = out;
		*family = VEER_AF_INET6;
		return 0;
	}
	return -1;
}

int veer_port_parse(const char *text, uint16_t *port_host)
{
	unsigned int value = 0;
	size_t i;

	if (!text || !*text)
		return -1;
	/* "080" is octal to some YAML 1.1 readers: refuse the ambiguity. */
	if (text[0] == '0')
		return -1;
	for (i = 0; text[i]; i++) {
		if (i >= PORT_DIGITS_MAX || text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (unsigned int)(text[i] - '0');
	}
	if (value == 0 || value > PORT_MAX)
		return -1;
	*port_host = (uint16_t)value;
	return 0;
}

int veer_endpoint_parse(const char *text, union veer_addr *addr,
			uint8_t *family, uint16_t *port_be)
{
	char host[ADDR_TEXT_MAX];
	const char *host_start, *host_end, *port_text;
	union veer_addr out;
	uint8_t fam;
	uint16_t port;
	size_t host_len;

	if (!text || !*text)
		return -1;
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (!host_end || host_end[1] != ':')
			return -1;
		port_text = host_end + 2;
	} else {
		host_start = text;
		host_end = strrchr(text, ':');
		if (!host_end)
			return -1;
		port_text = host_end + 1;
	}
	host_len = (size_t)(host_end - host_start);
	if (host_len == 0 || host_len >= sizeof(host))
		return -1;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	if (veer_addr_parse(host, &out, &fam) < 0)
		return -1;
	/*
	 * Brackets exactly when IPv6, as in URLs: "fd00::1:80" cannot be told
	 * apart from the address fd00::1:80, and "[10.0.0.1]:80" suggests an
	 * IPv6 endpoint where there is none.
	 */
	if ((text[0] == '[') != (fam == VEER_AF_INET6))
		return -1;
	if (veer_port_parse(port_text, &port) < 0)
		return -1;
	*addr = out;
	*family = fam;
	*port_be = htons(port);
	return 0;
}

const char *veer_addr_format(const union veer_addr *addr, uint8_t family,
			     char *buf, size_t len)
{
	int af;

	if (!buf || len == 0)
		return buf;
	switch (family) {
	case VEER_AF_INET:
		af = AF_INET;
		break;
	case VEER_AF_INET6:
		af = AF_INET6;
		break;
	default:
		snprintf(buf, len, "?");
		return buf;
	}
	/* inet_ntop never needs more than ADDR_TEXT_MAX: clamp to socklen_t. */
	if (!inet_ntop(af, addr->bytes, buf,
		       (socklen_t)(len < ADDR_TEXT_MAX ? len : ADDR_TEXT_MAX)))
		snprintf(buf, len, "?");
	return buf;
}

const char *veer_endpoint_format(const union veer_addr *addr, uint8_t family,
				 uint16_t port_be, char *buf, size_t len)
{
	char host[ADDR_TEXT_MAX];

	if (!buf || len == 0)
		return buf;
	veer_addr_format(addr, family, host, sizeof(host));
	if (family == VEER_AF_INET6)
		snprintf(buf, len, "[%s]:%u", host,
			 (unsigned int)ntohs(port_be));
	else
		snprintf(buf, len, "%s:%u", host, (unsigned int)ntohs(port_be));
	return buf;
}
