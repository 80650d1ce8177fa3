// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One-line errors and quoted values (diag.h). */
#include <stdio.h>
#include <string.h>
#include "diag.h"

int veer_vfail_at(char *err, size_t errlen, const char *file, size_t line,
		  size_t col, const char *fmt, va_list ap)
{
	size_t used;

	if (!err || errlen == 0)
		return -1;
	if (file && line)
		snprintf(err, errlen, "%s:%zu:%zu: ", file, line, col);
	else if (file)
		snprintf(err, errlen, "%s: ", file);
	else
		err[0] = '\0';
	used = strlen(err);
	if (used < errlen - 1)
		vsnprintf(err + used, errlen - used, fmt, ap);
	return -1;
}

int veer_fail_at(char *err, size_t errlen, const char *file, size_t line,
		 size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	veer_vfail_at(err, errlen, file, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

const char *veer_quote(const char *text, size_t length, size_t max, char *buf,
		       size_t len)
{
	size_t i, o = 0;

	if (!buf || len == 0)
		return buf;
	for (i = 0; i < length && o + 8 < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		/* Cut between characters: the message stays UTF-8. */
		if (i >= max && (ch & 0xc0) != 0x80) {
			o += (size_t)snprintf(buf + o, len - o, "...");
			break;
		}
		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}
