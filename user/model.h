/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The configuration model: what the config loaders produce, what `veer get`
 * reads back from the maps, and what the map writer turns into map entries.
 * Every source (native YAML, Istio and Kubernetes objects, the object
 * store) feeds this one model and one validator.
 */
#ifndef VEER_MODEL_H
#define VEER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "veer_abi.h"

/* Where a service was defined, for "file:line:col: message" errors. */
struct veer_src_loc {
	char file[256];
	unsigned int line; /* 1-based; 0 when unknown (e.g. read from maps) */
	unsigned int column; /* 1-based */
};

struct veer_subset_model {
	char name[VEER_SUBSET_NAME_MAX];
	unsigned int weight; /* 0 ..= VEER_WEIGHT_TOTAL */
	unsigned int backend_count;
	struct veer_backend
		*backends; /* malloc'd, map layout (network order) */
	struct veer_src_loc loc;
};

/*
 * Where an Istio service's default-route weights were written: the
 * VirtualService and its route spec.http[index] (spec.tcp when tcp), and
 * the destination host as written there. `veer weight` writes new weights
 * back to it. vs_name[0] == 0: none (no VirtualService, native config, or
 * read back from the maps).
 */
struct veer_route_ref {
	char vs_ns[64];
	char vs_name[254];
	bool tcp;
	unsigned int index;
	char dest_host[VEER_NAME_MAX];
};

struct veer_service_model {
	/* Unique. Native config: as written. Istio: the host, or "host:port"
	 * (and "/ipv6") when one host has several VIP:port entries. */
	char name[VEER_NAME_MAX];
	/* The host the entry serves (Istio config); "" for native config. */
	char host[VEER_NAME_MAX];
	struct veer_svc_key key; /* VIP, port (network order), proto, family */
	uint16_t flags; /* VEER_SVC_F_* */
	unsigned int subset_count;
	struct veer_subset_model subsets[VEER_MAX_SUBSETS];
	struct veer_src_loc loc;
	/*
	 * Match rules tried before the subset weights (the default route), in
	 * order; weights index this service's subsets. malloc'd.
	 */
	unsigned int rule_count;
	struct veer_rule *rules;
	struct veer_route_ref route;
	/* Filled only when read back from the maps; 0 otherwise. */
	uint32_t id;
	uint32_t generation;
};

/*
 * A service entry that is not the live one of its service id: the entry
 * an apply stopped between publishing a service at its new VIP:port and
 * deleting it from the old one still answers at the old key. Readers set
 * such entries aside (each service is read once); apply deletes them.
 */
struct veer_stale_entry {
	struct veer_svc_key key;
	uint32_t id;
};

struct veer_model {
	struct veer_service_model *services; /* malloc'd array */
	size_t count;
	size_t capacity;
	/* Filled only by the full read of the maps; malloc'd. */
	struct veer_stale_entry *stale;
	size_t stale_count;
};

/* Kubernetes hosts: NAME.NAMESPACE plus this. */
#define VEER_KUBE_DOMAIN ".svc.cluster.local"

/* The NAMESPACE of a host NAME.NAMESPACE.svc.cluster.local into buf, or
 * NULL (buf "") for any other host. */
const char *veer_host_namespace(const char *host, char *buf, size_t len);

void veer_model_init(struct veer_model *model);
void veer_model_free(struct veer_model *model);
/* Frees what one service owns (backends, rules); the slot stays. */
void veer_model_free_service(struct veer_service_model *svc);

/*
 * Appends a zeroed service and returns it, or NULL when out of memory. The
 * array may move: pointers into model->services do not survive a call.
 */
struct veer_service_model *veer_model_add_service(struct veer_model *model);

/* Appends a rule; 0, or -1 when VEER_MAX_RULES are there or no memory. */
int veer_service_add_rule(struct veer_service_model *svc,
			  const struct veer_rule *rule);

/* Appends a backend to a subset; 0, or -1 when full or out of memory. */
int veer_subset_add_backend(struct veer_subset_model *subset,
			    const struct veer_backend *backend);

struct veer_service_model *veer_model_find(const struct veer_model *model,
					   const char *name);
int veer_service_find_subset(const struct veer_service_model *svc,
			     const char *name); /* index or -1 */

/*
 * Deep copy of one service into another model (for snapshots); 0, or -1
 * when out of memory. src may point into dst.
 */
int veer_model_copy_service(struct veer_model *dst,
			    const struct veer_service_model *src);

/*
 * Checks one service: name charset and length, 1..VEER_MAX_SUBSETS subsets
 * with unique names, weights summing to VEER_WEIGHT_TOTAL, backends of the
 * VIP's family, at most VEER_MAX_BACKENDS_PER_SUBSET each, no duplicate
 * backend within a subset, port non-zero; also proto TCP, only known flags,
 * and no VIP or backend that can never match (unspecified, IPv4-mapped).
 * On error writes one line (prefixed "file:line:col: " when the location
 * is known, that of the subset for subset errors) and returns -1.
 */
int veer_service_validate(const struct veer_service_model *svc, char *err,
			  size_t errlen);

/*
 * Checks the whole model: every service, plus no two services with the same
 * name or the same VIP:port. Same error convention; a duplicate is reported
 * at the later of the two definitions.
 */
int veer_model_validate(const struct veer_model *model, char *err,
			size_t errlen);

/* Writes "file:line:col: " for loc into buf (empty if loc unknown). */
void veer_loc_prefix(const struct veer_src_loc *loc, char *buf, size_t len);

#endif /* VEER_MODEL_H */
