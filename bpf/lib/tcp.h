/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP header fields rewritten in place, each with its incremental checksum
 * update, and the translation a pair bound late (HTTP routing) needs on
 * every packet: sequence numbers and windows between the client's and
 * the backend's handshakes. The checksum helpers of the context know
 * about CHECKSUM_PARTIAL: a field outside the pseudo-header is then left
 * out of the sum, as it must be.
 */
#ifndef VEER_BPF_TCP_H
#define VEER_BPF_TCP_H

#include "ctx.h"
#include "parse.h"

#define TCP_OFF_SEQ 4
#define TCP_OFF_ACK 8
#define TCP_OFF_FLAGS_WORD 12 /* data offset, reserved bits and flags */
#define TCP_OFF_WINDOW 14
#define TCP_OFF_CHECK 16
#define TCP_WINDOW_MAX 0xffff

static __always_inline int veer_tcp_set32(veer_ctx_t *ctx,
					  const struct veer_pkt *pkt,
					  __u32 field_off, __be32 old_val,
					  __be32 new_val)
{
	if (old_val == new_val)
		return 0;
	if (ctx_l4_csum_replace(ctx, pkt->l4_off + TCP_OFF_CHECK, old_val,
				new_val, sizeof(__be32)))
		return -1;
	return ctx_store_bytes(ctx, pkt->l4_off + field_off, &new_val,
			       sizeof(new_val));
}

static __always_inline int veer_tcp_set16(veer_ctx_t *ctx,
					  const struct veer_pkt *pkt,
					  __u32 field_off, __be16 old_val,
					  __be16 new_val)
{
	if (old_val == new_val)
		return 0;
	if (ctx_l4_csum_replace(ctx, pkt->l4_off + TCP_OFF_CHECK, old_val,
				new_val, sizeof(__be16)))
		return -1;
	return ctx_store_bytes(ctx, pkt->l4_off + field_off, &new_val,
			       sizeof(new_val));
}

/* (from << 4) | to, as struct veer_ct_entry's wscale_* fields. */
static __always_inline __u8 veer_wscale_pair(__u8 from, __u8 to)
{
	return (__u8)((from & 0xf) << 4 | (to & 0xf));
}

/*
 * A window field the sender scaled by `from` as a receiver scaling by
 * `to` must read it: rounded down (announcing less than the sender
 * offers is always safe), capped at the field's maximum.
 */
static __always_inline __be16 veer_window_xlate(__be16 window, __u8 pair)
{
	__u32 bytes = (__u32)bpf_ntohs(window) << (pair >> 4 & 0xf);
	__u32 out = bytes >> (pair & 0xf);

	return bpf_htons(out > TCP_WINDOW_MAX ? TCP_WINDOW_MAX : (__u16)out);
}

/*
 * Every packet of a pair bound late, after its addresses are translated:
 * a client's ack moves into the backend's sequence space, a backend's
 * sequence number into the one veer's SYN-ACK opened for the client, and
 * windows between the two handshakes' scales. A SYN's window is never
 * scaled and is left alone.
 */
static __always_inline int veer_tcp_xlate(veer_ctx_t *ctx,
					  const struct veer_pkt *pkt,
					  __u32 isn_delta, __u8 wscale,
					  __u8 dir)
{
	__be16 window;

	if (dir == VEER_CT_DIR_FORWARD) {
		if ((pkt->tcp_flags & TCP_FLAG_ACK) &&
		    veer_tcp_set32(ctx, pkt, TCP_OFF_ACK,
				   bpf_htonl(pkt->ack_seq),
				   bpf_htonl(pkt->ack_seq + isn_delta)))
			return -1;
	} else if (veer_tcp_set32(ctx, pkt, TCP_OFF_SEQ, bpf_htonl(pkt->seq),
				  bpf_htonl(pkt->seq - isn_delta))) {
		return -1;
	}
	if ((wscale >> 4) == (wscale & 0xf) || (pkt->tcp_flags & TCP_FLAG_SYN))
		return 0;
	window = veer_window_xlate(pkt->window, wscale);
	return veer_tcp_set16(ctx, pkt, TCP_OFF_WINDOW, pkt->window, window);
}

#endif /* VEER_BPF_TCP_H */
