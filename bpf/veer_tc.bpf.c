// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC (clsact) entry points. Attached to the interface clients arrive on:
 * ingress translates client -> VIP into client -> backend, egress translates
 * the backend's replies back, whatever interface the backends sit behind.
 *
 * Services with HTTP rules are bound late (lib/http.h): the L4 programs
 * hand their handshake packets to the HTTP programs by tail call. Those
 * need bpf_loop (5.17+); the loader leaves them out on older kernels, the
 * tail call then falls through, and such services take their default
 * route at the SYN.
 */
#define VEER_CTX_SKB
/*
 * Only UAPI layouts are read here (packet headers, __sk_buff), which never
 * move, so no CO-RE relocations: the object then loads on kernels built
 * without BTF too.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "lib/lb.h"
#include "lib/http.h"

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

SEC("tc")
int veer_tc_http_ingress(struct __sk_buff *skb)
{
	return veer_http_forward(skb);
}

SEC("tc")
int veer_tc_http_egress(struct __sk_buff *skb)
{
	return veer_http_reverse(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
