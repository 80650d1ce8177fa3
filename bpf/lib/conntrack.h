/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection pinning. Entries are created at the SYN and followed by every
 * later packet, whatever the service's weights or backends have become since.
 * An RST or the ACK of the second FIN closes them: they are still honoured
 * for a grace period, then freed by a timer in the entry. The LRU evicts
 * whatever a lost packet leaves behind.
 */
#ifndef VEER_BPF_CONNTRACK_H
#define VEER_BPF_CONNTRACK_H

#include "config.h"
#include "maps.h"
#include "parse.h"

/* Any sign that the connection on this tuple is ending or has ended. */
#define VEER_CT_F_CLOSING                                                      \
	(VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE | VEER_CT_F_RST |       \
	 VEER_CT_F_CLOSED)
#define VEER_CT_F_BOTH_FIN (VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE)

static __always_inline void veer_ct_key_fill(struct veer_ct_key *key,
					     const union veer_addr *saddr,
					     const union veer_addr *daddr,
					     __be16 sport, __be16 dport,
					     __u8 family, __u8 dir)
{
	__builtin_memcpy(&key->saddr, saddr, sizeof(key->saddr));
	__builtin_memcpy(&key->daddr, daddr, sizeof(key->daddr));
	key->sport = sport;
	key->dport = dport;
	key->proto = IPPROTO_TCP_NUM;
	key->family = family;
	key->dir = dir;
	key->reserved = 0;
}

/* The key of a packet's own direction. */
static __always_inline void veer_ct_key_of_pkt(struct veer_ct_key *key,
					       const struct veer_pkt *pkt,
					       __u8 dir)
{
	veer_ct_key_fill(key, &pkt->saddr, &pkt->daddr, pkt->sport, pkt->dport,
			 pkt->family, dir);
}

/*
 * The key of the other direction's entry: the reverse entry of a forward
 * packet is keyed backend -> client; the forward entry of a reverse packet
 * is keyed client -> VIP. Either way it is (nat, peer) swapped.
 */
static __always_inline void veer_ct_key_sibling(struct veer_ct_key *key,
						const struct veer_pkt *pkt,
						const struct veer_ct_entry *ct,
						__u8 dir)
{
	if (dir == VEER_CT_DIR_FORWARD)
		veer_ct_key_fill(key, &ct->nat_addr, &pkt->saddr, ct->nat_port,
				 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	else
		veer_ct_key_fill(key, &pkt->daddr, &ct->nat_addr, pkt->dport,
				 ct->nat_port, pkt->family,
				 VEER_CT_DIR_FORWARD);
}

static __always_inline void
veer_ct_delete_pair(const struct veer_ct_key *self,
		    const struct veer_ct_key *sibling)
{
	bpf_map_delete_elem(&veer_conntrack, sibling);
	bpf_map_delete_elem(&veer_conntrack, self);
}

static int veer_ct_expire(void *map, struct veer_ct_key *key,
			  struct veer_ct_entry *entry)
{
	(void)entry;
	bpf_map_delete_elem(map, key);
	return 0;
}

static __always_inline void veer_ct_arm_close(struct veer_ct_entry *ct)
{
	ct->flags |= VEER_CT_F_CLOSED;
	/* -EBUSY if already initialised: the timer is then just restarted. */
	bpf_timer_init(&ct->close_timer, &veer_conntrack, CLOCK_MONOTONIC);
	bpf_timer_set_callback(&ct->close_timer, veer_ct_expire);
	bpf_timer_start(&ct->close_timer, veer_ct_close_grace_ns(), 0);
}

/* Both entries enter the grace period; their timers free them. */
static __always_inline void
veer_ct_close_pair(struct veer_ct_entry *ct, const struct veer_ct_key *sibling)
{
	struct veer_ct_entry *other;

	other = bpf_map_lookup_elem(&veer_conntrack, sibling);
	if (other) {
		other->flags |= ct->flags;
		veer_ct_arm_close(other);
	}
	veer_ct_arm_close(ct);
}

/*
 * Close tracking for a packet that matched `ct` in direction `dir`. Only
 * FIN, RST and packets of a connection with both FINs seen do any work, so
 * the established data path costs nothing here. A closed connection is not
 * freed at once: segments still in flight (an ACK overtaken by the FIN, a
 * FIN retransmitted because the last ACK was lost) must still be
 * translated, or the peer would see the backend's own address and reset.
 */
static __always_inline void
veer_ct_track_close(const struct veer_pkt *pkt, struct veer_ct_entry *ct,
		    const struct veer_ct_key *sibling, __u8 dir)
{
	struct veer_ct_entry *other;
	__u32 fin_seq;
	__u8 fin_flag;

	if (ct->flags & VEER_CT_F_CLOSED)
		return;
	if (pkt->tcp_flags & TCP_FLAG_RST) {
		ct->flags |= VEER_CT_F_RST;
		veer_ct_close_pair(ct, sibling);
		return;
	}
	if (pkt->tcp_flags & TCP_FLAG_FIN) {
		/* The FIN occupies the sequence number after the payload. */
		fin_seq = pkt->seq + pkt->payload_len;
		fin_flag = dir == VEER_CT_DIR_FORWARD ? VEER_CT_F_FIN_FORWARD
						      : VEER_CT_F_FIN_REVERSE;
		other = bpf_map_lookup_elem(&veer_conntrack, sibling);
		if (dir == VEER_CT_DIR_FORWARD) {
			ct->fin_seq_forward = fin_seq;
			if (other)
				other->fin_seq_forward = fin_seq;
		} else {
			ct->fin_seq_reverse = fin_seq;
			if (other)
				other->fin_seq_reverse = fin_seq;
		}
		ct->flags |= fin_flag;
		if (other)
			other->flags |= fin_flag;
		return;
	}
	if ((ct->flags & VEER_CT_F_BOTH_FIN) == VEER_CT_F_BOTH_FIN &&
	    (pkt->tcp_flags & TCP_FLAG_ACK)) {
		/* The last ACK acknowledges the other side's FIN. */
		fin_seq = dir == VEER_CT_DIR_FORWARD ? ct->fin_seq_reverse
						     : ct->fin_seq_forward;
		if (pkt->ack_seq == fin_seq + 1)
			veer_ct_close_pair(ct, sibling);
	}
}

#endif /* VEER_BPF_CONNTRACK_H */
