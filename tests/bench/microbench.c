// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of each data-plane program, from BPF_PROG_TEST_RUN: the
 * kernel times the program itself (no syscall in the figure). Cases: a new
 * flow (a SYN that is placed and creates conntrack), an established flow
 * (a data segment that follows its conntrack entry), a reply (reverse NAT)
 * and a packet for no service (what every other packet on the interface
 * pays). Each figure is the median of ROUNDS measurements.
 *
 *   build/microbench [-n RUNS]     (root; make microbench)
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

static void report(const char *prog, const char *what, uint32_t ns)
{
	printf("%-12s %-28s %8u %10.2f\n", prog, what, ns,
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

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || !(runs = (uint32_t)atoi(optarg))) {
			fprintf(stderr, "usage: %s [-n RUNS]\n", argv[0]);
			return 2;
		}
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
	printf("%-12s %-28s %8s %10s\n", "program", "case", "ns/pkt",
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
