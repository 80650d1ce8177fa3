// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Placement and NAT through the real TC and XDP programs: whole
 * connections (IPv4, IPv6, extension headers, jumbo frames), pinning
 * across weight flips, resets, deleted services, what is not a service's,
 * and the weights' distribution over 100,000 flows.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "loader.h"
#include "veer_xdp.skel.h"

#include "test_lb.h"

/*
 * Polls (bounded) with a late segment from the backend (its last ACK
 * again, seq and ack as the closed streams end) until the closed pair has
 * expired: the segment is then no longer translated, and the pair is gone
 * from every table (a bare segment does not bring it back).
 */
static bool ct_expired_within_deadline(const struct flow *fwd,
				       const struct flow *back,
				       const struct pkt_view *fwd_out,
				       uint32_t seq, uint32_t ack)
{
	struct pkt_view out;
	unsigned int waited_us;

	for (waited_us = 0; waited_us < TEST_FREE_DEADLINE_MS * 1000U;
	     waited_us += POLL_STEP_US) {
		int verdict = send_pkt(back, true, F_ACK, seq, ack, NULL, &out);

		/* Dropped (a backend's bare segment of no connection), or
		 * passed as it was: no longer translated either way. */
		if (verdict == TC_SHOT ||
		    (verdict == TC_OK &&
		     !memcmp(&out.saddr, &fwd_out->daddr, sizeof(out.saddr))))
			return ct_entries_of(fwd, fwd_out) == 0;
		usleep(POLL_STEP_US);
	}
	return false;
}

/*
 * A whole connection: SYN, SYN-ACK, data both ways, FIN both ways, last
 * ACK. Asserts translation, checksums, and the pair's way through the
 * tables: half-open, established at the ACK of the SYN-ACK, closing at
 * the last ACK, gone after the grace period.
 */
