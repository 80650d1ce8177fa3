// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-spoof: the adversary of the conntrack tests. Writes crafted TCP
 * segments straight onto a lab interface (AF_PACKET), with any source
 * address, port, flags and sequence numbers: a SYN flood from a spoofed
 * prefix, or RSTs/SYNs/FINs on live tuples read from stdin.
 *
 *   veer-spoof --dev DEV --dst-mac MAC flood --src-prefix A.B --dst ADDR
 *              --dport P -n N [--seed S]
 *   veer-spoof --dev DEV --dst-mac MAC segments --dst ADDR --dport P
 *              --flags R|S|F|RA|FA [--per-tuple K] [--seed S] < tuples
 *
 * tuples: one "CLIENT_ADDR CLIENT_PORT" per line (at most 4096). Sequence
 * numbers are random (seeded): a blind attacker's. Prints "sent N".
 * Exit 0 on success, 1 on a send error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkt.h"
#include "tool_common.h"

#define MAX_TUPLES 4096
#define MAX_FLOOD 10000000ULL
/* ENOBUFS: retry this often, polling this long in between. */
#define SEND_RETRIES 1000
#define SEND_RETRY_MS 10

struct spoof_opts {
	const char *dev;
	const char *dst;
	const char *src_prefix; /* flood: "A.B" of A.B.x.y */
	uint8_t dst_mac[ETH_ALEN];
	unsigned long long count; /* flood: segments */
	unsigned long long per_tuple; /* segments: per tuple */
	unsigned long long seed;
	unsigned int dport;
	uint8_t flags;
	int have_mac;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-spoof --dev DEV --dst-mac MAC flood --src-prefix "
		"A.B --dst ADDR --dport P -n N [--seed S]\n"
		"       veer-spoof --dev DEV --dst-mac MAC segments --dst ADDR "
		"--dport P --flags R|S|F|RA|FA [--per-tuple K] [--seed S] "
		"< tuples\n");
}

static uint64_t prng(uint64_t *state)
{
	/* xorshift64*: reproducible for a seed, no libc state. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != ETH_ALEN)
		return -1;
	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_flags(const char *s, uint8_t *flags)
{
	*flags = 0;
	for (; *s; s++) {
		switch (*s) {
		case 'S':
			*flags |= F_SYN;
			break;
		case 'R':
			*flags |= F_RST;
			break;
		case 'F':
			*flags |= F_FIN;
			break;
		case 'A':
			*flags |= F_ACK;
			break;
		default:
			return -1;
		}
	}
	return *flags ? 0 : -1;
}

struct sender {
	int fd;
	struct sockaddr_ll to;
	uint8_t src_mac[ETH_ALEN];
	uint8_t dst_mac[ETH_ALEN];
	unsigned long long sent;
};

static int sender_open(struct sender *s, const struct spoof_opts *o)
{
	struct ifreq ifr = {};

	s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		fprintf(stderr, "veer-spoof: socket(AF_PACKET): %s\n",
			strerror(errno));
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->dev);
	if (ioctl(s->fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "veer-spoof: %s: %s\n", o->dev,
			strerror(errno));
		return -1;
	}
	memcpy(s->src_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	memcpy(s->dst_mac, o->dst_mac, ETH_ALEN);
	memset(&s->to, 0, sizeof(s->to));
	s->to.sll_family = AF_PACKET;
	s->to.sll_ifindex = (int)if_nametoindex(o->dev);
	s->to.sll_halen = ETH_ALEN;
	memcpy(s->to.sll_addr, s->dst_mac, ETH_ALEN);
	if (!s->to.sll_ifindex) {
		fprintf(stderr, "veer-spoof: no interface %s\n", o->dev);
		return -1;
	}
	s->sent = 0;
	return 0;
}

static int send_segment(struct sender *s, const struct flow *f, uint8_t flags,
			uint32_t seq, uint32_t ack)
{
	uint8_t buf[PKT_MAX];
	size_t len = build(f, false, flags, seq, ack, NULL, buf);
	unsigned int retries = 0;

	if (!len)
		return -1;
	memcpy(buf, s->dst_mac, ETH_ALEN);
	memcpy(buf + ETH_ALEN, s->src_mac, ETH_ALEN);
	while (sendto(s->fd, buf, len, 0, (struct sockaddr *)&s->to,
		      sizeof(s->to)) != (ssize_t)len) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};

		/* A full device queue (veth under XDP): wait for room, a
		 * bounded number of times. */
		if (errno != ENOBUFS || ++retries > SEND_RETRIES) {
			fprintf(stderr, "veer-spoof: send: %s\n",
				strerror(errno));
			return -1;
		}
		poll(&pfd, 1, SEND_RETRY_MS);
	}
	s->sent++;
	return 0;
}

