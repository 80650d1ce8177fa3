/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP routing by delayed binding, TC only. A service with rules cannot
 * choose a backend at the SYN: the headers come later. So, on the client's
 * interface:
 *
 *  1. the client's SYN is answered by veer itself: turned in place into
 *     a SYN-ACK (veer's random ISN, an MSS of at most VEER_HTTP_REQ_MAX,
 *     a window of one segment, window scale VEER_HTTP_WSCALE; no SACK, no
 *     timestamps) and sent back out of the interface; a half-open entry
 *     (VEER_BIND_ANSWERED) remembers the client's ISN, MSS and scale;
 *  2. the client's first data segment is held (veer_http_req), parsed and
 *     matched (http_parse.h); rule, subset and backend are chosen, and
 *     the segment itself becomes the SYN to the backend, carrying the
 *     client's own ISN, MSS and scale (VEER_BIND_CONNECTING);
 *  3. the backend's SYN-ACK, at TC egress, becomes the ACK that carries
 *     the held request, sent into the interface's ingress toward the
 *     backend; the pair is established (VEER_BIND_BOUND) and from then
 *     on the L4 path translates it (tcp.h) until the backend's ACK of the
 *     request frees the copy (VEER_BIND_ACKED).
 *
 * Loss is recovered by the endpoints' own retransmissions: a repeated
 * SYN is answered again, a repeated request before the backend answered
 * sends the backend SYN again, a repeated backend SYN-ACK replays the
 * request again, and after the replay the client's own retransmission of
 * the request reaches the backend as any segment does.
 */
#ifndef VEER_BPF_HTTP_H
#define VEER_BPF_HTTP_H

#include "lb.h"
#include "http_parse.h"

#define BPF_F_INGRESS_FLAG 1
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WSCALE 3
#define TCP_OPT_MSS_LEN 4
#define TCP_OPT_WSCALE_LEN 3
#define TCP_OPT_MAX_LEN 40
#define TCP_OPT_BUF_MASK 63
#define TCP_HDR_MAX_LEN 60
#define IP_TTL_DEFAULT 64
#define IPV4_OFF_TOT_LEN 2
#define IPV4_OFF_TTL 8
#define IPV4_OFF_CHECK 10
#define IPV4_OFF_SADDR 12
#define IPV6_OFF_PAYLOAD_LEN 4
#define IPV6_OFF_HOP_LIMIT 7
#define IPV6_OFF_SADDR 8
#define ETH_ALEN_BYTES 6
/* bpf_csum_diff sums at most this many bytes per call. */
#define VEER_CSUM_CHUNK 512

/*
 * A length the caller checked is in [1, max] (max a power of two), in a
 * form the verifier sees bounded too: ((len - 1) & (max - 1)) + 1 is len
 * itself. The barrier keeps the compiler from folding it away.
 */
static __always_inline __u32 veer_len_bounded(__u32 len, __u32 max)
{
	asm volatile("" : "+r"(len));
	return ((len - 1) & (max - 1)) + 1;
}

/* The same for a multiple of 4 in [4, max]: what bpf_csum_diff takes. */
static __always_inline __u32 veer_len_bounded4(__u32 len, __u32 max)
{
	asm volatile("" : "+r"(len));
	return ((len - 4) & (max - 4)) + 4;
}

/* The TCP options of a SYN or SYN-ACK that matter here. */
struct veer_syn_opts {
	__u16 mss;
	__u8 wscale; /* VEER_WSCALE_NONE: not offered */
};

/*
 * veer's ISN is a SYN cookie, as Linux's: a keyed hash of the tuple and a
 * coarse clock, whose low bits carry the client's MSS (as an index into
 * veer_cookie_mss, rounded down) and window scale. The half-open entry
 * is then only a cache: when a SYN flood has evicted it, the request's
 * ack (cookie + 1) proves the handshake and brings it back. A blind
 * attacker guesses one cookie in 2^25 per tuple and clock tick.
 */
#define VEER_COOKIE_TICK_SHIFT 36 /* 2^36 ns: a tick of about 69 s */
#define VEER_COOKIE_DATA_BITS 7
#define VEER_COOKIE_WSCALE_BITS 4
#define VEER_COOKIE_WSCALE_NONE 0xf
#define VEER_COOKIE_MSS_COUNT 8
#define VEER_COOKIE_SALT 0x636f6f6bU /* "cook" */

/* The MSS values a cookie can carry (a switch: libbpf 1.1 cannot load
 * the mergeable-constant section an array would go to). */
static __always_inline __u16 veer_cookie_mss(__u32 index)
{
	switch (index) {
	case 1:
		return 1024;
	case 2:
		return 1220;
	case 3:
		return 1360;
	case 4:
		return 1400;
	case 5:
		return 1440;
	case 6:
		return 1460;
	case 7:
		return 8960;
	default:
		return VEER_HTTP_MSS_DEFAULT;
	}
}

static __always_inline __u32 veer_cookie_hash(const struct veer_pkt *pkt,
					      __u32 tick)
{
	__u32 seed = veer_hash_seed();
	__u32 h = veer_flow_hash(&pkt->saddr, &pkt->daddr, pkt->sport,
				 pkt->dport, 0, seed ^ VEER_COOKIE_SALT);

	return veer_jhash_2words(h, tick, seed) &
	       ~((1U << VEER_COOKIE_DATA_BITS) - 1);
}

static __always_inline __u32 veer_cookie_make(const struct veer_pkt *pkt,
					      __u16 mss, __u8 wscale)
{
	__u32 i, index = 0;

	for (i = 1; i < VEER_COOKIE_MSS_COUNT; i++)
		if (mss >= veer_cookie_mss(i))
			index = i;
	return veer_cookie_hash(pkt,
				bpf_ktime_get_ns() >> VEER_COOKIE_TICK_SHIFT) |
	       index << VEER_COOKIE_WSCALE_BITS |
	       (wscale == VEER_WSCALE_NONE ? VEER_COOKIE_WSCALE_NONE
					   : (wscale & 0xf));
}

/*
 * Whether isn is a cookie veer made for this tuple in this tick or the
 * one before; if so, *mss and *wscale get what it carries.
 */
static __always_inline int veer_cookie_check(const struct veer_pkt *pkt,
					     __u32 isn, __u16 *mss,
					     __u8 *wscale)
{
	__u32 tick = bpf_ktime_get_ns() >> VEER_COOKIE_TICK_SHIFT;
	__u32 hash_bits = isn & ~((1U << VEER_COOKIE_DATA_BITS) - 1);

	if (veer_cookie_hash(pkt, tick) != hash_bits &&
	    veer_cookie_hash(pkt, tick - 1) != hash_bits)
		return 0;
	*mss = veer_cookie_mss((isn >> VEER_COOKIE_WSCALE_BITS) &
			       (VEER_COOKIE_MSS_COUNT - 1));
	*wscale = isn & VEER_COOKIE_WSCALE_NONE;
	if (*wscale == VEER_COOKIE_WSCALE_NONE)
		*wscale = VEER_WSCALE_NONE;
	return 1;
}

#define veer_http_count(id, field)                                             \
	do {                                                                   \
		struct veer_http_stats *__hs = veer_http_stats_of(id);         \
		if (__hs)                                                      \
			__hs->field++;                                         \
	} while (0)

static __always_inline __u32 veer_tcp_hdr_len(const struct veer_pkt *pkt)
{
	return pkt->frame_len - pkt->l4_off - pkt->payload_len;
}

