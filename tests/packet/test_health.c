// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Health signals (struct veer_health, and the opened/closed balance of
 * struct veer_stats) on crafted packets, through TC ingress and XDP, IPv4
 * and IPv6: each case checks that exactly the counters it should moved.
 * Time is controlled by moving an entry's timestamp back in the map.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "fixture.h"
#include "health.h"

#include "test_health.h"

#define HTTP_SVC "hweb"
#define HTTP_SVC6 "hweb6"
#define PLAIN_SVC "pweb"
#define PLAIN_SVC6 "pweb6"
#define MS 1000000ULL

struct variant {
	bool xdp;
	int family;
	const char *http, *plain; /* service names */
	const char *http_vip, *plain_vip;
	const char *client;
};

static const struct variant variants[] = {
	{false, AF_INET, HTTP_SVC, PLAIN_SVC, "10.96.0.30", "10.96.0.31",
	 "10.10.9.1"},
	{true, AF_INET, HTTP_SVC, PLAIN_SVC, "10.96.0.30", "10.96.0.31",
	 "10.10.9.2"},
	{false, AF_INET6, HTTP_SVC6, PLAIN_SVC6, "fd00:96::30", "fd00:96::31",
	 "fd10:9::1"},
	{true, AF_INET6, HTTP_SVC6, PLAIN_SVC6, "fd00:96::30", "fd00:96::31",
	 "fd10:9::2"},
};
#define VARIANTS (sizeof(variants) / sizeof(variants[0]))

/* A client port per connection, never reused within a run. */
static uint16_t next_port = 30000;

static int setup_services(void)
{
	struct subset_spec h4[] = {{"v1", 100, {"10.10.6.2:8080"}}};
	struct subset_spec p4[] = {{"v1", 100, {"10.10.6.3:8080"}}};
	struct subset_spec h6[] = {{"v1", 100, {"[fd10:6::2]:8080"}}};
	struct subset_spec p6[] = {{"v1", 100, {"[fd10:6::3]:8080"}}};

	if (configure_flags(HTTP_SVC, "10.96.0.30", 80, VEER_SVC_F_HTTP, h4, 1,
			    NULL, 0) ||
	    configure_flags(PLAIN_SVC, "10.96.0.31", 80, 0, p4, 1, NULL, 0) ||
	    configure_flags(HTTP_SVC6, "fd00:96::30", 80, VEER_SVC_F_HTTP, h6,
			    1, NULL, 0) ||
	    configure_flags(PLAIN_SVC6, "fd00:96::31", 80, 0, p6, 1, NULL, 0))
		return -1;
	return 0;
}

/* after - before, field by field. */
static struct veer_health health_delta(const struct veer_health *before,
				       const struct veer_health *after)
{
	struct veer_health d;
	size_t f;

	for (f = 0; f < VEER_HEALTH_WORDS; f++)
		((__u64 *)&d)[f] =
			((const __u64 *)after)[f] - ((const __u64 *)before)[f];
	return d;
}

static __u64 hist_count(const __u64 *h)
{
	__u64 n = 0;
	unsigned int b;

	for (b = 0; b < VEER_HIST_BUCKETS; b++)
		n += h[b];
	return n;
}

/* The counters (not the histograms) that moved, in all. */
static __u64 counters_moved(const struct veer_health *d)
{
	return d->refused + d->reset_before_data + d->syn_unanswered +
	       d->responses_1xx + d->responses_2xx + d->responses_3xx +
	       d->responses_4xx + d->responses_5xx + d->responses_not_http +
	       d->responses_unparsed;
}

