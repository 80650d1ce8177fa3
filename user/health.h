/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the data plane's health signals (struct veer_health). */
#ifndef VEER_HEALTH_H
#define VEER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "maps.h"
#include "veer_abi.h"

/* Every field of struct veer_health is a __u64 that sums. */
#define VEER_HEALTH_WORDS (sizeof(struct veer_health) / sizeof(__u64))

void veer_health_add(struct veer_health *sum, const struct veer_health *row);

/*
 * One service's rows (as veer_maps_read_stats; one shared copy, no
 * per-CPU sum). All zero when the maps have no veer_health (fd -1).
 */
int veer_maps_read_health(const struct veer_maps *maps, uint32_t svc_id,
			  struct veer_health rows[VEER_STATS_ROWS_PER_SVC],
			  char *err, size_t errlen);

/* The upper bound of histogram bucket b in seconds; b < last. */
double veer_hist_le_seconds(unsigned int b);

/*
 * The pct-th percentile of a log2 histogram, as the bound of the bucket
 * that holds it (at most twice the true value): NAN when the histogram is
 * empty, INFINITY when it falls in the open last bucket.
 */
double veer_hist_percentile(const __u64 hist[VEER_HIST_BUCKETS],
			    unsigned int pct);

/*
 * Connections of a row whose outcome the data plane saw: completed
 * handshakes, aborted or unanswered ones, drops for want of a backend.
 * None with new connections: they were placed at connect() only (cgroup
 * mode), which sees neither a handshake, a failure nor a close.
 */
uint64_t veer_health_outcomes(const struct veer_stats *row,
			      const struct veer_health *h);

#endif /* VEER_HEALTH_H */
