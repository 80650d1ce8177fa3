/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The load balancer: service lookup, weighted choice, conntrack and NAT for
 * both directions of a connection. Entry points only parse and call these.
 */
#ifndef VEER_BPF_LB_H
#define VEER_BPF_LB_H

#include "ctx.h"
#include "runtime.h"
#include "parse.h"
#include "map_defs.h"
#include "stats.h"
#include "conntrack.h"
#include "nat.h"
#include "choose.h"
#include "icmp.h"
#include "tcp.h"

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
	struct veer_ct_view v;
	int had_fwd, fwd_gone, rev_gone;

	if (!old)
		return;
	veer_ct_view_of(&v, old);
	veer_ct_key_fill(&old_fwd, &pkt->saddr, &old->nat_addr, pkt->sport,
			 old->nat_port, pkt->family, VEER_CT_DIR_FORWARD);
	if (table != VEER_CT_ESTABLISHED) {
		veer_ct_delete(table, &old_fwd);
		veer_ct_delete(table, rev_key);
		return;
	}
	/*
	 * An established pair ends here: counted as closed, by the rule of
	 * veer_ct_move_pair (a close of the same pair racing on another
	 * CPU counts it at most once with this one).
	 */
	had_fwd = veer_ct_lookup(table, &old_fwd) != NULL;
	fwd_gone = veer_ct_delete_counted(table, &old_fwd);
	rev_gone = veer_ct_delete_counted(table, rev_key);
	if (had_fwd ? !fwd_gone : !rev_gone)
		veer_ct_count(&v, ct_closed);
}

/*
 * A closed connection's pair under the tuple a new one is placed on.
 * Neither a client's SYN nor a lost flow's data segment looks at the
 * closing table (conntrack.h), so placement retires it here, whatever
 * came before (an expired or abandoned half-open pair included). Left
 * behind, it would answer the new connection's segments that miss its
 * own entries (its forward key is the new connection's) with the old
 * backend.
 */
static __always_inline void
veer_ct_retire_client_tuple(const struct veer_ct_key *fwd_key,
			    const struct veer_pkt *pkt,
			    struct veer_ct_key *old_rev)
{
	struct veer_ct_entry *old = veer_ct_lookup(VEER_CT_CLOSING, fwd_key);

	if (!old)
		return;
	veer_ct_key_fill(old_rev, &old->nat_addr, &pkt->saddr, old->nat_port,
			 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	veer_ct_delete(VEER_CT_CLOSING, old_rev);
	veer_ct_delete(VEER_CT_CLOSING, fwd_key);
}

/* What placement did with a packet that found no pair. */
#define VEER_PLACE_NONE 0 /* the packet belongs to a pair: not placed */
#define VEER_PLACE_NEW 1 /* a SYN: placed, half-open pair recorded */
#define VEER_PLACE_RECOVERED 2 /* a lost flow placed again */
#define VEER_PLACE_DROP 3
/*
 * Not placed: the pair is established after all. Another CPU moved it
 * from the half-open table between this packet's two lookups (the
 * client's data right behind its handshake's last ACK, on another
 * receive queue).
 */
#define VEER_PLACE_FOUND 4

/* The health bits a service's new pair starts with. */
static __always_inline __u8 veer_svc_health(const struct veer_service *svc)
{
	if ((svc->flags & VEER_SVC_F_HTTP) || svc->rule_count)
		return VEER_CT_H_TRACKED | VEER_CT_H_HTTP;
	return VEER_CT_H_TRACKED;
}

/*
 * Places a packet that found no pair: a SYN opens a half-open pair. A
 * mid-connection packet (its forward entry evicted under overload, or the
 * maps made anew) is a lost flow, which cannot say when its connection
 * started:
 *  - if the reverse entry that today's placement points to is still
 *    there and belongs to this flow, the forward entry is restored from
 *    it (the connection lives on that backend: proven, not guessed);
 *  - else a segment with data is placed again only if its placement never
 *    changed since the service was created (veer_placement_stable);
 *  - else it is dropped: a bare ACK, FIN or RST may be a late segment of a
 *    connection that closed and expired, which must not come back to life,
 *    and placing by weights that changed could pick a backend that never
 *    saw the connection.
 * Every case is counted. *v gets the pair's translation.
 */
static __always_inline int veer_lb_place(const struct veer_pkt *pkt,
					 const struct veer_service *svc,
					 const struct veer_ct_key *fwd_key,
					 struct veer_ct_view *v)
{
	struct veer_ct_entry entry = {};
	struct veer_ct_entry *rev;
	struct veer_ct_key rev_key;
	const struct veer_backend *backend;
	struct veer_stats *miss = NULL;
	__u32 hash, seed;
	int syn = veer_pkt_is_syn(pkt), table;
	__u8 chosen;