static void connection_lifecycle(int family, const char *client,
				 const char *vip, const char *v1_backend)
{
	struct flow fwd = {family, client, vip, 40000, 80};
	struct flow back = {family, client, v1_backend, 40000, 8080};
	struct veer_ct_entry fe, re;
	struct pkt_view out, syn;

	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_SYN, 1000, 0, NULL, &syn),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&syn.daddr, family, v1_backend));
	CU_ASSERT_TRUE(addr_is(&syn.saddr, family, client));
	CU_ASSERT_EQUAL(syn.dport, 8080);
	CU_ASSERT_EQUAL(syn.sport, 40000);
	CU_ASSERT_TRUE(syn.ip_csum_ok);
	CU_ASSERT_TRUE(syn.tcp_csum_ok);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_HALF_OPEN, &fwd, &syn, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, &fwd, &syn, &fe, &re));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_HALF_OPEN, &fwd, &syn, &fe, &re));
	CU_ASSERT_EQUAL(fe.subset, 0);
	CU_ASSERT_EQUAL(ntohs(fe.nat_port), 8080);
	CU_ASSERT_EQUAL(fe.syn_seq, 1000);
	CU_ASSERT_EQUAL(fe.seq_next, 1001);
	CU_ASSERT_TRUE(addr_is(&re.nat_addr, family, vip));
	CU_ASSERT_EQUAL(ntohs(re.nat_port), 80);

	/* SYN-ACK from the backend comes back from the VIP. */
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_SYN | F_ACK, 5000, 1001, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_EQUAL(out.sport, 80);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, client));
	CU_ASSERT_TRUE(out.ip_csum_ok);
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_HALF_OPEN, &fwd, &syn, &fe, &re));
	CU_ASSERT_TRUE(fe.flags & VEER_CT_F_SYNACK);
	CU_ASSERT_EQUAL(fe.peer_isn, 5000);

	/*
	 * Data both ways, odd payload length exercises the checksum tail.
	 * The client's first segment acknowledges the SYN-ACK: established.
	 */
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_ACK | F_PSH, 1001, 5001,
				 "GET / HTTP/1.1\r\n\r\n!", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1_backend));
	CU_ASSERT_EQUAL(out.payload_len, 19);
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &fwd, &syn, &fe, &re));
	CU_ASSERT_FALSE(ct_pair_in(CT_HALF_OPEN, &fwd, &syn, &fe, &re));
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK | F_PSH, 5001, 1020,
				 "HTTP/1.1 200 OK\r\n", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_TRUE(out.tcp_csum_ok);

	/* Client FIN, backend FIN+ACK: still tracked until the last ACK. */
	CU_ASSERT_EQUAL(
		send_pkt(&fwd, false, F_FIN | F_ACK, 1020, 5018, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1_backend));
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_FIN | F_ACK, 5018, 1021, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_ESTABLISHED, &fwd, &syn, &fe, &re));
	/* Each FIN on its own direction's entry; the last ACK reads both. */
	CU_ASSERT_EQUAL(fe.flags &
				(VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE),
			VEER_CT_F_FIN_FORWARD);
	CU_ASSERT_EQUAL(re.flags &
				(VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE),
			VEER_CT_F_FIN_REVERSE);
	CU_ASSERT_EQUAL(fe.seq_next, 1021);
	CU_ASSERT_EQUAL(re.seq_next, 5019);
	/* An ACK that is not the last one (old ack number) keeps state. */
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_ACK, 1021, 5018, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_ESTABLISHED, &fwd, &syn, &fe, &re));
	/* The last ACK is translated and moves the pair to closing... */
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_ACK, 1021, 5019, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1_backend));
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_FALSE(ct_pair_in(CT_ESTABLISHED, &fwd, &syn, &fe, &re));
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_CLOSING, &fwd, &syn, &fe, &re));
	CU_ASSERT_TRUE(fe.flags & VEER_CT_F_CLOSED);
	CU_ASSERT_TRUE(re.flags & VEER_CT_F_CLOSED);
	CU_ASSERT_EQUAL(fe.flags &
				(VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE),
			VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE);
	CU_ASSERT_EQUAL(re.flags &
				(VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE),
			VEER_CT_F_FIN_FORWARD | VEER_CT_F_FIN_REVERSE);
	CU_ASSERT_TRUE(fe.closed_ns != 0);
	/*
	 * ...which still translates what was in flight: here the backend's
	 * ACK overtaken by its FIN, and a FIN retransmitted because the last
	 * ACK was lost. Untranslated, the client would reset them.
	 */
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 5018, 1020, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_EQUAL(out.sport, 80);
	CU_ASSERT_EQUAL(
		send_pkt(&back, true, F_FIN | F_ACK, 5018, 1021, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	/* ...and expires when the grace period ends. */
	/* The client's last ACK again (its answer to that FIN). */
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_ACK, 1021, 5019, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1_backend));
	/*
	 * Not the closed connection's: a sequence number past what the
	 * client sent (a new connection reusing the port from TIME_WAIT
	 * starts 64 KiB on), or an ack of more than the backend sent. The
	 * bare ACK is a pair-less segment (dropped), the RST is dropped.
	 */
	CU_ASSERT_EQUAL(
		send_pkt(&fwd, false, F_ACK, 1021 + 65538, 5019, NULL, &out),
		TC_SHOT);
	CU_ASSERT_EQUAL(
		send_pkt(&fwd, false, F_ACK, 1021, 5019 + 3, NULL, &out),
		TC_SHOT);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST, 5019 + 1, 0, NULL, &out),
			TC_SHOT);
	CU_ASSERT_TRUE_FATAL(ct_pair_in(CT_CLOSING, &fwd, &syn, &fe, &re));
	/* Not before: a late segment of it is still translated. */
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK, 5019, 1021, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, family, vip));
	CU_ASSERT_TRUE(
		ct_expired_within_deadline(&fwd, &back, &syn, 5019, 1021));
}

static void test_v4_lifecycle(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	connection_lifecycle(AF_INET, "10.10.1.2", "10.96.0.10", "10.10.2.2");
}

/* The XDP entry point: same library, its own context and checksums. */
static void test_xdp_v4_lifecycle(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	forward_via_xdp = true;
	connection_lifecycle(AF_INET, "10.10.1.20", "10.96.0.10", "10.10.2.2");
	forward_via_xdp = false;
}

static void test_xdp_v6_lifecycle(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	forward_via_xdp = true;
	connection_lifecycle(AF_INET6, "fd10:1::20", "fd00:96::10",
			     "fd10:2::2");
	forward_via_xdp = false;
}

