// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP and ICMPv6 errors about translated connections, through the real
 * programs (bpf/lib/icmp.h). An error quotes the packet as it was where
 * the error arose: the client's segment after DNAT (client -> backend)
 * on the backend side, the backend's reply after reverse NAT (VIP ->
 * client) on the client side. Translated, each must be byte for byte the
 * error its receiver would get from a path without NAT (but for the
 * quoted TCP checksum, which is left alone on purpose), with every
 * checksum right from scratch; anything else passes byte-identical.
 */
#include <arpa/inet.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#include "test_icmp.h"

#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_PORT_UNREACH 3
#define ICMP_HOST_UNREACH 1
#define ICMP_TIME_EXCEEDED 11
#define ICMP_ECHO 8
#define ICMP_REDIRECT 5
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PORT_UNREACH 4
#define ICMP6_PKT_TOOBIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_ECHO 128
#define MTU 1280U

/* What a test sends: which program, through TC or XDP on ingress. */
enum path { EGRESS, INGRESS_TC, INGRESS_XDP };

static const char *path_name[] = {"tc egress", "tc ingress", "xdp ingress"};

/* Runs one frame; the verdict in TC terms, -1 on error. */
static int run_path(enum path p, const uint8_t *in, size_t len, uint8_t *out,
		    size_t *out_len)
{
	int verdict;

	if (p == INGRESS_XDP) {
		verdict = run(prog_xdp, in, len, out, out_len);
		return verdict == XDP_PASS_   ? TC_OK
		       : verdict == XDP_DROP_ ? TC_SHOT
					      : -1;
	}
	return run(p == EGRESS ? prog_egress : prog_ingress, in, len, out,
		   out_len);
}

/* The quoted TCP checksum: where it is in a quote (IP, no options). */
static size_t quote_tcp_csum_off(int family)
{
	return (family == AF_INET ? IPV4_HLEN : IPV6_HLEN) + 16;
}

/*
 * A TCP segment of flow f (reply: the server's direction) as an error
 * quotes it, cut to `keep` bytes (0: whole).
 */
static size_t quote_of(const struct flow *f, bool reply, uint8_t flags,
		       uint32_t seq, const char *payload, size_t keep,
		       uint8_t *out)
{
	uint8_t frame[PKT_MAX];
	size_t len = build(f, reply, flags, seq, 1, payload, frame);

	return pkt_quote(frame, len, keep, out);
}

/*
 * One error through one path: `sent` is the error as it arises (quoting
 * the translated packet), `want` the error without NAT on the path. The
 * program must pass it, changed into exactly `want`, every checksum
 * right. `want` quotes the TCP checksum of `sent`'s quote when whole.
 */
static void expect_translated(enum path p, const uint8_t *sent, size_t len,
			      const uint8_t *want, size_t want_len,
			      const char *what)
{
	uint8_t out[PKT_MAX];
	size_t out_len = 0, i;
	struct icmp_view v;
	int verdict = run_path(p, sent, len, out, &out_len);

	CU_ASSERT_EQUAL(verdict, TC_OK);
	CU_ASSERT_EQUAL(out_len, want_len);
	CU_ASSERT_EQUAL_FATAL(view_icmp(out, out_len, &v), 0);
	CU_ASSERT_TRUE(v.ip_csum_ok);
	CU_ASSERT_TRUE(v.icmp_csum_ok);
	CU_ASSERT_TRUE(v.has_inner && v.inner_ip_csum_ok);
	if (out_len == want_len && memcmp(out, want, want_len)) {
		for (i = 0; i < want_len && out[i] == want[i]; i++)
			;
		fprintf(stderr, "\n%s via %s: byte %zu is %02x, want %02x\n",
			what, path_name[p], i, out[i], want[i]);
		CU_FAIL("translated error differs from the expected one");
	}
}

/* A frame through a path comes out as it went in. */
static void expect_untouched(enum path p, const uint8_t *sent, size_t len,
			     const char *what)
{
	uint8_t out[PKT_MAX];
	size_t out_len = 0;
	int verdict = run_path(p, sent, len, out, &out_len);

	CU_ASSERT_EQUAL(verdict, TC_OK);
	if (out_len != len || memcmp(out, sent, len)) {
		fprintf(stderr, "\n%s via %s: changed\n", what, path_name[p]);
		CU_FAIL("an error veer must not translate was changed");
	}
}

