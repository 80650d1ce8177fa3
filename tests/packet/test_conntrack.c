// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Conntrack under attack and under pressure, through the real programs:
 * spoofed RSTs and SYNs on live connections, a SYN flood, a burst of
 * short connections around long ones, and flows whose entry was lost.
 * Each case is one the issue reproduced breaking a live connection.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fixture.h"
#include "loader.h"
#include "veer_select.h"

#include "test_conntrack.h"

/* A sequence number this far from the tracked one is outside the window. */
#define FAR_AWAY (VEER_CT_SEQ_WINDOW * 2U)

static struct veer_stats stats_sum(const char *name)
{
	struct veer_stats sum = {}, row;
	unsigned int r;

	for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++) {
		row = service_stats(name, r);
		veer_stats_add(&sum, &row, 1);
	}
	return sum;
}

/*
 * Spoofed RSTs on a live connection, after a weight flip that would send
 * it elsewhere if it were placed again: out of the window they are
 * dropped and counted; in the window but not exact they reach the
 * endpoint (whose TCP judges them) and change nothing here; only the
 * sender's exact next sequence number closes the pair.
 */
static void test_spoofed_rst(void)
{
	struct flow live = {AF_INET, "10.10.1.40", "10.96.0.10", 47000, 80};
	struct veer_stats before, after;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 1000, 5000, &syn), 0);
	back = reply_flow(&live, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK | F_PSH, 1001, 5001,
				 "hello", &out),
			TC_OK);
	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	before = stats_sum("web");

	/* Client side, then backend side, far outside the window. */
	CU_ASSERT_EQUAL(
		send_pkt(&live, false, F_RST, 1006 + FAR_AWAY, 0, NULL, NULL),
		TC_SHOT);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_RST | F_ACK, 1006 - FAR_AWAY,
				 5001, NULL, NULL),
			TC_SHOT);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_RST, 5001 + FAR_AWAY, 0, NULL, NULL),
		TC_SHOT);
	/* In the window, not exact: passed on, nothing changes. */
	CU_ASSERT_EQUAL(
		send_pkt(&live, false, F_RST, 1006 + 1000, 0, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST, 5001 - 1, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.10"));
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &live, &syn, &fe, &re));
	CU_ASSERT_FALSE(fe.flags & (VEER_CT_F_RST | VEER_CT_F_CLOSED));

	after = stats_sum("web");
	CU_ASSERT_EQUAL(after.rst_invalid - before.rst_invalid, 3);
	CU_ASSERT_EQUAL(after.ct_closed - before.ct_closed, 0);

	/* The connection goes on, on its backend. */
	CU_ASSERT_EQUAL(
		send_pkt(&live, false, F_ACK | F_PSH, 1006, 5001, "more", &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));

	/* The backend's RST with its exact next sequence number closes. */
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST, 5001, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.10"));
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, &live, &syn, &fe, &re));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_CLOSING, &live, &syn, &fe, &re));
	CU_ASSERT_EQUAL(fe.flags & (VEER_CT_F_RST | VEER_CT_F_CLOSED),
			VEER_CT_F_RST | VEER_CT_F_CLOSED);
	after = stats_sum("web");
	CU_ASSERT_EQUAL(after.ct_closed - before.ct_closed, 1);
}

/*
 * A SYN with a new ISN on a live tuple (spoofed, or a client that lost
 * the connection) goes to the pinned backend, whatever the weights, and
 * leaves the pair as it was; a spoofed FIN outside the window does not
 * make the tuple reusable either.
 */
static void test_spoofed_syn_on_live(void)
{
	struct flow live = {AF_INET6, "fd10:1::40", "fd00:96::10", 47100, 80};
	struct veer_stats before, after;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;

	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 300, 800, &syn), 0);
	CU_ASSERT_EQUAL_FATAL(set_web6(0, 100), 0);
	before = stats_sum("web6");
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_FIN | F_ACK, 301 + FAR_AWAY,
				 801, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_SYN, 123456, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET6, "fd10:2::2"));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &live, &syn, &fe, &re));
	CU_ASSERT_EQUAL(fe.syn_seq, 300);
	CU_ASSERT_EQUAL(fe.flags & VEER_CT_F_FIN_FORWARD, 0);
	after = stats_sum("web6");
	CU_ASSERT_EQUAL(after.syn_on_live - before.syn_on_live, 1);
	CU_ASSERT_EQUAL(after.new_conns - before.new_conns, 0);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK, 301, 801, "on", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET6, "fd10:2::2"));
}

/*
 * Only an ACK of the backend's ISN completes a handshake: an ACK before
 * the SYN-ACK, or one acknowledging something else, leaves the pair
 * half-open (a blind spoofer cannot promote its SYNs).
 */
