// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Holes found by reading conntrack.h and lb.h, each turned into a
 * deterministic packet test that asserts the SAFE behaviour. T1, T4 and
 * T2 failed before the closing table judged late segments by both
 * streams' numbers and placement retired the client tuple's closing
 * pair; T2b passed then too (that path never reached the hole).
 *
 * The states some of them need (a closing pair that survived a new SYN,
 * a half-open pair that was lost mid-promotion, an expired half-open
 * pair) are written into the maps directly, as another CPU, the LRU or
 * time would leave them.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "fixture.h"

#include "test_holes.h"

#define VIP "10.96.0.10"
#define V1 "10.10.2.2"
#define V2 "10.10.3.2"
/* A sequence number this far from the tracked one is outside any window. */
#define FAR_AWAY (VEER_CT_SEQ_WINDOW * 2U)

/* bpf_ktime_get_ns()'s clock. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The forward key of f, and the reverse key of f on backend be:8080. */
static void keys_of(const struct flow *f, const char *be,
		    struct veer_ct_key *fk, struct veer_ct_key *rk)
{
	uint8_t family;

	memset(fk, 0, sizeof(*fk));
	memset(rk, 0, sizeof(*rk));
	veer_addr_parse(f->client, &fk->saddr, &family);
	veer_addr_parse(f->server, &fk->daddr, &family);
	fk->sport = htons(f->client_port);
	fk->dport = htons(f->server_port);
	fk->proto = 6;
	fk->family = family;
	fk->dir = VEER_CT_DIR_FORWARD;
	veer_addr_parse(be, &rk->saddr, &family);
	rk->daddr = fk->saddr;
	rk->sport = htons(8080);
	rk->dport = fk->sport;
	rk->proto = 6;
	rk->family = family;
	rk->dir = VEER_CT_DIR_REVERSE;
}

/*
 * Connection X on f, placed on v2 (weights 0/100), to a full close: the
 * handshake (isn, peer_isn), the client's FIN, the backend's FIN, the
 * last ACK. Its pair is then in the closing table; *fe and *re get it.
 * The client's next sequence number is isn + 2.
 */
static int close_on_v2(const struct flow *f, uint32_t isn, uint32_t peer_isn,
		       struct pkt_view *syn, struct veer_ct_entry *fe,
		       struct veer_ct_entry *re)
{
	struct pkt_view out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	if (set_web(0, 100) || handshake(f, isn, peer_isn, syn) ||
	    !addr_is(&syn->daddr, AF_INET, V2))
		return -1;
	back = reply_flow(f, syn, backend, sizeof(backend));
	if (send_pkt(f, false, F_FIN | F_ACK, isn + 1, peer_isn + 1, NULL,
		     &out) != TC_OK ||
	    send_pkt(&back, true, F_FIN | F_ACK, peer_isn + 1, isn + 2, NULL,
		     &out) != TC_OK ||
	    send_pkt(f, false, F_ACK, isn + 2, peer_isn + 2, NULL, &out) !=
		    TC_OK)
		return -1;
	return ct_pair_in(CT_CLOSING, f, syn, fe, re) ? 0 : -1;
}

/* Writes X's closing pair back (fresh: inside its grace period). */
static void put_closing(const struct veer_ct_key *fk,
			const struct veer_ct_key *rk, struct veer_ct_entry fe,
			struct veer_ct_entry re)
{
	fe.closed_ns = re.closed_ns = mono_ns();
	CU_ASSERT_EQUAL(bpf_map_update_elem(maps.ct_closing, fk, &fe, BPF_ANY),
			0);
	CU_ASSERT_EQUAL(bpf_map_update_elem(maps.ct_closing, rk, &re, BPF_ANY),
			0);
}

/* Deletes a half-open pair (as lost mid-promotion, or evicted). */
static void drop_half_open(const struct veer_ct_key *fk,
			   const struct veer_ct_key *rk)
{
	bpf_map_delete_elem(maps.ct_syn, fk);
	bpf_map_delete_elem(maps.ct_syn, rk);
}

