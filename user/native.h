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
int veer_native_add_tree(const struct veer_ytree *tree, const bool *only,
			 struct veer_model *model, char *err, size_t errlen);

#endif /* VEER_NATIVE_H */