static void test_promotion_needs_synack(void)
{
	struct flow f = {AF_INET, "10.10.1.41", "10.96.0.10", 47200, 80};
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 10, 0, NULL, &syn), TC_OK);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 11, 501, NULL, &out), TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_HALF_OPEN, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, 500, 11, NULL, &out),
		TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 11, 9999, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_HALF_OPEN, &f, &syn, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 11, 501, NULL, &out), TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_HALF_OPEN, &f, &syn, &fe, &re));
}

/*
 * A SYN flood of three times the half-open table from spoofed sources,
 * then a weight flip: the established connection is untouched (the flood
 * evicts only half-open entries) and keeps its backend.
 */
static void test_syn_flood(void)
{
	struct flow live = {AF_INET, "10.10.1.42", "10.96.0.10", 47300, 80};
	struct flow spoof = {AF_INET, NULL, "10.96.0.10", 0, 80};
	unsigned int i, flood = 3 * VEER_CT_SIDE_FLOWS(TEST_CT_FLOWS) +
				veer_lru_slack();
	/* The table as loaded: what --ct-size gives plus the LRU slack. */
	long half_open_max = (long)VEER_CT_SIDE_FLOWS(TEST_CT_FLOWS) *
				     VEER_CT_ENTRIES_PER_FLOW +
			     veer_lru_slack();
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	char src[INET_ADDRSTRLEN];
	int not_ok = 0;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 40, 90, &syn), 0);
	for (i = 0; i < flood; i++) {
		snprintf(src, sizeof(src), "10.20.%u.%u", (i >> 8) & 0xff,
			 i & 0xff);
		spoof.client = src;
		spoof.client_port = (uint16_t)(1024 + i % 60000);
		not_ok += send_pkt(&spoof, false, F_SYN, i, 0, NULL, NULL) !=
			  TC_OK;
	}
	CU_ASSERT_EQUAL(not_ok, 0);
	CU_ASSERT_TRUE(ct_count(CT_HALF_OPEN) <= half_open_max);
	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &live, &syn, &fe, &re));
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK, 41, 91, "x", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
}

/* A complete short connection: handshake, FIN each way, last ACK. */
static int short_connection(const struct flow *f)
{
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	if (handshake(f, 100, 200, &syn))
		return -1;
	back = reply_flow(f, &syn, backend, sizeof(backend));
	if (send_pkt(f, false, F_FIN | F_ACK, 101, 201, NULL, &out) != TC_OK ||
	    send_pkt(&back, true, F_FIN | F_ACK, 201, 102, NULL, &out) !=
		    TC_OK ||
	    send_pkt(f, false, F_ACK, 102, 202, NULL, &out) != TC_OK)
		return -1;
	return 0;
}

/*
 * Closed connections leave the established table at once: after many
 * more short connections than it holds, it holds exactly the live ones,
 * which were never evicted and keep their backends across a flip.
 */
static void test_closed_leave_established(void)
{
	enum { LIVE = 50 };
	unsigned int i, shorts = 2 * TEST_CT_FLOWS + 1000;
	long base = ct_count(CT_ESTABLISHED);
	struct flow live[LIVE], f = {AF_INET, NULL, "10.96.0.10", 0, 80};
	struct pkt_view syn[LIVE], out;
	char src[INET_ADDRSTRLEN];
	int failed = 0, moved = 0;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	for (i = 0; i < LIVE; i++) {
		live[i] = (struct flow){AF_INET, "10.10.1.43", "10.96.0.10",
					(uint16_t)(48000 + i), 80};
		failed += handshake(&live[i], 1, 2, &syn[i]) != 0;
	}
	CU_ASSERT_EQUAL_FATAL(failed, 0);
	CU_ASSERT_EQUAL(ct_count(CT_ESTABLISHED), base + 2 * LIVE);
	for (i = 0; i < shorts; i++) {
		snprintf(src, sizeof(src), "10.30.%u.%u", (i >> 8) & 0xff,
			 i & 0xff);
		f.client = src;
		f.client_port = (uint16_t)(1024 + i % 60000);
		failed += short_connection(&f) != 0;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(ct_count(CT_ESTABLISHED), base + 2 * LIVE);
	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	for (i = 0; i < LIVE; i++) {
		if (send_pkt(&live[i], false, F_ACK, 2, 3, "x", &out) !=
			    TC_OK ||
		    !addr_is(&out.daddr, AF_INET, "10.10.2.2"))
			moved++;
	}
	CU_ASSERT_EQUAL(moved, 0);
}

/* The flow hash the programs compute for f (seed from the runtime map). */
static uint32_t flow_hash_of(const struct flow *f)
{
	struct veer_runtime rt = {};
	union veer_addr saddr = {}, daddr = {};
	char path[PATH_MAX];
	uint32_t zero = 0;
	uint8_t family;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_RUNTIME);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &rt);
		close(fd);
	}
	veer_addr_parse(f->client, &saddr, &family);
	veer_addr_parse(f->server, &daddr, &family);
	return veer_flow_hash(&saddr, &daddr, htons(f->client_port),
			      htons(f->server_port), 0, rt.hash_seed);
}