/* Keeps a closing entry, if there is one, inside its grace period. */
static void refresh_closing(const struct veer_ct_key *k)
{
	struct veer_ct_entry e;

	if (bpf_map_lookup_elem(maps.ct_closing, k, &e) == 0) {
		e.closed_ns = mono_ns();
		bpf_map_update_elem(maps.ct_closing, k, &e, BPF_EXIST);
	}
}

/* A forward verdict that sends the segment to v2 (the wrong backend). */
static bool went_to(int verdict, const struct pkt_view *out, const char *be)
{
	return verdict == TC_OK && addr_is(&out->daddr, AF_INET, be);
}

/* A reverse verdict that gives the segment the VIP as its source. */
static bool left_as_vip(int verdict, const struct pkt_view *out)
{
	return verdict == TC_OK && addr_is(&out->saddr, AF_INET, VIP);
}

/*
 * T1. X closes on v2; Y reuses the tuple on v1 (ISN = X's next + 65537,
 * as Linux's TIME_WAIT reuse picks). Y's SYN purges X's closing pair,
 * but if that pair survives (or is written back by a racing CPU) while
 * Y's half-open pair is not found (mid-promotion on another CPU, or
 * evicted), Y's bare ACK takes the closing-table path, which judges
 * nothing: it must not go to v2. Then v2's RST at Y's client rcv_nxt
 * must not reach the client as the VIP's.
 *
 * Y's numbers do not fit X's closed streams (its sequence number is past
 * X's end, its ack is of v1's ISN): the ACK is placed as a pair-less
 * segment (dropped: a bare ACK), and v2's RST is dropped.
 */
