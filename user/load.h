/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The loader's front door: every input of `veer apply -f` (files,
 * directories, "-" for standard input, FIFOs), each document handed to the
 * loader of its format (native.h, istio.h), one model out. The loaders
 * check fields and documents; the model as a whole is validated once, by
 * the planner that is given it (veer_model_validate).
 */
#ifndef VEER_LOAD_H
#define VEER_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "model.h"
#include "objset.h"
#include "yaml_tree.h"

/*
 * Inputs are read one object at a time (a document, a List's item, a
 * native service), each within the limits of yaml_tree.h, each input
 * within VEER_YAML_MAX_STREAM_BYTES, and all of them together hold at most
 * this many objects.
 */
#define VEER_LOAD_MAX_OBJECTS 2000000

/*
 * Loads every path (a file, or a directory: its *.yaml / *.yml / *.json
 * files, sorted by name, not recursive; "-" is standard input) into *model.
 * A document with `kind:` is a Kubernetes/Istio object, one with a
 * top-level `services:` is veer native format; a file may hold both.
 * Istio objects from ALL paths are collected first and resolved together
 * (a VirtualService in one file, its DestinationRule and ServiceEntry in
 * others); their services go after the native ones. default_namespace is
 * where objects without metadata.namespace belong (kubectl's -n; NULL
 * means "default"). Notes are handed to `note` (may be NULL) only on
 * success. Returns 0, or -1 with one line "file:line:col: message" in err;
 * on error *model is unchanged.
 */
int veer_load_paths(const char *const *paths, size_t count,
		    const char *default_namespace, struct veer_model *model,
		    veer_note_fn note, void *note_ctx, char *err,
		    size_t errlen);

/* The same over in-memory buffers (names stand in for file names). */
int veer_load_buffers(const char *const *names, const char *const *bufs,
		      const size_t *lens, size_t count,
		      const char *default_namespace, struct veer_model *model,
		      veer_note_fn note, void *note_ctx, char *err,
		      size_t errlen);

/*
 * One buffer of veer native format alone (no format detection, no Istio),
 * appended to *model: the native loader's own entry, for tests and for
 * models built in code. Same contract as veer_load_buffers.
 */
int veer_load_native_buffer(const char *name, const char *buf, size_t len,
			    struct veer_model *model, char *err, size_t errlen);

/*
 * Reads one file whole ("-": standard input) within VEER_YAML_MAX_BYTES
 * into *buf (malloc'd; free it). A FIFO waits at most $VEER_WAIT for its
 * writer (wait.h), then is read to its end. 0, or -1 with "path: message"
 * in err.
 */
int veer_load_read_file(const char *path, char **buf, size_t *len, char *err,
			size_t errlen);

/*
 * What `apply -f DIR` reads of a directory: a config file's name (not
 * hidden; *.yaml, *.yml or *.json), and the directory's config files as
 * "dir/name", sorted by name, not recursing (*out and each name malloc'd;
 * none is an error). 0, or -1 with one line in err.
 */
bool veer_config_file_name(const char *name);
int veer_config_dir_list(const char *dir, char ***out, size_t *count, char *err,
			 size_t errlen);

/* Stored objects' stand-in file names: "stored:VirtualService ns/name". */
#define VEER_STORED_PREFIX "stored:"
#define VEER_STORED_NAME_MAX (sizeof(VEER_STORED_PREFIX) + VEER_OBJECT_ID_MAX)

/* What the configuration is after one change to the object store. */
struct veer_load_request {
	const char *const *paths; /* inputs, as veer_load_paths (may be 0) */
	size_t path_count;
	/* More inputs, in memory, in the store's form (the fleet's objects,
	 * fleet.h), named "etcd:KIND NS/NAME" in errors (may be NULL). */
	const struct veer_objset *objects;
	const char *default_namespace;
	/* The inputs name objects to remove (delete -f); else they define
	 * objects that replace stored ones of the same key (apply). */
	bool inputs_remove;
	/* Stored objects of a kind and namespace the inputs hold, that the
	 * inputs do not hold, are left out and put into *pruned (apply). */
	bool prune;
	const struct veer_objset *stored; /* the store (NULL: empty) */
	const struct veer_objset *removed; /* stored keys left out (or NULL) */
	struct veer_objset *input_objects; /* out: the inputs' objects */
	struct veer_objset *pruned; /* out, with prune */
	/* out: stored objects adopted from the maps (an older veer's) for a
	 * host the inputs' objects name, left out: they give way. */
	struct veer_objset *replaced;
};

/*
 * The model of a whole configuration: the inputs' objects and the stored
 * objects that stay, resolved together (a VirtualService applied now with
 * the DestinationRule and Service stored before). Errors in stored objects
 * name them "stored:KIND NAMESPACE/NAME:line:col"; their notes are not
 * repeated. The model may be empty. Same contract as veer_load_paths.
 */
int veer_load_config(const struct veer_load_request *req,
		     struct veer_model *model, veer_note_fn note,
		     void *note_ctx, char *err, size_t errlen);

/* The objects of one buffer (as an input) into *out. 0, or -1 with err. */
int veer_load_objects(const char *name, const char *buf, size_t len,
		      const char *default_namespace, struct veer_objset *out,
		      char *err, size_t errlen);

#endif /* VEER_LOAD_H */
