/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection pinning. A connection's pair of entries (forward and reverse)
 * is created in the half-open table at the client's SYN, moves to the
 * established table when the client acknowledges the backend's SYN-ACK,
 * and to the closing table when the connection closes; there it still
 * translates late segments for the close grace period, after which it
 * counts as gone. See struct veer_ct_entry for why three tables.
 *
 * Nothing here trusts a packet just because its tuple matches: an RST
 * closes only with the sender's exact next sequence number, a FIN counts
 * only within the tracked window, a SYN re-places a tuple only once its
 * connection is closed, and a half-open pair becomes established only
 * with an acknowledgement of the backend's initial sequence number, which
 * a blind spoofer never sees.
 */
#ifndef VEER_BPF_CONNTRACK_H
#define VEER_BPF_CONNTRACK_H

#include "runtime.h"
#include "map_defs.h"
#include "parse.h"
#include "stats.h"
#include "health.h"

/* Which table a pair is in. */
#define VEER_CT_ESTABLISHED 0
#define VEER_CT_HALF_OPEN 1
#define VEER_CT_CLOSING 2
#define VEER_CT_NONE 3
/* A half-open pair bound late (HTTP): only the HTTP programs move it. */
#define VEER_CT_DELAYED 4

#define VEER_CT_F_BOTH_FIN (VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE)

/* What a packet's RST or FIN sequence number is to its tracked stream. */
#define VEER_SEQ_EXACT 0
#define VEER_SEQ_IN_WINDOW 1
#define VEER_SEQ_OUTSIDE 2

/*
 * The table helpers take the table as a constant: once inlined only one
 * branch is left, and the verifier sees a plain map pointer.
 */
static __always_inline struct veer_ct_entry *
veer_ct_lookup(int table, const struct veer_ct_key *key)
{
	if (table == VEER_CT_ESTABLISHED)
		return bpf_map_lookup_elem(&veer_conntrack, key);
	if (table == VEER_CT_HALF_OPEN)
		return bpf_map_lookup_elem(&veer_ct_syn, key);
	return bpf_map_lookup_elem(&veer_ct_closing, key);
}

static __always_inline long veer_ct_update(int table,
					   const struct veer_ct_key *key,
					   const struct veer_ct_entry *entry)
{
	if (table == VEER_CT_ESTABLISHED)
		return bpf_map_update_elem(&veer_conntrack, key, entry,
					   BPF_ANY);
	if (table == VEER_CT_HALF_OPEN)
		return bpf_map_update_elem(&veer_ct_syn, key, entry, BPF_ANY);
	return bpf_map_update_elem(&veer_ct_closing, key, entry, BPF_ANY);
}

/* 0 if this call removed the entry, -1 if it was gone already. */
static __always_inline int veer_ct_delete_counted(int table,
						  const struct veer_ct_key *key)
{
	long err;

	if (table == VEER_CT_ESTABLISHED)
		err = bpf_map_delete_elem(&veer_conntrack, key);
	else if (table == VEER_CT_HALF_OPEN)
		err = bpf_map_delete_elem(&veer_ct_syn, key);
	else
		err = bpf_map_delete_elem(&veer_ct_closing, key);
	return err ? -1 : 0;
}

static __always_inline void veer_ct_delete(int table,
					   const struct veer_ct_key *key)
{
	/* Already gone (the other CPU, or the LRU) is fine. */
	veer_ct_delete_counted(table, key);
}

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

static __always_inline void veer_ct_delete_pair(int table,
						const struct veer_ct_key *self,
						const struct veer_ct_key *sib)
{
	veer_ct_delete(table, sib);
	veer_ct_delete(table, self);
}

/*
 * What a packet needs of its pair once the pair may have moved: copied
 * out first, because an LRU entry deleted by a move can be reused by
 * another CPU at once.
 */
struct veer_ct_view {
	union veer_addr nat_addr;
	__be16 nat_port;
	__u8 subset;
	/* Bound late: translate sequence numbers and windows (below). */
	__u8 delayed;
	__u32 svc_id;
	__u32 isn_delta; /* peer_isn - local_isn */
	__u8 wscale_forward;
	__u8 wscale_reverse;
	/* The packet is one only the HTTP programs handle (a backend's
	 * repeated SYN-ACK on a pair bound late). */
	__u8 handoff;
	/* The entry's VEER_CT_H_*, and VEER_VIEW_FIRST_DATA. */
	__u8 health;
};

/*
 * In a view's health only, never in an entry: the packet is the
 * backend's first payload segment on a TRACKED pair, which the caller
 * reads (veer_health_response).
 */
#define VEER_VIEW_FIRST_DATA (1U << 7)

static __always_inline void veer_ct_view_of(struct veer_ct_view *v,
					    const struct veer_ct_entry *ct)
{
	__builtin_memcpy(&v->nat_addr, &ct->nat_addr, sizeof(v->nat_addr));
	v->nat_port = ct->nat_port;
	v->subset = ct->subset;
	v->svc_id = ct->svc_id;
	v->delayed = !!(ct->flags & VEER_CT_F_DELAYED);
	v->isn_delta = ct->peer_isn - ct->local_isn;
	v->wscale_forward = ct->wscale_forward;
	v->wscale_reverse = ct->wscale_reverse;
	v->handoff = 0;
	v->health = ct->health & (__u8)~VEER_VIEW_FIRST_DATA;
}

