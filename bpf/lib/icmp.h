/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP and ICMPv6 errors about translated connections. An error quotes
 * the packet that caused it as that packet was on the wire where the
 * error arose: on the backend side of the node the client's segment
 * reads client -> backend, on the client side the backend's reply reads
 * VIP -> client. Neither end knows the other's tuple, so an untranslated
 * error is dropped by the TCP stack it reaches (no socket matches the
 * quoted tuple): with a smaller MTU anywhere on the path, "fragmentation
 * needed" / "packet too big" never arrives and the connection stalls (a
 * path-MTU black hole).
 *
 * Egress (to the client): an error quoting client -> backend:port, found
 * by the pair's reverse entry (backend -> client), gets the VIP:port
 * back in the quoted destination, and the VIP as its outer source if
 * the backend sent it. Ingress (from the client side): an error to the
 * VIP quoting VIP:port -> client, found by the pair's forward entry, is
 * sent on to the backend: outer destination and quoted source become the
 * backend's address and port.
 *
 * Only destination unreachable (with fragmentation needed), time
 * exceeded and, for IPv6, packet too big, quoting TCP with at least the
 * 8 bytes RFC 792 promises, whose outer destination is the quoted
 * source; conntrack is only read, never changed. Everything else passes
 * untouched. Checksums are updated incrementally: the quoted IPv4
 * header's own checksum is updated with its address, which leaves the
 * ICMP checksum as it was; the quoted port and (IPv6) address, and the
 * outer IPv6 address through the pseudo-header, change the ICMP or
 * ICMPv6 checksum. The quoted TCP checksum is left as it is: the quote
 * is usually truncated, so it cannot be verified, and no TCP stack
 * (Linux tcp_v4_err/tcp_v6_err, nor Katran or Cilium when they translate)
 * checks it.
 */
#ifndef VEER_BPF_ICMP_H
#define VEER_BPF_ICMP_H

#include "ctx.h"
#include "parse.h"
#include "conntrack.h"
#include "stats.h"

#define IPPROTO_ICMP_NUM 1
#define IPPROTO_ICMPV6_NUM 58
#define VEER_ICMP_DEST_UNREACH 3
#define VEER_ICMP_TIME_EXCEEDED 11
#define VEER_ICMPV6_DEST_UNREACH 1
#define VEER_ICMPV6_PKT_TOOBIG 2
#define VEER_ICMPV6_TIME_EXCEED 3
#define VEER_ICMP_HDR_LEN 8
/* What RFC 792 guarantees of the quoted transport header: the ports. */
#define VEER_ICMP_QUOTE_MIN 8

/* The furthest byte the translation reads: IPv6, extension headers. */
#define VEER_ICMP_PULL_LEN                                                     \
	(ETH_HDR_LEN + IPV6_HDR_LEN + VEER_ICMP_HDR_LEN + IPV6_HDR_LEN +       \
	 IPV6_EXT_MAX_BYTES + VEER_ICMP_QUOTE_MIN)
#define VEER_ICMP_PULL_LEN_V4                                                  \
	(ETH_HDR_LEN + IPV4_HDR_MAX_LEN + VEER_ICMP_HDR_LEN +                  \
	 IPV4_HDR_MAX_LEN + VEER_ICMP_QUOTE_MIN)
_Static_assert(VEER_ICMP_PULL_LEN_V4 <= VEER_ICMP_PULL_LEN,
	       "the pull must cover IPv4 with options too");
#if defined(VEER_CTX_XDP)
_Static_assert(VEER_ICMP_PULL_LEN <= CTX_HDR_OFF_MAX + 1,
	       "every offset written must stay under the XDP offset mask");
#endif

/*
 * Per-CPU state between the steps of a translation (parsing, finding the
 * pair, rewriting): the forward program's own frame leaves a called
 * function only 64 bytes of stack. One slot per direction. Not pinned:
 * each object has its own.
 */
struct veer_icmp_scratch {
	struct veer_ct_key key; /* the quoted tuple, swapped */
	union veer_addr old_addr; /* the quoted address to translate */
	union veer_addr new_addr; /* and what it becomes */
	__u32 svc_id;
	__u16 csum_off; /* ICMP checksum */
	__u16 inner_check_off; /* quoted IPv4 header checksum */
	__u16 inner_addr_off;
	__u16 inner_port_off;
	__u16 outer_addr_off; /* 0: the outer address stays */
	__be16 old_port;
	__be16 new_port;
	__u8 family;
	__u8 subset;
	/*
	 * A pair bound late (HTTP routing): an error about a packet veer
	 * sent to the client quotes veer's sequence number, which the
	 * backend only knows offset by seq_delta (0: nothing to do).
	 */
	__u16 inner_seq_off;
	__be32 old_seq;
	__u32 seq_delta;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct veer_icmp_scratch);
} veer_icmp_tmp SEC(".maps");

