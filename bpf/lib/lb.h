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
#include "icmp.h"

static __always_inline void veer_svc_key_of_pkt(struct veer_svc_key *key,
						const struct veer_pkt *pkt)
{
	__builtin_memcpy(&key->vip, &pkt->daddr, sizeof(key->vip));
	key->port = pkt->dport;
	key->proto = IPPROTO_TCP_NUM;
	key->family = pkt->family;
}

/*
 * An earlier connection from the same client port to another VIP, placed
 * on the same backend, holds this backend tuple. The backend cannot tell
 * the two apart: the new connection takes the tuple over, and the old
 * pair goes (its replies would otherwise be translated to the new
 * connection's VIP, or the new one's to the old).
 */
static __always_inline void
veer_ct_retire_backend_tuple(int table, const struct veer_ct_key *rev_key,
			     const struct veer_pkt *pkt)
{
	struct veer_ct_entry *old = veer_ct_lookup(table, rev_key);
	struct veer_ct_key old_fwd;

	if (!old)
		return;
	veer_ct_key_fill(&old_fwd, &pkt->saddr, &old->nat_addr, pkt->sport,
			 old->nat_port, pkt->family, VEER_CT_DIR_FORWARD);
	veer_ct_delete_pair(table, &old_fwd, rev_key);
}

/* What placement did with a packet that found no pair. */
#define VEER_PLACE_NONE 0 /* the packet belongs to a pair: not placed */
#define VEER_PLACE_NEW 1 /* a SYN: placed, half-open pair recorded */
#define VEER_PLACE_RECOVERED 2 /* a lost flow placed again */
#define VEER_PLACE_DROP 3

/*
 * Places a packet that found no pair: a SYN opens a half-open pair; a
 * mid-connection packet (its pair evicted, or the maps made anew) is
 * placed again only if its placement never changed since the service
 * was created (veer_placement_stable), since it may have started under
 * any of the service's configurations: otherwise it is dropped, and both
 * outcomes are counted. *v gets the pair's translation.
 */
static __always_inline int veer_lb_place(const struct veer_pkt *pkt,
					 const struct veer_service *svc,
					 const struct veer_ct_key *fwd_key,
					 struct veer_ct_view *v)
{
	struct veer_ct_entry entry = {};
	struct veer_ct_key rev_key;
	const struct veer_backend *backend;
	struct veer_stats *miss = NULL;
	__u32 hash, seed;
	int syn = veer_pkt_is_syn(pkt), table;
	__u8 chosen;

	if (!syn) {
		miss = veer_stats_row(svc->id, VEER_STATS_ROW_UNATTRIBUTED);
		if (miss)
			miss->ct_misses++;
		/* An RST needs no new state, and gets none. */
		if (pkt->tcp_flags & TCP_FLAG_RST)
			return VEER_PLACE_DROP;
	}

	seed = veer_hash_seed();
	hash = veer_flow_hash(&pkt->saddr, &pkt->daddr, pkt->sport, pkt->dport,
			      svc->flags, seed);
	backend = veer_choose_backend(svc, hash, seed, pkt->family, &chosen);
	if (!backend)
		return VEER_PLACE_DROP;
	if (!syn) {
		if (!veer_placement_stable(svc, hash, chosen)) {
			if (miss)
				miss->ct_miss_dropped++;
			return VEER_PLACE_DROP;
		}
		if (miss)
			miss->ct_miss_placed++;
	}

	entry.nat_addr = backend->addr;
	entry.nat_port = backend->port;
	entry.subset = chosen;
	entry.svc_id = svc->id;
	entry.created_ns = bpf_ktime_get_ns();
	entry.syn_seq = syn ? pkt->seq : 0;
	entry.flags = syn ? 0 : VEER_CT_F_RECOVERED;
	veer_ct_view_of(v, &entry);
	/* A lost flow was established: it goes straight back there. */
	table = syn ? VEER_CT_HALF_OPEN : VEER_CT_ESTABLISHED;