static void test_v6_lifecycle(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	connection_lifecycle(AF_INET6, "fd10:1::2", "fd00:96::10", "fd10:2::2");
}

/*
 * IPv6 with hop-by-hop and destination options before TCP (a router
 * alert, a jumbo option): the whole connection is translated, through TC
 * and through XDP, with the options left in place.
 */
static void test_v6_ext_lifecycle(void)
{
	static const struct ipv6_ext opts[] = {{0, 8, 0}, {60, 16, 0}};

	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	use_ipv6_ext(opts, 2);
	connection_lifecycle(AF_INET6, "fd10:1::30", "fd00:96::10",
			     "fd10:2::2");
	forward_via_xdp = true;
	connection_lifecycle(AF_INET6, "fd10:1::31", "fd00:96::10",
			     "fd10:2::2");
	forward_via_xdp = false;
	use_ipv6_ext(NULL, 0);
}

/*
 * Extension-header chains veer translates (a routing header whose last
 * segment is reached) and those it must leave alone: a routing header
 * still on its way (the destination is not final), a fragment, more
 * headers or bytes than it steps over, hop-by-hop not first.
 */
static void test_v6_ext_edges(void)
{
	static const struct {
		const char *what;
		bool translated;
		unsigned int n;
		struct ipv6_ext ext[IPV6_EXT_TEST_MAX];
	} cases[] = {
		{"routing, 0 segments left", true, 1, {{43, 24, 0}}},
		{"4 headers, 128 bytes",
		 true,
		 4,
		 {{0, 8, 0}, {60, 40, 0}, {43, 40, 0}, {60, 40, 0}}},
		{"routing, 1 segment left", false, 1, {{43, 24, 1}}},
		{"fragment", false, 1, {{44, 8, 0}}},
		{"136 bytes of options", false, 1, {{60, 136, 0}}},
		{"5 headers",
		 false,
		 5,
		 {{60, 8, 0}, {60, 8, 0}, {60, 8, 0}, {60, 8, 0}, {60, 8, 0}}},
		{"hop-by-hop after options", false, 2, {{60, 8, 0}, {0, 8, 0}}},
	};
	struct flow f = {AF_INET6, "fd10:1::32", "fd00:96::10", 42100, 80};
	uint8_t in[PKT_MAX], out[PKT_MAX];
	int progs[2] = {prog_ingress, prog_xdp};
	int ok[2] = {TC_OK, XDP_PASS_};
	struct pkt_view v;
	size_t len, out_len, i, p;

	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		use_ipv6_ext(cases[i].ext, cases[i].n);
		for (p = 0; p < 2; p++) {
			f.client_port = (uint16_t)(42100 + i * 2 + p);
			len = build(&f, false, F_SYN, 1, 0, NULL, in);
			CU_ASSERT_TRUE_FATAL(len > 0);
			CU_ASSERT_EQUAL(run(progs[p], in, len, out, &out_len),
					ok[p]);
			CU_ASSERT_EQUAL(out_len, len);
			if (!cases[i].translated) {
				if (memcmp(in, out, len))
					fprintf(stderr, "\n%s: rewritten",
						cases[i].what);
				CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
				continue;
			}
			CU_ASSERT_EQUAL_FATAL(view(out, out_len, &v), 0);
			if (!addr_is(&v.daddr, AF_INET6, "fd10:2::2"))
				fprintf(stderr, "\n%s: not translated",
					cases[i].what);
			CU_ASSERT_TRUE(
				addr_is(&v.daddr, AF_INET6, "fd10:2::2"));
			CU_ASSERT_EQUAL(v.dport, 8080);
			CU_ASSERT_TRUE(v.tcp_csum_ok);
			/* The extension headers are untouched. */
			CU_ASSERT_EQUAL(v.ipv6_ext_len,
					len - ETH_HLEN_ - IPV6_HLEN - TCP_HLEN);
			CU_ASSERT_EQUAL(memcmp(in + ETH_HLEN_ + IPV6_HLEN,
					       out + ETH_HLEN_ + IPV6_HLEN,
					       v.ipv6_ext_len),
					0);
		}
	}
	use_ipv6_ext(NULL, 0);
}

/*
 * Weight changes never move a live connection; new ones follow. A SYN
 * re-places a tuple only when its connection is over (closed, or a
 * handshake the client restarted); on a live one it goes to the pinned
 * backend and changes nothing.
 */