static void test_closing_answers_live(void)
{
	struct flow x = {AF_INET, "10.10.1.80", VIP, 47800, 80};
	struct flow back_y, back_x = {AF_INET, "10.10.1.80", V2, 47800, 8080};
	struct veer_ct_entry xfe, xre, e;
	struct veer_ct_key fk, rk_v1, rk_v2;
	struct pkt_view syn_x, syn_y, out;
	char backend[INET6_ADDRSTRLEN];
	const uint32_t x_isn = 1000, x_peer = 2000, y_peer = 7000;
	const uint32_t y_isn = x_isn + 2 + 65537;
	int verdict;

	CU_ASSERT_EQUAL_FATAL(
		close_on_v2(&x, x_isn, x_peer, &syn_x, &xfe, &xre), 0);
	keys_of(&x, V1, &fk, &rk_v1);
	keys_of(&x, V2, &fk, &rk_v2);

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(
		send_pkt(&x, false, F_SYN, y_isn, 0, NULL, &syn_y), TC_OK);
	CU_ASSERT_TRUE_FATAL(addr_is(&syn_y.daddr, AF_INET, V1));
	back_y = reply_flow(&x, &syn_y, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&back_y, true, F_SYN | F_ACK, y_peer,
				 y_isn + 1, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, VIP));
	/* What Y's SYN did to X's closing pair (reported, not judged). */
	fprintf(stderr, "\n  T1: after Y's SYN, X's closing fwd %s, rev %s\n",
		bpf_map_lookup_elem(maps.ct_closing, &fk, &e) ? "gone"
							      : "PRESENT",
		bpf_map_lookup_elem(maps.ct_closing, &rk_v2, &e) ? "gone"
								 : "PRESENT");

	/*
	 * Control: Y's half-open pair not found and no closing pair: the
	 * bare ACK is a lost flow's and is dropped (lb.h placement), not
	 * sent to v2.
	 */
	drop_half_open(&fk, &rk_v1);
	verdict = send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out);
	fprintf(stderr, "  T1: control, no closing pair: verdict %d\n",
		verdict);
	CU_ASSERT_FALSE(went_to(verdict, &out, V2));

	/* A surviving closing pair, Y's half-open pair not found. */
	put_closing(&fk, &rk_v2, xfe, xre);

	/* Y's bare ACK through TC ingress: v1 or dropped, never v2. */
	forward_via_xdp = false;
	verdict = send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out);
	fprintf(stderr, "  T1: Y's bare ACK via TC: verdict %d, to %s\n",
		verdict,
		addr_is(&out.daddr, AF_INET, V2)   ? "v2"
		: addr_is(&out.daddr, AF_INET, V1) ? "v1"
						   : "?");
	CU_ASSERT_FALSE(went_to(verdict, &out, V2));

	/* The same through XDP. */
	put_closing(&fk, &rk_v2, xfe, xre);
	bpf_map_delete_elem(maps.ct_syn, &fk);
	bpf_map_delete_elem(maps.ct_syn, &rk_v1);
	forward_via_xdp = true;
	verdict = send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out);
	forward_via_xdp = false;
	fprintf(stderr, "  T1: Y's bare ACK via XDP: verdict %d, to %s\n",
		verdict,
		addr_is(&out.daddr, AF_INET, V2)   ? "v2"
		: addr_is(&out.daddr, AF_INET, V1) ? "v1"
						   : "?");
	CU_ASSERT_FALSE(went_to(verdict, &out, V2));

	/* v2's bare RST at Y's client rcv_nxt: not as the VIP's. */
	put_closing(&fk, &rk_v2, xfe, xre);
	verdict = send_pkt(&back_x, true, F_RST, y_peer + 1, 0, NULL, &out);
	fprintf(stderr, "  T1: v2's RST at Y's rcv_nxt: verdict %d, %s\n",
		verdict,
		left_as_vip(verdict, &out) ? "translated to the VIP"
					   : "not translated");
	CU_ASSERT_FALSE(left_as_vip(verdict, &out));

	/* Leave no state of this tuple behind. */
	bpf_map_delete_elem(maps.ct_closing, &fk);
	bpf_map_delete_elem(maps.ct_closing, &rk_v2);
	bpf_map_delete_elem(maps.conntrack, &fk);
	bpf_map_delete_elem(maps.conntrack, &rk_v1);
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
}

/*
 * T4. X's pair is closing; v2 sends an RST whose sequence number is far
 * outside anything X's backend stream was at. An established pair drops
 * such an RST (rst_invalid); a closing one must not pass it to the
 * client either.

 */
static void test_closing_rst_any_seq(void)
{
	struct flow x = {AF_INET, "10.10.1.81", VIP, 47810, 80};
	struct flow back_x = {AF_INET, "10.10.1.81", V2, 47810, 8080};
	struct veer_ct_entry xfe, xre;
	struct veer_ct_key fk, rk;
	struct pkt_view syn_x, out;
	const uint32_t x_isn = 3000, x_peer = 4000;
	int verdict;

	CU_ASSERT_EQUAL_FATAL(
		close_on_v2(&x, x_isn, x_peer, &syn_x, &xfe, &xre), 0);
	keys_of(&x, V2, &fk, &rk);
	put_closing(&fk, &rk, xfe, xre); /* well inside the grace period */
	verdict = send_pkt(&back_x, true, F_RST, x_peer + 2 + FAR_AWAY, 0, NULL,
			   &out);
	fprintf(stderr,
		"\n  T4: v2's far RST on a closing pair: verdict %d, %s\n",
		verdict,
		left_as_vip(verdict, &out) ? "translated to the VIP"
					   : "not translated");
	CU_ASSERT_FALSE(left_as_vip(verdict, &out));

	bpf_map_delete_elem(maps.ct_closing, &fk);
	bpf_map_delete_elem(maps.ct_closing, &rk);
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
}

