/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ethernet / IPv4 / IPv6 / TCP parsing into one flat description. Anything
 * veer does not translate (not TCP, IPv4 fragments, IPv6 extension headers,
 * truncated headers) is reported as "not ours" and passes untouched.
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
	__u16 l3_off;
	__u16 l4_off;
	__u8 family;
	__u8 tcp_flags;
};

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
	pkt->payload_len = l3_len - tcp_len;
	return 0;
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

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->nexthdr != IPPROTO_TCP_NUM)
			return -1;
		pkt->family = VEER_AF_INET6;
		__builtin_memcpy(&pkt->saddr, &ip6->saddr, VEER_ADDR_LEN);
		__builtin_memcpy(&pkt->daddr, &ip6->daddr, VEER_ADDR_LEN);
		pkt->l4_off = pkt->l3_off + IPV6_HDR_LEN;
		tcp = (void *)(ip6 + 1);
		l3_len = bpf_ntohs(ip6->payload_len);
	} else {
		return -1;
	}
	return veer_parse_tcp(pkt, tcp, data_end, l3_len);
}

#endif /* VEER_BPF_PARSE_H */
