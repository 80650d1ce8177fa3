/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What veer-httpsrv and veer-httpclient share: the byte pattern of
 * generated bodies and the header scanning both sides do.
 */
#ifndef VEER_HTTP_COMMON_H
#define VEER_HTTP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Responses and requests bigger than this are refused (bodies included). */
#define HTTP_BODY_MAX (16UL << 20)
/* A header section longer than this is refused. */
#define HTTP_HEAD_MAX 16384

/*
 * Byte i of the pattern with SEED: what `GET ...?size=N` answers with
 * (seed 0) and what the client's POST bodies carry (the client's own
 * seed per request). Not periodic over any short span, so a segment
 * delivered twice or at the wrong offset shows.
 */
static inline unsigned char http_pattern_byte(uint32_t seed, uint64_t i)
{
	uint32_t x = (uint32_t)i * 0x9e3779b1u ^ seed * 0x85ebca6bu ^
		     (uint32_t)(i >> 32);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (unsigned char)x;
}

static inline void http_pattern_fill(uint32_t seed, uint64_t off,
				     unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = http_pattern_byte(seed, off + i);
}

/* The end of the header section in BUF[0, LEN): the offset just past
 * "\r\n\r\n", or 0 if it is not there yet. */
static inline size_t http_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' &&
		    buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/*
 * The value of header NAME (case-insensitive) in the header section
 * HEAD[0, LEN) (request or status line first): its start in *val and
 * length in *vlen, blanks trimmed. 1 if found, 0 if not.
 */
static inline int http_header(const char *head, size_t len, const char *name,
			      const char **val, size_t *vlen)
{
	size_t nlen = strlen(name), i = 0;

	/* Skip the first line. */
	while (i < len && head[i] != '\n')
		i++;
	i++;
	while (i < len) {
		size_t e = i, v;

		while (e < len && head[e] != '\n')
			e++;
		if (e - i > nlen && head[i + nlen] == ':' &&
		    !strncasecmp(head + i, name, nlen)) {
			v = i + nlen + 1;
			while (v < e && (head[v] == ' ' || head[v] == '\t'))
				v++;
			*val = head + v;
			*vlen = e - v;
			while (*vlen && (head[v + *vlen - 1] == '\r' ||
					 head[v + *vlen - 1] == ' ' ||
					 head[v + *vlen - 1] == '\t'))
				(*vlen)--;
			return 1;
		}
		i = e + 1;
	}
	return 0;
}

/* A decimal header value (Content-Length): 0 or -1. */
static inline int http_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

#endif /* VEER_HTTP_COMMON_H */
