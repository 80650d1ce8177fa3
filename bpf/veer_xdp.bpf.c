// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP entry point: the same service lookup, placement, conntrack and DNAT
 * as TC ingress, before an skb exists. Replies still leave through the TC
 * egress program of the same interface, which shares every map.
 */
#define VEER_CTX_XDP
/* Only UAPI layouts are read: no CO-RE relocations, no BTF needed. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "lib/lb.h"

SEC("xdp")
int veer_xdp_ingress(struct xdp_md *ctx)
{
	return veer_lb_forward(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