/*
 * A pair bound late acknowledges in two sequence spaces: the client's
 * acks count from veer's ISN, the backend's sequence numbers from its
 * own. Returns the client's ack as the backend's space has it.
 */
static __always_inline __u32
veer_ct_ack_to_backend(const struct veer_ct_entry *ct, __u32 ack)
{
	if (ct->flags & VEER_CT_F_DELAYED)
		return ack + (ct->peer_isn - ct->local_isn);
	return ack;
}

/* Counts a conntrack event on the pair's service and subset row. */
#define veer_ct_count(v, field)                                                \
	do {                                                                   \
		struct veer_stats *__st =                                      \
			veer_stats_row((v)->svc_id, (v)->subset);              \
		if (__st)                                                      \
			__st->field++;                                         \
	} while (0)

/*
 * What the other direction's entry of the pair keyed `self` translates
 * to: what this key shows (the VIP of a forward key, the backend of a
 * reverse one). *port gets its port.
 */
static __always_inline const union veer_addr *
veer_ct_back_nat(const struct veer_ct_key *self, __be16 *port)
{
	if (self->dir == VEER_CT_DIR_FORWARD) {
		*port = self->dport;
		return &self->daddr;
	}
	*port = self->sport;
	return &self->saddr;
}

/*
 * Whether `other`, found under the sibling key of the entry keyed `self`,
 * is that entry's sibling. veer rewrites the destination only, so one
 * backend tuple carries a client port's connections to several VIPs on
 * that backend: once this pair's reverse entry is evicted, the reverse
 * key can lead to another connection's entry, which translates back to
 * another VIP. Also the proof that a lost entry may be restored from the
 * one found (lb.h).
 */
static __always_inline int veer_ct_is_sibling(const struct veer_ct_key *self,
					      const struct veer_ct_entry *other)
{
	const union veer_addr *addr;
	__be16 port;

	addr = veer_ct_back_nat(self, &port);
	return other->nat_port == port &&
	       veer_addr_equal(&other->nat_addr, addr);
}

/*
 * The other direction's entry of a pair closed by its FINs, made from
 * this one's (`self`, keyed `self_key`) with `flags` set, when the LRU
 * has taken it: its stream judged up to the FIN whose number this entry
 * recorded. Returns -1, making nothing, when no such number is known (an
 * RST close): an entry that judges nothing by sequence would let any
 * segment of that side through for the grace period.
 */
static __always_inline int
veer_ct_sibling_of(struct veer_ct_entry *out,
		   const struct veer_ct_key *self_key,
		   const struct veer_ct_entry *self, __u8 flags)
{
	const union veer_addr *addr;
	__u32 fin_seq;
	__be16 port;

	fin_seq = self_key->dir == VEER_CT_DIR_FORWARD ? self->fin_seq_reverse
						       : self->fin_seq_forward;
	if (!fin_seq)
		return -1;
	addr = veer_ct_back_nat(self_key, &port);
	__builtin_memcpy(out, self, sizeof(*out));
	__builtin_memcpy(&out->nat_addr, addr, sizeof(out->nat_addr));
	out->nat_port = port;
	out->flags |= flags | VEER_CT_F_SEQ_SEEN;
	out->seq_next = fin_seq + 1;
	out->health = 0;
	return 0;
}

/*
 * Moves a pair from one table to another, setting `flags` on both (and
 * closed_ns when they enter the closing table). `other` is the sibling's
 * entry in `from`, which every caller has looked up already: not looked
 * up twice. NULL if it is gone: a pair entering the closing table then
 * gets the sibling's copy made from this entry (veer_ct_sibling_of). The new
 * copies are written before the old ones are deleted, so a packet on another
 * CPU always finds one of them. Returns 0 when this call moved the pair; -1
 * when another CPU moved it first, or (counted) when the kernel refused the new
 * copies: the pair then stays where it was.
 */
static __always_inline int
veer_ct_move_pair(int from, int to, const struct veer_ct_key *self,
		  struct veer_ct_entry *self_ct, const struct veer_ct_key *sib,
		  const struct veer_ct_entry *other,
		  const struct veer_ct_view *v, __u8 flags, __u64 now)
{
	struct veer_ct_entry copy;
	int sib_gone = 0, self_gone, foreign = 0, sib_written = 0;

	/* A close never moves (nor deletes) another connection's entry. */
	if (other && to == VEER_CT_CLOSING &&
	    !veer_ct_is_sibling(self, other)) {
		other = NULL;
		foreign = 1;
	}
	if (other) {
		__builtin_memcpy(&copy, other, sizeof(copy));
		copy.flags |= flags;
		sib_written = 1;
	} else if (to == VEER_CT_CLOSING && !foreign) {
		/* The LRU took the sibling: that side's late segments (a
		 * FIN repeated because the last ACK was lost after veer)
		 * are still translated, not dropped. */
		sib_written = !veer_ct_sibling_of(&copy, self, self_ct, flags);
	}
	if (sib_written) {
		if (to == VEER_CT_CLOSING)
			copy.closed_ns = now;
		if (veer_ct_update(to, sib, &copy))
			goto refused;
	}
	__builtin_memcpy(&copy, self_ct, sizeof(copy));
	copy.flags |= flags;
	if (to == VEER_CT_CLOSING)
		copy.closed_ns = now;
	if (veer_ct_update(to, self, &copy)) {
		if (sib_written)
			veer_ct_delete(to, sib);
		goto refused;
	}
	if (!foreign)
		sib_gone = veer_ct_delete_counted(from, sib);
	self_gone = veer_ct_delete_counted(from, self);
	/*
	 * Two CPUs can move the same pair at once, from either side (a
	 * retransmitted last ACK and the original; the client's last ACK
	 * and the backend's ACK of the client's FIN overtaken by its own
	 * FIN, both "last"), and their deletes interleave. The one that
	 * removed the forward entry reports the move (a pair without one,
	 * the one that removed its only entry), so each transition is
	 * counted exactly once.
	 */
	if (!other)
		return self_gone;
	return self->dir == VEER_CT_DIR_FORWARD ? self_gone : sib_gone;
refused:
	veer_ct_count(v, ct_insert_failed);
	return -1;
}