struct veer_opt_walk {
	__u32 len;
	__u32 at; /* the next option's offset */
	struct veer_syn_opts found;
};

/* One option of s->opts (bpf_loop callback). Returns 1 at the end. */
static long veer_tcp_opt_step(__u32 index, void *arg)
{
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_opt_walk *w = arg;
	__u32 i = w->at;
	__u8 kind, olen;

	(void)index;
	if (!s || i >= w->len || i >= TCP_OPT_MAX_LEN)
		return 1;
	kind = s->opts[i & TCP_OPT_BUF_MASK];
	if (kind == TCP_OPT_EOL)
		return 1;
	if (kind == TCP_OPT_NOP) {
		w->at = i + 1;
		return 0;
	}
	if (i + 1 >= w->len)
		return 1;
	olen = s->opts[(i + 1) & TCP_OPT_BUF_MASK];
	if (olen < 2 || i + olen > w->len)
		return 1;
	if (kind == TCP_OPT_MSS && olen == TCP_OPT_MSS_LEN)
		w->found.mss = (__u16)s->opts[(i + 2) & TCP_OPT_BUF_MASK] << 8 |
			       s->opts[(i + 3) & TCP_OPT_BUF_MASK];
	if (kind == TCP_OPT_WSCALE && olen == TCP_OPT_WSCALE_LEN) {
		kind = s->opts[(i + 2) & TCP_OPT_BUF_MASK];
		w->found.wscale =
			kind > VEER_TCP_WSCALE_MAX ? VEER_TCP_WSCALE_MAX : kind;
	}
	w->at = i + olen;
	return 0;
}

/*
 * Copies the packet's TCP options into s->opts and reads MSS and window
 * scale. Returns the options' length, or -1.
 */
static __always_inline int veer_tcp_read_opts(struct __sk_buff *skb,
					      const struct veer_pkt *pkt,
					      struct veer_http_scratch *s,
					      struct veer_syn_opts *out)
{
	__u32 len = veer_tcp_hdr_len(pkt) - TCP_HDR_MIN_LEN;
	struct veer_opt_walk w = {};

	out->mss = VEER_HTTP_MSS_DEFAULT;
	out->wscale = VEER_WSCALE_NONE;
	if (len > TCP_OPT_MAX_LEN)
		return -1;
	if (len == 0)
		return 0;
	len = veer_len_bounded(len, TCP_OPT_BUF_MASK + 1);
	if (bpf_skb_load_bytes(skb, pkt->l4_off + TCP_HDR_MIN_LEN, s->opts,
			       len))
		return -1;
	w.len = len;
	w.found = *out;
	if (bpf_loop(TCP_OPT_MAX_LEN, veer_tcp_opt_step, &w, 0) < 0)
		return -1;
	*out = w.found;
	return (int)len;
}

/*
 * Replaces the option bytes read by veer_tcp_read_opts (len of them,
 * s->opts) with s->new_opts, checksum first.
 */
static __always_inline int veer_tcp_write_opts(struct __sk_buff *skb,
					       const struct veer_pkt *pkt,
					       struct veer_http_scratch *s,
					       __u32 len)
{
	__s64 diff;

	if (len == 0)
		return 0;
	if (len > TCP_OPT_MAX_LEN || (len & 3))
		return -1;
	len = veer_len_bounded4(len, TCP_OPT_BUF_MASK + 1);
	diff = bpf_csum_diff((__be32 *)s->opts, len, (__be32 *)s->new_opts, len,
			     0);
	if (diff < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK, 0,
				(__u32)diff, 0))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l4_off + TCP_HDR_MIN_LEN,
				   s->new_opts, len, 0);
}

#define TCP_NOP_WORD 0x0101010101010101ULL

/* Fills new_opts with NOPs (all TCP_OPT_MAX_LEN bytes a header can hold). */
static __always_inline void veer_tcp_nops(struct veer_http_scratch *s)
{
	__u64 *w = (__u64 *)s->new_opts;

	w[0] = TCP_NOP_WORD;
	w[1] = TCP_NOP_WORD;
	w[2] = TCP_NOP_WORD;
	w[3] = TCP_NOP_WORD;
	w[4] = TCP_NOP_WORD;
}

/* Writes MSS (and window scale unless VEER_WSCALE_NONE) at new_opts[0]. */
static __always_inline void veer_tcp_syn_opts(struct veer_http_scratch *s,
					      __u16 mss, __u8 wscale,
					      __u32 room)
{
	if (room < TCP_OPT_MSS_LEN)
		return;
	s->new_opts[0] = TCP_OPT_MSS;
	s->new_opts[1] = TCP_OPT_MSS_LEN;
	s->new_opts[2] = mss >> 8;
	s->new_opts[3] = mss & 0xff;
	if (wscale == VEER_WSCALE_NONE || room < 2 * TCP_OPT_MSS_LEN)
		return;
	s->new_opts[4] = TCP_OPT_NOP;
	s->new_opts[5] = TCP_OPT_WSCALE;
	s->new_opts[6] = TCP_OPT_WSCALE_LEN;
	s->new_opts[7] = wscale;
}

/* The data offset and flags word (TCP bytes 12-13). */
static __always_inline __be16 veer_tcp_flags_word(__u32 hdr_len, __u8 flags)
{
	return bpf_htons((__u16)((hdr_len / 4) << 12 | flags));
}

static __always_inline int veer_tcp_old_flags_word(struct __sk_buff *skb,
						   const struct veer_pkt *pkt,
						   __be16 *word)
{
	return bpf_skb_load_bytes(skb, pkt->l4_off + TCP_OFF_FLAGS_WORD, word,
				  sizeof(*word));
}

/* Sets the TCP header's seq, ack, data offset + flags and window. */
static __always_inline int veer_tcp_set_header(struct __sk_buff *skb,
					       const struct veer_pkt *pkt,
					       __u32 seq, __u32 ack,
					       __u32 hdr_len, __u8 flags,
					       __be16 window)
{
	__be16 old_word;

	if (veer_tcp_old_flags_word(skb, pkt, &old_word))
		return -1;
	if (veer_tcp_set32(skb, pkt, TCP_OFF_SEQ, bpf_htonl(pkt->seq),
			   bpf_htonl(seq)) ||
	    veer_tcp_set32(skb, pkt, TCP_OFF_ACK, bpf_htonl(pkt->ack_seq),
			   bpf_htonl(ack)) ||
	    veer_tcp_set16(skb, pkt, TCP_OFF_FLAGS_WORD, old_word,
			   veer_tcp_flags_word(hdr_len, flags)) ||
	    veer_tcp_set16(skb, pkt, TCP_OFF_WINDOW, pkt->window, window))
		return -1;
	return 0;
}

/*
 * The IP length fields and the pseudo-header's TCP length, for a TCP
 * segment going from old_len to new_len bytes (header and payload).
 */
