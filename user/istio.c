// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio and Kubernetes objects -> model.
 *
 * Two phases. Collection (veer_istio_add_tree) checks each object on its
 * own, in file order, so most mistakes are reported where they were made:
 * types, unknown fields, unsupported features. Resolution
 * (veer_istio_build) joins the objects of all files: hosts to their
 * definitions (ServiceEntry or Service), DestinationRules and
 * VirtualServices to hosts, endpoints (WorkloadEntries, Pods) to
 * definitions, and emits one model service per (host, VIP, port).
 *
 * The input is what users already feed Istio, so where Istio's meaning is
 * clear veer follows it (host short names, subset selection by labels,
 * first matching route wins, protobuf JSON's quoted integers); where veer
 * cannot do what Istio would (proxy features, regex matches, TLS routes),
 * it says so: an error when traffic would go somewhere else than the user
 * asked, a note when only a proxy nicety is lost.
 *
 * This file holds the lifetime of a struct veer_istio; istio_int.h maps
 * the other phases to their files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

/* ---- Memory ---- */

int istio_vec_push(struct ptrvec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **grown;

		if (cap > SIZE_MAX / sizeof(*grown))
			return -1;
		grown = realloc(v->v, cap * sizeof(*grown));
		if (!grown)
			return -1;
		v->v = grown;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

void *istio_zalloc(struct veer_istio *ist, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		n = 1;
	p = calloc(n, size);
	if (!p)
		return NULL;
	if (istio_vec_push(&ist->allocs, p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

struct veer_istio *veer_istio_new(const char *default_namespace)
{
	struct veer_istio *ist = calloc(1, sizeof(*ist));

	if (!ist)
		return NULL;
	snprintf(ist->default_ns, sizeof(ist->default_ns), "%s",
		 default_namespace && *default_namespace
			 ? default_namespace
			 : VEER_ISTIO_DEFAULT_NAMESPACE);
	return ist;
}

void veer_istio_free(struct veer_istio *ist)
{
	size_t i;

	if (!ist)
		return;
	for (i = 0; i < ist->allocs.n; i++)
		free(ist->allocs.v[i]);
	free(ist->allocs.v);
	free(ist->objs.v);
	for (i = 0; i < K_NKINDS; i++)
		free(ist->by_kind[i].v);
	free(ist->hosts.v);
	free(ist->sorted_hosts);
	veer_yreader_free(&ist->rd);
	free(ist);
}

size_t veer_istio_object_count(const struct veer_istio *ist)
{
	return ist->objects;
}

void veer_istio_notes(const struct veer_istio *ist, veer_note_fn fn, void *ctx)
{
	veer_yreader_notes(&ist->rd, fn, ctx);
}

int istio_oom(struct veer_istio *ist)
{
	return veer_yfail(&ist->rd, NULL, "out of memory");
}