static void pinned_across_flip(int family, const char *client, const char *vip,
			       const char *v1, const char *v2,
			       int (*set)(unsigned int, unsigned int))
{
	struct flow live = {family, client, vip, 41000, 80};
	struct flow fresh = {family, client, vip, 41001, 80};
	struct flow silent = {family, client, vip, 41002, 80};
	struct pkt_view out, syn;

	CU_ASSERT_EQUAL_FATAL(set(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 1, 7000, &syn), 0);
	CU_ASSERT_TRUE(addr_is(&syn.daddr, family, v1));
	CU_ASSERT_EQUAL_FATAL(set(0, 100), 0);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK, 2, 7001, "x", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));
	/* A retransmitted SYN, or one with another ISN: still v1. */
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_SYN, 1, 0, NULL, &out), TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_SYN, 9000, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));

	/* A handshake the client restarts with a new ISN: placed afresh. */
	CU_ASSERT_EQUAL_FATAL(set(100, 0), 0);
	CU_ASSERT_EQUAL(send_pkt(&silent, false, F_SYN, 7, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));
	CU_ASSERT_EQUAL_FATAL(set(0, 100), 0);
	CU_ASSERT_EQUAL(send_pkt(&silent, false, F_SYN, 7, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));
	CU_ASSERT_EQUAL(send_pkt(&silent, false, F_SYN, 9000, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v2));
	CU_ASSERT_EQUAL(send_pkt(&fresh, false, F_SYN, 1, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v2));

	/* The client's RST with its next sequence number closes the pair;
	 * the next SYN on the tuple is a new connection, placed afresh. */
	CU_ASSERT_EQUAL(
		send_pkt(&live, false, F_RST | F_ACK, 3, 7001, NULL, &out),
		TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v1));
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_SYN, 100, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, family, v2));
}

static void test_xdp_pinned(void)
{
	forward_via_xdp = true;
	pinned_across_flip(AF_INET, "10.10.1.21", "10.96.0.10", "10.10.2.2",
			   "10.10.3.2", set_web);
	forward_via_xdp = false;
}

static void test_v4_pinned(void)
{
	pinned_across_flip(AF_INET, "10.10.1.3", "10.96.0.10", "10.10.2.2",
			   "10.10.3.2", set_web);
}

static void test_v6_pinned(void)
{
	pinned_across_flip(AF_INET6, "fd10:1::3", "fd00:96::10", "fd10:2::2",
			   "fd10:3::2", set_web6);
}

/*
 * A backend refusing the connection: its RST (acknowledging the client's
 * ISN) is translated back, counted, and ends the half-open pair at once.
 */
static void test_v4_backend_reset(void)
{
	struct flow fwd = {AF_INET, "10.10.1.4", "10.96.0.10", 42000, 80};
	struct flow back = {AF_INET, "10.10.1.4", "10.10.2.2", 42000, 8080};
	struct veer_stats before, after;
	struct pkt_view out, syn;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	before = service_stats("web", 0);
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_SYN, 1, 0, NULL, &syn), TC_OK);
	/* An RST acknowledging something else is not the backend's. */
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST | F_ACK, 0, 77, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(ct_entries_of(&fwd, &syn), 2);
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST | F_ACK, 0, 2, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.saddr, AF_INET, "10.96.0.10"));
	CU_ASSERT_EQUAL(out.sport, 80);
	CU_ASSERT_TRUE(out.ip_csum_ok);
	CU_ASSERT_TRUE(out.tcp_csum_ok);
	CU_ASSERT_EQUAL(ct_entries_of(&fwd, &syn), 0);
	after = service_stats("web", 0);
	CU_ASSERT_EQUAL(after.new_conns - before.new_conns, 1);
	CU_ASSERT_EQUAL(after.resets - before.resets, 2);
	CU_ASSERT_EQUAL(after.ct_aborted - before.ct_aborted, 1);
	CU_ASSERT_EQUAL(after.packets_forward - before.packets_forward, 1);
	CU_ASSERT_EQUAL(after.packets_reverse - before.packets_reverse, 2);
	CU_ASSERT_EQUAL(after.bytes_forward - before.bytes_forward,
			ETH_HLEN_ + IPV4_HLEN + TCP_HLEN);
}

