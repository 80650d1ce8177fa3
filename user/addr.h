/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Text <-> address conversions shared by the config loader and the CLI. */
#ifndef VEER_ADDR_H
#define VEER_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include "veer_abi.h"

/* Longest text veer_format_endpoint produces: "[v6]:65535" plus NUL. */
#define VEER_ENDPOINT_STRLEN (46 + 2 + 6 + 1)

/*
 * "10.0.0.1" or "fd00::1" (no brackets). Fills *addr in the map layout
 * (IPv4 in the first 4 bytes, rest zero) and *family (VEER_AF_*).
 * Returns 0, or -1 if the text is not exactly one address.
 */
int veer_addr_parse(const char *text, union veer_addr *addr, uint8_t *family);

/*
 * "10.0.0.1:8080" or "[fd00::1]:8080"; port 1..65535, stored in network
 * order. Returns 0 or -1.
 */
int veer_endpoint_parse(const char *text, union veer_addr *addr,
			uint8_t *family, uint16_t *port_be);

/* Port "1".."65535" (decimal only, no sign, no spaces). 0 or -1. */
int veer_port_parse(const char *text, uint16_t *port_host);

/* Write the address as text; returns buf. */
const char *veer_addr_format(const union veer_addr *addr, uint8_t family,
			     char *buf, size_t len);

/* "a.b.c.d:port" or "[v6]:port"; port given in network order. */
const char *veer_endpoint_format(const union veer_addr *addr, uint8_t family,
				 uint16_t port_be, char *buf, size_t len);

#endif /* VEER_ADDR_H */
