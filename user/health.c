// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "health.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void veer_health_add(struct veer_health *sum, const struct veer_health *row)
{
	size_t f;

	for (f = 0; f < VEER_HEALTH_WORDS; f++)
		((__u64 *)sum)[f] += ((const __u64 *)row)[f];
}

int veer_maps_read_health(const struct veer_maps *maps, uint32_t svc_id,
			  struct veer_health rows[VEER_STATS_ROWS_PER_SVC],
			  char *err, size_t errlen)
{
	uint32_t row, index;

	memset(rows, 0, sizeof(*rows) * VEER_STATS_ROWS_PER_SVC);
	if (maps->health < 0)
		return 0;
	for (row = 0; row < VEER_STATS_ROWS_PER_SVC; row++) {
		index = svc_id * VEER_STATS_ROWS_PER_SVC + row;
		if (bpf_map_lookup_elem(maps->health, &index, &rows[row])) {
			snprintf(err, errlen, "cannot read health row %u: %s",
				 index, strerror(errno));
			return -1;
		}
	}
	return 0;
}

double veer_hist_le_seconds(unsigned int b)
{
	/* Bucket b holds durations under 2^b microseconds (veer_abi.h). */
	return (double)(1ULL << b) / 1e6;
}

double veer_hist_percentile(const __u64 hist[VEER_HIST_BUCKETS],
			    unsigned int pct)
{
	uint64_t total = 0, seen = 0;
	unsigned int b;

	for (b = 0; b < VEER_HIST_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return NAN;
	for (b = 0; b + 1 < VEER_HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen * 100 >= total * pct)
			return veer_hist_le_seconds(b);
	}
	return INFINITY;
}

uint64_t veer_health_outcomes(const struct veer_stats *row,
			      const struct veer_health *h)
{
	return row->ct_established + row->ct_aborted + row->no_backend +
	       h->syn_unanswered;
}