	if (!syn) {
		/* rev holds the forward entry here, found late. */
		rev = veer_ct_lookup(VEER_CT_ESTABLISHED, fwd_key);
		if (rev) {
			veer_ct_view_of(v, rev);
			return VEER_PLACE_FOUND;
		}
		miss = veer_stats_row(svc->id, VEER_STATS_ROW_UNATTRIBUTED);
		if (miss)
			miss->ct_misses++;
	}
	seed = veer_hash_seed();
	hash = veer_flow_hash(&pkt->saddr, &pkt->daddr, pkt->sport, pkt->dport,
			      svc->flags, seed);
	backend = veer_choose_backend(svc, hash, seed, pkt->family, &chosen);
	if (!backend)
		goto lost;
	veer_ct_key_fill(&rev_key, &backend->addr, &pkt->saddr, backend->port,
			 pkt->sport, pkt->family, VEER_CT_DIR_REVERSE);
	if (!syn) {
		rev = veer_ct_lookup(VEER_CT_ESTABLISHED, &rev_key);
		if (rev && veer_ct_is_sibling(fwd_key, rev)) {
			__builtin_memcpy(&entry, rev, sizeof(entry));
			entry.nat_addr = backend->addr;
			entry.nat_port = backend->port;
			/* seq_next was the other direction's; what this
			 * direction saw before is unknown (no health). */
			entry.health = 0;
			veer_seq_start(&entry, pkt);
			veer_ct_view_of(v, &entry);
			if (veer_ct_update(VEER_CT_ESTABLISHED, fwd_key,
					   &entry))
				goto refused;
			if (miss)
				miss->ct_restored++;
			return VEER_PLACE_RECOVERED;
		}
		/*
		 * A service with HTTP rules binds late: a lost flow's
		 * sequence offset is gone with its entries, so only a
		 * sibling can bring it back.
		 */
		if (!pkt->payload_len || (pkt->tcp_flags & TCP_FLAG_RST) ||
		    svc->rule_count ||
		    !veer_placement_stable(svc, hash, chosen))
			goto lost;
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
	if (syn)
		entry.health = veer_svc_health(svc);
	veer_ct_view_of(v, &entry);
	/*
	 * A lost flow placed again starts half-open too, and is promoted by
	 * the backend's first answer that is not an RST (conntrack.h): a
	 * flood of spoofed data segments then churns the half-open table
	 * only, as a SYN flood does, and never evicts a live connection.
	 */
	table = VEER_CT_HALF_OPEN;

	veer_ct_retire_backend_tuple(VEER_CT_ESTABLISHED, &rev_key, pkt);
	veer_ct_retire_backend_tuple(VEER_CT_CLOSING, &rev_key, pkt);
	entry.nat_addr = pkt->daddr;
	entry.nat_port = pkt->dport;
	if (veer_ct_update(table, &rev_key, &entry))
		goto refused;
	entry.nat_addr = backend->addr;
	entry.nat_port = backend->port;
	veer_seq_start(&entry, pkt);
	if (veer_ct_update(table, fwd_key, &entry)) {
		veer_ct_delete(table, &rev_key);
		goto refused;
	}
	/* Last, with rev_key no longer needed: the frame stays as it was. */
	veer_ct_retire_client_tuple(fwd_key, pkt, &rev_key);
	return syn ? VEER_PLACE_NEW : VEER_PLACE_RECOVERED;
lost:
	if (miss)
		miss->ct_miss_dropped++;
	return VEER_PLACE_DROP;
refused:
	veer_ct_count(v, ct_insert_failed);
	return VEER_PLACE_DROP;
}

/*
 * Hands a packet of a service with HTTP rules to the HTTP program (TC),
 * which answers handshakes itself and binds late. Returns only when the
 * program is not there (a kernel without bpf_loop): the caller then
 * treats the service as L4. XDP passes such packets up to TC ingress,
 * which veer attaches in XDP mode too.
 */
static __always_inline int veer_lb_handoff(veer_ctx_t *ctx, __u32 slot)
{
#if defined(VEER_CTX_SKB)
	bpf_tail_call(ctx, &veer_http_progs, slot);
	return -1;
#else
	(void)ctx;
	(void)slot;
	return CTX_ACT_OK;
#endif
}

/* Counts, translates and passes a forward packet of a pair. */
static __always_inline int veer_lb_forward_out(veer_ctx_t *ctx,
					       const struct veer_pkt *pkt,
					       const struct veer_ct_view *view,
					       int placed)
{
	struct veer_stats *stats = veer_stats_row(view->svc_id, view->subset);

	if (stats) {
		stats->new_conns += placed == VEER_PLACE_NEW;
		stats->packets_forward++;
		stats->bytes_forward += pkt->frame_len;
		if (pkt->tcp_flags & TCP_FLAG_RST)
			stats->resets++;
	}
	if (veer_nat_rewrite(ctx, pkt, VEER_NAT_DST, &view->nat_addr,
			     view->nat_port))
		return CTX_ACT_DROP;
	if (view->delayed &&
	    veer_tcp_xlate(ctx, pkt, view->isn_delta, view->wscale_forward,
			   VEER_CT_DIR_FORWARD))
		return CTX_ACT_DROP;
	return CTX_ACT_OK;
}

/*
 * A service's packet that found no established pair: the transient
 * tables, then placement. `http_prog` is set when the HTTP program calls
 * this for what it leaves to L4, so it never hands packets back.
 */
static __always_inline int veer_lb_forward_svc(veer_ctx_t *ctx,
					       const struct veer_pkt *pkt,
					       const struct veer_service *svc,
					       const struct veer_ct_key *key,
					       int http_prog)
{
	struct veer_http_stats *hstats;
	struct veer_ct_key sibling;
	struct veer_ct_view view;
	int table, drop, placed = VEER_PLACE_NONE;

	table = veer_ct_track_transient(pkt, key, &sibling, VEER_CT_DIR_FORWARD,
					&view, &drop, VEER_CT_LOOK_ALL);
	/*
	 * The HTTP program takes a rules service's SYNs, its pairs not
	 * bound yet, and data segments with no pair at all (a request
	 * whose half-open entry a SYN flood evicted: its cookie brings it
	 * back; anything else it hands back to placement below).
	 */
	if (!http_prog &&
	    (table == VEER_CT_DELAYED ||
	     (table == VEER_CT_NONE && !drop && svc->rule_count &&
	      (veer_pkt_is_syn(pkt) ||
	       (pkt->payload_len && (pkt->tcp_flags & TCP_FLAG_ACK)))))) {
		if (veer_lb_handoff(ctx, VEER_TAIL_HTTP_INGRESS) >= 0)
			return CTX_ACT_OK;
		/* No HTTP program: the default route, counted. */
		hstats = veer_pkt_is_syn(pkt) ? veer_http_stats_of(svc->id)
					      : NULL;
		if (hstats)
			hstats->unseen_default++;
	}
	if (table == VEER_CT_DELAYED)
		return CTX_ACT_DROP;
	if (table == VEER_CT_NONE && !drop) {
		placed = veer_lb_place(pkt, svc, key, &view);
		if (placed == VEER_PLACE_DROP)
			return CTX_ACT_DROP;
		/* A lost flow's segment counts for its state too (a FIN,
		 * the last ACK), as does one whose pair was found late. */
		if (placed == VEER_PLACE_RECOVERED ||
		    placed == VEER_PLACE_FOUND)
			veer_ct_track_established(pkt, key, &sibling,
						  VEER_CT_DIR_FORWARD, &view,
						  &drop);
	}
	if (drop)
		return CTX_ACT_DROP;
	return veer_lb_forward_out(ctx, pkt, &view, placed);
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
	struct veer_pkt pkt = {};
	int table, drop;

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
		return veer_lb_forward_svc(ctx, &pkt, svc, &key, 0);
	}
	if (drop)
		return CTX_ACT_DROP;
	return veer_lb_forward_out(ctx, &pkt, &view, VEER_PLACE_NONE);
}

/*
 * A backend's segment that found no pair. Under overload the LRU evicts
 * entries one at a time, so a live connection can lose its reverse entry
 * alone; its segments would then leave with the backend's own address
 * and the client would reset. The endpoint's services (veer_be_vips)
 * name the VIPs it may answer for: the one whose forward entry leads to
 * this backend gets its reverse entry back; if the forward entry went
 * too, a service whose placement never moved and sends this client to
 * this backend gets the whole pair back (as a lost flow on the forward
 * side would). Returns 1 with *v filled, or -1 when no connection can
 * be restored: the segment is dropped, counted (the backend retransmits,
 * and the client's next segment may restore the pair), rather than sent
 * with an address the client would reset.
 */
/* Per-CPU room for the recovery's pair: its frame stays small. */
struct veer_recover_scratch {
	struct veer_ct_entry entry;
	struct veer_ct_key fwd;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_recover_scratch);
} veer_recover_tmp SEC(".maps");