/* Moves an entry's created_ns (or closed_ns) back by `ns`. */
static bool age_entry(enum ct_table table, const struct flow *f,
		      const struct pkt_view *syn, bool reverse, bool closed,
		      __u64 ns)
{
	struct veer_ct_entry fe, re, *e = reverse ? &re : &fe;
	struct veer_ct_key key = {};
	uint8_t family;

	if (!ct_pair_in(table, f, syn, &fe, &re))
		return false;
	if (reverse) {
		key.saddr = syn->daddr;
		veer_addr_parse(f->client, &key.daddr, &family);
		key.sport = htons(syn->dport);
		key.dport = htons(f->client_port);
		key.dir = VEER_CT_DIR_REVERSE;
	} else {
		veer_addr_parse(f->client, &key.saddr, &family);
		veer_addr_parse(f->server, &key.daddr, &family);
		key.sport = htons(f->client_port);
		key.dport = htons(f->server_port);
		key.dir = VEER_CT_DIR_FORWARD;
	}
	key.proto = 6;
	key.family = family;
	if (closed)
		e->closed_ns -= ns;
	else
		e->created_ns -= ns;
	return bpf_map_update_elem(ct_table_fd(table), &key, e, BPF_EXIST) == 0;
}

static struct flow flow_of(const struct variant *v, bool http)
{
	struct flow f = {v->family, v->client,
			 http ? v->http_vip : v->plain_vip, next_port++, 80};

	return f;
}

/* A connection with one request; the backend's first segment `first`. */
static void request_response(const struct variant *v, bool http,
			     const char *first, const char *second,
			     __u64 ttfb_back_ns)
{
	struct flow f = flow_of(v, http), back;
	struct pkt_view syn, out;
	char backend[INET6_ADDRSTRLEN];
	const char *req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	uint32_t rlen = (uint32_t)strlen(req), flen = (uint32_t)strlen(first);

	CU_ASSERT_EQUAL_FATAL(handshake(&f, 100, 9000, &syn), 0);
	back = reply_flow(&f, &syn, backend, sizeof(backend));
	CU_ASSERT_EQUAL(
		send_pkt(&f, false, F_ACK | F_PSH, 101, 9001, req, &out),
		TC_OK);
	if (ttfb_back_ns)
		CU_ASSERT_TRUE(age_entry(CT_ESTABLISHED, &f, &syn, false, true,
					 ttfb_back_ns));
	CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK | F_PSH, 9001, 101 + rlen,
				 first, &out),
			TC_OK);
	if (second)
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_ACK | F_PSH,
					 9001 + flen, 101 + rlen, second, &out),
				TC_OK);
}

/* One response case on every variant: what moved, and the TTFB count. */
static void response_case(bool http, const char *first, const char *second,
			  size_t field, __u64 ttfb_want)
{
	struct veer_health before, after, d;
	unsigned int i;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];
		const char *name = http ? v->http : v->plain;

		forward_via_xdp = v->xdp;
		before = service_health(name);
		request_response(v, http, first, second, 0);
		after = service_health(name);
		d = health_delta(&before, &after);
		if (field == (size_t)-1) {
			CU_ASSERT_EQUAL(counters_moved(&d), 0);
		} else {
			CU_ASSERT_EQUAL(counters_moved(&d), 1);
			CU_ASSERT_EQUAL(*(__u64 *)((char *)&d + field), 1);
		}
		CU_ASSERT_EQUAL(hist_count(d.ttfb), ttfb_want);
		/* Every connection timed its handshake once. */
		CU_ASSERT_EQUAL(hist_count(d.handshake), 1);
	}
	forward_via_xdp = false;
}

#define FIELD(f) offsetof(struct veer_health, f)

static void test_status_503(void)
{
	response_case(true,
		      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
		      "0\r\n\r\n",
		      /* Later segments are not read: no second count. */
		      "HTTP/1.1 200 OK\r\n\r\n", FIELD(responses_5xx), 1);
}

static void test_status_200(void)
{
	response_case(true, "HTTP/1.0 200 OK\r\n\r\n", NULL,
		      FIELD(responses_2xx), 1);
	response_case(true, "HTTP/1.1 404 Not Found\r\n\r\n", NULL,
		      FIELD(responses_4xx), 1);
}

/* A status line cut before its code: unparsed, and the rest not read. */
static void test_status_split(void)
{
	response_case(true, "HTTP/1.", "1 200 OK\r\n\r\n",
		      FIELD(responses_unparsed), 1);
	response_case(true, "HTTP/1.1 5", "03 Busy\r\n\r\n",
		      FIELD(responses_unparsed), 1);
}

