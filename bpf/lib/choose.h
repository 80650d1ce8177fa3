/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Subset and backend choice for one connection, independent of any packet
 * or socket context: the packet paths (TC, XDP) and the socket path
 * (cgroup connect) all place connections through this one function.
 */
#ifndef VEER_BPF_CHOOSE_H
#define VEER_BPF_CHOOSE_H

#include "runtime.h"
#include "map_defs.h"
#include "stats.h"
#include "veer_select.h"

/*
 * The backend for a connection whose flow hash is `hash`, or NULL (counted
 * in no_backend) when the chosen subset has none of `family`. *subset gets
 * the subset index. `weights`: a matched HTTP rule's, or NULL for the
 * service's default route.
 */
static __always_inline const struct veer_backend *
veer_choose_backend_by(const struct veer_service *svc, const __u8 *weights,
		       __u32 hash, __u32 seed, __u8 family, __u8 *subset)
{
	const struct veer_backend *backend = NULL;
	struct veer_stats *stats;
	__u32 index;
	__u8 chosen;

	chosen = weights ? veer_select_by_weights(weights, svc->subset_count,
						  hash)
			 : veer_select_subset(svc, hash);
	if (chosen < VEER_MAX_SUBSETS) {
		const struct veer_subset *sub =
			&svc->subsets[chosen & (VEER_MAX_SUBSETS - 1)];

		if (sub->backend_count) {
			index = sub->backend_base +
				veer_backend_hash(hash, seed) %
					sub->backend_count;
			backend = bpf_map_lookup_elem(&veer_backends, &index);
		}
	}
	*subset = chosen;
	if (backend && backend->family == family)
		return backend;
	stats = veer_stats_row(svc->id, chosen < VEER_MAX_SUBSETS
						? chosen
						: VEER_STATS_ROW_UNATTRIBUTED);
	if (stats)
		stats->no_backend++;
	return NULL;
}

/* By the service's default weights. */
static __always_inline const struct veer_backend *
veer_choose_backend(const struct veer_service *svc, __u32 hash, __u32 seed,
		    __u8 family, __u8 *subset)
{
	return veer_choose_backend_by(svc, NULL, hash, seed, family, subset);
}
#endif /* VEER_BPF_CHOOSE_H */