static __noinline int veer_lb_recover_reverse(
	const struct veer_pkt *pkt, const struct veer_ct_key *rev_key,
	const struct veer_backend_vips *cands, struct veer_ct_view *v)
{
	const struct veer_backend *backend;
	struct veer_recover_scratch *tmp;
	struct veer_ct_entry *fwd_ct;
	struct veer_service *svc;
	struct veer_stats *miss;
	__u32 i, n, hash, seed, first_id, zero = 0;
	int whole;
	__u8 chosen;

	/* Moved from the half-open table by another CPU meanwhile (see
	 * VEER_PLACE_FOUND): nothing to restore. fwd_ct holds this reverse
	 * entry here. */
	fwd_ct = veer_ct_lookup(VEER_CT_ESTABLISHED, rev_key);
	if (fwd_ct) {
		veer_ct_view_of(v, fwd_ct);
		return 1;
	}
	tmp = bpf_map_lookup_elem(&veer_recover_tmp, &zero);
	if (!tmp)
		return -1;
	__builtin_memset(&tmp->entry, 0, sizeof(tmp->entry));
	n = cands->count;
	for (i = 0; i < VEER_BACKEND_VIPS_MAX && i < n; i++) {
		veer_ct_key_fill(&tmp->fwd, &pkt->daddr, &cands->vips[i].vip,
				 pkt->dport, cands->vips[i].port, pkt->family,
				 VEER_CT_DIR_FORWARD);
		fwd_ct = veer_ct_lookup(VEER_CT_ESTABLISHED, &tmp->fwd);
		if (!fwd_ct || !veer_ct_is_sibling(rev_key, fwd_ct))
			continue;
		__builtin_memcpy(&tmp->entry, fwd_ct, sizeof(tmp->entry));
		tmp->entry.nat_addr = cands->vips[i].vip;
		tmp->entry.nat_port = cands->vips[i].port;
		/* seq_next was the other direction's; what this
		 * direction saw before is unknown (no health). */
		tmp->entry.flags &= (__u8)~VEER_CT_F_SEQ_SEEN;
		tmp->entry.health = 0;
		whole = 0;
		goto restore;
	}
	/* As on the forward path: only data brings a whole pair back. */
	seed = veer_hash_seed();
	for (i = 0; pkt->payload_len && !(pkt->tcp_flags & TCP_FLAG_RST) &&
		    i < VEER_BACKEND_VIPS_MAX && i < n;
	     i++) {
		svc = bpf_map_lookup_elem(&veer_services, &cands->vips[i]);
		/* Bound late: the pair's sequence offset went with it. */
		if (!svc || svc->rule_count)
			continue;
		hash = veer_flow_hash(&pkt->daddr, &cands->vips[i].vip,
				      pkt->dport, cands->vips[i].port,
				      svc->flags, seed);
		backend = veer_choose_backend(svc, hash, seed, pkt->family,
					      &chosen);
		if (!backend || backend->port != pkt->sport ||
		    !veer_addr_equal(&backend->addr, &pkt->saddr) ||
		    !veer_placement_stable(svc, hash, chosen))
			continue;
		tmp->entry.nat_addr = pkt->saddr;
		tmp->entry.nat_port = pkt->sport;
		tmp->entry.subset = chosen;
		tmp->entry.svc_id = svc->id;
		tmp->entry.created_ns = bpf_ktime_get_ns();
		tmp->entry.flags = VEER_CT_F_RECOVERED;
		veer_ct_key_fill(&tmp->fwd, &pkt->daddr, &cands->vips[i].vip,
				 pkt->dport, cands->vips[i].port, pkt->family,
				 VEER_CT_DIR_FORWARD);
		if (veer_ct_update(VEER_CT_ESTABLISHED, &tmp->fwd, &tmp->entry))
			return -1;
		tmp->entry.nat_addr = cands->vips[i].vip;
		tmp->entry.nat_port = cands->vips[i].port;
		whole = 1;
		goto restore;
	}
	/*
	 * Counted on the endpoint's service when it has one; a backend that
	 * several services share cannot say whose segment this was, so it
	 * is counted on none (row VEER_SVC_ID_NONE).
	 */
	first_id = VEER_SVC_ID_NONE;
	if (n == 1) {
		svc = bpf_map_lookup_elem(&veer_services, &cands->vips[0]);
		first_id = svc ? svc->id : VEER_SVC_ID_NONE;
	}
	miss = veer_stats_row(first_id, VEER_STATS_ROW_UNATTRIBUTED);
	if (miss) {
		miss->ct_misses++;
		miss->ct_miss_dropped++;
	}
	return -1;
restore:
	veer_ct_view_of(v, &tmp->entry);
	if (veer_ct_update(VEER_CT_ESTABLISHED, rev_key, &tmp->entry)) {
		veer_ct_count(v, ct_insert_failed);
		return -1;
	}
	miss = veer_stats_row(tmp->entry.svc_id, VEER_STATS_ROW_UNATTRIBUTED);
	if (miss) {
		miss->ct_misses++;
		if (whole)
			miss->ct_miss_placed++;
		else
			miss->ct_restored++;
	}
	/* A whole pair entered the established table. */
	if (whole)
		veer_ct_count(v, ct_established);
	return 1;
}

