/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ethernet / IPv4 / IPv6 / TCP parsing into one flat description. Anything
 * veer does not translate (not TCP, fragments, IPv6 routing headers with
 * segments left, other IPv6 extension headers, truncated headers) is
 * reported as "not ours" and passes untouched.
 */
#ifndef VEER_BPF_PARSE_H
#define VEER_BPF_PARSE_H

#include "ctx.h"
#include <bpf/bpf_endian.h>

struct veer_pkt {
	union veer_addr saddr;
	union veer_addr daddr;
	__be16 sport;
	__be16 dport;
	__u32 seq; /* host order */
	__u32 ack_seq; /* host order */
	__u32 payload_len; /* TCP payload bytes */
	/* Ethernet header plus the IP packet as its length fields say: the
	 * whole frame even when XDP sees only its first fragment; without
	 * L2 padding. What the byte counters count. */
	__u32 frame_len;
	__u16 l3_off;
	__u16 l4_off;
	__u8 family;
	__u8 tcp_flags;
	__be16 window; /* as sent (scaled by the sender's shift) */
};

static __always_inline int veer_addr_equal(const union veer_addr *a,
					   const union veer_addr *b)
{
	return a->words[0] == b->words[0] && a->words[1] == b->words[1] &&
	       a->words[2] == b->words[2] && a->words[3] == b->words[3];
}

static __always_inline int veer_parse_tcp(struct veer_pkt *pkt,
					  struct tcphdr *tcp, void *data_end,
					  __u32 l3_len)
{
	__u32 tcp_len;
	__u8 *flags;

	if ((void *)(tcp + 1) > data_end)
		return -1;
	tcp_len = tcp->doff * 4;
	if (tcp_len < TCP_HDR_MIN_LEN || tcp_len > l3_len)
		return -1;
	flags = (__u8 *)tcp + 13; /* the byte holding FIN..CWR */
	pkt->sport = tcp->source;
	pkt->dport = tcp->dest;
	pkt->seq = bpf_ntohl(tcp->seq);
	pkt->ack_seq = bpf_ntohl(tcp->ack_seq);
	pkt->tcp_flags = *flags;
	pkt->window = tcp->window;
	pkt->payload_len = l3_len - tcp_len;
	pkt->frame_len = pkt->l4_off + l3_len;
	return 0;
}

/*
 * Steps over the IPv6 extension headers that leave the packet's addresses
 * and the TCP pseudo-header as they are: hop-by-hop and destination
 * options, and a routing header with no segments left (its destination is
 * final). A fragment header, AH/ESP, or a routing header still on its way
 * means the TCP header is not ours to rewrite. Returns the bytes of
 * extension headers before TCP, or -1.
 */
static __always_inline int veer_skip_ipv6_ext(void *data, void *data_end,
					      __u32 off, __u8 nexthdr)
{
	__u32 ext_len = 0;
	__u8 *ext;
	int i;

	for (i = 0; i < IPV6_EXT_MAX_HDRS; i++) {
		if (nexthdr == IPPROTO_TCP_NUM)
			return (int)ext_len;
		/* RFC 8200 4.3: hop-by-hop only right after the header. */
		if (!(nexthdr == IPV6_NEXTHDR_HOP && i == 0) &&
		    nexthdr != IPV6_NEXTHDR_DEST &&
		    nexthdr != IPV6_NEXTHDR_ROUTING)
			return -1;
		ext = data + off + ext_len;
		if ((void *)(ext + IPV6_EXT_MIN_LEN) > data_end)
			return -1;
		/* Routing header: type, then segments left. */
		if (nexthdr == IPV6_NEXTHDR_ROUTING && ext[3] != 0)
			return -1;
		nexthdr = ext[0];
		ext_len += ((__u32)ext[1] + 1) * IPV6_EXT_MIN_LEN;
		if (ext_len > IPV6_EXT_MAX_BYTES)
			return -1;
	}
	return nexthdr == IPPROTO_TCP_NUM ? (int)ext_len : -1;
}

/* Returns 0 for a TCP packet veer may translate, -1 otherwise. */
static __always_inline int veer_parse(veer_ctx_t *ctx, struct veer_pkt *pkt)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	__u32 l3_len;

	if ((void *)(eth + 1) > data_end)
		return -1;
	pkt->l3_off = sizeof(*eth);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + pkt->l3_off;
		__u32 ihl_len, tot_len;

		if ((void *)(ip + 1) > data_end)
			return -1;
		ihl_len = ip->ihl * 4;
		tot_len = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || ihl_len < IPV4_HDR_MIN_LEN ||
		    tot_len < ihl_len)
			return -1;
		if (ip->protocol != IPPROTO_TCP_NUM)
			return -1;
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return -1;
		pkt->family = VEER_AF_INET;
		__builtin_memset(&pkt->saddr, 0, sizeof(pkt->saddr));
		__builtin_memset(&pkt->daddr, 0, sizeof(pkt->daddr));
		pkt->saddr.v4 = ip->saddr;
		pkt->daddr.v4 = ip->daddr;
		pkt->l4_off = pkt->l3_off + ihl_len;
		tcp = (void *)ip + ihl_len;
		l3_len = tot_len - ihl_len;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + pkt->l3_off;
		int ext_len;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ext_len = veer_skip_ipv6_ext(data, data_end,
					     pkt->l3_off + IPV6_HDR_LEN,
					     ip6->nexthdr);
		if (ext_len < 0 || ext_len > IPV6_EXT_MAX_BYTES)
			return -1;
		l3_len = bpf_ntohs(ip6->payload_len);
		if (l3_len < (__u32)ext_len)
			return -1;
		l3_len -= (__u32)ext_len;
		pkt->family = VEER_AF_INET6;
		__builtin_memcpy(&pkt->saddr, &ip6->saddr, VEER_ADDR_LEN);
		__builtin_memcpy(&pkt->daddr, &ip6->daddr, VEER_ADDR_LEN);
		pkt->l4_off = pkt->l3_off + IPV6_HDR_LEN + (__u16)ext_len;
		tcp = (void *)(ip6 + 1) + ext_len;
	} else {
		return -1;
	}
	return veer_parse_tcp(pkt, tcp, data_end, l3_len);
}

#endif /* VEER_BPF_PARSE_H */
