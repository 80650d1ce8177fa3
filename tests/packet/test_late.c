// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Late segments of an older connection of the same tuple, and streams
 * that jump more than a window ahead. veer rewrites the destination only,
 * so a client port reused towards another VIP on the same backend is one
 * tuple at the backend, and the backend's segments of the older
 * connection, delayed in the node's queues, reach the new connection's
 * reverse entry (a port reused towards the same VIP: its forward entry).
 * Their numbers are the older connection's. Followed as the stream's
 * head, they put the tracked stream far from where the live connection
 * is, and its FIN is then judged outside the window: the pair never
 * closes (CI: "2 live conntrack entries left after every connection
 * closed (1 established)", test_backend_timewait). L1-L3 failed before
 * veer_seq_track; L4 is what the far check must still let through.
 *
 * Each case also checks that the close is counted exactly once.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#include "test_late.h"

#define VIP "10.96.0.10"
/* Far from any number of the live connection: another connection's. */
#define OLD_OFFSET 0x40000000U
/* More than a window ahead, less than half the sequence space. */
#define JUMP (VEER_CT_SEQ_WINDOW * 2U)

static uint64_t closed_count(void)
{
	struct veer_stats row;
	uint64_t n = 0;
	unsigned int r;

	for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++) {
		row = service_stats("web", r);
		n += row.ct_closed;
	}
	return n;
}

/* The pair is in the closing table only, its close counted once since
 * `before` (closed_count()). */
static void assert_closed_once(const struct flow *f, const struct pkt_view *syn,
			       uint64_t before)
{
	struct veer_ct_entry fe, re;

	CU_ASSERT_TRUE(ct_pair_in(CT_CLOSING, f, syn, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, f, syn, &fe, &re));
	CU_ASSERT_EQUAL(closed_count() - before, 1);
}

/*
 * A graceful close from (c_seq, b_seq), the client's and the backend's
 * next sequence numbers: client FIN, backend FIN, last ACK. True if the
 * pair is then in the closing table and the close was counted once.
 */
