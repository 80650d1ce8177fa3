/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Istio and Kubernetes objects -> model: VirtualService, DestinationRule,
 * ServiceEntry, WorkloadEntry, Service and Pod, from any number of files,
 * resolved together. config.c is the front door (veer_config_load_paths);
 * this is the part that knows the objects.
 */
#ifndef VEER_ISTIO_H
#define VEER_ISTIO_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "model.h"
#include "yaml_tree.h"

/* Where objects without metadata.namespace live, as with kubectl. */
#define VEER_ISTIO_DEFAULT_NAMESPACE "default"

struct veer_istio;

/* NULL when out of memory. default_namespace NULL means "default". */
struct veer_istio *veer_istio_new(const char *default_namespace);
void veer_istio_free(struct veer_istio *ist);

/*
 * Collects and checks the objects of every document of tree (which must
 * outlive ist), or of those documents i with only[i] when only is not NULL
 * (a file that also holds veer native documents). Other kinds are skipped
 * with a note. 0, or -1 with one line "file:line:col: message" in err.
 */
int veer_istio_add_tree(struct veer_istio *ist, const struct veer_ytree *tree,
			const bool *only, char *err, size_t errlen);

/* Objects collected so far, skipped kinds included. */
size_t veer_istio_object_count(const struct veer_istio *ist);

/*
 * Resolves all collected objects into services appended to *out. 0, or -1
 * with one line in err (then *out holds a partial result: free it).
 */
int veer_istio_build(struct veer_istio *ist, struct veer_model *out, char *err,
		     size_t errlen);

/* Hands every note gathered so far to fn, in order. */
void veer_istio_notes(const struct veer_istio *ist, veer_note_fn fn, void *ctx);

#endif /* VEER_ISTIO_H */
