/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Istio and Kubernetes objects -> model: VirtualService, DestinationRule,
 * ServiceEntry, WorkloadEntry, Service and Pod, from any number of files,
 * resolved together. load.c is the front door (veer_load_paths,
 * veer_load_config); this is the part that knows the objects.
 */
#ifndef VEER_ISTIO_H
#define VEER_ISTIO_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "model.h"
#include "yaml_tree.h"

/* How the notes on what header/uri rules cannot do begin. */
#define VEER_RULES_NOTE_PREFIX "header/uri rules: "

/* Where objects without metadata.namespace live, as with kubectl. */
#define VEER_ISTIO_DEFAULT_NAMESPACE "default"
#define VEER_ISTIO_NS_MAX 64 /* DNS label (63) + NUL */
#define VEER_ISTIO_NAME_MAX 254 /* DNS subdomain (253) + NUL */

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

/*
 * One object (obj must outlive ist), as an item of a List (in_list: a List
 * is refused) or a document of its own. Same contract.
 */
int veer_istio_add_object(struct veer_istio *ist, const struct veer_ynode *obj,
			  bool in_list, char *err, size_t errlen);

/*
 * What veer reads of a Kubernetes Service or Pod (obj), the only fields
 * kept of them: the API server's dumps carry many more (status,
 * managedFields, annotations). NULL for every other object.
 */
const struct veer_ykeep *veer_istio_kept_fields(const struct veer_ynode *obj);

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

/* What one document is to veer_istio_object_id. */
enum veer_istio_doc {
	VEER_ISTIO_DOC_OBJECT, /* an object of a kind veer acts on */
	VEER_ISTIO_DOC_LIST, /* a List: each of its items is an object */
	VEER_ISTIO_DOC_SKIPPED, /* a kind veer skips, or an empty document */
};

/* The key an object is known by, as with kubectl: (kind, namespace, name). */
struct veer_istio_object_id {
	const char *kind; /* canonical: "VirtualService", "Service", ... */
	char ns[VEER_ISTIO_NS_MAX]; /* default_namespace when none given */
	char name[VEER_ISTIO_NAME_MAX];
	const struct veer_ynode *node; /* the object, for file:line:col */
	const struct veer_ynode *items; /* VEER_ISTIO_DOC_LIST: its items */
};

/*
 * One document's identity, without building anything: the checks
 * veer_istio_add_tree makes on apiVersion, kind and metadata, with the
 * same messages, in the same order; the spec is not read. For a List
 * (kind List, or ServiceList, PodList, ... with items), out->items is its
 * list of items (NULL when items is absent or null): each item is an
 * object like any other document, to be passed to this function in turn
 * (veer_istio_add_tree refuses an item that is itself a List). Returns an
 * enum veer_istio_doc, or -1 with one line "file:line:col: message" in
 * err. default_namespace NULL or "" means "default".
 */
int veer_istio_object_id(const struct veer_ynode *doc,
			 const char *default_namespace,
			 struct veer_istio_object_id *out, char *err,
			 size_t errlen);

#endif /* VEER_ISTIO_H */