static int family_of(const char *addr)
{
	return strchr(addr, ':') ? AF_INET6 : AF_INET;
}

static int run_flood(const struct spoof_opts *o, struct sender *s)
{
	uint64_t state = o->seed ? o->seed : 1;
	char src[INET_ADDRSTRLEN];
	unsigned long long i;
	struct flow f;

	for (i = 0; i < o->count; i++) {
		uint64_t r = prng(&state);

		snprintf(src, sizeof(src), "%s.%u.%u", o->src_prefix,
			 (unsigned int)(r >> 8) & 0xff,
			 (unsigned int)(r & 0xfe) + 1);
		f = (struct flow){AF_INET, src, o->dst,
				  (uint16_t)(1024 + (r >> 16) % 64000),
				  (uint16_t)o->dport};
		if (send_segment(s, &f, F_SYN, (uint32_t)(r >> 32), 0))
			return -1;
	}
	return 0;
}

static int run_segments(const struct spoof_opts *o, struct sender *s)
{
	static char addrs[MAX_TUPLES][INET6_ADDRSTRLEN];
	static unsigned int ports[MAX_TUPLES];
	uint64_t state = o->seed ? o->seed : 1;
	unsigned int n = 0, i;
	unsigned long long k;
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		if (n == MAX_TUPLES) {
			fprintf(stderr, "veer-spoof: more than %d tuples\n",
				MAX_TUPLES);
			return -1;
		}
		if (sscanf(line, "%45s %u", addrs[n], &ports[n]) != 2 ||
		    ports[n] == 0 || ports[n] > 65535) {
			fprintf(stderr, "veer-spoof: bad tuple line: %s", line);
			return -1;
		}
		n++;
	}
	for (k = 0; k < o->per_tuple; k++) {
		for (i = 0; i < n; i++) {
			struct flow f = {family_of(addrs[i]), addrs[i], o->dst,
					 (uint16_t)ports[i],
					 (uint16_t)o->dport};
			uint64_t r = prng(&state);

			if (f.family != family_of(o->dst))
				continue;
			if (send_segment(s, &f, o->flags, (uint32_t)r,
					 (uint32_t)(r >> 32)))
				return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct spoof_opts o = {.per_tuple = 1, .seed = 1};
	unsigned long long v;
	struct sender s;
	const char *mode = NULL;
	int i, ret;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "flood") || !strcmp(a, "segments")) {
			mode = a;
			continue;
		}
		if (!val)
			goto bad;
		i++;
		if (!strcmp(a, "--dev")) {
			o.dev = val;
		} else if (!strcmp(a, "--dst")) {
			o.dst = val;
		} else if (!strcmp(a, "--src-prefix")) {
			o.src_prefix = val;
		} else if (!strcmp(a, "--dst-mac")) {
			if (parse_mac(val, o.dst_mac))
				goto bad;
			o.have_mac = 1;
		} else if (!strcmp(a, "--dport")) {
			if (parse_decimal(val, 1, 65535, &v))
				goto bad;
			o.dport = (unsigned int)v;
		} else if (!strcmp(a, "-n")) {
			if (parse_decimal(val, 1, MAX_FLOOD, &o.count))
				goto bad;
		} else if (!strcmp(a, "--per-tuple")) {
			if (parse_decimal(val, 1, 1000, &o.per_tuple))
				goto bad;
		} else if (!strcmp(a, "--seed")) {
			if (parse_decimal(val, 1, UINT64_MAX, &o.seed))
				goto bad;
		} else if (!strcmp(a, "--flags")) {
			if (parse_flags(val, &o.flags))
				goto bad;
		} else {
			goto bad;
		}
	}
	if (!mode || !o.dev || !o.dst || !o.dport || !o.have_mac)
		goto bad;
	if (!strcmp(mode, "flood") &&
	    (!o.src_prefix || !o.count || family_of(o.dst) != AF_INET))
		goto bad;
	if (!strcmp(mode, "segments") && !o.flags)
		goto bad;
	if (sender_open(&s, &o))
		return 1;
	ret = !strcmp(mode, "flood") ? run_flood(&o, &s) : run_segments(&o, &s);
	close(s.fd);
	printf("sent %llu\n", s.sent);
	return ret ? 1 : 0;
bad:
	usage();
	return 2;
}
