// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-drop: packet loss for the lab (the test kernels have no netem).
 *
 *   veer-drop --dev DEV --direction ingress|egress
 *             --match syn|synack|data|fin|rst|any [--port P]
 *             [--skip N] [--count N] [--per-flow]
 *             [--ready-file F] [--stats-file F]
 *
 * Attaches veer_drop.bpf.c as a TC classifier (priority 1, ahead of
 * veer's own, handle 0x6472) on DEV in the current network namespace,
 * in the direction given, and runs until SIGTERM or SIGINT; then it
 * detaches and prints its counters ("matched N", "dropped N", "flows N").
 * Of the TCP segments that match (kind, and P as source or destination
 * port), the first N (--skip, default 0) pass and the next --count
 * (default 1) are dropped; with --per-flow the same happens per
 * connection: the first matching segment of each connection after the
 * first --skip connections is dropped, for --count connections, and
 * everything else (the retransmission included) passes.
 *
 * --ready-file is written once the program is attached; --stats-file is
 * rewritten (atomically) whenever a counter changes, polled every 10 ms,
 * so a test can wait for "dropped" to reach what it expects. The clsact
 * qdisc is left in place (veer may share it); the namespace's deletion
 * removes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/types.h>

#include "tool_common.h"
#include "veer_drop.h"
#include "veer_drop.skel.h"

#define PROG "veer-drop"
#define DROP_HANDLE 0x6472 /* "dr" */
#define DROP_PRIORITY 1

static const struct {
	const char *name;
	enum veer_drop_kind kind;
} kinds[] = {
	{"syn", VEER_DROP_SYN},	  {"synack", VEER_DROP_SYNACK},
	{"data", VEER_DROP_DATA}, {"fin", VEER_DROP_FIN},
	{"rst", VEER_DROP_RST},	  {"any", VEER_DROP_ANY},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: " PROG " --dev DEV --direction ingress|egress\n"
		     "                 --match syn|synack|data|fin|rst|any "
		     "[--port P]\n"
		     "                 [--skip N] [--count N] [--per-flow]\n"
		     "                 [--ready-file F] [--stats-file F]\n"
		     "  Drops matching TCP segments of DEV's direction until "
		     "SIGTERM/SIGINT:\n"
		     "  after --skip N matches (default 0), the next --count N "
		     "(default 1);\n"
		     "  --per-flow: the first match of each connection, for "
		     "--count connections.\n"
		     "  syn: SYN without ACK; synack: SYN+ACK; data: payload "
		     "without SYN/RST.\n");
}

static int die_usage(const char *msg)
{
	fprintf(stderr, PROG ": %s\n", msg);
	usage(stderr);
	return 2;
}