static void test_not_http(void)
{
	response_case(true, "SSH-2.0-OpenSSH_9.6\r\n", NULL,
		      FIELD(responses_not_http), 1);
	/* Short and wrong from the first byte: not a cut status line. */
	response_case(true, "X", "HTTP/1.1 200 OK\r\n\r\n",
		      FIELD(responses_not_http), 1);
	/* HTTP/2 framing on an HTTP port. */
	response_case(true, "HTTP/2 200\r\n\r\n", NULL,
		      FIELD(responses_not_http), 1);
}

/* A port that is not HTTP: responses are not read, nothing timed. */
static void test_plain_port(void)
{
	response_case(false, "HTTP/1.1 500 Oops\r\n\r\n", NULL, (size_t)-1, 0);
}

/* The time to first byte lands in the bucket of a known delay. */
static void test_ttfb_bucket(void)
{
	struct veer_health before, after, d;
	unsigned int i;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		before = service_health(v->http);
		/* 20 ms (+ the test's own time, under 12 ms even on a
		 * loaded machine): [16384, 32768) us, bucket 15. */
		request_response(v, true, "HTTP/1.1 204 No Content\r\n\r\n",
				 NULL, 20 * MS);
		after = service_health(v->http);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.responses_2xx, 1);
		CU_ASSERT_EQUAL(d.ttfb[15], 1);
		CU_ASSERT_EQUAL(hist_count(d.ttfb), 1);
		CU_ASSERT_TRUE(d.ttfb_sum_ns >= 20 * MS &&
			       d.ttfb_sum_ns < 32 * MS);
	}
	forward_via_xdp = false;
}

/* Backend handshake time: a known delay, then an unaged one. */
static void test_handshake_bucket(void)
{
	struct veer_health before, after, d;
	struct pkt_view syn, out;
	struct flow f, back;
	char backend[INET6_ADDRSTRLEN];
	unsigned int i, b;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		f = flow_of(v, false);
		before = service_health(v->plain);
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&f, false, F_SYN, 500, 0, NULL, &syn), TC_OK);
		/* The SYN-ACK is judged on the reverse entry: 20 ms back,
		 * [16384, 32768) us, bucket 15. */
		CU_ASSERT_TRUE(age_entry(CT_HALF_OPEN, &f, &syn, true, false,
					 20 * MS));
		back = reply_flow(&f, &syn, backend, sizeof(backend));
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_SYN | F_ACK, 7000, 501,
					 NULL, &out),
				TC_OK);
		/* A repeated SYN-ACK is not timed again. */
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_SYN | F_ACK, 7000, 501,
					 NULL, &out),
				TC_OK);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.handshake[15], 1);
		CU_ASSERT_EQUAL(hist_count(d.handshake), 1);
		CU_ASSERT_TRUE(d.handshake_sum_ns >= 20 * MS &&
			       d.handshake_sum_ns < 32 * MS);
		CU_ASSERT_EQUAL(counters_moved(&d), 0);

		/* Unaged: some bucket under 16 ms (the test's own time). */
		f = flow_of(v, false);
		before = service_health(v->plain);
		CU_ASSERT_EQUAL(handshake(&f, 600, 8000, &syn), 0);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(hist_count(d.handshake), 1);
		for (b = 15; b < VEER_HIST_BUCKETS; b++)
			CU_ASSERT_EQUAL(d.handshake[b], 0);
	}
	forward_via_xdp = false;
}

/* The backend answers the forwarded SYN with an RST: refused, once. */
static void test_refused(void)
{
	struct veer_health before, after, d;
	struct veer_stats sb, sa;
	struct pkt_view syn, out;
	struct flow f, back;
	char backend[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		f = flow_of(v, false);
		before = service_health(v->plain);
		sb = service_stats(v->plain, 0);
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&f, false, F_SYN, 700, 0, NULL, &syn), TC_OK);
		back = reply_flow(&f, &syn, backend, sizeof(backend));
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST | F_ACK, 0, 701,
					 NULL, &out),
				TC_OK);
		after = service_health(v->plain);
		sa = service_stats(v->plain, 0);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.refused, 1);
		CU_ASSERT_EQUAL(counters_moved(&d), 1);
		CU_ASSERT_EQUAL(hist_count(d.handshake), 0);
		CU_ASSERT_EQUAL(ct_entries_of(&f, &syn), 0);
		/* Never opened, so nothing to close. */
		CU_ASSERT_EQUAL(sa.ct_established - sb.ct_established, 0);
		CU_ASSERT_EQUAL(sa.ct_closed - sb.ct_closed, 0);
	}
	forward_via_xdp = false;
}

