/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * veer's native format -> model: documents with a top-level `services:`
 * list. load.c decides which documents are native; this knows the schema.
 */
#ifndef VEER_NATIVE_H
#define VEER_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"
#include "yaml_tree.h"

/*
 * Appends the services of every document of tree, or of those documents i
 * with only[i] when only is not NULL (a file that also holds Kubernetes
 * objects), to *model. Fields and documents are checked here; the model's
 * rules (weights, duplicates, families) are checked by whoever holds the
 * whole model (veer_model_validate). A tree with no services is an error.
 * Returns 0, or -1 with one line "file:line:col: message" in err; then
 * *model may hold some of the services: load.c loads into a scratch model
 * that it throws away.
 */
/*
 * One document of native config (root), or one service of its services
 * list (service), appended to *model; the checks of a whole file are
 * veer_native_check's. 0, or -1 with one line in err.
 */
int veer_native_add_document(const struct veer_ynode *root, bool service,
			     struct veer_model *model, char *err,
			     size_t errlen);

/*
 * A file's checks once all its documents are in: services from first on
 * (none: "no services defined"), subsets that take connections have
 * backends. 0, or -1 with one line in err.
 */
int veer_native_check(const char *file, const struct veer_model *model,
		      size_t first, char *err, size_t errlen);

int veer_native_add_tree(const struct veer_ytree *tree, const bool *only,
			 struct veer_model *model, char *err, size_t errlen);

#endif /* VEER_NATIVE_H */
