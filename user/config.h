/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Configuration files -> model. */
#ifndef VEER_CONFIG_H
#define VEER_CONFIG_H

#include <stddef.h>
#include "model.h"

/* Larger files are refused before parsing (bounded memory and time). */
#define VEER_CONFIG_MAX_BYTES (16 * 1024 * 1024)

/*
 * Parses one file (veer native YAML) and appends its services to *model.
 * Returns 0, or -1 with a one-line "file:line:col: message" in err; on
 * error *model is left exactly as it was.
 */
int veer_config_load_file(const char *path, struct veer_model *model, char *err,
			  size_t errlen);

/* The same for a buffer; `name` stands in for the file name in errors. */
int veer_config_load_buffer(const char *name, const char *buf, size_t len,
			    struct veer_model *model, char *err, size_t errlen);

#endif /* VEER_CONFIG_H */