static __always_inline int veer_ip_set_len(struct __sk_buff *skb,
					   const struct veer_pkt *pkt,
					   __u32 old_len, __u32 new_len)
{
	__u32 ext = pkt->l4_off - pkt->l3_off;
	__be16 old_field, new_field;

	if (old_len == new_len)
		return 0;
	if (bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK,
				bpf_htons((__u16)old_len),
				bpf_htons((__u16)new_len),
				BPF_F_PSEUDO_HDR_FLAG | sizeof(__be16)))
		return -1;
	if (pkt->family == VEER_AF_INET) {
		old_field = bpf_htons((__u16)(ext + old_len));
		new_field = bpf_htons((__u16)(ext + new_len));
		if (bpf_l3_csum_replace(skb, pkt->l3_off + IPV4_OFF_CHECK,
					old_field, new_field, sizeof(__be16)))
			return -1;
		return bpf_skb_store_bytes(skb, pkt->l3_off + IPV4_OFF_TOT_LEN,
					   &new_field, sizeof(new_field), 0);
	}
	/* IPv6's payload length counts the extension headers too. */
	new_field = bpf_htons((__u16)(ext - IPV6_HDR_LEN + new_len));
	return bpf_skb_store_bytes(skb, pkt->l3_off + IPV6_OFF_PAYLOAD_LEN,
				   &new_field, sizeof(new_field), 0);
}

/* A fresh TTL / hop limit for a packet veer sends back itself. */
static __always_inline int veer_ip_set_ttl(struct __sk_buff *skb,
					   const struct veer_pkt *pkt)
{
	__u8 ttl = IP_TTL_DEFAULT;
	__be16 old_word, new_word;

	if (pkt->family == VEER_AF_INET6)
		return bpf_skb_store_bytes(
			skb, pkt->l3_off + IPV6_OFF_HOP_LIMIT, &ttl, 1, 0);
	if (bpf_skb_load_bytes(skb, pkt->l3_off + IPV4_OFF_TTL, &old_word,
			       sizeof(old_word)))
		return -1;
	new_word = old_word;
	*(__u8 *)&new_word = ttl;
	if (bpf_l3_csum_replace(skb, pkt->l3_off + IPV4_OFF_CHECK, old_word,
				new_word, sizeof(__be16)))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l3_off + IPV4_OFF_TTL, &new_word,
				   sizeof(new_word), 0);
}

static __always_inline int veer_pkt_swap_ends(struct __sk_buff *skb,
					      const struct veer_pkt *pkt);
static __always_inline int veer_ip_set_ttl(struct __sk_buff *skb,
					   const struct veer_pkt *pkt);

/*
 * Turns the segment around, as veer's own answer to its sender: the TCP
 * header veer says (options and length as they are), a fresh TTL, ends
 * swapped. The caller redirects it.
 */
static __always_inline int veer_tcp_answer(struct __sk_buff *skb,
					   const struct veer_pkt *pkt,
					   __u32 seq, __u32 ack, __u8 flags,
					   __be16 window)
{
	if (veer_tcp_set_header(skb, pkt, seq, ack, veer_tcp_hdr_len(pkt),
				flags, window) ||
	    veer_ip_set_ttl(skb, pkt) || veer_pkt_swap_ends(skb, pkt))
		return -1;
	return 0;
}

/*
 * Sends the packet back where it came from: MACs, addresses and ports
 * swapped. A swap moves no checksum: the sums are over the same words.
 */
static __always_inline int veer_pkt_swap_ends(struct __sk_buff *skb,
					      const struct veer_pkt *pkt)
{
	__u8 macs[2 * ETH_ALEN_BYTES], swapped[2 * ETH_ALEN_BYTES];
	__be16 ports[2];
	__u32 alen = pkt->family == VEER_AF_INET ? 4 : VEER_ADDR_LEN;
	__u32 aoff =
		pkt->l3_off +
		(pkt->family == VEER_AF_INET ? IPV4_OFF_SADDR : IPV6_OFF_SADDR);

	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + ETH_ALEN_BYTES, ETH_ALEN_BYTES);
	__builtin_memcpy(swapped + ETH_ALEN_BYTES, macs, ETH_ALEN_BYTES);
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0))
		return -1;
	if (alen == 4) {
		if (bpf_skb_store_bytes(skb, aoff, &pkt->daddr.v4, 4, 0) ||
		    bpf_skb_store_bytes(skb, aoff + 4, &pkt->saddr.v4, 4, 0))
			return -1;
	} else if (bpf_skb_store_bytes(skb, aoff, pkt->daddr.bytes,
				       VEER_ADDR_LEN, 0) ||
		   bpf_skb_store_bytes(skb, aoff + VEER_ADDR_LEN,
				       pkt->saddr.bytes, VEER_ADDR_LEN, 0)) {
		return -1;
	}
	ports[0] = pkt->dport;
	ports[1] = pkt->sport;
	return bpf_skb_store_bytes(skb, pkt->l4_off, ports, sizeof(ports), 0);
}

/*
 * The ones'-complement sum of one held segment, req->data[off..off+len)
 * (off 0 or VEER_HTTP_SEGMENT_MAX, a constant once inlined; len at most
 * VEER_HTTP_SEGMENT_MAX) rounded up to 4 bytes (the bytes past len are
 * zero), added to (add) or taken from the seed.
 */
static __always_inline __s64
veer_csum_segment(const struct veer_http_request *req, __u32 off, __u32 len,
		  int add, __s64 seed)
{
	__u32 round = (len + 3) & ~3U, chunk, k;

	for (k = 0; k < VEER_HTTP_SEGMENT_MAX / VEER_CSUM_CHUNK; k++) {
		if (seed < 0 || round <= k * VEER_CSUM_CHUNK)
			break;
		chunk = round - k * VEER_CSUM_CHUNK;
		if (chunk > VEER_CSUM_CHUNK)
			chunk = VEER_CSUM_CHUNK;
		chunk = veer_len_bounded4(chunk, VEER_CSUM_CHUNK);
		if (add)
			seed = bpf_csum_diff(
				NULL, 0,
				(__be32 *)&req->data[off + k * VEER_CSUM_CHUNK],
				chunk, (__u32)seed);
		else
			seed = bpf_csum_diff(
				(__be32 *)&req->data[off + k * VEER_CSUM_CHUNK],
				chunk, NULL, 0, (__u32)seed);
	}
	return seed;
}

/* Step 1: the client's SYN becomes veer's SYN-ACK, out the way it came. */
static __always_inline int veer_http_answer_syn(struct __sk_buff *skb,
						const struct veer_pkt *pkt,
						struct veer_http_scratch *s,
						const struct veer_ct_entry *ct)
{
	__u16 mss = ct->client_mss;
	struct veer_syn_opts o;
	int opt_len;

	/* The checksum update needs this SYN's own option bytes in
	 * s->opts (a retransmitted SYN's are not the last packet's). */
	opt_len = veer_tcp_read_opts(skb, pkt, s, &o);
	if (opt_len < 0)
		return TC_ACT_SHOT;
	if (mss > VEER_HTTP_SEGMENT_MAX)
		mss = VEER_HTTP_SEGMENT_MAX;
	veer_tcp_nops(s);
	veer_tcp_syn_opts(s, mss,
			  ct->client_wscale == VEER_WSCALE_NONE
				  ? VEER_WSCALE_NONE
				  : VEER_HTTP_WSCALE,
			  (__u32)opt_len);
	if (veer_tcp_write_opts(skb, pkt, s, (__u32)opt_len) ||
	    veer_tcp_answer(skb, pkt, ct->local_isn, ct->syn_seq + 1,
			    TCP_FLAG_SYN | TCP_FLAG_ACK,
			    bpf_htons(VEER_HTTP_WINDOW_SEGMENTS * mss)))
		return TC_ACT_SHOT;
	veer_http_count(ct->svc_id, syn_answered);
	return bpf_redirect(skb->ifindex, 0);
}

