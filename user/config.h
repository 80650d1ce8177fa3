/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Transitional: the old config.c names, for callers not yet switched to
 * load.h (the front door), native.h and wait.h. Delete once none is left.
 */
#ifndef VEER_CONFIG_H
#define VEER_CONFIG_H

#include "load.h"
#include "wait.h"

#define VEER_CONFIG_MAX_BYTES VEER_YAML_MAX_BYTES
#define VEER_CONFIG_MAX_TOTAL_BYTES VEER_LOAD_MAX_TOTAL_BYTES

#define veer_config_load_buffer veer_load_native_buffer
#define veer_config_load_paths_ns veer_load_paths
#define veer_config_load_buffers_ns veer_load_buffers
#define veer_config_load_paths(paths, count, model, note, ctx, err, len)       \
	veer_load_paths(paths, count, NULL, model, note, ctx, err, len)
#define veer_config_load_buffers(names, bufs, lens, count, model, note, ctx,   \
				 err, len)                                     \
	veer_load_buffers(names, bufs, lens, count, NULL, model, note, ctx,    \
			  err, len)

#endif /* VEER_CONFIG_H */