/*
 * A SYN never answered: a retransmission right away is not (a duplicate);
 * one past the bound is, once; the client's new ISN then counts nothing
 * more. A second pair left unanswered past the bound and then abandoned
 * for a new ISN counts at that SYN; a third found expired, at the packet
 * that finds it.
 */
static void test_syn_unanswered(void)
{
	struct veer_health before, after, d;
	struct pkt_view syn, out;
	struct flow f;
	unsigned int i;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		f = flow_of(v, false);
		before = service_health(v->plain);
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&f, false, F_SYN, 800, 0, NULL, &syn), TC_OK);
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 800, 0, NULL, &out),
				TC_OK);
		d = service_health(v->plain);
		d = health_delta(&before, &d);
		CU_ASSERT_EQUAL(d.syn_unanswered, 0);
		CU_ASSERT_TRUE(age_entry(CT_HALF_OPEN, &f, &syn, false, false,
					 1000 * MS));
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 800, 0, NULL, &out),
				TC_OK);
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 800, 0, NULL, &out),
				TC_OK);
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 900, 0, NULL, &out),
				TC_OK);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.syn_unanswered, 1);
		CU_ASSERT_EQUAL(counters_moved(&d), 1);

		/* The new ISN's pair, aged, then given up for another. */
		CU_ASSERT_TRUE(age_entry(CT_HALF_OPEN, &f, &out, false, false,
					 2000 * MS));
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 1000, 0, NULL, &out),
				TC_OK);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.syn_unanswered, 2);
		CU_ASSERT_EQUAL(counters_moved(&d), 2);

		/* A half-open pair found expired by the client's next SYN
		 * (same ISN): unanswered, and the SYN placed afresh. */
		f = flow_of(v, false);
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&f, false, F_SYN, 1100, 0, NULL, &syn), TC_OK);
		CU_ASSERT_TRUE(age_entry(CT_HALF_OPEN, &f, &syn, false, false,
					 VEER_CT_SYN_TIMEOUT_NS + 1000 * MS));
		CU_ASSERT_EQUAL(send_pkt(&f, false, F_SYN, 1100, 0, NULL, &out),
				TC_OK);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.syn_unanswered, 3);
		CU_ASSERT_EQUAL(counters_moved(&d), 3);
		CU_ASSERT_EQUAL(ct_entries_of(&f, &syn), 2);
	}
	forward_via_xdp = false;
}

/*
 * Opened and closed balance: after a FIN close, after a backend RST past
 * the first data (not a failure), and after a backend RST before any
 * data (a failure).
 */