	veer_ct_key_fill(&rev_key, &backend->addr, &pkt->saddr, backend->port,
			 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	veer_ct_retire_backend_tuple(VEER_CT_ESTABLISHED, &rev_key, pkt);
	veer_ct_retire_backend_tuple(VEER_CT_CLOSING, &rev_key, pkt);
	entry.nat_addr = pkt->daddr;
	entry.nat_port = pkt->dport;
	if (veer_ct_update(table, &rev_key, &entry))
		goto refused;
	entry.nat_addr = backend->addr;
	entry.nat_port = backend->port;
	veer_seq_advance(&entry, pkt);
	if (veer_ct_update(table, fwd_key, &entry)) {
		veer_ct_delete(table, &rev_key);
		goto refused;
	}
	return syn ? VEER_PLACE_NEW : VEER_PLACE_RECOVERED;
refused:
	veer_ct_count(v, ct_insert_failed);
	return VEER_PLACE_DROP;
}

/*
 * Client -> VIP. Returns a CTX_ACT_* verdict: packets that are not for a
 * service pass untouched (ICMP errors about a connection are translated:
 * icmp.h); service packets are translated to their pinned
 * backend, or dropped when no backend can take them.
 *
 * The established table is consulted first: an established packet needs
 * its entry and nothing else, so the service is looked up once per
 * connection, not per packet, and connections of a deleted service
 * finish. Then the service: a packet for no service (most of an
 * interface's traffic) costs these two lookups and no more. Then the
 * transient tables, then placement.
 */
static __always_inline int veer_lb_forward(veer_ctx_t *ctx)
{
	struct veer_ct_key key, sibling;
	struct veer_svc_key svc_key;
	struct veer_service *svc;
	struct veer_ct_view view;
	struct veer_stats *stats;
	struct veer_pkt pkt = {};
	int table, drop, placed = VEER_PLACE_NONE;

	if (veer_parse(ctx, &pkt))
		return veer_icmp_xlate(ctx, VEER_CT_DIR_FORWARD);
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_FORWARD);
	table = veer_ct_track_established(&pkt, &key, &sibling,
					  VEER_CT_DIR_FORWARD, &view, &drop);
	if (table == VEER_CT_NONE) {
		veer_svc_key_of_pkt(&svc_key, &pkt);
		svc = bpf_map_lookup_elem(&veer_services, &svc_key);
		if (!svc)
			return CTX_ACT_OK;
		table = veer_ct_track_transient(&pkt, &key, &sibling,
						VEER_CT_DIR_FORWARD, &view,
						&drop);
		if (table == VEER_CT_NONE && !drop) {
			placed = veer_lb_place(&pkt, svc, &key, &view);
			if (placed == VEER_PLACE_DROP)
				return CTX_ACT_DROP;
		}
	}
	if (drop)
		return CTX_ACT_DROP;

	stats = veer_stats_row(view.svc_id, view.subset);
	if (stats) {
		stats->new_conns += placed == VEER_PLACE_NEW;
		stats->packets_forward++;
		stats->bytes_forward += pkt.frame_len;
		if (pkt.tcp_flags & TCP_FLAG_RST)
			stats->resets++;
	}
	if (veer_nat_rewrite(ctx, &pkt, VEER_NAT_DST, &view.nat_addr,
			     view.nat_port))
		return CTX_ACT_DROP;
	return CTX_ACT_OK;
}

/* Backend -> client: restore the VIP as the source (and translate ICMP
 * errors about a connection: icmp.h). */
static __always_inline int veer_lb_reverse(veer_ctx_t *ctx)
{
	struct veer_ct_key key, sibling;
	struct veer_ct_view view;
	struct veer_stats *stats;
	struct veer_pkt pkt = {};
	int table, drop;

	if (veer_parse(ctx, &pkt))
		return veer_icmp_xlate(ctx, VEER_CT_DIR_REVERSE);
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_REVERSE);
	table = veer_ct_track_established(&pkt, &key, &sibling,
					  VEER_CT_DIR_REVERSE, &view, &drop);
	if (table == VEER_CT_NONE)
		table = veer_ct_track_transient(&pkt, &key, &sibling,
						VEER_CT_DIR_REVERSE, &view,
						&drop);
	if (drop)
		return CTX_ACT_DROP;
	if (table == VEER_CT_NONE)
		return CTX_ACT_OK;

	stats = veer_stats_row(view.svc_id, view.subset);
	if (stats) {
		stats->packets_reverse++;
		stats->bytes_reverse += pkt.frame_len;
		if (pkt.tcp_flags & TCP_FLAG_RST)
			stats->resets++;
	}
	if (veer_nat_rewrite(ctx, &pkt, VEER_NAT_SRC, &view.nat_addr,
			     view.nat_port))
		return CTX_ACT_DROP;
	return CTX_ACT_OK;
}

#endif /* VEER_BPF_LB_H */
