/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The load balancer: service lookup, weighted choice, conntrack and NAT for
 * both directions of a connection. Entry points only parse and call these.
 */
#ifndef VEER_BPF_LB_H
#define VEER_BPF_LB_H

#include "ctx.h"
#include "config.h"
#include "parse.h"
#include "maps.h"
#include "stats.h"
#include "conntrack.h"
#include "nat.h"
#include "choose.h"

static __always_inline void veer_svc_key_of_pkt(struct veer_svc_key *key,
						const struct veer_pkt *pkt)
{
	__builtin_memcpy(&key->vip, &pkt->daddr, sizeof(key->vip));
	key->port = pkt->dport;
	key->proto = IPPROTO_TCP_NUM;
	key->family = pkt->family;
}

/*
 * Choose subset and backend for a connection and record both conntrack
 * entries. Returns the forward entry, or NULL (after counting why) when
 * the connection cannot be placed.
 */
static __always_inline struct veer_ct_entry *
veer_lb_place(const struct veer_pkt *pkt, const struct veer_service *svc,
	      const struct veer_ct_key *fwd_key)
{
	struct veer_ct_entry entry = {};
	struct veer_ct_key rev_key;
	const struct veer_backend *backend;
	__u32 hash, seed = veer_hash_seed();
	__u8 chosen;

	hash = veer_flow_hash(&pkt->saddr, &pkt->daddr, pkt->sport, pkt->dport,
			      svc->flags, seed);
	backend = veer_choose_backend(svc, hash, seed, pkt->family, &chosen);
	if (!backend)
		return NULL;

	entry.nat_addr = backend->addr;
	entry.nat_port = backend->port;
	entry.subset = chosen;
	entry.svc_id = svc->id;
	entry.created_ns = bpf_ktime_get_ns();
	if ((pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		entry.syn_seq = pkt->seq;
	else
		entry.flags = VEER_CT_F_RECOVERED;
	if (bpf_map_update_elem(&veer_conntrack, fwd_key, &entry, BPF_ANY))
		return NULL;

	veer_ct_key_fill(&rev_key, &backend->addr, &pkt->saddr, backend->port,
			 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	entry.nat_addr = pkt->daddr;
	entry.nat_port = pkt->dport;
	if (bpf_map_update_elem(&veer_conntrack, &rev_key, &entry, BPF_ANY)) {
		bpf_map_delete_elem(&veer_conntrack, fwd_key);
		return NULL;
	}
	return bpf_map_lookup_elem(&veer_conntrack, fwd_key);
}

/*
 * Client -> VIP. Returns a CTX_ACT_* verdict: packets that are not for a
 * service pass untouched; service packets are translated to their pinned
 * backend, or dropped when no backend can take a new connection.
 *
 * Conntrack is consulted first: an established packet needs its entry and
 * nothing else, so the service is looked up once per connection, not per
 * packet. It also lets connections of a deleted service finish.
 */
static __always_inline int veer_lb_forward(veer_ctx_t *ctx)
{
	struct veer_ct_key key, sibling;
	struct veer_svc_key svc_key;
	struct veer_service *svc;
	struct veer_ct_entry *ct;
	struct veer_stats *stats;
	struct veer_pkt pkt = {};
	bool syn;

	if (veer_parse(ctx, &pkt))
		return CTX_ACT_OK;
	syn = (pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_FORWARD);
	ct = bpf_map_lookup_elem(&veer_conntrack, &key);
	/*
	 * A SYN carrying the entry's initial sequence number is a
	 * retransmission and stays put. Any other SYN opens a new connection
	 * on a reused tuple (the old one closed, or died unseen), which is
	 * placed afresh.
	 */
	if (ct && syn &&
	    ((ct->flags & VEER_CT_F_CLOSING) || ct->syn_seq != pkt.seq)) {
		veer_ct_key_sibling(&sibling, &pkt, ct, VEER_CT_DIR_FORWARD);
		veer_ct_delete_pair(&key, &sibling);
		ct = NULL;
	}
	if (!ct) {
		veer_svc_key_of_pkt(&svc_key, &pkt);
		svc = bpf_map_lookup_elem(&veer_services, &svc_key);
		if (!svc)
			return CTX_ACT_OK;
		if (!syn) {
			/*
			 * Mid-connection packet with no entry (evicted, or
			 * state lost in an upgrade). Placement is a pure
			 * function of the tuple and the config, so while the
			 * config is unchanged this finds the same backend
			 * again; an RST needs no new state.
			 */
			stats = veer_stats_row(svc->id,
					       VEER_STATS_ROW_UNATTRIBUTED);
			if (stats)
				stats->ct_misses++;
			if (pkt.tcp_flags & TCP_FLAG_RST)
				return CTX_ACT_DROP;
		}
		ct = veer_lb_place(&pkt, svc, &key);
		if (!ct)
			return CTX_ACT_DROP;
	} else {
		syn = false; /* a retransmission: not a new connection */
	}

	stats = veer_stats_row(ct->svc_id, ct->subset);
	if (stats) {
		stats->new_conns += syn;
		stats->packets_forward++;
		stats->bytes_forward += pkt.frame_len;
		if (pkt.tcp_flags & TCP_FLAG_RST)
			stats->resets++;
	}

	veer_ct_key_sibling(&sibling, &pkt, ct, VEER_CT_DIR_FORWARD);
	if (veer_nat_rewrite(ctx, &pkt, VEER_NAT_DST, &ct->nat_addr,
			     ct->nat_port))
		return CTX_ACT_DROP;
	veer_ct_track_close(&pkt, ct, &sibling, VEER_CT_DIR_FORWARD);
	return CTX_ACT_OK;
}

/* Backend -> client: restore the VIP as the source. */
static __always_inline int veer_lb_reverse(veer_ctx_t *ctx)
{
	struct veer_ct_key key, sibling;
	struct veer_ct_entry *ct;
	struct veer_stats *stats;
	struct veer_pkt pkt = {};

	if (veer_parse(ctx, &pkt))
		return CTX_ACT_OK;
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_REVERSE);
	ct = bpf_map_lookup_elem(&veer_conntrack, &key);
	if (!ct)
		return CTX_ACT_OK;

	stats = veer_stats_row(ct->svc_id, ct->subset);
	if (stats) {
		stats->packets_reverse++;
		stats->bytes_reverse += pkt.frame_len;
		if (pkt.tcp_flags & TCP_FLAG_RST)
			stats->resets++;
	}

	veer_ct_key_sibling(&sibling, &pkt, ct, VEER_CT_DIR_REVERSE);
	if (veer_nat_rewrite(ctx, &pkt, VEER_NAT_SRC, &ct->nat_addr,
			     ct->nat_port))
		return CTX_ACT_DROP;
	veer_ct_track_close(&pkt, ct, &sibling, VEER_CT_DIR_REVERSE);
	return CTX_ACT_OK;
}

#endif /* VEER_BPF_LB_H */