/* Where `seq` is relative to the stream's tracked next sequence number. */
static __always_inline int veer_seq_judge(const struct veer_ct_entry *ct,
					  __u32 seq)
{
	if (!(ct->flags & VEER_CT_F_SEQ_SEEN))
		return VEER_SEQ_IN_WINDOW; /* nothing to judge by: pass on */
	if (seq == ct->seq_next)
		return VEER_SEQ_EXACT;
	if ((__u32)(seq - ct->seq_next + VEER_CT_SEQ_WINDOW) <=
	    2 * VEER_CT_SEQ_WINDOW)
		return VEER_SEQ_IN_WINDOW;
	return VEER_SEQ_OUTSIDE;
}

/* Where a packet ends in its direction's sequence space. */
static __always_inline __u32 veer_seq_end(const struct veer_pkt *pkt)
{
	__u32 end = pkt->seq + pkt->payload_len;

	if (pkt->tcp_flags & TCP_FLAG_SYN)
		end++;
	if (pkt->tcp_flags & TCP_FLAG_FIN)
		end++;
	return end;
}

/* This direction's stream starts (a SYN, a SYN-ACK, a pair placed). */
static __always_inline void veer_seq_start(struct veer_ct_entry *ct,
					   const struct veer_pkt *pkt)
{
	ct->seq_next = veer_seq_end(pkt);
	ct->flags |= VEER_CT_F_SEQ_SEEN;
}

/*
 * Follows this direction's next sequence number. Only a packet that
 * moves it forward writes the entry, so pure ACKs cost a compare. A
 * packet ending more than a window ahead is not followed: returns 1 and
 * leaves the judgement to the caller (veer_seq_track), which can afford
 * a lookup.
 */
static __always_inline int veer_seq_advance(struct veer_ct_entry *ct,
					    const struct veer_pkt *pkt)
{
	__u32 end = veer_seq_end(pkt), ahead;

	if (!(ct->flags & VEER_CT_F_SEQ_SEEN)) {
		veer_seq_start(ct, pkt);
		return 0;
	}
	ahead = end - ct->seq_next;
	if ((__s32)ahead <= 0)
		return 0;
	if (ahead > VEER_CT_SEQ_WINDOW)
		return 1;
	ct->seq_next = end;
	return 0;
}

/*
 * Whether `seq` is one a stream sent: at most its next sequence number,
 * at most a window behind it (a late duplicate, or an acknowledgement of
 * what is still in flight).
 */
static __always_inline int veer_seq_sent(const struct veer_ct_entry *ct,
					 __u32 seq)
{
	if (!(ct->flags & VEER_CT_F_SEQ_SEEN))
		return 1; /* nothing to judge by */
	return ct->seq_next - seq <= VEER_CT_SEQ_WINDOW;
}

/*
 * A packet more than a window ahead of its tracked stream is one of two
 * things: the stream itself after more than a window was lost before
 * veer saw it (the retransmissions fill the gap, never the stream's
 * head), or a late segment of an older connection of the same tuple,
 * numbered in that connection's spaces: a backend's segment of the
 * client port's previous connection to another VIP, delayed in the
 * node's queues while the port was reused on the same backend. Followed,
 * the second would move the stream where the live connection never
 * goes, and its FIN and RST would then be judged outside the window: the
 * pair would never close. Only the first acknowledges what the other
 * direction sent. Fills *sib with the sibling's key.
 */
static __always_inline int veer_seq_far_fits(const struct veer_ct_entry *ct,
					     const struct veer_pkt *pkt,
					     int table, struct veer_ct_key *sib,
					     __u8 dir)
{
	const struct veer_ct_entry *other;
	__u32 ack;

	if (!(pkt->tcp_flags & TCP_FLAG_ACK))
		return 0;
	veer_ct_key_sibling(sib, pkt, ct, dir);
	other = veer_ct_lookup(table, sib);
	if (!other || !(other->flags & VEER_CT_F_SEQ_SEEN))
		return 0;
	ack = dir == VEER_CT_DIR_FORWARD
		      ? veer_ct_ack_to_backend(ct, pkt->ack_seq)
		      : pkt->ack_seq;
	return veer_seq_sent(other, ack);
}