/* The window scale the client leg runs with, as veer answered its SYN. */
static __always_inline __u8 veer_client_wscale(const struct veer_syn_opts *o,
					       __u32 opt_room)
{
	/* MSS and NOP + window scale need 8 bytes of the SYN's options. */
	if (o->wscale == VEER_WSCALE_NONE || opt_room < 2 * TCP_OPT_MSS_LEN)
		return VEER_WSCALE_NONE;
	return o->wscale;
}

static __noinline int veer_http_new_syn(struct __sk_buff *skb,
					const struct veer_pkt *pkt,
					const struct veer_service *svc,
					const struct veer_ct_key *key)
{
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_ct_entry *e;
	struct veer_syn_opts o;
	int opt_len;

	if (!s || !pkt || !svc || !key)
		return TC_ACT_SHOT;
	e = &s->entry;

	opt_len = veer_tcp_read_opts(skb, pkt, s, &o);
	if (opt_len < 0)
		return TC_ACT_SHOT;
	__builtin_memset(e, 0, sizeof(*e));
	e->flags = VEER_CT_F_DELAYED;
	e->bind_state = VEER_BIND_ANSWERED;
	e->svc_id = svc->id;
	e->subset = VEER_STATS_ROW_UNATTRIBUTED;
	e->rule = VEER_RULE_DEFAULT;
	e->created_ns = bpf_ktime_get_ns();
	e->syn_seq = pkt->seq;
	e->client_mss = o.mss;
	e->client_wscale = veer_client_wscale(&o, (__u32)opt_len);
	e->local_isn = veer_cookie_make(pkt, e->client_mss, e->client_wscale);
	e->seq_next = pkt->seq + 1;
	e->flags |= VEER_CT_F_SEQ_SEEN;
	if (veer_ct_update(VEER_CT_HALF_OPEN, key, e)) {
		veer_http_count(svc->id, pending_full);
		return TC_ACT_SHOT;
	}
	return veer_http_answer_syn(skb, pkt, s, e);
}

/* Holds the request segment's payload in s->req (zero-padded to 4). */
static __always_inline int veer_http_hold(struct __sk_buff *skb,
					  const struct veer_pkt *pkt,
					  struct veer_http_scratch *s)
{
	__u32 len = pkt->payload_len, off = pkt->frame_len - len;

	if (len == 0 || len > VEER_HTTP_SEGMENT_MAX)
		return -1;
	len = veer_len_bounded(len, VEER_HTTP_SEGMENT_MAX);
	if (bpf_skb_load_bytes(skb, off, s->req.data, len))
		return -1;
	s->req.len = len;
	s->req.window = pkt->window;
	s->req.tcp_flags = pkt->tcp_flags;
	s->req.reserved = 0;
	s->req.len2 = 0;
	s->req.reserved2 = 0;
	/* The checksum sums whole words: zeros after the end (none past
	 * the buffer: a masked index would wrap onto the request). */
	if (len < VEER_HTTP_REQ_MAX)
		s->req.data[len & VEER_HTTP_DATA_MASK] = 0;
	if (len + 1 < VEER_HTTP_REQ_MAX)
		s->req.data[(len + 1) & VEER_HTTP_DATA_MASK] = 0;
	if (len + 2 < VEER_HTTP_REQ_MAX)
		s->req.data[(len + 2) & VEER_HTTP_DATA_MASK] = 0;
	return 0;
}

/* A client's FIN before any request: refused with an RST, back out. */
static __always_inline int veer_http_refuse(struct __sk_buff *skb,
					    const struct veer_pkt *pkt,
					    const struct veer_ct_entry *ct,
					    struct veer_http_scratch *s)
{
	__u32 hdr_len = veer_tcp_hdr_len(pkt);
	__s64 diff;

