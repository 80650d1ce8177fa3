/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How veer talks about bad input: one-line errors that say where
 * ("file:line:col: message"), values quoted so that nothing they hold can
 * break the line, and notes handed to the caller one line at a time.
 */
#ifndef VEER_DIAG_H
#define VEER_DIAG_H

#include <stdarg.h>
#include <stddef.h>

/*
 * One line per call: notes and warnings for the user (skipped kinds,
 * ignored proxy-only fields, what header/uri rules cannot do).
 */
typedef void (*veer_note_fn)(void *ctx, const char *note);

/*
 * Writes "file:line:col: message" into err ("file: message" when line is 0,
 * "message" when file is NULL). Always returns -1, for `return
 * veer_fail_at(...)`. err may be NULL (nothing is written).
 */
__attribute__((format(printf, 6, 7))) int veer_fail_at(char *err, size_t errlen,
						       const char *file,
						       size_t line, size_t col,
						       const char *fmt, ...);
int veer_vfail_at(char *err, size_t errlen, const char *file, size_t line,
		  size_t col, const char *fmt, va_list ap);

/*
 * Escapes text for a one-line message: control characters, DEL, '"' and
 * '\' become \xNN; cut after `max` bytes (between UTF-8 characters) with
 * "...". Returns buf.
 */
const char *veer_quote(const char *text, size_t length, size_t max, char *buf,
		       size_t len);

/* Room veer_quote needs for `max` bytes: each may become "\xNN", plus "...". */
#define VEER_QUOTE_BUF(max) ((max)*4 + 8)

#endif /* VEER_DIAG_H */