/* veer_seq_advance, with a far packet followed when it fits. */
static __always_inline void veer_seq_track(struct veer_ct_entry *ct,
					   const struct veer_pkt *pkt,
					   int table, struct veer_ct_key *sib,
					   __u8 dir)
{
	if (veer_seq_advance(ct, pkt) &&
	    veer_seq_far_fits(ct, pkt, table, sib, dir))
		ct->seq_next = veer_seq_end(pkt);
}

static __always_inline int
veer_ct_closed_expired(const struct veer_ct_entry *ct, __u64 now)
{
	return now - ct->closed_ns > veer_ct_close_grace_ns();
}

static __always_inline int
veer_ct_half_open_expired(const struct veer_ct_entry *ct, __u64 now)
{
	return now - ct->created_ns > VEER_CT_SYN_TIMEOUT_NS;
}

/* A pure SYN: the client opening (or retrying) a connection. */
static __always_inline int veer_pkt_is_syn(const struct veer_pkt *pkt)
{
	return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/* A SYN-ACK: a backend answering a SYN. */
static __always_inline int veer_pkt_is_synack(const struct veer_pkt *pkt)
{
	return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
	       (TCP_FLAG_SYN | TCP_FLAG_ACK);
}

/*
 * The backend acknowledged more than the SYN: the replayed request
 * arrived, and veer stops holding it. Once per connection.
 */
static __always_inline void
veer_ct_delayed_request_acked(const struct veer_pkt *pkt,
			      struct veer_ct_entry *ct, struct veer_ct_key *sib)
{
	if (!(pkt->tcp_flags & TCP_FLAG_ACK) || pkt->ack_seq == ct->syn_seq + 1)
		return;
	ct->bind_state = VEER_BIND_ACKED;
	veer_ct_key_sibling(sib, pkt, ct, VEER_CT_DIR_REVERSE);
	bpf_map_delete_elem(&veer_http_req, sib);
}

/*
 * The first payload byte each way of a TRACKED pair (once per direction
 * per connection; every later segment pays the flag test only): the
 * client's is timestamped for the time to first byte, the backend's is
 * handed to the caller to read (VEER_VIEW_FIRST_DATA).
 */
static __always_inline void veer_health_data(const struct veer_pkt *pkt,
					     struct veer_ct_entry *ct,
					     struct veer_ct_view *v, __u8 dir)
{
	if (dir == VEER_CT_DIR_FORWARD) {
		ct->closed_ns = bpf_ktime_get_ns();
		ct->health |= VEER_CT_H_REQUEST;
		return;
	}
	ct->health |= VEER_CT_H_RESPONSE;
	v->health |= VEER_VIEW_FIRST_DATA;
	(void)pkt;
}

/* The health bit that says this direction's first byte was seen. */
#define VEER_CT_H_FIRST(dir)                                                   \
	((dir) == VEER_CT_DIR_FORWARD ? VEER_CT_H_REQUEST : VEER_CT_H_RESPONSE)

/*
 * The FINs an established entry knows of: by its flags, or by the FINs'
 * sequence numbers. An L4 FIN sets the flag on its own direction's entry
 * only, but the HTTP path (and veer versions before it) also set it in
 * the sibling's flags byte, where two crossing FINs (a simultaneous
 * close, on two CPUs) race: one read-modify-write can undo the other's
 * bit (seen in CI: a pair with both FINs' numbers recorded and neither
 * entry's FIN_FORWARD set, which never closed). A FIN's sequence number
 * is a word only its own direction writes, on both entries: it says the
 * same and cannot be lost. (0 is "none", so a FIN at sequence number 0
 * counts by its flag alone.)
 */
static __always_inline __u8 veer_ct_fins_seen(const struct veer_ct_entry *ct)
{
	__u8 seen = ct->flags & VEER_CT_F_BOTH_FIN;

	if (ct->fin_seq_forward)
		seen |= VEER_CT_F_FIN_FORWARD;
	if (ct->fin_seq_reverse)
		seen |= VEER_CT_F_FIN_REVERSE;
	return seen;
}

/*
 * The other side's FIN number as a packet in direction `dir` needs it for
 * the last ACK: on the other side's own entry (`other`, when found), else
 * the copy its FIN wrote on this one.
 */
static __always_inline __u32
veer_ct_peer_fin_seq(const struct veer_ct_entry *ct,
		     const struct veer_ct_entry *other, __u8 dir)
{
	if (dir == VEER_CT_DIR_FORWARD)
		return other && other->fin_seq_reverse ? other->fin_seq_reverse
						       : ct->fin_seq_reverse;
	return other && other->fin_seq_forward ? other->fin_seq_forward
					       : ct->fin_seq_forward;
}

/*
 * What an established pair does with a packet in direction `dir`.
 * Returns 0 to translate and pass it, or -1 to drop it (an RST outside
 * the window: whatever sent it does not know the connection).
 */
static __always_inline int veer_ct_established(const struct veer_pkt *pkt,
					       struct veer_ct_entry *ct,
					       const struct veer_ct_key *self,
					       struct veer_ct_key *sib,
					       struct veer_ct_view *v, __u8 dir)
{
	const struct veer_ct_entry *peer;
	struct veer_ct_entry *other;

	/*
	 * The sibling's key (sib, filled here) is built only by the few
	 * packets that touch the sibling: an RST, a FIN, the last ACK. A
	 * data segment pays nothing for it.
	 */
	__u32 fin_seq;
	__u8 fin_flag, fins;
	int judged, no_data;

	if ((ct->flags & VEER_CT_F_DELAYED) && dir == VEER_CT_DIR_REVERSE &&
	    !(pkt->tcp_flags & TCP_FLAG_RST)) {
		/* A repeated SYN-ACK: the replayed request (or its ACK)
		 * was lost; only the HTTP program can replay it again. */
		if (pkt->tcp_flags & TCP_FLAG_SYN) {
			v->handoff = 1;
			return 0;
		}
		if (ct->bind_state == VEER_BIND_BOUND)
			veer_ct_delayed_request_acked(pkt, ct, sib);
	}
	if (pkt->tcp_flags & TCP_FLAG_RST) {
		judged = veer_seq_judge(ct, pkt->seq);
		if (judged == VEER_SEQ_OUTSIDE) {
			veer_ct_count(v, rst_invalid);
			return -1;
		}
		if (judged != VEER_SEQ_EXACT)
			return 0;
		/* Read before the move: the old entry can be reused then. */
		no_data = dir == VEER_CT_DIR_REVERSE &&
			  (ct->health &
			   (VEER_CT_H_TRACKED | VEER_CT_H_RESPONSE)) ==
				  VEER_CT_H_TRACKED;
		veer_ct_key_sibling(sib, pkt, ct, dir);
		if (!veer_ct_move_pair(VEER_CT_ESTABLISHED, VEER_CT_CLOSING,
				       self, ct, sib,
				       veer_ct_lookup(VEER_CT_ESTABLISHED, sib),
				       v, VEER_CT_F_RST | VEER_CT_F_CLOSED,
				       bpf_ktime_get_ns())) {
			veer_ct_count(v, ct_closed);
			if (no_data)
				veer_health_count(v->svc_id, v->subset,
						  reset_before_data);
		}
		return 0;
	}
	if (pkt->payload_len &&
	    (ct->health & (VEER_CT_H_TRACKED | VEER_CT_H_FIRST(dir))) ==
		    VEER_CT_H_TRACKED)
		veer_health_data(pkt, ct, v, dir);
	if (veer_pkt_is_syn(pkt)) {
		/*
		 * Same ISN: a retransmission that crossed the handshake.
		 * Another: the client lost the connection, or someone
		 * spoofs it. Either way the pinned backend decides (its
		 * challenge ACK makes a real client reset the old
		 * connection, exactly, which closes it here).
		 */
		if (pkt->seq != ct->syn_seq)
			veer_ct_count(v, syn_on_live);
		return 0;
	}
	if (pkt->tcp_flags & TCP_FLAG_FIN) {
		/* The FIN occupies the sequence number after the payload. */
		fin_seq = pkt->seq + pkt->payload_len;
		/*
		 * A FIN outside the window changes nothing, even one that
		 * would fit far ahead (veer_seq_track): a spoofed FIN let
		 * a close pass while that side still sends.
		 */
		if (veer_seq_judge(ct, fin_seq) == VEER_SEQ_OUTSIDE)
			return 0; /* the endpoint will ignore it too */
		/*
		 * The flag goes on this direction's entry only; the number
		 * on both, in the word of this direction's FIN, which only
		 * this direction's packets write: crossing FINs on two CPUs
		 * cannot undo each other. The sibling's copy is what lets
		 * the pair close when the LRU evicts this entry before the
		 * last ACK, or when it comes back restored from the sibling
		 * (a full table; seen in CI: one pair left established).
		 */
		veer_ct_key_sibling(sib, pkt, ct, dir);
		other = veer_ct_lookup(VEER_CT_ESTABLISHED, sib);
		if (other && !veer_ct_is_sibling(self, other))
			other = NULL;
		if (dir == VEER_CT_DIR_FORWARD) {
			ct->fin_seq_forward = fin_seq;
			ct->flags |= VEER_CT_F_FIN_FORWARD;
			if (other)
				other->fin_seq_forward = fin_seq;
		} else {
			ct->fin_seq_reverse = fin_seq;
			ct->flags |= VEER_CT_F_FIN_REVERSE;
			if (other)
				other->fin_seq_reverse = fin_seq;
		}
		/* In the window (above): never more than one ahead. */
		veer_seq_advance(ct, pkt);
		return 0;
	}
	veer_seq_track(ct, pkt, VEER_CT_ESTABLISHED, sib, dir);
	/*
	 * The last ACK acknowledges the other side's FIN, and is sent by a
	 * side that has sent its own: only an ACK from a side whose FIN is
	 * recorded looks at the sibling (usually that one ACK; every ACK of
	 * a side that keeps receiving after its FIN, a half-close).
	 */
	fin_flag = dir == VEER_CT_DIR_FORWARD ? VEER_CT_F_FIN_FORWARD
					      : VEER_CT_F_FIN_REVERSE;
	fins = veer_ct_fins_seen(ct);
	if (!(pkt->tcp_flags & TCP_FLAG_ACK) || !(fins & fin_flag))
		return 0;
	veer_ct_key_sibling(sib, pkt, ct, dir);
	other = veer_ct_lookup(VEER_CT_ESTABLISHED, sib);
	/* Another connection's entry says nothing of this one's FINs
	 * (veer_ct_move_pair leaves it alone too). */
	peer = other && veer_ct_is_sibling(self, other) ? other : NULL;
	if (peer)
		fins |= veer_ct_fins_seen(peer);
	fin_seq = veer_ct_peer_fin_seq(ct, peer, dir);
	if (fins != VEER_CT_F_BOTH_FIN ||
	    (dir == VEER_CT_DIR_FORWARD
		     ? veer_ct_ack_to_backend(ct, pkt->ack_seq)
		     : pkt->ack_seq) != fin_seq + 1)
		return 0;
	/* Both closing copies carry both FINs. */
	if (!veer_ct_move_pair(VEER_CT_ESTABLISHED, VEER_CT_CLOSING, self, ct,
			       sib, other, v, VEER_CT_F_CLOSED | fins,
			       bpf_ktime_get_ns()))
		veer_ct_count(v, ct_closed);
	return 0;
}

/*
 * A forward entry's SYN that went unanswered for the bound, not counted
 * yet (VEER_CT_H_UNANSWERED). See struct veer_health.syn_unanswered.
 */
static __always_inline int veer_health_syn_late(const struct veer_ct_entry *ct,
						__u64 now)
{
	return (ct->health & (VEER_CT_H_TRACKED | VEER_CT_H_UNANSWERED)) ==
		       VEER_CT_H_TRACKED &&
	       !(ct->flags & (VEER_CT_F_SYNACK | VEER_CT_F_DELAYED)) &&
	       now - ct->created_ns >= VEER_HEALTH_SYN_BOUND_NS;
}

/*
 * What a half-open pair does with a packet in direction `dir`. Returns 0
 * to translate and pass it, -1 to drop it, or 1 when the pair is gone
 * (aborted by a new SYN) and the packet must be placed afresh.
 */
static __always_inline int
veer_ct_half_open(const struct veer_pkt *pkt, struct veer_ct_entry *ct,
		  const struct veer_ct_key *self, struct veer_ct_key *sib,
		  const struct veer_ct_view *v, __u8 dir)
{
	struct veer_ct_entry *other;
	int judged, backend_rst, synack;

	if (pkt->tcp_flags & TCP_FLAG_RST) {
		/*
		 * The client's answer to a stale ACK (below): an RST at that
		 * ACK's number, for the backend's older state of the tuple.
		 * It ends that state there and nothing here: the client
		 * retransmits its SYN, which the backend now accepts.
		 */
		if (dir == VEER_CT_DIR_FORWARD && ct->fin_seq_forward &&
		    pkt->seq == ct->fin_seq_forward)
			return 0;
		judged = veer_seq_judge(ct, pkt->seq);
		/*
		 * A backend refusing the SYN acknowledges the client's ISN;
		 * one that does not know a lost flow placed again on it
		 * refuses it whatever the numbers.
		 */
		if (dir == VEER_CT_DIR_REVERSE &&
		    (((pkt->tcp_flags & TCP_FLAG_ACK) &&
		      pkt->ack_seq == ct->syn_seq + 1) ||
		     (ct->flags & VEER_CT_F_RECOVERED)))
			judged = VEER_SEQ_EXACT;
		if (judged == VEER_SEQ_OUTSIDE) {
			veer_ct_count(v, rst_invalid);
			return -1;
		}
		if (judged == VEER_SEQ_EXACT) {
			/*
			 * The backend's: a refusal of the SYN, or a reset
			 * after its SYN-ACK before any data. Judged before
			 * the delete: the entry can be reused after it.
			 */
			backend_rst = dir == VEER_CT_DIR_REVERSE &&
				      (ct->health & (VEER_CT_H_TRACKED |
						     VEER_CT_H_RESPONSE)) ==
					      VEER_CT_H_TRACKED;
			synack = ct->flags & VEER_CT_F_SYNACK;
			veer_ct_count(v, ct_aborted);
			veer_ct_delete_pair(VEER_CT_HALF_OPEN, self, sib);
			if (backend_rst && synack)
				veer_health_count(v->svc_id, v->subset,
						  reset_before_data);
			else if (backend_rst)
				veer_health_count(v->svc_id, v->subset,
						  refused);
		}
		return 0;
	}
	if (dir == VEER_CT_DIR_FORWARD) {
		if (veer_pkt_is_syn(pkt)) {
			if (pkt->seq == ct->syn_seq) {
				/* Retransmitted: unanswered if late. */
				if (veer_health_syn_late(ct,
							 bpf_ktime_get_ns())) {
					ct->health |= VEER_CT_H_UNANSWERED;
					veer_health_count(v->svc_id, v->subset,
							  syn_unanswered);
				}
				return 0;
			}
			/* The client gave up and starts over: its new SYN
			 * gets today's placement. */
			veer_ct_count(v, ct_aborted);
			if (veer_health_syn_late(ct, bpf_ktime_get_ns()))
				veer_health_count(v->svc_id, v->subset,
						  syn_unanswered);
			veer_ct_delete_pair(VEER_CT_HALF_OPEN, self, sib);
			return 1;
		}
		/* Before the SYN-ACK the client sends nothing else: such a
		 * segment is an older connection's (same tuple), late. */
		if (ct->flags & (VEER_CT_F_SYNACK | VEER_CT_F_RECOVERED))
			veer_seq_track(ct, pkt, VEER_CT_HALF_OPEN, sib, dir);
		if (pkt->payload_len &&
		    (ct->health & (VEER_CT_H_TRACKED | VEER_CT_H_REQUEST)) ==
			    VEER_CT_H_TRACKED) {
			ct->closed_ns = bpf_ktime_get_ns();
			ct->health |= VEER_CT_H_REQUEST;
		}
		if (!(ct->flags & VEER_CT_F_SYNACK) ||
		    !(pkt->tcp_flags & TCP_FLAG_ACK))
			return 0;
		/*
		 * The ACK must acknowledge the SYN-ACK and at most what the
		 * backend has sent since (data after a TFO SYN-ACK).
		 */
		other = veer_ct_lookup(VEER_CT_HALF_OPEN, sib);
		if (!other || !(other->flags & VEER_CT_F_SEQ_SEEN) ||
		    pkt->ack_seq - (ct->peer_isn + 1) >
			    other->seq_next - (ct->peer_isn + 1))
			return 0;
		/* A stale ACK's number (below) is no FIN once established
		 * (veer_ct_fins_seen). A FIN on the segment that completes
		 * the handshake (its bare ACK lost, or folded into the
		 * request) is one, recorded as any FIN is: else the pair
		 * would never close. */
		ct->fin_seq_forward = 0;
		if (pkt->tcp_flags & TCP_FLAG_FIN) {
			ct->fin_seq_forward = pkt->seq + pkt->payload_len;
			ct->flags |= VEER_CT_F_FIN_FORWARD;
			other->fin_seq_forward = ct->fin_seq_forward;
		}
		if (!veer_ct_move_pair(VEER_CT_HALF_OPEN, VEER_CT_ESTABLISHED,
				       self, ct, sib, other, v, 0, 0))
			veer_ct_count(v, ct_established);
		return 0;
	}
	if (ct->flags & VEER_CT_F_RECOVERED) {
		/* The backend knows the lost flow: it is live again, and
		 * enters the established table as a handshake's pair does. */
		veer_seq_track(ct, pkt, VEER_CT_HALF_OPEN, sib, dir);
		if (!veer_ct_move_pair(VEER_CT_HALF_OPEN, VEER_CT_ESTABLISHED,
				       self, ct, sib,
				       veer_ct_lookup(VEER_CT_HALF_OPEN, sib),
				       v, 0, 0))
			veer_ct_count(v, ct_established);
		return 0;
	}
	if ((pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_ACK &&
	    !(ct->flags & VEER_CT_F_SYNACK) &&
	    pkt->ack_seq != ct->syn_seq + 1) {
		/*
		 * A stale ACK: the backend still holds the tuple for an
		 * older connection (TIME_WAIT refusing the SYN, or a
		 * LAST_ACK or established socket's challenge ACK), e.g. the
		 * same client port's connection to another VIP on this
		 * backend. The client in SYN-SENT answers it with an RST at
		 * the ACK's number (RFC 9293 3.10.7.3), which must reach the
		 * backend: the forward entry remembers that number. The
		 * ACK's sequence number is the old connection's, not this
		 * one's: it is not tracked.
		 */
		other = veer_ct_lookup(VEER_CT_HALF_OPEN, sib);
		if (other)
			other->fin_seq_forward = pkt->ack_seq;
		return 0;
	}
	if ((pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
	    (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
		/* The backend's ISN, on both entries: the forward one
		 * recognises the handshake's last ACK by it. The first
		 * SYN-ACK of a TRACKED pair times the handshake. */
		if ((ct->health & VEER_CT_H_TRACKED) &&
		    !(ct->flags & VEER_CT_F_SYNACK))
			veer_health_handshake(v->svc_id, v->subset,
					      bpf_ktime_get_ns() -
						      ct->created_ns);
		ct->peer_isn = pkt->seq;
		ct->flags |= VEER_CT_F_SYNACK;
		other = veer_ct_lookup(VEER_CT_HALF_OPEN, sib);
		if (other) {
			other->peer_isn = pkt->seq;
			other->flags |= VEER_CT_F_SYNACK;
		}
		/* The backend's stream starts here, whatever came before. */
		veer_seq_start(ct, pkt);
	} else if (!(ct->flags & VEER_CT_F_SYNACK)) {
		/* Nothing before the SYN-ACK is this connection's but the
		 * stale ACK (above) and RSTs: an older connection's segment
		 * of the backend tuple, late. Passed on, not followed. */
		return 0;
	} else {
		veer_seq_track(ct, pkt, VEER_CT_HALF_OPEN, sib, dir);
	}
	/* Data before the handshake completes (a TFO SYN-ACK): not read,
	 * but the backend has sent data. */
	if (pkt->payload_len)
		ct->health |= VEER_CT_H_RESPONSE;
	return 0;
}

/*
 * What a closed pair does with a late segment in direction `dir`. Returns
 * 0 to translate and pass it, -1 to drop it (an RST that does not fit),
 * or 1 when the segment is not the closed connection's and must be
 * placed as any pair-less segment is.
 *
 * A segment belongs to the closed connection only if it fits both of its
 * streams: its sequence number is one this direction sent, its
 * acknowledgement one of what the other direction sent. A client that
 * reuses its TIME_WAIT port (tcp_tw_reuse) starts the new connection
 * 64 KiB past the old stream, and acknowledges its own backend's ISN:
 * its segments never reach the backend that closed (which would answer
 * with an RST the client takes for the new connection's), and that
 * backend's RST, which carries the new connection's numbers, is dropped.
 */
static __always_inline int veer_ct_late_segment(const struct veer_pkt *pkt,
						const struct veer_ct_entry *ct,
						const struct veer_ct_key *sib,
						const struct veer_ct_view *v,
						__u8 dir)
{
	const struct veer_ct_entry *other;
	__u32 ack;

	if (!veer_seq_sent(ct, pkt->seq))
		goto mismatch;
	if (!(pkt->tcp_flags & TCP_FLAG_ACK))
		return 0;
	other = veer_ct_lookup(VEER_CT_CLOSING, sib);
	if (!other)
		goto mismatch; /* nothing to judge the ack by */
	ack = dir == VEER_CT_DIR_FORWARD
		      ? veer_ct_ack_to_backend(ct, pkt->ack_seq)
		      : pkt->ack_seq;
	if (!veer_seq_sent(other, ack))
		goto mismatch;
	return 0;
mismatch:
	if (!(pkt->tcp_flags & TCP_FLAG_RST))
		return 1;
	veer_ct_count(v, rst_invalid);
	return -1;
}

/*
 * Finds the pair a packet belongs to and applies the packet's effect on
 * its state, in two steps so that callers can skip the second: the
 * established table (where nearly every packet of a service is found),
 * then the transient ones. Each returns the table the pair was found in,
 * with *v filled, or VEER_CT_NONE: found nowhere, or gone now (expired,
 * or replaced by a new connection's SYN). *drop is set when the packet
 * must be dropped.
 */
static __always_inline int veer_ct_track_established(
	const struct veer_pkt *pkt, const struct veer_ct_key *self,
	struct veer_ct_key *sib, __u8 dir, struct veer_ct_view *v, int *drop)
{
	struct veer_ct_entry *ct;

	*drop = 0;
	ct = veer_ct_lookup(VEER_CT_ESTABLISHED, self);
	if (!ct)
		return VEER_CT_NONE;
	veer_ct_view_of(v, ct);
	*drop = veer_ct_established(pkt, ct, self, sib, v, dir);
	return VEER_CT_ESTABLISHED;
}

/* What veer_ct_track_transient looks at. */
#define VEER_CT_LOOK_HALF_OPEN 0 /* the half-open table only */
#define VEER_CT_LOOK_ALL 1

/*
 * Half-open first, then closing: newest state first, since a backend
 * tuple can be in the closing table for an earlier connection (the same
 * client port to another VIP on the same backend) while a new one is
 * half-open. A packet carrying data never belongs to a closed connection
 * (its close acknowledged every byte), nor does a client's SYN (a new
 * connection: placement retires the tuple's closed pair, in one lookup),
 * so neither looks there; nor does anything with `look`
 * VEER_CT_LOOK_HALF_OPEN (a backend's SYN-ACK, looked for before the
 * established table: veer_lb_reverse).
 */
static __always_inline int
veer_ct_track_transient(const struct veer_pkt *pkt,
			const struct veer_ct_key *self, struct veer_ct_key *sib,
			__u8 dir, struct veer_ct_view *v, int *drop, int look)
{
	struct veer_ct_entry *ct;
	int ret;

	*drop = 0;
	ct = veer_ct_lookup(VEER_CT_HALF_OPEN, self);
	if (ct) {
		veer_ct_view_of(v, ct);
		veer_ct_key_sibling(sib, pkt, ct, dir);
		if (veer_ct_half_open_expired(ct, bpf_ktime_get_ns())) {
			if (dir == VEER_CT_DIR_FORWARD &&
			    veer_health_syn_late(ct, bpf_ktime_get_ns()))
				veer_health_count(v->svc_id, v->subset,
						  syn_unanswered);
			veer_ct_delete_pair(VEER_CT_HALF_OPEN, self, sib);
			return VEER_CT_NONE;
		}
		if (ct->flags & VEER_CT_F_DELAYED)
			return VEER_CT_DELAYED;
		ret = veer_ct_half_open(pkt, ct, self, sib, v, dir);
		if (ret > 0)
			return VEER_CT_NONE;
		*drop = ret < 0;
		return VEER_CT_HALF_OPEN;
	}
	if (look == VEER_CT_LOOK_HALF_OPEN || pkt->payload_len ||
	    veer_pkt_is_syn(pkt))
		return VEER_CT_NONE;

	ct = veer_ct_lookup(VEER_CT_CLOSING, self);
	if (ct) {
		veer_ct_view_of(v, ct);
		veer_ct_key_sibling(sib, pkt, ct, dir);
		if (veer_ct_closed_expired(ct, bpf_ktime_get_ns())) {
			veer_ct_delete_pair(VEER_CT_CLOSING, self, sib);
			return VEER_CT_NONE;
		}
		ret = veer_ct_late_segment(pkt, ct, sib, v, dir);
		if (ret > 0)
			return VEER_CT_NONE;
		*drop = ret < 0;
		return VEER_CT_CLOSING; /* late segments of a closed one */
	}
	return VEER_CT_NONE;
}

#endif /* VEER_BPF_CONNTRACK_H */
