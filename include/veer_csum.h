/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum arithmetic (RFC 1071) and incremental update (RFC 1624,
 * eqn. 3: HC' = ~(~HC + ~m + m')). Used where no skb-aware helper exists
 * (XDP, tests); the TC path uses bpf_l3/l4_csum_replace, which also handle
 * CHECKSUM_PARTIAL skbs.
 */
#ifndef VEER_CSUM_H
#define VEER_CSUM_H

#include "veer_types.h"

static __always_inline __u16 veer_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Ones'-complement sum of 16-bit words in network order, not folded. */
static __always_inline __u32 veer_csum_add16(__u32 sum, __u16 word)
{
	return sum + word;
}

/*
 * Replace `old` (n 16-bit words) by `new` under checksum field *check. All
 * values are raw network-order halves, as they sit in the packet.
 */
static __always_inline void veer_csum_replace_words(__sum16 *check,
						    const __u16 *old,
						    const __u16 *new,
						    unsigned int nwords)
{
	__u32 sum = (__u16) ~*check;
	unsigned int i;

	for (i = 0; i < nwords && i < 8; i++) {
		sum = veer_csum_add16(sum, (__u16)~old[i]);
		sum = veer_csum_add16(sum, new[i]);
	}
	*check = (__sum16)~veer_csum_fold(sum);
}

/*
 * Adds a ones'-complement difference (as bpf_csum_diff returns it: the
 * unfolded sum of ~old words and new words) to checksum field *check.
 */
static __always_inline void veer_csum_add_diff(__sum16 *check, __u32 diff)
{
	__u64 sum = (__u16) ~*check;

	sum += diff & 0xffff;
	sum += diff >> 16;
	sum = (sum & 0xffff) + (sum >> 16);
	*check = (__sum16)~veer_csum_fold((__u32)sum);
}

#endif /* VEER_CSUM_H */