/* A client port of 10.10.1.44 -> VIP:80 whose bucket is in [lo, hi). */
static struct flow flow_in_buckets(const char *vip, unsigned int lo,
				   unsigned int hi, uint16_t *next_port)
{
	struct flow f = {AF_INET, "10.10.1.44", vip, 0, 80};
	unsigned int bucket;

	for (; *next_port < 65000; (*next_port)++) {
		f.client_port = *next_port;
		bucket = flow_hash_of(&f) % VEER_WEIGHT_TOTAL;
		if (bucket >= lo && bucket < hi) {
			(*next_port)++;
			return f;
		}
	}
	CU_FAIL("no client port hashes into the bucket range");
	return f;
}

/*
 * A mid-connection packet whose pair was lost is placed again only if no
 * configuration the service ever had would have placed it elsewhere:
 * buckets and subsets that kept their placement recover; any other is
 * dropped and counted, even after the weights come back (a flow may
 * have started under either).
 */
static void test_lost_flow_history(void)
{
	struct pkt_view reply;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	struct subset_spec half[] = {
		{"v1", 50, {"10.10.2.2:8080"}},
		{"v2", 50, {"10.10.3.2:8080"}},
	};
	struct subset_spec all_v1[] = {
		{"v1", 100, {"10.10.2.2:8080"}},
		{"v2", 0, {"10.10.3.2:8080"}},
	};
	struct subset_spec more_v1[] = {
		{"v1", 50, {"10.10.2.2:8080", "10.10.2.3:8080"}},
		{"v2", 50, {"10.10.3.2:8080"}},
	};
	const char *vip = "10.96.0.60";
	struct veer_stats before, after;
	struct veer_ct_entry fe, re;
	struct pkt_view out;
	struct flow f;
	uint16_t port = 20000;

	CU_ASSERT_EQUAL_FATAL(configure("lost", vip, 80, half, 2), 0);
	before = stats_sum("lost");
	/* Never changed: any lost flow recovers: half-open until the
	 * backend answers, then established. */
	f = flow_in_buckets(vip, 50, 100, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 7, 7, "late", &out), TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.3.2"));
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_TRUE(ct_pair_in(CT_HALF_OPEN, &f, &out, &fe, &re));
	back = reply_flow(&f, &out, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 7, 11, NULL, &reply),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&reply.saddr, AF_INET, vip));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &f, &out, &fe, &re));
	CU_ASSERT_TRUE(fe.flags & VEER_CT_F_RECOVERED);

	/* 100/0: buckets 50..99 moved from v2 to v1. */
	CU_ASSERT_EQUAL_FATAL(configure("lost", vip, 80, all_v1, 2), 0);
	f = flow_in_buckets(vip, 50, 100, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 7, 7, "late", &out),
			TC_SHOT);
	f = flow_in_buckets(vip, 0, 50, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 7, 7, "late", &out), TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));

	/* Back to 50/50: the moved buckets stay unsafe. */
	CU_ASSERT_EQUAL_FATAL(configure("lost", vip, 80, half, 2), 0);
	f = flow_in_buckets(vip, 50, 100, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 7, 7, "late", &out),
			TC_SHOT);

	/* v1 gains a backend: its flows may now hash to either. */
	CU_ASSERT_EQUAL_FATAL(configure("lost", vip, 80, more_v1, 2), 0);
	f = flow_in_buckets(vip, 0, 50, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 7, 7, "late", &out),
			TC_SHOT);

	/* An RST with no state has nothing to reset: dropped, counted. */
	f = flow_in_buckets(vip, 0, 100, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_RST, 7, 0, NULL, NULL), TC_SHOT);
	/* A bare ACK (or FIN) may be a closed connection's late segment: it
	 * brings nothing back, even where the placement is stable. */
	f = flow_in_buckets(vip, 0, 50, &port);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK | F_FIN, 7, 7, NULL, NULL),
			TC_SHOT);
	CU_ASSERT_EQUAL(ct_entries_of(&f, &out), 0);

	after = stats_sum("lost");
	CU_ASSERT_EQUAL(after.ct_misses - before.ct_misses, 7);
	CU_ASSERT_EQUAL(after.ct_miss_placed - before.ct_miss_placed, 2);
	CU_ASSERT_EQUAL(after.ct_miss_dropped - before.ct_miss_dropped, 5);
}

