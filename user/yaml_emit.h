/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * yaml_tree nodes written back as block YAML that reads back to the same
 * tree (same structure, same scalar kinds and texts): how the object store
 * keeps objects and how `veer get KIND -o yaml` shows them. Comments,
 * quoting style and flow style are not kept; mapping order is.
 */
#ifndef VEER_YAML_EMIT_H
#define VEER_YAML_EMIT_H

#include <stddef.h>
#include <stdio.h>
#include "yaml_tree.h"

/* A double-quoted scalar ('"', '\' and control characters escaped). */
void veer_yaml_emit_string(FILE *out, const char *text, size_t len);

/* A scalar, plain when its text reads back as the same kind. */
void veer_yaml_emit_scalar(FILE *out, const struct veer_ynode *node);

/*
 * node as a whole document (no "---"), '\n'-terminated, into a malloc'd
 * buffer. 0, or -1 when out of memory.
 */
int veer_yaml_emit_document(const struct veer_ynode *node, char **text,
			    size_t *len);

/* node as one line of JSON (no newline): `veer get KIND -o json`. */
void veer_yaml_emit_json(FILE *out, const struct veer_ynode *node);

#endif /* VEER_YAML_EMIT_H */
