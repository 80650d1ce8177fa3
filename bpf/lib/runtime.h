/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Values all programs share, read from the pinned veer_runtime map rather
 * than compiled in: the TC and XDP objects load separately and must hash
 * alike, and a reload must keep placing flows as before. Read once per new
 * connection or close, never per packet.
 */
#ifndef VEER_BPF_RUNTIME_H
#define VEER_BPF_RUNTIME_H

#include "map_defs.h"

static __always_inline __u32 veer_hash_seed(void)
{
	const struct veer_runtime *rt;
	__u32 zero = 0;

	rt = bpf_map_lookup_elem(&veer_runtime, &zero);
	return rt ? rt->hash_seed : 0;
}

static __always_inline __u64 veer_ct_close_grace_ns(void)
{
	const struct veer_runtime *rt;
	__u32 zero = 0;

	rt = bpf_map_lookup_elem(&veer_runtime, &zero);
	return rt && rt->ct_close_grace_ns
		       ? rt->ct_close_grace_ns
		       : VEER_DEFAULT_CT_CLOSE_GRACE_MS * 1000000ULL;
}

#endif /* VEER_BPF_RUNTIME_H */
