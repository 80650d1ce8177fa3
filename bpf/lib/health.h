/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health signals (struct veer_health): failures, the backend handshake
 * time, and for HTTP services the first response's status class and time
 * to first byte. Every event here happens at most a few times per
 * connection; the established path pays one flag test per data segment
 * (conntrack.h) until the pair's first byte each way.
 */
#ifndef VEER_BPF_HEALTH_H
#define VEER_BPF_HEALTH_H

#include "map_defs.h"

/* The row of a service x subset (as veer_stats). NULL if out of range. */
static __always_inline struct veer_health *veer_health_row(__u32 svc_id,
							   __u32 row)
{
	__u32 index = svc_id * VEER_STATS_ROWS_PER_SVC + row;

	return bpf_map_lookup_elem(&veer_health, &index);
}

#define veer_health_count(svc_id, row, field)                                  \
	do {                                                                   \
		struct veer_health *__h = veer_health_row(svc_id, row);        \
		if (__h)                                                       \
			__sync_fetch_and_add(&__h->field, 1);                  \
	} while (0)

/*
 * The log2 bucket of a duration: the bit length of its microseconds
 * (0 us -> 0, 1 us -> 1, [2^(b-1), 2^b) us -> b), capped at the last.
 * Branches, no loop.
 */
static __always_inline __u32 veer_hist_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = 0;

	if (us >> 32)
		return VEER_HIST_BUCKETS - 1;
	if (us >> 16) {
		b += 16;
		us >>= 16;
	}
	if (us >> 8) {
		b += 8;
		us >>= 8;
	}
	if (us >> 4) {
		b += 4;
		us >>= 4;
	}
	if (us >> 2) {
		b += 2;
		us >>= 2;
	}
	if (us >> 1) {
		b += 1;
		us >>= 1;
	}
	b += (__u32)us;
	return b < VEER_HIST_BUCKETS - 1 ? b : VEER_HIST_BUCKETS - 1;
}

static __always_inline void veer_health_handshake(__u32 svc_id, __u32 row,
						  __u64 ns)
{
	struct veer_health *h = veer_health_row(svc_id, row);
	__u32 b = veer_hist_bucket(ns);

	/* The check the verifier needs, kept in the register used. */
	barrier_var(b);
	if (!h || b >= VEER_HIST_BUCKETS)
		return;
	__sync_fetch_and_add(&h->handshake[b], 1);
	__sync_fetch_and_add(&h->handshake_sum_ns, ns);
}

static __always_inline void veer_health_ttfb(struct veer_health *h, __u64 ns)
{
	__u32 b = veer_hist_bucket(ns);

	barrier_var(b);
	if (b >= VEER_HIST_BUCKETS)
		return;
	__sync_fetch_and_add(&h->ttfb[b], 1);
	__sync_fetch_and_add(&h->ttfb_sum_ns, ns);
}

/* What the first bytes of a response segment are. */
#define VEER_STATUS_LINE_LEN 12 /* "HTTP/1.x DDD" */
#define VEER_STATUS_NOT_HTTP 0
#define VEER_STATUS_CUT 6 /* a status line's beginning, cut short */
/* 1 ..= 5: the status class */

/*
 * Classifies the first n (1 ..= VEER_STATUS_LINE_LEN) bytes of a
 * response: each byte is checked against "HTTP/1.x DDD" (x: 0 or 1; the
 * first digit 1-5); a mismatch anywhere is not HTTP, a match of fewer
 * than all 12 bytes is a cut status line.
 */
static __always_inline __u8 veer_status_prefix(__u32 i)
{
	switch (i) {
	case 0:
		return 'H';
	case 1:
	case 2:
		return 'T';
	case 3:
		return 'P';
	case 4:
		return '/';
	case 5:
		return '1';
	default:
		return '.';
	}
}

static __always_inline int veer_status_class(const __u8 *b, __u32 n)
{
	__u32 i;

	for (i = 0; i < VEER_STATUS_LINE_LEN; i++) {
		__u8 c;
		int ok;

		if (i >= n)
			return VEER_STATUS_CUT;
		c = b[i];
		if (i < 7)
			ok = c == veer_status_prefix(i);
		else if (i == 7)
			ok = c == '0' || c == '1';
		else if (i == 8)
			ok = c == ' ';
		else if (i == 9)
			ok = c >= '1' && c <= '5';
		else
			ok = c >= '0' && c <= '9';
		if (!ok)
			return VEER_STATUS_NOT_HTTP;
	}
	return b[9] - '0';
}

#endif /* VEER_BPF_HEALTH_H */