static uint64_t icmp_count(const char *svc)
{
	return service_stats(svc, 0).icmp_errors;
}

/*
 * The addresses of one family's connection: the client, its VIP and the
 * backend (v1, at weights 100/0), and a router on either side.
 */
struct sides {
	int family;
	const char *svc, *client, *vip, *backend, *node, *router_backend,
		*router_client, *elsewhere;
	uint8_t unreach, frag_code, toobig, exceeded, port_unreach, echo;
};

static const struct sides v4 = {
	AF_INET,
	"web",
	"10.10.1.60",
	"10.96.0.10",
	"10.10.2.2",
	"10.10.1.1",
	"10.10.2.254",
	"10.10.1.254",
	"10.10.1.99",
	ICMP_DEST_UNREACH,
	ICMP_FRAG_NEEDED,
	ICMP_DEST_UNREACH,
	ICMP_TIME_EXCEEDED,
	ICMP_PORT_UNREACH,
	ICMP_ECHO,
};

static const struct sides v6 = {
	AF_INET6,
	"web6",
	"fd10:1::60",
	"fd00:96::10",
	"fd10:2::2",
	"fd10:1::1",
	"fd10:2::fe",
	"fd10:1::fe",
	"fd10:1::99",
	ICMP6_DEST_UNREACH,
	0,
	ICMP6_PKT_TOOBIG,
	ICMP6_TIME_EXCEEDED,
	ICMP6_PORT_UNREACH,
	ICMP6_ECHO,
};

/* "Fragmentation needed" carries the MTU in its low 16 bits. */
static uint8_t toobig_code(const struct sides *s)
{
	return s->family == AF_INET ? s->frag_code : 0;
}

/*
 * Egress, toward the client: errors about the client's segments, quoted
 * after DNAT (client -> backend:8080), from the node (too big for the
 * next hop), a router behind it (time exceeded) and the backend itself
 * (port unreachable: the outer source is the backend's address, which
 * becomes the VIP too). Whole quotes and the RFC 792 minimum.
 */
static void errors_to_client(const struct sides *s, uint16_t port)
{
	struct flow fwd = {s->family, s->client, s->vip, port, 80};
	struct flow nat = {s->family, s->client, s->backend, port, 8080};
	static const char data[] = "a segment that does not fit";
	uint8_t q[PKT_MAX], qwant[PKT_MAX], in[PKT_MAX], want[PKT_MAX];
	size_t qlen, len, want_len, keep, csum_off;
	struct pkt_view syn;
	uint64_t before;
	int k;

	CU_ASSERT_EQUAL_FATAL(handshake(&fwd, 7000, 9000, &syn), 0);
	CU_ASSERT_TRUE_FATAL(addr_is(&syn.daddr, s->family, s->backend));
	before = icmp_count(s->svc);
	csum_off = quote_tcp_csum_off(s->family);

	for (k = 0; k < 2; k++) {
		keep = k ? csum_off - 8 : 0; /* IP header + 8 bytes */
		qlen = quote_of(&nat, false, F_ACK | F_PSH, 7001, data, keep,
				q);
		quote_of(&fwd, false, F_ACK | F_PSH, 7001, data, keep, qwant);
		if (!keep)
			memcpy(qwant + csum_off, q + csum_off, 2);

		len = build_icmp(s->family, s->node, s->client, s->toobig,
				 toobig_code(s), MTU, q, qlen, in);
		want_len = build_icmp(s->family, s->node, s->client, s->toobig,
				      toobig_code(s), MTU, qwant, qlen, want);
		expect_translated(EGRESS, in, len, want, want_len,
				  "too big, from the node");

		len = build_icmp(s->family, s->router_backend, s->client,
				 s->exceeded, 0, 0, q, qlen, in);
		want_len = build_icmp(s->family, s->router_backend, s->client,
				      s->exceeded, 0, 0, qwant, qlen, want);
		expect_translated(EGRESS, in, len, want, want_len,
				  "time exceeded, from a router");

		len = build_icmp(s->family, s->backend, s->client, s->unreach,
				 s->port_unreach, 0, q, qlen, in);
		want_len = build_icmp(s->family, s->vip, s->client, s->unreach,
				      s->port_unreach, 0, qwant, qlen, want);
		expect_translated(EGRESS, in, len, want, want_len,
				  "unreachable, from the backend");
	}
	CU_ASSERT_EQUAL(icmp_count(s->svc) - before, 6);
}