/*
 * T2. An expired half-open pair (created 131 s ago) on the tuple, and X's
 * closing pair on v2. Y's SYN, placed on v1, finds the expired half-open
 * pair first, deletes it and goes to placement without looking at the
 * closing table: X's forward closing entry must be gone afterwards (it
 * otherwise shadows Y's forward key for every bare segment that misses
 * the established and half-open tables, as T1 shows).
 *
 * Placement retires the closing pair under the client tuple it places.
 */
static void test_expired_half_open_hides_closing(void)
{
	struct flow x = {AF_INET, "10.10.1.82", VIP, 47820, 80};
	struct veer_ct_entry xfe, xre, hfe, hre, e;
	struct veer_ct_key fk, rk_v1, rk_v2;
	struct flow back_y, back_x = {AF_INET, "10.10.1.82", V2, 47820, 8080};
	struct pkt_view syn_x, syn_y, out;
	char backend[INET6_ADDRSTRLEN];
	const uint32_t x_isn = 5000, x_peer = 6000, y_peer = 9000;
	int verdict;
	const uint32_t y_isn = x_isn + 2 + 65537;
	bool fwd_left, rev_left;

	CU_ASSERT_EQUAL_FATAL(
		close_on_v2(&x, x_isn, x_peer, &syn_x, &xfe, &xre), 0);
	keys_of(&x, V1, &fk, &rk_v1);
	keys_of(&x, V2, &fk, &rk_v2);
	put_closing(&fk, &rk_v2, xfe, xre);
	/* An earlier attempt's half-open pair, on v1, 131 s old. */
	hfe = xfe;
	hre = xre;
	hfe.flags = hre.flags = 0;
	hfe.closed_ns = hre.closed_ns = 0;
	hfe.created_ns = hre.created_ns = mono_ns() - 131ULL * 1000000000ULL;
	hfe.syn_seq = hre.syn_seq = 424242;
	inet_pton(AF_INET, V1, &hfe.nat_addr.v4);
	CU_ASSERT_EQUAL_FATAL(
		bpf_map_update_elem(maps.ct_syn, &fk, &hfe, BPF_ANY), 0);
	CU_ASSERT_EQUAL_FATAL(
		bpf_map_update_elem(maps.ct_syn, &rk_v1, &hre, BPF_ANY), 0);

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL(send_pkt(&x, false, F_SYN, y_isn, 0, NULL, &syn_y),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&syn_y.daddr, AF_INET, V1));
	CU_ASSERT_TRUE(ct_pair_in(CT_HALF_OPEN, &x, &syn_y, &e, &e));

	fwd_left = bpf_map_lookup_elem(maps.ct_closing, &fk, &e) == 0;
	rev_left = bpf_map_lookup_elem(maps.ct_closing, &rk_v2, &e) == 0;
	fprintf(stderr, "\n  T2: after Y's SYN, X's closing fwd %s, rev %s\n",
		fwd_left ? "PRESENT" : "gone", rev_left ? "PRESENT" : "gone");
	CU_ASSERT_FALSE(fwd_left);

	/*
	 * What that leaves, with nothing written by hand from here: Y
	 * completes its handshake on v1 and the LRU evicts its forward
	 * entry (as in test_reverse_recovery, where the bare ACK restores
	 * it from the reverse entry). Its bare ACK must go to v1 (or be
	 * dropped), never to v2; v2's far RST must not reach the client.
	 */
	back_y = reply_flow(&x, &syn_y, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&back_y, true, F_SYN | F_ACK, y_peer,
				 y_isn + 1, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, V1));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &x, &syn_y, &e, &e));
	CU_ASSERT_EQUAL(bpf_map_delete_elem(maps.conntrack, &fk), 0);
	refresh_closing(&fk);
	refresh_closing(&rk_v2);
	verdict = send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out);
	fprintf(stderr,
		"  T2: Y established on v1, fwd entry evicted, bare ACK: "
		"verdict %d, to %s\n",
		verdict,
		addr_is(&out.daddr, AF_INET, V2)   ? "v2"
		: addr_is(&out.daddr, AF_INET, V1) ? "v1"
						   : "?");
	CU_ASSERT_FALSE(went_to(verdict, &out, V2));
	refresh_closing(&rk_v2);
	verdict = send_pkt(&back_x, true, F_RST, y_peer + 1 + FAR_AWAY, 0, NULL,
			   &out);
	fprintf(stderr, "  T2: then v2's far RST: verdict %d, %s\n", verdict,
		left_as_vip(verdict, &out) ? "translated to the VIP"
					   : "not translated");
	CU_ASSERT_FALSE(left_as_vip(verdict, &out));

	bpf_map_delete_elem(maps.conntrack, &fk);
	bpf_map_delete_elem(maps.conntrack, &rk_v1);
	bpf_map_delete_elem(maps.ct_closing, &fk);
	bpf_map_delete_elem(maps.ct_closing, &rk_v2);
	bpf_map_delete_elem(maps.ct_syn, &fk);
	bpf_map_delete_elem(maps.ct_syn, &rk_v1);
}