	/* A request's bytes do not go back with the RST. */
	if (pkt->payload_len) {
		if (veer_http_hold(skb, pkt, s))
			return TC_ACT_SHOT;
		diff = veer_csum_segment(&s->req, 0, pkt->payload_len, 0, 0);
		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK, 0,
					(__u32)diff, 0) ||
		    bpf_skb_change_tail(skb, pkt->l4_off + hdr_len, 0) ||
		    veer_ip_set_len(skb, pkt, hdr_len + pkt->payload_len,
				    hdr_len))
			return TC_ACT_SHOT;
	}
	if (veer_tcp_answer(skb, pkt, ct->local_isn + 1,
			    pkt->seq + pkt->payload_len +
				    !!(pkt->tcp_flags & TCP_FLAG_FIN),
			    TCP_FLAG_RST | TCP_FLAG_ACK, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

/*
 * Step 2b: the request segment (held already) becomes the backend SYN:
 * same ISN as the client's, the client's MSS and window scale, no
 * payload. The options go where the payload began; older options turn
 * into NOPs. Then the usual DNAT to the backend.
 */
static __always_inline int veer_http_backend_syn(struct __sk_buff *skb,
						 const struct veer_pkt *pkt,
						 struct veer_http_scratch *s,
						 const struct veer_ct_entry *ct)
{
	__u32 hdr_len = veer_tcp_hdr_len(pkt), old_opts, syn_opts, new_hdr;
	__u32 w_bytes;
	__s64 diff = 0;
	__u8 wscale = ct->client_wscale;

	if (hdr_len < TCP_HDR_MIN_LEN || hdr_len > TCP_HDR_MAX_LEN ||
	    pkt->payload_len > VEER_HTTP_SEGMENT_MAX)
		return TC_ACT_SHOT;
	old_opts = hdr_len - TCP_HDR_MIN_LEN;
	syn_opts = wscale == VEER_WSCALE_NONE ? TCP_OPT_MSS_LEN
					      : 2 * TCP_OPT_MSS_LEN;
	new_hdr = hdr_len + syn_opts;
	if (new_hdr > TCP_HDR_MAX_LEN)
		return TC_ACT_SHOT;
	syn_opts = veer_len_bounded4(syn_opts, 2 * TCP_OPT_MSS_LEN);
	/* The checksum: old options -> NOPs, payload out, SYN options in. */
	if (old_opts) {
		old_opts = veer_len_bounded4(old_opts, TCP_OPT_BUF_MASK + 1);
		if (bpf_skb_load_bytes(skb, pkt->l4_off + TCP_HDR_MIN_LEN,
				       s->opts, old_opts))
			return TC_ACT_SHOT;
		veer_tcp_nops(s);
		diff = bpf_csum_diff((__be32 *)s->opts, old_opts,
				     (__be32 *)s->new_opts, old_opts, 0);
	}
	diff = veer_csum_segment(&s->req, 0, pkt->payload_len, 0, diff);
	veer_tcp_syn_opts(s, ct->client_mss, wscale, syn_opts);
	if (diff >= 0)
		diff = bpf_csum_diff(NULL, 0, (__be32 *)s->new_opts, syn_opts,
				     (__u32)diff);
	if (diff < 0 || bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK, 0,
					    (__u32)diff, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_change_tail(skb, pkt->l4_off + new_hdr, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, pkt->l4_off + hdr_len, s->new_opts,
				syn_opts, 0))
		return TC_ACT_SHOT;
	if (old_opts) {
		veer_tcp_nops(s);
		if (bpf_skb_store_bytes(skb, pkt->l4_off + TCP_HDR_MIN_LEN,
					s->new_opts, old_opts, 0))
			return TC_ACT_SHOT;
	}
	/* A SYN's window is never scaled. */
	w_bytes = (__u32)bpf_ntohs(pkt->window)
		  << (wscale == VEER_WSCALE_NONE ? 0 : wscale);
	if (w_bytes > TCP_WINDOW_MAX)
		w_bytes = TCP_WINDOW_MAX;
	if (veer_ip_set_len(skb, pkt, hdr_len + pkt->payload_len, new_hdr) ||
	    veer_tcp_set_header(skb, pkt, ct->syn_seq, 0, new_hdr, TCP_FLAG_SYN,
				bpf_htons((__u16)w_bytes)) ||
	    veer_nat_rewrite(skb, pkt, VEER_NAT_DST, &ct->nat_addr,
			     ct->nat_port))
		return TC_ACT_SHOT;
	veer_http_count(ct->svc_id, backend_syns);
	return TC_ACT_OK;
}

/*
 * What placement retires (veer_lb_place), in a frame off the matcher's
 * stack path: earlier pairs on the backend tuple, and a closed pair on
 * the client tuple.
 */
static __noinline void veer_http_retire(const struct veer_ct_key *rev_key,
					const struct veer_ct_key *fwd_key,
					const struct veer_pkt *pkt)
{
	struct veer_ct_key old_rev;

	if (!rev_key || !fwd_key || !pkt)
		return;
	veer_ct_retire_backend_tuple(VEER_CT_ESTABLISHED, rev_key, pkt);
	veer_ct_retire_backend_tuple(VEER_CT_CLOSING, rev_key, pkt);
	veer_ct_retire_client_tuple(fwd_key, pkt, &old_rev);
}

/*
 * Step 2: the request. Parse, match, choose; record the pair half-open
 * with its backend; hold the request; send the backend SYN.
 */
static __noinline int veer_http_request(struct __sk_buff *skb,
					const struct veer_pkt *pkt,
					const struct veer_service *svc,
					const struct veer_ct_key *key,
					struct veer_ct_entry *ct)
{
	struct veer_http_scratch *s = veer_http_scratch();
	const struct veer_backend *backend;
	const struct veer_rule *rule = NULL;
	struct veer_ct_entry *entry = &s->entry;
	struct veer_ct_key *rev_key = &s->key;
	struct veer_rule_key rkey;
	struct veer_http_stats *hs;
	struct veer_stats *stats;
	__u32 parsed, matched, hash, seed;
	__u8 chosen;

	if (!s || !pkt || !svc || !key || !ct || veer_http_hold(skb, pkt, s))
		return TC_ACT_SHOT;
	parsed = veer_http_parse(s);
	matched = parsed == VEER_HTTP_COMPLETE ? veer_http_match(svc)
					       : VEER_RULE_DEFAULT;
	if (matched < VEER_MAX_RULES) {
		rkey.svc_id = svc->id;
		rkey.version = svc->rules_version;
		rkey.index = matched;
		rule = bpf_map_lookup_elem(&veer_rules, &rkey);
		if (!rule)
			matched = VEER_RULE_DEFAULT;
	}
	seed = veer_hash_seed();
	hash = veer_flow_hash(&pkt->saddr, &pkt->daddr, pkt->sport, pkt->dport,
			      svc->flags, seed);
	backend = veer_choose_backend_by(svc, rule ? rule->weights : NULL, hash,
					 seed, pkt->family, &chosen);
	if (!backend)
		return TC_ACT_SHOT; /* counted in no_backend; client retries */
	if (bpf_map_update_elem(&veer_http_req, key, &s->req, BPF_ANY)) {
		veer_http_count(svc->id, pending_full);
		return TC_ACT_SHOT;
	}
	if (entry != ct)
		__builtin_memcpy(entry, ct, sizeof(*entry));
	entry->nat_addr = backend->addr;
	entry->nat_port = backend->port;
	entry->subset = chosen;
	entry->rule = (__u8)matched;
	entry->bind_state = VEER_BIND_CONNECTING;
	/* From here the pair is the backend's handshake: timed from its
	 * SYN (sent below) to its SYN-ACK, like an L4 pair's. */
	entry->created_ns = bpf_ktime_get_ns();
	entry->health = VEER_CT_H_TRACKED | VEER_CT_H_HTTP;
	veer_seq_advance(entry, pkt);
	if (pkt->tcp_flags & TCP_FLAG_FIN) {
		/* The FIN follows the request's bytes (replayed with it). */
		entry->flags |= VEER_CT_F_FIN_FORWARD;
		entry->fin_seq_forward = pkt->seq + pkt->payload_len;
	}
	veer_ct_key_fill(rev_key, &backend->addr, &pkt->saddr, backend->port,
			 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	veer_http_retire(rev_key, key, pkt);
	entry->nat_addr = pkt->daddr;
	entry->nat_port = pkt->dport;
	/* The backend's stream starts unseen: seq_next is the client's. */
	entry->flags &= (__u8)~VEER_CT_F_SEQ_SEEN;
	if (veer_ct_update(VEER_CT_HALF_OPEN, rev_key, entry))
		goto refused;
	entry->nat_addr = backend->addr;
	entry->nat_port = backend->port;
	entry->flags |= VEER_CT_F_SEQ_SEEN;
	if (veer_ct_update(VEER_CT_HALF_OPEN, key, entry)) {
		veer_ct_delete(VEER_CT_HALF_OPEN, rev_key);
		goto refused;
	}
	hs = veer_http_stats_of(svc->id);
	if (hs) {
		if (matched < VEER_MAX_RULES)
			hs->rule_requests[matched & (VEER_MAX_RULES - 1)]++;
		else if (parsed == VEER_HTTP_COMPLETE)
			hs->default_requests++;
		else if (parsed == VEER_HTTP_INCOMPLETE)
			hs->headers_incomplete++;
		else
			hs->not_http++;
	}
	stats = veer_stats_row(svc->id, chosen);
	if (stats) {
		stats->new_conns++;
		stats->packets_forward++;
		stats->bytes_forward += pkt->frame_len;
	}
	return veer_http_backend_syn(skb, pkt, s, entry);
refused:
	bpf_map_delete_elem(&veer_http_req, key);
	veer_http_count(svc->id, pending_full);
	return TC_ACT_SHOT;
}

/* Ends a pair that was never bound: both entries and the held request. */
static __always_inline void veer_http_abort(const struct veer_pkt *pkt,
					    const struct veer_ct_key *fwd_key,
					    const struct veer_ct_entry *ct)
{
	struct veer_ct_key rev_key;

	if (ct->bind_state == VEER_BIND_CONNECTING) {
		veer_ct_key_sibling(&rev_key, pkt, ct, VEER_CT_DIR_FORWARD);
		veer_ct_delete(VEER_CT_HALF_OPEN, &rev_key);
		bpf_map_delete_elem(&veer_http_req, fwd_key);
	}
	veer_ct_delete(VEER_CT_HALF_OPEN, fwd_key);
	veer_http_count(ct->svc_id, aborted);
}

/*
 * The client's first data segment on a pair veer answered: it must
 * acknowledge veer's SYN-ACK exactly (a blind spoofer cannot, so no
 * backend is ever chosen for one) and start the client's stream.
 */
static __always_inline int veer_http_is_request(const struct veer_pkt *pkt,
						const struct veer_ct_entry *ct)
{
	return ct->bind_state == VEER_BIND_ANSWERED && pkt->payload_len &&
	       (pkt->tcp_flags &
		(TCP_FLAG_SYN | TCP_FLAG_RST | TCP_FLAG_ACK)) == TCP_FLAG_ACK &&
	       pkt->ack_seq == ct->local_isn + 1 && pkt->seq == ct->syn_seq + 1;
}

/* Zeroes req->data[i] if it is in the buffer (checksum padding). */
static __always_inline void veer_http_zero(struct veer_http_request *req,
					   __u32 i)
{
	if (i >= VEER_HTTP_REQ_MAX)
		return;
	/* The mask must stay for the verifier: hide i from the compiler,
	 * which would drop it after the check above. */
	asm volatile("" : "+r"(i));
	req->data[i & (VEER_HTTP_REQ_MAX - 1)] = 0;
}

/*
 * A later segment of the client's first flight while the backend has not
 * answered (the window veer announced has room for two): the segment
 * right after the request is held too, a FIN right after what is held is
 * remembered, and the replay delivers both. Anything else is dropped for
 * the client to retransmit.
 */
static __always_inline void veer_http_hold_more(struct __sk_buff *skb,
						const struct veer_pkt *pkt,
						const struct veer_ct_key *key,
						struct veer_ct_entry *ct)
{
	struct veer_http_request *req =
		bpf_map_lookup_elem(&veer_http_req, key);
	__u32 first, len = pkt->payload_len, off = pkt->frame_len - len, k;
	struct veer_ct_entry *rev;
	struct veer_ct_key rev_key;

	if (!req)
		return;
	first = req->len;
	if (len && pkt->seq == ct->syn_seq + 1 + first && !req->len2 &&
	    len <= VEER_HTTP_SEGMENT_MAX) {
		len = veer_len_bounded(len, VEER_HTTP_SEGMENT_MAX);
		if (bpf_skb_load_bytes(skb, off,
				       &req->data[VEER_HTTP_SEGMENT_MAX], len))
			return;
		for (k = 0; k < 3; k++)
			veer_http_zero(req, VEER_HTTP_SEGMENT_MAX + len + k);
		req->len2 = len;
	} else if (len || pkt->seq != ct->syn_seq + 1 + first + req->len2) {
		return;
	}
	veer_seq_advance(ct, pkt);
	if (!(pkt->tcp_flags & TCP_FLAG_FIN))
		return;
	req->tcp_flags |= TCP_FLAG_FIN;
	/* The FIN ends what is held: both entries learn where. */
	ct->flags |= VEER_CT_F_FIN_FORWARD;
	ct->fin_seq_forward = pkt->seq + pkt->payload_len;
	veer_ct_key_sibling(&rev_key, pkt, ct, VEER_CT_DIR_FORWARD);
	rev = veer_ct_lookup(VEER_CT_HALF_OPEN, &rev_key);
	if (rev) {
		rev->flags |= VEER_CT_F_FIN_FORWARD;
		rev->fin_seq_forward = ct->fin_seq_forward;
	}
}

/* A client's packet on a pair not bound yet. */
static __noinline int veer_http_forward_unbound(struct __sk_buff *skb,
						const struct veer_pkt *pkt,
						const struct veer_service *svc,
						const struct veer_ct_key *key,
						struct veer_ct_entry *ct)
{
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_ct_entry *copy;
	__u8 state;

	if (!s || !pkt || !svc || !key || !ct)
		return TC_ACT_SHOT;
	copy = &s->entry;
	state = ct->bind_state;

	if (pkt->tcp_flags & TCP_FLAG_RST) {
		/* Only the exact next sequence number ends it: after the
		 * ISN, or after the request (where a real client's RST is). */
		if (pkt->seq != ct->syn_seq + 1 &&
		    !(state == VEER_BIND_CONNECTING &&
		      pkt->seq == ct->seq_next))
			return TC_ACT_SHOT;
		__builtin_memcpy(copy, ct, sizeof(*copy));
		veer_http_abort(pkt, key, copy);
		if (state != VEER_BIND_CONNECTING)
			return TC_ACT_SHOT;
		/* The backend has our SYN: it must hear the RST too, in
		 * its own terms (it never saw veer's ISN). */
		if (veer_tcp_set_header(skb, pkt, pkt->seq, 0,
					veer_tcp_hdr_len(pkt), TCP_FLAG_RST,
					pkt->window) ||
		    veer_nat_rewrite(skb, pkt, VEER_NAT_DST, &copy->nat_addr,
				     copy->nat_port))
			return TC_ACT_SHOT;
		return TC_ACT_OK;
	}
	if (pkt->tcp_flags & TCP_FLAG_SYN) {
		if (!veer_pkt_is_syn(pkt))
			return TC_ACT_SHOT;
		if (pkt->seq == ct->syn_seq)
			return veer_http_answer_syn(skb, pkt, s, ct);
		/* The client starts over with a new ISN. */
		__builtin_memcpy(copy, ct, sizeof(*copy));
		veer_http_abort(pkt, key, copy);
		return veer_http_new_syn(skb, pkt, svc, key);
	}
	/* Everything else must acknowledge veer's SYN-ACK exactly: a blind
	 * spoofer cannot, so no backend is ever chosen for one. */
	if (!(pkt->tcp_flags & TCP_FLAG_ACK) ||
	    pkt->ack_seq != ct->local_isn + 1)
		return TC_ACT_SHOT;
	if (pkt->seq != ct->syn_seq + 1) {
		if (state == VEER_BIND_CONNECTING)
			veer_http_hold_more(skb, pkt, key, ct);
		return TC_ACT_SHOT;
	}
	if (!pkt->payload_len) {
		if (state == VEER_BIND_ANSWERED &&
		    (pkt->tcp_flags & TCP_FLAG_FIN)) {
			/* Closed before asking anything. */
			__builtin_memcpy(copy, ct, sizeof(*copy));
			veer_http_abort(pkt, key, copy);
			return veer_http_refuse(skb, pkt, copy, s);
		}
		return TC_ACT_SHOT; /* the handshake's ACK: veer's alone */
	}
	if (state == VEER_BIND_ANSWERED)
		return TC_ACT_SHOT; /* veer_http_is_request() took it */
	/* The request again: the backend SYN (or its answer) was lost. */
	if (veer_http_hold(skb, pkt, s))
		return TC_ACT_SHOT;
	return veer_http_backend_syn(skb, pkt, s, ct);
}

/*
 * The half-open entry veer_http_new_syn made, rebuilt in s->entry from
 * the client's ack if it acknowledges one of veer's cookies (and the
 * tuple has no half-open pair; the L4 program found no established one).
 * Not counted yet: see veer_http_cookie_request.
 */
static __always_inline int
veer_http_cookie_entry(const struct veer_pkt *pkt,
		       const struct veer_service *svc,
		       struct veer_http_scratch *s)
{
	struct veer_ct_entry *e = &s->entry;
	__u16 mss;
	__u8 wscale;

	if (!pkt->payload_len || !(pkt->tcp_flags & TCP_FLAG_ACK) ||
	    (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_RST)) ||
	    !veer_cookie_check(pkt, pkt->ack_seq - 1, &mss, &wscale))
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->flags = VEER_CT_F_DELAYED | VEER_CT_F_SEQ_SEEN;
	e->bind_state = VEER_BIND_ANSWERED;
	e->svc_id = svc->id;
	e->subset = VEER_STATS_ROW_UNATTRIBUTED;
	e->rule = VEER_RULE_DEFAULT;
	e->created_ns = bpf_ktime_get_ns();
	e->syn_seq = pkt->seq - 1;
	e->seq_next = pkt->seq;
	e->local_isn = pkt->ack_seq - 1;
	e->client_mss = mss;
	e->client_wscale = wscale;
	return 1;
}

/* A connection restored from its cookie (counted): is this its request? */
static __always_inline int
veer_http_cookie_request(const struct veer_pkt *pkt,
			 const struct veer_service *svc,
			 const struct veer_ct_entry *entry)
{
	veer_http_count(svc->id, cookie_restored);
	return veer_http_is_request(pkt, entry);
}

/* What the HTTP program leaves to L4, in a frame of its own. */
static __noinline int veer_http_forward_l4(struct __sk_buff *skb,
					   const struct veer_pkt *pkt,
					   const struct veer_service *svc,
					   const struct veer_ct_key *key)
{
	if (!pkt || !svc || !key)
		return TC_ACT_SHOT;
	return veer_lb_forward_svc(skb, pkt, svc, key, 1);
}

/* Client -> VIP, for a service with rules (tail call from the L4 program). */
static __always_inline int veer_http_forward(struct __sk_buff *skb)
{
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_service *svc;
	struct veer_ct_entry *ct;
	struct veer_pkt pkt = {};
	struct veer_ct_key *key;

	if (!s || veer_parse(skb, &pkt))
		return TC_ACT_OK;
	key = &s->fwd_key;
	veer_svc_key_of_pkt(&s->svc_key, &pkt);
	svc = bpf_map_lookup_elem(&veer_services, &s->svc_key);
	veer_ct_key_of_pkt(key, &pkt, VEER_CT_DIR_FORWARD);
	ct = veer_ct_lookup(VEER_CT_HALF_OPEN, key);
	if (ct && (ct->flags & VEER_CT_F_DELAYED)) {
		if (!svc || svc->id != ct->svc_id) {
			/* The service went (or was replaced) meanwhile: the
			 * client, which believes it is connected, is reset. */
			__builtin_memcpy(&s->entry, ct, sizeof(s->entry));
			veer_http_abort(&pkt, key, &s->entry);
			if (pkt.tcp_flags & TCP_FLAG_RST)
				return TC_ACT_SHOT;
			return veer_http_refuse(skb, &pkt, &s->entry, s);
		}
		if (!veer_http_is_request(&pkt, ct))
			return veer_http_forward_unbound(skb, &pkt, svc, key,
							 ct);
		/* One call of the request path, with its entry in scratch
		 * either way: the verifier walks it once. */
		__builtin_memcpy(&s->entry, ct, sizeof(s->entry));
	} else if (!svc) {
		return TC_ACT_OK;
	} else if (!ct && svc->rule_count && veer_pkt_is_syn(&pkt)) {
		return veer_http_new_syn(skb, &pkt, svc, key);
	} else if (ct || !svc->rule_count ||
		   !veer_http_cookie_entry(&pkt, svc, s) ||
		   /*
		    * Bound meanwhile: the replay on another CPU moved the
		    * pair (established written, then half-open deleted)
		    * between the L4 program's lookup and ours. A segment
		    * of that connection must not come back from its
		    * cookie as a new request: L4 finds the pair again.
		    * Looked for only behind a valid cookie, so a flood of
		    * segments with none pays no lookup for it.
		    */
		   veer_ct_lookup(VEER_CT_ESTABLISHED, key) ||
		   !veer_http_cookie_request(&pkt, svc, &s->entry)) {
		/* The request of a pair whose entry a SYN flood evicted
		 * came back from its cookie; anything else is L4's. */
		return veer_http_forward_l4(skb, &pkt, svc, key);
	}
	/* The request goes straight from this frame: the matcher's
	 * callbacks need the stack the other paths would hold. */
	return veer_http_request(skb, &pkt, svc, key, &s->entry);
}

/*
 * Step 3: the backend's SYN-ACK becomes the ACK carrying the held
 * request (a bare ACK if the copy was lost: the client's retransmission
 * then brings it), sent into the interface toward the backend.
 */
static __always_inline int veer_http_replay(struct __sk_buff *skb,
					    const struct veer_pkt *pkt,
					    const struct veer_ct_entry *ct,
					    struct veer_http_scratch *s,
					    const struct veer_ct_key *fwd_key)
{
	__u32 hdr_len = veer_tcp_hdr_len(pkt), opt_len, len = 0, len2 = 0;
	const struct veer_http_request *req;
	__u8 fin = 0, flags;
	struct veer_syn_opts o;
	__be16 window = 0;
	__s64 diff;

	if (veer_tcp_read_opts(skb, pkt, s, &o) < 0 || pkt->payload_len)
		return TC_ACT_SHOT;
	opt_len = hdr_len - TCP_HDR_MIN_LEN;
	req = bpf_map_lookup_elem(&veer_http_req, fwd_key);
	if (req) {
		len = req->len;
		len2 = req->len2;
		if (len > VEER_HTTP_SEGMENT_MAX || len2 > VEER_HTTP_SEGMENT_MAX)
			return TC_ACT_SHOT;
		window = req->window;
		/* A request that closed its side: the FIN goes too, on the
		 * last segment. */
		fin = req->tcp_flags & TCP_FLAG_FIN;
	}
	veer_tcp_nops(s);
	if (veer_tcp_write_opts(skb, pkt, s, opt_len))
		return TC_ACT_SHOT;
	if (req && len) {
		len = veer_len_bounded(len, VEER_HTTP_SEGMENT_MAX);
		if (bpf_skb_change_tail(skb, pkt->l4_off + hdr_len + len, 0))
			return TC_ACT_SHOT;
		if (bpf_skb_store_bytes(skb, pkt->l4_off + hdr_len, req->data,
					len, 0))
			return TC_ACT_SHOT;
		diff = veer_csum_segment(req, 0, len, 1, 0);
		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK, 0,
					(__u32)diff, 0))
			return TC_ACT_SHOT;
	}
	flags = TCP_FLAG_ACK | (len ? TCP_FLAG_PSH : 0) | (len2 ? 0 : fin);
	if (veer_ip_set_len(skb, pkt, hdr_len, hdr_len + len) ||
	    veer_tcp_answer(skb, pkt, ct->syn_seq + 1, pkt->seq + 1, flags,
			    veer_window_xlate(window, ct->wscale_forward)))
		return TC_ACT_SHOT;
	if (len)
		veer_http_count(ct->svc_id, replays);
	if (!req || !len || !len2)
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS_FLAG);
	/*
	 * The second segment of the client's first flight: a copy of the
	 * first goes now, and this packet becomes the second. Should the
	 * copy fail, the first goes alone and the client's retransmission
	 * brings the second.
	 */
	if (bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS_FLAG))
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS_FLAG);
	len2 = veer_len_bounded(len2, VEER_HTTP_SEGMENT_MAX);
	diff = veer_csum_segment(req, 0, len, 0, 0);
	diff = veer_csum_segment(req, VEER_HTTP_SEGMENT_MAX, len2, 1, diff);
	if (diff < 0 ||
	    bpf_skb_change_tail(skb, pkt->l4_off + hdr_len + len2, 0) ||
	    bpf_skb_store_bytes(skb, pkt->l4_off + hdr_len,
				&req->data[VEER_HTTP_SEGMENT_MAX], len2, 0) ||
	    bpf_l4_csum_replace(skb, pkt->l4_off + TCP_OFF_CHECK, 0,
				(__u32)diff, 0) ||
	    veer_ip_set_len(skb, pkt, hdr_len + len, hdr_len + len2) ||
	    veer_tcp_set32(skb, pkt, TCP_OFF_SEQ, bpf_htonl(ct->syn_seq + 1),
			   bpf_htonl(ct->syn_seq + 1 + len)) ||
	    veer_tcp_set16(skb, pkt, TCP_OFF_FLAGS_WORD,
			   veer_tcp_flags_word(hdr_len, flags),
			   veer_tcp_flags_word(hdr_len, flags | fin)))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS_FLAG);
}