static void test_open_close_balance(void)
{
	struct veer_health before, after, d;
	struct veer_stats sb, sa;
	struct pkt_view syn, out;
	struct flow f, back;
	char backend[INET6_ADDRSTRLEN];
	unsigned int i, c;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		for (c = 0; c < 3; c++) {
			f = flow_of(v, true);
			before = service_health(v->http);
			sb = service_stats(v->http, 0);
			CU_ASSERT_EQUAL_FATAL(handshake(&f, 100, 9000, &syn),
					      0);
			back = reply_flow(&f, &syn, backend, sizeof(backend));
			sa = service_stats(v->http, 0);
			CU_ASSERT_EQUAL(sa.ct_established - sb.ct_established,
					1);
			CU_ASSERT_EQUAL(sa.ct_closed - sb.ct_closed, 0);
			if (c == 0) {
				/* Client FIN, backend FIN, last ACK. */
				CU_ASSERT_EQUAL(send_pkt(&f, false,
							 F_FIN | F_ACK, 101,
							 9001, NULL, &out),
						TC_OK);
				CU_ASSERT_EQUAL(send_pkt(&back, true,
							 F_FIN | F_ACK, 9001,
							 102, NULL, &out),
						TC_OK);
				CU_ASSERT_EQUAL(send_pkt(&f, false, F_ACK, 102,
							 9002, NULL, &out),
						TC_OK);
			} else if (c == 1) {
				/* Data back, then the backend's RST. */
				CU_ASSERT_EQUAL(send_pkt(&back, true,
							 F_ACK | F_PSH, 9001,
							 101,
							 "HTTP/1.1 200 OK\r\n"
							 "\r\n",
							 &out),
						TC_OK);
				CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST,
							 9020, 0, NULL, &out),
						TC_OK);
			} else {
				/* The backend's RST before any data. */
				CU_ASSERT_EQUAL(send_pkt(&back, true, F_RST,
							 9001, 0, NULL, &out),
						TC_OK);
			}
			sa = service_stats(v->http, 0);
			after = service_health(v->http);
			d = health_delta(&before, &after);
			CU_ASSERT_EQUAL(sa.ct_established - sb.ct_established,
					1);
			CU_ASSERT_EQUAL(sa.ct_closed - sb.ct_closed, 1);
			CU_ASSERT_EQUAL(d.reset_before_data, c == 2);
			CU_ASSERT_EQUAL(d.responses_2xx, c == 1);
			CU_ASSERT_EQUAL(counters_moved(&d), c > 0);
		}
	}
	forward_via_xdp = false;
}

/* A backend RST after its SYN-ACK, before the client's ACK. */
static void test_reset_after_synack(void)
{
	struct veer_health before, after, d;
	struct pkt_view syn, out;
	struct flow f, back;
	char backend[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < VARIANTS; i++) {
		const struct variant *v = &variants[i];

		forward_via_xdp = v->xdp;
		f = flow_of(v, false);
		before = service_health(v->plain);
		CU_ASSERT_EQUAL_FATAL(
			send_pkt(&f, false, F_SYN, 40, 0, NULL, &syn), TC_OK);
		back = reply_flow(&f, &syn, backend, sizeof(backend));
		CU_ASSERT_EQUAL(send_pkt(&back, true, F_SYN | F_ACK, 4000, 41,
					 NULL, &out),
				TC_OK);
		CU_ASSERT_EQUAL(
			send_pkt(&back, true, F_RST, 4001, 0, NULL, &out),
			TC_OK);
		after = service_health(v->plain);
		d = health_delta(&before, &after);
		CU_ASSERT_EQUAL(d.reset_before_data, 1);
		CU_ASSERT_EQUAL(counters_moved(&d), 1);
		CU_ASSERT_EQUAL(ct_entries_of(&f, &syn), 0);
	}
	forward_via_xdp = false;
}

static void test_health_setup(void)
{
	CU_ASSERT_EQUAL_FATAL(setup_services(), 0);
}

int add_health_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "health: services", test_health_setup) ||
	       !CU_add_test(suite, "health: 503 status line",
			    test_status_503) ||
	       !CU_add_test(suite, "health: 200 and 404", test_status_200) ||
	       !CU_add_test(suite, "health: status line cut across segments",
			    test_status_split) ||
	       !CU_add_test(suite, "health: not HTTP on an HTTP port",
			    test_not_http) ||
	       !CU_add_test(suite, "health: a port that is not HTTP",
			    test_plain_port) ||
	       !CU_add_test(suite, "health: time to first byte bucket",
			    test_ttfb_bucket) ||
	       !CU_add_test(suite, "health: handshake bucket",
			    test_handshake_bucket) ||
	       !CU_add_test(suite, "health: refused SYN", test_refused) ||
	       !CU_add_test(suite, "health: SYN never answered",
			    test_syn_unanswered) ||
	       !CU_add_test(suite, "health: opened/closed after FIN and RST",
			    test_open_close_balance) ||
	       !CU_add_test(suite, "health: RST after SYN-ACK",
			    test_reset_after_synack);
}