/*
 * Ingress, from the client side: errors about the backend's segments,
 * quoted after reverse NAT (VIP:80 -> client), sent to the VIP by a
 * router in front of the client. They go on to the backend: outer
 * destination and quoted source become the backend's.
 */
static void errors_to_backend(const struct sides *s, uint16_t port, enum path p)
{
	struct flow fwd = {s->family, s->client, s->vip, port, 80};
	struct flow nat = {s->family, s->client, s->backend, port, 8080};
	static const char data[] = "a reply that does not fit";
	uint8_t q[PKT_MAX], qwant[PKT_MAX], in[PKT_MAX], want[PKT_MAX];
	size_t qlen, len, want_len, keep, csum_off;
	struct pkt_view syn;
	uint64_t before;
	int k;

	CU_ASSERT_EQUAL_FATAL(handshake(&fwd, 3000, 5000, &syn), 0);
	before = icmp_count(s->svc);
	csum_off = quote_tcp_csum_off(s->family);

	for (k = 0; k < 2; k++) {
		keep = k ? csum_off - 8 : 0;
		qlen = quote_of(&fwd, true, F_ACK | F_PSH, 5001, data, keep, q);
		quote_of(&nat, true, F_ACK | F_PSH, 5001, data, keep, qwant);
		if (!keep)
			memcpy(qwant + csum_off, q + csum_off, 2);

		len = build_icmp(s->family, s->router_client, s->vip, s->toobig,
				 toobig_code(s), MTU, q, qlen, in);
		want_len = build_icmp(s->family, s->router_client, s->backend,
				      s->toobig, toobig_code(s), MTU, qwant,
				      qlen, want);
		expect_translated(p, in, len, want, want_len,
				  "too big, from the client side");

		len = build_icmp(s->family, s->router_client, s->vip,
				 s->exceeded, 0, 0, q, qlen, in);
		want_len = build_icmp(s->family, s->router_client, s->backend,
				      s->exceeded, 0, 0, qwant, qlen, want);
		expect_translated(p, in, len, want, want_len,
				  "time exceeded, from the client side");
	}
	CU_ASSERT_EQUAL(icmp_count(s->svc) - before, 4);
}

static void test_v4_errors_to_client(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	errors_to_client(&v4, 47600);
}

static void test_v6_errors_to_client(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	errors_to_client(&v6, 47600);
}

static void test_v4_errors_to_backend(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	errors_to_backend(&v4, 47610, INGRESS_TC);
	forward_via_xdp = true;
	errors_to_backend(&v4, 47611, INGRESS_XDP);
	forward_via_xdp = false;
}

static void test_v6_errors_to_backend(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	errors_to_backend(&v6, 47610, INGRESS_TC);
	forward_via_xdp = true;
	errors_to_backend(&v6, 47611, INGRESS_XDP);
	forward_via_xdp = false;
}

/*
 * Errors about pairs that are not established: a half-open one (the
 * SYN to an unreachable backend) and a closed one in its grace period;
 * and a quote behind an IPv6 hop-by-hop options header.
 */