/*
 * The backend answered veer's SYN with a bare ACK: it still holds the
 * tuple from an older connection (TIME_WAIT, whose rules refuse a SYN
 * whose ISN is not past the old stream when there are no timestamps).
 * A client in SYN-SENT answers such an ACK with an RST at the ACK's
 * number (RFC 9293 3.10.7.3), which ends the old state; veer does it for
 * the client, and the client's next retransmission of the request sends
 * the backend SYN again. Without this the connection would hang until
 * TIME_WAIT ran out.
 */
static __always_inline int veer_http_reset_stale(struct __sk_buff *skb,
						 const struct veer_pkt *pkt,
						 const struct veer_ct_entry *ct,
						 struct veer_http_scratch *s)
{
	struct veer_syn_opts o;
	int opt_len;

	if (pkt->payload_len)
		return TC_ACT_SHOT;
	opt_len = veer_tcp_read_opts(skb, pkt, s, &o);
	if (opt_len < 0)
		return TC_ACT_SHOT;
	veer_tcp_nops(s);
	if (veer_tcp_write_opts(skb, pkt, s, (__u32)opt_len) ||
	    veer_tcp_answer(skb, pkt, pkt->ack_seq, 0, TCP_FLAG_RST, 0))
		return TC_ACT_SHOT;
	veer_http_count(ct->svc_id, stale_backend_resets);
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS_FLAG);
}

