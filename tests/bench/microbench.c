// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of each data-plane program, from BPF_PROG_TEST_RUN: the
 * kernel times the program itself (no syscall in the figure). Cases: a new
 * flow (a SYN that is placed and creates conntrack), an established flow
 * (a data segment that follows its conntrack entry), a reply (reverse NAT)
 * and a packet for no service (what every other packet on the interface
 * pays). Each figure is the median of ROUNDS measurements.
 *
 * The HTTP path (delayed binding, a service with header rules; TC only):
 * each of its handshake transitions changes the pair's state, so like the
 * new-flow row each is timed once per distinct connection (HTTP_FLOWS per
 * round), the steps before it run untimed on that same connection:
 *   SYN answered          a client SYN with Linux's options (MSS, SACK-OK,
 *                         timestamps, window scale) on a new tuple, turned
 *                         into veer's SYN-ACK (ANSWERED)
 *   request -> backend SYN the client's first segment (a 60-byte request
 *                         whose X-group header matches the second of two
 *                         header rules) on an ANSWERED pair: held, parsed,
 *                         matched, turned into the backend SYN (CONNECTING)
 *   backend SYN-ACK -> replay  at egress, on a CONNECTING pair: turned into
 *                         the ACK carrying the held request (BOUND)
 * then the backend's ACK of the request (untimed) frees the copy (ACKED),
 * and the established rows repeat one 16-byte data segment each way on
 * that bound pair (sequence/ack and window translation plus NAT), as the
 * L4 established and reply rows do on an L4 pair.
 *
 *   build/microbench [-n RUNS] [-s CT_FLOWS]   (root; make microbench)
 *
 * -s: the conntrack tables' size in connections, as `veer attach
 * --ct-size` (default VEER_DEFAULT_CT_FLOWS): what a new flow costs
 * depends on it (its lookups miss in tables far larger than the caches).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "loader.h"
#include "maps.h"
#include "model.h"
#include "pkt.h"

#define ROUNDS 5
#define DEFAULT_RUNS 100000U
/* New flows cannot repeat one packet (the second is a retransmission). */
#define NEW_FLOWS 20000U
#define HTTP_FLOWS 10000U
#define HTTP_REQUEST                                                           \
	"GET / HTTP/1.1\r\nHost: shop\r\nAccept: */*\r\nX-group: test\r\n\r\n"
#define TC_REDIRECT 7

static struct veer_maps maps;

static int configure_web(void)
{
	static const char *const backends[2] = {"10.10.2.2:8080",
						"10.10.3.2:8080"};
	struct veer_model current, desired;
	struct veer_service_model *svc;
	struct veer_backend be;
	char err[VEER_ERR_LEN];
	bool changed;
	int s, ret = -1;

	veer_model_init(&current);
	veer_model_init(&desired);
	svc = veer_model_add_service(&desired);
	if (!svc)
		goto out;
	snprintf(svc->name, sizeof(svc->name), "web");
	veer_addr_parse("10.96.0.10", &svc->key.vip, &svc->key.family);
	svc->key.port = htons(80);
	svc->key.proto = 6;
	svc->subset_count = 2;
	for (s = 0; s < 2; s++) {
		snprintf(svc->subsets[s].name, VEER_SUBSET_NAME_MAX, "v%d",
			 s + 1);
		svc->subsets[s].weight = s ? 20 : 80;
		memset(&be, 0, sizeof(be));
		veer_endpoint_parse(backends[s], &be.addr, &be.family,
				    &be.port);
		veer_subset_add_backend(&svc->subsets[s], &be);
	}
	/* shop: two header rules before an 80/20 default (the HTTP path). */
	svc = veer_model_add_service(&desired);
	if (!svc)
		goto out;
	snprintf(svc->name, sizeof(svc->name), "shop");
	veer_addr_parse("10.96.0.60", &svc->key.vip, &svc->key.family);
	svc->key.port = htons(80);
	svc->key.proto = 6;
	svc->subset_count = 2;
	for (s = 0; s < 2; s++) {
		snprintf(svc->subsets[s].name, VEER_SUBSET_NAME_MAX, "v%d",
			 s + 1);
		svc->subsets[s].weight = s ? 20 : 80;
		memset(&be, 0, sizeof(be));
		veer_endpoint_parse(backends[s], &be.addr, &be.family,
				    &be.port);
		veer_subset_add_backend(&svc->subsets[s], &be);
	}
	for (s = 0; s < 2; s++) {
		static const char *const names[2] = {"user-agent", "x-group"};
		static const char *const values[2] = {"debug", "test"};
		struct veer_rule rule;
		struct veer_condition *c = &rule.matches[0].conditions[0];

		memset(&rule, 0, sizeof(rule));
		rule.match_count = 1;
		rule.weights[1] = 100;
		rule.matches[0].condition_count = 1;
		c->field = VEER_COND_HEADER;
		c->op = VEER_COND_EXACT;
		snprintf(c->name, sizeof(c->name), "%s", names[s]);
		snprintf(c->value, sizeof(c->value), "%s", values[s]);
		c->name_len = (__u8)strlen(c->name);
		c->value_len = (__u8)strlen(c->value);
		if (veer_service_add_rule(svc, &rule))
			goto out;
	}
	if (veer_maps_read_model(&maps, &current, err, sizeof(err)) ||
	    veer_maps_apply(&maps, &current, &desired, true, false, NULL,
			    &changed, err, sizeof(err))) {
		fprintf(stderr, "microbench: %s\n", err);
		goto out;
	}
	ret = 0;
out:
	veer_model_free(&current);
	veer_model_free(&desired);
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t median(uint32_t *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_u32);
	return v[ROUNDS / 2];
}

/*
 * Median over ROUNDS of the kernel's average time per run of one packet.
 * Every run starts from a fresh copy (repeat 1): with repeat > 1 the
 * program would run again on its own rewritten output, which is no longer
 * addressed to the VIP. The figure includes the kernel's clock reads
 * around one run (the "not a service" case shows that floor).
 */
static int time_runs(int prog, const struct flow *f, bool reply, uint8_t flags,
		     const char *payload, uint32_t runs, uint32_t *ns)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t len = build(f, reply, flags, 1000, 2000, payload, in), olen;
	uint32_t samples[ROUNDS], d, i;
	uint64_t total;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		total = 0;
		for (i = 0; i < runs; i++) {
			if (run_repeat(prog, in, len, out, &olen, 1, &d) < 0)
				return -1;
			total += d;
		}
		samples[r] = (uint32_t)(total / runs);
	}
	*ns = median(samples);
	return 0;
}

/* New flows: NEW_FLOWS distinct SYNs, one run each, averaged per round. */
static int time_new_flows(int prog, uint32_t round_base, uint32_t *ns)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t samples[ROUNDS], d, i;
	uint64_t total;
	char client[32];
	size_t len, olen;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		total = 0;
		for (i = 0; i < NEW_FLOWS; i++) {
			uint32_t n = round_base + (uint32_t)r * NEW_FLOWS + i;
			struct flow f = {AF_INET, client, "10.96.0.10",
					 (uint16_t)(1024 + n % 60000), 80};

			snprintf(client, sizeof(client), "10.%u.%u.%u",
				 100 + n / 15000000, (n / 60000) % 250,
				 1 + (n / 250) % 240);
			len = build(&f, false, F_SYN, n, 0, NULL, in);
			if (run_repeat(prog, in, len, out, &olen, 1, &d) < 0)
				return -1;
			total += d;
		}
		samples[r] = (uint32_t)(total / NEW_FLOWS);
	}
	*ns = median(samples);
	return 0;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Adds TCP options to an IPv4 packet build() made (no payload): the
 * headers' lengths and both checksums recomputed. Returns the new length.
 */
static size_t add_opts(uint8_t *buf, size_t len, const uint8_t *opts,
		       size_t olen)
{
	uint8_t *ip = buf + ETH_HLEN_, *tcp = ip + IPV4_HLEN;
	size_t tcp_len = len - ETH_HLEN_ - IPV4_HLEN + olen;
	uint32_t sum;
	uint16_t c;

	memcpy(tcp + TCP_HLEN, opts, olen);
	tcp[12] = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	ip[2] = (uint8_t)((IPV4_HLEN + tcp_len) >> 8);
	ip[3] = (uint8_t)(IPV4_HLEN + tcp_len);
	ip[10] = ip[11] = 0;
	c = csum_fold(csum_add(0, ip, IPV4_HLEN));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	tcp[16] = tcp[17] = 0;
	sum = csum_add(0, ip + 12, 8) + 6 + (uint32_t)tcp_len;
	c = csum_fold(csum_add(sum, tcp, tcp_len));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	return len + olen;
}

static uint32_t tcp_seq_of(const uint8_t *buf)
{
	const uint8_t *tcp = buf + ETH_HLEN_ + IPV4_HLEN;

	return (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
	       (uint32_t)tcp[6] << 8 | tcp[7];
}

/* Linux's SYN options; a backend's SYN-ACK's (MSS, SACK-OK, wscale). */
static const uint8_t syn_opts[20] = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0,
				     0, 1, 0, 0,   0, 0, 1, 3,	3, 7};
static const uint8_t synack_opts[12] = {2, 4, 5, 180, 4, 2, 1, 1, 1, 3, 3, 7};

struct http_timing {
	uint64_t syn, request, replay; /* ns summed over a round */
	struct flow bound; /* the last connection, left bound */
	char client[32], backend[64];
	uint32_t isn, local_isn, reply_isn;
};

/*
 * One delayed-bound connection n: every transition run once, the three
 * handshake ones timed (added to t). Leaves it ACKED.
 */
static int http_connection(int in_fd, int eg_fd, uint32_t n,
			   struct http_timing *t)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t isn = 0x10000000U + n * 7919U, biss = 0x70000000U + n, d;
	size_t len, olen, req = strlen(HTTP_REQUEST);
	struct pkt_view v;
	int r;

	snprintf(t->client, sizeof(t->client), "10.%u.%u.%u",
		 150 + n / 15000000, (n / 60000) % 250, 1 + (n / 250) % 240);
	t->bound = (struct flow){AF_INET, t->client, "10.96.0.60",
				 (uint16_t)(1024 + n % 60000), 80};
	len = build(&t->bound, false, F_SYN, isn, 0, NULL, in);
	len = add_opts(in, len, syn_opts, sizeof(syn_opts));
	r = run_repeat(in_fd, in, len, out, &olen, 1, &d);
	if (r != TC_REDIRECT || view(out, olen, &v) ||
	    v.flags != (F_SYN | F_ACK)) {
		fprintf(stderr, "microbench: SYN not answered (%d)\n", r);
		return -1;
	}
	t->syn += d;
	t->local_isn = tcp_seq_of(out);
	len = build(&t->bound, false, F_ACK | F_PSH, isn + 1, t->local_isn + 1,
		    HTTP_REQUEST, in);
	r = run_repeat(in_fd, in, len, out, &olen, 1, &d);
	if (r < 0 || view(out, olen, &v) || v.flags != F_SYN ||
	    tcp_seq_of(out) != isn) {
		fprintf(stderr, "microbench: request made no backend SYN\n");
		return -1;
	}
	t->request += d;
	veer_addr_format(&v.daddr, VEER_AF_INET, t->backend,
			 sizeof(t->backend));
	{
		struct flow back = {AF_INET, t->client, t->backend,
				    t->bound.client_port, 8080};

		len = build(&back, true, F_SYN | F_ACK, biss, isn + 1, NULL,
			    in);
		len = add_opts(in, len, synack_opts, sizeof(synack_opts));
		r = run_repeat(eg_fd, in, len, out, &olen, 1, &d);
		if (r < 0 || view(out, olen, &v) || v.payload_len != req) {
			fprintf(stderr,
				"microbench: SYN-ACK not replayed "
				"(%d)\n",
				r);
			return -1;
		}
		t->replay += d;
		len = build(&back, true, F_ACK, biss + 1, isn + 1 + req, NULL,
			    in);
		if (run(eg_fd, in, len, out, &olen) < 0)
			return -1;
	}
	t->isn = isn + 1 + (uint32_t)req;
	t->reply_isn = biss + 1;
	return 0;
}

/* The three handshake rows: medians over ROUNDS of HTTP_FLOWS each. */
static int time_http(int in_fd, int eg_fd, struct http_timing *t,
		     uint32_t ns[3])
{
	uint32_t syn[ROUNDS], request[ROUNDS], replay[ROUNDS], i;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		t->syn = t->request = t->replay = 0;
		for (i = 0; i < HTTP_FLOWS; i++)
			if (http_connection(in_fd, eg_fd,
					    (uint32_t)r * HTTP_FLOWS + i, t))
				return -1;
		syn[r] = (uint32_t)(t->syn / HTTP_FLOWS);
		request[r] = (uint32_t)(t->request / HTTP_FLOWS);
		replay[r] = (uint32_t)(t->replay / HTTP_FLOWS);
	}
	ns[0] = median(syn);
	ns[1] = median(request);
	ns[2] = median(replay);
	return 0;
}

/*
 * One L4 connection's nine packets, each run once: what a short connection
 * costs the programs, conntrack moves included. Sequence and
 * acknowledgement numbers are offsets from the sender's and the peer's
 * initial ones (no acknowledgement on the SYN).
 */
enum l4_step {
	L4_SYN,
	L4_SYNACK,
	L4_HANDSHAKE,
	L4_REQUEST,
	L4_RESPONSE,
	L4_ACK,
	L4_FIN_BACK,
	L4_FIN_CLIENT,
	L4_CLOSED,
	L4_STEPS
};

static const struct {
	const char *name;
	bool egress; /* the backend's segment (tc egress) */
	uint8_t flags;
	uint32_t seq, ack;
	bool data; /* 16 bytes */
} l4_steps[L4_STEPS] = {
	[L4_SYN] = {"conn: SYN (placed)", false, F_SYN, 0, 0, false},
	[L4_SYNACK] = {"conn: SYN-ACK", true, F_SYN | F_ACK, 0, 1, false},
	[L4_HANDSHAKE] = {"conn: ACK (-> established)", false, F_ACK, 1, 1,
			  false},
	[L4_REQUEST] = {"conn: request (16 B)", false, F_ACK | F_PSH, 1, 1,
			true},
	[L4_RESPONSE] = {"conn: response (16 B)", true, F_ACK | F_PSH, 1, 17,
			 true},
	[L4_ACK] = {"conn: ACK of the response", false, F_ACK, 17, 17, false},
	[L4_FIN_BACK] = {"conn: backend FIN", true, F_FIN | F_ACK, 17, 17,
			 false},
	[L4_FIN_CLIENT] = {"conn: client FIN", false, F_FIN | F_ACK, 17, 18,
			   false},
	[L4_CLOSED] = {"conn: last ACK (-> closing)", true, F_ACK, 18, 18,
		       false},
};

#define L4_FLOWS 10000U

/* Connection n's packets in order, summed into ns[step]. */
static int l4_connection(int in_fd, int eg_fd, uint32_t n, uint64_t *ns)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t c = 0x20000000U + n * 7919U, b = 0x60000000U + n, d, own, peer;
	char client[32], backend[64];
	struct flow fwd = {AF_INET, client, "10.96.0.10",
			   (uint16_t)(1024 + n % 60000), 80};
	struct flow back = {AF_INET, client, backend, fwd.client_port, 8080};
	struct pkt_view v;
	size_t len, olen;
	int i, r;

	snprintf(client, sizeof(client), "10.%u.%u.%u", 200 + n / 15000000,
		 (n / 60000) % 250, 1 + (n / 250) % 240);
	for (i = 0; i < L4_STEPS; i++) {
		own = l4_steps[i].egress ? b : c;
		peer = l4_steps[i].egress ? c : b;
		len = build(
			l4_steps[i].egress ? &back : &fwd, l4_steps[i].egress,
			l4_steps[i].flags, own + l4_steps[i].seq,
			l4_steps[i].flags & F_ACK ? peer + l4_steps[i].ack : 0,
			l4_steps[i].data ? "0123456789abcdef" : NULL, in);
		r = run_repeat(l4_steps[i].egress ? eg_fd : in_fd, in, len, out,
			       &olen, 1, &d);
		if (r != TC_OK || view(out, olen, &v)) {
			fprintf(stderr, "microbench: %s: verdict %d\n",
				l4_steps[i].name, r);
			return -1;
		}
		if (i == L4_SYN)
			veer_addr_format(&v.daddr, VEER_AF_INET, backend,
					 sizeof(backend));
		ns[i] += d;
	}
	return 0;
}

/*
 * Medians over ROUNDS of L4_FLOWS connections each, per step and for the
 * whole connection; then checks that every pair left the half-open and
 * established tables (a step that silently took another path would time
 * that path).
 */
static int time_l4_connections(int in_fd, int eg_fd, uint32_t ns[L4_STEPS + 1])
{
	uint32_t samples[L4_STEPS + 1][ROUNDS], i;
	uint64_t sum[L4_STEPS], total;
	long left_before = veer_maps_count_entries(maps.conntrack) +
			   veer_maps_count_entries(maps.ct_syn);
	long left_after;
	int r, s;

	for (r = 0; r < ROUNDS; r++) {
		memset(sum, 0, sizeof(sum));
		for (i = 0; i < L4_FLOWS; i++)
			if (l4_connection(in_fd, eg_fd,
					  (uint32_t)r * L4_FLOWS + i, sum))
				return -1;
		total = 0;
		for (s = 0; s < L4_STEPS; s++) {
			samples[s][r] = (uint32_t)(sum[s] / L4_FLOWS);
			total += sum[s];
		}
		samples[L4_STEPS][r] = (uint32_t)(total / L4_FLOWS);
	}
	for (s = 0; s <= L4_STEPS; s++)
		ns[s] = median(samples[s]);
	/* Every pair left the half-open and the established table (for
	 * the closing one, which may be too small to hold them all). */
	left_after = veer_maps_count_entries(maps.conntrack) +
		     veer_maps_count_entries(maps.ct_syn);
	if (left_after != left_before) {
		fprintf(stderr,
			"microbench: %ld half-open and established entries "
			"left after %u connections (want %ld)\n",
			left_after, ROUNDS * L4_FLOWS, left_before);
		return -1;
	}
	return 0;
}

/* One packet, RUNS times from a fresh copy (repeat 1), as time_runs. */
static int time_packet(int prog, const uint8_t *in, size_t len, uint32_t runs,
		       uint32_t *ns)
{
	uint8_t out[PKT_MAX];
	uint32_t samples[ROUNDS], d, i;
	uint64_t total;
	size_t olen;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		total = 0;
		for (i = 0; i < runs; i++) {
			if (run_repeat(prog, in, len, out, &olen, 1, &d) < 0)
				return -1;
			total += d;
		}
		samples[r] = (uint32_t)(total / runs);
	}
	*ns = median(samples);
	return 0;
}

static void report(const char *prog, const char *what, uint32_t ns)
{
	printf("%-12s %-32s %8u %10.2f\n", prog, what, ns,
	       ns ? 1000.0 / ns : 0.0);
}

int main(int argc, char **argv)
{
	struct veer_load_opts opts = VEER_LOAD_OPTS_DEFAULT;
	struct flow est = {AF_INET, "10.10.1.2", "10.96.0.10", 50000, 80};
	struct flow other = {AF_INET, "10.10.1.2", "10.99.0.1", 50000, 80};
	struct pkt_view v;
	uint8_t in[PKT_MAX], out[PKT_MAX];
	char pin_root[128], err[VEER_ERR_LEN], backend[64];
	int in_fd = -1, eg_fd = -1, xdp_fd = -1, ret = 1, opt;
	uint32_t runs = DEFAULT_RUNS, ns;
	size_t len, olen;
	bool reused;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n' && (runs = (uint32_t)atoi(optarg)))
			continue;
		if (opt == 's' && (opts.ct_flows = (uint32_t)atoi(optarg)) >=
					  VEER_CT_SIDE_MIN_FLOWS)
			continue;
		fprintf(stderr, "usage: %s [-n RUNS] [-s CT_FLOWS (>= %u)]\n",
			argv[0], VEER_CT_SIDE_MIN_FLOWS);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "microbench: must run as root\n");
		return 1;
	}
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/veer-bench-%d",
		 (int)getpid());
	if (veer_pin_root_prepare(pin_root, true, err, sizeof(err)) ||
	    veer_load(pin_root, &opts, &in_fd, &eg_fd, &reused, err,
		      sizeof(err)) ||
	    veer_load_xdp(pin_root, &xdp_fd, err, sizeof(err)) ||
	    veer_maps_open(pin_root, &maps, err, sizeof(err))) {
		fprintf(stderr, "microbench: %s\n", err);
		goto out;
	}
	if (configure_web())
		goto out;

	/* The established flow: its SYN places it, on which backend? */
	len = build(&est, false, F_SYN, 999, 0, NULL, in);
	if (run(in_fd, in, len, out, &olen) < 0 || view(out, olen, &v))
		goto out;
	veer_addr_format(&v.daddr, VEER_AF_INET, backend, sizeof(backend));
	/* Its handshake completes, so its data meets the established table. */
	{
		struct flow back = {AF_INET, "10.10.1.2", backend, 50000, 8080};

		len = build(&back, true, F_SYN | F_ACK, 999, 1000, NULL, in);
		if (run(eg_fd, in, len, out, &olen) < 0)
			goto out;
		len = build(&est, false, F_ACK, 1000, 1000, NULL, in);
		if (run(in_fd, in, len, out, &olen) < 0)
			goto out;
	}

	printf("BPF_PROG_TEST_RUN, median of %d rounds of %u runs (%u "
	       "distinct SYNs for new flows)\n",
	       ROUNDS, runs, NEW_FLOWS);
	printf("%-12s %-32s %8s %10s\n", "program", "case", "ns/pkt",
	       "Mpps/core");
	if (time_new_flows(in_fd, 0, &ns))
		goto out;
	report("tc ingress", "new flow (SYN, placed)", ns);
	if (time_runs(in_fd, &est, false, F_ACK | F_PSH, "0123456789abcdef",
		      runs, &ns))
		goto out;
	report("tc ingress", "established (data)", ns);
	if (time_runs(in_fd, &other, false, F_ACK, NULL, runs, &ns))
		goto out;
	report("tc ingress", "not a service", ns);
	{
		struct flow reply = {AF_INET, "10.10.1.2", backend, 50000,
				     8080};

		if (time_runs(eg_fd, &reply, true, F_ACK | F_PSH,
			      "0123456789abcdef", runs, &ns))
			goto out;
		report("tc egress", "reply (reverse NAT)", ns);
	}
	{
		uint32_t cns[L4_STEPS + 1];
		int s;

		if (time_l4_connections(in_fd, eg_fd, cns))
			goto out;
		for (s = 0; s < L4_STEPS; s++)
			report(l4_steps[s].egress ? "tc egress" : "tc ingress",
			       l4_steps[s].name, cns[s]);
		report("tc both", "conn: all 9 packets (ns/conn)",
		       cns[L4_STEPS]);
	}
	{
		struct http_timing ht = {0};
		uint32_t hns[3];
		struct flow back;

		if (time_http(in_fd, eg_fd, &ht, hns))
			goto out;
		report("tc ingress", "http: SYN answered", hns[0]);
		report("tc ingress", "http: request -> backend SYN", hns[1]);
		report("tc egress", "http: SYN-ACK -> replay", hns[2]);
		len = build(&ht.bound, false, F_ACK | F_PSH, ht.isn,
			    ht.local_isn + 1, "0123456789abcdef", in);
		if (time_packet(in_fd, in, len, runs, &ns))
			goto out;
		report("tc ingress", "http: bound, client->backend", ns);
		back = (struct flow){AF_INET, ht.client, ht.backend,
				     ht.bound.client_port, 8080};
		len = build(&back, true, F_ACK | F_PSH, ht.reply_isn, ht.isn,
			    "0123456789abcdef", in);
		if (time_packet(eg_fd, in, len, runs, &ns))
			goto out;
		report("tc egress", "http: bound, backend->client", ns);
	}
	if (time_new_flows(xdp_fd, ROUNDS * NEW_FLOWS, &ns))
		goto out;
	report("xdp ingress", "new flow (SYN, placed)", ns);
	if (time_runs(xdp_fd, &est, false, F_ACK | F_PSH, "0123456789abcdef",
		      runs, &ns))
		goto out;
	report("xdp ingress", "established (data)", ns);
	if (time_runs(xdp_fd, &other, false, F_ACK, NULL, runs, &ns))
		goto out;
	report("xdp ingress", "not a service", ns);
	ret = 0;
out:
	veer_maps_close(&maps);
	if (in_fd >= 0)
		close(in_fd);
	if (eg_fd >= 0)
		close(eg_fd);
	if (xdp_fd >= 0)
		close(xdp_fd);
	if (veer_unpin_all(pin_root, err, sizeof(err)))
		fprintf(stderr, "microbench: %s\n", err);
	return ret;
}