/* Traffic that is not for a service leaves exactly as it came. */
static void test_untouched(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct flow other = {AF_INET, "10.10.1.2", "10.96.0.11", 40000, 80};
	struct flow other_port = {AF_INET, "10.10.1.2", "10.96.0.10", 40000,
				  81};
	struct flow other6 = {AF_INET6, "fd10:1::2", "fd00:96::11", 40000, 80};
	const struct flow *flows[] = {&other, &other_port, &other6};
	size_t len, out_len, i;

	CU_ASSERT_EQUAL_FATAL(set_web(50, 50), 0);
	for (i = 0; i < 3; i++) {
		len = build(flows[i], false, F_SYN, 1, 0, NULL, in);
		CU_ASSERT_EQUAL(run(prog_ingress, in, len, out, &out_len),
				TC_OK);
		CU_ASSERT_EQUAL(out_len, len);
		CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
		/* Egress with no conntrack entry is untouched too. */
		CU_ASSERT_EQUAL(run(prog_egress, in, len, out, &out_len),
				TC_OK);
		CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
	}

	/* UDP to the VIP, an IPv4 fragment, a truncated TCP header. */
	len = build(&other_port, false, F_SYN, 1, 0, NULL, in);
	inet_pton(AF_INET, "10.96.0.10", in + ETH_HLEN_ + 16);
	in[ETH_HLEN_ + 37] = 80; /* dport 80: now a service packet... */
	in[ETH_HLEN_ + 9] = 17; /* ...but UDP */
	CU_ASSERT_EQUAL(run(prog_ingress, in, len, out, &out_len), TC_OK);
	CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
	in[ETH_HLEN_ + 9] = 6;
	in[ETH_HLEN_ + 6] = 0x20; /* MF: first fragment */
	CU_ASSERT_EQUAL(run(prog_ingress, in, len, out, &out_len), TC_OK);
	CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
	in[ETH_HLEN_ + 6] = 0x40;
	CU_ASSERT_EQUAL(run(prog_ingress, in, ETH_HLEN_ + IPV4_HLEN + 10, out,
			    &out_len),
			TC_OK);
	CU_ASSERT_EQUAL(memcmp(in, out, ETH_HLEN_ + IPV4_HLEN + 10), 0);
	/* A TCP data offset pointing past the packet. */
	in[ETH_HLEN_ + IPV4_HLEN + 12] = 15 << 4;
	CU_ASSERT_EQUAL(run(prog_ingress, in, len, out, &out_len), TC_OK);
	CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
}

/*
 * A deleted service: its established connections finish, new ones are not
 * taken (nor are handshakes in progress: a packet for no service costs
 * two lookups, and the transient tables are not among them).
 */