static bool closes(const struct flow *f, const struct flow *back,
		   const struct pkt_view *syn, uint32_t c_seq, uint32_t b_seq)
{
	struct veer_ct_entry fe, re;
	struct pkt_view out;
	uint64_t before = closed_count();
	bool in_closing;

	CU_ASSERT_EQUAL(
		send_pkt(f, false, F_FIN | F_ACK, c_seq, b_seq, NULL, &out),
		TC_OK);
	CU_ASSERT_EQUAL(send_pkt(back, true, F_FIN | F_ACK, b_seq, c_seq + 1,
				 NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(f, false, F_ACK, c_seq + 1, b_seq + 1, NULL, &out),
		TC_OK);
	in_closing = ct_pair_in(CT_CLOSING, f, syn, &fe, &re);
	if (!in_closing)
		fprintf(stderr,
			"\n  not closed: established pair %s, half-open %s\n",
			ct_pair_in(CT_ESTABLISHED, f, syn, &fe, &re) ? "PRESENT"
								     : "absent",
			ct_pair_in(CT_HALF_OPEN, f, syn, &fe, &re) ? "PRESENT"
								   : "absent");
	CU_ASSERT_EQUAL(closed_count() - before, 1);
	return in_closing;
}

/*
 * A late segment of an older connection of the same tuple, sent by the
 * client (reply false) or the backend: numbered OLD_OFFSET past this
 * connection's next sequence number `seq` and acknowledging a third of
 * that past `ack`, the other stream's. Its verdict is not judged: what
 * it leaves in the pair is.
 */
static void send_old(const struct flow *f, bool reply, uint8_t flags,
		     uint32_t seq, uint32_t ack)
{
	struct pkt_view out;

	send_pkt(f, reply, flags, seq + OLD_OFFSET, ack + OLD_OFFSET / 3, NULL,
		 &out);
}

/* The tracked next sequence numbers of f's pair in `table`. */
static void seq_nexts(enum ct_table table, const struct flow *f,
		      const struct pkt_view *syn, uint32_t *fwd, uint32_t *rev)
{
	struct veer_ct_entry fe, re;

	CU_ASSERT_TRUE_FATAL(ct_pair_in(table, f, syn, &fe, &re));
	*fwd = fe.seq_next;
	*rev = re.seq_next;
}

/*
 * L1. The backend's late segment of an older connection on the same
 * backend tuple, after the new one is established: passed on (the
 * backend's own TCP ignores what does not fit), not followed; the new
 * connection then closes.
 */
static void test_late_backend_segment(void)
{
	struct flow f = {AF_INET, "10.10.1.90", VIP, 47900, 80};
	const uint32_t isn = 10000, peer = 20000;
	struct pkt_view syn;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint32_t fwd_next, rev_next;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	send_old(&back, true, F_ACK, peer + 1, isn + 1);
	seq_nexts(CT_ESTABLISHED, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(rev_next, peer + 1);
	CU_ASSERT_TRUE(closes(&f, &back, &syn, isn + 1, peer + 1));
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * L2. The same segment while the new connection is half-open: before
 * the backend's SYN-ACK (a FIN, so not taken for a stale ACK) and
 * between the SYN-ACK and the client's ACK. Neither is followed; the
 * handshake completes and the connection closes.
 */
static void test_late_backend_segment_half_open(void)
{
	struct flow f = {AF_INET, "10.10.1.91", VIP, 47910, 80};
	const uint32_t isn = 30000, peer = 40000;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint32_t fwd_next, rev_next;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f, false, F_SYN, isn, 0, NULL, &syn),
			      TC_OK);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	/* Before the SYN-ACK: the older stream's FIN, far ahead of it. */
	send_old(&back, true, F_FIN | F_ACK, peer, isn);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, peer, isn + 1, NULL, &out),
		TC_OK);
	/* Between the SYN-ACK and the client's ACK. */
	send_old(&back, true, F_ACK, peer + 1, isn + 1);
	seq_nexts(CT_HALF_OPEN, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(rev_next, peer + 1);
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_ACK, isn + 1, peer + 1, NULL, &out),
		TC_OK);
	seq_nexts(CT_ESTABLISHED, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(rev_next, peer + 1);
	CU_ASSERT_TRUE(closes(&f, &back, &syn, isn + 1, peer + 1));
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * L3. The client's late segment of an older connection of the same
 * 4-tuple (the port reused towards the same VIP), half-open after the
 * SYN-ACK and again once established: not followed.
 */
static void test_late_client_segment(void)
{
	struct flow f = {AF_INET, "10.10.1.92", VIP, 47920, 80};
	const uint32_t isn = 50000, peer = 60000;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint32_t fwd_next, rev_next;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f, false, F_SYN, isn, 0, NULL, &syn),
			      TC_OK);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, peer, isn + 1, NULL, &out),
		TC_OK);
	send_old(&f, false, F_ACK, isn + 1, peer + 1);
	seq_nexts(CT_HALF_OPEN, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(fwd_next, isn + 1);
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_ACK, isn + 1, peer + 1, NULL, &out),
		TC_OK);
	send_old(&f, false, F_ACK, isn + 1, peer + 1);
	seq_nexts(CT_ESTABLISHED, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(fwd_next, isn + 1);
	CU_ASSERT_TRUE(closes(&f, &back, &syn, isn + 1, peer + 1));
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * L4. The live stream itself more than a window ahead of what veer saw
 * (that much lost before veer), each way: its segments acknowledge what
 * the other side sent, so they are followed, and the connection then
 * closes. (A FIN that far ahead is still ignored: see veer_ct_established.)
 */
static void test_far_jump_followed(void)
{
	struct flow f = {AF_INET, "10.10.1.93", VIP, 47930, 80};
	const uint32_t isn = 70000, peer = 80000;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint32_t fwd_next, rev_next;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK | F_PSH, isn + 1 + JUMP,
				 peer + 1, "later", &out),
			TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK | F_PSH, peer + 1 + JUMP,
				 isn + 1 + JUMP + 5, "reply", &out),
			TC_OK);
	seq_nexts(CT_ESTABLISHED, &f, &syn, &fwd_next, &rev_next);
	CU_ASSERT_EQUAL(fwd_next, isn + 1 + JUMP + 5);
	CU_ASSERT_EQUAL(rev_next, peer + 1 + JUMP + 5);
	CU_ASSERT_TRUE(closes(&f, &back, &syn, isn + 1 + JUMP + 5,
			      peer + 1 + JUMP + 5));
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * L5. A simultaneous close whose two FINs' flag writes raced (each FIN
 * ORs its flag into both entries; crossing on two CPUs, one write-back
 * can undo the other): both FINs' numbers recorded, FIN_FORWARD lost on
 * both entries, as CI's dump showed. The last ACKs must still close the
 * pair, counted once.
 */
static void test_crossing_fins_lost_flag(void)
{
	struct flow f = {AF_INET, "10.10.1.94", VIP, 47940, 80};
	const uint32_t isn = 90000, peer = 95000;
	struct veer_ct_key fk, rk;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint64_t before;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_FIN | F_ACK, isn + 1, peer + 1,
				 NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_FIN | F_ACK, peer + 1, isn + 1,
				 NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(fe.fin_seq_forward, isn + 1);
	CU_ASSERT_EQUAL(re.fin_seq_reverse, peer + 1);
	/* What the race leaves: the flag gone from both bytes. */
	ct_keys(&f, &syn, &fk, &rk);
	fe.flags &= (uint8_t)~VEER_CT_F_FIN_FORWARD;
	re.flags &= (uint8_t)~VEER_CT_F_FIN_FORWARD;
	CU_ASSERT_EQUAL_FATAL(
		bpf_map_update_elem(maps.conntrack, &fk, &fe, BPF_EXIST), 0);
	CU_ASSERT_EQUAL_FATAL(
		bpf_map_update_elem(maps.conntrack, &rk, &re, BPF_EXIST), 0);
	before = closed_count();
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_ACK, isn + 2, peer + 2, NULL, &out),
		TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_ACK, peer + 2, isn + 2, NULL, &out),
		TC_OK);
	assert_closed_once(&f, &syn, before);
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * A half-close: the client sends its FIN first and the backend keeps
 * sending. Every ACK of the client's after its FIN reads the sibling
 * for the backend's FIN (the FINs are recorded on their own entries
 * only); none may close the pair before the one that acknowledges the
 * backend's FIN, and that one closes it, counted once, in both
 * directions.
 */