/* Removes one entry of a pair from the established table (an eviction). */
static void evict(const struct flow *f, const struct pkt_view *syn,
		  bool forward, bool reverse)
{
	struct veer_ct_entry fe, re;
	struct veer_ct_key fk = {}, rk = {};
	uint8_t family;

	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, f, syn, &fe, &re));
	veer_addr_parse(f->client, &fk.saddr, &family);
	veer_addr_parse(f->server, &fk.daddr, &family);
	fk.sport = htons(f->client_port);
	fk.dport = htons(f->server_port);
	fk.proto = 6;
	fk.family = family;
	fk.dir = VEER_CT_DIR_FORWARD;
	rk.saddr = syn->daddr;
	rk.daddr = fk.saddr;
	rk.sport = htons(syn->dport);
	rk.dport = fk.sport;
	rk.proto = 6;
	rk.family = family;
	rk.dir = VEER_CT_DIR_REVERSE;
	if (forward)
		CU_ASSERT_EQUAL(bpf_map_delete_elem(maps.conntrack, &fk), 0);
	if (reverse)
		CU_ASSERT_EQUAL(bpf_map_delete_elem(maps.conntrack, &rk), 0);
}

/*
 * One client port to two VIPs that share a backend: the backend sees one
 * tuple, so the second connection takes it over. Its replies come back
 * from its own VIP, whether the first pair was still established or
 * already closing, and the first pair is gone.
 */
static void test_backend_tuple_reuse(void)
{
	struct subset_spec same_backend[] = {
		{"v1", 100, {"10.10.2.2:8080"}},
	};
	struct flow first = {AF_INET, "10.10.1.45", "10.96.0.10", 47400, 80};
	struct flow second = {AF_INET, "10.10.1.45", "10.96.0.61", 47400, 80};
	struct flow back = {AF_INET, "10.10.1.45", "10.10.2.2", 47400, 8080};
	struct pkt_view syn1, syn2, out;
	int round;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(
		configure("twin", "10.96.0.61", 80, same_backend, 1), 0);
	for (round = 0; round < 2; round++) {
		/* Round 0: the first pair is established; 1: closing. */
		CU_ASSERT_EQUAL_FATAL(handshake(&first, 10 + round, 20, &syn1),
				      0);
		if (round == 1)
			CU_ASSERT_EQUAL(send_pkt(&first, false, F_RST,
						 11 + round, 0, NULL, &out),
					TC_OK);
		CU_ASSERT_EQUAL(send_pkt(&second, false, F_SYN, 500 + round, 0,
					 NULL, &syn2),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&syn2.daddr, AF_INET, "10.10.2.2"));
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_SYN | F_ACK, 900,
					 501 + round, NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.61"));
		/* Only the shared backend tuple's key is left: the second's. */
		CU_ASSERT_EQUAL(ct_entries_of(&first, &syn1), 1);
		CU_ASSERT_EQUAL(send_pkt(&second, false, F_RST, 501 + round, 0,
					 NULL, &out),
				TC_OK);
	}
}

/*
 * The same shared backend tuple after the first pair's reverse entry was
 * evicted: the second connection's SYN finds nothing to retire there, so
 * the first pair's forward entry lives on, and the reverse key now leads
 * to the second's entry. The first's FIN must not write its number
 * there, and an ACK of the first's acknowledging the second's backend
 * FIN must neither close the first by it nor move the second's entry.
 */
