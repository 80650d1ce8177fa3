/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted subset and backend choice. Pure functions of the flow hash and the
 * service value, shared by every BPF entry point and by the unit tests, so
 * the math the tests check is the math the kernel runs.
 */
#ifndef VEER_SELECT_H
#define VEER_SELECT_H

#include "veer_abi.h"
#include "veer_hash.h"

#define VEER_SELECT_NONE 0xff

/*
 * Connection hash: both addresses and both ports, or only the client address
 * when the service asks for source-IP affinity. Seeded per load so the
 * mapping from clients to backends cannot be predicted from outside.
 */
static __always_inline __u32 veer_flow_hash(const union veer_addr *saddr,
					    const union veer_addr *daddr,
					    __be16 sport, __be16 dport,
					    __u16 svc_flags, __u32 seed)
{
	__u32 words[9];

	words[0] = saddr->words[0];
	words[1] = saddr->words[1];
	words[2] = saddr->words[2];
	words[3] = saddr->words[3];
	if (svc_flags & VEER_SVC_F_HASH_SRC_IP) {
		words[4] = words[5] = words[6] = words[7] = words[8] = 0;
	} else {
		words[4] = daddr->words[0];
		words[5] = daddr->words[1];
		words[6] = daddr->words[2];
		words[7] = daddr->words[3];
		words[8] = ((__u32)sport << 16) | dport;
	}
	return veer_jhash_9words(words, seed);
}

/*
 * Subset i owns the hash buckets [sum(w[0..i-1]), sum(w[0..i])) of
 * VEER_WEIGHT_TOTAL. The comparison is a strict '<', so a weight-0 subset
 * owns an empty range and receives exactly nothing.
 */
static __always_inline __u8 veer_select_subset(const struct veer_service *svc,
					       __u32 hash)
{
	__u32 bucket = hash % VEER_WEIGHT_TOTAL;
	__u32 cumulative = 0;
	__u32 i;

	for (i = 0; i < VEER_MAX_SUBSETS; i++) {
		if (i >= svc->subset_count)
			break;
		cumulative += svc->subsets[i].weight;
		if (bucket < cumulative)
			return (__u8)i;
	}
	return VEER_SELECT_NONE;
}

/*
 * As veer_select_subset, by a matched HTTP rule's own weights (one per
 * subset of the service, summing to VEER_WEIGHT_TOTAL).
 */
static __always_inline __u8 veer_select_by_weights(const __u8 *weights,
						   __u8 subset_count,
						   __u32 hash)
{
	__u32 bucket = hash % VEER_WEIGHT_TOTAL;
	__u32 cumulative = 0;
	__u32 i;

	for (i = 0; i < VEER_MAX_SUBSETS; i++) {
		if (i >= subset_count)
			break;
		cumulative += weights[i];
		if (bucket < cumulative)
			return (__u8)i;
	}
	return VEER_SELECT_NONE;
}

/*
 * Backend within the subset: a second, independent hash so the backend
 * choice is not correlated with the subset bucket.
 */
static __always_inline __u32 veer_backend_hash(__u32 flow_hash, __u32 seed)
{
	return veer_jhash_2words(flow_hash, 0x6261636bU /* "back" */, seed);
}

static __always_inline int veer_bucket_stable(const struct veer_service *svc,
					      __u32 bucket)
{
	__u32 word = bucket / 32;

	/*
	 * The verifier does not bound a modulo's result, and the compiler
	 * would drop a mask it can prove redundant: hide the value from the
	 * compiler, then mask it, so the index is provably in range.
	 */
	asm volatile("" : "+r"(word));
	word &= VEER_STABLE_BUCKET_WORDS - 1;
	return (svc->stable_buckets[word] >> (bucket % 32)) & 1;
}

/*
 * Whether a flow with this hash, which placement sends to `subset`, would
 * have gone to the same subset and the same backend under every
 * configuration the service ever had: then it can be placed again after
 * its conntrack entry was lost without knowing when it started.
 */
static __always_inline int veer_placement_stable(const struct veer_service *svc,
						 __u32 hash, __u8 subset)
{
	if (subset >= VEER_MAX_SUBSETS)
		return 0;
	return veer_bucket_stable(svc, hash % VEER_WEIGHT_TOTAL) &&
	       ((svc->stable_backends >> subset) & 1);
}

/*
 * The placement history of a service value about to replace `old` (NULL:
 * a new service, whose history starts clean). `backends_changed` has bit s
 * set when subset s's backend list differs from old's. Stability is only
 * ever lost: a bucket that once chose another subset may carry flows of
 * either, whatever the weights do later.
 */
static inline void veer_history_update(const struct veer_service *old,
				       struct veer_service *next,
				       __u8 backends_changed)
{
	__u32 b, w;

	if (!old) {
		for (w = 0; w < VEER_STABLE_BUCKET_WORDS; w++)
			next->stable_buckets[w] = 0;
		for (b = 0; b < VEER_WEIGHT_TOTAL; b++)
			next->stable_buckets[b / 32] |= 1U << (b % 32);
		next->stable_backends = 0xff;
		return;
	}
	for (w = 0; w < VEER_STABLE_BUCKET_WORDS; w++)
		next->stable_buckets[w] = old->stable_buckets[w];
	next->stable_backends = old->stable_backends & (__u8)~backends_changed;
	if ((old->flags ^ next->flags) & VEER_SVC_F_HASH_SRC_IP) {
		/* Another hash input: every flow may now land elsewhere. */
		for (w = 0; w < VEER_STABLE_BUCKET_WORDS; w++)
			next->stable_buckets[w] = 0;
		next->stable_backends = 0;
		return;
	}
	for (b = 0; b < VEER_WEIGHT_TOTAL; b++)
		if (veer_select_subset(old, b) != veer_select_subset(next, b))
			next->stable_buckets[b / 32] &= ~(1U << (b % 32));
}

#endif /* VEER_SELECT_H */
