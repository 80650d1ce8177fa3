/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_BPF_STATS_H
#define VEER_BPF_STATS_H

#include "map_defs.h"

/* Per-CPU row, so increments need no atomics. NULL if the id is too big. */
static __always_inline struct veer_stats *veer_stats_row(__u32 svc_id,
							 __u32 row)
{
	__u32 index = svc_id * VEER_STATS_ROWS_PER_SVC + row;

	return bpf_map_lookup_elem(&veer_stats, &index);
}

/* A service's HTTP routing counters (per CPU). NULL if the id is too big. */
static __always_inline struct veer_http_stats *veer_http_stats_of(__u32 svc_id)
{
	return bpf_map_lookup_elem(&veer_http_stats, &svc_id);
}
#endif /* VEER_BPF_STATS_H */
