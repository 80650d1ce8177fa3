/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Input documents -> the objects the store keeps: each Istio/Kubernetes
 * object (each item of a List) and each veer native service becomes one
 * keyed object whose text is its canonical YAML, with its namespace
 * written in (an object applied with -n NS stays in NS whatever later
 * commands say). Also the kinds' kubectl names (vs, dr, svc, ...).
 */
#ifndef VEER_OBJECTS_H
#define VEER_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include "objset.h"
#include "yaml_tree.h"

/* The kind of a native service in the store (it has no namespace). */
#define VEER_NATIVE_KIND "VeerService"

/*
 * The canonical kind an argument names, as kubectl reads it: the kind in
 * any case, its plural, its short name (vs, dr, se, we, svc, po), or
 * KIND.GROUP (virtualservices.networking.istio.io). NULL when none.
 */
const char *veer_kind_canonical(const char *arg);

/* Whether objects of the kind live in a namespace. */
bool veer_kind_namespaced(const char *kind);

/* "VirtualService, DestinationRule, ..." for messages. */
const char *veer_kind_list(void);

/*
 * Puts the objects of one Istio/Kubernetes document (a List's items one
 * by one; in_list: doc is an item of a List) into *set; skipped kinds add
 * nothing. default_namespace NULL means "default". With hosts, the hosts the
 * objects define or route go there too (keys of kind "host", named by the
 * FQDN). 0, or -1 with one line in err (out of memory, or what
 * veer_istio_object_id refuses).
 */
int veer_objects_add_istio_doc(struct veer_objset *set,
			       const struct veer_ynode *doc,
			       const char *default_namespace, bool in_list,
			       struct veer_objset *hosts, char *err,
			       size_t errlen);

/*
 * Puts each service of one native document into *set, keyed by its name
 * (kind VEER_NATIVE_KIND). Items without a string name are left to the
 * native loader to refuse. 0, or -1 when out of memory.
 */
int veer_objects_add_native_service(struct veer_objset *set,
				    const struct veer_ynode *service, char *err,
				    size_t errlen);
int veer_objects_add_native_doc(struct veer_objset *set,
				const struct veer_ynode *doc, char *err,
				size_t errlen);

/* One destination of a route being rewritten by veer_objects_set_route. */
struct veer_route_weight {
	const char *subset;
	unsigned int weight;
};

/*
 * A stored VirtualService (text) with the destinations of its route
 * spec.http[index] (or spec.tcp[index] when tcp) replaced by `host`'s
 * subsets and weights, in that order: how `veer weight` writes through to
 * the store. Every other field of the object is kept. *out is malloc'd.
 * 0, or -1 with one line in err (the text does not parse, or has no such
 * route).
 */
int veer_objects_set_route(const char *name, const char *text, size_t len,
			   bool tcp, unsigned int index, const char *host,
			   const struct veer_route_weight *weights,
			   size_t count, char **out, size_t *out_len, char *err,
			   size_t errlen);

/*
 * A stored native service (text) with the weights of the subsets named
 * in weights set: `veer weight` on a native service. 0, or -1 with err.
 */
int veer_objects_set_native_weights(const char *name, const char *text,
				    size_t len,
				    const struct veer_route_weight *weights,
				    size_t count, char **out, size_t *out_len,
				    char *err, size_t errlen);

#endif /* VEER_OBJECTS_H */