/*
 * T2b. A search for the T2 survival with no state written by hand: a
 * service whose placement never moved sends X to v2, and X closes. A
 * late duplicate of X's data (data never looks at the closing table) is
 * a lost flow whose placement never moved: it is placed again,
 * half-open, on v2. If X's closing pair stayed next to it, Y's SYN after
 * a flip to v1 would abort that half-open pair (veer_ct_half_open
 * returns 1) and be placed on v1 without the closing table being
 * consulted, as in T2. It does not stay: placing the duplicate on the
 * same backend tuple retires it. The rest asserts the safe outcome all
 * the way (Y's bare ACK after one LRU eviction of its forward entry is
 * not sent to v2). This path never reached the hole.
 */
static void test_aborted_half_open_hides_closing(void)
{
	struct subset_spec to_v2[] = {
		{"v1", 0, {"10.10.2.9:8080"}},
		{"v2", 100, {"10.10.3.9:8080"}},
	};
	struct subset_spec to_v1[] = {
		{"v1", 100, {"10.10.2.9:8080"}},
		{"v2", 0, {"10.10.3.9:8080"}},
	};
	const char *vip = "10.96.0.70";
	struct flow x = {AF_INET, "10.10.1.83", vip, 47830, 80};
	struct flow back_x = {AF_INET, "10.10.1.83", "10.10.3.9", 47830, 8080};
	struct flow back_y;
	struct veer_ct_entry e;
	struct veer_ct_key fk, rk_v1, rk_v2;
	struct pkt_view syn_x, syn_y, out;
	char backend[INET6_ADDRSTRLEN];
	const uint32_t x_isn = 100, x_peer = 200, y_peer = 900;
	const uint32_t y_isn = x_isn + 2 + 65537;
	bool fwd_left, rev_left;
	int verdict;

	CU_ASSERT_EQUAL_FATAL(configure("holes2", vip, 80, to_v2, 2), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&x, x_isn, x_peer, &syn_x), 0);
	CU_ASSERT_TRUE_FATAL(addr_is(&syn_x.daddr, AF_INET, "10.10.3.9"));
	CU_ASSERT_EQUAL(send_pkt(&x, false, F_FIN | F_ACK, x_isn + 1,
				 x_peer + 1, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&back_x, true, F_FIN | F_ACK, x_peer + 1,
				 x_isn + 2, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(&x, false, F_ACK, x_isn + 2, x_peer + 2, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_CLOSING, &x, &syn_x, &e, &e));
	keys_of(&x, "10.10.2.9", &fk, &rk_v1);
	keys_of(&x, "10.10.3.9", &fk, &rk_v2);
	/* The late duplicate of X's data: placed again, half-open, on v2. */
	verdict = send_pkt(&x, false, F_ACK | F_PSH, x_isn + 1, x_peer + 1,
			   "dup", &out);
	fprintf(stderr,
		"\n  T2b: X's late data duplicate: verdict %d, "
		"half-open pair %s\n",
		verdict,
		ct_pair_in(CT_HALF_OPEN, &x, &syn_x, &e, &e) ? "PRESENT"
							     : "absent");
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_HALF_OPEN, &x, &syn_x, &e, &e));
	/*
	 * Placing it on v2 retires the closing pair of that backend tuple
	 * (lb.h veer_ct_retire_backend_tuple): both of X's closing entries
	 * go, so this path does not leave them behind.
	 */
	fwd_left = bpf_map_lookup_elem(maps.ct_closing, &fk, &e) == 0;
	rev_left = bpf_map_lookup_elem(maps.ct_closing, &rk_v2, &e) == 0;
	fprintf(stderr,
		"  T2b: after the duplicate, X's closing fwd %s, "
		"rev %s\n",
		fwd_left ? "PRESENT" : "gone", rev_left ? "PRESENT" : "gone");
	CU_ASSERT_FALSE(fwd_left);
	CU_ASSERT_FALSE(rev_left);

	CU_ASSERT_EQUAL_FATAL(configure("holes2", vip, 80, to_v1, 2), 0);
	CU_ASSERT_EQUAL(send_pkt(&x, false, F_SYN, y_isn, 0, NULL, &syn_y),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&syn_y.daddr, AF_INET, "10.10.2.9"));
	fwd_left = bpf_map_lookup_elem(maps.ct_closing, &fk, &e) == 0;
	rev_left = bpf_map_lookup_elem(maps.ct_closing, &rk_v2, &e) == 0;
	fprintf(stderr, "  T2b: after Y's SYN, X's closing fwd %s, rev %s\n",
		fwd_left ? "PRESENT" : "gone", rev_left ? "PRESENT" : "gone");
	CU_ASSERT_FALSE(fwd_left);

	back_y = reply_flow(&x, &syn_y, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&back_y, true, F_SYN | F_ACK, y_peer,
				 y_isn + 1, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &x, &syn_y, &e, &e));
	CU_ASSERT_EQUAL(bpf_map_delete_elem(maps.conntrack, &fk), 0);
	refresh_closing(&fk);
	refresh_closing(&rk_v2);
	verdict = send_pkt(&x, false, F_ACK, y_isn + 1, y_peer + 1, NULL, &out);
	fprintf(stderr,
		"  T2b: Y established on v1, fwd entry evicted, bare ACK: "
		"verdict %d, to %s\n",
		verdict,
		addr_is(&out.daddr, AF_INET, "10.10.3.9")   ? "v2"
		: addr_is(&out.daddr, AF_INET, "10.10.2.9") ? "v1"
							    : "?");
	CU_ASSERT_FALSE(went_to(verdict, &out, "10.10.3.9"));

	bpf_map_delete_elem(maps.conntrack, &fk);
	bpf_map_delete_elem(maps.conntrack, &rk_v1);
	bpf_map_delete_elem(maps.ct_closing, &fk);
	bpf_map_delete_elem(maps.ct_closing, &rk_v2);
	CU_ASSERT_EQUAL(delete_service("holes2"), 0);
}

int add_holes_tests(CU_pSuite suite)
{
	return !CU_add_test(suite,
			    "holes T1: a closing pair answers a live "
			    "connection (fails today if real)",
			    test_closing_answers_live) ||
	       !CU_add_test(suite,
			    "holes T4: a closing RST with any sequence "
			    "(fails today if real)",
			    test_closing_rst_any_seq) ||
	       !CU_add_test(suite,
			    "holes T2: an expired half-open pair hides the "
			    "closing one from a SYN (fails today if real)",
			    test_expired_half_open_hides_closing) ||
	       !CU_add_test(suite,
			    "holes T2b: a lost flow's half-open pair next to "
			    "a closing one (passes: retired)",
			    test_aborted_half_open_hides_closing);
}
