// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* $VEER_WAIT, read and written back (wait.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wait.h"

int veer_wait_ms(unsigned int *ms, char *err, size_t errlen)
{
	const char *text = getenv(VEER_WAIT_ENV), *p;
	unsigned long whole = 0, frac = 0, scale = 100;

	*ms = VEER_WAIT_DEFAULT_MS;
	if (!text || !*text)
		return 0;
	for (p = text; *p >= '0' && *p <= '9' && whole <= VEER_WAIT_MAX_S; p++)
		whole = whole * 10 + (unsigned long)(*p - '0');
	if (p != text && *p == '.' && p[1])
		for (p++; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
			frac += (unsigned long)(*p - '0') * scale;
	if (p == text || *p || whole > VEER_WAIT_MAX_S ||
	    (whole == VEER_WAIT_MAX_S && frac)) {
		if (err && errlen)
			snprintf(err, errlen,
				 "%s must be seconds 0..%u (e.g. 10 or 0.5), "
				 "got '%.32s'",
				 VEER_WAIT_ENV, VEER_WAIT_MAX_S, text);
		return -1;
	}
	*ms = (unsigned int)(whole * 1000 + frac);
	return 0;
}

void veer_wait_format(unsigned int ms, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);
	n = strlen(buf);
	while (n && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '.')
		buf[--n] = '\0';
}