static void test_deleted_service(void)
{
	struct subset_spec subsets[] = {
		{"v1", 100, {"10.10.2.2:8080"}},
	};
	struct flow live = {AF_INET, "10.10.1.10", "10.96.0.30", 45000, 80};
	struct flow fresh = {AF_INET, "10.10.1.10", "10.96.0.30", 45001, 80};
	struct veer_model current;
	struct pkt_view out;
	char err[VEER_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(configure("gone", "10.96.0.30", 80, subsets, 1),
			      0);
	CU_ASSERT_EQUAL_FATAL(handshake(&live, 1, 70, &out), 0);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
	veer_model_init(&current);
	CU_ASSERT_EQUAL(veer_maps_read_model(&maps, &current, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL_FATAL(veer_maps_delete_service(&maps, &current, "gone",
						       err, sizeof(err)),
			      0);
	veer_model_free(&current);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK, 2, 71, "more", &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.10.2.2"));
	CU_ASSERT_EQUAL(send_pkt(&fresh, false, F_SYN, 1, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(addr_is(&out.daddr, AF_INET, "10.96.0.30"));
}

/* A subset with weight but no backends: SYNs dropped and counted. */
static void test_empty_subset(void)
{
	struct subset_spec subsets[] = {
		{"v1", 0, {"10.10.2.2:8080"}},
		{"v2", 100, {NULL}},
	};
	struct flow f = {AF_INET, "10.10.1.9", "10.96.0.20", 44000, 80};
	struct veer_stats st;

	CU_ASSERT_EQUAL_FATAL(configure("empty", "10.96.0.20", 80, subsets, 2),
			      0);
	CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 1, 0, NULL, NULL), TC_SHOT);
	st = service_stats("empty", 1);
	CU_ASSERT_EQUAL(st.no_backend, 1);
	CU_ASSERT_EQUAL(st.new_conns, 0);
}

/*
 * 100,000 distinct flows through the real program. Hashing is seeded per
 * load, so counts are random: for n = 1e5 and p = 0.8 the standard
 * deviation of a share is sqrt(p(1-p)/n) = 0.126 pp, making the issue's
 * 0.5 pp bound a 3.95 sigma bound (false failure odds below 1 in 10^4 per
 * subset). A weight-0 subset must get exactly nothing.
 */
static void distribution(int family)
{
	struct subset_spec subsets[] = {
		{"v1", 80, {"10.20.1.1:8080", "10.20.1.2:8080"}},
		{"v2", 0, {"10.20.2.1:8080"}},
		{"v3", 20, {"10.20.3.1:8080"}},
	};
	struct subset_spec subsets6[] = {
		{"v1", 80, {"[fd20:1::1]:8080", "[fd20:1::2]:8080"}},
		{"v2", 0, {"[fd20:2::1]:8080"}},
		{"v3", 20, {"[fd20:3::1]:8080"}},
	};
	const char *vip = family == AF_INET ? "10.96.1.1" : "fd00:96::1:1";
	unsigned long v1a = 0, v1b = 0, v2 = 0, v3 = 0, other = 0;
	char client[64];
	struct pkt_view out;
	double share_v1, share_v3;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(
		configure(family == AF_INET ? "dist" : "dist6", vip, 443,
			  family == AF_INET ? subsets : subsets6, 3),
		0);
	for (i = 0; i < DIST_FLOWS; i++) {
		struct flow f = {family, client, vip,
				 (uint16_t)(1024 + i % 60000), 443};

		if (family == AF_INET)
			snprintf(client, sizeof(client), "10.%u.%u.%u",
				 100 + i / 60000, (i / 250) % 250, 1 + i % 250);
		else
			snprintf(client, sizeof(client), "fd30::%x:%x",
				 i / 60000, i % 60000);
		if (send_pkt(&f, false, F_SYN, i, 0, NULL, &out) != TC_OK) {
			other++;
			continue;
		}
		if (addr_is(&out.daddr, family,
			    family == AF_INET ? "10.20.1.1" : "fd20:1::1"))
			v1a++;
		else if (addr_is(&out.daddr, family,
				 family == AF_INET ? "10.20.1.2" : "fd20:1::2"))
			v1b++;
		else if (addr_is(&out.daddr, family,
				 family == AF_INET ? "10.20.2.1" : "fd20:2::1"))
			v2++;
		else if (addr_is(&out.daddr, family,
				 family == AF_INET ? "10.20.3.1" : "fd20:3::1"))
			v3++;
		else
			other++;
	}
	share_v1 = 100.0 * (double)(v1a + v1b) / DIST_FLOWS;
	share_v3 = 100.0 * (double)v3 / DIST_FLOWS;
	printf("\n    %s: v1 %.2f%% (backends %lu/%lu) v2 %lu v3 %.2f%% ",
	       family == AF_INET ? "IPv4" : "IPv6", share_v1, v1a, v1b, v2,
	       share_v3);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(v2, 0);
	CU_ASSERT_TRUE(fabs(share_v1 - 80.0) <= DIST_TOLERANCE_PP);
	CU_ASSERT_TRUE(fabs(share_v3 - 20.0) <= DIST_TOLERANCE_PP);
	/*
	 * Within v1 the two backends split 50/50: sd of the count is
	 * sqrt(80000 * 0.25) = 141; 4.5 sigma is 636.
	 */
	CU_ASSERT_TRUE(labs((long)v1a - (long)v1b) <= 2 * 636);
	CU_ASSERT_EQUAL(service_stats(family == AF_INET ? "dist" : "dist6", 0)
				.new_conns,
			v1a + v1b);
}

static void test_v4_distribution(void)
{
	distribution(AF_INET);
}

static void test_v6_distribution(void)
{
	distribution(AF_INET6);
}

/*
 * A jumbo frame through the multi-buffer XDP program (the one veer loads
 * on 5.18+): the frame spans fragments beyond data_end, it is translated
 * from its first buffer, and the byte counter takes its whole length.
 * Also: the single-buffer variant (what 5.15-5.17 get) loads.
 */
static void test_xdp_jumbo_frame(void)
{
	enum { JUMBO = 9000 };
	struct flow f = {AF_INET, "10.10.1.60", "10.96.0.10", 44000, 80};
	static uint8_t in[JUMBO], out[JUMBO];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = JUMBO, .data_out = out,
		    .data_size_out = JUMBO);
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_stats before, after;
	struct veer_xdp *single;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(send_pkt(&f, false, F_SYN, 1, 0, NULL, NULL),
			      TC_OK);
	len = build(&f, false, F_ACK, 2, 9, "x", in);
	CU_ASSERT_TRUE_FATAL(len > 0);
	memset(in + len, 'y', JUMBO - len);
	in[ETH_HLEN_ + 2] = (uint8_t)((JUMBO - ETH_HLEN_) >> 8);
	in[ETH_HLEN_ + 3] = (uint8_t)(JUMBO - ETH_HLEN_);

	before = service_stats("web", 0);
	CU_ASSERT_EQUAL_FATAL(bpf_prog_test_run_opts(prog_xdp, &opts), 0);
	CU_ASSERT_EQUAL(opts.retval, XDP_PASS_);
	CU_ASSERT_EQUAL(opts.data_size_out, JUMBO);
	/* Translated from the first buffer: backend address and port. */
	CU_ASSERT_EQUAL(memcmp(out + ETH_HLEN_ + 16, "\x0a\x0a\x02\x02", 4), 0);
	CU_ASSERT_EQUAL(out[ETH_HLEN_ + IPV4_HLEN + 2] << 8 |
				out[ETH_HLEN_ + IPV4_HLEN + 3],
			8080);
	CU_ASSERT_EQUAL(memcmp(in + 200, out + 200, JUMBO - 200), 0);
	after = service_stats("web", 0);
	CU_ASSERT_EQUAL(after.packets_forward - before.packets_forward, 1);
	CU_ASSERT_EQUAL(after.bytes_forward - before.bytes_forward, JUMBO);

	single = veer_xdp__open_opts(&open_opts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(single);
	veer_adopt_pinned_sizes(single->obj, pin_root);
	CU_ASSERT_EQUAL(veer_xdp__load(single), 0);
	veer_xdp__destroy(single);
}

int add_lb_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "IPv4 connection lifecycle",
			    test_v4_lifecycle) ||
	       !CU_add_test(suite, "IPv6 connection lifecycle",
			    test_v6_lifecycle) ||
	       !CU_add_test(suite, "XDP: IPv4 connection lifecycle",
			    test_xdp_v4_lifecycle) ||
	       !CU_add_test(suite, "XDP: IPv6 connection lifecycle",
			    test_xdp_v6_lifecycle) ||
	       !CU_add_test(suite, "IPv4 pinned across weight flips",
			    test_v4_pinned) ||
	       !CU_add_test(suite, "IPv6 pinned across weight flips",
			    test_v6_pinned) ||
	       !CU_add_test(suite, "XDP: pinned across weight flips",
			    test_xdp_pinned) ||
	       !CU_add_test(suite, "IPv4 backend RST and counters",
			    test_v4_backend_reset) ||
	       !CU_add_test(suite, "non-service packets untouched",
			    test_untouched) ||
	       !CU_add_test(suite, "subset without backends",
			    test_empty_subset) ||
	       !CU_add_test(suite, "deleted service: live connections finish",
			    test_deleted_service) ||
	       !CU_add_test(suite, "IPv4 100k-flow distribution",
			    test_v4_distribution) ||
	       !CU_add_test(suite, "IPv6 100k-flow distribution",
			    test_v6_distribution) ||
	       !CU_add_test(suite, "IPv6 extension headers: whole connection",
			    test_v6_ext_lifecycle) ||
	       !CU_add_test(suite, "IPv6 extension headers: what is translated",
			    test_v6_ext_edges) ||
	       !CU_add_test(suite, "XDP jumbo frame (multi-buffer)",
			    test_xdp_jumbo_frame);
}