/*
 * The backend's first payload segment on a TRACKED pair (VEER_VIEW_FIRST_DATA):
 * for an HTTP pair, its status class and its time to first byte (from the
 * forward entry's first request byte). Only the first response of a
 * connection: later ones on a kept-alive connection start mid-stream
 * where no segment boundary is promised. TC egress only (XDP sees no
 * backend segments).
 */
static __noinline void veer_health_response(veer_ctx_t *ctx,
					    const struct veer_pkt *pkt,
					    const struct veer_ct_view *v)
{
#if defined(VEER_CTX_SKB)
	struct veer_ct_entry *fwd;
	struct veer_health *h;
	struct veer_ct_key key;
	__u8 buf[16] = {}; /* a power of two for the mask below */
	__u32 n = pkt->payload_len, off;
	int cls;

	if (!(v->health & VEER_CT_H_HTTP))
		return;
	h = veer_health_row(v->svc_id, v->subset);
	if (!h)
		return;
	veer_ct_key_fill(&key, &pkt->daddr, &v->nat_addr, pkt->dport,
			 v->nat_port, pkt->family, VEER_CT_DIR_FORWARD);
	fwd = bpf_map_lookup_elem(&veer_conntrack, &key);
	if (fwd && (fwd->health & VEER_CT_H_REQUEST))
		veer_health_ttfb(h, bpf_ktime_get_ns() - fwd->closed_ns);

	if (n > VEER_STATUS_LINE_LEN)
		n = VEER_STATUS_LINE_LEN;
	off = pkt->frame_len - pkt->payload_len;
	/* 1 ..= 12 as the verifier can see it: masked into [1, 16]. */
	if (n < 1 || bpf_skb_load_bytes(ctx, off, buf,
					((n - 1) & (sizeof(buf) - 1)) + 1) < 0)
		cls = VEER_STATUS_CUT;
	else
		cls = veer_status_class(buf, n);
	switch (cls) {
	case 1:
		__sync_fetch_and_add(&h->responses_1xx, 1);
		break;
	case 2:
		__sync_fetch_and_add(&h->responses_2xx, 1);
		break;
	case 3:
		__sync_fetch_and_add(&h->responses_3xx, 1);
		break;
	case 4:
		__sync_fetch_and_add(&h->responses_4xx, 1);
		break;
	case 5:
		__sync_fetch_and_add(&h->responses_5xx, 1);
		break;
	case VEER_STATUS_CUT:
		__sync_fetch_and_add(&h->responses_unparsed, 1);
		break;
	default:
		__sync_fetch_and_add(&h->responses_not_http, 1);
	}
#else
	(void)ctx;
	(void)pkt;
	(void)v;
#endif
}

