// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC (clsact) entry points. Attached to the interface clients arrive on:
 * ingress translates client -> VIP into client -> backend, egress translates
 * the backend's replies back, whatever interface the backends sit behind.
 */
#define VEER_CTX_SKB
/*
 * Only UAPI layouts are read here (packet headers, __sk_buff), which never
 * move, so no CO-RE relocations: the object then loads on kernels built
 * without BTF too.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "lib/lb.h"

SEC("tc")
int veer_tc_ingress(struct __sk_buff *skb)
{
	return veer_lb_forward(skb);
}

SEC("tc")
int veer_tc_egress(struct __sk_buff *skb)
{
	return veer_lb_reverse(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