static void test_backend_tuple_foreign_sibling(void)
{
	struct subset_spec same_backend[] = {
		{"v1", 100, {"10.10.2.2:8080"}},
	};
	struct flow first = {AF_INET, "10.10.1.45", "10.96.0.10", 47410, 80};
	struct flow second = {AF_INET, "10.10.1.45", "10.96.0.61", 47410, 80};
	struct flow back;
	struct veer_ct_entry fe, re;
	struct pkt_view syn1, syn2, out;
	char backend[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(
		configure("twin", "10.96.0.61", 80, same_backend, 1), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&first, 1000, 2000, &syn1), 0);
	evict(&first, &syn1, false, true);
	CU_ASSERT_EQUAL_FATAL(handshake(&second, 5000, 6000, &syn2), 0);
	back = reply_flow(&second, &syn2, backend, sizeof(backend));
	CU_ASSERT_TRUE(addr_is(&syn1.daddr, AF_INET, backend));

	CU_ASSERT_EQUAL(
		send_pkt(&first, false, F_FIN | F_ACK, 1001, 2001, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE_FATAL(
		ct_pair_in(CT_ESTABLISHED, &second, &syn2, &fe, &re));
	CU_ASSERT_EQUAL(re.fin_seq_forward, 0);
	CU_ASSERT_EQUAL(fe.fin_seq_forward, 0);

	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_FIN | F_ACK, 6001, 5001, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.61"));
	CU_ASSERT_EQUAL(send_pkt(&first, false, F_ACK, 1002, 6002, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &second, &syn2, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_CLOSING, &second, &syn2, &fe, &re));

	/* Both end by RST. */
	CU_ASSERT_EQUAL(send_pkt(&second, false, F_RST, 5001, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&first, false, F_RST, 1002, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, &second, &syn2, &fe, &re));
	CU_ASSERT_EQUAL(delete_service("twin"), 0);
}

/*
 * The backend still holds the shared tuple from the client port's older
 * connection to another VIP (TIME_WAIT when the server closed first; a
 * LAST_ACK or live socket answers alike). Its TCP refuses the new SYN
 * with a bare ACK of the old stream; the client in SYN-SENT answers with
 * an RST at that ACK's number (RFC 9293 3.10.7.3), which must reach the
 * backend to end the old state, or the connection hangs until TIME_WAIT
 * runs out. That RST changes nothing here; the pair stays half-open,
 * the client's retransmitted SYN opens it, and the stale ACK's sequence
 * number (the old stream's) is not taken for the backend's. Round 0: veer
 * has no state of the older connection (a reboot emptied its tables, or
 * its grace period ran out); round 1: its pair is still closing.
 */
static void test_backend_stale_ack(void)
{
	struct subset_spec same_backend[] = {
		{"v1", 100, {"10.10.2.2:8080"}},
	};
	struct flow first = {AF_INET, "10.10.1.46", "10.96.0.10", 47500, 80};
	struct flow second = {AF_INET, "10.10.1.46", "10.96.0.61", 47500, 80};
	struct flow back = {AF_INET, "10.10.1.46", "10.10.2.2", 47500, 8080};
	/* The old stream's numbers: far from the new connection's. */
	const uint32_t old_backend_nxt = 0x40005000U,
		       old_client_nxt = 0x80000000U;
	struct veer_stats before, after;
	struct veer_ct_entry fe, re;
	struct pkt_view syn1, syn2, out;
	uint32_t isn;
	int round;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(
		configure("twin", "10.96.0.61", 80, same_backend, 1), 0);
	for (round = 0; round < 2; round++) {
		isn = 7000 + 100 * (uint32_t)round;
		if (round == 1) {
			/* The first connection closes through veer, the
			 * backend first (it keeps TIME_WAIT). */
			CU_ASSERT_EQUAL_FATAL(
				handshake(&first, 300, 400, &syn1), 0);
			CU_ASSERT_EQUAL(send_pkt(&back, true, F_FIN | F_ACK,
						 401, 301, NULL, &out),
					TC_OK);
			CU_ASSERT_EQUAL(send_pkt(&first, false, F_FIN | F_ACK,
						 301, 402, NULL, &out),
					TC_OK);
			CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 402, 302,
						 NULL, &out),
					TC_OK);
			CU_ASSERT_TRUE(ct_pair_in(CT_CLOSING, &first, &syn1,
						  &fe, &re));
		}
		before = stats_sum("twin");
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&second, false, F_SYN, isn, 0, NULL, &syn2),
			TC_OK);
		CU_ASSERT_TRUE(addr_is(&syn2.daddr, AF_INET, "10.10.2.2"));
		/* The backend's stale ACK reaches the client from the VIP. */
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, old_backend_nxt,
					 old_client_nxt, NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.61"));
		/* The client's RST at its number reaches the backend. */
		CU_ASSERT_EQUAL(send_pkt(&second, false, F_RST, old_client_nxt,
					 0, NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
		/* Any other far RST is still dropped. */
		CU_ASSERT_EQUAL(send_pkt(&second, false, F_RST,
					 old_client_nxt + 1, 0, NULL, NULL),
				TC_SHOT);
		CU_ASSERT_TRUE(
			ct_pair_in(CT_HALF_OPEN, &second, &syn2, &fe, &re));
		/* The retransmitted SYN opens the connection. */
		CU_ASSERT_EQUAL(
			send_pkt(&second, false, F_SYN, isn, 0, NULL, &out),
			TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_SYN | F_ACK, 5000,
					 isn + 1, NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.61"));
		CU_ASSERT_EQUAL(send_pkt(&second, false, F_ACK, isn + 1, 5001,
					 NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE_FATAL(
			ct_pair_in(CT_ESTABLISHED, &second, &syn2, &fe, &re));
		/* The backend's stream is tracked from its SYN-ACK. */
		CU_ASSERT_EQUAL(re.seq_next, 5001);
		after = stats_sum("twin");
		CU_ASSERT_EQUAL(after.rst_invalid - before.rst_invalid, 1);
		CU_ASSERT_EQUAL(after.ct_aborted - before.ct_aborted, 0);
		CU_ASSERT_EQUAL(after.ct_established - before.ct_established,
				1);
		/* Its exact RST closes the pair. */
		CU_ASSERT_EQUAL(
			send_pkt(&back, true, F_RST, 5001, 0, NULL, &out),
			TC_OK);
		CU_ASSERT_TRUE(
			ct_pair_in(CT_CLOSING, &second, &syn2, &fe, &re));
		after = stats_sum("twin");
		CU_ASSERT_EQUAL(after.ct_closed - before.ct_closed, 1);
	}
}

/*
 * Under overload the LRU evicts entries one at a time. A backend's
 * segment whose reverse entry went is translated again: from the
 * forward entry when it is still there, from the placement when the
 * whole pair went and the placement never moved; otherwise, and for
 * bare segments, it is dropped (not sent with the backend's address for
 * the client to reset). Segments from addresses that are no backend pass
 * untouched.
 */
static void test_reverse_recovery(void)
{
	/* Backends of this service only: drops are counted on it. */
	struct subset_spec half[] = {
		{"v1", 50, {"10.10.2.7:8080"}},
		{"v2", 50, {"10.10.3.7:8080"}},
	};
	struct subset_spec all_v1[] = {
		{"v1", 100, {"10.10.2.7:8080"}},
		{"v2", 0, {"10.10.3.7:8080"}},
	};
	const char *vip = "10.96.0.62";
	struct flow f, back, stranger;
	struct veer_stats before, after;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	char backend[INET6_ADDRSTRLEN];
	uint16_t port = 30000;

	CU_ASSERT_EQUAL_FATAL(configure("revlost", vip, 80, half, 2), 0);
	before = stats_sum("revlost");

	/* Reverse entry evicted, forward kept: restored from the forward. */
	f = flow_in_buckets(vip, 50, 100, &port);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, 100, 500, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	evict(&f, &syn, false, true);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 501, 101, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, vip));
	CU_ASSERT_EQUAL(out.sport, 80);
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));

	/* Forward entry evicted: the client's bare ACK restores it from the
	 * reverse one (proof of where the connection lives), and its FIN
	 * still counts for the close. */
	evict(&f, &syn, true, false);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 101, 501, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, back.server));
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	evict(&f, &syn, true, false);
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_FIN | F_ACK, 101, 501, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_TRUE(fe.flags & VEER_CT_F_FIN_FORWARD);

	/* The whole pair evicted, placement unchanged: data brings it back;
	 * a bare ACK does not. */
	evict(&f, &syn, true, true);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 501, 101, NULL, &out),
			TC_SHOT);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_ACK | F_PSH, 501, 101, "data", &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, vip));
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_TRUE(fe.flags & VEER_CT_F_RECOVERED);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 101, 505, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, back.server));

	/* After a flip that moved this bucket: dropped, counted. */
	CU_ASSERT_EQUAL_FATAL(configure("revlost", vip, 80, all_v1, 2), 0);
	evict(&f, &syn, true, true);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_ACK | F_PSH, 505, 101, "more", &out),
		TC_SHOT);

	/* Not a backend of any service: left alone. */
	stranger =
		(struct flow){AF_INET, "10.10.1.46", "10.10.9.9", 30999, 8080};
	CU_ASSERT_EQUAL(
		send_pkt(&stranger, true, F_ACK | F_PSH, 1, 1, "x", &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.10.9.9"));

	after = stats_sum("revlost");
	CU_ASSERT_EQUAL(after.ct_restored - before.ct_restored, 3);
	CU_ASSERT_EQUAL(after.ct_miss_placed - before.ct_miss_placed, 1);
	CU_ASSERT_EQUAL(after.ct_miss_dropped - before.ct_miss_dropped, 2);
}

/*
 * One step of a close: a segment from either side, an eviction, or the
 * check that the pair is closed (in the closing table only, both sides,
 * counted once).
 */
struct close_step {
	enum {
		FROM_CLIENT,
		FROM_BACKEND,
		EVICT_CLIENT,
		EVICT_BACKEND,
		IS_CLOSED
	} what;
	uint8_t flags;
	/* From the sender's ISN and the one it acknowledges. */
	uint32_t seq, ack;
	const char *data;
	int verdict; /* TC_OK (0, the default) or TC_SHOT */
};

#define CLOSE_STEPS_MAX 7
#define CLIENT(f, s, a)                                                        \
	{                                                                      \
		.what = FROM_CLIENT, .flags = (f), .seq = (s), .ack = (a)      \
	}
#define BACKEND(f, s, a)                                                       \
	{                                                                      \
		.what = FROM_BACKEND, .flags = (f), .seq = (s), .ack = (a)     \
	}

/*
 * A graceful close whose pair loses an entry to the LRU between the FINs
 * and the last ACK (a full table; CI: "2 live conntrack entries left
 * after every connection closed (1 established)"). The last ACK must
 * close what is left, counted once, and the closing table then hold both
 * sides (the lost one made from the other), so that a FIN repeated
 * after a last ACK lost beyond veer still reaches its peer. Every
 * segment passed must be translated. (Before the fix, the first shape's
 * pair closed only later, by luck: its far segment, restored from the
 * client's entry, carried the exact ACK of the client's FIN.)
 */
static void test_close_after_eviction(void)
{
	static const struct close_step shapes[][CLOSE_STEPS_MAX] = {
		/* The other side's entry is gone at the last ACK; the
		 * backend repeats its FIN; one far past it is nothing. */
		{CLIENT(F_FIN | F_ACK, 1, 1),
		 BACKEND(F_FIN | F_ACK, 1, 2),
		 {.what = EVICT_BACKEND},
		 CLIENT(F_ACK, 2, 2),
		 {.what = IS_CLOSED},
		 BACKEND(F_FIN | F_ACK, 1, 2),
		 {.what = FROM_BACKEND,
		  .flags = F_ACK,
		  .seq = 2 + FAR_AWAY,
		  .ack = 2,
		  .verdict = TC_SHOT}},
		/* The last ACK's own entry evicted after its FIN, restored
		 * from the sibling by its ACK of data (a half-close). */
		{CLIENT(F_FIN | F_ACK, 1, 1),
		 {.what = EVICT_CLIENT},
		 {.what = FROM_BACKEND,
		  .flags = F_ACK | F_PSH,
		  .seq = 1,
		  .ack = 2,
		  .data = "0123456789"},
		 CLIENT(F_ACK, 2, 11),
		 BACKEND(F_FIN | F_ACK, 11, 2),
		 CLIENT(F_ACK, 2, 12),
		 {.what = IS_CLOSED}},
		/* The backend sends the last ACK; the client repeats its
		 * FIN. */
		{BACKEND(F_FIN | F_ACK, 1, 1),
		 CLIENT(F_FIN | F_ACK, 1, 2),
		 {.what = EVICT_CLIENT},
		 BACKEND(F_ACK, 2, 2),
		 {.what = IS_CLOSED},
		 CLIENT(F_FIN | F_ACK, 1, 2)},
	};
	const char *vip = "10.96.0.10";
	const uint32_t isn = 70000, peer = 75000;
	struct veer_ct_entry fe, re;
	struct flow f, back;
	struct pkt_view syn, out;
	char client[INET_ADDRSTRLEN], backend[INET6_ADDRSTRLEN];
	struct veer_stats before;
	const struct close_step *st;
	unsigned int i, k;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(client, sizeof(client), "10.10.1.%u", 97 + i);
		f = (struct flow){AF_INET, client, vip, 47970 + i, 80};
		CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
		back = reply_flow(&f, &syn, backend, sizeof(backend));
		before = stats_sum("web");
		for (k = 0; k < CLOSE_STEPS_MAX; k++) {
			st = &shapes[i][k];
			if (st->what == EVICT_CLIENT ||
			    st->what == EVICT_BACKEND) {
				evict(&f, &syn, st->what == EVICT_CLIENT,
				      st->what == EVICT_BACKEND);
				continue;
			}
			if (st->what == IS_CLOSED) {
				CU_ASSERT_TRUE(ct_pair_in(CT_CLOSING, &f, &syn,
							  &fe, &re));
				CU_ASSERT_EQUAL(ct_entries_of(&f, &syn), 2);
				CU_ASSERT_EQUAL(stats_sum("web").ct_closed -
							before.ct_closed,
						1);
				continue;
			}
			if (!st->flags)
				break;
			if (st->what == FROM_CLIENT) {
				CU_ASSERT_EQUAL(send_pkt(&f, false, st->flags,
							 isn + st->seq,
							 peer + st->ack,
							 st->data, &out),
						st->verdict);
				if (st->verdict == TC_OK)
					CU_ASSERT_TRUE(addr_is(&out.daddr,
							       AF_INET,
							       back.server));
			} else {
				CU_ASSERT_EQUAL(send_pkt(&back, true, st->flags,
							 peer + st->seq,
							 isn + st->ack,
							 st->data, &out),
						st->verdict);
				if (st->verdict == TC_OK)
					CU_ASSERT_TRUE(addr_is(&out.saddr,
							       AF_INET, vip));
			}
		}
		/* The repeated FINs changed nothing. */
		CU_ASSERT_TRUE(ct_pair_in(CT_CLOSING, &f, &syn, &fe, &re));
		CU_ASSERT_EQUAL(ct_entries_of(&f, &syn), 2);
		CU_ASSERT_EQUAL(stats_sum("web").ct_closed - before.ct_closed,
				1);
	}
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * Data segments from spoofed tuples, where placement never moved, are
 * lost flows placed again: they wait half-open for the backend, so a
 * flood of them (three times the half-open table) leaves the
 * established table and a live connection alone, as a SYN flood does;
 * the backend's RST (it knows none of them) ends such a pair at once.
 */
static void test_data_flood(void)
{
	struct subset_spec one[] = {{"v1", 100, {"10.10.2.8:8080"}}};
	struct flow live = {AF_INET, "10.10.1.47", "10.96.0.63", 47500, 80};
	struct flow spoof = {AF_INET, NULL, "10.96.0.63", 0, 80};
	struct flow back = {AF_INET, NULL, "10.10.2.8", 0, 8080};
	unsigned int i, flood = 3 * VEER_CT_SIDE_FLOWS(TEST_CT_FLOWS) +
				veer_lru_slack();
	long est;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	char src[INET_ADDRSTRLEN];
	int not_ok = 0;

	CU_ASSERT_EQUAL_FATAL(configure("dflood", "10.96.0.63", 80, one, 1), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 40, 90, &syn), 0);
	est = ct_count(CT_ESTABLISHED);
	for (i = 0; i < flood; i++) {
		snprintf(src, sizeof(src), "10.21.%u.%u", (i >> 8) & 0xff,
			 i & 0xff);
		spoof.client = src;
		spoof.client_port = (uint16_t)(1024 + i % 60000);
		not_ok += send_pkt(&spoof, false, F_ACK | F_PSH, i, 1, "x",
				   NULL) != TC_OK;
	}
	CU_ASSERT_EQUAL(not_ok, 0);
	CU_ASSERT_EQUAL(ct_count(CT_ESTABLISHED), est);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &live, &syn, &fe, &re));
	/* The backend refuses the last one: the pair goes. */
	back.client = spoof.client;
	back.client_port = spoof.client_port;
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST, 1, 0, NULL, &out), TC_OK);
	CU_ASSERT_EQUAL(
		ct_entries_of(&spoof, &(struct pkt_view){.daddr = fe.nat_addr,
							 .dport = 8080}),
		0);
}