/* The services a backend endpoint (the packet's source) serves, or NULL
 * when it is no backend: veer_be_vips. */
static __always_inline const struct veer_backend_vips *
veer_lb_endpoint_vips(const struct veer_pkt *pkt)
{
	struct veer_backend endpoint = {};

	__builtin_memcpy(&endpoint.addr, &pkt->saddr, sizeof(endpoint.addr));
	endpoint.port = pkt->sport;
	endpoint.family = pkt->family;
	return bpf_map_lookup_elem(&veer_be_vips, &endpoint);
}

/* Backend -> client: restore the VIP as the source (and translate ICMP
 * errors about a connection: icmp.h). */
static __always_inline int veer_lb_reverse(veer_ctx_t *ctx)
{
	const struct veer_backend_vips *cands = NULL;
	struct veer_ct_key key, sibling;
	struct veer_ct_view view;
	struct veer_stats *stats;
	struct veer_pkt pkt = {};
	int table = VEER_CT_NONE, drop = 0, synack;

	if (veer_parse(ctx, &pkt))
		return veer_icmp_xlate(ctx, VEER_CT_DIR_REVERSE);
	veer_ct_key_of_pkt(&key, &pkt, VEER_CT_DIR_REVERSE);
	synack = veer_pkt_is_synack(&pkt);
	/*
	 * A backend's SYN-ACK answers a half-open pair: looked for there
	 * first, which spares each connection the established table's miss.
	 * Not there (a SYN-ACK repeated after the handshake, an expired
	 * pair): the usual order below.
	 */
	if (synack) {
		cands = veer_lb_endpoint_vips(&pkt);
		if (cands)
			table = veer_ct_track_transient(
				&pkt, &key, &sibling, VEER_CT_DIR_REVERSE,
				&view, &drop, VEER_CT_LOOK_HALF_OPEN);
	}
	if (table == VEER_CT_NONE && !drop) {
		table = veer_ct_track_established(&pkt, &key, &sibling,
						  VEER_CT_DIR_REVERSE, &view,
						  &drop);
		if (table == VEER_CT_ESTABLISHED && view.handoff) {
			veer_lb_handoff(ctx, VEER_TAIL_HTTP_EGRESS);
			return CTX_ACT_DROP;
		}
	}
	if (table == VEER_CT_NONE) {
		/*
		 * Only a backend's segments can belong to a pair: anything
		 * else leaves after these two lookups.
		 */
		if (!synack) /* a SYN-ACK's was looked up above */
			cands = veer_lb_endpoint_vips(&pkt);
		if (!cands)
			return CTX_ACT_OK;
		table = veer_ct_track_transient(&pkt, &key, &sibling,
						VEER_CT_DIR_REVERSE, &view,
						&drop, VEER_CT_LOOK_ALL);
	}
	if (table == VEER_CT_DELAYED) {
		/* The backend answers a connection bound late. */
		veer_lb_handoff(ctx, VEER_TAIL_HTTP_EGRESS);
		return CTX_ACT_DROP;
	}
	if (table == VEER_CT_NONE && !drop) {
		if (veer_lb_recover_reverse(&pkt, &key, cands, &view) < 0)
			return CTX_ACT_DROP;
		/* Its state changes as any segment's would. */
		veer_ct_track_established(&pkt, &key, &sibling,
					  VEER_CT_DIR_REVERSE, &view, &drop);
	}
	if (drop)
		return CTX_ACT_DROP;
	if (view.health & VEER_VIEW_FIRST_DATA)
		veer_health_response(ctx, &pkt, &view);

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
	if (view.delayed &&
	    veer_tcp_xlate(ctx, &pkt, view.isn_delta, view.wscale_reverse,
			   VEER_CT_DIR_REVERSE))
		return CTX_ACT_DROP;
	return CTX_ACT_OK;
}

#endif /* VEER_BPF_LB_H */
