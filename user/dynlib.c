// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dlfcn.h>
#include <stdio.h>

#include "dynlib.h"

int veer_dynlib_open(const char *soname, const char *package,
		     const struct veer_dynsym *syms, size_t count, char *err,
		     size_t errlen)
{
	void *lib;
	size_t i;

	/* Filled once: the first symbol's address says it was. */
	if (count && *syms[0].fn)
		return 0;
	lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errlen, "cannot load %s (Debian package %s): %s",
			 soname, package, dlerror());
		return -1;
	}
	for (i = 0; i < count; i++) {
		*syms[i].fn = dlsym(lib, syms[i].name);
		if (!*syms[i].fn) {
			snprintf(err, errlen, "%s has no %s", soname,
				 syms[i].name);
			for (i = 0; i < count; i++)
				*syms[i].fn = NULL;
			return -1;
		}
	}
	return 0;
}
