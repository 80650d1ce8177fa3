// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The lab's packet loss (the test kernels have no netem): a TC classifier
 * that drops chosen TCP segments of one direction of one interface.
 * tests/tools/veer_drop.c loads it, sets the match below (read-only data,
 * fixed before load) and reports the counters.
 *
 * A segment matches when it is TCP over IPv4 or IPv6 (TCP right after the
 * fixed header), its flags are the chosen kind's, and, if a port is set,
 * its source or destination port is that port. Of the matching segments,
 * the first `skip` are passed, then the next `count` are dropped; with
 * per_flow, that happens per connection (a 4-tuple, in the direction seen),
 * for at most `count` connections, one drop each.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "veer_drop.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

const volatile __u32 cfg_kind = VEER_DROP_SYN;
const volatile __u16 cfg_port; /* host order; 0: any */
const volatile __u32 cfg_skip;
const volatile __u32 cfg_count = 1;
const volatile __u8 cfg_per_flow;

/* Read by the loader through the skeleton's mmapped .bss. */
struct veer_drop_counters counters;

struct flow_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
};

/* Flows already counted (per_flow): value 0 passed, 1 dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, __u32);
} flows SEC(".maps");

static __always_inline int kind_matches(__u8 flags, __u32 payload)
{
	switch (cfg_kind) {
	case VEER_DROP_SYN:
		return (flags & (F_SYN | F_ACK)) == F_SYN;
	case VEER_DROP_SYNACK:
		return (flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK);
	case VEER_DROP_DATA:
		return !(flags & (F_SYN | F_RST)) && payload > 0;
	case VEER_DROP_FIN:
		return (flags & F_FIN) != 0;
	case VEER_DROP_RST:
		return (flags & F_RST) != 0;
	case VEER_DROP_ANY:
		return 1;
	}
	return 0;
}

SEC("tc")
int veer_drop(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct flow_key key = {};
	struct tcphdr *tcp;
	__u32 l3_len, payload, *seen, one = 1, zero = 0;
	__u64 n;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP_ ||
		    ip->ihl < 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return TC_ACT_OK;
		tcp = (void *)ip + ip->ihl * 4;
		l3_len = bpf_ntohs(ip->tot_len);
		if (l3_len < ip->ihl * 4U)
			return TC_ACT_OK;
		l3_len -= ip->ihl * 4U;
		key.saddr[0] = ip->saddr;
		key.daddr[0] = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP_)
			return TC_ACT_OK;
		tcp = (void *)(ip6 + 1);
		l3_len = bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(key.daddr, &ip6->daddr, 16);
	} else {
		return TC_ACT_OK;
	}
	if ((void *)(tcp + 1) > end || tcp->doff < 5 || l3_len < tcp->doff * 4U)
		return TC_ACT_OK;
	payload = l3_len - tcp->doff * 4U;
	if (!kind_matches(((__u8 *)tcp)[13], payload))
		return TC_ACT_OK;
	if (cfg_port && tcp->source != bpf_htons(cfg_port) &&
	    tcp->dest != bpf_htons(cfg_port))
		return TC_ACT_OK;

	__sync_fetch_and_add(&counters.matched, 1);
	if (cfg_per_flow) {
		key.sport = tcp->source;
		key.dport = tcp->dest;
		seen = bpf_map_lookup_elem(&flows, &key);
		if (seen) {
			/* Later matches of a flow already dropped once pass:
			 * that is the retransmission that must get through. */
			return TC_ACT_OK;
		}
		n = __sync_fetch_and_add(&counters.flows, 1);
		if (n < cfg_skip || n >= (__u64)cfg_skip + cfg_count) {
			bpf_map_update_elem(&flows, &key, &zero, BPF_ANY);
			return TC_ACT_OK;
		}
		bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
	} else {
		n = __sync_fetch_and_add(&counters.claims, 1);
		if (n < cfg_skip || n >= (__u64)cfg_skip + cfg_count)
			return TC_ACT_OK;
	}
	__sync_fetch_and_add(&counters.dropped, 1);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
