/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with incremental checksum updates: the IPv4
 * header checksum for the address, the TCP checksum for the address (through
 * the pseudo-header) and the port. Nothing is ever summed over the payload.
 */
#ifndef VEER_BPF_NAT_H
#define VEER_BPF_NAT_H

#include "ctx.h"
#include "parse.h"
#include "tcp.h"

#define VEER_NAT_SRC 0
#define VEER_NAT_DST 1

/*
 * Rewrite the source or destination address and port of `pkt` to
 * addr:port. The caller guarantees addr has the packet's family.
 */
static __always_inline int
veer_nat_rewrite(veer_ctx_t *ctx, const struct veer_pkt *pkt, int which,
		 const union veer_addr *addr, __be16 port)
{
	__u32 csum_off = pkt->l4_off + offsetof(struct tcphdr, check);
	__u32 port_field = which == VEER_NAT_SRC
				   ? offsetof(struct tcphdr, source)
				   : offsetof(struct tcphdr, dest);
	const union veer_addr *old_addr =
		which == VEER_NAT_SRC ? &pkt->saddr : &pkt->daddr;
	__be16 old_port = which == VEER_NAT_SRC ? pkt->sport : pkt->dport;
	__u32 addr_off;

	if (pkt->family == VEER_AF_INET) {
		addr_off =
			pkt->l3_off + (which == VEER_NAT_SRC
					       ? offsetof(struct iphdr, saddr)
					       : offsetof(struct iphdr, daddr));
		if (ctx_l4_csum_replace(ctx, csum_off, old_addr->v4, addr->v4,
					BPF_F_PSEUDO_HDR_FLAG | sizeof(__be32)))
			return -1;
		if (ctx_l3_csum_replace(
			    ctx, pkt->l3_off + offsetof(struct iphdr, check),
			    old_addr->v4, addr->v4, sizeof(__be32)))
			return -1;
		if (ctx_store_bytes(ctx, addr_off, &addr->v4, sizeof(__be32)))
			return -1;
	} else {
		__s64 diff;

		addr_off = pkt->l3_off +
			   (which == VEER_NAT_SRC
				    ? offsetof(struct ipv6hdr, saddr)
				    : offsetof(struct ipv6hdr, daddr));
		/* IPv6 has no header checksum; only the pseudo-header moves. */
		diff = bpf_csum_diff((__be32 *)old_addr->words, VEER_ADDR_LEN,
				     (__be32 *)addr->words, VEER_ADDR_LEN, 0);
		if (diff < 0)
			return -1;
		if (ctx_l4_csum_replace(ctx, csum_off, 0, (__u32)diff,
					BPF_F_PSEUDO_HDR_FLAG))
			return -1;
		if (ctx_store_bytes(ctx, addr_off, addr->bytes, VEER_ADDR_LEN))
			return -1;
	}
	return veer_tcp_set16(ctx, pkt, port_field, old_port, port);
}

#endif /* VEER_BPF_NAT_H */