/* The window scales of both legs, once the backend has answered. */
static __always_inline void veer_http_wscales(struct veer_ct_entry *ct,
					      __u8 backend_wscale)
{
	__u8 client = ct->client_wscale;
	int client_leg = client != VEER_WSCALE_NONE;
	int backend_leg = client_leg && backend_wscale != VEER_WSCALE_NONE;

	ct->wscale_forward = veer_wscale_pair(client_leg ? client : 0,
					      backend_leg ? client : 0);
	ct->wscale_reverse =
		veer_wscale_pair(backend_leg ? backend_wscale : 0,
				 client_leg ? VEER_HTTP_WSCALE : 0);
}

/* Backend -> client on a pair bound late (tail call from the L4 program). */
static __always_inline int veer_http_reverse(struct __sk_buff *skb)
{
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_ct_entry *ct, *fwd, *copy;
	struct veer_ct_key key, fwd_key;
	struct veer_syn_opts o;
	struct veer_ct_view v;
	struct veer_pkt pkt = {};
	int table = VEER_CT_HALF_OPEN;

	if (!s || veer_parse(skb, &pkt))
		return TC_ACT_OK;
	copy = &s->entry;
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_REVERSE);
	ct = veer_ct_lookup(VEER_CT_HALF_OPEN, &key);
	if (!ct) {
		ct = veer_ct_lookup(VEER_CT_ESTABLISHED, &key);
		table = VEER_CT_ESTABLISHED;
	}
	if (!ct || !(ct->flags & VEER_CT_F_DELAYED))
		return TC_ACT_SHOT;
	veer_ct_key_sibling(&fwd_key, &pkt, ct, VEER_CT_DIR_REVERSE);
	if (table == VEER_CT_ESTABLISHED) {
		/* A repeated SYN-ACK: the replay (or its ACK) was lost. */
		if ((pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) !=
			    (TCP_FLAG_SYN | TCP_FLAG_ACK) ||
		    pkt.seq != ct->peer_isn ||
		    ct->bind_state != VEER_BIND_BOUND)
			return TC_ACT_SHOT;
		__builtin_memcpy(copy, ct, sizeof(*copy));
		return veer_http_replay(skb, &pkt, copy, s, &fwd_key);
	}
	if (ct->bind_state != VEER_BIND_CONNECTING)
		return TC_ACT_SHOT;
	if (pkt.tcp_flags & TCP_FLAG_RST) {
		/* Refused: the client hears it at veer's sequence number. */
		if (!(pkt.tcp_flags & TCP_FLAG_ACK) ||
		    pkt.ack_seq != ct->syn_seq + 1)
			return TC_ACT_SHOT;
		__builtin_memcpy(copy, ct, sizeof(*copy));
		veer_ct_view_of(&v, copy);
		veer_ct_count(&v, ct_aborted);
		if (copy->health & VEER_CT_H_TRACKED)
			veer_health_count(v.svc_id, v.subset, refused);
		veer_ct_delete(VEER_CT_HALF_OPEN, &key);
		veer_ct_delete(VEER_CT_HALF_OPEN, &fwd_key);
		bpf_map_delete_elem(&veer_http_req, &fwd_key);
		veer_http_count(copy->svc_id, aborted);
		if (veer_nat_rewrite(skb, &pkt, VEER_NAT_SRC, &copy->nat_addr,
				     copy->nat_port) ||
		    veer_tcp_set32(skb, &pkt, TCP_OFF_SEQ, bpf_htonl(pkt.seq),
				   bpf_htonl(copy->local_isn + 1)))
			return TC_ACT_SHOT;
		return TC_ACT_OK;
	}
	if ((pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_ACK)
		return veer_http_reset_stale(skb, &pkt, ct, s);
	if ((pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) !=
		    (TCP_FLAG_SYN | TCP_FLAG_ACK) ||
	    pkt.ack_seq != ct->syn_seq + 1)
		return TC_ACT_SHOT;
	if (veer_tcp_read_opts(skb, &pkt, s, &o) < 0)
		return TC_ACT_SHOT;
	/*
	 * Both entries learn the backend's ISN and scales, then move. The
	 * handshake is timed; the replayed request is the first request
	 * byte the backend gets (the time to first byte starts now).
	 */
	if (ct->health & VEER_CT_H_TRACKED)
		veer_health_handshake(ct->svc_id, ct->subset,
				      bpf_ktime_get_ns() - ct->created_ns);
	ct->peer_isn = pkt.seq;
	ct->flags |= VEER_CT_F_SYNACK;
	ct->bind_state = VEER_BIND_BOUND;
	veer_http_wscales(ct, o.wscale);
	veer_seq_start(ct, &pkt);
	fwd = veer_ct_lookup(VEER_CT_HALF_OPEN, &fwd_key);
	if (fwd) {
		fwd->peer_isn = ct->peer_isn;
		fwd->flags |= VEER_CT_F_SYNACK;
		fwd->bind_state = VEER_BIND_BOUND;
		fwd->wscale_forward = ct->wscale_forward;
		fwd->wscale_reverse = ct->wscale_reverse;
		if (fwd->health & VEER_CT_H_TRACKED) {
			fwd->closed_ns = bpf_ktime_get_ns();
			fwd->health |= VEER_CT_H_REQUEST;
		}
	}
	__builtin_memcpy(copy, ct, sizeof(*copy));
	veer_ct_view_of(&v, copy);
	if (!veer_ct_move_pair(VEER_CT_HALF_OPEN, VEER_CT_ESTABLISHED, &key,
			       copy, &fwd_key, fwd, &v, 0, 0)) {
		veer_ct_count(&v, ct_established);
		veer_http_count(copy->svc_id, bound);
	}
	return veer_http_replay(skb, &pkt, copy, s, &fwd_key);
}

#endif /* VEER_BPF_HTTP_H */