int add_conntrack_tests(CU_pSuite suite)
{
	return !CU_add_test(suite,
			    "conntrack: spoofed RSTs on a live connection",
			    test_spoofed_rst) ||
	       !CU_add_test(suite,
			    "conntrack: SYN with a new ISN on a live tuple",
			    test_spoofed_syn_on_live) ||
	       !CU_add_test(suite,
			    "conntrack: promotion needs the SYN-ACK's ISN",
			    test_promotion_needs_synack) ||
	       !CU_add_test(suite, "conntrack: SYN flood, then a flip",
			    test_syn_flood) ||
	       !CU_add_test(suite,
			    "conntrack: closed connections leave established",
			    test_closed_leave_established) ||
	       !CU_add_test(suite,
			    "conntrack: lost flows and placement history",
			    test_lost_flow_history) ||
	       !CU_add_test(suite,
			    "conntrack: a client port reused to another VIP",
			    test_backend_tuple_reuse) ||
	       !CU_add_test(suite,
			    "conntrack: a FIN on a shared backend tuple never "
			    "touches another connection's entry",
			    test_backend_tuple_foreign_sibling) ||
	       !CU_add_test(suite,
			    "conntrack: the backend's stale ACK of a shared "
			    "tuple",
			    test_backend_stale_ack) ||
	       !CU_add_test(suite,
			    "conntrack: a backend's segment whose entry was "
			    "evicted",
			    test_reverse_recovery) ||
	       !CU_add_test(suite,
			    "conntrack: a close whose pair lost an entry "
			    "between the FINs and the last ACK",
			    test_close_after_eviction) ||
	       !CU_add_test(suite,
			    "conntrack: data flood from spoofed tuples, then "
			    "RST",
			    test_data_flood);
}