static void test_half_close(void)
{
	struct flow f = {AF_INET, "10.10.1.95", VIP, 47950, 80};
	const uint32_t isn = 91000, peer = 96000;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint64_t before;
	uint32_t sent = 0;
	int i;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	before = closed_count();
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_FIN | F_ACK, isn + 1, peer + 1,
				 NULL, &out),
			TC_OK);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK | F_PSH,
					 peer + 1 + sent, isn + 2, "0123456789",
					 &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, VIP));
		sent += 10;
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, isn + 2,
					 peer + 1 + sent, NULL, &out),
				TC_OK);
		CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, back.server));
		CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	}
	CU_ASSERT_EQUAL(closed_count() - before, 0);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_FIN | F_ACK, peer + 1 + sent,
				 isn + 2, NULL, &out),
			TC_OK);
	/* An ACK short of the backend's FIN is not the last one. */
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, isn + 2, peer + 1 + sent,
				 NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, isn + 2, peer + 2 + sent,
				 NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, back.server));
	assert_closed_once(&f, &syn, before);
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * A SYN-ACK is looked for in the half-open table first; one repeated
 * after the handshake (the backend did not get the client's ACK) finds
 * its pair in the established table after all, and is translated.
 */
static void test_synack_after_handshake(void)
{
	struct flow f = {AF_INET, "10.10.1.96", VIP, 47960, 80};
	const uint32_t isn = 92000, peer = 97000;
	struct veer_ct_entry fe, re;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&f, isn, peer, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, peer, isn + 1, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, VIP));
	CU_ASSERT_EQUAL(out.sport, 80);
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &f, &syn, &fe, &re));
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

/*
 * The segment that completes the handshake carries the request and the
 * client's FIN (its bare ACK was lost, or folded into the request): the
 * FIN must count, or the pair never closes.
 */
static void test_fin_completes_handshake(void)
{
	struct flow f = {AF_INET, "10.10.1.93", VIP, 47930, 80};
	const uint32_t isn = 93000, peer = 98000;
	struct pkt_view syn, out;
	struct flow back;
	char backend[INET6_ADDRSTRLEN];
	uint64_t before;

	CU_ASSERT_EQUAL_FATAL(set_web(0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f, false, F_SYN, isn, 0, NULL, &syn),
			      TC_OK);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, peer, isn + 1, NULL, &out),
		TC_OK);
	before = closed_count();
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_FIN | F_ACK | F_PSH, isn + 1,
				 peer + 1, "GET", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, back.server));
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_FIN | F_ACK | F_PSH, peer + 1,
				 isn + 5, "200", &out),
			TC_OK);
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_ACK, isn + 5, peer + 5, NULL, &out),
		TC_OK);
	assert_closed_once(&f, &syn, before);
	CU_ASSERT_EQUAL(set_web(100, 0), 0);
}

int add_late_tests(CU_pSuite suite)
{
	return !CU_add_test(suite,
			    "late L1: an older connection's backend segment "
			    "does not move a live stream",
			    test_late_backend_segment) ||
	       !CU_add_test(suite,
			    "late L6: a half-close (client FIN first, backend "
			    "sends on) closes at the last ACK only",
			    test_half_close) ||
	       !CU_add_test(suite,
			    "late L7: a SYN-ACK repeated after the handshake "
			    "is translated",
			    test_synack_after_handshake) ||
	       !CU_add_test(suite,
			    "late L8: a FIN on the segment that completes the "
			    "handshake counts",
			    test_fin_completes_handshake) ||
	       !CU_add_test(suite,
			    "late L2: nor before or right after the SYN-ACK",
			    test_late_backend_segment_half_open) ||
	       !CU_add_test(suite,
			    "late L3: nor a client segment of the same "
			    "4-tuple's older connection",
			    test_late_client_segment) ||
	       !CU_add_test(suite,
			    "late L4: a live stream more than a window ahead "
			    "is followed and closes",
			    test_far_jump_followed) ||
	       !CU_add_test(suite,
			    "late L5: crossing FINs that lost a flag still "
			    "close, counted once",
			    test_crossing_fins_lost_flag);
}