static void test_errors_other_states(void)
{
	struct flow fwd = {AF_INET, "10.10.1.61", "10.96.0.10", 47620, 80};
	struct flow nat = {AF_INET, "10.10.1.61", "10.10.2.2", 47620, 8080};
	struct flow fwd6 = {AF_INET6, "fd10:1::61", "fd00:96::10", 47621, 80};
	struct flow nat6 = {AF_INET6, "fd10:1::61", "fd10:2::2", 47621, 8080};
	uint8_t q[PKT_MAX], qwant[PKT_MAX], in[PKT_MAX], want[PKT_MAX];
	size_t qlen, len, want_len;
	struct pkt_view syn, out;

	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);

	/* Half-open: host unreachable about the SYN, from a router. */
	CU_ASSERT_EQUAL_FATAL(send_pkt(&fwd, false, F_SYN, 100, 0, NULL, &syn),
			      TC_OK);
	qlen = quote_of(&nat, false, F_SYN, 100, NULL, 28, q);
	quote_of(&fwd, false, F_SYN, 100, NULL, 28, qwant);
	len = build_icmp(AF_INET, "10.10.2.254", "10.10.1.61",
			 ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, q, qlen, in);
	want_len = build_icmp(AF_INET, "10.10.2.254", "10.10.1.61",
			      ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, qwant,
			      qlen, want);
	expect_translated(EGRESS, in, len, want, want_len, "half-open");

	/* Closed by the client's RST: still translated during the grace. */
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_RST, 101, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_EQUAL(ct_entries_of(&fwd, &syn), 0);
	CU_ASSERT_EQUAL_FATAL(handshake(&fwd, 200, 300, &syn), 0);
	CU_ASSERT_EQUAL(send_pkt(&fwd, false, F_RST, 201, 0, NULL, &out),
			TC_OK);
	CU_ASSERT_TRUE(ct_pair_in(CT_CLOSING, &fwd, &syn,
				  &(struct veer_ct_entry){0},
				  &(struct veer_ct_entry){0}));
	qlen = quote_of(&nat, false, F_ACK, 201, NULL, 28, q);
	quote_of(&fwd, false, F_ACK, 201, NULL, 28, qwant);
	len = build_icmp(AF_INET, "10.10.1.1", "10.10.1.61", ICMP_DEST_UNREACH,
			 ICMP_FRAG_NEEDED, MTU, q, qlen, in);
	want_len = build_icmp(AF_INET, "10.10.1.1", "10.10.1.61",
			      ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, MTU, qwant,
			      qlen, want);
	expect_translated(EGRESS, in, len, want, want_len, "closing");

	/* A quote with a hop-by-hop options header before TCP. */
	pkt_ipv6_ext[0] = (struct ipv6_ext){0, 8, 0};
	pkt_ipv6_ext_count = 1;
	CU_ASSERT_EQUAL(handshake(&fwd6, 400, 500, &syn), 0);
	qlen = quote_of(&nat6, false, F_ACK | F_PSH, 401, "data", 0, q);
	quote_of(&fwd6, false, F_ACK | F_PSH, 401, "data", 0, qwant);
	pkt_ipv6_ext_count = 0;
	memcpy(qwant + IPV6_HLEN + 8 + 16, q + IPV6_HLEN + 8 + 16, 2);
	len = build_icmp(AF_INET6, "fd10:1::1", "fd10:1::61", ICMP6_PKT_TOOBIG,
			 0, MTU, q, qlen, in);
	want_len = build_icmp(AF_INET6, "fd10:1::1", "fd10:1::61",
			      ICMP6_PKT_TOOBIG, 0, MTU, qwant, qlen, want);
	expect_translated(EGRESS, in, len, want, want_len,
			  "quote with extension header");
}

/*
 * What must pass byte-identical through every path: echo requests and
 * replies (even carrying a tracked segment), errors quoting an untracked
 * tuple, UDP, a non-first fragment or fewer than 8 bytes of TCP, errors
 * sent elsewhere than the quoted packet's source, ICMP types veer does
 * not translate, and an outer fragment.
 */