/* Two 16-byte addresses, one in the packet: no memcmp in BPF. */
static __always_inline int veer_icmp_addr_eq(const void *a, const void *b)
{
	const __u32 *x = a, *y = b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

static __always_inline int veer_icmp_is_error(__u8 family, __u8 type)
{
	if (family == VEER_AF_INET)
		return type == VEER_ICMP_DEST_UNREACH ||
		       type == VEER_ICMP_TIME_EXCEEDED;
	return type == VEER_ICMPV6_DEST_UNREACH ||
	       type == VEER_ICMPV6_PKT_TOOBIG ||
	       type == VEER_ICMPV6_TIME_EXCEED;
}

/*
 * The pair of the quoted tuple, as veer_ct_track would find it (newest
 * state first; expired half-open or closed pairs count as absent), only
 * read. NULL if there is none.
 */
static __always_inline struct veer_ct_entry *
veer_icmp_ct_find(const struct veer_ct_key *key)
{
	struct veer_ct_entry *ct;

	ct = veer_ct_lookup(VEER_CT_ESTABLISHED, key);
	if (ct)
		return ct;
	ct = veer_ct_lookup(VEER_CT_HALF_OPEN, key);
	if (ct)
		return veer_ct_half_open_expired(ct, bpf_ktime_get_ns()) ? NULL
									 : ct;
	ct = veer_ct_lookup(VEER_CT_CLOSING, key);
	if (ct && veer_ct_closed_expired(ct, bpf_ktime_get_ns()))
		return NULL;
	return ct;
}

/*
 * First step: is this an error quoting TCP sent to the error's
 * destination? Parses the outer header and the quote and leaves in the
 * scratch slot the quoted tuple's key (swapped: the pair's entry for
 * `dir`) and where the fields to translate are. 1 if it is, 0 if the
 * packet passes as it is.
 */
static __always_inline int veer_icmp_find(veer_ctx_t *ctx, __u32 dir)
{
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct veer_icmp_scratch *s;
	__u32 icmp_off, inner_off, inner_l4;
	__u8 family, *icmp, *ports;
	int ext_len;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + ETH_HDR_LEN;

		if ((void *)(ip + 1) > data_end || ip->version != 4 ||
		    ip->ihl < 5 || ip->protocol != IPPROTO_ICMP_NUM ||
		    (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return 0;
		family = VEER_AF_INET;
		icmp_off = ETH_HDR_LEN + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + ETH_HDR_LEN;

		if ((void *)(ip6 + 1) > data_end ||
		    ip6->nexthdr != IPPROTO_ICMPV6_NUM)
			return 0;
		family = VEER_AF_INET6;
		icmp_off = ETH_HDR_LEN + IPV6_HDR_LEN;
	} else {
		return 0;
	}
	icmp = data + icmp_off;
	if ((void *)(icmp + VEER_ICMP_HDR_LEN) > data_end ||
	    !veer_icmp_is_error(family, icmp[0]))
		return 0;

	/* An error is small, but may arrive in pieces: the quote must be
	 * readable in place. */
	ctx_pull(ctx, VEER_ICMP_PULL_LEN);
	s = bpf_map_lookup_elem(&veer_icmp_tmp, &dir);
	if (!s)
		return 0;
	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	inner_off = icmp_off + VEER_ICMP_HDR_LEN;

	/* The quoted packet's key, swapped: its pair's entry for `dir`. It
	 * was sent to the error's destination, or it is not ours. */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	if (family == VEER_AF_INET) {
		struct iphdr *ip = data + ETH_HDR_LEN;
		struct iphdr *in = data + inner_off;

		if ((void *)(ip + 1) > data_end ||
		    (void *)(in + 1) > data_end || in->version != 4 ||
		    in->ihl < 5 || in->protocol != IPPROTO_TCP_NUM ||
		    (in->frag_off & bpf_htons(IP_OFFSET)) ||
		    ip->daddr != in->saddr)
			return 0;
		s->key.saddr.v4 = in->daddr;
		s->key.daddr.v4 = in->saddr;
		inner_l4 = inner_off + in->ihl * 4;
		s->inner_check_off = inner_off + offsetof(struct iphdr, check);
	} else {
		struct ipv6hdr *ip6 = data + ETH_HDR_LEN;
		struct ipv6hdr *in = data + inner_off;

		if ((void *)(ip6 + 1) > data_end ||
		    (void *)(in + 1) > data_end || in->version != 6 ||
		    !veer_icmp_addr_eq(&ip6->daddr, &in->saddr))
			return 0;
		ext_len = veer_skip_ipv6_ext(
			data, data_end, inner_off + IPV6_HDR_LEN, in->nexthdr);
		if (ext_len < 0 || ext_len > IPV6_EXT_MAX_BYTES)
			return 0;
		__builtin_memcpy(&s->key.saddr, &in->daddr, VEER_ADDR_LEN);
		__builtin_memcpy(&s->key.daddr, &in->saddr, VEER_ADDR_LEN);
		inner_l4 = inner_off + IPV6_HDR_LEN + (__u32)ext_len;
	}
	ports = data + inner_l4;
	if ((void *)(ports + VEER_ICMP_QUOTE_MIN) > data_end)
		return 0;
	__builtin_memcpy(&s->key.sport, ports + 2, sizeof(__be16));
	__builtin_memcpy(&s->key.dport, ports, sizeof(__be16));
	/* The first 8 bytes are always quoted: ports, then seq. */
	__builtin_memcpy(&s->old_seq, ports + 4, sizeof(__be32));
	s->inner_seq_off = inner_l4 + offsetof(struct tcphdr, seq);
	s->key.proto = IPPROTO_TCP_NUM;
	s->key.family = family;
	s->key.dir = dir;

	s->family = family;
	s->csum_off = icmp_off + 2;

	/*
	 * The quoted field that names the node's other side: the
	 * destination on egress (the backend, for the VIP), the source on
	 * ingress (the VIP, for the backend). The outer address changes
	 * with it where it is the same (always the destination on
	 * ingress; the source on egress if the backend sent the error).
	 */
	if (dir == VEER_CT_DIR_REVERSE) {
		__builtin_memcpy(&s->old_addr, &s->key.saddr, VEER_ADDR_LEN);
		s->old_port = s->key.sport;
		s->inner_port_off = inner_l4 + offsetof(struct tcphdr, dest);
	} else {
		__builtin_memcpy(&s->old_addr, &s->key.daddr, VEER_ADDR_LEN);
		s->old_port = s->key.dport;
		s->inner_port_off = inner_l4 + offsetof(struct tcphdr, source);
	}
	s->outer_addr_off = 0;
	if (family == VEER_AF_INET) {
		struct iphdr *ip = data + ETH_HDR_LEN;

		s->inner_addr_off =
			inner_off + (dir == VEER_CT_DIR_REVERSE
					     ? offsetof(struct iphdr, daddr)
					     : offsetof(struct iphdr, saddr));
		if ((dir == VEER_CT_DIR_REVERSE ? ip->saddr : ip->daddr) ==
		    s->old_addr.v4)
			s->outer_addr_off =
				ETH_HDR_LEN +
				(dir == VEER_CT_DIR_REVERSE
					 ? offsetof(struct iphdr, saddr)
					 : offsetof(struct iphdr, daddr));
	} else {
		struct ipv6hdr *ip6 = data + ETH_HDR_LEN;

		s->inner_addr_off =
			inner_off + (dir == VEER_CT_DIR_REVERSE
					     ? offsetof(struct ipv6hdr, daddr)
					     : offsetof(struct ipv6hdr, saddr));
		if (veer_icmp_addr_eq(dir == VEER_CT_DIR_REVERSE
					      ? (void *)&ip6->saddr
					      : (void *)&ip6->daddr,
				      &s->old_addr))
			s->outer_addr_off =
				ETH_HDR_LEN +
				(dir == VEER_CT_DIR_REVERSE
					 ? offsetof(struct ipv6hdr, saddr)
					 : offsetof(struct ipv6hdr, daddr));
	}
	return 1;
}

/* The first step per direction: `dir` a constant in each, so that
 * their frames stay small. */
static __noinline int veer_icmp_find_forward(veer_ctx_t *ctx)
{
	return veer_icmp_find(ctx, VEER_CT_DIR_FORWARD);
}

static __noinline int veer_icmp_find_reverse(veer_ctx_t *ctx)
{
	return veer_icmp_find(ctx, VEER_CT_DIR_REVERSE);
}

/*
 * Second step: the quoted tuple's pair. Copies its translation into the
 * scratch slot (an LRU entry can be reused by another CPU at once); 1 if
 * there is a pair, 0 if the packet passes as it is.
 */
static __noinline int veer_icmp_lookup(__u32 dir)
{
	struct veer_icmp_scratch *s;
	struct veer_ct_entry *ct;

	s = bpf_map_lookup_elem(&veer_icmp_tmp, &dir);
	if (!s)
		return 0;
	ct = veer_icmp_ct_find(&s->key);
	if (!ct)
		return 0;
	__builtin_memcpy(&s->new_addr, &ct->nat_addr, VEER_ADDR_LEN);
	s->new_port = ct->nat_port;
	s->svc_id = ct->svc_id;
	s->subset = ct->subset;
	s->seq_delta = 0;
	if (dir == VEER_CT_DIR_FORWARD && (ct->flags & VEER_CT_F_DELAYED) &&
	    ct->bind_state >= VEER_BIND_BOUND)
		s->seq_delta = ct->peer_isn - ct->local_isn;
	return 1;
}

/*
 * Last step: rewrites what the others left in the scratch slot,
 * with incremental checksum updates, and counts the error on the pair's
 * row. A CTX_ACT_* verdict: a rewrite the kernel refuses halfway drops
 * the packet (it would be corrupt).
 */
static __noinline int veer_icmp_rewrite(veer_ctx_t *ctx, __u32 dir)
{
	struct veer_icmp_scratch *s;
	struct veer_stats *stats;
	__s64 diff;

	s = bpf_map_lookup_elem(&veer_icmp_tmp, &dir);
	if (!s)
		return CTX_ACT_OK;
	if (s->family == VEER_AF_INET) {
		/* The quoted header's checksum moves with its address, so
		 * the ICMP checksum over both stays as it is. */
		if (ctx_l3_csum_replace(ctx, s->inner_check_off, s->old_addr.v4,
					s->new_addr.v4, sizeof(__be32)) ||
		    ctx_store_bytes(ctx, s->inner_addr_off, &s->new_addr.v4,
				    sizeof(__be32)))
			return CTX_ACT_DROP;
		/* ICMPv4 has no pseudo-header: only the outer header's
		 * checksum sees the outer address. */
		if (s->outer_addr_off &&
		    (ctx_l3_csum_replace(
			     ctx, ETH_HDR_LEN + offsetof(struct iphdr, check),
			     s->old_addr.v4, s->new_addr.v4, sizeof(__be32)) ||
		     ctx_store_bytes(ctx, s->outer_addr_off, &s->new_addr.v4,
				     sizeof(__be32))))
			return CTX_ACT_DROP;
	} else {
		diff = bpf_csum_diff((__be32 *)s->old_addr.words, VEER_ADDR_LEN,
				     (__be32 *)s->new_addr.words, VEER_ADDR_LEN,
				     0);
		if (diff < 0)
			return CTX_ACT_DROP;
		/* The quoted address is ICMPv6 payload... */
		if (ctx_l4_csum_replace(ctx, s->csum_off, 0, (__u32)diff, 0) ||
		    ctx_store_bytes(ctx, s->inner_addr_off, s->new_addr.bytes,
				    VEER_ADDR_LEN))
			return CTX_ACT_DROP;
		/* ...the outer one is in its pseudo-header. */
		if (s->outer_addr_off &&
		    (ctx_l4_csum_replace(ctx, s->csum_off, 0, (__u32)diff,
					 BPF_F_PSEUDO_HDR_FLAG) ||
		     ctx_store_bytes(ctx, s->outer_addr_off, s->new_addr.bytes,
				     VEER_ADDR_LEN)))
			return CTX_ACT_DROP;
	}
	if (s->new_port != s->old_port &&
	    (ctx_l4_csum_replace(ctx, s->csum_off, s->old_port, s->new_port,
				 sizeof(__be16)) ||
	     ctx_store_bytes(ctx, s->inner_port_off, &s->new_port,
			     sizeof(__be16))))
		return CTX_ACT_DROP;

	if (s->seq_delta) {
		__be32 new_seq =
			bpf_htonl(bpf_ntohl(s->old_seq) + s->seq_delta);

		/* Inside the ICMP payload: no pseudo-header either way. */
		if (ctx_l4_csum_replace(ctx, s->csum_off, s->old_seq, new_seq,
					sizeof(__be32)) ||
		    ctx_store_bytes(ctx, s->inner_seq_off, &new_seq,
				    sizeof(new_seq)))
			return CTX_ACT_DROP;
	}

	stats = veer_stats_row(s->svc_id, s->subset);
	if (stats)
		stats->icmp_errors++;
	return CTX_ACT_OK;
}

/*
 * Translates an ICMP or ICMPv6 error about a tracked connection (see the
 * top of this file); `dir` is the direction of the program it runs in:
 * VEER_CT_DIR_FORWARD on ingress, VEER_CT_DIR_REVERSE on egress. Called
 * for packets the TCP parser refused; returns a CTX_ACT_* verdict.
 *
 * Three steps that are not inlined, called one after the other: the
 * callers' frames are large (the forward program's 424 bytes, 448 as the
 * verifier rounds it before 6.x), and the verifier adds a called frame
 * to it, which must stay within 512 bytes; so each step keeps its own
 * frame small (what they share is in veer_icmp_tmp).
 */
static __always_inline int veer_icmp_xlate(veer_ctx_t *ctx, __u32 dir)
{
	if (!(dir == VEER_CT_DIR_FORWARD ? veer_icmp_find_forward(ctx)
					 : veer_icmp_find_reverse(ctx)) ||
	    !veer_icmp_lookup(dir))
		return CTX_ACT_OK;
	return veer_icmp_rewrite(ctx, dir);
}

#endif /* VEER_BPF_ICMP_H */
