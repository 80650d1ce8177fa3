/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Configuration files -> model. */
#ifndef VEER_CONFIG_H
#define VEER_CONFIG_H

#include <stddef.h>
#include "diag.h"
#include "model.h"

/* Larger files are refused before parsing (bounded memory and time). */
#define VEER_CONFIG_MAX_BYTES (16 * 1024 * 1024)
/* All inputs of one load together. */
#define VEER_CONFIG_MAX_TOTAL_BYTES (4 * VEER_CONFIG_MAX_BYTES)

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

/*
 * Loads every path (a file, or a directory: its *.yaml / *.yml / *.json
 * files, sorted by name, not recursive; "-" is standard input) into *model.
 * A file whose documents have `kind:` is Kubernetes/Istio YAML; one with a
 * top-level `services:` is veer native format (veer_config_load_buffer).
 * Istio objects from ALL paths are collected first and resolved together
 * (a VirtualService in one file, its DestinationRule and ServiceEntry in
 * others). Notes are handed to `note` (may be NULL) only on success.
 * Returns 0, or -1 with one line "file:line:col: message" in err; on error
 * *model is unchanged.
 */
int veer_config_load_paths(const char *const *paths, size_t count,
			   struct veer_model *model, veer_note_fn note,
			   void *note_ctx, char *err, size_t errlen);

/* Same over in-memory buffers (names stand in for file names). */
int veer_config_load_buffers(const char *const *names, const char *const *bufs,
			     const size_t *lens, size_t count,
			     struct veer_model *model, veer_note_fn note,
			     void *note_ctx, char *err, size_t errlen);

/*
 * As the two above, with the namespace that objects without
 * metadata.namespace belong to (kubectl's -n; NULL means "default").
 */
int veer_config_load_paths_ns(const char *const *paths, size_t count,
			      const char *default_namespace,
			      struct veer_model *model, veer_note_fn note,
			      void *note_ctx, char *err, size_t errlen);
int veer_config_load_buffers_ns(const char *const *names,
				const char *const *bufs, const size_t *lens,
				size_t count, const char *default_namespace,
				struct veer_model *model, veer_note_fn note,
				void *note_ctx, char *err, size_t errlen);

/*
 * How long veer waits on another process before it gives up: a writer for
 * the pin root's lock, a FIFO given to `apply -f` for its writer. From
 * $VEER_WAIT (seconds, up to 3 decimals, 0..3600; default 10). 0, or -1
 * with a one-line message when the variable is malformed.
 */
#define VEER_WAIT_ENV "VEER_WAIT"
#define VEER_WAIT_DEFAULT_MS 10000U
#define VEER_WAIT_MAX_S 3600U
int veer_wait_ms(unsigned int *ms, char *err, size_t errlen);
/* A wait as seconds for messages: "10", "0.5". */
#define VEER_WAIT_STRLEN 16
void veer_wait_format(unsigned int ms, char *buf, size_t len);

#endif /* VEER_CONFIG_H */