static void format_counters(const struct veer_drop_counters *c, char *buf,
			    size_t len)
{
	snprintf(buf, len, "matched %llu\ndropped %llu\nflows %llu\n",
		 (unsigned long long)c->matched, (unsigned long long)c->dropped,
		 (unsigned long long)c->flows);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dev", required_argument, NULL, 'd'},
		{"direction", required_argument, NULL, 'D'},
		{"match", required_argument, NULL, 'm'},
		{"port", required_argument, NULL, 'p'},
		{"skip", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'c'},
		{"per-flow", no_argument, NULL, 'f'},
		{"ready-file", required_argument, NULL, 'r'},
		{"stats-file", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dev = NULL, *ready = NULL, *stats = NULL;
	unsigned long long port = 0, skip = 0, count = 1;
	int kind = 0, direction = -1, per_flow = 0, opt, sfd, ret, rc = 0;
	struct veer_drop_counters last = {}, now;
	struct bpf_tc_hook hook = {.sz = sizeof(hook)};
	struct bpf_tc_opts tc = {.sz = sizeof(tc)};
	struct veer_drop *skel;
	char text[256], err[128];
	unsigned int ifindex;
	bool running = true, first = true;
	sigset_t mask;
	size_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'D':
			if (!strcmp(optarg, "ingress"))
				direction = BPF_TC_INGRESS;
			else if (!strcmp(optarg, "egress"))
				direction = BPF_TC_EGRESS;
			else
				return die_usage("--direction: ingress or "
						 "egress");
			break;
		case 'm':
			for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
				if (!strcmp(optarg, kinds[i].name))
					kind = kinds[i].kind;
			if (!kind)
				return die_usage("--match: syn, synack, data, "
						 "fin, rst or any");
			break;
		case 'p':
			if (parse_decimal(optarg, 1, 65535, &port))
				return die_usage("--port must be 1..65535");
			break;
		case 's':
			if (parse_decimal(optarg, 0, 1U << 30, &skip))
				return die_usage("--skip must be 0..2^30");
			break;
		case 'c':
			if (parse_decimal(optarg, 0, 1U << 30, &count))
				return die_usage("--count must be 0..2^30");
			break;
		case 'f':
			per_flow = 1;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'S':
			stats = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return die_usage("unexpected argument");
	if (!dev || direction < 0 || !kind)
		return die_usage("--dev, --direction and --match are required");
	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, PROG ": no interface %s here\n", dev);
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror(PROG ": signalfd");
		return 1;
	}

	skel = veer_drop__open();
	if (!skel) {
		fprintf(stderr, PROG ": cannot open the BPF object\n");
		return 1;
	}
	skel->rodata->cfg_kind = (__u32)kind;
	skel->rodata->cfg_port = (__u16)port;
	skel->rodata->cfg_skip = (__u32)skip;
	skel->rodata->cfg_count = (__u32)count;
	skel->rodata->cfg_per_flow = (__u8)per_flow;
	ret = veer_drop__load(skel);
	if (ret) {
		libbpf_strerror(ret, err, sizeof(err));
		fprintf(stderr, PROG ": cannot load the BPF program: %s\n",
			err);
		veer_drop__destroy(skel);
		return 1;
	}

	hook.ifindex = (int)ifindex;
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		fprintf(stderr, PROG ": cannot create clsact on %s: %s\n", dev,
			strerror(-ret));
		veer_drop__destroy(skel);
		return 1;
	}
	hook.attach_point = (enum bpf_tc_attach_point)direction;
	tc.handle = DROP_HANDLE;
	tc.priority = DROP_PRIORITY;
	tc.prog_fd = bpf_program__fd(skel->progs.veer_drop);
	ret = bpf_tc_attach(&hook, &tc);
	if (ret) {
		fprintf(stderr, PROG ": cannot attach to %s %s: %s%s\n", dev,
			direction == BPF_TC_INGRESS ? "ingress" : "egress",
			strerror(-ret),
			ret == -EEXIST ? " (another veer-drop there?)" : "");
		veer_drop__destroy(skel);
		return 1;
	}
	if (ready && write_file_atomic(ready, "ready\n") < 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", ready,
			strerror(errno));
		rc = 1;
		running = false;
	}

	while (running) {
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};

		now = skel->bss->counters;
		if (stats && (first || memcmp(&now, &last, sizeof(now)))) {
			format_counters(&now, text, sizeof(text));
			if (write_file_atomic(stats, text) < 0)
				fprintf(stderr, PROG ": cannot write %s: %s\n",
					stats, strerror(errno));
			last = now;
			first = false;
		}
		if (poll(&pfd, 1, 10) > 0)
			running = false;
	}

	tc.prog_fd = 0;
	tc.prog_id = 0;
	tc.flags = 0;
	ret = bpf_tc_detach(&hook, &tc);
	if (ret && ret != -ENOENT && ret != -ENODEV) {
		fprintf(stderr, PROG ": cannot detach from %s: %s\n", dev,
			strerror(-ret));
		rc = 1;
	}
	now = skel->bss->counters;
	format_counters(&now, text, sizeof(text));
	if (stats)
		write_file_atomic(stats, text);
	fputs(text, stdout);
	veer_drop__destroy(skel);
	if (ready)
		unlink(ready);
	return rc;
}
