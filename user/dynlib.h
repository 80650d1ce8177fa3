/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Libraries veer opens only in the commands that use them (dlopen), when
 * linking them would load their own dependencies at every veer start:
 * libmicrohttpd brings GnuTLS and p11-kit (2 ms of CPU), libcurl OpenSSL,
 * GSSAPI and LDAP (5 ms), which every command paid, `veer weight` (goal:
 * under 2 ms) included. The functions keep the headers' prototypes
 * (__typeof__ of each, in the caller's table).
 */
#ifndef VEER_DYNLIB_H
#define VEER_DYNLIB_H

#include <stddef.h>

/*
 * What veer opens, and the Debian package that ships each: the one list,
 * which deploy/build-image.sh reads too (the image must carry them; ldd
 * cannot see them).
 */
#define VEER_SONAME_MICROHTTPD "libmicrohttpd.so.12" /* libmicrohttpd12 */
#define VEER_SONAME_CURL "libcurl.so.4" /* libcurl4 */

struct veer_dynsym {
	const char *name;
	void **fn; /* where the function's address goes */
};

/*
 * Opens soname once (later calls return at once) and fills every fn.
 * 0, or -1 with one line in err naming the library and the Debian
 * package that ships it.
 */
int veer_dynlib_open(const char *soname, const char *package,
		     const struct veer_dynsym *syms, size_t count, char *err,
		     size_t errlen);

#endif /* VEER_DYNLIB_H */