static void untouched_family(const struct sides *s)
{
	struct flow fwd = {s->family, s->client, s->vip, 47630, 80};
	struct flow nat = {s->family, s->client, s->backend, 47630, 8080};
	struct flow other = {s->family, s->client, s->backend, 47631, 8080};
	struct flow other_vip = {s->family, s->client, s->vip, 47631, 80};
	uint8_t q[PKT_MAX], qr[PKT_MAX], in[PKT_MAX];
	size_t qlen, qrlen, len, ip_hlen = s->family == AF_INET ? 20 : 40;
	struct pkt_view syn;
	uint64_t before;
	enum path p;

	CU_ASSERT_EQUAL_FATAL(handshake(&fwd, 600, 700, &syn), 0);
	before = icmp_count(s->svc);
	/* What each direction would translate: */
	qlen = quote_of(&nat, false, F_ACK, 601, "x", 0, q);
	qrlen = quote_of(&fwd, true, F_ACK, 701, "y", 0, qr);

	for (p = EGRESS; p <= INGRESS_XDP; p++) {
		const uint8_t *quote = p == EGRESS ? q : qr;
		size_t quote_len = p == EGRESS ? qlen : qrlen;
		const char *to = p == EGRESS ? s->client : s->vip;
		const char *from =
			p == EGRESS ? s->router_backend : s->router_client;
		uint8_t copy[PKT_MAX];

		len = build_icmp(s->family, from, to, s->echo, 0, 0x12340001,
				 quote, quote_len, in);
		expect_untouched(p, in, len, "echo request");
		len = build_icmp(s->family, from, to, s->echo + 1, 0,
				 0x12340001, quote, quote_len, in);
		expect_untouched(p, in, len, "echo reply");

		/* Sent to someone else than the quoted packet's source. */
		len = build_icmp(s->family, from, s->elsewhere, s->toobig,
				 toobig_code(s), MTU, quote, quote_len, in);
		expect_untouched(p, in, len, "error to another host");

		/* Fewer than the 8 bytes of TCP RFC 792 promises. */
		len = build_icmp(s->family, from, to, s->toobig, toobig_code(s),
				 MTU, quote, ip_hlen + 4, in);
		expect_untouched(p, in, len, "4 bytes of TCP quoted");

		/* UDP with the same addresses and ports. */
		memcpy(copy, quote, quote_len);
		if (s->family == AF_INET) {
			copy[9] = 17;
			copy[10] = copy[11] = 0; /* checksum: any, unchecked */
		} else {
			copy[6] = 17;
		}
		len = build_icmp(s->family, from, to, s->toobig, toobig_code(s),
				 MTU, copy, quote_len, in);
		expect_untouched(p, in, len, "UDP quoted");

		if (s->family == AF_INET) {
			/* A non-first fragment: no TCP header in it. */
			memcpy(copy, quote, quote_len);
			copy[7] = 0x10;
			len = build_icmp(s->family, from, to, s->toobig,
					 toobig_code(s), MTU, copy, quote_len,
					 in);
			expect_untouched(p, in, len, "fragment quoted");
			/* A redirect is no error veer translates. */
			len = build_icmp(s->family, from, to, ICMP_REDIRECT, 1,
					 0x0a0a0201, quote, quote_len, in);
			expect_untouched(p, in, len, "redirect");
			/* The error itself a fragment. */
			len = build_icmp(s->family, from, to, s->toobig,
					 toobig_code(s), MTU, quote, quote_len,
					 in);
			in[ETH_HLEN_ + 6] |= 0x20;
			expect_untouched(p, in, len, "outer fragment");
		}
	}

	/* An untracked tuple: the same hosts, a port never connected. */
	qlen = quote_of(&other, false, F_ACK, 1, "x", 0, q);
	len = build_icmp(s->family, s->node, s->client, s->toobig,
			 toobig_code(s), MTU, q, qlen, in);
	expect_untouched(EGRESS, in, len, "untracked tuple");
	qrlen = quote_of(&other_vip, true, F_ACK, 1, "y", 0, qr);
	len = build_icmp(s->family, s->router_client, s->vip, s->toobig,
			 toobig_code(s), MTU, qr, qrlen, in);
	expect_untouched(INGRESS_TC, in, len, "untracked tuple");
	expect_untouched(INGRESS_XDP, in, len, "untracked tuple");
	/* The right tuple the wrong way round: a reply quoted on egress. */
	len = build_icmp(s->family, s->node, s->client, s->toobig,
			 toobig_code(s), MTU, qr, qrlen, in);
	expect_untouched(EGRESS, in, len, "reply quoted on egress");

	CU_ASSERT_EQUAL(icmp_count(s->svc), before);
}

static void test_untouched(void)
{
	CU_ASSERT_EQUAL_FATAL(set_web(100, 0), 0);
	CU_ASSERT_EQUAL_FATAL(set_web6(100, 0), 0);
	untouched_family(&v4);
	untouched_family(&v6);
}

int add_icmp_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "icmp: IPv4 errors to the client (egress)",
			    test_v4_errors_to_client) ||
	       !CU_add_test(suite, "icmp: IPv6 errors to the client (egress)",
			    test_v6_errors_to_client) ||
	       !CU_add_test(suite, "icmp: IPv4 errors to the backend (tc, xdp)",
			    test_v4_errors_to_backend) ||
	       !CU_add_test(suite, "icmp: IPv6 errors to the backend (tc, xdp)",
			    test_v6_errors_to_backend) ||
	       !CU_add_test(suite, "icmp: half-open, closing, IPv6 options",
			    test_errors_other_states) ||
	       !CU_add_test(suite, "icmp: everything else untouched",
			    test_untouched);
}
